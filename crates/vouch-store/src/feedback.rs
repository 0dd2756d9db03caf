use chrono::{DateTime, Utc};
use vouch_domain::{
    CategorySignal, ChangeSignal, CustomerId, DomainEvent, Feedback, FeedbackId, FeedbackItem,
    LoyaltyCategory, PASSIVE_MIN_RATING, PASSIVE_MIN_SCORE, PROMOTER_MIN_RATING,
    PROMOTER_MIN_SCORE, Rating, RecordRef, SENTIMENT_THRESHOLD, SentimentLabel, SignalKind, Source,
    category_changes,
};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

use crate::batch::{Sql, Value, bind_values, placeholders};
use crate::events::{append_events, categories_in, signals_in};
use crate::rows::{FEEDBACK_COLUMNS, FeedbackRow};
use crate::store::{BeginWrite, Pool, cannot_open, insert_rows, on_backend, sqlite_options};
use crate::{Backend, DatabaseLocation, Result, Store};

/// What an idempotent write of feedback did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UpsertSummary {
    /// New (source, source id) pairs.
    pub imported: u64,
    /// Known items whose text or rating changed.
    pub updated: u64,
    /// Known items that said nothing new.
    pub unchanged: u64,
}

impl std::ops::AddAssign for UpsertSummary {
    fn add_assign(&mut self, other: UpsertSummary) {
        self.imported += other.imported;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// Which feedback items a listing returns. Empty fields filter nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackFilter {
    pub sources: Vec<Source>,
    /// Language codes (`en`, `ro`).
    pub languages: Vec<String>,
    pub sentiment: Option<SentimentLabel>,
    /// A topic of the taxonomy the item mentions.
    pub topic: Option<String>,
    /// The loyalty category the item itself signals: its NPS answer's score,
    /// or else its rating as `Rating::implied_category` reads it.
    pub category: Option<LoyaltyCategory>,
    pub customer: Option<CustomerId>,
    /// Posted at or after.
    pub from: Option<DateTime<Utc>>,
    /// Posted strictly before.
    pub to: Option<DateTime<Utc>>,
    /// Words that must all be in the title or body (full-text search,
    /// any case, diacritics folded: "factura" finds "factură").
    pub search: Option<String>,
    /// Survey comments of this survey.
    pub survey: Option<vouch_domain::SurveyId>,
    /// Ratings, in whole stars (1–5) as `Rating::as_stars` rounds them.
    pub stars: Vec<u8>,
    /// Handled (true) or still to handle (false).
    pub handled: Option<bool>,
    /// `Some(None)`: nobody's; `Some(Some(email))`: that staff member's.
    pub assignee: Option<Option<String>>,
    /// Carries this tag.
    pub tag: Option<String>,
    /// The item's customer has all these attributes (a segment).
    pub attributes: Vec<(String, String)>,
}

/// Matches from which a search walks the items by date (`search_is_dense`).
const DENSE_SEARCH: i64 = 2_000;

/// The inbox counts matches up to this many (see `count_matching_feedback`).
pub const COUNT_CAP: u64 = 10_000;

/// Diacritics PostgreSQL's search column folds (`translate`, in migration
/// 0028), character for character: Romanian's, both cedilla and comma
/// forms, and Western European ones. Queries fold with the same pair.
pub(crate) const FOLD_FROM: &str = "ĂÂÎȘŞȚŢăâîșşțţÁÀÄÃÅÉÈÊËÍÌÏÓÒÔÖÕÚÙÛÜÇÑáàäãåéèêëíìïóòôöõúùûüçñ";
pub(crate) const FOLD_TO: &str = "aaissttaaissttaaaaaeeeeiiiooooouuuucnaaaaaeeeeiiiooooouuuucn";

/// The words of a search, as both backends' indexes split text: runs of
/// letters and digits, at most 16 of them. Punctuation is never query
/// syntax (FTS5's `"`, `*`, `NEAR`; tsquery's `&`, `|`, `!`).
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// The category an item signals, in SQL, over `feedback_items f` left-joined
/// to its answer `r` and survey `s`, written from the domain's thresholds
/// (`LoyaltyCategory::from_nps`, `Rating::implied_category`); the
/// conformance test runs every score and star boundary through it.
fn item_category() -> String {
    format!(
        "CASE \
         WHEN s.kind = 'nps' THEN CASE WHEN r.score >= {PROMOTER_MIN_SCORE} THEN 'promoter' \
         WHEN r.score >= {PASSIVE_MIN_SCORE} THEN 'passive' ELSE 'detractor' END \
         WHEN f.rating_normalized IS NULL THEN NULL \
         WHEN f.rating_normalized >= {PROMOTER_MIN_RATING} THEN 'promoter' \
         WHEN f.rating_normalized >= {PASSIVE_MIN_RATING} THEN 'passive' ELSE 'detractor' END"
    )
}

/// How many source ids one look-up asks for.
const LOOKUP_CHUNK: usize = 500;

const FEEDBACK_INSERT_COLUMNS: &[&str] = &[
    "source",
    "source_id",
    "customer_id",
    "author_name",
    "author_handle",
    "rating_value",
    "rating_min",
    "rating_max",
    "rating_normalized",
    "title",
    "body",
    "language",
    "url",
    "posted_at",
    "likes",
    "shares",
    "comments",
    "sentiment",
    "topics",
];

fn feedback_row(f: &Feedback) -> Vec<Value> {
    let count = |n: u64| Value::from(i64::try_from(n).unwrap_or(i64::MAX));
    vec![
        f.source.as_str().into(),
        f.source_id.as_str().into(),
        f.customer_id.map(|c| c.0).into(),
        f.author.name.as_deref().into(),
        f.author.handle.as_deref().into(),
        f.rating.map(Rating::value).into(),
        f.rating.map(Rating::min).into(),
        f.rating.map(Rating::max).into(),
        f.rating.map(Rating::normalized).into(),
        f.title.as_deref().into(),
        f.body.as_str().into(),
        f.language.as_deref().into(),
        f.url.as_deref().into(),
        f.posted_at.into(),
        count(f.engagement.likes),
        count(f.engagement.shares),
        count(f.engagement.comments),
        f.sentiment.into(),
        Value::json(&f.topics),
    ]
}

/// The statements that find stored items by (source, source id): one per
/// source and chunk of ids, each with its values.
fn key_lookups(backend: Backend, keys: &[(Source, &str)]) -> Vec<(String, Vec<Value>)> {
    let mut by_source: HashMap<Source, Vec<&str>> = HashMap::new();
    for (source, id) in keys {
        by_source.entry(*source).or_default().push(id);
    }
    by_source
        .iter()
        .flat_map(|(source, ids)| {
            ids.chunks(LOOKUP_CHUNK).map(move |chunk| {
                let sql = format!(
                    "SELECT {FEEDBACK_COLUMNS} FROM feedback_items WHERE source = {} AND source_id IN ({})",
                    placeholders(backend, 1, 1),
                    placeholders(backend, 2, chunk.len())
                );
                let values = std::iter::once(Value::from(source.as_str()))
                    .chain(chunk.iter().map(|id| Value::from(*id)))
                    .collect();
                (sql, values)
            })
        })
        .collect()
}

/// Runs `$body` with `$c` bound to the held connection, whichever backend
/// it is (as `on_backend!` does for pools).
macro_rules! on_connection {
    ($connection:expr, $c:ident => $body:expr) => {
        match $connection {
            Connection::Sqlite($c) => $body,
            Connection::Postgres($c) => $body,
        }
    };
}

pub(crate) enum Connection {
    Sqlite(PoolConnection<sqlx::Sqlite>),
    Postgres(PoolConnection<sqlx::Postgres>),
}

/// Writes batch after batch of feedback (`Store::upsert_feedback`, one
/// transaction each) over one connection. A bulk import needs that:
/// SQLite empties a connection's page cache when another connection has
/// written since, so batches spread over the pool each started cold, and
/// every pooled connection filled its own cache with the same index pages
/// (five connections held about 60 MB more in an import of a million reviews).
pub struct FeedbackWriter {
    pub(crate) connection: Connection,
    backend: Backend,
    /// The bulk writer's own one-connection pool (SQLite), closed by `finish`.
    own_pool: Option<SqlitePool>,
}

/// Held by each feedback upsert on PostgreSQL until it commits, across
/// every instance sharing the database (the key is arbitrary but fixed).
const FEEDBACK_UPSERT_LOCK: &str = "SELECT pg_advisory_xact_lock(7003001)";

/// A bulk writer's SQLite connection holds 32 MiB of pages instead of 16
/// and lets the WAL grow to 64,000 pages (250 MiB) instead of 8,000 before
/// it checkpoints. Items with random ids (most real exports: Yelp's and
/// Google's ids, content hashes) land all over the unique and posting-time
/// indexes, so every 4,000-item batch dirties thousands of index pages;
/// each checkpoint copied them all back to the database, and the smaller
/// cache spilled them mid-batch. A million such reviews imported in 26-27 s
/// instead of 34-36 s; the cost is a longer last checkpoint, which made a
/// million reviews with sequential ids take 18.4 s instead of 17.2 s.
/// `finish` checkpoints and truncates the WAL, so the import leaves no
/// 250 MiB file behind. Peak memory stayed under 190 MB.
const BULK_CACHE_KIB: &str = "-32768";
const BULK_WAL_PAGES: &str = "64000";

impl FeedbackWriter {
    /// Ends a bulk writer: the WAL is checkpointed into the database and
    /// emptied, and its connection closed. A pooled writer just returns its
    /// connection.
    pub async fn finish(self) -> Result<()> {
        let Some(pool) = self.own_pool else {
            return Ok(());
        };
        let mut connection = self.connection;
        if let Connection::Sqlite(sqlite) = &mut connection {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut **sqlite)
                .await?;
        }
        // The pool closes once its one connection is back.
        drop(connection);
        pool.close().await;
        Ok(())
    }

