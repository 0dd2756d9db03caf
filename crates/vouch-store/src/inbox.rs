//! The inbox's work on feedback items: who has each one, whether it is
//! handled, its tags and internal notes, and the views staff save. Every
//! change is a `feedback.triaged` event written in the same transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_domain::{CustomerId, DomainEvent, FeedbackId, FeedbackItem};

use crate::batch::{Sql, bind_values};
use crate::events::append_events;
use crate::rows::{FEEDBACK_COLUMNS, FeedbackRow};
use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store};

/// The customer of each item of `$ids`, read inside the transaction `$tx`:
/// an async block yielding `Result<BTreeMap<FeedbackId, Option<CustomerId>>>`.
macro_rules! customers_of {
    ($tx:expr, $ids:expr) => {
        async {
            let ids: &[FeedbackId] = $ids;
            let mut found: BTreeMap<FeedbackId, Option<CustomerId>> = BTreeMap::new();
            if ids.is_empty() {
                return Ok::<_, $crate::StoreError>(found);
            }
            let mut sql = Sql::default();
            let list = sql.bind_list(&ids.iter().map(|i| i.0).collect::<Vec<_>>());
            sql.text = format!("SELECT id, customer_id FROM feedback_items WHERE id IN ({list})");
            let rows: Vec<(i64, Option<i64>)> = bind_values!(
                sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())),
                sql.values.iter()
            )
            .fetch_all(&mut *$tx)
            .await?;
            for (id, customer) in rows {
                found.insert(FeedbackId(id), customer.map(CustomerId));
            }
            Ok(found)
        }
    };
}

/// What staff have done with an item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Triage {
    /// The staff member working it (their email).
    pub assignee: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    /// How many internal notes it has.
    pub notes: u64,
    /// The 0–10 score, for a survey comment.
    pub score: Option<i64>,
}

/// One change to the triage of one or many items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriageChange {
    /// To a staff member (their email), or to nobody.
    Assign(Option<String>),
    Handled(bool),
    Tag(String),
    Untag(String),
}

impl TriageChange {
    /// The name `feedback.triaged` lists it under.
    fn field(&self) -> &'static str {
        match self {
            TriageChange::Assign(_) => "assignee",
            TriageChange::Handled(_) => "handled",
            TriageChange::Tag(_) | TriageChange::Untag(_) => "tags",
        }
    }
}

/// An internal note on an item.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FeedbackNote {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// A named inbox filter of one staff member.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The inbox's query string (`sentiment=negative&handled=false`).
    pub query: String,
}

