//! Counts about customers and public feedback over a period, for KPIs and
//! transitions.

use chrono::{DateTime, Utc};
use vouch_domain::{CategorySignal, CustomerId, Rating, SignalKind, Source};

use crate::store::on_backend;
use crate::{Result, Store, StoreError};

/// Customers at the edges of a period `[from, to)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerFlow {
    /// Created before `from` and not churned by then.
    pub present_at_start: u64,
    /// Of those, not churned before `to`.
    pub retained: u64,
    /// Created in `[from, to)`.
    pub new: u64,
    /// Of those, brought in by a referral.
    pub new_referred: u64,
    /// Created before `to`: everyone who could have a category at the end.
    pub present_at_end: u64,
}

/// Reviews on one platform over a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewStats {
    pub source: Source,
    pub reviews: u64,
    /// Mean rating on a 1–5 star scale (other scales mapped linearly).
    pub mean_stars: f64,
    /// Of them, marked handled in the inbox (answered).
    pub handled: u64,
}

/// Mentions on one social network over a period, with their engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocialStats {
    pub source: Source,
    pub mentions: u64,
    pub likes: u64,
    pub shares: u64,
    pub comments: u64,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn source_list(filter: fn(Source) -> bool) -> String {
    let names: Vec<String> = Source::ALL
        .iter()
        .filter(|s| filter(**s))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    names.join(", ")
}

