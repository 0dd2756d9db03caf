//! The periodic report: a month's (or a week's) KPIs with their intervals
//! and changes, the goals, the topic drivers, who moved between
//! categories, SLA attainment and the program's figures, from the same
//! functions as the dashboard. `vouch report`, the printable page
//! `/reports/PERIOD` and the emailed report all read `report`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use vouch_store::Store;

use crate::playbooks::RunSettings;
use crate::{AppError, Result};

/// A calendar month (`2026-11`) or an ISO week (`2026-W47`), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    pub weekly: bool,
}

impl Period {
    /// Reads `2026-11` or `2026-W47`; the error says which shapes work.
    pub fn parse(text: &str) -> Result<Period> {
        let bad = || {
            AppError::Refused(format!(
                "{text:?} is not a period: write a month as 2026-11 or a week as 2026-W47"
            ))
        };
        let text = text.trim();
        if let Some((year, week)) = text.split_once("-W") {
            let (year, week): (i32, u32) = (
                year.parse().map_err(|_| bad())?,
                week.parse().map_err(|_| bad())?,
            );
            let from =
                NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).ok_or_else(bad)?;
            return Ok(Period {
                from,
                to: from + Duration::days(7),
                weekly: true,
            });
        }
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let (year, month): (i32, u32) = (
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
        );
        let from = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        let to = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .ok_or_else(bad)?;
        Ok(Period {
            from,
            to,
            weekly: false,
        })
    }

    /// The last whole month (or ISO week) before `today`.
    pub fn last_complete(today: NaiveDate, weekly: bool) -> Period {
        if weekly {
            let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            let from = monday - Duration::days(7);
            Period {
                from,
                to: monday,
                weekly: true,
            }
        } else {
            let to = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
                .expect("the first of a month");
            let from = if to.month() == 1 {
                NaiveDate::from_ymd_opt(to.year() - 1, 12, 1)
            } else {
                NaiveDate::from_ymd_opt(to.year(), to.month() - 1, 1)
            }
            .expect("the first of a month");
            Period {
                from,
                to,
                weekly: false,
            }
        }
    }

    /// `2026-11` or `2026-W47`.
    pub fn name(&self) -> String {
        if self.weekly {
            let week = self.from.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        } else {
            self.from.format("%Y-%m").to_string()
        }
    }

    fn start(&self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.from.and_time(chrono::NaiveTime::MIN))
    }

    fn end(&self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.to.and_time(chrono::NaiveTime::MIN))
    }
}

/// One goal as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GoalLine {
    pub id: i64,
    pub kpi: vouch_domain::goals::GoalKpi,
    pub current: Option<vouch_domain::goals::Measurement>,
    pub target: f64,
    pub deadline: NaiveDate,
    pub status: vouch_domain::goals::GoalStatus,
    pub owner: String,
}

/// The report: `vouch report --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PeriodicReport {
    /// `2026-11` or `2026-W47`.
    pub period: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// With the period before for the changes and their significance.
    pub kpis: crate::reports::KpiReport,
    pub goals: Vec<GoalLine>,
    pub topic_drivers: Vec<vouch_domain::analytics::TopicDriver>,
    pub transitions: crate::reports::TransitionsReport,
    /// Tasks opened in the period, all teams.
    pub sla: Option<vouch_domain::SlaSummary>,
    pub program: crate::program::ProgramKpis,
}

