//! NPS trends: pre-aggregated tallies bucketed into calendar periods in a
//! time zone, optionally as rolling windows.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::{Granularity, NpsTally, PeriodKey};

/// One period of a trend: its tally and the tally it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub period: PeriodKey,
    pub tally: NpsTally,
    /// The previous period's tally; for rolling windows, the window of the
    /// same length just before this one (so the two never overlap).
    pub previous: Option<NpsTally>,
}

/// How a trend is cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendSpec {
    pub granularity: Granularity,
    pub tz: Tz,
    /// When set, each period shows the window of this length ending with the period.
    pub rolling: Option<Duration>,
}

/// Buckets dated tallies (`at` = start of a bucket that lies within one
/// local period) into periods, in time order, including empty periods between
/// the first and the last one. Only periods starting at or after `emit_from`
/// are returned; earlier buckets still feed rolling windows and comparisons.
pub fn trend(
    buckets: &[(DateTime<Utc>, NpsTally)],
    spec: TrendSpec,
    emit_from: Option<DateTime<Utc>>,
    emit_to: Option<DateTime<Utc>>,
) -> Vec<TrendPoint> {
    let mut buckets: Vec<(DateTime<Utc>, NpsTally)> = buckets.to_vec();
    buckets.sort_by_key(|b| b.0);
    let (Some(first), Some(last)) = (buckets.first().map(|b| b.0), buckets.last().map(|b| b.0))
    else {
        return Vec::new();
    };
    let first = emit_from.map_or(first, |from| from.max(first));
    let last = emit_to.map_or(last, |to| (to - Duration::seconds(1)).min(last));
    if first > last {
        return Vec::new();
    }

    let periods = periods_between(first, last, spec.granularity, spec.tz);
    let sum_between = |from: DateTime<Utc>, to: DateTime<Utc>| -> NpsTally {
        let start = buckets.partition_point(|b| b.0 < from);
        let end = buckets.partition_point(|b| b.0 < to);
        buckets[start..end].iter().map(|b| b.1).sum()
    };
    let mut points: Vec<TrendPoint> = Vec::with_capacity(periods.len());
    for (i, (key, start, end)) in periods.iter().enumerate() {
        let point = match spec.rolling {
            Some(window) => TrendPoint {
                period: key.clone(),
                tally: sum_between(*end - window, *end),
                previous: Some(sum_between(*end - window - window, *end - window)),
            },
            None => TrendPoint {
                period: key.clone(),
                tally: sum_between(*start, *end),
                previous: if i == 0 {
                    let (_, previous_start, _) =
                        period_containing(*start - Duration::seconds(1), spec.granularity, spec.tz);
                    Some(sum_between(previous_start, *start))
                } else {
                    Some(points[i - 1].tally)
                },
            },
        };
        points.push(point);
    }
    points
}

/// Every period from the one holding `first` to the one holding `last`:
/// (key, start, end) with UTC instants of the local period boundaries.
fn periods_between(
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    granularity: Granularity,
    tz: Tz,
) -> Vec<(PeriodKey, DateTime<Utc>, DateTime<Utc>)> {
    let mut periods = Vec::new();
    let mut period = period_containing(first, granularity, tz);
    loop {
        let end = period.2;
        periods.push(period);
        if end > last {
            break;
        }
        period = period_containing(end, granularity, tz);
    }
    periods
}

