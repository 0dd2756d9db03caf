//! The outbox. Every write that changes customer data appends its events
//! in its own transaction (`append_events!`), so an event exists exactly
//! when its change does. Consumers read in `seq` order from a position of
//! their own and move it forward in the transaction that records what
//! they did with the events (`Store::advance_consumer`): a consumer that
//! crashes mid-batch reads the batch again, and dedupes by event id.
//!
//! On PostgreSQL, sequence numbers are taken in insert order but commit in
//! any order, so a reader could pass a number whose transaction has not
//! committed yet and never see it. Every event writer therefore takes one
//! advisory lock just before it inserts its events and holds it to commit:
//! numbers become visible in order. The lock is held only for the insert
//! and the commit. SQLite has one writer, so there is nothing to do.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value as Json;
use sqlx::types::Json as SqlJson;
use vouch_domain::{
    CategoryAssignment, CategorySignal, CustomerId, DEFAULT_LOOKBACK_DAYS, DomainEvent,
    EVENT_VERSION, EventKind, Rating, SignalKind, Source, category_at,
};

use crate::batch::{Value, placeholders};
use crate::jobs::{JOB_INSERT_COLUMNS, job_row};
use crate::store::{BeginWrite, on_backend};
use crate::{Backend, NewJob, Result, Store, StoreError};

/// Held by every event writer on PostgreSQL from its insert to its commit.
pub(crate) const EVENTS_LOCK: &str = "SELECT pg_advisory_xact_lock(7003002)";

pub(crate) const EVENT_COLUMNS: &[&str] = &[
    "id",
    "type",
    "version",
    "customer_id",
    "occurred_at",
    "data",
];

/// A new event's stable id: `evt_`, the time in milliseconds and 80
/// random bits (a ULID's layout, in hex). Ids of one moment sort together,
/// so the unique index takes them at its end like the sequence: random ids
/// spread every batch over the whole index (an import ran at half speed).
pub(crate) fn new_event_id(at: DateTime<Utc>) -> String {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    let random = rand::random::<u128>() & ((1u128 << 80) - 1);
    format!("evt_{millis:012x}{random:020x}")
}

pub(crate) fn event_rows(events: &[DomainEvent], at: DateTime<Utc>) -> Vec<Vec<Value>> {
    events
        .iter()
        .map(|event| {
            vec![
                new_event_id(at).into(),
                event.kind().as_str().into(),
                i64::from(EVENT_VERSION).into(),
                event.customer_id().map(|c| c.0).into(),
                at.into(),
                Value::json(event),
            ]
        })
        .collect()
}

/// Appends `$events` (a `&[DomainEvent]`) inside the transaction `$tx`.
/// Call it last, just before the commit (see the module's note on the
/// PostgreSQL lock). Expands to an `async` block.
macro_rules! append_events {
    ($backend:expr, $tx:expr, $events:expr) => {
        async {
            let events: &[vouch_domain::DomainEvent] = $events;
            if events.is_empty() {
                return Ok::<_, $crate::StoreError>(());
            }
            if $backend == $crate::Backend::Postgres {
                sqlx::query($crate::events::EVENTS_LOCK)
                    .execute(&mut *$tx)
                    .await?;
            }
            let rows = $crate::events::event_rows(events, chrono::Utc::now());
            $crate::store::execute_inserts!(
                $backend,
                $tx,
                "events",
                $crate::events::EVENT_COLUMNS,
                "",
                &rows
            )
            .await?;
            Ok(())
        }
    };
}
pub(crate) use append_events;

/// The customers' loyalty categories now, read inside the transaction
/// `$tx` from their NPS answers and rated reviews (`category_at` decides).
/// Expands to an `async` block yielding
/// `BTreeMap<CustomerId, Option<CategoryAssignment>>`.
macro_rules! signals_in {
    ($backend:expr, $tx:expr, $customers:expr) => {
        async {
            let customers: &std::collections::BTreeSet<vouch_domain::CustomerId> = $customers;
            let mut signals: std::collections::BTreeMap<
                vouch_domain::CustomerId,
                Vec<vouch_domain::CategorySignal>,
            > = customers.iter().map(|c| (*c, Vec::new())).collect();
            let ids: Vec<i64> = customers.iter().map(|c| c.0).collect();
            for chunk in ids.chunks(500) {
                let (answers, reviews) = $crate::events::signal_queries($backend, chunk.len());
                let query = chunk.iter().fold(
                    sqlx::query_as::<_, (i64, chrono::DateTime<chrono::Utc>, i64)>(
                        sqlx::AssertSqlSafe(answers),
                    )
                    .persistent(false),
                    |q, id| q.bind(*id),
                );
                for row in query.fetch_all(&mut *$tx).await? {
                    $crate::events::add_answer_signal(&mut signals, row);
                }
                let query = chunk.iter().fold(
                    sqlx::query_as::<_, $crate::events::ReviewSignalRow>(sqlx::AssertSqlSafe(
                        reviews,
                    ))
                    .persistent(false),
                    |q, id| q.bind(*id),
                );
                for row in query.fetch_all(&mut *$tx).await? {
                    $crate::events::add_review_signal(&mut signals, row);
                }
            }
            Ok::<_, $crate::StoreError>(signals)
        }
    };
}
pub(crate) use signals_in;

