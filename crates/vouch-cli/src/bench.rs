//! `vouch bench`: measures the speed targets on data it generates itself.

use std::time::{Duration as StdDuration, Instant};

use chrono::Months;
use clap::{Args, Subcommand};
use vouch_demo::synthetic_answer;
use vouch_domain::analytics::{Granularity, TrendSpec};
use vouch_domain::{Answer, Locale, SurveyKind};
use vouch_store::{ResponseFilter, Store};

use crate::table::thousands;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// NPS by month over many answers: the rollup path that `vouch nps --by
    /// month` takes, against a plain GROUP BY over the responses table.
    ///
    /// Fills the database with anonymous NPS answers first if it holds
    /// fewer than --responses (so re-runs reuse the file). Use a database of its own.
    ///
    /// Example: vouch --db /tmp/bench.db bench nps --responses 10000000
    Nps(NpsBenchArgs),
    /// Prepares the survey-answer load test (bench/answer_speed.sh): a
    /// survey, COUNT customers each with an invitation, and their tokens,
    /// one per line, in --tokens. Use a database of its own.
    ///
    /// Example: vouch --db /tmp/answers.db bench invitations --count 200000 --tokens /tmp/tokens.txt
    Invitations(InvitationBenchArgs),
}

#[derive(Args)]
pub struct InvitationBenchArgs {
    #[arg(long, default_value_t = 200_000)]
    count: u64,
    /// Where to write the tokens.
    #[arg(long)]
    tokens: std::path::PathBuf,
}

#[derive(Args)]
pub struct NpsBenchArgs {
    /// How many NPS answers the database should hold.
    #[arg(long, default_value_t = 10_000_000)]
    responses: u64,
    /// Spread the answers over this many months, ending today.
    #[arg(long, default_value_t = 24)]
    months: u32,
    /// How many times to time each query.
    #[arg(long, default_value_t = 30)]
    runs: usize,
}

pub async fn run(store: &Store, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Nps(args) => nps(store, args).await,
        BenchCommand::Invitations(args) => invitations(store, args).await,
    }
}

async fn invitations(store: &Store, args: InvitationBenchArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let survey = vouch_app::surveys::create_survey(
        store,
        SurveyKind::Nps,
        &format!(
            "Answer load test {}",
            vouch_app::secrets::new_secret()[..8].to_owned()
        ),
        Default::default(),
    )
    .await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.tokens)?);
    let now = chrono::Utc::now();
    let bar = crate::progress::bar(args.count, "Inviting");
    let mut next = 0;
    while next < args.count {
        let last = (next + 5_000).min(args.count);
        let customers: Vec<vouch_domain::CustomerProfile> = (next..last)
            .map(|i| {
                let mut c = vouch_domain::CustomerProfile::new(Locale::english(), now);
                c.email = vouch_domain::Email::parse(&format!(
                    "load-{}-{i}@example.com",
                    survey.survey.id.0
                ))
                .ok();
                c
            })
            .collect();
        let ids = store.insert_customers(&customers).await?;
        let tokens: Vec<String> = ids
            .iter()
            .map(|_| vouch_app::secrets::new_secret())
            .collect();
        let invitations: Vec<vouch_store::NewInvitation> = ids
            .iter()
            .zip(&tokens)
            .map(|(id, token)| vouch_store::NewInvitation {
                survey_id: survey.survey.id,
                customer_id: *id,
                token_hash: vouch_app::secrets::secret_hash(token),
                locale: Locale::english(),
            })
            .collect();
        store.add_invitations(&invitations, now).await?;
        for token in tokens {
            writeln!(out, "{token}")?;
        }
        bar.inc(last - next);
        next = last;
    }
    bar.finish_and_clear();
    println!(
        "{} invitations to survey {} ({}); tokens in {}",
        thousands(args.count),
        survey.survey.id.0,
        survey.survey.name,
        args.tokens.display()
    );
    Ok(())
}

