//! Challenges: ordered stages an advocate completes for points, who may
//! take part, when, and how often; and the compliance rules a review
//! stage passes (points on a verified submission only, never on its
//! rating; none for platforms that forbid incentives; a disclosure on the
//! testimonial of a member who earns points).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::LoyaltyCategory;
use crate::names::named_enum;
use crate::playbooks::{ReviewPlatform, Rule};

named_enum! {
    /// What a stage asks for.
    pub enum StageKind as "stage kind" {
        /// Share a link (the stage's `url`) and say where.
        ShareLink = "share_link",
        /// Answer the stage's questions.
        Answer = "answer",
        /// Upload a file or image (type and size checked).
        Upload = "upload",
        /// Do something online and give its address.
        Action = "action",
        /// Write a review on a public platform and give its link.
        Review = "review",
        /// Share one's referral link.
        ShareReferral = "share_referral",
        /// A person approves, or asks for a resubmission.
        Approval = "approval",
    }
}

impl StageKind {
    /// Whether a person checks the submission before it pays: a review
    /// (verified, R2), an upload and an approval stage.
    pub fn needs_review(self) -> bool {
        matches!(
            self,
            StageKind::Review | StageKind::Upload | StageKind::Approval
        )
    }
}

/// One stage of a challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub kind: StageKind,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Points for completing it (paid when a person approves, for stages
    /// that need one).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub points: i64,
    /// For `answer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<String>,
    /// For `share_link` and `action`: the page concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For `review`: where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<ReviewPlatform>,
}

/// Who may take part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    /// Only customers in these categories now (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<LoyaltyCategory>,
    /// Only members in these tiers (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<String>,
    /// Only customers with these attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segment: BTreeMap<String, String>,
}

/// A challenge as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeSpec {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    #[schema(min_items = 1, max_items = 10)]
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub targeting: Targeting,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Completions per member (default 1).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 100)]
    pub per_member_limit: u32,
    /// Completions in all; none: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub total_limit: Option<u32>,
}

fn one() -> u32 {
    1
}

/// The words a testimonial from a member who earns points carries
/// (16 CFR 255.5: a material connection is disclosed).
pub const DISCLOSURE: &str =
    "The author is a member of our advocate program and earns points for taking part.";

/// Why a challenge cannot be saved: a field and a reason, or a compliance
/// rule and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeRefusal {
    Shape(&'static str, String),
    Compliance(Rule, String),
}

