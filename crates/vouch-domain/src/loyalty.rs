//! Which loyalty category each customer is in, and how that changes over time.
//!
//! A customer's category is derived, never stored on its own: it follows from
//! their NPS answers and reviews, so history and transitions can be computed
//! for any date and can never disagree with the answers themselves.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::Rating;
use crate::names::named_enum;

named_enum! {
    /// The three NPS groups.
    pub enum LoyaltyCategory as "loyalty category" {
        /// Scores 9–10: loyal enthusiasts who refer others.
        Promoter = "promoter",
        /// Scores 7–8: satisfied but unenthusiastic.
        Passive = "passive",
        /// Scores 0–6: unhappy customers who can damage the brand.
        Detractor = "detractor",
    }
}

/// The lowest NPS score of a promoter (9–10) and of a passive (7–8); 0–6
/// detract (Reichheld, "The One Number You Need to Grow", 2003). The SQL
/// that counts categories is written from these; the store's conformance
/// test runs every score through it.
pub const PROMOTER_MIN_SCORE: u8 = 9;
pub const PASSIVE_MIN_SCORE: u8 = 7;

impl LoyaltyCategory {
    /// The category of an NPS score (0–10). Callers hold a validated `Score`;
    /// anything above 10 is treated as a promoter rather than panicking.
    pub const fn from_nps(score: u8) -> Self {
        if score >= PROMOTER_MIN_SCORE {
            LoyaltyCategory::Promoter
        } else if score >= PASSIVE_MIN_SCORE {
            LoyaltyCategory::Passive
        } else {
            LoyaltyCategory::Detractor
        }
    }
}

/// How long an NPS answer or review keeps defining a customer's category.
pub const DEFAULT_LOOKBACK_DAYS: i64 = 365;

/// What a customer said that tells us their category.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SignalKind {
    /// An answer to an NPS survey, 0–10.
    NpsAnswer { score: u8 },
    /// A star-rated public review: implies a category when no NPS answer is recent.
    Review { rating: Rating },
}

/// One dated signal about a customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategorySignal {
    pub at: DateTime<Utc>,
    pub kind: SignalKind,
}

/// A customer's category at some moment, and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategoryAssignment {
    pub category: LoyaltyCategory,
    /// True when it comes from a review's stars rather than an NPS answer.
    pub implied: bool,
    /// When the signal it rests on was given.
    pub signal_at: DateTime<Utc>,
}

/// A change in a customer's category; `category: None` means the last signal
/// aged out of the look-back window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategoryChange {
    pub at: DateTime<Utc>,
    pub category: Option<CategoryAssignment>,
}

/// The customer's category at `at`: from their latest NPS answer within the
/// look-back window, else implied by their latest review in the window, else none.
/// Signals after `at` are ignored, so this answers "as of" any date.
pub fn category_at(
    signals: &[CategorySignal],
    at: DateTime<Utc>,
    lookback: Duration,
) -> Option<CategoryAssignment> {
    let in_window = |s: &&CategorySignal| s.at <= at && s.at > at - lookback;
    let latest = |want_nps: bool| {
        signals
            .iter()
            .filter(in_window)
            .filter(|s| matches!(s.kind, SignalKind::NpsAnswer { .. }) == want_nps)
            // On a tie, the later one in the slice wins: callers pass signals in arrival order.
            .max_by_key(|s| s.at)
    };
    let signal = latest(true).or_else(|| latest(false))?;
    let (category, implied) = match signal.kind {
        SignalKind::NpsAnswer { score } => (LoyaltyCategory::from_nps(score), false),
        SignalKind::Review { rating } => (rating.implied_category(), true),
    };
    Some(CategoryAssignment {
        category,
        implied,
        signal_at: signal.at,
    })
}

/// Every change of category up to `until`, oldest first. A change can happen
/// when a signal arrives or when one leaves the look-back window.
pub fn category_history(
    signals: &[CategorySignal],
    lookback: Duration,
    until: DateTime<Utc>,
) -> Vec<CategoryChange> {
    let mut moments: Vec<DateTime<Utc>> = signals
        .iter()
        .flat_map(|s| [s.at, s.at + lookback])
        .filter(|m| *m <= until)
        .collect();
    moments.sort();
    moments.dedup();

    let mut history: Vec<CategoryChange> = Vec::new();
    for at in moments {
        let now = category_at(signals, at, lookback);
        let before = history.last().and_then(|c| c.category);
        let changed = match (before, now) {
            (None, None) => false,
            (Some(b), Some(n)) => b.category != n.category || b.implied != n.implied,
            _ => true,
        };
        if changed {
            history.push(CategoryChange { at, category: now });
        }
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + Duration::days(d)
    }
    fn nps(d: i64, score: u8) -> CategorySignal {
        CategorySignal {
            at: day(d),
            kind: SignalKind::NpsAnswer { score },
        }
    }
    fn review(d: i64, stars: f64) -> CategorySignal {
        CategorySignal {
            at: day(d),
            kind: SignalKind::Review {
                rating: Rating::stars(stars).unwrap(),
            },
        }
    }
    const YEAR: Duration = Duration::days(365);

    #[test]
    fn nps_boundaries() {
        let cat = |s| LoyaltyCategory::from_nps(s);
        assert_eq!(
            (0..=6).map(cat).collect::<Vec<_>>(),
            vec![LoyaltyCategory::Detractor; 7]
        );
        assert_eq!(cat(7), LoyaltyCategory::Passive);
        assert_eq!(cat(8), LoyaltyCategory::Passive);
        assert_eq!(cat(9), LoyaltyCategory::Promoter);
        assert_eq!(cat(10), LoyaltyCategory::Promoter);
    }

    #[test]
    fn latest_answer_wins_and_reviews_only_imply() {
        let signals = [nps(0, 3), review(10, 5.0), nps(20, 9)];
        let at = |d| category_at(&signals, day(d), YEAR).map(|a| (a.category, a.implied));
        assert_eq!(at(-1), None);
        assert_eq!(at(5), Some((LoyaltyCategory::Detractor, false)));
        // A newer 5★ review does not override an NPS answer inside the window.
        assert_eq!(at(15), Some((LoyaltyCategory::Detractor, false)));
        assert_eq!(at(25), Some((LoyaltyCategory::Promoter, false)));
        // Both answers aged out; the review too.
        assert_eq!(at(20 + 365), None);
        let only_review = [review(0, 4.0)];
        assert_eq!(
            category_at(&only_review, day(1), YEAR).map(|a| (a.category, a.implied)),
            Some((LoyaltyCategory::Passive, true))
        );
    }

    #[test]
    fn history_records_changes_and_expiry() {
        let signals = [nps(0, 10), nps(30, 9), nps(60, 4)];
        let history = category_history(&signals, YEAR, day(1000));
        let cats: Vec<_> = history
            .iter()
            .map(|c| c.category.map(|a| a.category))
            .collect();
        assert_eq!(
            cats,
            vec![
                Some(LoyaltyCategory::Promoter),
                Some(LoyaltyCategory::Detractor),
                None
            ]
        );
        assert_eq!(history[1].at, day(60));
        assert_eq!(history[2].at, day(60 + 365));
    }
}
