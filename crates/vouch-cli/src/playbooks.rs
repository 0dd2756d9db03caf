//! `vouch playbooks` and `vouch tasks`: the nurturing paths and the
//! close-the-loop work they open.

use clap::Subcommand;
use vouch_domain::playbooks::{Resolution, TaskState};
use vouch_store::{Store, TaskChange, TaskFilter};

use crate::table::{Table, terminal_safe};

#[derive(Debug, Subcommand)]
pub enum PlaybooksCommand {
    /// Every playbook: its trigger, whether it is on, its hold-out.
    ///
    /// Example: vouch playbooks list
    List {
        /// One JSON object per playbook instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Treated against held-out customers: each outcome as a difference
    /// with its 95% interval and p-value, or "not enough data yet".
    ///
    /// Example: vouch playbooks report 1 --days 90
    Report {
        id: i64,
        /// Outcomes are read this many days after each run.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Tasks, newest first: open ones by default.
    ///
    /// Example: vouch tasks list --team finance --overdue
    List {
        /// `open`, `in_progress`, `snoozed`, `closed`, or `active` (all but closed; the default).
        #[arg(long, default_value = "active")]
        state: String,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// Only tasks past their resolution target.
        #[arg(long)]
        overdue: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per task instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One task, as JSON.
    ///
    /// Example: vouch tasks show 12
    Show { id: i64 },
    /// Closes a task with its resolution: resolved, acknowledged,
    /// unreachable or invalid.
    ///
    /// Example: vouch tasks close 12 --resolution resolved --note "Refunded the second invoice"
    Close {
        id: i64,
        #[arg(long)]
        resolution: Resolution,
        #[arg(long)]
        note: Option<String>,
    },
}

pub async fn run_playbooks(store: &Store, command: PlaybooksCommand) -> anyhow::Result<()> {
    match command {
        PlaybooksCommand::List { json } => {
            let playbooks = store.playbooks().await?;
            if json {
                for p in &playbooks {
                    println!("{}", serde_json::to_string(p)?);
                }
                return Ok(());
            }
            let mut table = Table::new(&[
                "id", "name", "on", "trigger", "steps", "hold-out", "version",
            ]);
            for p in playbooks {
                let trigger = p.spec.trigger.to_string();
                table.row(vec![
                    p.id.to_string(),
                    terminal_safe(&p.spec.name),
                    if p.spec.enabled { "yes" } else { "paused" }.to_owned(),
                    trigger,
                    p.spec
                        .steps
                        .iter()
                        .map(|s| s.action.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                    format!("{}%", p.spec.holdout_percent),
                    p.version.to_string(),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        PlaybooksCommand::Report { id, days } => {
            let settings = vouch_app::playbooks::RunSettings::default();
            let report =
                vouch_app::playbooks::report(store, &settings, id, days.clamp(1, 730), 0.95)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("no playbook {id} (vouch playbooks list shows them)")
                    })?;
            println!(
                "Treated: {} customers ({} runs). Held out: {} customers ({} runs). Outcomes {} days after each run:",
                report.treated.customers,
                report.treated.runs,
                report.held_out.customers,
                report.held_out.runs,
                days
            );
            for o in &report.outcomes {
                match (o.difference, o.ci_low, o.ci_high, o.p_value) {
                    (Some(d), Some(lo), Some(hi), Some(p)) => println!(
                        "  {}: {:+.3} (95% interval {:+.3} to {:+.3}, p = {:.3}; n = {} / {})",
                        o.outcome, d, lo, hi, p, o.treated_n, o.held_out_n
                    ),
                    _ => println!(
                        "  {}: not enough data yet (n = {} / {}; at least {} in each group)",
                        o.outcome,
                        o.treated_n,
                        o.held_out_n,
                        vouch_domain::analytics::MIN_GROUP
                    ),
                }
            }
            Ok(())
        }
    }
}

pub async fn run_tasks(store: &Store, command: TasksCommand) -> anyhow::Result<()> {
    match command {
        TasksCommand::List {
            state,
            team,
            owner,
            overdue,
            limit,
            json,
        } => {
            let (state, not_closed) = match state.as_str() {
                "active" => (None, true),
                other => (Some(other.parse::<TaskState>()?), false),
            };
            let tasks = store
                .tasks(&TaskFilter {
                    state,
                    not_closed,
                    team,
                    owner,
                    overdue: overdue.then_some(true),
                    limit: limit.clamp(1, 10_000),
                    ..TaskFilter::default()
                })
                .await?;
            if json {
                for t in &tasks {
                    println!("{}", serde_json::to_string(t)?);
                }
                return Ok(());
            }
            if tasks.is_empty() {
                println!("No tasks match.");
                return Ok(());
            }
            let mut table = Table::new(&[
                "id",
                "type",
                "state",
                "priority",
                "team",
                "owner",
                "customer",
                "due (UTC)",
            ]);
            for t in tasks {
                table.row(vec![
                    t.id.to_string(),
                    t.task_type,
                    t.state,
                    t.priority,
                    terminal_safe(t.team.as_deref().unwrap_or("")),
                    terminal_safe(t.owner.as_deref().unwrap_or("")),
                    t.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                    format!(
                        "{}{}",
                        t.due_at.format("%Y-%m-%d %H:%M"),
                        if t.overdue { " overdue" } else { "" }
                    ),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        TasksCommand::Show { id } => {
            let task = store
                .task(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no task {id}"))?;
            println!("{}", serde_json::to_string_pretty(&task)?);
            Ok(())
        }
        TasksCommand::Close {
            id,
            resolution,
            note,
        } => {
            let task = store
                .task(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no task {id}"))?;
            anyhow::ensure!(task.state != "closed", "task {id} is closed already");
            let change = TaskChange {
                state: Some(TaskState::Closed),
                resolution: Some(resolution.as_str().to_owned()),
                note,
                ..TaskChange::default()
            };
            store.change_task(id, &change, chrono::Utc::now()).await?;
            println!("Closed task {id} ({resolution}).");
            Ok(())
        }
    }
}
