//! SMART goals: setting one (its baseline measured then), measuring it on
//! its cadence, and what it looks like now. Every KPI is read through the
//! same functions as the dashboard (`reports`, `program`, `playbooks`), so
//! a goal and the dashboard never disagree; the status rules are
//! vouch-domain's (`goals::goal_status`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use vouch_domain::GoalProgress;
use vouch_domain::goals::{
    Cadence, CheckinPoint, Direction, GoalKpi, GoalPlan, GoalStatus, Measurement, Projection,
    goal_status, project,
};
use vouch_store::{ResponseFilter, Store, StoredCheckin, StoredGoal};

use crate::playbooks::RunSettings;
use crate::{AppError, Result};

/// Survey KPIs are measured over the answers of this many days up to the
/// check-in (a quarter: enough answers for an interval that means something).
pub const WINDOW_DAYS: i64 = 90;

/// The confidence level of every goal's intervals.
pub const LEVEL: f64 = 0.95;

/// The answers a survey KPI counts; empty: all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalSegment {
    /// Survey names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surveys: Vec<String>,
    /// `email`, `link`, `widget`…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Answer languages (`en`, `ro`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Customer attributes that must all match (`{"plan": "pro"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl GoalSegment {
    fn is_empty(&self) -> bool {
        self == &GoalSegment::default()
    }

    fn filter(&self) -> Result<ResponseFilter> {
        Ok(ResponseFilter {
            surveys: self.surveys.clone(),
            channels: self
                .channels
                .iter()
                .map(|c| {
                    c.parse()
                        .map_err(|e: vouch_domain::DomainError| AppError::Refused(e.to_string()))
                })
                .collect::<Result<_>>()?,
            languages: self.languages.clone(),
            attributes: self
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..ResponseFilter::default()
        })
    }
}

/// A new goal, as the API, the page and `vouch goals add` take it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGoal {
    pub kpi: GoalKpi,
    /// For `review_volume` and `review_rating`: one platform (`trustpilot`,
    /// `google`…); none: every review platform.
    #[serde(default)]
    pub platform: Option<String>,
    /// For `nps`, `csat` and `ces`: the answers counted.
    #[serde(default)]
    pub segment: GoalSegment,
    pub target: f64,
    /// `increase` or `decrease`; none: towards the target from the baseline.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Default: today.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    pub deadline: NaiveDate,
    pub owner: String,
    /// `weekly` (the default) or `monthly`.
    #[serde(default)]
    pub cadence: Option<Cadence>,
    /// What exactly is to change, and for whom.
    #[serde(default)]
    pub specific: String,
    /// Why it matters to the company.
    #[serde(default)]
    pub relevant: String,
}

/// One check-in as shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Checkin {
    pub day: NaiveDate,
    /// None: nothing to measure that day.
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub status: GoalStatus,
}

/// A goal with where it stands: `GET /api/v1/goals/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Goal {
    pub id: i64,
    pub kpi: GoalKpi,
    pub platform: Option<String>,
    pub segment: GoalSegment,
    pub direction: Direction,
    /// Measured when the goal was set.
    pub baseline: Measurement,
    pub target: f64,
    pub start: NaiveDate,
    pub deadline: NaiveDate,
    pub owner: String,
    pub cadence: Cadence,
    pub specific: String,
    pub relevant: String,
    /// The latest measurement, with its interval at 95%.
    pub current: Option<Measurement>,
    pub status: GoalStatus,
    /// Where the straight path from the baseline to the target is today.
    pub expected_now: f64,
    /// The KPI projected to the deadline (the trend once there are three
    /// check-ins, else the current value).
    pub projection: Option<Projection>,
    pub next_checkin: NaiveDate,
    /// Oldest first; the first is the baseline.
    pub checkins: Vec<Checkin>,
}

fn refused(what: impl std::fmt::Display) -> AppError {
    AppError::Refused(what.to_string())
}

/// The end of `day` (exclusive): midnight after it, UTC.
fn end_of(day: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&(day + Duration::days(1)).and_time(NaiveTime::MIN))
}