/// Each of `customers`' loyalty category now, from their signals in the
/// database as `$tx` sees it.
macro_rules! categories_in {
    ($backend:expr, $tx:expr, $customers:expr) => {
        async {
            let signals = $crate::events::signals_in!($backend, $tx, $customers).await?;
            Ok::<_, $crate::StoreError>($crate::events::categories_from(signals))
        }
    };
}
pub(crate) use categories_in;

pub(crate) type ReviewSignalRow = (i64, String, DateTime<Utc>, f64, f64, f64);

/// The two signal queries for `n` customer ids bound as `$1…$n`.
pub(crate) fn signal_queries(backend: Backend, n: usize) -> (String, String) {
    let list = placeholders(backend, 1, n);
    (
        format!(
            "SELECT r.customer_id, r.answered_at, r.score FROM responses r \
             JOIN surveys s ON s.id = r.survey_id \
             WHERE s.kind = 'nps' AND r.customer_id IN ({list}) ORDER BY r.id"
        ),
        format!(
            "SELECT customer_id, source, posted_at, rating_value, rating_min, rating_max \
             FROM feedback_items WHERE rating_value IS NOT NULL AND customer_id IN ({list}) ORDER BY id"
        ),
    )
}

pub(crate) fn add_answer_signal(
    signals: &mut BTreeMap<CustomerId, Vec<CategorySignal>>,
    (customer, at, score): (i64, DateTime<Utc>, i64),
) {
    if let (Some(list), Ok(score)) = (signals.get_mut(&CustomerId(customer)), u8::try_from(score)) {
        list.push(CategorySignal {
            at,
            kind: SignalKind::NpsAnswer { score },
        });
    }
}

pub(crate) fn add_review_signal(
    signals: &mut BTreeMap<CustomerId, Vec<CategorySignal>>,
    (customer, source, at, value, min, max): ReviewSignalRow,
) {
    let is_review = source
        .parse::<Source>()
        .is_ok_and(|s| s.is_review_platform());
    let (Some(list), true, Ok(rating)) = (
        signals.get_mut(&CustomerId(customer)),
        is_review,
        Rating::new(value, min, max),
    ) else {
        return;
    };
    list.push(CategorySignal {
        at,
        kind: SignalKind::Review { rating },
    });
}

/// `signals` (as `signals_in!` read them: each customer's answers, then
/// reviews) with new NPS answers added after the answers already there,
/// as the database would list them once the answers are written.
pub(crate) fn with_new_answers<'a>(
    mut signals: BTreeMap<CustomerId, Vec<CategorySignal>>,
    answers: impl Iterator<Item = &'a vouch_domain::Answer>,
) -> BTreeMap<CustomerId, Vec<CategorySignal>> {
    for answer in answers {
        let (Some(customer), vouch_domain::SurveyKind::Nps) =
            (answer.customer_id, answer.score.kind())
        else {
            continue;
        };
        let Some(list) = signals.get_mut(&customer) else {
            continue;
        };
        let reviews_from = list
            .iter()
            .position(|s| matches!(s.kind, SignalKind::Review { .. }))
            .unwrap_or(list.len());
        list.insert(
            reviews_from,
            CategorySignal {
                at: answer.answered_at,
                kind: SignalKind::NpsAnswer {
                    score: answer.score.value(),
                },
            },
        );
    }
    signals
}

pub(crate) fn categories_from(
    signals: BTreeMap<CustomerId, Vec<CategorySignal>>,
) -> BTreeMap<CustomerId, Option<CategoryAssignment>> {
    let now = Utc::now();
    let lookback = Duration::days(DEFAULT_LOOKBACK_DAYS);
    signals
        .into_iter()
        .map(|(customer, mut list)| {
            // Answers first, then reviews, each in arrival order:
            // category_at breaks ties by position.
            list.sort_by_key(|s| s.at);
            (customer, category_at(&list, now, lookback))
        })
        .collect()
}

