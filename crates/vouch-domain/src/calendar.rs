//! Business hours: when the team works (days, hours, a time zone and
//! holidays), and SLA clocks that only run inside those hours. DST is
//! handled by measuring real time inside each day's window, so a window
//! on the night clocks change is an hour shorter or longer, as worked.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The most days `WorkCalendar::add` looks ahead (ten years), so a calendar
/// with no working day ends instead of looping.
const HORIZON_DAYS: u32 = 3_660;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    pub zone: Tz,
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    /// Working weekdays, Monday first.
    pub days: [bool; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// Monday to Friday, `opens`–`closes` in `zone`; an error when the day
    /// would be empty.
    pub fn new(zone: Tz, opens: NaiveTime, closes: NaiveTime) -> Result<WorkCalendar, String> {
        if opens >= closes {
            return Err(format!(
                "the working day must open before it closes ({opens}–{closes})"
            ));
        }
        Ok(WorkCalendar {
            zone,
            opens,
            closes,
            days: [true, true, true, true, true, false, false],
            holidays: BTreeSet::new(),
        })
    }

    /// 09:00–17:00, Monday to Friday, in `zone`.
    pub fn office(zone: Tz) -> WorkCalendar {
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).expect("a valid hour");
        WorkCalendar::new(zone, at(9), at(17)).expect("9 before 17")
    }

    /// From the settings: an IANA `zone`, `hours` as `09:00-17:00`, `days`
    /// as `mon,tue,wed,thu,fri` and `holidays` as comma-separated dates. An
    /// error names the setting and what it expected.
    pub fn from_settings(
        zone: &str,
        hours: &str,
        days: &str,
        holidays: &str,
    ) -> Result<WorkCalendar, String> {
        let zone: Tz = zone
            .trim()
            .parse()
            .map_err(|_| format!("time_zone: {zone:?} is not an IANA time zone"))?;
        let bad_hours = || format!("business_hours: {hours:?} is not like 09:00-17:00");
        let (opens, closes) = hours.split_once('-').ok_or_else(bad_hours)?;
        let at = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad_hours());
        let mut calendar = WorkCalendar::new(zone, at(opens)?, at(closes)?)
            .map_err(|e| format!("business_hours: {e}"))?;
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        calendar.days = [false; 7];
        for day in days
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
        {
            let i = NAMES
                .iter()
                .position(|n| day.starts_with(n))
                .ok_or_else(|| format!("business_days: {day:?} is not a weekday (mon … sun)"))?;
            calendar.days[i] = true;
        }
        for date in holidays.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| format!("holidays: {date:?} is not a date like 2026-12-01"))?;
            calendar.holidays.insert(date);
        }
        Ok(calendar)
    }

    pub fn with_holidays(mut self, holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(holidays);
        self
    }

    fn works_on(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&date)
    }

    /// A local time on `date` as an instant: the earlier of a repeated
    /// hour, and for a skipped one (spring forward) the first time after.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let mut local = date.and_time(time);
        for _ in 0..8 {
            match self.zone.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return t.with_timezone(&Utc);
                }
                LocalResult::None => local += Duration::minutes(30),
            }
        }
        Utc.from_utc_datetime(&local)
    }

    /// The day's working window, if `date` is a working day.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.works_on(date).then(|| {
            (
                self.instant(date, self.opens),
                self.instant(date, self.closes),
            )
        })
    }

    /// The moment `work` of business time after `start`. With no work, the
    /// first working moment at or after `start`.
    pub fn add(&self, start: DateTime<Utc>, work: Duration) -> DateTime<Utc> {
        let mut left = work.max(Duration::zero());
        let mut date = start.with_timezone(&self.zone).date_naive();
        for _ in 0..HORIZON_DAYS {
            if let Some((opens, closes)) = self.window(date) {
                let from = opens.max(start);
                if from < closes {
                    let room = closes - from;
                    if left <= room {
                        return from + left;
                    }
                    left -= room;
                }
            }
            date = date.succ_opt().expect("a date before year 262143");
        }
        start + Duration::days(i64::from(HORIZON_DAYS)) + left
    }

    /// Business time between `from` and `to` (zero if `to` is earlier).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        let mut date = from.with_timezone(&self.zone).date_naive();
        let last = to.with_timezone(&self.zone).date_naive();
        while date <= last {
            if let Some((opens, closes)) = self.window(date) {
                let (a, b) = (opens.max(from), closes.min(to));
                if a < b {
                    total += b - a;
                }
            }
            date = date.succ_opt().expect("a date before year 262143");
        }
        total
    }
}

/// Targets for a task, in business time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub name: String,
    pub first_response: Duration,
    pub resolution: Duration,
}

