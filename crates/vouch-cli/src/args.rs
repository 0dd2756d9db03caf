//! Argument types shared by several commands.

use chrono::{DateTime, NaiveDate, Utc};

/// Today at 00:00 UTC: the default end of periods and of the demo.
pub fn today() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// A date (`2026-01-31`, midnight UTC) or an RFC 3339 time.
pub fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
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

/// A confidence level strictly between 0 and 1.
pub fn parse_level(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(level) if level > 0.0 && level < 1.0 => Ok(level),
        _ => Err(format!(
            "{raw:?} is not a confidence level between 0 and 1, e.g. 0.95"
        )),
    }
}