    /// What `Store::upsert_feedback` does, on this writer's connection.
    pub async fn upsert(&mut self, items: &[Feedback]) -> Result<UpsertSummary> {
        let mut latest: HashMap<(Source, &str), &Feedback> = HashMap::new();
        let mut order: Vec<(Source, &str)> = Vec::new();
        for item in items {
            let key = (item.source, item.source_id.as_str());
            if latest.insert(key, item).is_none() {
                order.push(key);
            }
        }
        let backend = self.backend;
        on_connection!(&mut self.connection, connection => {
            let mut tx = (&mut **connection).begin_write().await?;
            if backend == Backend::Postgres {
                // Upserts look keys up and then insert the missing ones; two at
                // once would both insert a new key and one would fail on the
                // unique index. SQLite's BEGIN IMMEDIATE already serialises them.
                sqlx::query(FEEDBACK_UPSERT_LOCK).execute(&mut *tx).await?;
            }
            // By source, then id: found by borrowed keys, no String per item.
            let mut known: HashMap<Source, HashMap<String, FeedbackItem>> = HashMap::new();
            for (sql, values) in key_lookups(backend, &order) {
                let query = bind_values!(sqlx::query_as::<_, FeedbackRow>(sqlx::AssertSqlSafe(sql)).persistent(false), values.iter());
                for row in query.fetch_all(&mut *tx).await? {
                    let item = FeedbackItem::try_from(row)?;
                    known
                        .entry(item.feedback.source)
                        .or_default()
                        .insert(item.feedback.source_id.clone(), item);
                }
            }
            let mut summary = UpsertSummary::default();
            let mut new_rows: Vec<Vec<Value>> = Vec::new();
            let mut new_items: Vec<&Feedback> = Vec::new();
            let mut events: Vec<DomainEvent> = Vec::new();
            // Rated reviews of known customers may move their category.
            let watched: BTreeSet<CustomerId> = order
                .iter()
                .map(|key| latest[key])
                .filter(|f| f.rating.is_some() && f.source.is_review_platform())
                .filter_map(|f| f.customer_id)
                .collect();
            let before = categories_in!(backend, tx, &watched).await?;
            let mut signals: BTreeMap<CustomerId, ChangeSignal> = BTreeMap::new();
            for key in &order {
                let item = latest[key];
                match known.get(&key.0).and_then(|ids| ids.get(key.1)) {
                    None => {
                        new_rows.push(feedback_row(item));
                        new_items.push(item);
                        summary.imported += 1;
                    }
                    Some(stored) if stored.feedback.differs_from(item) => {
                        const UPDATE: &str = "UPDATE feedback_items SET customer_id = $1, author_name = $2, author_handle = $3, \
                            rating_value = $4, rating_min = $5, rating_max = $6, rating_normalized = $7, title = $8, body = $9, \
                            language = $10, url = $11, posted_at = $12, sentiment = $13, topics = $14 WHERE id = $15";
                        let topics = sqlx::types::Json(&item.topics);
                        sqlx::query(UPDATE)
                            .bind(item.customer_id.map(|c| c.0))
                            .bind(item.author.name.as_deref())
                            .bind(item.author.handle.as_deref())
                            .bind(item.rating.map(Rating::value))
                            .bind(item.rating.map(Rating::min))
                            .bind(item.rating.map(Rating::max))
                            .bind(item.rating.map(Rating::normalized))
                            .bind(item.title.as_deref())
                            .bind(item.body.as_str())
                            .bind(item.language.as_deref())
                            .bind(item.url.as_deref())
                            .bind(item.posted_at)
                            .bind(item.sentiment)
                            .bind(topics)
                            .bind(stored.id.0)
                            .execute(&mut *tx)
                            .await?;
                        if let Some(customer) = item.customer_id.filter(|c| watched.contains(c)) {
                            signals.insert(customer, ChangeSignal::Feedback(stored.id));
                        }
                        events.push(DomainEvent::FeedbackUpdated(RecordRef { id: stored.id, customer_id: item.customer_id }));
                        summary.updated += 1;
                    }
                    Some(_) => summary.unchanged += 1,
                }
            }
            let ids = insert_rows!(backend, tx, "feedback_items", FEEDBACK_INSERT_COLUMNS, &new_rows).await?;
            for (id, item) in ids.into_iter().zip(new_items) {
                let id = FeedbackId(id);
                if let Some(customer) = item.customer_id.filter(|c| watched.contains(c)) {
                    signals.insert(customer, ChangeSignal::Feedback(id));
                }
                events.push(DomainEvent::FeedbackCreated(RecordRef { id, customer_id: item.customer_id }));
            }
            if !watched.is_empty() {
                let after = categories_in!(backend, tx, &watched).await?;
                let after = after
                    .into_iter()
                    .filter_map(|(customer, a)| Some((customer, (a, *signals.get(&customer)?))))
                    .collect();
                events.extend(category_changes(&before, &after));
            }
            append_events!(backend, tx, &events).await?;
            tx.commit().await?;
            Ok(summary)
        })
    }
}

