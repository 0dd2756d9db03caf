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
