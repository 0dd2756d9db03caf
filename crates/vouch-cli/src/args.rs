//! Argument types shared by several commands.

use chrono::{DateTime, Utc};

/// Today at 00:00 UTC: the default end of periods and of the demo.
pub fn today() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

pub use vouch_app::parse_time;

/// A confidence level strictly between 0 and 1.
pub fn parse_level(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(level) if level > 0.0 && level < 1.0 => Ok(level),
        _ => Err(format!(
            "{raw:?} is not a confidence level between 0 and 1, e.g. 0.95"
        )),
    }
}