impl Store {
    /// Adds new feedback items in one transaction; ids in the order given.
    /// A (source, source id) that already exists is a unique-key error.
    pub async fn insert_feedback(&self, items: &[Feedback]) -> Result<Vec<FeedbackId>> {
        let rows: Vec<Vec<Value>> = items.iter().map(feedback_row).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let ids: Vec<FeedbackId> = insert_rows!(self.backend(), tx, "feedback_items", FEEDBACK_INSERT_COLUMNS, &rows).await?
                .into_iter().map(FeedbackId).collect();
            let events: Vec<DomainEvent> = ids
                .iter()
                .zip(items)
                .map(|(id, f)| DomainEvent::FeedbackCreated(RecordRef { id: *id, customer_id: f.customer_id }))
                .collect();
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Writes feedback idempotently, in one transaction: a (source, source
    /// id) not seen before is inserted; a known one is updated when its text
    /// or rating changed (with the analysis it now carries) and left alone
    /// otherwise. Within `items`, the last of duplicates wins. For many
    /// batches, `feedback_writer` keeps one connection for all of them.
    pub async fn upsert_feedback(&self, items: &[Feedback]) -> Result<UpsertSummary> {
        self.feedback_writer().await?.upsert(items).await
    }

    /// A writer holding one connection of the pool until it is dropped.
    pub async fn feedback_writer(&self) -> Result<FeedbackWriter> {
        let connection = match &self.pool {
            Pool::Sqlite(pool) => Connection::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Connection::Postgres(pool.acquire().await?),
        };
        Ok(FeedbackWriter {
            connection,
            backend: self.backend(),
            own_pool: None,
        })
    }

    /// A writer for a whole import. On SQLite it has a connection of its
    /// own, set up for many large batches (see `BULK_CACHE_KIB`); end it
    /// with `FeedbackWriter::finish`. On PostgreSQL it is `feedback_writer`.
    pub async fn bulk_feedback_writer(&self) -> Result<FeedbackWriter> {
        let (Pool::Sqlite(_), DatabaseLocation::Sqlite(path)) = (&self.pool, &self.location) else {
            return self.feedback_writer().await;
        };
        let options = sqlite_options(path)
            .create_if_missing(false)
            .pragma("cache_size", BULK_CACHE_KIB)
            .pragma("wal_autocheckpoint", BULK_WAL_PAGES);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| cannot_open(path, e))?;
        Ok(FeedbackWriter {
            connection: Connection::Sqlite(pool.acquire().await?),
            backend: Backend::Sqlite,
            own_pool: Some(pool),
        })
    }

    /// A page of feedback matching `filter`, newest first (by posting time,
    /// then id), continuing after the item `after` (keyset pagination).
    pub async fn feedback(
        &self,
        filter: &FeedbackFilter,
        after: Option<FeedbackId>,
        limit: u32,
    ) -> Result<Vec<FeedbackItem>> {
        let mut sql = Sql::default();
        let dense = self.search_is_dense(filter).await?;
        let mut conditions = self.feedback_conditions(filter, &mut sql, dense);
        if let Some(after) = after {
            let id = sql.bind(after.0);
            conditions.push(format!(
                "(f.posted_at, f.id) < (SELECT posted_at, id FROM feedback_items WHERE id = {id})"
            ));
        }
        let columns: Vec<String> = FEEDBACK_COLUMNS
            .split(", ")
            .map(|c| format!("f.{c}"))
            .collect();
        sql.text = format!(
            "SELECT {} FROM feedback_items f \
             LEFT JOIN responses r ON r.id = f.response_id LEFT JOIN surveys s ON s.id = r.survey_id \
             WHERE {} ORDER BY f.posted_at DESC, f.id DESC LIMIT {}",
            columns.join(", "),
            conditions.join(" AND "),
            sql.bind(i64::from(limit))
        );
        let rows: Vec<FeedbackRow> = on_backend!(self, pool =>
            bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter()).fetch_all(pool).await)?;
        rows.into_iter().map(FeedbackItem::try_from).collect()
    }

