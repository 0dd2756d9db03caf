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

/// The stretch of whole UTC days a dashboard covers: `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// How the address names it: `30d`, `90d`, `365d`, `quarter`, or
    /// `custom` for chosen dates.
    pub key: &'static str,
}

/// Why a dashboard period was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    #[error("unknown period {0:?}: 30d, 90d, 365d or quarter")]
    UnknownPeriod(String),
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    BadDate(String),
    #[error("the period ends before it starts")]
    Backwards,
    #[error("a period of at most {MAX_SPAN_DAYS} days")]
    TooLong,
}

/// The longest custom period a dashboard takes.
pub const MAX_SPAN_DAYS: i64 = 3 * 366;

impl Span {
    /// The dashboard's period: `period` (`30d`, `90d`, `365d`: the last so
    /// many days, today included; `quarter`: this quarter so far), or the
    /// dates `from` to `to` (both included), or the last 90 days.
    pub fn parse(
        period: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: chrono::NaiveDate,
    ) -> Result<Span, SpanError> {
        let midnight = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
        let tomorrow = midnight(today + chrono::Duration::days(1));
        let date = |text: &str| {
            chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| SpanError::BadDate(text.to_owned()))
        };
        fn blank(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        if let (Some(from), Some(to)) = (blank(from), blank(to)) {
            let (first, last) = (date(from)?, date(to)?);
            if last < first {
                return Err(SpanError::Backwards);
            }
            if (last - first).num_days() + 1 > MAX_SPAN_DAYS {
                return Err(SpanError::TooLong);
            }
            return Ok(Span {
                from: midnight(first),
                to: midnight(last + chrono::Duration::days(1)),
                key: "custom",
            });
        }
        let last_days = |n: i64, key| Span {
            from: tomorrow - chrono::Duration::days(n),
            to: tomorrow,
            key,
        };
        match blank(period).unwrap_or("90d") {
            "30d" => Ok(last_days(30, "30d")),
            "90d" => Ok(last_days(90, "90d")),
            "365d" => Ok(last_days(365, "365d")),
            "quarter" => {
                let month = (today.month0() / 3) * 3 + 1;
                let first = chrono::NaiveDate::from_ymd_opt(today.year(), month, 1)
                    .expect("the first day of a quarter exists");
                Ok(Span {
                    from: midnight(first),
                    to: tomorrow,
                    key: "quarter",
                })
            }
            other => Err(SpanError::UnknownPeriod(other.to_owned())),
        }
    }

    /// Whole days covered.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    /// The period of equal length just before, which changes are measured against.
    pub fn previous(&self) -> Span {
        Span {
            from: self.from - (self.to - self.from),
            to: self.from,
            key: self.key,
        }
    }

    /// How finely its trend is cut: weeks up to a quarter, months beyond.
    pub fn granularity(&self) -> Granularity {
        if self.days() <= 92 {
            Granularity::Week
        } else {
            Granularity::Month
        }
    }

    /// Whether the trend's last period runs past the span's end (this
    /// week or month is not over yet), so its point is partial.
    pub fn ends_inside_a_period(&self, tz: Tz) -> bool {
        let g = self.granularity();
        let last = self.to - chrono::Duration::seconds(1);
        g.period_of(last, tz) == g.period_of(self.to, tz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dashboard_spans_are_whole_days_ending_today_or_the_dates_chosen() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        let span = Span::parse(None, None, None, today).unwrap();
        assert_eq!(
            (span.from, span.to, span.key),
            (at(2026, 9, 9), at(2026, 12, 8), "90d")
        );
        assert_eq!(span.days(), 90);
        assert_eq!(span.previous().to, span.from);
        assert_eq!(span.previous().days(), 90);
        assert_eq!(span.granularity(), Granularity::Week);
        let year = Span::parse(Some("365d"), None, None, today).unwrap();
        assert_eq!((year.days(), year.granularity()), (365, Granularity::Month));
        let quarter = Span::parse(Some("quarter"), None, None, today).unwrap();
        assert_eq!(
            (quarter.from, quarter.to),
            (at(2026, 10, 1), at(2026, 12, 8))
        );
        // 7 December 2026 is a Monday: its week and month go on after it.
        assert!(span.ends_inside_a_period(Tz::UTC));
        let custom =
            Span::parse(Some("30d"), Some("2025-04-01"), Some("2026-03-31"), today).unwrap();
        assert_eq!(
            (custom.from, custom.to, custom.key),
            (at(2025, 4, 1), at(2026, 4, 1), "custom")
        );
        assert_eq!(custom.granularity(), Granularity::Month);
        assert!(!custom.ends_inside_a_period(Tz::UTC), "March is whole");
        // A span ending on Sunday 1 March 2026 ends its ISO week too.
        let weeks = Span::parse(None, Some("2026-01-05"), Some("2026-03-01"), today).unwrap();
        assert_eq!(weeks.granularity(), Granularity::Week);
        assert!(!weeks.ends_inside_a_period(Tz::UTC));
        assert_eq!(
            Span::parse(Some("7y"), None, None, today),
            Err(SpanError::UnknownPeriod("7y".into()))
        );
        assert_eq!(
            Span::parse(None, Some("2026-02-01"), Some("2026-01-01"), today),
            Err(SpanError::Backwards)
        );
        assert_eq!(
            Span::parse(None, Some("2020-01-01"), Some("2026-01-01"), today),
            Err(SpanError::TooLong)
        );
        assert!(matches!(
            Span::parse(None, Some("1 Jan"), Some("2026-01-01"), today),
            Err(SpanError::BadDate(_))
        ));
        // Half a custom range is no range: the default period stands.
        assert_eq!(
            Span::parse(None, Some("2026-01-01"), Some(""), today)
                .unwrap()
                .key,
            "90d"
        );
    }

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