impl ChallengeSpec {
    /// The shape and the compliance guard, as the challenge is saved.
    pub fn check(&self) -> Result<(), ChallengeRefusal> {
        use ChallengeRefusal::*;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Shape("name", "a name of 1 to 200 characters".into()));
        }
        if self.description.chars().count() > 2000 {
            return Err(Shape("description", "at most 2000 characters".into()));
        }
        if self.stages.is_empty() || self.stages.len() > 10 {
            return Err(Shape("stages", "1 to 10 stages".into()));
        }
        if !(1..=100).contains(&self.per_member_limit)
            || self
                .total_limit
                .is_some_and(|t| !(1..=1_000_000).contains(&t))
        {
            return Err(Shape(
                "per_member_limit",
                "1 to 100 per member, 1 to 1000000 in all".into(),
            ));
        }
        if let (Some(from), Some(to)) = (self.starts_at, self.ends_at)
            && to <= from
        {
            return Err(Shape("ends_at", "the end comes after the start".into()));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            let title = stage.title.trim();
            if title.is_empty() || title.chars().count() > 200 {
                return Err(Shape(
                    "stages",
                    format!("stage {}: a title of 1 to 200 characters", i + 1),
                ));
            }
            if !(0..=100_000).contains(&stage.points) {
                return Err(Shape(
                    "stages",
                    format!("stage {}: 0 to 100000 points", i + 1),
                ));
            }
            if stage.kind == StageKind::Answer
                && (stage.questions.is_empty()
                    || stage.questions.len() > 10
                    || stage
                        .questions
                        .iter()
                        .any(|q| q.trim().is_empty() || q.chars().count() > 500))
            {
                return Err(Shape(
                    "stages",
                    format!("stage {}: 1 to 10 questions", i + 1),
                ));
            }
            if let Some(url) = &stage.url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(Shape(
                    "stages",
                    format!("stage {}: an http(s) address", i + 1),
                ));
            }
            if stage.kind == StageKind::Review {
                let Some(platform) = stage.platform else {
                    return Err(Shape(
                        "stages",
                        format!("stage {}: a review stage names its platform", i + 1),
                    ));
                };
                // R3: no incentive at all where the platform forbids one.
                if platform.forbids_incentives() && stage.points > 0 {
                    return Err(Compliance(
                        Rule::R3,
                        format!(
                            "stage {}: {platform} forbids any incentive for a review; set its points to 0",
                            i + 1
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether `now` is inside the challenge's window.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.starts_at.is_none_or(|s| s <= now) && self.ends_at.is_none_or(|e| now < e)
    }

    /// Whether a member with this tier, category and attributes may take part.
    pub fn targets(
        &self,
        tier: Option<&str>,
        category: Option<LoyaltyCategory>,
        attributes: &BTreeMap<String, String>,
    ) -> bool {
        let t = &self.targeting;
        (t.tiers.is_empty() || tier.is_some_and(|x| t.tiers.iter().any(|w| w == x)))
            && (t.categories.is_empty() || category.is_some_and(|c| t.categories.contains(&c)))
            && t.segment.iter().all(|(k, v)| attributes.get(k) == Some(v))
    }

    /// The points the whole challenge pays.
    pub fn points(&self) -> i64 {
        self.stages.iter().map(|s| s.points).sum()
    }
}

/// The file types an upload stage takes, by the magic bytes at its start
/// (the name and the claimed type are not trusted).
pub fn sniff_upload(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The largest upload a stage takes.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

named_enum! {
    /// Where a stage's submission is.
    pub enum SubmissionState as "submission state" {
        /// Waiting for a person.
        Submitted = "submitted",
        /// Done: its points are paid.
        Approved = "approved",
        /// Sent back: the member submits again.
        Resubmit = "resubmit",
        Rejected = "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> ChallengeSpec {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn review_stages_pay_nothing_where_the_platform_forbids_incentives() {
        let google = spec(
            r#"{"name": "Tell the world", "stages": [{"kind": "review", "title": "Review us on Google", "platform": "google", "points": 100}]}"#,
        );
        assert!(matches!(
            google.check(),
            Err(ChallengeRefusal::Compliance(Rule::R3, _))
        ));
        let unpaid = spec(
            r#"{"name": "Tell the world", "stages": [{"kind": "review", "title": "Review us on Google", "platform": "google"}]}"#,
        );
        assert_eq!(unpaid.check(), Ok(()));
        // Where incentives are allowed with a disclosure, a verified review may pay.
        let g2 = spec(
            r#"{"name": "Tell the world", "stages": [{"kind": "review", "title": "Review us on G2", "platform": "g2", "points": 300}]}"#,
        );
        assert_eq!(g2.check(), Ok(()));
        assert!(
            StageKind::Review.needs_review(),
            "paid on a verified submission only"
        );
        assert!(!DISCLOSURE.is_empty());
    }

    #[test]
    fn shapes_targets_and_windows() {
        let c = spec(
            r#"{"name": "Pro voices", "stages": [{"kind": "answer", "title": "Why us?", "questions": ["What did we solve?"], "points": 50},
               {"kind": "approval", "title": "Checked", "points": 100}],
               "targeting": {"tiers": ["Advocate"], "segment": {"plan": "pro"}},
               "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z"}"#,
        );
        assert_eq!(c.check(), Ok(()));
        assert_eq!(c.points(), 150);
        let pro = BTreeMap::from([("plan".to_owned(), "pro".to_owned())]);
        assert!(c.targets(Some("Advocate"), None, &pro));
        assert!(!c.targets(Some("Fan"), None, &pro));
        assert!(!c.targets(Some("Advocate"), None, &BTreeMap::new()));
        assert!(c.open_at("2026-12-04T00:00:00Z".parse().unwrap()));
        assert!(!c.open_at("2027-01-04T00:00:00Z".parse().unwrap()));
        let no_questions = spec(r#"{"name": "x", "stages": [{"kind": "answer", "title": "t"}]}"#);
        assert!(matches!(
            no_questions.check(),
            Err(ChallengeRefusal::Shape("stages", _))
        ));
        assert_eq!(sniff_upload(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(
            sniff_upload(b"<svg onload=alert(1)>"),
            None,
            "no SVG: it can carry script"
        );
    }
}
