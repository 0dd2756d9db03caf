use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::names::named_enum;
use crate::{CustomerId, DomainError, LoyaltyCategory, Result};

named_enum! {
    /// Where a piece of feedback came from.
    pub enum Source as "source" {
        Survey = "survey",
        Trustpilot = "trustpilot",
        Google = "google",
        Amazon = "amazon",
        Tripadvisor = "tripadvisor",
        Yelp = "yelp",
        AppStore = "app_store",
        GooglePlay = "google_play",
        Twitter = "twitter",
        Facebook = "facebook",
        Instagram = "instagram",
        Linkedin = "linkedin",
        Reddit = "reddit",
        Support = "support",
        Other = "other",
    }
}

impl Source {
    /// Public review sites and app stores, whose star ratings count as reviews.
    pub fn is_review_platform(self) -> bool {
        matches!(
            self,
            Source::Trustpilot
                | Source::Google
                | Source::Amazon
                | Source::Tripadvisor
                | Source::Yelp
                | Source::AppStore
                | Source::GooglePlay
        )
    }

    /// Social networks, whose items are mentions with engagement.
    pub fn is_social(self) -> bool {
        matches!(
            self,
            Source::Twitter
                | Source::Facebook
                | Source::Instagram
                | Source::Linkedin
                | Source::Reddit
        )
    }
}

/// A rating on its source's own scale (1–5 stars, 1–10 points…), kept raw
/// so nothing is lost, with a 0–1 normalised value for comparing sources.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    value: f64,
    min: f64,
    max: f64,
}

impl Rating {
    pub fn new(value: f64, min: f64, max: f64) -> Result<Self> {
        let out_of_scale = || DomainError::RatingOutOfScale { value, min, max };
        if !(value.is_finite() && min.is_finite() && max.is_finite()) || min >= max {
            return Err(out_of_scale());
        }
        if value < min || value > max {
            return Err(out_of_scale());
        }
        Ok(Rating { value, min, max })
    }

    /// A 1–5 star rating.
    pub fn stars(value: f64) -> Result<Self> {
        Rating::new(value, 1.0, 5.0)
    }

    pub fn value(self) -> f64 {
        self.value
    }

    pub fn min(self) -> f64 {
        self.min
    }

    pub fn max(self) -> f64 {
        self.max
    }

    /// The rating mapped linearly onto 0–1.
    pub fn normalized(self) -> f64 {
        (self.value - self.min) / (self.max - self.min)
    }

    /// The rating on a 1–5 star scale, rounded to whole stars.
    pub fn as_stars(self) -> u8 {
        // normalized() is in 0..=1, so the result is in 1..=5.
        (1.0 + 4.0 * self.normalized()).round() as u8
    }

    /// The category a review implies (5★ promoter, 4★ passive, 1–3★
    /// detractor): a normalised rating of `PROMOTER_MIN_RATING` or more
    /// rounds to 5 stars, of `PASSIVE_MIN_RATING` or more to 4.
    pub fn implied_category(self) -> LoyaltyCategory {
        let normalized = self.normalized();
        if normalized >= PROMOTER_MIN_RATING {
            LoyaltyCategory::Promoter
        } else if normalized >= PASSIVE_MIN_RATING {
            LoyaltyCategory::Passive
        } else {
            LoyaltyCategory::Detractor
        }
    }
}

/// The normalised rating (0–1) from which a review counts as 5 stars
/// (4.5 and up on a 1–5 scale) and as 4 stars (3.5 and up).
pub const PROMOTER_MIN_RATING: f64 = 0.875;
pub const PASSIVE_MIN_RATING: f64 = 0.625;

/// VADER's authors' cut: a compound score of at least +0.05 is positive,
/// at most −0.05 negative, neutral between (Hutto & Gilbert, 2014, and the
/// vaderSentiment README).
pub const SENTIMENT_THRESHOLD: f64 = 0.05;

/// A text's sentiment as a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
}

impl SentimentLabel {
    /// `positive`, `neutral` or `negative`.
    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Positive => "positive",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Negative => "negative",
        }
    }

    pub fn of(compound: f64) -> SentimentLabel {
        if compound >= SENTIMENT_THRESHOLD {
            SentimentLabel::Positive
        } else if compound <= -SENTIMENT_THRESHOLD {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        }
    }
}

/// Who wrote a piece of feedback, as the source names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    pub name: Option<String>,
    pub handle: Option<String>,
    /// An email address the source gives, used to match a customer; not kept with the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The company's own id for the author (a CRM or order reference), used
    /// to match a customer; not kept with the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// Likes, shares and comments a public item collected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Engagement {
    pub likes: u64,
    pub shares: u64,
    pub comments: u64,
}

/// A topic found in an item, with the sentiment of the sentences that mention it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicMention {
    pub topic: String,
    pub sentiment: f64,
}

/// A feedback item's id in Vouch's store.
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
pub struct FeedbackId(pub i64);

/// Anything a customer said, wherever they said it: a survey comment, a
/// review, a social mention, a support ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    pub source: Source,
    /// The source's own id; unique within the source, so re-imports update instead of duplicating.
    pub source_id: String,
    pub customer_id: Option<CustomerId>,
    pub author: Author,
    pub rating: Option<Rating>,
    pub title: Option<String>,
    pub body: String,
    /// ISO 639-1 code, filled by text analytics when the source does not say.
    pub language: Option<String>,
    pub url: Option<String>,
    pub posted_at: DateTime<Utc>,
    pub engagement: Engagement,
    /// VADER-style compound score in -1..=1, filled by text analytics.
    pub sentiment: Option<f64>,
    /// Topics from the company's taxonomy, filled by text analytics.
    pub topics: Vec<TopicMention>,
}

