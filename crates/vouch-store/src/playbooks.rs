//! Playbooks, their versions and runs, and the run log. A run is started
//! once per key (`run_key`); a step's effects (a task, routed feedback,
//! tags, the next jobs) commit with its final log entry, whose unique
//! `done_key` makes a retried step a no-op.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_domain::CustomerId;
use vouch_domain::playbooks::PlaybookSpec;

use crate::batch::Value;
use crate::events::append_events;
use crate::jobs::{JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, job_row};
use crate::store::{BeginWrite, execute_inserts, on_backend};
use crate::tasks::{NewTask, insert_task};
use crate::{NewJob, Result, Store, StoreError};

/// A playbook as kept: its current version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPlaybook {
    pub id: i64,
    /// Set on the defaults Vouch installs (`default.detractor`…).
    pub default_key: Option<String>,
    pub version: i64,
    #[serde(flatten)]
    pub spec: PlaybookSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PlaybookRow {
    id: i64,
    default_key: Option<String>,
    version: i64,
    spec: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn parse_spec(id: i64, spec: &str) -> Result<PlaybookSpec> {
    serde_json::from_str(spec)
        .map_err(|e| StoreError::corrupt("playbooks.spec", format!("playbook {id}: {e}")))
}

impl PlaybookRow {
    fn into_playbook(self) -> Result<StoredPlaybook> {
        Ok(StoredPlaybook {
            spec: parse_spec(self.id, &self.spec)?,
            id: self.id,
            default_key: self.default_key,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const PLAYBOOK_COLUMNS: &str = "id, default_key, version, spec, created_at, updated_at";

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub playbook_id: i64,
    pub version: i64,
    pub customer_id: Option<CustomerId>,
    pub event_id: String,
    pub run_key: String,
    pub seed: u64,
    pub matched: bool,
    pub held_out: bool,
}

/// A run as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PlaybookRun {
    pub id: i64,
    pub playbook_id: i64,
    pub version: i64,
    pub customer_id: Option<i64>,
    pub event_id: String,
    /// Decides the hold-out and random audiences; kept so the draw can be checked.
    #[serde(serialize_with = "as_text")]
    #[schema(value_type = String)]
    pub seed: i64,
    /// How many runs of the playbook started before this one (every Nth).
    pub ordinal: i64,
    pub matched: bool,
    pub held_out: bool,
    /// `running`, `done`, `skipped` (conditions not met) or `cancelled`.
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn as_text<S: serde::Serializer>(seed: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&(*seed as u64).to_string())
}

const RUN_COLUMNS: &str = "id, playbook_id, version, customer_id, event_id, seed, ordinal, matched, held_out, state, started_at, updated_at";

/// One decision of a run.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LogEntry {
    /// None for the run's own entries (conditions, hold-out).
    pub step: Option<i32>,
    pub action: Option<String>,
    /// `matched`, `not_matched`, `held_out`, `done`, `sent`, `skipped`,
    /// `denied`, `deferred`, `scheduled`, `cancelled`, `failed`.
    pub outcome: String,
    /// The compliance rule of a denial.
    pub rule: Option<String>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl LogEntry {
    pub fn new(
        step: Option<usize>,
        action: Option<&str>,
        outcome: &str,
        detail: impl Into<String>,
    ) -> LogEntry {
        LogEntry {
            step: step.map(|s| s as i32),
            action: action.map(str::to_owned),
            outcome: outcome.to_owned(),
            rule: None,
            detail: detail.into(),
            at: None,
        }
    }

    pub fn rule(mut self, rule: &str) -> LogEntry {
        self.rule = Some(rule.to_owned());
        self
    }
}

const LOG_INSERT: &str = "INSERT INTO playbook_log (run_id, step, action, outcome, rule, detail, done_key, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (done_key) DO NOTHING";

/// What a finished step leaves behind, committed with its log entry.
#[derive(Debug, Clone, Default)]
pub struct StepEffects {
    pub task: Option<NewTask>,
    /// (feedback, team, topic)
    pub routes: Vec<(i64, String, Option<String>)>,
    pub tag: Option<String>,
    pub untag: Option<String>,
    pub jobs: Vec<NewJob>,
    /// The run is over (its last step, or one that ends it).
    pub finished: bool,
    /// A `wait` for this event kind: its arrival brings the next step forward.
    pub waiting_for: Option<String>,
}

impl Store {
    /// Adds a playbook (version 1). With `default_key`, only once: `None`
    /// when that default is installed already (even if since edited).
    pub async fn add_playbook(
        &self,
        spec: &PlaybookSpec,
        default_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let json = serde_json::to_string(spec).expect("a spec serialises");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: Option<i64> = sqlx::query_scalar("INSERT INTO playbooks (default_key, name, version, enabled, spec, created_at, updated_at) VALUES ($1, $2, 1, $3, $4, $5, $5) ON CONFLICT (default_key) DO NOTHING RETURNING id")
                .bind(default_key).bind(spec.name.trim()).bind(spec.enabled).bind(&json).bind(now)
                .fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                sqlx::query("INSERT INTO playbook_versions (playbook_id, version, spec, created_at) VALUES ($1, 1, $2, $3)")
                    .bind(id).bind(&json).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves a new version of playbook `id`. With `cancel_pending`, its
    /// runs' delayed steps are cancelled (and logged); otherwise they
    /// finish with the version that started them. `None`: no such playbook.
    pub async fn update_playbook(
        &self,
        id: i64,
        spec: &PlaybookSpec,
        cancel_pending: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let json = serde_json::to_string(spec).expect("a spec serialises");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let version: Option<i64> = sqlx::query_scalar("UPDATE playbooks SET name = $2, enabled = $3, spec = $4, version = version + 1, updated_at = $5 WHERE id = $1 RETURNING version")
                .bind(id).bind(spec.name.trim()).bind(spec.enabled).bind(&json).bind(now)
                .fetch_optional(&mut *tx).await?;
            let Some(version) = version else { return Ok(None) };
            sqlx::query("INSERT INTO playbook_versions (playbook_id, version, spec, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id).bind(version).bind(&json).bind(now).execute(&mut *tx).await?;
            if cancel_pending {
                cancel_runs!(tx, id, now, "the playbook was edited or paused").await?;
            }
            tx.commit().await?;
            Ok(Some(version))
        })
    }

    /// Deletes playbook `id`, its versions and runs; its pending steps are
    /// cancelled. Tasks it opened stay.
    pub async fn delete_playbook(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            cancel_runs!(tx, id, now, "the playbook was deleted").await?;
            let gone = sqlx::query("DELETE FROM playbooks WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected() > 0;
            tx.commit().await?;
            Ok(gone)
        })
    }

    pub async fn playbooks(&self) -> Result<Vec<StoredPlaybook>> {
        let sql = format!("SELECT {PLAYBOOK_COLUMNS} FROM playbooks ORDER BY id");
        let rows: Vec<PlaybookRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        rows.into_iter().map(PlaybookRow::into_playbook).collect()
    }

    pub async fn playbook(&self, id: i64) -> Result<Option<StoredPlaybook>> {
        let sql = format!("SELECT {PLAYBOOK_COLUMNS} FROM playbooks WHERE id = $1");
        let row: Option<PlaybookRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        row.map(PlaybookRow::into_playbook).transpose()
    }

    /// The spec of one version of a playbook (a run's own).
    pub async fn playbook_version(&self, id: i64, version: i64) -> Result<Option<PlaybookSpec>> {
        let spec: Option<String> = on_backend!(self, pool => sqlx::query_scalar("SELECT spec FROM playbook_versions WHERE playbook_id = $1 AND version = $2").bind(id).bind(version).fetch_optional(pool).await)?;
        spec.map(|s| parse_spec(id, &s)).transpose()
    }

    /// Starts a run, logging `log` and queueing its first step's job
    /// (`first_job`, given the run's id) with it; `None` when a run with
    /// its key exists (the same event never runs a playbook twice).
    pub async fn start_run(
        &self,
        run: &NewRun,
        log: &[LogEntry],
        first_job: Option<&(dyn Fn(i64) -> NewJob + Sync)>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let state = match (run.matched, first_job.is_some()) {
            (false, _) => "skipped",
            (true, false) => "done",
            (true, true) => "running",
        };
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let ordinal: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM playbook_runs WHERE playbook_id = $1 AND matched = $2")
                .bind(run.playbook_id).bind(true).fetch_one(&mut *tx).await?;
            let id: Option<i64> = sqlx::query_scalar("INSERT INTO playbook_runs (playbook_id, version, customer_id, event_id, run_key, seed, ordinal, matched, held_out, state, started_at, updated_at) \
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (run_key) DO NOTHING RETURNING id")
                .bind(run.playbook_id).bind(run.version).bind(run.customer_id.map(|c| c.0)).bind(&run.event_id)
                .bind(&run.run_key).bind(run.seed as i64).bind(ordinal).bind(run.matched).bind(run.held_out).bind(state).bind(now)
                .fetch_optional(&mut *tx).await?;
            let Some(id) = id else { return Ok(None) };
            for entry in log {
                sqlx::query(LOG_INSERT).bind(id).bind(entry.step).bind(entry.action.as_deref()).bind(&entry.outcome)
                    .bind(entry.rule.as_deref()).bind(&entry.detail).bind(None::<String>).bind(now).execute(&mut *tx).await?;
            }
            let jobs: Vec<Vec<Value>> = first_job.map(|job| job_row(&job(id), now)).into_iter().collect();
            execute_inserts!(self.backend(), tx, "jobs", JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, &jobs).await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// Finishes step `step` of run `run_id` with `entry` and its effects,
    /// in one transaction; false when the step was finished before.
    pub async fn finish_step(
        &self,
        run_id: i64,
        step: usize,
        entry: &LogEntry,
        effects: &StepEffects,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done_key = format!("{run_id}:{step}");
        let jobs: Vec<Vec<Value>> = effects.jobs.iter().map(|j| job_row(j, now)).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let state: Option<String> = sqlx::query_scalar("SELECT state FROM playbook_runs WHERE id = $1").bind(run_id).fetch_optional(&mut *tx).await?;
            if state.as_deref() != Some("running") {
                return Ok(false);
            }
            let logged = sqlx::query(LOG_INSERT).bind(run_id).bind(step as i32).bind(entry.action.as_deref()).bind(&entry.outcome)
                .bind(entry.rule.as_deref()).bind(&entry.detail).bind(&done_key).bind(now).execute(&mut *tx).await?.rows_affected();
            if logged == 0 {
                return Ok(false);
            }
            let customer: Option<i64> = sqlx::query_scalar("SELECT customer_id FROM playbook_runs WHERE id = $1").bind(run_id).fetch_one(&mut *tx).await?;
            let mut events = Vec::new();
            if let Some(task) = &effects.task {
                let (_, event) = insert_task!(tx, task, now).await?;
                events.push(event);
            }
            for (feedback, team, topic) in &effects.routes {
                sqlx::query("INSERT INTO feedback_routes (feedback_id, team, topic, run_id, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (feedback_id, team) DO NOTHING")
                    .bind(feedback).bind(team).bind(topic.as_deref()).bind(run_id).bind(now).execute(&mut *tx).await?;
            }
            if let (Some(tag), Some(customer)) = (&effects.tag, customer) {
                sqlx::query("INSERT INTO customer_tags (customer_id, tag, at) VALUES ($1, $2, $3) ON CONFLICT (customer_id, tag) DO NOTHING")
                    .bind(customer).bind(tag).bind(now).execute(&mut *tx).await?;
            }
            if let (Some(tag), Some(customer)) = (&effects.untag, customer) {
                sqlx::query("DELETE FROM customer_tags WHERE customer_id = $1 AND tag = $2").bind(customer).bind(tag).execute(&mut *tx).await?;
            }
            execute_inserts!(self.backend(), tx, "jobs", JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, &jobs).await?;
            if effects.finished {
                sqlx::query("UPDATE playbook_runs SET state = 'done', updated_at = $2 WHERE id = $1").bind(run_id).bind(now).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE playbook_runs SET waiting_for = $2, waiting_step = $3 WHERE id = $1")
                .bind(run_id).bind(effects.waiting_for.as_deref()).bind(effects.waiting_for.as_ref().map(|_| step as i32 + 1))
                .execute(&mut *tx).await?;
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Brings forward the next step of `customer`'s runs waiting for an
    /// event of `kind`, logging it; the runs woken.
    pub async fn wake_waiting_runs(
        &self,
        customer: CustomerId,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // RETURNING shows the new row, whose step is cleared: read it first.
            let waiting: Vec<(i64, i32)> = sqlx::query_as("SELECT id, waiting_step FROM playbook_runs \
                WHERE customer_id = $1 AND waiting_for = $2 AND state = 'running' AND waiting_step IS NOT NULL")
                .bind(customer.0).bind(kind).fetch_all(&mut *tx).await?;
            for (run, step) in &waiting {
                sqlx::query("UPDATE playbook_runs SET waiting_for = NULL, waiting_step = NULL WHERE id = $1")
                    .bind(run).execute(&mut *tx).await?;
                sqlx::query("UPDATE jobs SET run_at = $2 WHERE dedupe_key = $1 AND state = 'queued'")
                    .bind(format!("playbook:{run}:{step}")).bind(now).execute(&mut *tx).await?;
                sqlx::query(LOG_INSERT).bind(run).bind(step - 1).bind("wait").bind("done")
                    .bind(None::<String>).bind(format!("{kind} came: the next step runs now")).bind(None::<String>).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(waiting.into_iter().map(|(run, _)| run).collect())
        })
    }

    /// Logs a decision that does not finish its step (a deferral).
    pub async fn log_run(&self, run_id: i64, entry: &LogEntry, now: DateTime<Utc>) -> Result<()> {
        on_backend!(self, pool => sqlx::query(LOG_INSERT).bind(run_id).bind(entry.step).bind(entry.action.as_deref()).bind(&entry.outcome)
            .bind(entry.rule.as_deref()).bind(&entry.detail).bind(None::<String>).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn playbook_run(&self, id: i64) -> Result<Option<PlaybookRun>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM playbook_runs WHERE id = $1");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// Runs of a playbook, or about a customer, newest first.
    pub async fn playbook_runs(
        &self,
        playbook: Option<i64>,
        customer: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<PlaybookRun>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM playbook_runs WHERE ($1 IS NULL OR playbook_id = $1) AND ($2 IS NULL OR customer_id = $2) ORDER BY id DESC LIMIT $3"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(playbook).bind(customer.map(|c| c.0)).bind(i64::from(limit)).fetch_all(pool).await)?,
        )
    }

    pub async fn run_log(&self, run_id: i64) -> Result<Vec<LogEntry>> {
        Ok(
            on_backend!(self, pool => sqlx::query_as("SELECT step, action, outcome, rule, detail, at FROM playbook_log WHERE run_id = $1 ORDER BY id").bind(run_id).fetch_all(pool).await)?,
        )
    }

    /// A playbook message went out: its contact counts as sent and the
    /// step's log says so, together.
    pub async fn playbook_message_sent(
        &self,
        run_id: i64,
        entry: &LogEntry,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE contacts SET state = 'sent', reason = NULL, at = $1 WHERE message_id = $2").bind(now).bind(message_id).execute(&mut *tx).await?;
            sqlx::query(LOG_INSERT).bind(run_id).bind(entry.step).bind(entry.action.as_deref()).bind(&entry.outcome)
                .bind(entry.rule.as_deref()).bind(&entry.detail).bind(None::<String>).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Keeps the hash of an unsubscribe link's token for `customer` and `purpose`.
    pub async fn add_unsubscribe_token(
        &self,
        token_hash: &str,
        customer: CustomerId,
        purpose: vouch_domain::Purpose,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => sqlx::query("INSERT INTO unsubscribe_tokens (token_hash, customer_id, purpose, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO NOTHING")
            .bind(token_hash).bind(customer.0).bind(purpose.as_str()).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The customer and purpose an unsubscribe token's hash stands for.
    pub async fn unsubscribe_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(CustomerId, vouch_domain::Purpose)>> {
        let row: Option<(i64, String)> = on_backend!(self, pool => sqlx::query_as("SELECT customer_id, purpose FROM unsubscribe_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(pool).await)?;
        row.map(|(c, p)| {
            let purpose = p.parse().map_err(|e: vouch_domain::DomainError| {
                StoreError::corrupt("unsubscribe_tokens.purpose", e.to_string())
            })?;
            Ok((CustomerId(c), purpose))
        })
        .transpose()
    }

    /// The customer's tags.
    pub async fn customer_tags(&self, customer: CustomerId) -> Result<Vec<String>> {
        Ok(
            on_backend!(self, pool => sqlx::query_scalar("SELECT tag FROM customer_tags WHERE customer_id = $1 ORDER BY tag").bind(customer.0).fetch_all(pool).await)?,
        )
    }

    /// The teams a feedback item was routed to, with the topic that chose each.
    pub async fn feedback_routes(&self, feedback: i64) -> Result<Vec<(String, Option<String>)>> {
        Ok(
            on_backend!(self, pool => sqlx::query_as("SELECT team, topic FROM feedback_routes WHERE feedback_id = $1 ORDER BY team").bind(feedback).fetch_all(pool).await)?,
        )
    }
}

/// Cancels the queued steps and messages of playbook `$id`'s running runs
/// inside `$tx`, logging why. Expands to an `async` block.
macro_rules! cancel_runs {
    ($tx:expr, $id:expr, $now:expr, $why:expr) => {
        async {
            let running: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM playbook_runs WHERE playbook_id = $1 AND state = 'running'",
            )
            .bind($id)
            .fetch_all(&mut *$tx)
            .await?;
            for run in running {
                let prefix = format!("playbook:{run}:%");
                sqlx::query("UPDATE jobs SET state = 'dead', finished_at = $2, last_error = 'cancelled' WHERE dedupe_key LIKE $1 AND state = 'queued'")
                    .bind(&prefix)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
                sqlx::query("UPDATE playbook_runs SET state = 'cancelled', updated_at = $2 WHERE id = $1")
                    .bind(run)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
                sqlx::query(LOG_INSERT)
                    .bind(run)
                    .bind(None::<i32>)
                    .bind(None::<String>)
                    .bind("cancelled")
                    .bind(None::<String>)
                    .bind($why)
                    .bind(None::<String>)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
            }
            Ok::<_, StoreError>(())
        }
    };
}
use cancel_runs;
