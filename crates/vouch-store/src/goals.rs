//! Goals' rows: what was promised, the baseline measured when it was set,
//! and the check-ins since. The rules that give a status live in
//! vouch-domain::goals; this stores what they decided.

use chrono::{DateTime, NaiveDate, Utc};
use vouch_domain::DomainEvent;

use crate::events::append_events;
use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store};

/// A goal as stored; its names (`kpi`, `direction`…) are the domain's.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredGoal {
    pub id: i64,
    pub kpi: String,
    pub platform: Option<String>,
    /// JSON.
    pub segment: String,
    pub direction: String,
    pub baseline: f64,
    pub baseline_low: f64,
    pub baseline_high: f64,
    pub target: f64,
    pub start_on: NaiveDate,
    pub deadline: NaiveDate,
    pub owner: String,
    pub cadence: String,
    pub specific: String,
    pub relevant: String,
    pub status: String,
    pub next_checkin_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// One check-in; no value when there was nothing to measure.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredCheckin {
    pub goal_id: i64,
    pub day: NaiveDate,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub status: String,
}

const COLUMNS: &str = "id, kpi, platform, segment, direction, baseline, baseline_low, \
    baseline_high, target, start_on, deadline, owner, cadence, specific, relevant, status, \
    next_checkin_on, created_at";

impl Store {
    /// Stores a new goal (its `id` is ignored) with its baseline as its
    /// first check-in, on its start day; returns its id.
    pub async fn add_goal(&self, goal: &StoredGoal) -> Result<i64> {
        const SQL: &str = "INSERT INTO goals (kpi, platform, segment, direction, baseline, \
            baseline_low, baseline_high, target, start_on, deadline, owner, cadence, specific, \
            relevant, status, next_checkin_on, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
            RETURNING id";
        const CHECKIN: &str = "INSERT INTO goal_checkins (goal_id, day, value, ci_low, ci_high, status) \
            VALUES ($1, $2, $3, $4, $5, $6)";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (id,): (i64,) = sqlx::query_as(SQL)
                .bind(&goal.kpi).bind(&goal.platform).bind(&goal.segment).bind(&goal.direction)
                .bind(goal.baseline).bind(goal.baseline_low).bind(goal.baseline_high)
                .bind(goal.target).bind(goal.start_on).bind(goal.deadline).bind(&goal.owner)
                .bind(&goal.cadence).bind(&goal.specific).bind(&goal.relevant).bind(&goal.status)
                .bind(goal.next_checkin_on).bind(goal.created_at)
                .fetch_one(&mut *tx).await?;
            sqlx::query(CHECKIN)
                .bind(id).bind(goal.start_on).bind(goal.baseline).bind(goal.baseline_low)
                .bind(goal.baseline_high).bind(&goal.status)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Every goal, the nearest deadline first.
    pub async fn goals(&self) -> Result<Vec<StoredGoal>> {
        let sql = format!("SELECT {COLUMNS} FROM goals ORDER BY deadline, id");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await)?,
        )
    }

    pub async fn goal(&self, id: i64) -> Result<Option<StoredGoal>> {
        let sql = format!("SELECT {COLUMNS} FROM goals WHERE id = $1");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The goals whose next check-in is on or before `day`, still open
    /// (neither achieved nor missed).
    pub async fn goals_due(&self, day: NaiveDate) -> Result<Vec<StoredGoal>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM goals WHERE next_checkin_on <= $1 \
             AND status NOT IN ('achieved', 'missed') ORDER BY id"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(day).fetch_all(pool).await)?,
        )
    }

    /// A goal's check-ins, oldest first.
    pub async fn goal_checkins(&self, goal_id: i64) -> Result<Vec<StoredCheckin>> {
        const SQL: &str = "SELECT goal_id, day, value, ci_low, ci_high, status FROM goal_checkins \
            WHERE goal_id = $1 ORDER BY day";
        Ok(on_backend!(self, pool => sqlx::query_as(SQL).bind(goal_id).fetch_all(pool).await)?)
    }

    /// Records a check-in, moves the goal's status and next check-in, and
    /// appends `event` to the outbox, all in one transaction. A second
    /// check-in on the same day changes nothing and answers false, so a
    /// retried job neither measures twice nor repeats the event.
    pub async fn record_checkin(
        &self,
        checkin: &StoredCheckin,
        next_checkin_on: NaiveDate,
        event: Option<DomainEvent>,
    ) -> Result<bool> {
        const INSERT: &str = "INSERT INTO goal_checkins (goal_id, day, value, ci_low, ci_high, status) \
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (goal_id, day) DO NOTHING RETURNING goal_id";
        const UPDATE: &str = "UPDATE goals SET status = $2, next_checkin_on = $3 WHERE id = $1";
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted: Option<(i64,)> = sqlx::query_as(INSERT)
                .bind(checkin.goal_id).bind(checkin.day).bind(checkin.value).bind(checkin.ci_low)
                .bind(checkin.ci_high).bind(&checkin.status)
                .fetch_optional(&mut *tx).await?;
            if inserted.is_some() {
                sqlx::query(UPDATE)
                    .bind(checkin.goal_id).bind(&checkin.status).bind(next_checkin_on)
                    .execute(&mut *tx).await?;
                let events: Vec<DomainEvent> = event.into_iter().collect();
                append_events!(backend, tx, &events).await?;
            }
            tx.commit().await?;
            Ok(inserted.is_some())
        })
    }
}
