//! Connectors' rows: which vendor API to pull, with what (sealed)
//! credentials, from which cursor, and how the last sync went.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sealed::SOURCE_CREDENTIALS;
use crate::store::on_backend;
use crate::{Result, Store};

/// A connector as staff see it: never its credentials.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredSource {
    pub id: i64,
    pub name: String,
    /// `trustpilot`, `zendesk`…
    pub kind: String,
    pub base_url: String,
    /// The vendor's account the source reads: a business unit, a
    /// subdomain's agent email.
    pub account: String,
    /// Where the next sync starts (a page, a cursor); none: the beginning.
    pub cursor: Option<String>,
    pub every_minutes: i64,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub items_pulled: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a new connector needs.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub account: String,
    pub credentials: String,
    pub every_minutes: i64,
}

const COLUMNS: &str = "id, name, kind, base_url, account, cursor, every_minutes, last_sync_at, \
    next_sync_at, items_pulled, last_error, created_at";

impl Store {
    /// Adds a connector, its credentials sealed; `None` when the name is taken.
    pub async fn add_source(&self, source: &NewSource, now: DateTime<Utc>) -> Result<Option<i64>> {
        const SQL: &str = "INSERT INTO feedback_sources (name, kind, base_url, account, credentials, \
            every_minutes, next_sync_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
            ON CONFLICT (name) DO NOTHING RETURNING id";
        let sealed = self.keys.seal(SOURCE_CREDENTIALS, &source.credentials)?;
        let id: Option<(i64,)> = on_backend!(self, pool => sqlx::query_as(SQL)
            .bind(&source.name).bind(&source.kind).bind(&source.base_url).bind(&source.account)
            .bind(&sealed).bind(source.every_minutes).bind(now).fetch_optional(pool).await)?;
        Ok(id.map(|(id,)| id))
    }

    /// Every connector, by name.
    pub async fn sources(&self) -> Result<Vec<StoredSource>> {
        let sql = format!("SELECT {COLUMNS} FROM feedback_sources ORDER BY name");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await)?,
        )
    }

    /// One connector by name.
    pub async fn source(&self, name: &str) -> Result<Option<StoredSource>> {
        let sql = format!("SELECT {COLUMNS} FROM feedback_sources WHERE name = $1");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(name).fetch_optional(pool).await)?,
        )
    }

    /// A connector's credentials, opened: only for the connector itself.
    pub async fn source_credentials(&self, id: i64) -> Result<Option<String>> {
        const SQL: &str = "SELECT credentials FROM feedback_sources WHERE id = $1";
        let stored: Option<String> =
            on_backend!(self, pool => sqlx::query_scalar(SQL).bind(id).fetch_optional(pool).await)?;
        stored
            .map(|s| self.keys.open(SOURCE_CREDENTIALS, &s))
            .transpose()
    }

    /// Connectors whose next sync is due at `now`.
    pub async fn due_sources(&self, now: DateTime<Utc>) -> Result<Vec<StoredSource>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM feedback_sources WHERE next_sync_at IS NULL OR next_sync_at <= $1 ORDER BY id"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(now).fetch_all(pool).await)?,
        )
    }

    /// Keeps how far a sync got: the cursor after a page that was written,
    /// and the items it brought.
    pub async fn advance_source(&self, id: i64, cursor: Option<&str>, pulled: u64) -> Result<()> {
        const SQL: &str = "UPDATE feedback_sources SET cursor = $1, items_pulled = items_pulled + $2 WHERE id = $3";
        on_backend!(self, pool => sqlx::query(SQL).bind(cursor).bind(pulled as i64).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends a sync: when it ran, when the next is due, and its error if it failed.
    pub async fn finish_source_sync(
        &self,
        id: i64,
        at: DateTime<Utc>,
        next: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        const SQL: &str = "UPDATE feedback_sources SET last_sync_at = $1, next_sync_at = $2, last_error = $3 WHERE id = $4";
        on_backend!(self, pool => sqlx::query(SQL).bind(at).bind(next).bind(error).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Makes a connector due at `at` (a sync asked for now); false when there is none.
    pub async fn schedule_source(&self, name: &str, at: DateTime<Utc>) -> Result<bool> {
        const SQL: &str = "UPDATE feedback_sources SET next_sync_at = $1 WHERE name = $2";
        let done = on_backend!(self, pool => sqlx::query(SQL).bind(at).bind(name).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Removes a connector (what it pulled stays); false when there was none.
    pub async fn remove_source(&self, name: &str) -> Result<bool> {
        const SQL: &str = "DELETE FROM feedback_sources WHERE name = $1";
        let done = on_backend!(self, pool => sqlx::query(SQL).bind(name).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
