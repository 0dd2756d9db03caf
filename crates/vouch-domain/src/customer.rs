use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, Result};

/// A customer's id in Vouch's own store.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct CustomerId(pub i64);

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An email address that has passed a deliberately simple check: one `@`, a
/// non-empty local part, a domain with a dot, no whitespace, at most 254
/// characters (RFC 5321's limit, counted in characters as JSON Schema's
/// `maxLength` counts, so the API document states the same rule). The domain is lower-cased; the local part is kept as
/// given because some mail systems treat it case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        let invalid = || DomainError::InvalidEmail(raw.to_owned());
        if trimmed.chars().count() > Email::MAX_CHARS
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = trimmed.split_once('@').ok_or_else(invalid)?;
        let labels_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || domain.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(invalid());
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form customers are matched by: wholly lower-cased, because in
    /// practice `Ana@x.ro` and `ana@x.ro` are one person, though the local
    /// part is kept as given for sending.
    pub fn match_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Email::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A BCP 47-style locale reduced to what Vouch uses: a two- or three-letter
/// language, optionally a region (`en`, `ro`, `en-GB`). Stored normalised:
/// language lower-case, region upper-case, joined by `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = || DomainError::InvalidLocale(raw.to_owned());
        let mut parts = raw.trim().split(['-', '_']);
        let language = parts
            .next()
            .filter(|l| (2..=3).contains(&l.len()))
            .ok_or_else(invalid)?;
        let region = parts.next();
        if parts.next().is_some() || !language.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid());
        }
        let mut normal = language.to_ascii_lowercase();
        if let Some(region) = region {
            if region.len() != 2 || !region.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(invalid());
            }
            normal.push('-');
            normal.push_str(&region.to_ascii_uppercase());
        }
        Ok(Locale(normal))
    }

    /// English, the fallback wherever a locale is unknown.
    pub fn english() -> Self {
        Locale("en".to_owned())
    }

    /// The language part alone (`ro` for `ro-RO`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Locale::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Everything Vouch holds about a customer, apart from the id the store gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerProfile {
    /// The id in the company's CRM, used to match imports and API calls.
    pub external_id: Option<String>,
    pub email: Option<Email>,
    pub name: Option<String>,
    pub locale: Locale,
    /// Free attributes for segmenting: plan, region, segment, revenue…
    pub attributes: BTreeMap<String, String>,
    /// Handles on review and social platforms, keyed by platform (`twitter`, `trustpilot`).
    pub handles: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub churned_at: Option<DateTime<Utc>>,
    /// The advocate whose referral brought this customer in, if any.
    pub referred_by: Option<CustomerId>,
}

impl CustomerProfile {
    /// A profile with only the creation time and locale set.
    pub fn new(locale: Locale, created_at: DateTime<Utc>) -> Self {
        CustomerProfile {
            external_id: None,
            email: None,
            name: None,
            locale,
            attributes: BTreeMap::new(),
            handles: BTreeMap::new(),
            created_at,
            churned_at: None,
            referred_by: None,
        }
    }

    pub fn acquired_via_referral(&self) -> bool {
        self.referred_by.is_some()
    }
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    #[serde(flatten)]
    pub profile: CustomerProfile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_domains_lowercased() {
        assert_eq!(
            Email::parse(" Ana.Pop@Example.RO ").unwrap().as_str(),
            "Ana.Pop@example.ro"
        );
        for bad in [
            "", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b@c.d", "a@-b.c", "a@b..c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(260))).is_err());
        // 254 characters, 503 bytes: the limit counts characters.
        let wide = format!("{}@b.co", "ă".repeat(249));
        assert_eq!((wide.chars().count(), wide.len()), (254, 503));
        assert!(Email::parse(&wide).is_ok());
        assert!(Email::parse(&format!("ă{wide}")).is_err());
    }

    #[test]
    fn locales_are_normalised() {
        assert_eq!(Locale::parse("ro").unwrap().as_str(), "ro");
        assert_eq!(Locale::parse("en_gb").unwrap().as_str(), "en-GB");
        assert_eq!(Locale::parse("ro-RO").unwrap().language(), "ro");
        for bad in ["", "e", "english", "en-GBR", "e1", "en-GB-x"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
