//! `vouch program`: the advocate program from the terminal: members,
//! points, the leaderboard, the approval and referral review queues.

use clap::Subcommand;
use vouch_domain::program::Period;
use vouch_domain::program::challenges::SubmissionState;
use vouch_domain::program::referrals::ReferralStatus;
use vouch_store::{ReferralFilter, Store};

use crate::table::{Table, terminal_safe};

#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Members, newest first, with their points and tier.
    ///
    /// Example: vouch program members --status active
    Members {
        /// active, paused, left or banned.
        #[arg(long)]
        status: Option<vouch_domain::program::MemberStatus>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per member instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Adds a customer (id, email or external id) to the program.
    ///
    /// Example: vouch program join ana@example.com
    Join { customer: String },
    /// Awards points (or takes them away, with a negative amount); the key
    /// makes a retry write nothing.
    ///
    /// Example: vouch program award 12 300 --reason "Spoke at our webinar" --key webinar-2026-11
    Award {
        member: i64,
        #[arg(allow_negative_numbers = true)]
        amount: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        key: String,
    },
    /// Members by points earned in a period; ties go to who got there first.
    ///
    /// Example: vouch program leaderboard --period quarter
    Leaderboard {
        /// week, month, quarter or all_time.
        #[arg(long, default_value = "month")]
        period: Period,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Challenge stages waiting for a person (or in another state).
    ///
    /// Example: vouch program submissions
    Submissions {
        /// submitted (the default), approved, resubmit or rejected.
        #[arg(long, default_value = "submitted")]
        state: SubmissionState,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Records referral conversions from a shop's CSV export: a header with
    /// `code` or `click`, `external_order_id` (or `order_id`), `value`,
    /// `currency`, and optionally `email` and `customer`. An order seen
    /// before is skipped, so an export can be imported again.
    ///
    /// Example: vouch program import-conversions orders-november.csv
    ImportConversions { file: std::path::PathBuf },
    /// Referrals: the review queue (flagged) by default, with the rules that fired.
    ///
    /// Example: vouch program referrals --status blocked
    Referrals {
        /// blocked, flagged, pending, approved or reversed.
        #[arg(long, default_value = "flagged")]
        status: ReferralStatus,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

pub async fn run(store: &Store, command: ProgramCommand) -> anyhow::Result<()> {
    let settings = vouch_app::program::settings(store).await?;
    match command {
        ProgramCommand::Members {
            status,
            limit,
            json,
        } => {
            let members = store.members(status, None, limit.clamp(1, 10_000)).await?;
            if json {
                for m in members {
                    println!(
                        "{}",
                        serde_json::to_string(&vouch_app::program::view(&settings, m))?
                    );
                }
                return Ok(());
            }
            if members.is_empty() {
                println!("No members yet. Add one: vouch program join EMAIL");
                return Ok(());
            }
            let mut table = Table::new(&[
                "id",
                "customer",
                "status",
                "trusted",
                "tier",
                "lifetime",
                "spendable",
            ]);
            for m in members {
                let v = vouch_app::program::view(&settings, m);
                table.row(vec![
                    v.member.id.to_string(),
                    v.member
                        .customer_id
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                    v.member.status.to_string(),
                    if v.member.trusted { "yes" } else { "no" }.to_owned(),
                    terminal_safe(&v.tier.unwrap_or_default()),
                    v.member.points.lifetime.to_string(),
                    v.member.points.spendable.to_string(),
                ]);
            }
            print!("{}", table.render());
        }
        ProgramCommand::Join { customer } => {
            let (m, joined) = vouch_app::program::join(
                store,
                &customer,
                vouch_domain::program::JoinedBy::Staff,
                false,
            )
            .await?;
            if joined {
                println!("Customer {customer} joined the program as member {}.", m.id);
            } else {
                println!("Customer {customer} is member {} already.", m.id);
            }
        }
        ProgramCommand::Award {
            member,
            amount,
            reason,
            key,
        } => {
            let award = vouch_app::program::Award {
                member,
                amount,
                reason,
                idempotency_key: format!("cli:{key}"),
                source: "cli".into(),
                actor: "cli".into(),
            };
            match vouch_app::program::award(store, &award).await? {
                Ok((entry, true)) => println!(
                    "Entry {}: {:+} points to member {member}.",
                    entry.id, entry.amount
                ),
                Ok((entry, false)) => println!(
                    "The key {key:?} wrote entry {} before ({:+} points); nothing new.",
                    entry.id, entry.amount
                ),
                Err(refused) => anyhow::bail!("{refused}"),
            }
        }
        ProgramCommand::Leaderboard { period, limit } => {
            let places = vouch_app::program::leaderboard(
                store,
                period,
                None,
                None,
                limit.clamp(1, 500),
                chrono::Utc::now(),
            )
            .await?;
            if places.is_empty() {
                println!("No points earned in this period yet.");
                return Ok(());
            }
            let mut table = Table::new(&["rank", "member", "name", "points"]);
            for p in places {
                table.row(vec![
                    p.rank.to_string(),
                    p.member_id.to_string(),
                    terminal_safe(&p.name),
                    p.points.to_string(),
                ]);
            }
            print!("{}", table.render());
        }
        ProgramCommand::Submissions { state, limit } => {
            let found = store
                .submissions(Some(state), None, limit.clamp(1, 500))
                .await?;
            if found.is_empty() {
                println!("No {state} submissions.");
                return Ok(());
            }
            let mut table =
                Table::new(&["id", "challenge", "member", "stage", "handed in", "what"]);
            for s in found {
                table.row(vec![
                    s.id.to_string(),
                    s.challenge_id.to_string(),
                    s.member_id.to_string(),
                    (s.stage + 1).to_string(),
                    s.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    terminal_safe(
                        &s.url
                            .or(s.answer)
                            .or(s.file_name)
                            .unwrap_or_default()
                            .chars()
                            .take(60)
                            .collect::<String>(),
                    ),
                ]);
            }
            print!("{}", table.render());
            println!(
                "Decide with PATCH /api/v1/program/submissions/ID {{\"decision\": \"approve\"}}."
            );
        }
        ProgramCommand::ImportConversions { file } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let rows = vouch_ingest::read_conversions(std::io::BufReader::new(input))
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let summary = vouch_app::program::import_conversions(store, rows).await?;
            let new: u64 = summary.new.values().sum();
            let by_status = summary
                .new
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "{}: {new} new referrals{}, {} seen before, {} rows refused.",
                file.display(),
                if new > 0 {
                    format!(" ({by_status})")
                } else {
                    String::new()
                },
                summary.seen,
                summary.refused.len()
            );
            for (line, reason) in summary.refused.iter().take(20) {
                println!("  {}:{line}: {}", file.display(), terminal_safe(reason));
            }
            if summary.refused.len() > 20 {
                println!("  … and {} more", summary.refused.len() - 20);
            }
        }
        ProgramCommand::Referrals { status, limit } => {
            let found = store
                .referrals(&ReferralFilter {
                    status: Some(status),
                    limit: limit.clamp(1, 500),
                    ..ReferralFilter::default()
                })
                .await?;
            if found.is_empty() {
                println!("No {status} referrals.");
                return Ok(());
            }
            let mut table = Table::new(&["id", "member", "order", "value", "review by", "signals"]);
            for r in found {
                table.row(vec![
                    r.id.to_string(),
                    r.member_id.to_string(),
                    terminal_safe(&r.external_order_id),
                    format!("{:.2} {}", r.value_cents as f64 / 100.0, r.currency),
                    r.review_due
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    r.signals
                        .iter()
                        .map(|s| format!("{} ({})", s.rule, s.action))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
            }
            print!("{}", table.render());
        }
    }
    Ok(())
}
