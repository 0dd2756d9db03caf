//! Close-the-loop tasks, teams and routing rules. Every task change that
//! others react to (opened, closed, overdue, escalated) is an event in the
//! same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_domain::playbooks::{Condition, Priority, TaskState, TaskType};
use vouch_domain::{CustomerId, DomainEvent};

use crate::events::append_events;
use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store, StoreError};

/// A task to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub customer_id: Option<CustomerId>,
    pub task_type: TaskType,
    pub reason: String,
    pub priority: Priority,
    pub team: Option<String>,
    pub owner: Option<String>,
    /// The answer (`response`) or feedback item (`feedback`) behind it.
    pub signal: Option<(String, i64)>,
    /// The run and step that opened it.
    pub run: Option<(i64, usize)>,
    pub sla: String,
    pub first_response_due: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// A task as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TaskRecord {
    pub id: i64,
    pub customer_id: Option<i64>,
    #[serde(rename = "type")]
    #[sqlx(rename = "task_type")]
    pub task_type: String,
    pub reason: String,
    pub priority: String,
    pub state: String,
    pub team: Option<String>,
    pub owner: Option<String>,
    pub signal_type: Option<String>,
    pub signal_id: Option<i64>,
    pub run_id: Option<i64>,
    pub sla: String,
    pub first_response_due: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const TASK_COLUMNS: &str = "id, customer_id, task_type, reason, priority, state, team, owner, signal_type, signal_id, run_id, sla, first_response_due, due_at, first_response_at, closed_at, resolution, note, overdue, created_at, updated_at";

/// Inserts `$task` inside `$tx`; yields its id and its `task.created`
/// event (for the caller to append). A task its run step opened already
/// is not opened twice. Expands to an `async` block.
macro_rules! insert_task {
    ($tx:expr, $task:expr, $now:expr) => {
        async {
            let task: &$crate::tasks::NewTask = $task;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tasks (customer_id, task_type, reason, priority, state, team, owner, signal_type, signal_id, run_id, step, sla, first_response_due, due_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
            )
            .bind(task.customer_id.map(|c| c.0))
            .bind(task.task_type.as_str())
            .bind(&task.reason)
            .bind(task.priority.as_str())
            .bind(task.team.as_deref())
            .bind(task.owner.as_deref())
            .bind(task.signal.as_ref().map(|s| s.0.as_str()))
            .bind(task.signal.as_ref().map(|s| s.1))
            .bind(task.run.map(|r| r.0))
            .bind(task.run.map(|r| r.1 as i32))
            .bind(&task.sla)
            .bind(task.first_response_due)
            .bind(task.due_at)
            .bind($now)
            .fetch_one(&mut *$tx)
            .await?;
            let event = vouch_domain::DomainEvent::TaskCreated {
                task_id: id,
                customer_id: task.customer_id,
                task_type: task.task_type.as_str().to_owned(),
                team: task.team.clone(),
                due_at: task.due_at,
            };
            Ok::<_, $crate::StoreError>((id, event))
        }
    };
}
pub(crate) use insert_task;

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub customer: Option<CustomerId>,
    pub state: Option<TaskState>,
    /// Open, in progress or snoozed.
    pub not_closed: bool,
    pub team: Option<String>,
    pub owner: Option<String>,
    pub overdue: Option<bool>,
    /// Tasks with an id below this (the `next` cursor).
    pub before: Option<i64>,
    pub limit: u32,
}

/// A change staff make to a task.
#[derive(Debug, Clone, Default)]
pub struct TaskChange {
    pub state: Option<TaskState>,
    pub owner: Option<Option<String>>,
    pub team: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub resolution: Option<String>,
    pub note: Option<String>,
    /// The first reply went out now (stops the first-response clock).
    pub responded: bool,
}