/// The report of `period`, at confidence 95%.
pub async fn report(
    store: &Store,
    settings: &RunSettings,
    period: Period,
) -> Result<PeriodicReport> {
    let (from, to) = (period.start(), period.end());
    let kpis = crate::reports::kpis(store, from, to, 0.95, settings.lookback).await?;
    let goals = crate::goals::goals(store, period.to - Duration::days(1))
        .await?
        .into_iter()
        .map(|g| GoalLine {
            id: g.id,
            kpi: g.kpi,
            current: g.current,
            target: g.target,
            deadline: g.deadline,
            status: g.status,
            owner: g.owner,
        })
        .collect();
    let topic_drivers = crate::reports::topic_drivers(store, from, to, 0.95).await?;
    let transitions = crate::reports::transitions(store, from, to, settings.lookback).await?;
    let sla = crate::playbooks::sla_report(store, settings, from, to)
        .await?
        .into_iter()
        .find(|(team, _)| team == "all")
        .map(|(_, s)| s);
    let promoters = crate::program::promoters_now(store, settings.lookback, to).await?;
    let program = crate::program::kpis(store, &promoters).await?;
    Ok(PeriodicReport {
        period: period.name(),
        from,
        to,
        kpis,
        goals,
        topic_drivers,
        transitions,
        sla,
        program,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_are_months_or_iso_weeks() {
        let nov = Period::parse("2026-11").unwrap();
        assert_eq!((nov.from, nov.to), (day("2026-11-01"), day("2026-12-01")));
        let dec = Period::parse("2026-12").unwrap();
        assert_eq!(dec.to, day("2027-01-01"));
        let week = Period::parse("2026-W47").unwrap();
        assert_eq!((week.from, week.to), (day("2026-11-16"), day("2026-11-23")));
        assert_eq!(week.name(), "2026-W47");
        assert_eq!(nov.name(), "2026-11");
        for bad in ["2026", "2026-13", "November", "2026-W60"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Period::last_complete(day("2026-12-07"), false), nov);
        assert_eq!(
            Period::last_complete(day("2026-01-15"), false).name(),
            "2025-12"
        );
        assert_eq!(Period::last_complete(day("2026-11-25"), true), week);
    }
}

/// Who gets the report by email, how often and in which language
/// (settings `report.schedule`); the `report.send` job mails each whole
/// period once.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ReportSchedule {
    pub recipients: Vec<String>,
    pub weekly: bool,
    /// `en` or `ro`.
    pub language: String,
}

const SCHEDULE_SETTING: &str = "report.schedule";
const LAST_SENT_SETTING: &str = "report.last_sent";

/// The schedule, if one is set.
pub async fn schedule(store: &Store) -> Result<Option<ReportSchedule>> {
    Ok(store
        .settings()
        .await?
        .get(SCHEDULE_SETTING)
        .and_then(|json| serde_json::from_str(json).ok()))
}

/// Sets who gets the report; every address must be one.
pub async fn set_schedule(store: &Store, schedule: &ReportSchedule) -> Result<()> {
    for to in &schedule.recipients {
        vouch_domain::Email::parse(to).map_err(|e| AppError::Refused(e.to_string()))?;
    }
    if !matches!(schedule.language.as_str(), "en" | "ro") {
        return Err(AppError::Refused(format!(
            "{:?} is not a report language: en or ro",
            schedule.language
        )));
    }
    store
        .set_setting(
            SCHEDULE_SETTING,
            &serde_json::to_string(schedule).expect("a schedule serialises"),
        )
        .await?;
    Ok(())
}

/// The period to mail on `today` and to whom, when the last whole period
/// has not been mailed yet.
pub async fn due(store: &Store, today: NaiveDate) -> Result<Option<(Period, ReportSchedule)>> {
    let Some(schedule) = schedule(store).await? else {
        return Ok(None);
    };
    if schedule.recipients.is_empty() {
        return Ok(None);
    }
    let period = Period::last_complete(today, schedule.weekly);
    let last = store.settings().await?.get(LAST_SENT_SETTING).cloned();
    Ok((last.as_deref() != Some(period.name().as_str())).then_some((period, schedule)))
}

/// Records that `period` was mailed, so a retried job does not mail it again.
pub async fn mark_sent(store: &Store, period: &Period) -> Result<()> {
    store.set_setting(LAST_SENT_SETTING, &period.name()).await?;
    Ok(())
}
