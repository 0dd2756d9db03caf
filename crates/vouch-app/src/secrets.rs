//! Random secrets (session cookies, API tokens, survey tokens) and the
//! hashes the store keeps of them instead.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 random bits as hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a secret: its SHA-256, as hex. Secrets are long
/// and random, so a fast hash is enough; a stolen database opens nothing.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new webhook signing secret as Standard Webhooks writes them:
/// `whsec_` and 256 random bits in standard base64.
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The `webhook-signature` header of a delivery (Standard Webhooks 1.0):
/// `v1,` and the base64 HMAC-SHA256 of `ID.TIMESTAMP.BODY`, keyed with
/// the secret's bytes (what follows `whsec_`, base64-decoded, as the
/// official libraries read it). `None` for a secret that is not base64.
pub fn webhook_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!("v1,{}", engine.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_match_the_standard_webhooks_example() {
        // The example of the Standard Webhooks libraries' test suites, which
        // the `standardwebhooks` Python package also gives.
        assert_eq!(
            webhook_signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            )
            .as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(webhook_signature("whsec_not base64!", "m", 1, "{}"), None);
        let secret = new_webhook_secret();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 44);
        assert!(webhook_signature(&secret, "m", 1, "{}").is_some());
    }
}
