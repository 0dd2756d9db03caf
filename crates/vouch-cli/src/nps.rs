use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use clap::Args;
use vouch_app::reports::{self, NpsBreakdown, NpsReport, PeriodReport, SegmentReport};
use vouch_domain::Channel;
use vouch_store::{ResponseFilter, Store};

use crate::args::{parse_level, parse_time};
use crate::table::{Table, thousands};
use vouch_app::params::{Breakdown, parse_attribute, parse_breakdown, parse_tz, parse_window};

#[derive(Args)]
pub struct NpsArgs {
    /// Break the NPS down: by period (day, week, month, quarter) or by
    /// segment (survey, channel, lang, attr:NAME such as attr:plan).
    #[arg(long, value_parser = parse_breakdown)]
    by: Option<Breakdown>,
    /// Time zone for periods, e.g. Europe/Bucharest.
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    tz: Tz,
    /// With a period --by: each period shows the rolling window of this
    /// length ending with it, e.g. 90d or 12w; otherwise only the answers
    /// of the window ending with --to (or now) count.
    #[arg(long, value_parser = parse_window)]
    rolling: Option<Duration>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Confidence level of the intervals.
    #[arg(long, default_value = "0.95", value_parser = parse_level)]
    level: f64,
    /// Print JSON: one object, or {"periods": […]} / {"segments": […]} with --by.
    #[arg(long)]
    json: bool,
}

/// Which answers count. Repeat an option to allow several values.
#[derive(Args)]
pub struct FilterArgs {
    /// Answers from this date or time on (inclusive).
    #[arg(long, value_parser = parse_time)]
    from: Option<DateTime<Utc>>,
    /// Answers before this date or time (exclusive).
    #[arg(long, value_parser = parse_time)]
    to: Option<DateTime<Utc>>,
    /// Only this survey (by name).
    #[arg(long = "survey", value_name = "NAME")]
    surveys: Vec<String>,
    /// Only this channel: email, link, widget, in_app, api, import.
    #[arg(long = "channel", value_name = "CHANNEL")]
    channels: Vec<Channel>,
    /// Only answers in this language (en, ro…).
    #[arg(long = "lang", value_name = "LANG")]
    languages: Vec<String>,
    /// Only customers with this attribute, e.g. --where plan=pro.
    #[arg(long = "where", value_name = "NAME=VALUE", value_parser = parse_attribute)]
    attributes: Vec<(String, String)>,
}

impl FilterArgs {
    fn filter(&self) -> ResponseFilter {
        ResponseFilter {
            from: self.from,
            to: self.to,
            surveys: self.surveys.clone(),
            channels: self.channels.clone(),
            languages: self.languages.iter().map(|l| l.to_lowercase()).collect(),
            attributes: self.attributes.clone(),
            skip_rollup: false,
        }
    }
}

pub async fn run(store: &Store, args: NpsArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    let answer = reports::nps_by(
        store,
        &filter,
        args.by.as_ref(),
        args.tz,
        args.rolling,
        args.level,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&answer)?);
        return Ok(());
    }
    match &answer {
        NpsBreakdown::Total(report) => print_total(report),
        NpsBreakdown::Periods { periods } => print_periods(periods, args.level),
        NpsBreakdown::Segments { segments } => print_segments(segments, args.level),
    }
}

fn print_total(report: &NpsReport) -> anyhow::Result<()> {
    match (report.nps, report.ci_low, report.ci_high) {
        (Some(nps), Some(low), Some(high)) => println!(
            "NPS {nps:+.1}  ({:.0}% interval {low:+.1} to {high:+.1})\n{} answers: {} promoters, {} passives, {} detractors",
            report.level * 100.0,
            thousands(report.responses),
            thousands(report.promoters),
            thousands(report.passives),
            thousands(report.detractors)
        ),
        _ => println!("No NPS answers match, so no score."),
    }
    Ok(())
}

/// The cells every NPS row shows, under `NPS_HEADERS`, after its label.
fn nps_cells(r: &NpsReport) -> Vec<String> {
    let (nps, range) = match (r.nps, r.ci_low, r.ci_high) {
        (Some(nps), Some(low), Some(high)) => {
            (format!("{nps:+.1}"), format!("{low:+.1} to {high:+.1}"))
        }
        _ => ("–".to_owned(), String::new()),
    };
    vec![
        nps,
        range,
        thousands(r.responses),
        thousands(r.promoters),
        thousands(r.passives),
        thousands(r.detractors),
    ]
}

/// The headers of `nps_cells`; the interval's names its level.
fn nps_headers(level: f64) -> Vec<String> {
    [
        ">nps",
        &format!("{:.0}% interval", level * 100.0),
        ">answers",
        ">promoters",
        ">passives",
        ">detractors",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn print_periods(periods: &[PeriodReport], level: f64) -> anyhow::Result<()> {
    let headers: Vec<String> = std::iter::once("period".to_owned())
        .chain(nps_headers(level))
        .chain([">change".to_owned(), "significant".to_owned()])
        .collect();
    let mut table = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for p in periods {
        let mut row = vec![p.period.clone()];
        row.extend(nps_cells(&p.nps));
        row.extend([
            p.change
                .map(|c| format!("{:+.1}", c.delta))
                .unwrap_or_default(),
            p.change
                .map(|c| {
                    if c.significant {
                        format!("yes (p={:.3})", c.p_value)
                    } else {
                        format!("no (p={:.2})", c.p_value)
                    }
                })
                .unwrap_or_default(),
        ]);
        table.row(row);
    }
    print!("{}", table.render());
    Ok(())
}

fn print_segments(segments: &[SegmentReport], level: f64) -> anyhow::Result<()> {
    let headers: Vec<String> = std::iter::once("segment".to_owned())
        .chain(nps_headers(level))
        .collect();
    let mut table = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for s in segments {
        let mut row = vec![s.segment.clone()];
        row.extend(nps_cells(&s.nps));
        table.row(row);
    }
    print!("{}", table.render());
    Ok(())
}
