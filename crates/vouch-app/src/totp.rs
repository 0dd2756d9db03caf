//! The second factor of staff sign-in: time-based one-time passwords
//! (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, what every
//! authenticator app speaks) and single-use recovery codes.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: u64 = 30;
/// Steps either side of now that are accepted (clock drift).
pub const DRIFT: u64 = 1;

/// The RFC 4226 HOTP value of `secret` at `counter`, with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = (u32::from(hash[offset]) & 0x7f) << 24
        | u32::from(hash[offset + 1]) << 16
        | u32::from(hash[offset + 2]) << 8
        | u32::from(hash[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The step that `code` matches for `secret` around `unix` seconds, if
/// any, and only if it is after `last_step` (a code works once).
pub fn accepted_step(secret: &[u8], code: &str, unix: u64, last_step: Option<u64>) -> Option<u64> {
    let code: u32 = code.trim().replace(' ', "").parse().ok()?;
    let now = unix / STEP;
    (now.saturating_sub(DRIFT)..=now + DRIFT)
        .filter(|step| last_step.is_none_or(|last| *step > last))
        .find(|step| hotp(secret, *step, 6) == code)
}

/// RFC 4648 base32 without padding, as `otpauth://` URIs carry secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The URI an authenticator app scans (as a QR code) or takes typed in.
pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    let account: String = account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._-".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect();
    format!(
        "otpauth://totp/Vouch:{account}?secret={}&issuer=Vouch&algorithm=SHA1&digits=6&period={STEP}",
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA1, 8 digits.
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(hotp(secret, time / STEP, 8), code, "t = {time}");
        }
    }

    #[test]
    fn a_code_works_within_the_drift_and_only_once() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let code = format!("{:06}", hotp(secret, now / STEP, 6));
        let step = accepted_step(secret, &code, now + 25, None).unwrap();
        assert_eq!(step, now / STEP);
        assert_eq!(
            accepted_step(secret, &code, now, Some(step)),
            None,
            "replayed"
        );
        assert_eq!(
            accepted_step(secret, &code, now + 120, None),
            None,
            "too late"
        );
        assert_eq!(accepted_step(secret, "abc", now, None), None);
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert!(
            otpauth_uri(secret, "ana@acme.example")
                .contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        );
    }
}

/// What a sign-in's second factor comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// The user has none set up.
    NotSetUp,
    /// A current code, or an unused recovery code.
    Accepted,
    /// Missing, wrong, expired or already used.
    Refused,
}

/// A new secret and ten recovery codes for `user`, replacing any before:
/// the URI for their authenticator app and the codes, shown once.
pub async fn set_up(
    store: &vouch_store::Store,
    user: i64,
    account: &str,
) -> crate::Result<(String, Vec<String>)> {
    use rand::RngCore;
    let mut secret = [0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let raw = crate::secrets::new_secret();
            format!("{}-{}", &raw[..5], &raw[5..10])
        })
        .collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| crate::secrets::secret_hash(c))
        .collect();
    store
        .set_second_factor(user, Some(&hex::encode(secret)), &hashes)
        .await?;
    Ok((otpauth_uri(&secret, account), codes))
}

/// Checks `code` (six digits, or a recovery code like `3f9a1-b2c4d`) for
/// `user` at `unix` seconds; a code or recovery code works once.
pub async fn check(
    store: &vouch_store::Store,
    user: i64,
    code: &str,
    unix: u64,
) -> crate::Result<SecondFactor> {
    let Some((secret_hex, last)) = store.second_factor(user).await? else {
        return Ok(SecondFactor::NotSetUp);
    };
    let code = code.trim().to_ascii_lowercase();
    if code.contains('-') {
        let used = store
            .use_recovery_code(
                user,
                &crate::secrets::secret_hash(&code),
                chrono::Utc::now(),
            )
            .await?;
        return Ok(if used {
            SecondFactor::Accepted
        } else {
            SecondFactor::Refused
        });
    }
    let Ok(secret) = hex::decode(&secret_hex) else {
        return Ok(SecondFactor::Refused);
    };
    let last = last.and_then(|l| u64::try_from(l).ok());
    let Some(step) = accepted_step(&secret, &code, unix, last) else {
        return Ok(SecondFactor::Refused);
    };
    // Another instance may have taken the same code a moment ago.
    let first = store.use_totp_step(user, step as i64).await?;
    Ok(if first {
        SecondFactor::Accepted
    } else {
        SecondFactor::Refused
    })
}
