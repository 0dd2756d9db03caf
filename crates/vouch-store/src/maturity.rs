//! Maturity self-assessments, kept as history, and the counts their
//! evidence needs that no other part of the store gives.

use chrono::{DateTime, Utc};

use crate::store::on_backend;
use crate::{Result, Store};

/// One stored assessment; `levels` and `targets` are JSON objects.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredAssessment {
    pub id: i64,
    pub levels: String,
    pub targets: String,
    pub overall: i64,
    pub assessed_by: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    pub async fn add_assessment(
        &self,
        levels: &str,
        targets: &str,
        overall: i64,
        assessed_by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO maturity_assessments (levels, targets, overall, assessed_by, created_at) \
            VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let (id,): (i64,) = on_backend!(self, pool => sqlx::query_as(SQL)
            .bind(levels).bind(targets).bind(overall).bind(assessed_by).bind(at)
            .fetch_one(pool).await)?;
        Ok(id)
    }

    /// The newest `limit` assessments, newest first.
    pub async fn assessments(&self, limit: u32) -> Result<Vec<StoredAssessment>> {
        const SQL: &str = "SELECT id, levels, targets, overall, assessed_by, created_at \
            FROM maturity_assessments ORDER BY created_at DESC, id DESC LIMIT $1";
        Ok(
            on_backend!(self, pool => sqlx::query_as(SQL).bind(i64::from(limit)).fetch_all(pool).await)?,
        )
    }

    /// Feedback items by source, and how many of them carry a sentiment.
    pub async fn feedback_by_source(&self) -> Result<Vec<(String, i64, i64)>> {
        const SQL: &str = "SELECT source, COUNT(*), COUNT(sentiment) FROM feedback_items GROUP BY source ORDER BY source";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Staff accounts by role.
    pub async fn roles_in_use(&self) -> Result<Vec<(String, i64)>> {
        const SQL: &str = "SELECT role, COUNT(*) FROM users WHERE disabled_at IS NULL GROUP BY role ORDER BY role";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?)
    }
}
