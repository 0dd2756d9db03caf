//! What the advocate-propensity score reads about customers, gathered in
//! one pass per signal (the likely-advocates list and the training read
//! every customer; a profile reads one).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use vouch_domain::propensity::PropensitySignals;
use vouch_domain::{CustomerId, Source};

use crate::flows::source_list;
use crate::store::on_backend;
use crate::{Result, Store};

/// One customer's signals, and whether they are an active advocate now (an
/// active member with at least one earning action).
#[derive(Debug, Clone, PartialEq)]
pub struct PropensityRow {
    pub customer: CustomerId,
    pub signals: PropensitySignals,
    pub member: bool,
    pub active_advocate: bool,
}

fn number(text: &str) -> Option<f64> {
    text.trim()
        .replace([',', ' '], "")
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite())
}

impl Store {
    /// The propensity signals of every customer (or of `only`), as of `now`.
    pub async fn propensity_rows(
        &self,
        only: Option<CustomerId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PropensityRow>> {
        let id = only.map(|c| c.0);
        let mut rows: BTreeMap<i64, PropensityRow> = BTreeMap::new();
        let customers: Vec<(i64,)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT id FROM customers WHERE ($1 IS NULL OR id = $1) ORDER BY id")
            .bind(id).fetch_all(pool).await)?;
        for (c,) in customers {
            rows.insert(
                c,
                PropensityRow {
                    customer: CustomerId(c),
                    signals: PropensitySignals::default(),
                    member: false,
                    active_advocate: false,
                },
            );
        }
        let nps: Vec<(i64, i64, DateTime<Utc>)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT r.customer_id, CAST(r.score AS BIGINT), r.answered_at FROM responses r \
             JOIN surveys s ON s.id = r.survey_id \
             WHERE s.kind = 'nps' AND r.customer_id IS NOT NULL AND ($1 IS NULL OR r.customer_id = $1) \
             ORDER BY r.customer_id, r.answered_at")
            .bind(id).fetch_all(pool).await)?;
        for (c, score, at) in nps {
            if let Some(row) = rows.get_mut(&c) {
                let days = (now - at).num_seconds() as f64 / 86_400.0;
                row.signals.latest_nps = Some((u8::try_from(score).unwrap_or(0), days));
            }
        }
        let reviews_sql = format!(
            "SELECT customer_id, COUNT(*), CAST(AVG(rating_normalized) AS DOUBLE PRECISION) FROM feedback_items \
             WHERE customer_id IS NOT NULL AND ($1 IS NULL OR customer_id = $1) AND source IN ({}) \
             AND rating_normalized IS NOT NULL GROUP BY customer_id",
            source_list(Source::is_review_platform)
        );
        let reviews: Vec<(i64, i64, f64)> = on_backend!(self, pool => sqlx::query_as(
            sqlx::AssertSqlSafe(reviews_sql.as_str())).bind(id).fetch_all(pool).await)?;
        for (c, n, mean) in reviews {
            if let Some(row) = rows.get_mut(&c) {
                row.signals.reviews = u32::try_from(n).unwrap_or(u32::MAX);
                row.signals.mean_stars = Some(1.0 + 4.0 * mean);
            }
        }
        let social_sql = format!(
            "SELECT customer_id, CAST(SUM(likes + shares + comments) AS BIGINT) FROM feedback_items \
             WHERE customer_id IS NOT NULL AND ($1 IS NULL OR customer_id = $1) AND source IN ({}) \
             GROUP BY customer_id",
            source_list(Source::is_social)
        );
        let social: Vec<(i64, i64)> = on_backend!(self, pool => sqlx::query_as(
            sqlx::AssertSqlSafe(social_sql.as_str())).bind(id).fetch_all(pool).await)?;
        for (c, engagement) in social {
            if let Some(row) = rows.get_mut(&c) {
                row.signals.social_engagement = u64::try_from(engagement).unwrap_or(0);
            }
        }
        let members: Vec<(i64, String, i64)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT m.customer_id, m.status, COUNT(l.id) FROM program_members m \
             LEFT JOIN points_ledger l ON l.member_id = m.id AND l.kind = 'earn' \
             WHERE m.customer_id IS NOT NULL AND ($1 IS NULL OR m.customer_id = $1) \
             GROUP BY m.customer_id, m.status")
            .bind(id).fetch_all(pool).await)?;
        for (c, status, actions) in members {
            if let Some(row) = rows.get_mut(&c) {
                row.member = true;
                row.signals.program_actions = u32::try_from(actions).unwrap_or(0);
                row.active_advocate = status == "active" && actions > 0;
            }
        }
        let referrals: Vec<(i64, i64)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT referred_by, COUNT(*) FROM customers \
             WHERE referred_by IS NOT NULL AND ($1 IS NULL OR referred_by = $1) GROUP BY referred_by")
            .bind(id).fetch_all(pool).await)?;
        for (c, n) in referrals {
            if let Some(row) = rows.get_mut(&c) {
                row.signals.referrals = u32::try_from(n).unwrap_or(0);
            }
        }
        let purchases: Vec<(i64, String, String)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT customer_id, name, value FROM customer_attributes \
             WHERE name IN ('orders', 'revenue') AND ($1 IS NULL OR customer_id = $1)")
            .bind(id).fetch_all(pool).await)?;
        for (c, name, value) in purchases {
            if let Some(row) = rows.get_mut(&c) {
                match name.as_str() {
                    "orders" => row.signals.orders = number(&value),
                    _ => row.signals.revenue = number(&value),
                }
            }
        }
        Ok(rows.into_values().collect())
    }
}
