//! `vouch goals`: SMART goals on the KPIs, with honest progress.

use clap::Subcommand;
use vouch_app::goals::{Goal, GoalSegment, NewGoal};
use vouch_app::playbooks::RunSettings;
use vouch_domain::goals::{Cadence, Direction, GoalKpi};
use vouch_store::Store;

use crate::table::{Table, terminal_safe};

#[derive(Subcommand)]
pub enum GoalsCommand {
    /// Every goal, the nearest deadline first: current value with its 95%
    /// interval, target and status.
    List {
        /// Print JSON (the API's `GET /api/v1/goals`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One goal with its check-ins.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Set a goal; its baseline is measured now, over the 90 days before.
    ///
    /// KPIs: nps, csat, ces, response_rate, retention, referral_rate,
    /// review_volume, review_rating, social_engagement,
    /// close_the_loop_in_sla, active_advocates, promoters_enrolled,
    /// referral_conversions. Shares are in percent.
    ///
    /// Status: achieved only when the interval clears the target; until
    /// three check-ins give a trend, on_track while the interval reaches
    /// the straight path from the baseline to the target; then on_track,
    /// at_risk or off_track from the trend projected to the deadline;
    /// missed after it.
    ///
    /// Examples:
    ///   vouch goals add --kpi nps --target 20 --deadline 2027-06-30 --owner "Maria" \
    ///     --attribute plan=pro --specific "NPS of pro customers from +12 to +20" \
    ///     --relevant "Pro customers refer the most"
    ///   vouch goals add --kpi review_rating --platform trustpilot --target 4.5 --deadline 2027-03-31 --owner "Ion"
    #[command(verbatim_doc_comment)]
    Add {
        #[arg(long)]
        kpi: GoalKpi,
        #[arg(long, allow_negative_numbers = true)]
        target: f64,
        /// YYYY-MM-DD.
        #[arg(long)]
        deadline: chrono::NaiveDate,
        #[arg(long)]
        owner: String,
        /// Default: towards the target from the baseline.
        #[arg(long)]
        direction: Option<Direction>,
        /// Default: weekly.
        #[arg(long)]
        cadence: Option<Cadence>,
        /// Review KPIs: one platform.
        #[arg(long)]
        platform: Option<String>,
        /// Survey KPIs: only these surveys (repeatable).
        #[arg(long = "survey")]
        surveys: Vec<String>,
        /// Survey KPIs: customers whose attribute matches (KEY=VALUE, repeatable).
        #[arg(long = "attribute", value_parser = key_value)]
        attributes: Vec<(String, String)>,
        /// Survey KPIs: answers in this language (repeatable).
        #[arg(long = "language")]
        languages: Vec<String>,
        #[arg(long, default_value = "")]
        specific: String,
        #[arg(long, default_value = "")]
        relevant: String,
    },
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

fn interval(goal: &Goal) -> String {
    goal.current.map_or_else(
        || "–".to_owned(),
        |m| format!("{:.1} ({:.1} … {:.1})", m.value, m.ci_low, m.ci_high),
    )
}

pub async fn run(
    store: &Store,
    settings: &RunSettings,
    command: GoalsCommand,
) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    match command {
        GoalsCommand::List { json } => {
            let goals = vouch_app::goals::goals(store, today).await?;
            if json {
                println!("{}", serde_json::json!({ "goals": goals }));
            } else if goals.is_empty() {
                println!("No goals yet. Set one with: vouch goals add --help");
            } else {
                let mut table = Table::new(&[
                    "id",
                    "KPI",
                    "current (95%)",
                    "target",
                    "deadline",
                    "status",
                    "owner",
                ]);
                for g in &goals {
                    table.row(vec![
                        g.id.to_string(),
                        g.kpi.to_string(),
                        interval(g),
                        format!("{}", g.target),
                        g.deadline.to_string(),
                        g.status.to_string(),
                        terminal_safe(&g.owner),
                    ]);
                }
                print!("{}", table.render());
            }
        }
        GoalsCommand::Show { id, json } => {
            let goal = vouch_app::goals::goal(store, id, today)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no goal {id}: see vouch goals list"))?;
            if json {
                println!("{}", serde_json::to_string(&goal)?);
            } else {
                println!(
                    "Goal {}: {} {} from {:.1} to {} by {} (owner {})",
                    goal.id,
                    goal.direction,
                    goal.kpi,
                    goal.baseline.value,
                    goal.target,
                    goal.deadline,
                    terminal_safe(&goal.owner)
                );
                println!(
                    "Status: {}; now {}; the path is at {:.1} today",
                    goal.status,
                    interval(&goal),
                    goal.expected_now
                );
                let mut table = Table::new(&["day", "value", "95% interval", "status"]);
                for c in &goal.checkins {
                    table.row(vec![
                        c.day.to_string(),
                        c.value.map_or("–".into(), |v| format!("{v:.1}")),
                        match (c.ci_low, c.ci_high) {
                            (Some(l), Some(h)) => format!("{l:.1} … {h:.1}"),
                            _ => "–".into(),
                        },
                        c.status.to_string(),
                    ]);
                }
                print!("{}", table.render());
            }
        }
        GoalsCommand::Add {
            kpi,
            target,
            deadline,
            owner,
            direction,
            cadence,
            platform,
            surveys,
            attributes,
            languages,
            specific,
            relevant,
        } => {
            let new = NewGoal {
                kpi,
                platform,
                segment: GoalSegment {
                    surveys,
                    channels: Vec::new(),
                    languages,
                    attributes: attributes.into_iter().collect(),
                },
                target,
                direction,
                start: None,
                deadline,
                owner,
                cadence,
                specific,
                relevant,
            };
            let goal = vouch_app::goals::set_goal(store, settings, &new, today).await?;
            println!(
                "Goal {} set: {} {} from {} to {} by {}; status {}. Check-ins run {} while vouch serve runs.",
                goal.id,
                goal.direction,
                goal.kpi,
                interval(&goal),
                goal.target,
                goal.deadline,
                goal.status,
                goal.cadence
            );
        }
    }
    Ok(())
}
