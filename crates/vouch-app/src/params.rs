//! How the CLI's options and the API's query parameters are read: one
//! parser per kind of value, so both accept the same words.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use vouch_domain::analytics::Granularity;
use vouch_store::Segment;

/// A date (`2026-01-31`, midnight UTC) or an RFC 3339 time.
pub fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("{raw:?} is not a date like 2026-01-31 or a time like 2026-01-31T09:30:00Z")
        })
}

/// A confidence level strictly between 0 and 1, written as a decimal fraction: `0.95`, `.9`.
pub fn parse_level(raw: &str) -> Result<f64, String> {
    let bad = || format!("{raw:?} is not a confidence level between 0 and 1, e.g. 0.95");
    let digits = raw
        .strip_prefix("0.")
        .or_else(|| raw.strip_prefix('.'))
        .ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 17 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match raw.parse::<f64>() {
        Ok(level) if level > 0.0 && level < 1.0 => Ok(level),
        _ => Err(bad()),
    }
}

/// The period between two instants, earliest first; an empty period
/// (both the same) stays empty.
pub fn period(a: DateTime<Utc>, b: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    if a <= b { (a, b) } else { (b, a) }
}

/// How an NPS is broken down.
#[derive(Debug, Clone, PartialEq)]
pub enum Breakdown {
    Period(Granularity),
    Segment(Segment),
}

/// `day`, `week`, `month`, `quarter`, `survey`, `channel`, `lang` or `attr:NAME`.
pub fn parse_breakdown(raw: &str) -> Result<Breakdown, String> {
    if let Ok(g) = raw.parse::<Granularity>() {
        return Ok(Breakdown::Period(g));
    }
    match raw {
        "survey" => Ok(Breakdown::Segment(Segment::Survey)),
        "channel" => Ok(Breakdown::Segment(Segment::Channel)),
        "lang" | "language" => Ok(Breakdown::Segment(Segment::Language)),
        _ => match raw.strip_prefix("attr:") {
            Some(name) if !name.is_empty() => {
                Ok(Breakdown::Segment(Segment::Attribute(name.to_owned())))
            }
            _ => Err(format!(
                "{raw:?}: use day, week, month, quarter, survey, channel, lang or attr:NAME"
            )),
        },
    }
}

pub fn parse_tz(raw: &str) -> Result<Tz, String> {
    raw.parse::<Tz>()
        .map_err(|_| format!("{raw:?} is not an IANA time zone such as UTC or Europe/Bucharest"))
}

/// A window such as `90d` or `12w`.
pub fn parse_window(raw: &str) -> Result<Duration, String> {
    let bad = || format!("{raw:?} is not a window such as 90d or 12w");
    let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
    // Digits only, at most 9999 (days or weeks): beyond that no data exists.
    if number.is_empty() || number.len() > 4 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = number.parse().map_err(|_| bad())?;
    match unit {
        "d" if n > 0 => Ok(Duration::days(n)),
        "w" if n > 0 => Ok(Duration::weeks(n)),
        _ => Err(bad()),
    }
}

/// `NAME=VALUE`, such as `plan=pro`.
pub fn parse_attribute(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("{raw:?} is not NAME=VALUE, e.g. plan=pro")),
    }
}