/// The period holding `at`: its key and its start and end as UTC instants.
pub fn period_containing(
    at: DateTime<Utc>,
    granularity: Granularity,
    tz: Tz,
) -> (PeriodKey, DateTime<Utc>, DateTime<Utc>) {
    use chrono::Datelike;
    let date = at.with_timezone(&tz).date_naive();
    let start_date = match granularity {
        Granularity::Day => date,
        Granularity::Week => {
            date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
        }
        Granularity::Month => date.with_day(1).unwrap_or(date),
        Granularity::Quarter => {
            NaiveDate::from_ymd_opt(date.year(), (date.month() - 1) / 3 * 3 + 1, 1).unwrap_or(date)
        }
    };
    let end_date = match granularity {
        Granularity::Day => start_date + Duration::days(1),
        Granularity::Week => start_date + Duration::days(7),
        Granularity::Month => start_date
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start_date),
        Granularity::Quarter => start_date
            .checked_add_months(chrono::Months::new(3))
            .unwrap_or(start_date),
    };
    (
        granularity.period_of(at, tz),
        local_midnight(start_date, tz),
        local_midnight(end_date, tz),
    )
}

/// The first instant of a local date (midnight, or the first hour after a
/// DST gap that swallows midnight).
fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| {
            tz.from_local_datetime(&date.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }
    fn spec(granularity: Granularity) -> TrendSpec {
        TrendSpec {
            granularity,
            tz: Tz::UTC,
            rolling: None,
        }
    }

    #[test]
    fn monthly_trend_with_gaps_and_previous_periods() {
        let buckets = [
            (at(2026, 1, 5, 10), NpsTally::new(3, 1, 1)),
            (at(2026, 1, 20, 0), NpsTally::new(1, 0, 0)),
            (at(2026, 3, 1, 0), NpsTally::new(0, 0, 2)),
        ];
        let points = trend(&buckets, spec(Granularity::Month), None, None);
        let keys: Vec<&str> = points.iter().map(|p| p.period.0.as_str()).collect();
        assert_eq!(keys, ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(points[0].tally, NpsTally::new(4, 1, 1));
        assert_eq!(points[0].previous, Some(NpsTally::default()));
        assert_eq!(points[1].tally, NpsTally::default());
        assert_eq!(points[2].previous, Some(NpsTally::default()));
        assert_eq!(
            points.iter().map(|p| p.tally).sum::<NpsTally>(),
            NpsTally::new(4, 1, 3)
        );
    }

    #[test]
    fn time_zone_moves_answers_across_period_boundaries() {
        // 22:00 UTC on 31 January is 1 February in Bucharest (UTC+2 in winter).
        let buckets = [(at(2026, 1, 31, 22), NpsTally::new(1, 0, 0))];
        let utc = trend(&buckets, spec(Granularity::Month), None, None);
        let tz = TrendSpec {
            tz: chrono_tz::Europe::Bucharest,
            ..spec(Granularity::Month)
        };
        let bucharest = trend(&buckets, tz, None, None);
        assert_eq!(utc[0].period.0, "2026-01");
        assert_eq!(bucharest[0].period.0, "2026-02");
    }

    #[test]
    fn rolling_windows_compare_with_the_window_before() {
        let buckets: Vec<_> = (1..=28)
            .map(|d| (at(2026, 2, d, 0), NpsTally::new(1, 0, 0)))
            .collect();
        let rolling = TrendSpec {
            rolling: Some(Duration::days(7)),
            ..spec(Granularity::Week)
        };
        let points = trend(&buckets, rolling, Some(at(2026, 2, 9, 0)), None);
        // Weeks start on Monday: 9, 16, 23 February; each 7-day window holds 7 answers.
        assert_eq!(points[0].period.0, "2026-W07");
        assert_eq!(points[0].tally.responses(), 7);
        assert_eq!(points[0].previous.unwrap().responses(), 7);
    }

    #[test]
    fn period_boundaries_follow_dst() {
        // Bucharest moves to UTC+3 on 29 March 2026; April starts at 21:00 UTC on 31 March.
        let (key, start, end) = period_containing(
            at(2026, 3, 15, 0),
            Granularity::Month,
            chrono_tz::Europe::Bucharest,
        );
        assert_eq!(key.0, "2026-03");
        assert_eq!(start, at(2026, 2, 28, 22));
        assert_eq!(end, at(2026, 3, 31, 21));
    }
}