/// Measures `kpi` as of the end of `day`: survey scores and flows over the
/// `WINDOW_DAYS` before, program figures as they stand. `None` when there
/// is nothing to measure (no answers in the window).
pub async fn measure(
    store: &Store,
    settings: &RunSettings,
    kpi: GoalKpi,
    platform: Option<&str>,
    segment: &GoalSegment,
    day: NaiveDate,
) -> Result<Option<Measurement>> {
    let to = end_of(day);
    let from = to - Duration::days(WINDOW_DAYS);
    if !segment.is_empty() && !matches!(kpi, GoalKpi::Nps | GoalKpi::Csat | GoalKpi::Ces) {
        return Err(refused(format!(
            "a segment applies to survey KPIs (nps, csat, ces), not to {kpi}"
        )));
    }
    if platform.is_some() && !matches!(kpi, GoalKpi::ReviewVolume | GoalKpi::ReviewRating) {
        return Err(refused(format!(
            "a platform applies to review_volume and review_rating, not to {kpi}"
        )));
    }
    let filter = segment.filter()?;
    Ok(match kpi {
        GoalKpi::Nps | GoalKpi::Csat | GoalKpi::Ces => {
            let scores = crate::reports::scores_of(store, &filter, from, to, LEVEL).await?;
            match kpi {
                GoalKpi::Nps => scores.nps.nps.map(|value| Measurement {
                    value,
                    ci_low: scores.nps.ci_low.unwrap_or(value),
                    ci_high: scores.nps.ci_high.unwrap_or(value),
                }),
                GoalKpi::Csat => scores.csat.map(|c| Measurement {
                    value: c.csat,
                    ci_low: c.ci_low,
                    ci_high: c.ci_high,
                }),
                _ => scores.ces.map(|c| Measurement {
                    value: c.ces,
                    ci_low: c.ci_low.unwrap_or(c.ces),
                    ci_high: c.ci_high.unwrap_or(c.ces),
                }),
            }
        }
        GoalKpi::ResponseRate => {
            let (answered, sent) = store.invitations_answered(from, to).await?;
            Measurement::share(answered, sent, LEVEL)
        }
        GoalKpi::Retention => {
            let flow = store.customer_flow(from, to).await?;
            Measurement::share(flow.retained, flow.present_at_start, LEVEL)
        }
        GoalKpi::ReferralRate => {
            let flow = store.customer_flow(from, to).await?;
            Measurement::share(flow.new_referred, flow.new, LEVEL)
        }
        GoalKpi::ReviewVolume | GoalKpi::ReviewRating => {
            let stats: Vec<_> = store
                .review_stats(from, to)
                .await?
                .into_iter()
                .filter(|r| platform.is_none_or(|p| r.source.as_str() == p))
                .collect();
            let reviews: u64 = stats.iter().map(|r| r.reviews).sum();
            if kpi == GoalKpi::ReviewVolume {
                Some(Measurement::exact(reviews as f64))
            } else {
                (reviews > 0).then(|| {
                    let stars: f64 = stats.iter().map(|r| r.mean_stars * r.reviews as f64).sum();
                    Measurement::exact(crate::reports::round1(stars / reviews as f64))
                })
            }
        }
        GoalKpi::SocialEngagement => {
            let engagement: u64 = store
                .social_stats(from, to)
                .await?
                .iter()
                .map(|s| s.likes + s.shares + s.comments)
                .sum();
            Some(Measurement::exact(engagement as f64))
        }
        GoalKpi::CloseTheLoopInSla => {
            let teams = crate::playbooks::sla_report(store, settings, from, to).await?;
            teams
                .into_iter()
                .find(|(team, _)| team == "all")
                .and_then(|(_, s)| {
                    let within = (s.in_sla_share? * s.decided as f64).round() as u64;
                    Measurement::share(within, s.decided, LEVEL)
                })
        }
        GoalKpi::ActiveAdvocates | GoalKpi::PromotersEnrolled | GoalKpi::ReferralConversions => {
            let promoters = crate::program::promoters_now(store, settings.lookback, to).await?;
            let kpis = crate::program::kpis(store, &promoters).await?;
            match kpi {
                GoalKpi::ActiveAdvocates => Some(Measurement::exact(kpis.active_advocates as f64)),
                GoalKpi::PromotersEnrolled => kpis.promoters_enrolled_share.map(|share| {
                    let enrolled = (share * promoters.len() as f64).round() as u64;
                    Measurement::share(enrolled, promoters.len() as u64, LEVEL)
                        .expect("promoters exist when a share does")
                }),
                _ => {
                    let (_, conversions, _, _) = store.program_counts().await?;
                    Some(Measurement::exact(conversions as f64))
                }
            }
        }
    })
}