    /// How many items match `filter` (the inbox's total), counted up to
    /// `COUNT_CAP` and no further: a million-row count costs seconds, and
    /// "10,000 or more" says what a reader needs. Exact below the cap.
    pub async fn count_matching_feedback(&self, filter: &FeedbackFilter) -> Result<u64> {
        let mut sql = Sql::default();
        let words = filter
            .search
            .as_deref()
            .map(search_words)
            .unwrap_or_default();
        let search_only = FeedbackFilter {
            search: filter.search.clone(),
            ..FeedbackFilter::default()
        } == *filter;
        if search_only && !words.is_empty() && self.backend() == Backend::Sqlite {
            // The index alone counts its matches, without the items.
            let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            sql.text = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM feedback_search WHERE feedback_search MATCH {} LIMIT {})",
                sql.bind(query.join(" ")),
                sql.bind(COUNT_CAP as i64)
            );
        } else {
            let conditions = self.feedback_conditions(filter, &mut sql, false);
            // The joins are needed only by the category and survey filters.
            let joins = if filter.category.is_some() || filter.survey.is_some() {
                "LEFT JOIN responses r ON r.id = f.response_id LEFT JOIN surveys s ON s.id = r.survey_id"
            } else {
                ""
            };
            sql.text = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM feedback_items f {joins} WHERE {} LIMIT {}) t",
                conditions.join(" AND "),
                sql.bind(COUNT_CAP as i64)
            );
        }
        let (n,): (i64,) = on_backend!(self, pool =>
            bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter()).fetch_one(pool).await)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether a search on SQLite matches so many items (`DENSE_SEARCH` or
    /// more) that the newest are best found by walking the items by date
    /// and checking each against the matches: 5 ms instead of 58 for a
    /// word in 36,000 of 1.3 million items. With fewer matches, reading
    /// the matches and sorting them is the fast way (1 ms instead of 86
    /// for a word in none). The index counts its matches in about 1 ms.
    async fn search_is_dense(&self, filter: &FeedbackFilter) -> Result<bool> {
        let words = filter
            .search
            .as_deref()
            .map(search_words)
            .unwrap_or_default();
        let Pool::Sqlite(pool) = &self.pool else {
            return Ok(false);
        };
        if words.is_empty() {
            return Ok(false);
        }
        let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM feedback_search WHERE feedback_search MATCH $1 LIMIT $2)",
        )
        .bind(query.join(" "))
        .bind(DENSE_SEARCH)
        .fetch_one(pool)
        .await?;
        Ok(n >= DENSE_SEARCH)
    }

    /// The WHERE conditions of `filter` over `feedback_items f` (joined to
    /// its answer `r` and survey `s`), their values bound into `sql`;
    /// `dense`: see `search_is_dense`.
    fn feedback_conditions(
        &self,
        filter: &FeedbackFilter,
        sql: &mut Sql,
        dense: bool,
    ) -> Vec<String> {
        let mut conditions: Vec<String> = vec!["1 = 1".to_owned()];
        if !filter.sources.is_empty() {
            let names: Vec<&str> = filter.sources.iter().map(|s| s.as_str()).collect();
            conditions.push(format!("f.source IN ({})", sql.bind_list(&names)));
        }
        if !filter.languages.is_empty() {
            conditions.push(format!(
                "f.language IN ({})",
                sql.bind_list(&filter.languages)
            ));
        }
        match filter.sentiment {
            Some(SentimentLabel::Positive) => {
                conditions.push(format!("f.sentiment >= {SENTIMENT_THRESHOLD}"))
            }
            Some(SentimentLabel::Negative) => {
                conditions.push(format!("f.sentiment <= -{SENTIMENT_THRESHOLD}"))
            }
            Some(SentimentLabel::Neutral) => conditions.push(format!(
                "f.sentiment > -{SENTIMENT_THRESHOLD} AND f.sentiment < {SENTIMENT_THRESHOLD}"
            )),
            None => {}
        }
        if let Some(topic) = &filter.topic {
            let topic = sql.bind(topic.as_str());
            conditions.push(match self.backend() {
                Backend::Sqlite => format!(
                    "EXISTS (SELECT 1 FROM json_each(f.topics) t WHERE json_extract(t.value, '$.topic') = {topic})"
                ),
                Backend::Postgres => format!(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(f.topics) t WHERE t->>'topic' = {topic})"
                ),
            });
        }
        if let Some(category) = filter.category {
            conditions.push(format!(
                "({}) = {}",
                item_category(),
                sql.bind(category.as_str())
            ));
        }
        if let Some(customer) = filter.customer {
            conditions.push(format!("f.customer_id = {}", sql.bind(customer.0)));
        }
        if let Some(from) = filter.from {
            conditions.push(format!("f.posted_at >= {}", sql.bind(from)));
        }
        if let Some(to) = filter.to {
            conditions.push(format!("f.posted_at < {}", sql.bind(to)));
        }
        let words = filter
            .search
            .as_deref()
            .map(search_words)
            .unwrap_or_default();
        if !words.is_empty() {
            conditions.push(match self.backend() {
                Backend::Sqlite => {
                    // Each word quoted: an FTS5 string, never an operator.
                    let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                    // `+` keeps SQLite from driving the query by the matches.
                    let id = if dense { "+f.id" } else { "f.id" };
                    format!(
                        "{id} IN (SELECT rowid FROM feedback_search WHERE feedback_search MATCH {})",
                        sql.bind(query.join(" "))
                    )
                }
                Backend::Postgres => format!(
                    "f.search @@ plainto_tsquery('simple'::regconfig, translate({}, '{FOLD_FROM}', '{FOLD_TO}'))",
                    sql.bind(words.join(" "))
                ),
            });
        }
        if let Some(survey) = filter.survey {
            conditions.push(format!("r.survey_id = {}", sql.bind(survey.0)));
        }
        if !filter.stars.is_empty() {
            // Rating::as_stars rounds 1 + 4 × normalized, halves up: s stars
            // are a normalized rating in [(s − 1.5) / 4, (s − 0.5) / 4).
            let ranges: Vec<String> = filter
                .stars
                .iter()
                .map(|s| {
                    let s = f64::from(*s);
                    format!(
                        "(f.rating_normalized >= {} AND f.rating_normalized < {})",
                        sql.bind(Some((s - 1.5) / 4.0)),
                        sql.bind(Some((s - 0.5) / 4.0))
                    )
                })
                .collect();
            conditions.push(format!("({})", ranges.join(" OR ")));
        }
        match filter.handled {
            Some(true) => conditions.push("f.handled_at IS NOT NULL".into()),
            Some(false) => conditions.push("f.handled_at IS NULL".into()),
            None => {}
        }
        match &filter.assignee {
            Some(Some(email)) => {
                conditions.push(format!("f.assignee = {}", sql.bind(email.as_str())))
            }
            Some(None) => conditions.push("f.assignee IS NULL".into()),
            None => {}
        }
        if let Some(tag) = &filter.tag {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM feedback_tags g WHERE g.feedback_id = f.id AND g.tag = {})",
                sql.bind(tag.as_str())
            ));
        }
        for (name, value) in &filter.attributes {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = f.customer_id AND a.name = {} AND a.value = {})",
                sql.bind(name.as_str()),
                sql.bind(value.as_str())
            ));
        }
        conditions
    }

    /// Stored items by (source, source id); keys not stored are absent.
    pub async fn feedback_by_keys(
        &self,
        keys: &[(Source, &str)],
    ) -> Result<HashMap<(Source, String), FeedbackItem>> {
        let mut found = HashMap::new();
        for (sql, values) in key_lookups(self.backend(), keys) {
            let rows: Vec<FeedbackRow> = on_backend!(self, pool => bind_values!(
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false),
                values.iter()
            )
            .fetch_all(pool)
            .await)?;
            for row in rows {
                let item = FeedbackItem::try_from(row)?;
                found.insert(
                    (item.feedback.source, item.feedback.source_id.clone()),
                    item,
                );
            }
        }
        Ok(found)
    }

    /// Everything a customer said, oldest first.
    pub async fn feedback_of(&self, customer: CustomerId) -> Result<Vec<FeedbackItem>> {
        let sql = format!(
            "SELECT {FEEDBACK_COLUMNS} FROM feedback_items WHERE customer_id = $1 ORDER BY posted_at, id"
        );
        let rows: Vec<FeedbackRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(customer.0).fetch_all(pool).await)?;
        rows.into_iter().map(FeedbackItem::try_from).collect()
    }

    /// How many feedback items each source holds, largest first.
    pub async fn feedback_counts_by_source(&self) -> Result<Vec<(Source, u64)>> {
        const SQL: &str = "SELECT source, COUNT(*) FROM feedback_items GROUP BY source ORDER BY COUNT(*) DESC, source";
        let rows: Vec<(String, i64)> =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(s, n)| {
                Ok((
                    s.parse()
                        .map_err(|e| crate::StoreError::corrupt("feedback item", e))?,
                    u64::try_from(n).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// The loyalty category of each of `customers` now (from their NPS
    /// answers and rated reviews, `category_at` deciding), in one read per
    /// 500 customers: the same as `category_signals` one by one.
    pub async fn categories_of(
        &self,
        customers: &std::collections::BTreeSet<CustomerId>,
    ) -> Result<std::collections::BTreeMap<CustomerId, Option<vouch_domain::CategoryAssignment>>>
    {
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut conn = pool.acquire().await?;
            categories_in!(backend, conn, customers).await
        })
    }

    /// `categories_of`, with each customer's latest NPS score beside the
    /// category, from the same one read of their signals (what a CRM is
    /// told about its contacts).
    pub async fn loyalty_of(
        &self,
        customers: &BTreeSet<CustomerId>,
    ) -> Result<BTreeMap<CustomerId, (Option<vouch_domain::CategoryAssignment>, Option<u8>)>> {
        let backend = self.backend();
        let signals = on_backend!(self, pool => {
            let mut conn = pool.acquire().await?;
            signals_in!(backend, conn, customers).await
        })?;
        // The latest answer; of two at the same time, the one written last.
        let latest: BTreeMap<CustomerId, Option<u8>> = signals
            .iter()
            .map(|(customer, list)| {
                let score = list
                    .iter()
                    .filter_map(|s| match s.kind {
                        SignalKind::NpsAnswer { score } => Some((s.at, score)),
                        SignalKind::Review { .. } => None,
                    })
                    .reduce(|a, b| if b.0 >= a.0 { b } else { a })
                    .map(|(_, score)| score);
                (*customer, score)
            })
            .collect();
        Ok(crate::events::categories_from(signals)
            .into_iter()
            .map(|(customer, category)| (customer, (category, latest[&customer])))
            .collect())
    }

    /// The signals that place a customer in a loyalty category: their NPS
    /// answers and their rated reviews on public platforms, oldest first.
    pub async fn category_signals(&self, customer: CustomerId) -> Result<Vec<CategorySignal>> {
        let mut signals: Vec<CategorySignal> = self
            .responses_of(customer)
            .await?
            .into_iter()
            .filter(|r| r.answer.score.kind() == vouch_domain::SurveyKind::Nps)
            .map(|r| CategorySignal {
                at: r.answer.answered_at,
                kind: SignalKind::NpsAnswer {
                    score: r.answer.score.value(),
                },
            })
            .collect();
        signals.extend(
            self.feedback_of(customer)
                .await?
                .into_iter()
                .filter_map(|item| {
                    let f = item.feedback;
                    let rating = f.rating.filter(|_| f.source.is_review_platform())?;
                    Some(CategorySignal {
                        at: f.posted_at,
                        kind: SignalKind::Review { rating },
                    })
                }),
        );
        signals.sort_by_key(|s| s.at);
        Ok(signals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_fold_with_the_migrations_pair_and_words_are_plain() {
        let migration = include_str!("../migrations/postgres/0028_inbox.sql");
        assert!(migration.contains(&format!("'{FOLD_FROM}'")));
        assert!(migration.contains(&format!("'{FOLD_TO}'")));
        assert_eq!(FOLD_FROM.chars().count(), FOLD_TO.chars().count());
        assert_eq!(
            search_words("  Factură* \"NEAR\"(x) & !y | 2024 "),
            ["factură", "near", "x", "y", "2024"]
        );
        assert_eq!(search_words(&"a ".repeat(40)).len(), 16);
    }
}
