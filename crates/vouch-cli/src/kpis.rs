use chrono::{DateTime, Duration, Utc};
use clap::Args;
use vouch_domain::DEFAULT_LOOKBACK_DAYS;
use vouch_store::Store;

use crate::args::{parse_level, parse_time, today};
use crate::table::{Table, thousands};

#[derive(Args)]
pub struct KpiArgs {
    /// Start of the period [default: 90 days before --to].
    #[arg(long, value_parser = parse_time)]
    from: Option<DateTime<Utc>>,
    /// End of the period, exclusive [default: today, 00:00 UTC].
    #[arg(long, value_parser = parse_time)]
    to: Option<DateTime<Utc>>,
    #[arg(long, default_value = "0.95", value_parser = parse_level)]
    level: f64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TransitionArgs {
    /// The earlier date: each customer's category then…
    #[arg(long, value_parser = parse_time)]
    from: DateTime<Utc>,
    /// …against their category at this date.
    #[arg(long, value_parser = parse_time)]
    to: DateTime<Utc>,
    /// How long an answer or review keeps defining a category.
    #[arg(long, default_value_t = DEFAULT_LOOKBACK_DAYS)]
    lookback_days: i64,
    /// Print JSON: {"matrix": [{"from", "to", "customers", "share"}, …]}.
    #[arg(long)]
    json: bool,
}

pub async fn run_kpis(store: &Store, args: KpiArgs) -> anyhow::Result<()> {
    let to = args.to.unwrap_or_else(today);
    let from = args.from.unwrap_or(to - Duration::days(90));
    let (from, to) = vouch_app::params::period(from, to);
    let report = vouch_app::reports::kpis(
        store,
        from,
        to,
        args.level,
        Duration::days(DEFAULT_LOOKBACK_DAYS),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "KPIs from {} to {}\n",
        from.format("%Y-%m-%d"),
        to.format("%Y-%m-%d")
    );
    let mut table = Table::new(&["kpi", ">value", "detail"]);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".to_owned());
    let nps = &report.nps;
    table.row(vec![
        "NPS".into(),
        or_dash(nps.nps.map(|v| format!("{v:+.1}"))),
        match (nps.ci_low, nps.ci_high) {
            (Some(l), Some(h)) => format!(
                "{:.0}% interval {l:+.1} to {h:+.1}, {} answers",
                args.level * 100.0,
                thousands(nps.responses)
            ),
            _ => "no answers".into(),
        },
    ]);
    table.row(vec![
        "NPS change".into(),
        or_dash(report.nps_change.map(|c| format!("{:+.1}", c.delta))),
        report
            .nps_change
            .map(|c| {
                format!(
                    "vs previous period ({}), p = {:.3}, {}",
                    or_dash(report.previous_nps.nps.map(|v| format!("{v:+.1}"))),
                    c.p_value,
                    if c.significant {
                        "significant"
                    } else {
                        "not significant"
                    }
                )
            })
            .unwrap_or_default(),
    ]);
    table.row(vec![
        "CSAT".into(),
        or_dash(report.csat.map(|c| format!("{:.1}%", c.csat))),
        report
            .csat
            .map(|c| {
                format!(
                    "interval {:.1}% to {:.1}%, mean {:.2}/5, {} answers",
                    c.ci_low, c.ci_high, c.mean, c.responses
                )
            })
            .unwrap_or_default(),
    ]);
    table.row(vec![
        "CES".into(),
        or_dash(report.ces.map(|c| format!("{:.2}", c.ces))),
        report
            .ces
            .map(|c| format!("of 7, {} answers", c.responses))
            .unwrap_or_default(),
    ]);
    table.row(vec![
        "Response rate".into(),
        "–".into(),
        "needs invitations sent by Vouch".into(),
    ]);
    let rate = |r: &vouch_app::reports::Rate, what: &str| {
        vec![
            what.to_owned(),
            or_dash(r.rate.map(|v| format!("{:.1}%", 100.0 * v))),
            format!("{} of {}", thousands(r.numerator), thousands(r.denominator)),
        ]
    };
    table.row(rate(&report.retention, "Retention"));
    table.row(rate(&report.referral, "Referral rate"));
    for m in &report.referral_revenue {
        table.row(vec![
            format!("Referral revenue ({})", m.currency),
            format!("{}.{:02}", thousands((m.cents / 100) as u64), m.cents % 100),
            "approved referred orders".into(),
        ]);
    }
    let c = report.categories;
    table.row(vec![
        "Customers".into(),
        thousands(c.promoters + c.passives + c.detractors + c.none),
        format!(
            "{} promoters, {} passives, {} detractors, {} without a category",
            thousands(c.promoters),
            thousands(c.passives),
            thousands(c.detractors),
            thousands(c.none)
        ),
    ]);
    for r in &report.reviews {
        table.row(vec![
            format!("Reviews: {}", r.platform),
            thousands(r.reviews),
            format!("mean {:.1}★", r.mean_rating),
        ]);
    }
    for s in &report.social {
        table.row(vec![
            format!("Social: {}", s.platform),
            thousands(s.mentions),
            format!(
                "{} likes, {} shares, {} comments",
                thousands(s.likes),
                thousands(s.shares),
                thousands(s.comments)
            ),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

pub async fn run_transitions(store: &Store, args: TransitionArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.lookback_days > 0, "--lookback-days must be positive");
    let report = vouch_app::reports::transitions(
        store,
        args.from,
        args.to,
        Duration::days(args.lookback_days),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "Customers by category on {} (rows) and on {} (columns); row shares in brackets\n",
        args.from.format("%Y-%m-%d"),
        args.to.format("%Y-%m-%d")
    );
    let mut table = Table::new(&["from \\ to", ">promoter", ">passive", ">detractor", ">none"]);
    for row in report.matrix.chunks(4) {
        let mut cells = vec![row[0].from.as_str().to_owned()];
        cells.extend(
            row.iter()
                .map(|c| format!("{} ({:.0}%)", thousands(c.customers), 100.0 * c.share)),
        );
        table.row(cells);
    }
    print!("{}", table.render());
    Ok(())
}
