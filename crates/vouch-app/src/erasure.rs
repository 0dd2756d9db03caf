//! Erasing a person on request (GDPR art. 17), and keeping them erased:
//! what goes, what is scrubbed, and how a later import recognises them
//! without keeping who they were.

use std::collections::HashSet;

use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use vouch_domain::{CustomerId, CustomerProfile};
use vouch_store::{Erasure, Store};

use crate::Result;

/// The secret setting that holds the key of the identifier hashes (sealed
/// at rest). A keyed hash (not a plain one) so that a list of emails cannot
/// be checked against the table without the key.
const KEY_SETTING: &str = "erasure_key";

async fn key(store: &Store) -> Result<String> {
    if let Some(key) = store.secret_setting(KEY_SETTING).await? {
        return Ok(key);
    }
    if let Some(old) = store.settings().await?.remove(KEY_SETTING) {
        // Kept readable by an earlier version, until `vouch serve` seals it
        // (`Store::seal_readable_secrets`).
        return Ok(old);
    }
    // Two first erasures at once: the first key written wins for both.
    Ok(store
        .keep_secret_setting(KEY_SETTING, &crate::secrets::new_secret())
        .await?)
}

fn keyed_hash(key: &str, identifier: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(identifier.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The identifiers a person is known by, normalised as matching does:
/// `email:` + match key, `external:` + id, `handle:` + platform + `:` + handle.
pub fn identifiers(
    email: Option<&str>,
    external_id: Option<&str>,
    handles: &[(&str, &str)],
) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
        ids.push(format!("email:{}", email.to_ascii_lowercase()));
    }
    if let Some(external) = external_id.map(str::trim).filter(|e| !e.is_empty()) {
        ids.push(format!("external:{external}"));
    }
    for (platform, handle) in handles {
        let handle = handle.trim().trim_start_matches('@').to_lowercase();
        if !handle.is_empty() {
            ids.push(format!("handle:{platform}:{handle}"));
        }
    }
    ids
}

fn profile_identifiers(profile: &CustomerProfile) -> Vec<String> {
    let handles: Vec<(&str, &str)> = profile
        .handles
        .iter()
        .map(|(p, h)| (p.as_str(), h.as_str()))
        .collect();
    identifiers(
        profile.email.as_ref().map(|e| e.as_str()),
        profile.external_id.as_deref(),
        &handles,
    )
}

/// Erases customer `id`: their record goes; their answers and feedback
/// stay in the numbers, unlinked; their name, email and handles are
/// replaced by `[erased]` wherever feedback or comments quote them; queued
/// webhook deliveries and emails about them are dropped; keyed hashes of
/// their identifiers stay, so no import brings them back. False when there
/// is no such customer.
pub async fn erase_customer(store: &Store, id: CustomerId) -> Result<bool> {
    let Some(customer) = store.customer(id).await? else {
        return Ok(false);
    };
    let profile = &customer.profile;
    let mut scrub: Vec<String> = Vec::new();
    // Names shorter than this would scrub ordinary words ("Al", "Bo").
    if let Some(name) = profile
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| n.chars().count() >= 4)
    {
        scrub.push(name.to_owned());
    }
    if let Some(email) = &profile.email {
        scrub.push(email.as_str().to_owned());
    }
    for handle in profile.handles.values() {
        let bare = handle.trim().trim_start_matches('@');
        if bare.chars().count() >= 3 {
            scrub.push(format!("@{bare}"));
            scrub.push(bare.to_owned());
        }
    }
    // Webhook bodies sit in a job's payload as an escaped JSON string;
    // survey emails name the address.
    let n = id.0;
    let mut jobs: Vec<String> = [",", "}"]
        .iter()
        .flat_map(|end| {
            [
                format!("%customer_id\\\":{n}{end}%"),
                format!("%\"customer_id\":{n}{end}%"),
                format!("%\"customer_id\": {n}{end}%"),
            ]
        })
        .collect();
    if let Some(email) = &profile.email {
        jobs.push(format!(
            "%{}%",
            vouch_store::like_literal(&email.match_key())
        ));
    }
    let key = key(store).await?;
    let erasure = Erasure {
        scrub,
        jobs,
        identifier_hashes: profile_identifiers(profile)
            .iter()
            .map(|i| keyed_hash(&key, i))
            .collect(),
        at: Utc::now(),
    };
    Ok(store.erase_customer(id, &erasure).await?)
}

/// Recognises erased people among identifiers (from [`identifiers`]).
pub struct ErasedPeople {
    key: String,
    hashes: HashSet<String>,
}

impl ErasedPeople {
    /// The hashes kept so far; nothing to check (and no key made) when
    /// nobody was ever erased.
    pub async fn load(store: &Store) -> Result<ErasedPeople> {
        let hashes = store.erased_identifier_hashes().await?;
        let key = if hashes.is_empty() {
            String::new()
        } else {
            key(store).await?
        };
        Ok(ErasedPeople { key, hashes })
    }

    /// Whether nobody was ever erased (then nothing needs checking).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether any of `identifiers` belonged to an erased person.
    pub fn any(&self, identifiers: &[String]) -> bool {
        !self.hashes.is_empty()
            && identifiers
                .iter()
                .any(|i| self.hashes.contains(&keyed_hash(&self.key, i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_normalised_as_matching_does() {
        assert_eq!(
            identifiers(
                Some(" Ana@Example.COM "),
                Some("CRM-1"),
                &[("twitter", "@Ana_P")]
            ),
            [
                "email:ana@example.com",
                "external:CRM-1",
                "handle:twitter:ana_p"
            ]
        );
        assert_ne!(
            keyed_hash("k1", "email:a@b.c"),
            keyed_hash("k2", "email:a@b.c")
        );
    }
}