/// An event as the outbox holds it, as `GET /api/v1/events` and webhook
/// deliveries show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredEvent {
    /// The cursor: events are read in this order, which is commit order.
    pub seq: i64,
    /// The stable id (`evt_…`); a redelivery carries the same one.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub version: i32,
    pub customer_id: Option<CustomerId>,
    pub at: DateTime<Utc>,
    pub data: Json,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    id: String,
    #[sqlx(rename = "type")]
    kind: String,
    version: i32,
    customer_id: Option<i64>,
    occurred_at: DateTime<Utc>,
    data: SqlJson<Json>,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<StoredEvent> {
        Ok(StoredEvent {
            kind: row
                .kind
                .parse()
                .map_err(|e| StoreError::corrupt("event", format!("seq {}: {e}", row.seq)))?,
            seq: row.seq,
            id: row.id,
            version: row.version,
            customer_id: row.customer_id.map(CustomerId),
            at: row.occurred_at,
            data: row.data.0,
        })
    }
}

const EVENT_SELECT: &str =
    "SELECT seq, id, type, version, customer_id, occurred_at, data FROM events";

/// The records an event's `data` may name, attached when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Record {
    Response,
    Feedback,
}

/// Which record an event names, if any, and its id.
fn named_record(event: &StoredEvent) -> Option<(Record, i64)> {
    let record = match event.kind {
        EventKind::ResponseCreated | EventKind::ResponseUpdated => Record::Response,
        EventKind::FeedbackCreated | EventKind::FeedbackUpdated => Record::Feedback,
        _ => return None,
    };
    Some((record, event.data.get("id").and_then(Json::as_i64)?))
}