impl Store {
    /// One item by id.
    pub async fn feedback_item(&self, id: FeedbackId) -> Result<Option<FeedbackItem>> {
        let sql = format!("SELECT {FEEDBACK_COLUMNS} FROM feedback_items WHERE id = $1");
        let row: Option<FeedbackRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).fetch_optional(pool).await)?;
        row.map(FeedbackItem::try_from).transpose()
    }

    /// The triage of each of `ids` that exists, in two reads.
    pub async fn triage_of(&self, ids: &[FeedbackId]) -> Result<HashMap<FeedbackId, Triage>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::default();
        let list = sql.bind_list(&ids.iter().map(|i| i.0).collect::<Vec<_>>());
        sql.text = format!(
            "SELECT f.id, f.assignee, f.handled_at, r.score, \
             (SELECT COUNT(*) FROM feedback_notes n WHERE n.feedback_id = f.id) \
             FROM feedback_items f LEFT JOIN responses r ON r.id = f.response_id WHERE f.id IN ({list})"
        );
        type Row = (i64, Option<String>, Option<DateTime<Utc>>, Option<i64>, i64);
        let rows: Vec<Row> = on_backend!(self, pool =>
            bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter()).fetch_all(pool).await)?;
        let mut found: HashMap<FeedbackId, Triage> = rows
            .into_iter()
            .map(|(id, assignee, handled_at, score, notes)| {
                let triage = Triage {
                    assignee,
                    handled_at,
                    tags: Vec::new(),
                    notes: u64::try_from(notes).unwrap_or(0),
                    score,
                };
                (FeedbackId(id), triage)
            })
            .collect();
        sql.text = format!(
            "SELECT feedback_id, tag FROM feedback_tags WHERE feedback_id IN ({list}) ORDER BY tag"
        );
        let tags: Vec<(i64, String)> = on_backend!(self, pool =>
            bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter()).fetch_all(pool).await)?;
        for (id, tag) in tags {
            if let Some(t) = found.get_mut(&FeedbackId(id)) {
                t.tags.push(tag);
            }
        }
        Ok(found)
    }

    /// Applies one change to every item of `ids` (unknown ids are skipped)
    /// and returns the items it changed: the same change again changes
    /// nothing and writes no event, so a retried bulk action is harmless.
    pub async fn change_triage(
        &self,
        ids: &[FeedbackId],
        change: &TriageChange,
        now: DateTime<Utc>,
    ) -> Result<Vec<FeedbackId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::default();
        let list = sql.bind_list(&ids.iter().map(|i| i.0).collect::<Vec<_>>());
        sql.text = match change {
            TriageChange::Assign(who) => {
                let who = sql.bind(who.as_deref());
                format!(
                    "UPDATE feedback_items SET assignee = {who} WHERE id IN ({list}) \
                     AND assignee IS DISTINCT FROM {who} RETURNING id"
                )
            }
            TriageChange::Handled(true) => format!(
                "UPDATE feedback_items SET handled_at = {} WHERE id IN ({list}) AND handled_at IS NULL RETURNING id",
                sql.bind(now)
            ),
            TriageChange::Handled(false) => format!(
                "UPDATE feedback_items SET handled_at = NULL WHERE id IN ({list}) AND handled_at IS NOT NULL RETURNING id"
            ),
            TriageChange::Tag(tag) => format!(
                "INSERT INTO feedback_tags (feedback_id, tag) SELECT id, {} FROM feedback_items \
                 WHERE id IN ({list}) ON CONFLICT DO NOTHING RETURNING feedback_id",
                sql.bind(tag.as_str())
            ),
            TriageChange::Untag(tag) => format!(
                "DELETE FROM feedback_tags WHERE feedback_id IN ({list}) AND tag = {} RETURNING feedback_id",
                sql.bind(tag.as_str())
            ),
        };
        let field = change.field();
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let changed: Vec<(i64,)> = bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter())
                .fetch_all(&mut *tx).await?;
            let changed: Vec<FeedbackId> = changed.into_iter().map(|(id,)| FeedbackId(id)).collect();
            let customers = customers_of!(tx, &changed).await?;
            let events: Vec<DomainEvent> = changed
                .iter()
                .map(|id| DomainEvent::FeedbackTriaged {
                    feedback_id: *id,
                    customer_id: customers.get(id).copied().flatten(),
                    changed: vec![field.to_owned()],
                })
                .collect();
            append_events!(backend, tx, &events).await?;
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Adds an internal note; `key` (the form's) makes a resent note one
    /// note. False when the item is unknown or the key was used on it.
    pub async fn add_feedback_note(
        &self,
        id: FeedbackId,
        author: &str,
        body: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO feedback_notes (feedback_id, author, body, key, at) \
            SELECT id, $2, $3, $4, $5 FROM feedback_items WHERE id = $1 ON CONFLICT DO NOTHING RETURNING id";
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let added: Option<(i64,)> = sqlx::query_as(SQL)
                .bind(id.0).bind(author).bind(body).bind(key).bind(now)
                .fetch_optional(&mut *tx).await?;
            if added.is_some() {
                let customers = customers_of!(tx, &[id]).await?;
                let event = DomainEvent::FeedbackTriaged {
                    feedback_id: id,
                    customer_id: customers.get(&id).copied().flatten(),
                    changed: vec!["notes".to_owned()],
                };
                append_events!(backend, tx, &[event]).await?;
            }
            tx.commit().await?;
            Ok(added.is_some())
        })
    }

    /// An item's notes, oldest first.
    pub async fn feedback_notes(&self, id: FeedbackId) -> Result<Vec<FeedbackNote>> {
        const SQL: &str =
            "SELECT id, author, body, at FROM feedback_notes WHERE feedback_id = $1 ORDER BY id";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).bind(id.0).fetch_all(pool).await)?)
    }

    /// Saves (or replaces, by name) a view of `user`.
    pub async fn save_view(&self, user: i64, name: &str, query: &str) -> Result<i64> {
        const SQL: &str = "INSERT INTO saved_views (user_id, name, query) VALUES ($1, $2, $3) \
            ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id";
        let (id,): (i64,) = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(user).bind(name).bind(query).fetch_one(pool).await)?;
        Ok(id)
    }

    /// `user`'s saved views, by name.
    pub async fn saved_views(&self, user: i64) -> Result<Vec<SavedView>> {
        const SQL: &str =
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name, id";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).bind(user).fetch_all(pool).await)?)
    }

    /// Deletes one of `user`'s views; false when it was not theirs or gone.
    pub async fn delete_view(&self, user: i64, id: i64) -> Result<bool> {
        const SQL: &str = "DELETE FROM saved_views WHERE id = $1 AND user_id = $2";
        let done = on_backend!(self, pool => sqlx::query(SQL).bind(id).bind(user).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