/// Sets a goal: measures its baseline now, stores it, and answers it.
pub async fn set_goal(
    store: &Store,
    settings: &RunSettings,
    new: &NewGoal,
    today: NaiveDate,
) -> Result<Goal> {
    let owner = new.owner.trim();
    if owner.is_empty() {
        return Err(refused("a goal needs an owner"));
    }
    if !new.target.is_finite() {
        return Err(refused("the target must be a number"));
    }
    for (field, text) in [
        ("specific", &new.specific),
        ("relevant", &new.relevant),
        ("owner", &new.owner),
    ] {
        if text.chars().count() > 2000 {
            return Err(refused(format!("{field} is longer than 2,000 characters")));
        }
    }
    let start = new.start.unwrap_or(today);
    let baseline = measure(
        store,
        settings,
        new.kpi,
        new.platform.as_deref(),
        &new.segment,
        start.min(today),
    )
    .await?
    .ok_or_else(|| {
        refused(format!(
            "there is nothing to measure {} on in the {WINDOW_DAYS} days before {start}: no baseline",
            new.kpi
        ))
    })?;
    let direction = new
        .direction
        .unwrap_or_else(|| Direction::towards(baseline.value, new.target));
    let plan = GoalPlan {
        direction,
        baseline: baseline.value,
        target: new.target,
        start,
        deadline: new.deadline,
    };
    plan.check().map_err(refused)?;
    let cadence = new.cadence.unwrap_or(Cadence::Weekly);
    let history = [CheckinPoint {
        day: start,
        measurement: baseline,
    }];
    let status = goal_status(&plan, &history, start, LEVEL);
    let id = store
        .add_goal(&StoredGoal {
            id: 0,
            kpi: new.kpi.to_string(),
            platform: new.platform.clone(),
            segment: serde_json::to_string(&new.segment).expect("a segment serialises"),
            direction: direction.to_string(),
            baseline: baseline.value,
            baseline_low: baseline.ci_low,
            baseline_high: baseline.ci_high,
            target: new.target,
            start_on: start,
            deadline: new.deadline,
            owner: owner.to_owned(),
            cadence: cadence.to_string(),
            specific: new.specific.trim().to_owned(),
            relevant: new.relevant.trim().to_owned(),
            status: status.to_string(),
            next_checkin_on: start + Duration::days(cadence.days()),
            created_at: Utc::now(),
        })
        .await?;
    goal(store, id, today)
        .await?
        .ok_or_else(|| AppError::Refused(format!("goal {id} vanished")))
}

fn parsed<T: std::str::FromStr>(what: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| AppError::Refused(format!("stored goal has a bad {what}: {e}")))
}

fn plan_of(g: &StoredGoal) -> Result<GoalPlan> {
    Ok(GoalPlan {
        direction: parsed("direction", &g.direction)?,
        baseline: g.baseline,
        target: g.target,
        start: g.start_on,
        deadline: g.deadline,
    })
}

fn points(checkins: &[StoredCheckin]) -> Vec<CheckinPoint> {
    checkins
        .iter()
        .filter_map(|c| {
            Some(CheckinPoint {
                day: c.day,
                measurement: Measurement {
                    value: c.value?,
                    ci_low: c.ci_low?,
                    ci_high: c.ci_high?,
                },
            })
        })
        .collect()
}

