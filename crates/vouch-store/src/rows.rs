//! Rows as the database returns them, and their conversion into domain
//! types. A stored value that no longer parses is reported as `Corrupt`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use vouch_domain::{
    Answer, Author, Customer, CustomerId, CustomerProfile, Email, Engagement, Feedback, FeedbackId,
    FeedbackItem, Locale, Rating, Response, ResponseId, Score, Survey, SurveyId, TopicMention,
};

use crate::{Result, StoreError};

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub locale: String,
    pub created_at: DateTime<Utc>,
    pub churned_at: Option<DateTime<Utc>>,
    pub referred_by: Option<i64>,
}

pub(crate) const CUSTOMER_COLUMNS: &str =
    "id, external_id, email, name, locale, created_at, churned_at, referred_by";

impl CustomerRow {
    pub fn into_customer(
        self,
        attributes: BTreeMap<String, String>,
        handles: BTreeMap<String, String>,
    ) -> Result<Customer> {
        let corrupt = |e: vouch_domain::DomainError| {
            StoreError::corrupt("customer", format!("id {}: {e}", self.id))
        };
        Ok(Customer {
            id: CustomerId(self.id),
            profile: CustomerProfile {
                external_id: self.external_id.clone(),
                email: self
                    .email
                    .as_deref()
                    .map(Email::parse)
                    .transpose()
                    .map_err(corrupt)?,
                name: self.name.clone(),
                locale: Locale::parse(&self.locale).map_err(corrupt)?,
                attributes,
                handles,
                created_at: self.created_at,
                churned_at: self.churned_at,
                referred_by: self.referred_by.map(CustomerId),
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SurveyRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<SurveyRow> for Survey {
    type Error = StoreError;
    fn try_from(row: SurveyRow) -> Result<Survey> {
        Ok(Survey {
            id: SurveyId(row.id),
            kind: row
                .kind
                .parse()
                .map_err(|e| StoreError::corrupt("survey", e))?,
            name: row.name,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ResponseRow {
    pub id: i64,
    pub survey_id: i64,
    pub kind: String,
    pub customer_id: Option<i64>,
    pub score: i64,
    pub comment: Option<String>,
    pub channel: String,
    pub locale: Option<String>,
    pub answered_at: DateTime<Utc>,
    pub metadata: Json<BTreeMap<String, String>>,
}

pub(crate) const RESPONSE_COLUMNS: &str = "r.id, r.survey_id, s.kind, r.customer_id, r.score, r.comment, r.channel, r.locale, r.answered_at, r.metadata";

impl TryFrom<ResponseRow> for Response {
    type Error = StoreError;
    fn try_from(row: ResponseRow) -> Result<Response> {
        let corrupt = |e: vouch_domain::DomainError| {
            StoreError::corrupt("response", format!("id {}: {e}", row.id))
        };
        let kind = row.kind.parse().map_err(corrupt)?;
        Ok(Response {
            id: ResponseId(row.id),
            answer: Answer {
                survey_id: SurveyId(row.survey_id),
                customer_id: row.customer_id.map(CustomerId),
                score: Score::new(kind, row.score).map_err(corrupt)?,
                comment: row.comment,
                channel: row.channel.parse().map_err(corrupt)?,
                locale: row
                    .locale
                    .as_deref()
                    .map(Locale::parse)
                    .transpose()
                    .map_err(corrupt)?,
                answered_at: row.answered_at,
                metadata: row.metadata.0,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct FeedbackRow {
    pub id: i64,
    pub source: String,
    pub source_id: String,
    pub customer_id: Option<i64>,
    pub author_name: Option<String>,
    pub author_handle: Option<String>,
    pub rating_value: Option<f64>,
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
    pub title: Option<String>,
    pub body: String,
    pub language: Option<String>,
    pub url: Option<String>,
    pub posted_at: DateTime<Utc>,
    pub likes: i64,
    pub shares: i64,
    pub comments: i64,
    pub sentiment: Option<f64>,
    pub topics: Json<Vec<TopicMention>>,
}

pub(crate) const FEEDBACK_COLUMNS: &str = "id, source, source_id, customer_id, author_name, author_handle, rating_value, rating_min, rating_max, title, body, language, url, posted_at, likes, shares, comments, sentiment, topics";

impl TryFrom<FeedbackRow> for FeedbackItem {
    type Error = StoreError;
    fn try_from(row: FeedbackRow) -> Result<FeedbackItem> {
        let corrupt = |e: vouch_domain::DomainError| {
            StoreError::corrupt("feedback item", format!("id {}: {e}", row.id))
        };
        let rating = match (row.rating_value, row.rating_min, row.rating_max) {
            (Some(v), Some(min), Some(max)) => Some(Rating::new(v, min, max).map_err(corrupt)?),
            _ => None,
        };
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(FeedbackItem {
            id: FeedbackId(row.id),
            feedback: Feedback {
                source: row.source.parse().map_err(corrupt)?,
                source_id: row.source_id,
                customer_id: row.customer_id.map(CustomerId),
                author: Author {
                    name: row.author_name,
                    handle: row.author_handle,
                    ..Author::default()
                },
                rating,
                title: row.title,
                body: row.body,
                language: row.language,
                url: row.url,
                posted_at: row.posted_at,
                engagement: Engagement {
                    likes: count(row.likes),
                    shares: count(row.shares),
                    comments: count(row.comments),
                },
                sentiment: row.sentiment,
                topics: row.topics.0,
            },
        })
    }
}
