//! Where the server may send requests of its own (webhook deliveries).
//! A webhook URL is whatever a manager typed; unchecked, it would let them
//! make the server read its cloud metadata or post signed customer data to
//! a service on the private network (SSRF). So every delivery resolves the
//! host, refuses it unless every address is public, and connects to those
//! very addresses (no second lookup a DNS rebinding could answer
//! differently). `webhook_allow_private` lifts the rule for installations
//! whose receivers live on the private network (and for tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0:?} is not an http(s) URL with a host")]
    NotAUrl(String),
    #[error("{host} cannot be resolved: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error(
        "{host} resolves to {address}, a loopback, private, link-local or otherwise non-public address; set webhook_allow_private to allow it"
    )]
    NotPublic { host: String, address: IpAddr },
}

/// A checked destination: the host and the addresses to connect to.
#[derive(Debug, Clone)]
pub struct Destination {
    pub host: String,
    pub addresses: Vec<SocketAddr>,
}

/// How long a DNS lookup may take.
const LOOKUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Resolves `url`'s host and checks every address it has.
pub async fn check(url: &str, allow_private: bool) -> Result<Destination, Refusal> {
    let parsed = reqwest::Url::parse(url).map_err(|_| Refusal::NotAUrl(url.to_owned()))?;
    let (Some(host), Some(port), true) = (
        parsed.host_str(),
        parsed.port_or_known_default(),
        matches!(parsed.scheme(), "http" | "https"),
    ) else {
        return Err(Refusal::NotAUrl(url.to_owned()));
    };
    // IPv6 literals come bracketed; the resolver wants them bare.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    // A resolver that does not answer must not hold the request (or a
    // delivery worker): past the limit the host counts as unresolvable.
    let lookup = tokio::time::timeout(LOOKUP_LIMIT, tokio::net::lookup_host((bare, port)));
    let addresses: Vec<SocketAddr> = match lookup.await {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(e)) => {
            return Err(Refusal::Unresolvable {
                host: host.to_owned(),
                reason: e.to_string(),
            });
        }
        Err(_) => {
            return Err(Refusal::Unresolvable {
                host: host.to_owned(),
                reason: format!("no answer within {} s", LOOKUP_LIMIT.as_secs()),
            });
        }
    };
    if addresses.is_empty() {
        return Err(Refusal::Unresolvable {
            host: host.to_owned(),
            reason: "no addresses".to_owned(),
        });
    }
    if !allow_private && let Some(bad) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(Refusal::NotPublic {
            host: host.to_owned(),
            address: bad.ip(),
        });
    }
    Ok(Destination {
        host: bare.to_owned(),
        addresses,
    })
}

/// Whether `address` is on the public internet: not loopback, private
/// (RFC 1918, unique-local), link-local (cloud metadata at 169.254.169.254
/// and fd00:ec2::254 included), carrier-grade NAT, multicast, reserved,
/// documentation or unspecified; IPv4 inside IPv6 is judged as IPv4.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            if nat64 {
                return is_public_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0, 0, 1]))
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn loopback_destinations_are_refused_unless_allowed() {
        let refused = check("http://127.0.0.1:9/hook", false).await.unwrap_err();
        assert!(matches!(refused, Refusal::NotPublic { .. }), "{refused}");
        let refused = check("http://localhost:9/hook", false).await.unwrap_err();
        assert!(matches!(refused, Refusal::NotPublic { .. }), "{refused}");
        let refused = check("http://[::1]:9/hook", false).await.unwrap_err();
        assert!(matches!(refused, Refusal::NotPublic { .. }), "{refused}");
        assert!(check("ftp://example.com/", false).await.is_err());
        let allowed = check("http://127.0.0.1:9/hook", true).await.unwrap();
        assert_eq!(allowed.addresses, ["127.0.0.1:9".parse().unwrap()]);
    }
}
