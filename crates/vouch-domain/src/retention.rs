//! How long Vouch keeps what it holds (GDPR art. 5(1)(e), storage
//! limitation): each kind of record has its own period, or is kept until
//! erased. Pure arithmetic; the store deletes.

use chrono::{DateTime, Duration, Utc};

/// Days each kind of record is kept; `None` keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Reviews, mentions and tickets, by posting time.
    pub feedback_days: Option<u32>,
    /// Survey answers (and their comments), by answering time.
    pub answers_days: Option<u32>,
    /// Finished jobs (done or dead), by finishing time.
    pub jobs_days: Option<u32>,
    /// Events in the outbox (by time; never one a consumer has not read)
    /// and webhook delivery attempts (by delivery time).
    pub events_days: Option<u32>,
}

/// The times before which records go, for a policy applied at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCutoffs {
    pub feedback: Option<DateTime<Utc>>,
    pub answers: Option<DateTime<Utc>>,
    pub jobs: Option<DateTime<Utc>>,
    pub events: Option<DateTime<Utc>>,
}

impl RetentionPolicy {
    /// Whether anything is ever deleted.
    pub fn keeps_everything(&self) -> bool {
        *self == RetentionPolicy::default()
    }

    /// What is older than its period at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> RetentionCutoffs {
        let before = |days: Option<u32>| days.map(|d| now - Duration::days(i64::from(d)));
        RetentionCutoffs {
            feedback: before(self.feedback_days),
            answers: before(self.answers_days),
            jobs: before(self.jobs_days),
            events: before(self.events_days),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn each_period_gives_its_own_cutoff_and_none_keeps() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        let policy = RetentionPolicy {
            feedback_days: Some(730),
            jobs_days: Some(30),
            ..RetentionPolicy::default()
        };
        let cut = policy.cutoffs(now);
        assert_eq!(
            cut.feedback,
            Some(Utc.with_ymd_and_hms(2024, 12, 2, 0, 0, 0).unwrap())
        );
        assert_eq!(
            cut.jobs,
            Some(Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap())
        );
        assert_eq!((cut.answers, cut.events), (None, None));
        assert!(RetentionPolicy::default().keeps_everything());
        assert!(!policy.keeps_everything());
    }
}
