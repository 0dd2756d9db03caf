//! Deleting what the retention policy no longer keeps.

use serde::Serialize;
use vouch_domain::RetentionCutoffs;

use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store};

/// How many records a purge deleted, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub feedback: u64,
    pub answers: u64,
    pub jobs: u64,
    pub events: u64,
}

impl Store {
    /// Deletes what is older than its cutoff, in one transaction. An
    /// answer's comment (feedback of source `survey`) goes with the
    /// answer; the NPS rollup follows through its triggers.
    pub async fn purge(&self, cutoffs: &RetentionCutoffs) -> Result<Purged> {
        const FEEDBACK: &str =
            "DELETE FROM feedback_items WHERE source <> 'survey' AND posted_at < $1";
        const ANSWER_COMMENTS: &str = "DELETE FROM feedback_items WHERE response_id IN (SELECT id FROM responses WHERE answered_at < $1)";
        const ANSWERS: &str = "DELETE FROM responses WHERE answered_at < $1";
        const JOBS: &str = "DELETE FROM jobs WHERE state IN ('done', 'dead') AND finished_at < $1";
        const DELIVERIES: &str = "DELETE FROM webhook_deliveries WHERE delivered_at < $1";
        // Never an event a consumer has not passed yet.
        // Events are in time order along seq: the old ones are those before
        // the first new one (found from the start, so the scan is as long as
        // what goes), and never one a consumer has not passed.
        const EVENTS: &str = "DELETE FROM events WHERE \
            seq < COALESCE((SELECT seq FROM events WHERE occurred_at >= $1 ORDER BY seq LIMIT 1), \
                           (SELECT MAX(seq) + 1 FROM events)) \
            AND seq <= COALESCE((SELECT MIN(position) FROM event_consumers), seq)";
        let mut purged = Purged::default();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if let Some(at) = cutoffs.feedback {
                purged.feedback = sqlx::query(FEEDBACK).bind(at).execute(&mut *tx).await?.rows_affected();
            }
            if let Some(at) = cutoffs.answers {
                sqlx::query(ANSWER_COMMENTS).bind(at).execute(&mut *tx).await?;
                purged.answers = sqlx::query(ANSWERS).bind(at).execute(&mut *tx).await?.rows_affected();
            }
            if let Some(at) = cutoffs.jobs {
                purged.jobs = sqlx::query(JOBS).bind(at).execute(&mut *tx).await?.rows_affected();
            }
            if let Some(at) = cutoffs.events {
                sqlx::query(DELIVERIES).bind(at).execute(&mut *tx).await?;
                purged.events = sqlx::query(EVENTS).bind(at).execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        });
        Ok(purged)
    }
}