impl Store {
    /// Puts the answers and feedback items the events name into their
    /// `data`, as they are now: a record erased or purged since shows as
    /// `{"id": N, "gone": true}`.
    async fn attach_records(&self, events: &mut [StoredEvent]) -> Result<()> {
        let mut responses: Vec<i64> = Vec::new();
        let mut feedback: Vec<i64> = Vec::new();
        for (record, id) in events.iter().filter_map(named_record) {
            match record {
                Record::Response => responses.push(id),
                Record::Feedback => feedback.push(id),
            }
        }
        let mut records: std::collections::HashMap<(Record, i64), Json> = Default::default();
        let backend = self.backend();
        for chunk in responses.chunks(500) {
            let sql = format!(
                "SELECT {} FROM responses r JOIN surveys s ON s.id = r.survey_id WHERE r.id IN ({})",
                crate::rows::RESPONSE_COLUMNS,
                placeholders(backend, 1, chunk.len())
            );
            let rows: Vec<crate::rows::ResponseRow> = on_backend!(self, pool => {
                let query = chunk.iter().fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false), |q, id| q.bind(*id));
                query.fetch_all(pool).await
            })?;
            for row in rows {
                let response = vouch_domain::Response::try_from(row)?;
                records.insert(
                    (Record::Response, response.id.0),
                    serde_json::to_value(&response).unwrap_or_default(),
                );
            }
        }
        for chunk in feedback.chunks(500) {
            let sql = format!(
                "SELECT {} FROM feedback_items WHERE id IN ({})",
                crate::rows::FEEDBACK_COLUMNS,
                placeholders(backend, 1, chunk.len())
            );
            let rows: Vec<crate::rows::FeedbackRow> = on_backend!(self, pool => {
                let query = chunk.iter().fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false), |q, id| q.bind(*id));
                query.fetch_all(pool).await
            })?;
            for row in rows {
                let item = vouch_domain::FeedbackItem::try_from(row)?;
                records.insert(
                    (Record::Feedback, item.id.0),
                    serde_json::to_value(&item).unwrap_or_default(),
                );
            }
        }
        for event in events.iter_mut() {
            let Some(key) = named_record(event) else {
                continue;
            };
            // Several events may name one record (created, then updated).
            event.data = records
                .get(&key)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"id": key.1, "gone": true}));
        }
        Ok(())
    }

    /// Up to `limit` events after position `after`, oldest first; only the
    /// `kinds` named, or all when none are.
    pub async fn events_after(
        &self,
        after: i64,
        kinds: &[EventKind],
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        // Placeholders in text order = bind order (SQLite numbers `?` by position).
        let backend = self.backend();
        let kinds_filter = if kinds.is_empty() {
            String::new()
        } else {
            format!(" AND type IN ({})", placeholders(backend, 2, kinds.len()))
        };
        let sql = format!(
            "{EVENT_SELECT} WHERE seq > {}{kinds_filter} ORDER BY seq LIMIT {}",
            placeholders(backend, 1, 1),
            placeholders(backend, kinds.len() + 2, 1)
        );
        let rows: Vec<EventRow> = on_backend!(self, pool => {
            let query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(after);
            let query = kinds.iter().fold(query, |q, k| q.bind(k.as_str()));
            query.bind(i64::from(limit)).fetch_all(pool).await
        })?;
        let mut events = rows
            .into_iter()
            .map(StoredEvent::try_from)
            .collect::<Result<Vec<_>>>()?;
        self.attach_records(&mut events).await?;
        Ok(events)
    }

    /// The newest `limit` events of `kinds` (all when none), oldest first.
    pub async fn last_events(&self, kinds: &[EventKind], limit: u32) -> Result<Vec<StoredEvent>> {
        let backend = self.backend();
        let kinds_filter = if kinds.is_empty() {
            String::new()
        } else {
            format!(" WHERE type IN ({})", placeholders(backend, 1, kinds.len()))
        };
        let sql = format!(
            "{EVENT_SELECT}{kinds_filter} ORDER BY seq DESC LIMIT {}",
            placeholders(backend, kinds.len() + 1, 1)
        );
        let rows: Vec<EventRow> = on_backend!(self, pool => {
            let query = kinds.iter().fold(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), |q, k| q.bind(k.as_str()));
            query.bind(i64::from(limit)).fetch_all(pool).await
        })?;
        let mut events: Vec<StoredEvent> = rows
            .into_iter()
            .map(StoredEvent::try_from)
            .collect::<Result<_>>()?;
        events.reverse();
        self.attach_records(&mut events).await?;
        Ok(events)
    }

    /// One event by its position.
    pub async fn event(&self, seq: i64) -> Result<Option<StoredEvent>> {
        let sql = format!("{EVENT_SELECT} WHERE seq = $1");
        let row: Option<EventRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(seq).fetch_optional(pool).await)?;
        let mut events: Vec<StoredEvent> = row
            .map(StoredEvent::try_from)
            .transpose()?
            .into_iter()
            .collect();
        self.attach_records(&mut events).await?;
        Ok(events.pop())
    }

    /// One event by its id.
    pub async fn event_by_id(&self, id: &str) -> Result<Option<StoredEvent>> {
        let sql = format!("{EVENT_SELECT} WHERE id = $1");
        let row: Option<EventRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await)?;
        let mut events: Vec<StoredEvent> = row
            .map(StoredEvent::try_from)
            .transpose()?
            .into_iter()
            .collect();
        self.attach_records(&mut events).await?;
        Ok(events.pop())
    }

    /// The newest event's position (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64> {
        const SQL: &str = "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM events";
        Ok(on_backend!(self, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await)?)
    }

    /// Where `consumer` has read to; a new consumer starts at `start`
    /// (0 for everything kept, `last_event_seq` for only what comes next).
    pub async fn consumer_position(&self, consumer: &str, start: i64) -> Result<i64> {
        const ADD: &str = "INSERT INTO event_consumers (name, position, updated_at) VALUES ($1, $2, $3) \
            ON CONFLICT (name) DO NOTHING";
        const GET: &str = "SELECT position FROM event_consumers WHERE name = $1";
        Ok(on_backend!(self, pool => {
            sqlx::query(ADD).bind(consumer).bind(start).bind(Utc::now()).execute(pool).await?;
            sqlx::query_scalar::<_, i64>(GET).bind(consumer).fetch_one(pool).await
        })?)
    }

    /// Moves `consumer` from `from` to `to` and queues `jobs`, in one
    /// transaction, so the jobs exist exactly when the events count as
    /// handled. A job whose dedupe key is already pending is skipped.
    /// False, with nothing written, when another instance moved the
    /// consumer first.
    pub async fn advance_consumer(
        &self,
        consumer: &str,
        from: i64,
        to: i64,
        jobs: &[NewJob],
    ) -> Result<bool> {
        const MOVE: &str = "UPDATE event_consumers SET position = $1, updated_at = $2 WHERE name = $3 AND position = $4";
        let now = Utc::now();
        let rows: Vec<Vec<Value>> = jobs.iter().map(|job| job_row(job, now)).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query(MOVE).bind(to).bind(now).bind(consumer).bind(from).execute(&mut *tx).await?.rows_affected();
            if moved != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            crate::store::execute_inserts!(self.backend(), tx, "jobs", JOB_INSERT_COLUMNS, crate::jobs::SKIP_PENDING_DUPLICATES, &rows).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Every consumer's position, by name.
    pub async fn consumer_positions(&self) -> Result<Vec<(String, i64)>> {
        const SQL: &str = "SELECT name, position FROM event_consumers ORDER BY name";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Appends events outside any other change: for facts that are not a
    /// row of their own.
    pub async fn append_events(&self, events: &[DomainEvent]) -> Result<()> {
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            append_events!(backend, tx, events).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