impl Feedback {
    /// A new item with only the required fields; analysis slots empty.
    pub fn new(
        source: Source,
        source_id: impl Into<String>,
        body: impl Into<String>,
        posted_at: DateTime<Utc>,
    ) -> Result<Self> {
        let source_id = source_id.into();
        if source_id.trim().is_empty() {
            return Err(DomainError::Empty { field: "source_id" });
        }
        Ok(Feedback {
            source,
            source_id,
            customer_id: None,
            author: Author::default(),
            rating: None,
            title: None,
            body: body.into(),
            language: None,
            url: None,
            posted_at,
            engagement: Engagement::default(),
            sentiment: None,
            topics: Vec::new(),
        })
    }
}

impl Feedback {
    /// The item as Vouch keeps it: control characters stripped from every
    /// text field, and refused when its body or a short field is longer
    /// than the limits of [`crate::text`]. Every way in (imports, the API)
    /// passes through here.
    pub fn admit(mut self) -> Result<Feedback> {
        use crate::text::{MAX_FIELD_CHARS, MAX_TEXT_CHARS, check_length, strip_controls};
        strip_controls(&mut self.body);
        check_length("body", &self.body, MAX_TEXT_CHARS)?;
        strip_controls(&mut self.source_id);
        check_length("id", &self.source_id, MAX_FIELD_CHARS)?;
        let author = &mut self.author;
        for (field, value) in [
            ("title", &mut self.title),
            ("url", &mut self.url),
            ("language", &mut self.language),
            ("author name", &mut author.name),
            ("author handle", &mut author.handle),
            ("author email", &mut author.email),
            ("author external id", &mut author.external_id),
        ] {
            if let Some(value) = value {
                strip_controls(value);
                check_length(field, value, MAX_FIELD_CHARS)?;
            }
        }
        Ok(self)
    }

    /// A stable id for sources that give none: a hex FNV-1a hash of the
    /// source, author, time and text. The same item imported twice gets the
    /// same id, on any machine and in any version (FNV-1a is fixed by
    /// definition, unlike `std`'s hasher).
    pub fn content_id(&self) -> String {
        let hash = stable_hash([
            self.source.as_str(),
            self.author.name.as_deref().unwrap_or(""),
            self.author.handle.as_deref().unwrap_or(""),
            &self.posted_at.to_rfc3339(),
            self.title.as_deref().unwrap_or(""),
            &self.body,
        ]);
        format!("h{hash:016x}")
    }

    /// Whether `other` says something different: text or rating changed.
    pub fn differs_from(&self, other: &Feedback) -> bool {
        self.title != other.title || self.body != other.body || self.rating != other.rating
    }
}

/// A 64-bit FNV-1a hash of `parts`, for ids of records that carry none:
/// the same on any machine and in any version (FNV-1a is fixed by
/// definition, unlike `std`'s hasher).
pub fn stable_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        // A separator keeps ("ab", "c") and ("a", "bc") apart.
        for byte in part.bytes().chain([0x1f]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A stored feedback item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedbackItem {
    pub id: FeedbackId,
    #[serde(flatten)]
    pub feedback: Feedback,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_normalise_and_imply_categories() {
        let five = Rating::stars(5.0).unwrap();
        assert_eq!(five.normalized(), 1.0);
        assert_eq!(five.implied_category(), LoyaltyCategory::Promoter);
        assert_eq!(
            Rating::stars(4.0).unwrap().implied_category(),
            LoyaltyCategory::Passive
        );
        assert_eq!(
            Rating::stars(3.0).unwrap().implied_category(),
            LoyaltyCategory::Detractor
        );
        let ten = Rating::new(8.0, 0.0, 10.0).unwrap();
        assert_eq!(ten.normalized(), 0.8);
        assert_eq!(ten.as_stars(), 4);
    }

    #[test]
    fn ratings_outside_their_scale_cannot_exist() {
        assert!(Rating::stars(0.0).is_err());
        assert!(Rating::stars(5.5).is_err());
        assert!(Rating::new(1.0, 5.0, 1.0).is_err());
        assert!(Rating::stars(f64::NAN).is_err());
    }

    #[test]
    fn content_ids_are_stable_and_tell_items_apart() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let item = Feedback::new(Source::Tripadvisor, "x", "nice hotel", at).unwrap();
        // Fixed by definition: this value must never change between versions.
        assert_eq!(item.content_id(), "h3d851b9c837f9f55");
        let mut other = item.clone();
        other.body = "nice hotel!".into();
        assert_ne!(item.content_id(), other.content_id());
        assert!(item.differs_from(&other));
        let mut same_text = item.clone();
        same_text.engagement.likes = 9;
        assert!(
            !item.differs_from(&same_text),
            "engagement alone is not a change of text or rating"
        );
    }

    #[test]
    fn sources_have_stable_names() {
        assert_eq!("app_store".parse::<Source>().unwrap(), Source::AppStore);
        assert!(Source::Yelp.is_review_platform() && !Source::Yelp.is_social());
        assert!(Source::Reddit.is_social());
    }
}
