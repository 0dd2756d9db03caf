//! The durable job queue and webhook subscriptions.
//!
//! A job is claimed by one worker at a time with a lease: on PostgreSQL
//! through `FOR UPDATE SKIP LOCKED`, so several server processes share the
//! queue without taking a job twice; on SQLite through the database's single
//! writer (and only one server process may use a SQLite file). A worker that
//! dies leaves its job `running` until the lease ends; then it is claimed again.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value as Json;
use sqlx::types::Json as SqlJson;
use vouch_domain::{EventKind, JobKind, JobState};

use crate::batch::Value;
use crate::sealed::WEBHOOK_SECRET;
use crate::store::{BeginWrite, execute_inserts, on_backend};
use crate::{Backend, Result, Store, StoreError};

/// A job as a worker or `vouch jobs list` sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub payload: Json,
    pub state: JobState,
    /// Attempts started so far, the current one included.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What the job is for; `vouch jobs cancel KEY` cancels it while queued.
    pub dedupe_key: Option<String>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    payload: SqlJson<Json>,
    state: String,
    attempts: i32,
    max_attempts: i32,
    run_at: DateTime<Utc>,
    locked_by: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    dedupe_key: Option<String>,
}

const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, max_attempts, run_at, locked_by, last_error, created_at, finished_at, dedupe_key";

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Job> {
        Ok(Job {
            state: row
                .state
                .parse()
                .map_err(|e| StoreError::corrupt("job", format!("id {}: {e}", row.id)))?,
            kind: row
                .kind
                .parse()
                .map_err(|e| StoreError::corrupt("job", format!("id {}: {e}", row.id)))?,
            id: row.id,
            payload: row.payload.0,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            locked_by: row.locked_by,
            last_error: row.last_error,
            created_at: row.created_at,
            finished_at: row.finished_at,
            dedupe_key: row.dedupe_key,
        })
    }
}

pub(crate) const JOB_INSERT_COLUMNS: &[&str] = &[
    "kind",
    "payload",
    "state",
    "max_attempts",
    "run_at",
    "created_at",
    "dedupe_key",
];

/// The insert suffix that skips a job whose dedupe key is already pending
/// (the partial unique index `jobs_pending_by_key`).
pub(crate) const SKIP_PENDING_DUPLICATES: &str = "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running') DO NOTHING";

/// A new job's row, queued at `now`.
pub(crate) fn job_row(job: &NewJob, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        job.kind.as_str().into(),
        Value::json(&job.payload),
        "queued".into(),
        i64::from(job.max_attempts).into(),
        job.run_at.into(),
        now.into(),
        job.dedupe_key.as_deref().into(),
    ]
}

/// A job to add to the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub payload: Json,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    /// What the job is for (`webhook:3:evt_…`): while one job with a key is
    /// queued or running, another with the same key is not added.
    pub dedupe_key: Option<String>,
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The HMAC-SHA256 key that signs each delivery.
    #[serde(skip)]
    pub secret: String,
    pub events: Vec<EventKind>,
    pub created_at: DateTime<Utc>,
}

/// One attempt to deliver an event to a webhook.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Delivery {
    pub webhook_id: i64,
    pub job_id: i64,
    pub event: String,
    pub attempt: i32,
    /// The receiver's HTTP status; none when it could not be reached.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub delivered_at: DateTime<Utc>,
}

