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

pub use vouch_app::params::{parse_level, parse_time};