impl SlaPolicy {
    /// The close-the-loop default: a first answer within 4 business hours,
    /// resolved within 2 business days (16 business hours at 9–17).
    pub fn close_loop() -> SlaPolicy {
        SlaPolicy {
            name: "close_loop".into(),
            first_response: Duration::hours(4),
            resolution: Duration::hours(16),
        }
    }

    /// The policies Vouch knows without configuration: `close_loop` (4 h
    /// to a first answer, 16 h to resolve), `urgent` (1 h, 8 h) and
    /// `relaxed` (16 h, 40 h), all in business hours.
    pub fn built_in() -> Vec<SlaPolicy> {
        let policy = |name: &str, first: i64, resolution: i64| SlaPolicy {
            name: name.into(),
            first_response: Duration::hours(first),
            resolution: Duration::hours(resolution),
        };
        vec![
            SlaPolicy::close_loop(),
            policy("urgent", 1, 8),
            policy("relaxed", 16, 40),
        ]
    }

    /// Policies as configured: `vip 1h/4h, standard 4h/2d`, each a name,
    /// the first-response target and the resolution target in business
    /// hours (`h`) or business days (`d`, a working day's length).
    pub fn parse_list(text: &str, calendar: &WorkCalendar) -> Result<Vec<SlaPolicy>, String> {
        let day = calendar.closes - calendar.opens;
        let span = |t: &str| -> Result<Duration, String> {
            let t = t.trim();
            let (n, unit) = t.split_at(t.len().saturating_sub(1));
            let n: i64 = n
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| format!("{t:?} is not a number of hours (4h) or days (2d)"))?;
            match unit {
                "h" => Ok(Duration::hours(n)),
                "d" => Ok(day * n as i32),
                _ => Err(format!("{t:?} needs a unit: h or d")),
            }
        };
        let mut policies = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, targets) = part.split_once(char::is_whitespace).ok_or_else(|| {
                format!("{part:?} is not `name first/resolution`, e.g. `vip 1h/4h`")
            })?;
            let (first, resolution) = targets
                .split_once('/')
                .ok_or_else(|| format!("{part:?} needs two targets: first response/resolution"))?;
            let policy = SlaPolicy {
                name: name.to_owned(),
                first_response: span(first)?,
                resolution: span(resolution)?,
            };
            if policy.first_response > policy.resolution {
                return Err(format!(
                    "{name}: the first response cannot be due after the resolution"
                ));
            }
            if policies.iter().any(|p: &SlaPolicy| p.name == name) {
                return Err(format!("{name} is named twice"));
            }
            policies.push(policy);
        }
        Ok(policies)
    }

    /// When the first response and the resolution are due for a task
    /// opened at `opened`.
    pub fn due(&self, calendar: &WorkCalendar, opened: DateTime<Utc>) -> SlaDue {
        SlaDue {
            first_response: calendar.add(opened, self.first_response),
            resolution: calendar.add(opened, self.resolution),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaDue {
    pub first_response: DateTime<Utc>,
    pub resolution: DateTime<Utc>,
}

/// One task's clock, as the SLA report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskClock {
    pub opened: DateTime<Utc>,
    pub first_response_due: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub first_response: Option<DateTime<Utc>>,
    pub closed: Option<DateTime<Utc>>,
}

/// How a team kept its SLAs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SlaSummary {
    pub tasks: u64,
    pub closed: u64,
    /// Tasks whose resolution target has been reached (closed, or open past due).
    pub decided: u64,
    /// Of `decided`, the share closed by their target; none when no task is decided.
    pub in_sla_share: Option<f64>,
    /// Of tasks answered, the share answered by the first-response target.
    pub first_response_in_sla_share: Option<f64>,
    /// Medians in business hours; none when no task has one.
    pub median_first_response_hours: Option<f64>,
    pub median_resolution_hours: Option<f64>,
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// The SLA figures of `tasks` at `now`, in `calendar`'s business hours.
pub fn sla_summary(tasks: &[TaskClock], calendar: &WorkCalendar, now: DateTime<Utc>) -> SlaSummary {
    let hours = |d: Duration| d.num_seconds() as f64 / 3600.0;
    let closed: Vec<&TaskClock> = tasks.iter().filter(|t| t.closed.is_some()).collect();
    let decided: Vec<&TaskClock> = tasks
        .iter()
        .filter(|t| t.closed.is_some() || t.due < now)
        .collect();
    let kept = decided
        .iter()
        .filter(|t| t.closed.is_some_and(|c| c <= t.due))
        .count();
    let answered: Vec<&TaskClock> = tasks
        .iter()
        .filter(|t| t.first_response.is_some())
        .collect();
    let answered_in_time = answered
        .iter()
        .filter(|t| t.first_response.is_some_and(|f| f <= t.first_response_due))
        .count();
    let share = |k: usize, n: usize| (n > 0).then(|| k as f64 / n as f64);
    SlaSummary {
        tasks: tasks.len() as u64,
        closed: closed.len() as u64,
        decided: decided.len() as u64,
        in_sla_share: share(kept, decided.len()),
        first_response_in_sla_share: share(answered_in_time, answered.len()),
        median_first_response_hours: median(
            answered
                .iter()
                .map(|t| hours(calendar.between(t.opened, t.first_response.expect("answered"))))
                .collect(),
        ),
        median_resolution_hours: median(
            closed
                .iter()
                .map(|t| hours(calendar.between(t.opened, t.closed.expect("closed"))))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bucharest() -> WorkCalendar {
        WorkCalendar::office(chrono_tz::Europe::Bucharest)
    }

    fn local(cal: &WorkCalendar, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        cal.instant(
            NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            NaiveTime::from_hms_opt(h, min, 0).unwrap(),
        )
    }

    #[test]
    fn configured_sla_policies_read_hours_and_working_days() {
        let cal = WorkCalendar::office(chrono_tz::UTC);
        let policies = SlaPolicy::parse_list("vip 1h/4h, standard 4h/2d", &cal).unwrap();
        assert_eq!(policies[0].name, "vip");
        assert_eq!(policies[0].resolution, Duration::hours(4));
        // A working day is 9–17 here: 8 business hours.
        assert_eq!(policies[1].resolution, Duration::hours(16));
        assert!(SlaPolicy::parse_list("", &cal).unwrap().is_empty());
        for bad in [
            "vip",
            "vip 1h",
            "vip 4h/1h",
            "vip 1x/4h",
            "vip 1h/4h, vip 2h/5h",
            "v 0h/1h",
        ] {
            assert!(SlaPolicy::parse_list(bad, &cal).is_err(), "{bad}");
        }
    }

    #[test]
    fn two_business_days_skip_the_weekend_and_holidays() {
        // 1 December is Romania's national day (a Tuesday in 2026).
        let cal = bucharest().with_holidays([NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()]);
        let opened = local(&cal, 2026, 11, 30, 16, 0); // Monday 16:00
        let due = SlaPolicy::close_loop().due(&cal, opened);
        // Monday 1 h, Tuesday off, Wednesday 8 h, Thursday 7 h.
        assert_eq!(due.resolution, local(&cal, 2026, 12, 3, 16, 0));
        // 4 h: Monday 1 h, then Wednesday 9:00 + 3 h.
        assert_eq!(due.first_response, local(&cal, 2026, 12, 2, 12, 0));
        // Friday evening: the clock starts Monday 9:00.
        let friday = local(&cal, 2026, 12, 4, 19, 30);
        assert_eq!(
            cal.add(friday, Duration::hours(2)),
            local(&cal, 2026, 12, 7, 11, 0)
        );
        assert_eq!(
            cal.between(friday, local(&cal, 2026, 12, 7, 11, 0)),
            Duration::hours(2)
        );
    }

    #[test]
    fn a_window_on_the_night_clocks_change_is_as_long_as_it_really_is() {
        // Bucharest skips 03:00–04:00 on 29 March 2026 and repeats
        // 03:00–04:00 on 25 October 2026.
        let night = |cal: WorkCalendar| WorkCalendar {
            days: [true; 7],
            ..WorkCalendar::new(
                cal.zone,
                NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            )
            .unwrap()
        };
        let cal = night(bucharest());
        let spring = local(&cal, 2026, 3, 29, 1, 0);
        assert_eq!(
            cal.between(spring, spring + Duration::hours(10)),
            Duration::hours(4)
        );
        assert_eq!(
            cal.add(spring, Duration::hours(4)),
            local(&cal, 2026, 3, 29, 6, 0)
        );
        let autumn = local(&cal, 2026, 10, 25, 1, 0);
        assert_eq!(
            cal.between(autumn, autumn + Duration::hours(10)),
            Duration::hours(6)
        );
        assert_eq!(
            cal.add(autumn, Duration::hours(6)),
            local(&cal, 2026, 10, 25, 6, 0)
        );
    }

    #[test]
    fn calendars_come_from_the_settings_and_bad_ones_are_named() {
        let cal = WorkCalendar::from_settings(
            "Europe/Bucharest",
            "08:30-16:30",
            "mon,tue,wed,thu",
            "2026-12-01, 2026-12-25",
        )
        .unwrap();
        assert_eq!(cal.days, [true, true, true, true, false, false, false]);
        assert_eq!(cal.holidays.len(), 2);
        assert_eq!(cal.opens, NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        for (zone, hours, days, holidays, named) in [
            ("Mars/Base", "09:00-17:00", "mon", "", "time_zone"),
            ("UTC", "9-5", "mon", "", "business_hours"),
            ("UTC", "17:00-09:00", "mon", "", "business_hours"),
            ("UTC", "09:00-17:00", "funday", "", "business_days"),
            ("UTC", "09:00-17:00", "mon", "1 Dec", "holidays"),
        ] {
            let e = WorkCalendar::from_settings(zone, hours, days, holidays).unwrap_err();
            assert!(e.starts_with(named), "{e}");
        }
    }

    #[test]
    fn the_sla_summary_counts_tasks_kept_in_business_hours() {
        let cal = bucharest();
        let monday = local(&cal, 2026, 11, 30, 9, 0);
        let clock = |fr: Option<i64>, closed: Option<i64>| TaskClock {
            opened: monday,
            first_response_due: cal.add(monday, Duration::hours(4)),
            due: cal.add(monday, Duration::hours(16)),
            first_response: fr.map(|h| cal.add(monday, Duration::hours(h))),
            closed: closed.map(|h| cal.add(monday, Duration::hours(h))),
        };
        let tasks = [
            clock(Some(1), Some(8)),  // kept both
            clock(Some(6), Some(20)), // missed both
            clock(Some(2), None),     // open, not yet due
            clock(None, None),        // open, past due at `now`
        ];
        let now = cal.add(monday, Duration::hours(30));
        let early = sla_summary(&tasks[2..], &cal, monday + Duration::hours(2));
        assert_eq!(
            (early.tasks, early.decided, early.in_sla_share),
            (2, 0, None)
        );
        let s = sla_summary(&tasks, &cal, now);
        assert_eq!((s.tasks, s.closed, s.decided), (4, 2, 4));
        assert_eq!(s.in_sla_share, Some(0.25));
        assert_eq!(s.first_response_in_sla_share, Some(2.0 / 3.0));
        assert_eq!(s.median_first_response_hours, Some(2.0));
        assert_eq!(s.median_resolution_hours, Some(14.0));
        assert_eq!(sla_summary(&[], &cal, now).in_sla_share, None);
    }

    #[test]
    fn a_calendar_without_working_days_ends() {
        let mut cal = bucharest();
        cal.days = [false; 7];
        let start = local(&cal, 2026, 1, 5, 10, 0);
        assert!(cal.add(start, Duration::hours(1)) > start + Duration::days(3_000));
        assert!(WorkCalendar::new(cal.zone, cal.closes, cal.opens).is_err());
    }

    fn calendars() -> impl Strategy<Value = WorkCalendar> {
        let zones = prop::sample::select(vec![
            chrono_tz::Europe::Bucharest,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe, // a half-hour DST shift
            chrono_tz::UTC,
        ]);
        (
            zones,
            0u32..12,
            1u32..12,
            prop::collection::vec(0u32..730, 0..20),
        )
            .prop_map(|(zone, opens, hours, holidays)| {
                let opens = NaiveTime::from_hms_opt(opens, 30, 0).unwrap();
                let closes =
                    NaiveTime::from_hms_opt((opens.hour_of() + hours).min(23), 45, 0).unwrap();
                let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
                WorkCalendar::new(zone, opens, closes)
                    .unwrap()
                    .with_holidays(
                        holidays
                            .into_iter()
                            .map(|d| first + Duration::days(i64::from(d))),
                    )
            })
    }

    trait HourOf {
        fn hour_of(&self) -> u32;
    }
    impl HourOf for NaiveTime {
        fn hour_of(&self) -> u32 {
            chrono::Timelike::hour(self)
        }
    }

    fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        // 2026 and 2027, to the minute.
        (0i64..2 * 365 * 24 * 60)
            .prop_map(|m| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
    }

    proptest! {
        #[test]
        fn the_time_added_is_the_business_time_between(cal in calendars(), start in instants(), minutes in 0i64..200 * 60) {
            let work = Duration::minutes(minutes);
            let due = cal.add(start, work);
            prop_assert!(due >= start);
            prop_assert_eq!(cal.between(start, due), work);
        }

        #[test]
        fn adding_is_monotonic_and_adds_up(cal in calendars(), start in instants(), a in 0i64..100 * 60, b in 1i64..100 * 60) {
            let (x, y) = (Duration::minutes(a), Duration::minutes(b));
            prop_assert!(cal.add(start, x) <= cal.add(start, x + y));
            prop_assert_eq!(cal.add(cal.add(start, x), y), cal.add(start, x + y));
        }

        #[test]
        fn a_due_time_falls_inside_working_hours(cal in calendars(), start in instants(), minutes in 1i64..100 * 60) {
            let due = cal.add(start, Duration::minutes(minutes));
            let date = due.with_timezone(&cal.zone).date_naive();
            // Inside a window that opened on that local date (its close included).
            let (opens, closes) = cal.window(date).expect("a working day");
            prop_assert!(opens < due && due <= closes, "{} not in {}..{}", due, opens, closes);
        }
    }
}
