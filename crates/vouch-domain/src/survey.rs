use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::names::named_enum;
use crate::{CustomerId, DomainError, Locale, LoyaltyCategory, Result};

named_enum! {
    /// The three loyalty questions Vouch asks, each with its own scale.
    pub enum SurveyKind as "survey kind" {
        /// Net Promoter Score: "how likely are you to recommend…", 0–10.
        Nps = "nps",
        /// Customer satisfaction, 1–5.
        Csat = "csat",
        /// Customer effort, 1–7.
        Ces = "ces",
    }
}

impl SurveyKind {
    /// The lowest and highest score of the kind's scale.
    pub const fn scale(self) -> (u8, u8) {
        match self {
            SurveyKind::Nps => (0, 10),
            SurveyKind::Csat => (1, 5),
            SurveyKind::Ces => (1, 7),
        }
    }
}

named_enum! {
    /// How an answer reached Vouch.
    pub enum Channel as "channel" {
        Email = "email",
        Link = "link",
        Widget = "widget",
        InApp = "in_app",
        Api = "api",
        Import = "import",
    }
}

/// A score that is valid for its survey kind: an NPS of 11 or a CSAT of 0
/// cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Score {
    kind: SurveyKind,
    value: u8,
}

impl Score {
    /// The scale that holds every kind's: what a score can be before its
    /// survey, and so its kind, is known.
    pub const ANY_KIND: (u8, u8) = (0, 10);

    pub fn new(kind: SurveyKind, value: i64) -> Result<Self> {
        let (min, max) = kind.scale();
        if value < i64::from(min) || value > i64::from(max) {
            return Err(DomainError::ScoreOutOfRange {
                kind,
                value,
                min,
                max,
            });
        }
        // In range 0..=10, so the narrowing cannot truncate.
        Ok(Score {
            kind,
            value: value as u8,
        })
    }

    /// An NPS score, 0–10.
    pub fn nps(value: i64) -> Result<Self> {
        Score::new(SurveyKind::Nps, value)
    }

    pub fn kind(self) -> SurveyKind {
        self.kind
    }

    pub fn value(self) -> u8 {
        self.value
    }

    /// The loyalty category an NPS score puts a customer in; `None` for CSAT and CES.
    pub fn loyalty_category(self) -> Option<LoyaltyCategory> {
        (self.kind == SurveyKind::Nps).then(|| LoyaltyCategory::from_nps(self.value))
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// A survey's id in Vouch's store.
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
pub struct SurveyId(pub i64);

/// A survey: one question of one kind, asked in waves or continuously.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Survey {
    pub id: SurveyId,
    pub kind: SurveyKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A response's id in Vouch's store.
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
pub struct ResponseId(pub i64);

/// One answer to a survey, before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub survey_id: SurveyId,
    /// `None` for anonymous answers (a public link, an import without emails).
    pub customer_id: Option<CustomerId>,
    pub score: Score,
    pub comment: Option<String>,
    pub channel: Channel,
    pub locale: Option<Locale>,
    pub answered_at: DateTime<Utc>,
    /// Whatever else the answer came with (UTM tags, the old tool's ids…).
    pub metadata: BTreeMap<String, String>,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Response {
    pub id: ResponseId,
    #[serde(flatten)]
    pub answer: Answer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_respect_their_scale() {
        for kind in SurveyKind::ALL {
            let (min, max) = kind.scale();
            assert!(Score::ANY_KIND.0 <= min && max <= Score::ANY_KIND.1);
            assert!(Score::new(*kind, i64::from(min)).is_ok());
            assert!(Score::new(*kind, i64::from(max)).is_ok());
            assert!(Score::new(*kind, i64::from(min) - 1).is_err());
            assert!(Score::new(*kind, i64::from(max) + 1).is_err());
        }
        assert_eq!(
            Score::new(SurveyKind::Csat, 0).unwrap_err().to_string(),
            "csat score 0 is outside 1..=5"
        );
    }

    #[test]
    fn only_nps_scores_have_a_category() {
        assert_eq!(
            Score::nps(9).unwrap().loyalty_category(),
            Some(LoyaltyCategory::Promoter)
        );
        assert_eq!(
            Score::new(SurveyKind::Csat, 5).unwrap().loyalty_category(),
            None
        );
    }

    #[test]
    fn names_round_trip() {
        for kind in SurveyKind::ALL {
            assert_eq!(kind.as_str().parse::<SurveyKind>().unwrap(), *kind);
        }
        assert_eq!(" NPS ".parse::<SurveyKind>().unwrap(), SurveyKind::Nps);
        let err = "nsp".parse::<SurveyKind>().unwrap_err().to_string();
        assert!(err.contains("nps csat ces"), "{err}");
    }
}