impl Store {
    /// Every NPS answer of `[from, to)` with an analysed comment: its score
    /// and the topics the comment mentions (the input of topic drivers).
    pub async fn commented_nps_answers(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<vouch_domain::analytics::CommentedAnswer>> {
        const SQL: &str = "SELECT r.score, f.topics FROM responses r JOIN surveys s ON s.id = r.survey_id \
            JOIN feedback_items f ON f.response_id = r.id \
            WHERE s.kind = 'nps' AND r.answered_at >= $1 AND r.answered_at < $2 AND f.sentiment IS NOT NULL";
        type Row = (i64, sqlx::types::Json<Vec<vouch_domain::TopicMention>>);
        let rows: Vec<Row> = on_backend!(self, pool => sqlx::query_as(SQL).bind(from).bind(to).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(score, topics)| {
                Ok(vouch_domain::analytics::CommentedAnswer {
                    score: u8::try_from(score)
                        .map_err(|_| StoreError::corrupt("response", format!("score {score}")))?,
                    topics: topics.0,
                })
            })
            .collect()
    }

    /// Invitations sent in `[from, to)`: how many, and how many of those
    /// were answered (by now).
    pub async fn invitations_answered(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(u64, u64)> {
        const SQL: &str = "SELECT COUNT(*), COUNT(answered_at) FROM invitations WHERE sent_at >= $1 AND sent_at < $2";
        let (sent, answered): (i64, i64) = on_backend!(self, pool => sqlx::query_as(SQL).bind(from).bind(to).fetch_one(pool).await)?;
        Ok((count(answered), count(sent)))
    }

    /// Tasks not closed now, and how many of them are overdue.
    pub async fn open_task_counts(&self) -> Result<(u64, u64)> {
        const SQL: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN overdue THEN 1 ELSE 0 END), 0) FROM tasks WHERE state <> 'closed'";
        let (open, overdue): (i64, i64) =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_one(pool).await)?;
        Ok((count(open), count(overdue)))
    }

    pub async fn customer_flow(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<CustomerFlow> {
        const SQL: &str = "SELECT \
            CAST(COALESCE(SUM(CASE WHEN created_at < $1 AND (churned_at IS NULL OR churned_at >= $1) THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN created_at < $1 AND (churned_at IS NULL OR churned_at >= $2) THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN created_at >= $1 AND created_at < $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN created_at >= $1 AND created_at < $2 AND referred_by IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
            CAST(COALESCE(SUM(CASE WHEN created_at < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
            FROM customers";
        let (a, b, c, d, e): (i64, i64, i64, i64, i64) = on_backend!(self, pool => sqlx::query_as(SQL).bind(from).bind(to).fetch_one(pool).await)?;
        Ok(CustomerFlow {
            present_at_start: count(a),
            retained: count(b),
            new: count(c),
            new_referred: count(d),
            present_at_end: count(e),
        })
    }

    /// Review volume and mean stars per review platform, posted in `[from, to)`.
    pub async fn review_stats(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ReviewStats>> {
        let sql = format!(
            "SELECT source, COUNT(*), CAST(AVG(rating_normalized) AS DOUBLE PRECISION), COUNT(handled_at) FROM feedback_items \
             WHERE source IN ({}) AND rating_normalized IS NOT NULL AND posted_at >= $1 AND posted_at < $2 \
             GROUP BY source ORDER BY source",
            source_list(Source::is_review_platform)
        );
        let rows: Vec<(String, i64, f64, i64)> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(from).bind(to).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(source, n, mean, handled)| {
                Ok(ReviewStats {
                    source: source
                        .parse()
                        .map_err(|e| StoreError::corrupt("feedback item", e))?,
                    reviews: count(n),
                    mean_stars: 1.0 + 4.0 * mean,
                    handled: count(handled),
                })
            })
            .collect()
    }

    /// Mentions and engagement per social network, posted in `[from, to)`.
    pub async fn social_stats(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SocialStats>> {
        let sql = format!(
            "SELECT source, COUNT(*), CAST(SUM(likes) AS BIGINT), CAST(SUM(shares) AS BIGINT), CAST(SUM(comments) AS BIGINT) \
             FROM feedback_items WHERE source IN ({}) AND posted_at >= $1 AND posted_at < $2 GROUP BY source ORDER BY source",
            source_list(Source::is_social)
        );
        let rows: Vec<(String, i64, i64, i64, i64)> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(from).bind(to).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(source, n, likes, shares, comments)| {
                Ok(SocialStats {
                    source: source
                        .parse()
                        .map_err(|e| StoreError::corrupt("feedback item", e))?,
                    mentions: count(n),
                    likes: count(likes),
                    shares: count(shares),
                    comments: count(comments),
                })
            })
            .collect()
    }

    /// Every customer's category signals dated in `(after, until]`, ordered
    /// by customer then time: NPS answers and rated public reviews.
    pub async fn all_category_signals(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(CustomerId, CategorySignal)>> {
        const ANSWERS: &str = "SELECT r.customer_id, r.answered_at, r.score FROM responses r JOIN surveys s ON s.id = r.survey_id \
            WHERE s.kind = 'nps' AND r.customer_id IS NOT NULL AND r.answered_at > $1 AND r.answered_at <= $2";
        let reviews = format!(
            "SELECT customer_id, posted_at, rating_value, rating_min, rating_max FROM feedback_items \
             WHERE customer_id IS NOT NULL AND source IN ({}) AND rating_value IS NOT NULL AND posted_at > $1 AND posted_at <= $2",
            source_list(Source::is_review_platform)
        );
        let answers: Vec<(i64, DateTime<Utc>, i64)> = on_backend!(self, pool => sqlx::query_as(ANSWERS).bind(after).bind(until).fetch_all(pool).await)?;
        let rated: Vec<(i64, DateTime<Utc>, f64, f64, f64)> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(reviews.as_str())).bind(after).bind(until).fetch_all(pool).await)?;
        let mut signals: Vec<(CustomerId, CategorySignal)> =
            Vec::with_capacity(answers.len() + rated.len());
        for (customer, at, score) in answers {
            let score = u8::try_from(score)
                .map_err(|_| StoreError::corrupt("response", format!("score {score}")))?;
            signals.push((
                CustomerId(customer),
                CategorySignal {
                    at,
                    kind: SignalKind::NpsAnswer { score },
                },
            ));
        }
        for (customer, at, value, min, max) in rated {
            let rating = Rating::new(value, min, max)
                .map_err(|e| StoreError::corrupt("feedback item", e))?;
            signals.push((
                CustomerId(customer),
                CategorySignal {
                    at,
                    kind: SignalKind::Review { rating },
                },
            ));
        }
        signals.sort_by_key(|(customer, signal)| (*customer, signal.at));
        Ok(signals)
    }
}
