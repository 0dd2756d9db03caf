use vouch_domain::{
    CategorySignal, CustomerId, Feedback, FeedbackId, FeedbackItem, Rating, SignalKind, Source,
};

use crate::batch::Value;
use crate::rows::{FEEDBACK_COLUMNS, FeedbackRow};
use crate::store::{insert_rows, on_backend};
use crate::{Result, Store};

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
        f.source_id.clone().into(),
        f.customer_id.map(|c| c.0).into(),
        f.author.name.clone().into(),
        f.author.handle.clone().into(),
        f.rating.map(Rating::value).into(),
        f.rating.map(Rating::min).into(),
        f.rating.map(Rating::max).into(),
        f.rating.map(Rating::normalized).into(),
        f.title.clone().into(),
        f.body.clone().into(),
        f.language.clone().into(),
        f.url.clone().into(),
        f.posted_at.into(),
        count(f.engagement.likes),
        count(f.engagement.shares),
        count(f.engagement.comments),
        f.sentiment.into(),
        Value::Json(serde_json::to_value(&f.topics).unwrap_or_default()),
    ]
}

impl Store {
    /// Adds new feedback items in one transaction; ids in the order given.
    /// A (source, source id) that already exists is a unique-key error.
    pub async fn insert_feedback(&self, items: &[Feedback]) -> Result<Vec<FeedbackId>> {
        let rows: Vec<Vec<Value>> = items.iter().map(feedback_row).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin().await?;
            let ids = insert_rows!(self.backend(), tx, "feedback_items", FEEDBACK_INSERT_COLUMNS, &rows).await?;
            tx.commit().await?;
            Ok(ids.into_iter().map(FeedbackId).collect())
        })
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