impl Store {
    /// Adds jobs to the queue in one transaction.
    pub async fn enqueue_jobs(&self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<()> {
        let rows: Vec<Vec<Value>> = jobs.iter().map(|job| job_row(job, now)).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            execute_inserts!(self.backend(), tx, "jobs", JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, &rows).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Cancels the queued job with `dedupe_key` (a running one finishes).
    /// False when none was queued.
    pub async fn cancel_job(&self, dedupe_key: &str, now: DateTime<Utc>) -> Result<bool> {
        const SQL: &str = "UPDATE jobs SET state = 'dead', finished_at = $1, last_error = 'cancelled' \
            WHERE dedupe_key = $2 AND state = 'queued'";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(now).bind(dedupe_key).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Claims the job due first, for `worker`, until `now + lease`: a queued
    /// job whose time has come, or a running one whose worker's lease ended.
    /// Counts the attempt. `None` when nothing is due.
    pub async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Job>> {
        self.claim_job_of(worker, &[], now, lease).await
    }

    /// `claim_job`, of the `kinds` named only (all when none are).
    pub async fn claim_job_of(
        &self,
        worker: &str,
        kinds: &[JobKind],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Job>> {
        // The kinds are the enum's own names, never input.
        let only = if kinds.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
            format!(" AND kind IN ({})", names.join(", "))
        };
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // One writer at a time: the UPDATE claims atomically.
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2 \
             WHERE id = (SELECT id FROM jobs WHERE ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND locked_until < $3)){only} \
             ORDER BY run_at, id LIMIT 1 {lock}) RETURNING {JOB_COLUMNS}"
        );
        let row: Option<JobRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(worker).bind(now + lease).bind(now).fetch_optional(pool).await)?;
        row.map(Job::try_from).transpose()
    }

    /// Marks a claimed job done. False when `worker` no longer holds it
    /// (its lease ended and another worker took it).
    pub async fn finish_job(&self, id: i64, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        const SQL: &str = "UPDATE jobs SET state = 'done', finished_at = $1, locked_until = NULL, last_error = NULL \
            WHERE id = $2 AND locked_by = $3 AND state = 'running'";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(now).bind(id).bind(worker).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records a failed attempt: the job runs again at `retry_at`, or, with
    /// `None` (no attempts left), goes to the dead-letter state.
    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        const RETRY: &str = "UPDATE jobs SET state = 'queued', run_at = $1, locked_until = NULL, last_error = $2 \
            WHERE id = $3 AND locked_by = $4 AND state = 'running'";
        const DEAD: &str = "UPDATE jobs SET state = 'dead', finished_at = $1, locked_until = NULL, last_error = $2 \
            WHERE id = $3 AND locked_by = $4 AND state = 'running'";
        let (sql, at) = match retry_at {
            Some(at) => (RETRY, at),
            None => (DEAD, now),
        };
        let n = on_backend!(self, pool => sqlx::query(sql).bind(at).bind(error).bind(id).bind(worker).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// One job by id (kept until the retention sweep removes finished ones).
    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        row.map(Job::try_from).transpose()
    }

    /// Jobs, newest first, optionally in one state.
    pub async fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = match state {
            Some(state) => {
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2"
                );
                on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(state.as_str()).bind(i64::from(limit)).fetch_all(pool).await)?
            }
            None => {
                let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1");
                on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(pool).await)?
            }
        };
        rows.into_iter().map(Job::try_from).collect()
    }

    /// How many jobs are in each state.
    pub async fn job_counts(&self) -> Result<Vec<(JobState, u64)>> {
        const SQL: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";
        let rows: Vec<(String, i64)> =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(state, n)| {
                let state = state.parse().map_err(|e| StoreError::corrupt("job", e))?;
                Ok((state, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// Subscribes `url` to `events`; deliveries are signed with `secret`.
    /// Subscribes `url`; the signing secret is kept sealed (`sealed`).
    pub async fn add_webhook(
        &self,
        url: &str,
        secret: &str,
        events: &[EventKind],
        now: DateTime<Utc>,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO webhooks (url, secret, events, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        let events: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let secret = self.keys.seal(WEBHOOK_SECRET, secret)?;
        let id: i64 = on_backend!(self, pool => sqlx::query_scalar(SQL)
            .bind(url).bind(&secret).bind(SqlJson(&events)).bind(now).fetch_one(pool).await)?;
        Ok(id)
    }

    /// Every subscription, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        const SQL: &str = "SELECT id, url, secret, events, created_at FROM webhooks ORDER BY id";
        type Row = (i64, String, String, SqlJson<Vec<String>>, DateTime<Utc>);
        let rows: Vec<Row> = on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(id, url, secret, events, created_at)| {
                let events = events
                    .0
                    .iter()
                    .map(|e| e.parse())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| StoreError::corrupt("webhook", format!("id {id}: {e}")))?;
                Ok(Webhook {
                    id,
                    url,
                    secret: self.keys.open(WEBHOOK_SECRET, &secret)?,
                    events,
                    created_at,
                })
            })
            .collect()
    }

    /// Removes a subscription and its delivery log. False when there was none.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool> {
        let n = on_backend!(self, pool => sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn record_delivery(&self, d: &Delivery) -> Result<()> {
        const SQL: &str = "INSERT INTO webhook_deliveries (webhook_id, job_id, event, attempt, status_code, error, duration_ms, delivered_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        on_backend!(self, pool => sqlx::query(SQL)
            .bind(d.webhook_id).bind(d.job_id).bind(d.event.as_str()).bind(d.attempt).bind(d.status_code)
            .bind(d.error.as_deref()).bind(d.duration_ms).bind(d.delivered_at)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A webhook's delivery log, newest first.
    pub async fn deliveries(&self, webhook_id: i64, limit: u32) -> Result<Vec<Delivery>> {
        const SQL: &str = "SELECT webhook_id, job_id, event, attempt, status_code, error, duration_ms, delivered_at \
            FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2";
        let rows: Vec<Delivery> = on_backend!(self, pool => sqlx::query_as(SQL).bind(webhook_id).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows)
    }
}

/// Recurring work: `kind` with `payload`, queued once every `every`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Schedule {
    pub name: String,
    pub kind: JobKind,
    pub payload: Json,
    pub every: Duration,
    /// The start of the next slot: the job is queued once this has passed.
    pub next_at: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
}

type ScheduleRow = (
    String,
    String,
    SqlJson<Json>,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn schedule_of(row: ScheduleRow) -> Result<Schedule> {
    let (name, kind, payload, every_secs, next_at, fired_at) = row;
    Ok(Schedule {
        kind: kind
            .parse()
            .map_err(|e| StoreError::corrupt("schedule", format!("{name}: {e}")))?,
        name,
        payload: payload.0,
        every: Duration::seconds(every_secs),
        next_at,
        fired_at,
    })
}

/// The first slot start after `now`, stepping from `next_at` by `every`
/// (missed slots are skipped, not caught up).
fn slot_after(next_at: DateTime<Utc>, every: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let step = every.num_seconds().max(1);
    let behind = (now - next_at).num_seconds().max(0);
    next_at + Duration::seconds((behind / step + 1) * step)
}

impl Store {
    /// Adds the schedule `name`, or changes its job and period; a new one
    /// is first due at `first_at`.
    pub async fn ensure_schedule(
        &self,
        name: &str,
        kind: JobKind,
        payload: &Json,
        every: Duration,
        first_at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO schedules (name, kind, payload, every_secs, next_at) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, every_secs = excluded.every_secs";
        let every = every.num_seconds().max(1);
        on_backend!(self, pool => sqlx::query(SQL).bind(name).bind(kind.as_str()).bind(SqlJson(payload)).bind(every).bind(first_at)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Removes a schedule; false when there was none.
    pub async fn remove_schedule(&self, name: &str) -> Result<bool> {
        let n = on_backend!(self, pool => sqlx::query("DELETE FROM schedules WHERE name = $1").bind(name).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn schedules(&self) -> Result<Vec<Schedule>> {
        const SQL: &str = "SELECT name, kind, payload, every_secs, next_at, fired_at FROM schedules ORDER BY name";
        let rows: Vec<ScheduleRow> =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(schedule_of).collect()
    }

    /// Queues the job of every schedule whose slot has come: the schedule
    /// moves to its next slot and its job is queued in one transaction, and
    /// only if no other instance moved it first, so each slot fires once
    /// across all instances. Returns the names fired.
    pub async fn fire_due_schedules(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        const MOVE: &str =
            "UPDATE schedules SET next_at = $1, fired_at = $2 WHERE name = $3 AND next_at = $4";
        let due: Vec<Schedule> = self
            .schedules()
            .await?
            .into_iter()
            .filter(|s| s.next_at <= now)
            .collect();
        let mut fired = Vec::new();
        for schedule in due {
            let job = NewJob {
                kind: schedule.kind,
                payload: schedule.payload.clone(),
                run_at: now,
                max_attempts: 1,
                dedupe_key: Some(format!(
                    "schedule:{}:{}",
                    schedule.name,
                    schedule.next_at.timestamp()
                )),
            };
            let rows = vec![job_row(&job, now)];
            let next = slot_after(schedule.next_at, schedule.every, now);
            let moved = on_backend!(self, pool => {
                let mut tx = pool.begin_write().await?;
                let moved = sqlx::query(MOVE).bind(next).bind(now).bind(schedule.name.as_str()).bind(schedule.next_at)
                    .execute(&mut *tx).await?.rows_affected() == 1;
                if moved {
                    execute_inserts!(self.backend(), tx, "jobs", JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, &rows).await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok::<_, StoreError>(moved)
            })?;
            if moved {
                fired.push(schedule.name);
            }
        }
        Ok(fired)
    }
}

impl Store {
    /// Puts a claimed job back in the queue until `until` without counting
    /// the attempt (the contact budget said "not now"); `reason` shows in
    /// `vouch jobs list`. False when `worker` no longer holds it.
    pub async fn defer_job(
        &self,
        id: i64,
        worker: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE jobs SET state = 'queued', run_at = $1, attempts = attempts - 1, locked_until = NULL, last_error = $2 \
            WHERE id = $3 AND locked_by = $4 AND state = 'running'";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(until).bind(reason).bind(id).bind(worker).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_slot_skips_missed_ones() {
        let t0 = DateTime::<Utc>::from_timestamp(3600, 0).unwrap();
        let hour = Duration::hours(1);
        assert_eq!(slot_after(t0, hour, t0), t0 + hour);
        assert_eq!(slot_after(t0, hour, t0 + Duration::minutes(59)), t0 + hour);
        assert_eq!(
            slot_after(t0, hour, t0 + Duration::hours(5)),
            t0 + Duration::hours(6)
        );
        assert_eq!(slot_after(t0 + hour, hour, t0), t0 + Duration::hours(2));
    }
}
