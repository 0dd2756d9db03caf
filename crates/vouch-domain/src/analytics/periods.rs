//! Calendar periods for trends, in the company's time zone.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::names::named_enum;

named_enum! {
    /// How finely a trend is bucketed.
    pub enum Granularity as "period" {
        Day = "day",
        Week = "week",
        Month = "month",
        Quarter = "quarter",
    }
}

/// A period label that sorts in time order: `2026-01-31`, `2026-W05`
/// (ISO week, ISO year), `2026-01`, `2026-Q1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PeriodKey(pub String);

impl Granularity {
    /// The period that `at` falls in, as seen on a wall clock in `tz`.
    pub fn period_of(self, at: DateTime<Utc>, tz: Tz) -> PeriodKey {
        let local = at.with_timezone(&tz).date_naive();
        PeriodKey(match self {
            Granularity::Day => local.format("%Y-%m-%d").to_string(),
            Granularity::Week => {
                let week = local.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            Granularity::Month => format!("{}-{:02}", local.year(), local.month()),
            Granularity::Quarter => format!("{}-Q{}", local.year(), (local.month() - 1) / 3 + 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn periods_follow_the_local_calendar() {
        // 22:30 UTC on 31 December is already New Year in Bucharest (UTC+2).
        let at = Utc.with_ymd_and_hms(2025, 12, 31, 22, 30, 0).unwrap();
        assert_eq!(Granularity::Month.period_of(at, Tz::UTC).0, "2025-12");
        assert_eq!(
            Granularity::Month
                .period_of(at, chrono_tz::Europe::Bucharest)
                .0,
            "2026-01"
        );
        assert_eq!(Granularity::Day.period_of(at, Tz::UTC).0, "2025-12-31");
        assert_eq!(Granularity::Quarter.period_of(at, Tz::UTC).0, "2025-Q4");
        // 31 December 2025 is a Wednesday in ISO week 1 of 2026.
        assert_eq!(Granularity::Week.period_of(at, Tz::UTC).0, "2026-W01");
    }
}