async fn nps(store: &Store, args: NpsBenchArgs) -> anyhow::Result<()> {
    let to = crate::args::today();
    let from = to
        .checked_sub_months(Months::new(args.months))
        .unwrap_or(to);
    let surveys = [
        store
            .ensure_survey(SurveyKind::Nps, "Benchmark NPS A", from)
            .await?
            .id,
        store
            .ensure_survey(SurveyKind::Nps, "Benchmark NPS B", from)
            .await?
            .id,
    ];
    let have = store
        .nps_tally(&ResponseFilter::default())
        .await?
        .responses();
    if have < args.responses {
        let bar = crate::progress::bar(args.responses - have, "Generating answers");
        let started = Instant::now();
        let locales = [
            Locale::parse("en").expect("constant"),
            Locale::parse("ro").expect("constant"),
        ];
        let mut next = have;
        while next < args.responses {
            let last = (next + 20_000).min(args.responses);
            let answers: Vec<Answer> = (next..last)
                .map(|i| {
                    let s = synthetic_answer(7, i, args.responses, from, to);
                    Answer {
                        survey_id: surveys[s.survey],
                        customer_id: None,
                        score: s.score,
                        comment: None,
                        channel: s.channel,
                        locale: Some(locales[usize::from(s.language == "ro")].clone()),
                        answered_at: s.answered_at,
                        metadata: Default::default(),
                    }
                })
                .collect();
            store.insert_answers(&answers).await?;
            bar.inc(last - next);
            next = last;
        }
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "Generated {} answers in {seconds:.1} s ({:.0} answers/s, rollup kept by triggers)",
            thousands(args.responses - have),
            (args.responses - have) as f64 / seconds
        );
    }
    let total = store
        .nps_tally(&ResponseFilter::default())
        .await?
        .responses();
    println!(
        "{} holds {} NPS answers from {} to {}",
        store.describe(),
        thousands(total),
        from.format("%Y-%m-%d"),
        to.format("%Y-%m-%d")
    );

    let spec = TrendSpec {
        granularity: Granularity::Month,
        tz: chrono_tz::Tz::UTC,
        rolling: None,
    };
    let rollup = ResponseFilter::default();
    let raw = ResponseFilter {
        skip_rollup: true,
        ..Default::default()
    };
    let fast = time_runs(args.runs, || {
        vouch_app::reports::nps_trend(store, &rollup, spec, 0.95)
    })
    .await?;
    let slow = time_runs(3, || vouch_app::reports::nps_trend(store, &raw, spec, 0.95)).await?;
    anyhow::ensure!(fast.1 == slow.1, "the rollup and the raw answers disagree");
    let ms = |d: StdDuration| d.as_secs_f64() * 1000.0;
    println!(
        "nps --by month via the rollup:        median {:.2} ms, p95 {:.2} ms, min {:.2} ms ({} runs)",
        ms(fast.0[fast.0.len() / 2]),
        ms(fast.0[fast.0.len() * 95 / 100]),
        ms(fast.0[0]),
        args.runs
    );
    println!(
        "same answer via GROUP BY on responses: median {:.0} ms (3 runs)",
        ms(slow.0[1])
    );
    println!(
        "speed-up: {:.0}x; {} months, identical numbers",
        ms(slow.0[1]) / ms(fast.0[fast.0.len() / 2]),
        fast.1
    );
    Ok(())
}

/// Runs `query` `runs` times; returns the sorted durations and the number of periods.
async fn time_runs<F, Fut>(runs: usize, query: F) -> anyhow::Result<(Vec<StdDuration>, usize)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = vouch_app::Result<Vec<vouch_app::reports::PeriodReport>>>,
{
    let mut durations = Vec::with_capacity(runs);
    let mut periods = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        periods = query().await?.len();
        durations.push(started.elapsed());
    }
    durations.sort();
    Ok((durations, periods))
}