fn view(g: StoredGoal, checkins: Vec<StoredCheckin>, today: NaiveDate) -> Result<Goal> {
    let plan = plan_of(&g)?;
    let history = points(&checkins);
    Ok(Goal {
        id: g.id,
        kpi: parsed("KPI", &g.kpi)?,
        platform: g.platform,
        segment: serde_json::from_str(&g.segment)
            .map_err(|e| AppError::Refused(format!("stored goal has a bad segment: {e}")))?,
        direction: plan.direction,
        baseline: Measurement {
            value: g.baseline,
            ci_low: g.baseline_low,
            ci_high: g.baseline_high,
        },
        target: g.target,
        start: g.start_on,
        deadline: g.deadline,
        owner: g.owner,
        cadence: parsed("cadence", &g.cadence)?,
        specific: g.specific,
        relevant: g.relevant,
        current: history.last().map(|p| p.measurement),
        status: parsed("status", &g.status)?,
        expected_now: plan.expected_on(today),
        projection: project(&plan, &history, LEVEL),
        next_checkin: g.next_checkin_on,
        checkins: checkins
            .into_iter()
            .map(|c| {
                Ok(Checkin {
                    day: c.day,
                    value: c.value,
                    ci_low: c.ci_low,
                    ci_high: c.ci_high,
                    status: parsed("status", &c.status)?,
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// One goal as it stands.
pub async fn goal(store: &Store, id: i64, today: NaiveDate) -> Result<Option<Goal>> {
    let Some(g) = store.goal(id).await? else {
        return Ok(None);
    };
    let checkins = store.goal_checkins(id).await?;
    view(g, checkins, today).map(Some)
}

/// Every goal, the nearest deadline first.
pub async fn goals(store: &Store, today: NaiveDate) -> Result<Vec<Goal>> {
    let mut out = Vec::new();
    for g in store.goals().await? {
        let checkins = store.goal_checkins(g.id).await?;
        out.push(view(g, checkins, today)?);
    }
    Ok(out)
}

/// Measures every goal whose check-in is due on `today`, stores the
/// check-in and the status, and tells the outbox when a goal falls behind,
/// is achieved or is missed. A day's check-in is stored once, so a
/// retried job changes nothing. Returns how many goals were measured.
pub async fn check_in(store: &Store, settings: &RunSettings, today: NaiveDate) -> Result<usize> {
    let mut measured = 0;
    for g in store.goals_due(today).await? {
        let plan = plan_of(&g)?;
        let kpi: GoalKpi = parsed("KPI", &g.kpi)?;
        let cadence: Cadence = parsed("cadence", &g.cadence)?;
        let segment: GoalSegment = serde_json::from_str(&g.segment)
            .map_err(|e| AppError::Refused(format!("stored goal has a bad segment: {e}")))?;
        let previous: GoalStatus = parsed("status", &g.status)?;
        // Past the deadline the last check-in is on the deadline itself.
        let day = today.min(plan.deadline);
        let current = measure(store, settings, kpi, g.platform.as_deref(), &segment, day).await?;
        let mut history = points(&store.goal_checkins(g.id).await?);
        if let Some(m) = current {
            history.retain(|p| p.day != today);
            history.push(CheckinPoint {
                day: today,
                measurement: m,
            });
        }
        let status = goal_status(&plan, &history, today, LEVEL);
        let moved = is_news(previous, status);
        let event = moved
            .then(|| {
                GoalProgress {
                    goal_id: g.id,
                    kpi,
                    status,
                    current,
                    target: g.target,
                    deadline: g.deadline,
                    owner: g.owner.clone(),
                }
                .event()
            })
            .flatten();
        let recorded = store
            .record_checkin(
                &StoredCheckin {
                    goal_id: g.id,
                    day: today,
                    value: current.map(|m| m.value),
                    ci_low: current.map(|m| m.ci_low),
                    ci_high: current.map(|m| m.ci_high),
                    status: status.to_string(),
                },
                today + Duration::days(cadence.days()),
                event,
            )
            .await?;
        measured += usize::from(recorded);
    }
    Ok(measured)
}

/// Whether moving from `previous` to `now` is news for the outbox: into
/// at risk or off track from on track, or to achieved or missed.
fn is_news(previous: GoalStatus, now: GoalStatus) -> bool {
    use GoalStatus::*;
    match now {
        AtRisk | OffTrack => previous == OnTrack,
        Achieved | Missed => previous != now,
        OnTrack => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_hears_of_a_goal_falling_behind_once() {
        use GoalStatus::*;
        assert!(is_news(OnTrack, AtRisk));
        assert!(is_news(OnTrack, OffTrack));
        assert!(!is_news(AtRisk, OffTrack), "still behind: no second event");
        assert!(!is_news(AtRisk, AtRisk));
        assert!(is_news(AtRisk, Achieved));
        assert!(is_news(OffTrack, Missed));
        assert!(!is_news(AtRisk, OnTrack));
    }
}
