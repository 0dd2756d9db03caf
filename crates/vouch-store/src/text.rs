//! Storage for text analytics: learnt models, the taxonomy, and the
//! analysis slots of feedback items.

use chrono::{DateTime, Utc};
use vouch_domain::{FeedbackId, TopicMention};

use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store, StoreError};

/// A feedback item's text, as re-tagging reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackText {
    pub id: FeedbackId,
    pub title: Option<String>,
    pub body: String,
    pub language: Option<String>,
    /// The rating mapped to 0–1, if the item has one.
    pub rating: Option<f64>,
    pub posted_at: DateTime<Utc>,
}

/// What text analytics found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTags {
    pub language: Option<String>,
    pub sentiment: f64,
    pub topics: Vec<TopicMention>,
}

/// The tags found in one stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackAnalysis {
    pub id: FeedbackId,
    pub tags: TextTags,
}

type FeedbackTextRow = (
    i64,
    Option<String>,
    String,
    Option<String>,
    Option<f64>,
    DateTime<Utc>,
);

fn feedback_text((id, title, body, language, rating, posted_at): FeedbackTextRow) -> FeedbackText {
    FeedbackText {
        id: FeedbackId(id),
        title,
        body,
        language,
        rating,
        posted_at,
    }
}

impl Store {
    /// Stores (or replaces) the sentiment model of a language.
    pub async fn save_sentiment_model(
        &self,
        language: &str,
        model_json: &str,
        trained_on: u64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO sentiment_models (language, model, trained_on, trained_at) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (language) DO UPDATE SET model = excluded.model, trained_on = excluded.trained_on, trained_at = excluded.trained_at";
        let trained_on = i64::try_from(trained_on).unwrap_or(i64::MAX);
        on_backend!(self, pool => sqlx::query(SQL).bind(language).bind(model_json).bind(trained_on).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Removes a language's model: its texts are scored by the lexicon alone.
    pub async fn remove_sentiment_model(&self, language: &str) -> Result<bool> {
        const SQL: &str = "DELETE FROM sentiment_models WHERE language = $1";
        let removed = on_backend!(self, pool => sqlx::query(SQL).bind(language).execute(pool).await.map(|d| d.rows_affected()))?;
        Ok(removed > 0)
    }

    /// Every stored model: (language, JSON).
    pub async fn sentiment_models(&self) -> Result<Vec<(String, String)>> {
        const SQL: &str = "SELECT language, model FROM sentiment_models ORDER BY language";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Stores the company's taxonomy (TOML); the caller has validated it.
    pub async fn save_taxonomy(&self, definition: &str, at: DateTime<Utc>) -> Result<()> {
        const SQL: &str = "INSERT INTO taxonomy (id, definition, updated_at) VALUES (1, $1, $2) \
            ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at";
        on_backend!(self, pool => sqlx::query(SQL).bind(definition).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The company's taxonomy, if it has stored one.
    pub async fn taxonomy(&self) -> Result<Option<String>> {
        const SQL: &str = "SELECT definition FROM taxonomy WHERE id = 1";
        Ok(on_backend!(self, pool => sqlx::query_scalar(SQL).fetch_optional(pool).await)?)
    }

    /// A page of feedback texts by id, after `after` (keyset pagination).
    pub async fn feedback_texts(
        &self,
        after: Option<FeedbackId>,
        limit: u32,
    ) -> Result<Vec<FeedbackText>> {
        const SQL: &str = "SELECT id, title, body, language, rating_normalized, posted_at FROM feedback_items \
            WHERE id > $1 ORDER BY id LIMIT $2";
        let rows: Vec<FeedbackTextRow> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(after.map_or(0, |a| a.0)).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(feedback_text).collect())
    }

    /// A page of feedback not analysed yet (sentiment unset), by id after
    /// `after`; star-only reviews (no words) are never analysed.
    pub async fn untagged_feedback_texts(
        &self,
        after: Option<FeedbackId>,
        limit: u32,
    ) -> Result<Vec<FeedbackText>> {
        const SQL: &str = "SELECT id, title, body, language, rating_normalized, posted_at FROM feedback_items \
            WHERE sentiment IS NULL AND (body <> '' OR title IS NOT NULL) AND id > $1 ORDER BY id LIMIT $2";
        let rows: Vec<FeedbackTextRow> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(after.map_or(0, |a| a.0)).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(feedback_text).collect())
    }

    /// Feedback posted at or after `since`, newest first, at most `limit`.
    pub async fn recent_feedback_texts(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FeedbackText>> {
        const SQL: &str = "SELECT id, title, body, language, rating_normalized, posted_at FROM feedback_items \
            WHERE posted_at >= $1 ORDER BY posted_at DESC, id DESC LIMIT $2";
        let rows: Vec<FeedbackTextRow> = on_backend!(self, pool =>
            sqlx::query_as(SQL).bind(since).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(feedback_text).collect())
    }

    /// Feedback with a rating, for learning sentiment from it.
    pub async fn rated_feedback_texts(&self) -> Result<Vec<FeedbackText>> {
        const SQL: &str = "SELECT id, title, body, language, rating_normalized, posted_at FROM feedback_items \
            WHERE rating_normalized IS NOT NULL ORDER BY id";
        let rows: Vec<FeedbackTextRow> =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(feedback_text).collect())
    }

    /// Writes language, sentiment and topics of many items in one transaction.
    pub async fn save_feedback_analyses(&self, analyses: &[FeedbackAnalysis]) -> Result<()> {
        const SQL: &str =
            "UPDATE feedback_items SET language = $1, sentiment = $2, topics = $3 WHERE id = $4";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for a in analyses {
                let topics = sqlx::types::Json(serde_json::to_value(&a.tags.topics).unwrap_or_default());
                sqlx::query(SQL).bind(a.tags.language.as_deref()).bind(a.tags.sentiment).bind(topics).bind(a.id.0).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Changes whenever the taxonomy or a sentiment model is saved: what a
    /// cached text analyzer is checked against.
    pub async fn text_version(&self) -> Result<String> {
        const SQL: &str = "SELECT CAST((SELECT updated_at FROM taxonomy) AS TEXT), \
            CAST((SELECT MAX(trained_at) FROM sentiment_models) AS TEXT), (SELECT COUNT(*) FROM sentiment_models)";
        let (taxonomy, models, count): (Option<String>, Option<String>, i64) =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_one(pool).await)?;
        Ok(format!(
            "{}|{}|{count}",
            taxonomy.unwrap_or_default(),
            models.unwrap_or_default()
        ))
    }

    pub async fn count_feedback(&self) -> Result<u64> {
        let n: i64 = on_backend!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM feedback_items").fetch_one(pool).await)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