/// One task's numbers for the SLA report.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TaskTimes {
    pub team: Option<String>,
    pub created_at: DateTime<Utc>,
    pub first_response_due: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Opens a task (staff, or a run step through `finish_step`).
    pub async fn add_task(&self, task: &NewTask, now: DateTime<Utc>) -> Result<i64> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (id, event) = insert_task!(tx, task, now).await?;
            append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn task(&self, id: i64) -> Result<Option<TaskRecord>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The newest task not yet closed that was opened on this answer
    /// (`response`) or feedback item (`feedback`).
    pub async fn open_task_on(
        &self,
        signal_type: &str,
        signal_id: i64,
    ) -> Result<Option<TaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE signal_type = $1 AND signal_id = $2 AND state <> 'closed' ORDER BY id DESC LIMIT 1"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(signal_type).bind(signal_id).fetch_optional(pool).await)?,
        )
    }

    /// Tasks, newest first, paged by id.
    pub async fn tasks(&self, f: &TaskFilter) -> Result<Vec<TaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR state = $2) \
             AND ($3 = FALSE OR state <> 'closed') AND ($4 IS NULL OR team = $4) AND ($5 IS NULL OR owner = $5) \
             AND ($6 IS NULL OR overdue = $6) AND ($7 IS NULL OR id < $7) ORDER BY id DESC LIMIT $8"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(f.customer.map(|c| c.0)).bind(f.state.map(|s| s.as_str())).bind(f.not_closed)
            .bind(f.team.as_deref()).bind(f.owner.as_deref()).bind(f.overdue).bind(f.before)
            .bind(i64::from(f.limit.max(1))).fetch_all(pool).await)?,
        )
    }

    /// Applies `change` to task `id`; `task.closed` is written when it
    /// closes. `None`: no such task. The state move is checked by the caller
    /// (`TaskState::can_become`).
    pub async fn change_task(
        &self,
        id: i64,
        change: &TaskChange,
        now: DateTime<Utc>,
    ) -> Result<Option<TaskRecord>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(before): Option<TaskRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            let state = change.state.map(|s| s.as_str().to_owned()).unwrap_or(before.state.clone());
            let closing = state == "closed" && before.state != "closed";
            let closed_at = if state == "closed" { before.closed_at.or(Some(now)) } else { None };
            let first_response_at = if change.responded { before.first_response_at.or(Some(now)) } else { before.first_response_at };
            let owner = change.owner.clone().unwrap_or(before.owner.clone());
            let team = change.team.clone().unwrap_or(before.team.clone());
            let priority = change.priority.map(|p| p.as_str().to_owned()).unwrap_or(before.priority.clone());
            let resolution = if state == "closed" { change.resolution.clone().or(before.resolution.clone()) } else { None };
            let note = change.note.clone().or(before.note.clone());
            sqlx::query("UPDATE tasks SET state = $2, owner = $3, team = $4, priority = $5, resolution = $6, note = $7, first_response_at = $8, closed_at = $9, updated_at = $10 WHERE id = $1")
                .bind(id).bind(&state).bind(owner.as_deref()).bind(team.as_deref()).bind(&priority).bind(resolution.as_deref())
                .bind(note.as_deref()).bind(first_response_at).bind(closed_at).bind(now).execute(&mut *tx).await?;
            if closing {
                let event = DomainEvent::TaskClosed {
                    task_id: id,
                    customer_id: before.customer_id.map(CustomerId),
                    resolution: resolution.clone().unwrap_or_default(),
                    in_sla: now <= before.due_at,
                };
                append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            }
            let after: TaskRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(after))
        })
    }

    /// Marks tasks past their targets at `now`: unanswered past the
    /// first-response target → escalated (priority urgent, `task.escalated`);
    /// open past the resolution target → `overdue` (`task.overdue`). Each
    /// once. The number of events written.
    pub async fn sweep_tasks(&self, now: DateTime<Utc>) -> Result<usize> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let escalated: Vec<(i64, Option<i64>, DateTime<Utc>)> = sqlx::query_as(
                "UPDATE tasks SET priority = 'urgent', updated_at = $1 WHERE state <> 'closed' AND first_response_at IS NULL \
                 AND first_response_due < $1 AND priority <> 'urgent' RETURNING id, customer_id, first_response_due")
                .bind(now).fetch_all(&mut *tx).await?;
            let overdue: Vec<(i64, Option<i64>, DateTime<Utc>)> = sqlx::query_as(
                "UPDATE tasks SET overdue = $2, updated_at = $1 WHERE state <> 'closed' AND due_at < $1 AND overdue = $3 RETURNING id, customer_id, due_at")
                .bind(now).bind(true).bind(false).fetch_all(&mut *tx).await?;
            let mut events: Vec<DomainEvent> = escalated.into_iter().map(|(task_id, c, due)| DomainEvent::TaskEscalated {
                task_id, customer_id: c.map(CustomerId), first_response_due: due,
            }).collect();
            events.extend(overdue.into_iter().map(|(task_id, c, due_at)| DomainEvent::TaskOverdue {
                task_id, customer_id: c.map(CustomerId), due_at,
            }));
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(events.len())
        })
    }

    /// The times the SLA report reads, of tasks opened in `[from, to)`.
    pub async fn task_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TaskTimes>> {
        Ok(
            on_backend!(self, pool => sqlx::query_as("SELECT team, created_at, first_response_due, due_at, first_response_at, closed_at FROM tasks WHERE created_at >= $1 AND created_at < $2 ORDER BY id")
            .bind(from).bind(to).fetch_all(pool).await)?,
        )
    }

    /// Keeps a staff reply to task `task`'s customer and queues the job
    /// that sends it (`job`, given the reply's id), together.
    pub async fn add_task_reply(
        &self,
        task: i64,
        author: &str,
        subject: &str,
        body: &str,
        job: &(dyn Fn(i64) -> crate::NewJob + Sync),
        now: DateTime<Utc>,
    ) -> Result<i64> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: i64 = sqlx::query_scalar("INSERT INTO task_replies (task_id, author, subject, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(task).bind(author).bind(subject).bind(body).bind(now).fetch_one(&mut *tx).await?;
            let rows = vec![crate::jobs::job_row(&job(id), now)];
            crate::store::execute_inserts!(self.backend(), tx, "jobs", crate::jobs::JOB_INSERT_COLUMNS, crate::jobs::SKIP_PENDING_DUPLICATES, &rows).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A reply: its task, subject, body and when it was sent.
    pub async fn task_reply(
        &self,
        id: i64,
    ) -> Result<Option<(i64, String, String, Option<DateTime<Utc>>)>> {
        Ok(
            on_backend!(self, pool => sqlx::query_as("SELECT task_id, subject, body, sent_at FROM task_replies WHERE id = $1").bind(id).fetch_optional(pool).await)?,
        )
    }

    /// The mail server took reply `id`: it is sent, its contact too, and
    /// the task's first-response clock stops if it was running; together.
    pub async fn task_reply_sent(
        &self,
        id: i64,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let task: Option<i64> = sqlx::query_scalar("UPDATE task_replies SET sent_at = $2, message_id = $3 WHERE id = $1 AND sent_at IS NULL RETURNING task_id")
                .bind(id).bind(now).bind(message_id).fetch_optional(&mut *tx).await?;
            sqlx::query("UPDATE contacts SET state = 'sent', reason = NULL, at = $1 WHERE message_id = $2").bind(now).bind(message_id).execute(&mut *tx).await?;
            if let Some(task) = task {
                sqlx::query("UPDATE tasks SET first_response_at = $2, updated_at = $2 WHERE id = $1 AND first_response_at IS NULL")
                    .bind(task).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Whether the customer has a task not closed.
    pub async fn has_open_task(&self, customer: CustomerId) -> Result<bool> {
        let n: i64 = on_backend!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE customer_id = $1 AND state <> 'closed'").bind(customer.0).fetch_one(pool).await)?;
        Ok(n > 0)
    }

    /// Sets team `name`'s members (staff emails), in round-robin order.
    pub async fn set_team(&self, name: &str, members: &[String]) -> Result<()> {
        let json = serde_json::to_string(members).expect("strings serialise");
        on_backend!(self, pool => sqlx::query("INSERT INTO teams (name, members) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET members = excluded.members")
            .bind(name).bind(json).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn teams(&self) -> Result<Vec<(String, Vec<String>)>> {
        let rows: Vec<(String, String)> = on_backend!(self, pool => sqlx::query_as("SELECT name, members FROM teams ORDER BY name").fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(name, members)| {
                let members = serde_json::from_str(&members)
                    .map_err(|e| StoreError::corrupt("teams.members", e.to_string()))?;
                Ok((name, members))
            })
            .collect()
    }

    /// The member of `team` whose turn it is, moving the turn on; `None`
    /// for a team with no members (or none by that name).
    pub async fn next_team_member(&self, team: &str) -> Result<Option<String>> {
        let row: Option<(String, i64)> = on_backend!(self, pool => sqlx::query_as("UPDATE teams SET next_member = next_member + 1 WHERE name = $1 RETURNING members, next_member - 1")
            .bind(team).fetch_optional(pool).await)?;
        let Some((members, turn)) = row else {
            return Ok(None);
        };
        let members: Vec<String> = serde_json::from_str(&members)
            .map_err(|e| StoreError::corrupt("teams.members", e.to_string()))?;
        Ok((!members.is_empty())
            .then(|| members[turn.rem_euclid(members.len() as i64) as usize].clone()))
    }

    /// Replaces the routing rules, in order: the first whose conditions all
    /// hold picks the team.
    pub async fn set_routing_rules(&self, rules: &[(Vec<Condition>, String)]) -> Result<()> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM routing_rules").execute(&mut *tx).await?;
            for (i, (conditions, team)) in rules.iter().enumerate() {
                sqlx::query("INSERT INTO routing_rules (position, conditions, team) VALUES ($1, $2, $3)")
                    .bind(i as i32).bind(serde_json::to_string(conditions).expect("conditions serialise")).bind(team)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn routing_rules(&self) -> Result<Vec<(Vec<Condition>, String)>> {
        let rows: Vec<(String, String)> = on_backend!(self, pool => sqlx::query_as("SELECT conditions, team FROM routing_rules ORDER BY position").fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(c, team)| {
                let c = serde_json::from_str(&c)
                    .map_err(|e| StoreError::corrupt("routing_rules.conditions", e.to_string()))?;
                Ok((c, team))
            })
            .collect()
    }
}
