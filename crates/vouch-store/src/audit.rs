//! The audit log: what staff did, appended and never changed (triggers
//! refuse UPDATE and DELETE on both backends).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::on_backend;
use crate::{Result, Store};

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub client: Option<String>,
}

impl Store {
    /// Appends an entry.
    pub async fn audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        target: Option<&str>,
        client: Option<&str>,
    ) -> Result<()> {
        const SQL: &str =
            "INSERT INTO audit_log (at, actor, action, target, client) VALUES ($1, $2, $3, $4, $5)";
        on_backend!(self, pool => sqlx::query(SQL).bind(at).bind(actor).bind(action)
            .bind(target).bind(client).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Entries newest first, `limit` at a time, before the id `before`.
    pub async fn audit_log(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        const SQL: &str = "SELECT id, at, actor, action, target, client FROM audit_log \
            WHERE id < $1 ORDER BY id DESC LIMIT $2";
        type Row = (
            i64,
            DateTime<Utc>,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = on_backend!(self, pool => sqlx::query_as(SQL)
            .bind(before.unwrap_or(i64::MAX)).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, at, actor, action, target, client)| AuditEntry {
                id,
                at,
                actor,
                action,
                target,
                client,
            })
            .collect())
    }
}
