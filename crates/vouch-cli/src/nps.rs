use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use clap::Args;
use vouch_app::reports::{self, NpsReport, PeriodReport, SegmentReport};
use vouch_domain::Channel;
use vouch_domain::analytics::{Granularity, TrendSpec};
use vouch_store::{ResponseFilter, Segment, Store};

use crate::args::{parse_level, parse_time};
use crate::table::{Table, thousands};

#[derive(Args)]
pub struct NpsArgs {
    /// Break the NPS down: by period (day, week, month, quarter) or by
    /// segment (survey, channel, lang, attr:NAME such as attr:plan).
    #[arg(long, value_parser = parse_by)]
    by: Option<NpsBy>,
    /// Time zone for periods, e.g. Europe/Bucharest.
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    tz: Tz,
    /// With a period --by: each period shows the rolling window of this
    /// length ending with it, e.g. 90d or 12w.
    #[arg(long, value_parser = parse_window, requires = "by")]
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

#[derive(Clone)]
enum NpsBy {
    Period(Granularity),
    Segment(Segment),
}

fn parse_by(raw: &str) -> Result<NpsBy, String> {
    if let Ok(g) = raw.parse::<Granularity>() {
        return Ok(NpsBy::Period(g));
    }
    match raw {
        "survey" => Ok(NpsBy::Segment(Segment::Survey)),
        "channel" => Ok(NpsBy::Segment(Segment::Channel)),
        "lang" | "language" => Ok(NpsBy::Segment(Segment::Language)),
        _ => match raw.strip_prefix("attr:") {
            Some(name) if !name.is_empty() => {
                Ok(NpsBy::Segment(Segment::Attribute(name.to_owned())))
            }
            _ => Err(format!(
                "{raw:?}: use day, week, month, quarter, survey, channel, lang or attr:NAME"
            )),
        },
    }
}

fn parse_tz(raw: &str) -> Result<Tz, String> {
    raw.parse::<Tz>()
        .map_err(|_| format!("{raw:?} is not an IANA time zone such as UTC or Europe/Bucharest"))
}

fn parse_window(raw: &str) -> Result<Duration, String> {
    let bad = || format!("{raw:?} is not a window such as 90d or 12w");
    let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    match unit {
        "d" if n > 0 => Ok(Duration::days(n)),
        "w" if n > 0 => Ok(Duration::weeks(n)),
        _ => Err(bad()),
    }
}

fn parse_attribute(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("{raw:?} is not NAME=VALUE, e.g. plan=pro")),
    }
}

pub async fn run(store: &Store, args: NpsArgs) -> anyhow::Result<()> {
    let filter = args.filter.filter();
    match &args.by {
        None => print_total(&reports::nps(store, &filter, args.level).await?, args.json),
        Some(NpsBy::Period(granularity)) => {
            let spec = TrendSpec {
                granularity: *granularity,
                tz: args.tz,
                rolling: args.rolling,
            };
            print_periods(
                &reports::nps_trend(store, &filter, spec, args.level).await?,
                args.json,
                args.level,
            )
        }
        Some(NpsBy::Segment(segment)) => {
            if args.rolling.is_some() {
                anyhow::bail!("--rolling goes with a period --by (day, week, month, quarter)");
            }
            print_segments(
                &reports::nps_segments(store, &filter, segment, args.level).await?,
                args.json,
                args.level,
            )
        }
    }
}

fn print_total(report: &NpsReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
    }
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

fn print_periods(periods: &[PeriodReport], json: bool, level: f64) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "periods": periods }))?
        );
        return Ok(());
    }
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

fn print_segments(segments: &[SegmentReport], json: bool, level: f64) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "segments": segments }))?
        );
        return Ok(());
    }
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
