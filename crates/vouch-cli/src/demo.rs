use std::time::Instant;

use chrono::{DateTime, Utc};
use clap::Args;
use vouch_demo::DemoConfig;
use vouch_store::{ResponseFilter, Store};

use crate::args::parse_time;
use crate::table::thousands;

#[derive(Args)]
pub struct DemoArgs {
    /// How many customers to create.
    #[arg(long, default_value_t = 5_000)]
    customers: u64,
    /// How many months of monthly NPS waves, ending at --until.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Random seed: the same seed and --until give the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// End of the demo period [default: today, 00:00 UTC].
    #[arg(long, value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
}

impl DemoArgs {
    /// The defaults `vouch demo` uses.
    pub fn default_small() -> DemoArgs {
        DemoArgs {
            customers: 5_000,
            months: 12,
            seed: 1,
            until: None,
        }
    }
}

/// How much of the demo history the default playbooks run over.
const DEMO_PLAYBOOK_EVENTS: i64 = 1_500;

pub async fn run(store: &Store, args: DemoArgs) -> anyhow::Result<()> {
    let until = args.until.unwrap_or_else(crate::args::today);
    let config = DemoConfig {
        customers: args.customers,
        months: args.months,
        seed: args.seed,
        until,
    };
    // Drawn on stderr only when it is a terminal, so pipes and logs stay clean.
    let bar = crate::progress::bar(config.customers, "Generating demo data");
    let started = Instant::now();
    let summary = vouch_app::demo::load(store, &config, |done| bar.set_position(done)).await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    // Tag what was loaded (language, sentiment, topics), as imports will.
    bar.reset();
    bar.set_message("Tagging feedback");
    let tagging = Instant::now();
    let tagged = vouch_app::text::retag(store, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "Loaded demo data into {} in {seconds:.1} s: {} customers, {} survey responses, {} feedback items ({} to {}).",
        store.describe(),
        thousands(summary.customers),
        thousands(summary.responses),
        thousands(summary.feedback_items),
        config.start().format("%Y-%m-%d"),
        config.until.format("%Y-%m-%d"),
    );
    println!(
        "Tagged {} feedback items with language, sentiment and topics in {:.1} s.",
        thousands(tagged),
        tagging.elapsed().as_secs_f64()
    );
    let playbooks = Instant::now();
    let (runs, tasks) = vouch_app::demo::run_playbooks(
        store,
        &vouch_app::playbooks::RunSettings::default(),
        DEMO_PLAYBOOK_EVENTS,
    )
    .await?;
    println!(
        "Ran the default playbooks over the last {} events in {:.1} s: {} runs, {} close-the-loop tasks.",
        thousands(DEMO_PLAYBOOK_EVENTS as u64),
        playbooks.elapsed().as_secs_f64(),
        thousands(runs),
        thousands(tasks)
    );
    let program = vouch_app::demo::run_program(store, config.seed).await?;
    println!(
        "Started the advocate program: {} members, {} challenge stages handed in, {} redemptions, {} referrals ({} flagged for review).",
        thousands(program.members),
        thousands(program.submissions),
        thousands(program.redemptions),
        thousands(program.referrals),
        thousands(program.flagged)
    );
    let report = vouch_app::reports::nps(store, &ResponseFilter::default(), 0.95).await?;
    if let (Some(nps), Some(low), Some(high)) = (report.nps, report.ci_low, report.ci_high) {
        println!(
            "NPS {nps:+.1} (95% interval {low:+.1} to {high:+.1}) from {} answers: {} promoters, {} passives, {} detractors.",
            thousands(report.responses),
            thousands(report.promoters),
            thousands(report.passives),
            thousands(report.detractors)
        );
    }
    println!("Next: vouch nps --json · vouch customers list · vouch customers show ID");
    Ok(())
}
