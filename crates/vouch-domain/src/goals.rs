//! SMART goals on the KPIs: what a goal promises, and the honest status of
//! its progress. A goal is `achieved` only when the measurement's interval
//! clears the target, so a value sitting at the target by chance is not a
//! success; before the deadline the trend of the check-ins, projected to the
//! deadline with its uncertainty, says whether the goal is on track.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::analytics::stats::normal_critical;

crate::names::named_enum! {
    /// The KPIs a goal can be set on, as the dashboard measures them.
    pub enum GoalKpi as "KPI" {
        /// Net Promoter Score, −100..100, adjusted-Wald interval.
        Nps = "nps",
        /// Share of satisfied CSAT answers, in percent, Wilson interval.
        Csat = "csat",
        /// Mean CES score.
        Ces = "ces",
        /// Share of invitations answered, in percent.
        ResponseRate = "response_rate",
        /// Share of customers present at the start still present at the end, in percent.
        Retention = "retention",
        /// Share of new customers who came by referral, in percent.
        ReferralRate = "referral_rate",
        /// Public reviews received in the window.
        ReviewVolume = "review_volume",
        /// Mean star rating of public reviews, 1–5.
        ReviewRating = "review_rating",
        /// Likes, shares and comments on social mentions in the window.
        SocialEngagement = "social_engagement",
        /// Share of close-the-loop tasks done within their SLA, in percent.
        CloseTheLoopInSla = "close_the_loop_in_sla",
        /// Program members active in the window.
        ActiveAdvocates = "active_advocates",
        /// Share of promoters enrolled in the program, in percent.
        PromotersEnrolled = "promoters_enrolled",
        /// Referrals that converted in the window.
        ReferralConversions = "referral_conversions",
    }
}

crate::names::named_enum! {
    /// Whether the goal is to raise or to lower the KPI.
    pub enum Direction as "direction" {
        Increase = "increase",
        Decrease = "decrease",
    }
}

crate::names::named_enum! {
    /// How often progress is measured and stored.
    pub enum Cadence as "check-in cadence" {
        Weekly = "weekly",
        Monthly = "monthly",
    }
}

impl Direction {
    /// The way from `baseline` to `target`: a goal set without a direction
    /// raises the KPI unless its target lies below the baseline.
    pub fn towards(baseline: f64, target: f64) -> Direction {
        if target < baseline {
            Direction::Decrease
        } else {
            Direction::Increase
        }
    }
}

impl Cadence {
    pub fn days(self) -> i64 {
        match self {
            Cadence::Weekly => 7,
            Cadence::Monthly => 30,
        }
    }
}

crate::names::named_enum! {
    /// Where a goal stands.
    pub enum GoalStatus as "goal status" {
        /// The interval clears the target.
        Achieved = "achieved",
        /// The trend, projected to the deadline, reaches the target.
        OnTrack = "on_track",
        /// The projection falls short, but reaching the target is within its uncertainty.
        AtRisk = "at_risk",
        /// The projection falls short beyond its uncertainty.
        OffTrack = "off_track",
        /// The deadline passed without the interval clearing the target.
        Missed = "missed",
    }
}

/// A measured value with its interval (equal bounds when the KPI is a count).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Measurement {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Measurement {
    /// `k` of `n` in percent, with its Wilson interval at `level`; `None` when n = 0.
    pub fn share(k: u64, n: u64, level: f64) -> Option<Measurement> {
        if n == 0 {
            return None;
        }
        let (low, high) = crate::analytics::holdout::wilson(k, n, normal_critical(level));
        Some(Measurement {
            value: 100.0 * k as f64 / n as f64,
            ci_low: 100.0 * low,
            ci_high: 100.0 * high,
        })
    }

    /// A count or an exact figure: no sampling uncertainty.
    pub fn exact(value: f64) -> Measurement {
        Measurement {
            value,
            ci_low: value,
            ci_high: value,
        }
    }
}

/// What the status rules need to know of a goal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoalPlan {
    pub direction: Direction,
    pub baseline: f64,
    pub target: f64,
    pub start: NaiveDate,
    pub deadline: NaiveDate,
}

impl GoalPlan {
    /// Refuses a goal whose deadline is not after its start.
    pub fn check(&self) -> Result<(), DomainError> {
        if self.deadline <= self.start {
            return Err(DomainError::Invalid {
                what: "goal",
                reason: format!(
                    "the deadline {} must be after the start {}",
                    self.deadline, self.start
                ),
            });
        }
        Ok(())
    }

    /// Whether `value` meets the target in the goal's direction.
    fn meets(&self, value: f64) -> bool {
        match self.direction {
            Direction::Increase => value >= self.target,
            Direction::Decrease => value <= self.target,
        }
    }

    /// The value the straight path from the baseline to the target passes on `day`.
    pub fn expected_on(&self, day: NaiveDate) -> f64 {
        let total = (self.deadline - self.start).num_days().max(1) as f64;
        let done = ((day - self.start).num_days() as f64 / total).clamp(0.0, 1.0);
        self.baseline + (self.target - self.baseline) * done
    }
}

/// One stored measurement of a goal's KPI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckinPoint {
    pub day: NaiveDate,
    pub measurement: Measurement,
}

/// The projection of the KPI to the deadline: a value and its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Projection {
    pub value: f64,
    pub standard_error: f64,
}

/// The check-ins (the baseline included) this many or more give a trend;
/// with fewer, progress is judged against the straight path from the
/// baseline to the target.
pub const TREND_MIN_CHECKINS: usize = 3;

/// Projects the KPI to the deadline from `history` (oldest first, the last
/// being the current measurement): a least-squares line through the
/// check-ins when there are enough, else the current value; the standard
/// error combines the current measurement's (its interval at `level`) and
/// the slope's over the days left.
pub fn project(plan: &GoalPlan, history: &[CheckinPoint], level: f64) -> Option<Projection> {
    let current = history.last()?;
    let z = normal_critical(level);
    let measurement_se = (current.measurement.ci_high - current.measurement.ci_low) / (2.0 * z);
    let days_left = (plan.deadline - current.day).num_days().max(0) as f64;
    if history.len() < TREND_MIN_CHECKINS {
        return Some(Projection {
            value: current.measurement.value,
            standard_error: measurement_se,
        });
    }
    let xs: Vec<f64> = history
        .iter()
        .map(|p| (p.day - history[0].day).num_days() as f64)
        .collect();
    let ys: Vec<f64> = history.iter().map(|p| p.measurement.value).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx == 0.0 {
        return Some(Projection {
            value: current.measurement.value,
            standard_error: measurement_se,
        });
    }
    let slope = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mx) * (y - my))
        .sum::<f64>()
        / sxx;
    let residual: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (y - (my + slope * (x - mx))).powi(2))
        .sum::<f64>()
        / (n - 2.0).max(1.0);
    let slope_se = (residual / sxx).sqrt();
    Some(Projection {
        value: current.measurement.value + slope * days_left,
        standard_error: (measurement_se.powi(2) + (slope_se * days_left).powi(2)).sqrt(),
    })
}

/// Where a goal stands on `today`, from its check-ins (oldest first, the
/// last being the current measurement), at confidence `level`:
/// - `achieved` when the current interval clears the target (its lower
///   bound at or above it for an increase, its upper bound for a decrease);
/// - after the deadline, otherwise `missed`;
/// - before it, with fewer than `TREND_MIN_CHECKINS` check-ins (no trend
///   yet), `on_track` when the current interval reaches the straight path
///   from the baseline to the target, else `at_risk`;
/// - with a trend, `on_track` when the trend projected to the deadline
///   meets the target, `at_risk` when it does not but the target lies
///   within the projection's interval, `off_track` when it lies beyond.
pub fn goal_status(
    plan: &GoalPlan,
    history: &[CheckinPoint],
    today: NaiveDate,
    level: f64,
) -> GoalStatus {
    let Some(current) = history.last() else {
        return if today > plan.deadline {
            GoalStatus::Missed
        } else {
            GoalStatus::AtRisk
        };
    };
    let clears = match plan.direction {
        Direction::Increase => current.measurement.ci_low >= plan.target,
        Direction::Decrease => current.measurement.ci_high <= plan.target,
    };
    if clears {
        return GoalStatus::Achieved;
    }
    if today > plan.deadline {
        return GoalStatus::Missed;
    }
    if history.len() < TREND_MIN_CHECKINS {
        let expected = plan.expected_on(current.day);
        let reaches = match plan.direction {
            Direction::Increase => current.measurement.ci_high >= expected,
            Direction::Decrease => current.measurement.ci_low <= expected,
        };
        return if reaches {
            GoalStatus::OnTrack
        } else {
            GoalStatus::AtRisk
        };
    }
    let projection = project(plan, history, level).expect("history is not empty");
    if plan.meets(projection.value) {
        return GoalStatus::OnTrack;
    }
    let z = normal_critical(level);
    let reach = match plan.direction {
        Direction::Increase => projection.value + z * projection.standard_error,
        Direction::Decrease => projection.value - z * projection.standard_error,
    };
    if plan.meets(reach) {
        GoalStatus::AtRisk
    } else {
        GoalStatus::OffTrack
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::NpsTally;
    use rand::{Rng, SeedableRng};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn plan() -> GoalPlan {
        GoalPlan {
            direction: Direction::Increase,
            baseline: 12.0,
            target: 20.0,
            start: day("2026-01-01"),
            deadline: day("2026-06-30"),
        }
    }

    fn point(d: &str, value: f64, half: f64) -> CheckinPoint {
        CheckinPoint {
            day: day(d),
            measurement: Measurement {
                value,
                ci_low: value - half,
                ci_high: value + half,
            },
        }
    }

    #[test]
    fn achieved_needs_the_interval_to_clear_the_target() {
        let p = plan();
        let on = |v: f64, half: f64| {
            goal_status(&p, &[point("2026-03-01", v, half)], day("2026-03-01"), 0.95)
        };
        assert_eq!(
            on(25.0, 5.0),
            GoalStatus::Achieved,
            "lower bound exactly at the target"
        );
        assert_ne!(
            on(25.0, 5.1),
            GoalStatus::Achieved,
            "lower bound just under it"
        );
        assert_ne!(on(20.0, 3.0), GoalStatus::Achieved, "value at the target");
        let down = GoalPlan {
            direction: Direction::Decrease,
            baseline: 3.0,
            target: 2.0,
            ..p
        };
        let at = |v: f64, half: f64| {
            goal_status(
                &down,
                &[point("2026-03-01", v, half)],
                day("2026-03-01"),
                0.95,
            )
        };
        assert_eq!(at(1.8, 0.2), GoalStatus::Achieved);
        assert_ne!(at(1.8, 0.21), GoalStatus::Achieved);
    }

    #[test]
    fn after_the_deadline_a_goal_not_achieved_is_missed() {
        let p = plan();
        // On the deadline, 19 ± 2 still reaches the path's 20; a day later
        // it is missed.
        let history = [point("2026-06-30", 19.0, 2.0)];
        assert_eq!(
            goal_status(&p, &history, day("2026-06-30"), 0.95),
            GoalStatus::OnTrack
        );
        assert_eq!(
            goal_status(
                &p,
                &[point("2026-06-30", 17.0, 2.0)],
                day("2026-06-30"),
                0.95
            ),
            GoalStatus::AtRisk
        );
        assert_eq!(
            goal_status(&p, &history, day("2026-07-01"), 0.95),
            GoalStatus::Missed
        );
        let history = [point("2026-06-30", 23.0, 2.0)];
        assert_eq!(
            goal_status(&p, &history, day("2026-07-01"), 0.95),
            GoalStatus::Achieved
        );
        assert_eq!(
            goal_status(&p, &[], day("2026-07-01"), 0.95),
            GoalStatus::Missed
        );
    }

    #[test]
    fn the_trend_projected_to_the_deadline_decides_on_track_at_risk_and_off_track() {
        let p = plan();
        // Rising 2 points a month from 12: 22 by the deadline.
        let rising = [
            point("2026-01-01", 12.0, 3.0),
            point("2026-02-01", 14.0, 3.0),
            point("2026-03-01", 16.0, 3.0),
        ];
        assert_eq!(
            goal_status(&p, &rising, day("2026-03-01"), 0.95),
            GoalStatus::OnTrack
        );
        // Flat at 15 with a wide interval: 20 is within reach.
        let flat_wide = [
            point("2026-01-01", 15.0, 8.0),
            point("2026-02-01", 15.0, 8.0),
            point("2026-03-01", 15.0, 8.0),
        ];
        assert_eq!(
            goal_status(&p, &flat_wide, day("2026-03-01"), 0.95),
            GoalStatus::AtRisk
        );
        // Falling with narrow intervals: the target is out of reach.
        let falling = [
            point("2026-01-01", 12.0, 1.0),
            point("2026-02-01", 10.0, 1.0),
            point("2026-03-01", 8.0, 1.0),
        ];
        assert_eq!(
            goal_status(&p, &falling, day("2026-03-01"), 0.95),
            GoalStatus::OffTrack
        );
        // Two check-ins give no trend: the current value is projected flat,
        // and judged against the straight path (13.4 on 1 February).
        let two = [
            point("2026-01-01", 12.0, 1.0),
            point("2026-02-01", 19.0, 1.0),
        ];
        let projection = project(&p, &two, 0.95).unwrap();
        assert_eq!(projection.value, 19.0);
        assert_eq!(
            goal_status(&p, &two, day("2026-02-01"), 0.95),
            GoalStatus::OnTrack
        );
        let behind = [
            point("2026-01-01", 12.0, 1.0),
            point("2026-04-01", 12.0, 1.0),
        ];
        assert_eq!(
            goal_status(&p, &behind, day("2026-04-01"), 0.95),
            GoalStatus::AtRisk
        );
        // The day a goal is set, it is on its path.
        assert_eq!(
            goal_status(
                &p,
                &[point("2026-01-01", 12.0, 1.0)],
                day("2026-01-01"),
                0.95
            ),
            GoalStatus::OnTrack
        );
    }

    #[test]
    fn a_goal_must_lead_somewhere_before_its_deadline() {
        let p = plan();
        assert!(p.check().is_ok());
        let no_time = GoalPlan {
            deadline: p.start,
            ..p
        };
        assert!(no_time.check().is_err());
        assert_eq!(Direction::towards(12.0, 20.0), Direction::Increase);
        assert_eq!(Direction::towards(3.0, 2.0), Direction::Decrease);
        assert_eq!(p.expected_on(day("2025-12-01")), 12.0);
        assert_eq!(p.expected_on(day("2026-12-01")), 20.0);
    }

    /// When the true NPS sits exactly at the target, `achieved` must be
    /// declared in under 5% of surveys: the interval's lower bound clears
    /// the target only by chance, about 2.5% of the time at 95%.
    #[test]
    fn achieved_is_rarely_declared_when_the_truth_is_at_the_target() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        // True shares 45% promoters, 25% detractors: NPS exactly +20.
        for n in [50u32, 200, 1000] {
            let trials = 4000;
            let mut declared = 0;
            for _ in 0..trials {
                let mut tally = NpsTally::default();
                for _ in 0..n {
                    let u: f64 = rng.random();
                    tally.record(if u < 0.45 {
                        10
                    } else if u < 0.75 {
                        8
                    } else {
                        3
                    });
                }
                let e = tally.estimate(0.95).unwrap();
                let history = [CheckinPoint {
                    day: day("2026-03-01"),
                    measurement: Measurement {
                        value: e.nps,
                        ci_low: e.ci_low,
                        ci_high: e.ci_high,
                    },
                }];
                if goal_status(&plan(), &history, day("2026-03-01"), 0.95) == GoalStatus::Achieved {
                    declared += 1;
                }
            }
            let share = f64::from(declared) / f64::from(trials);
            assert!(
                share < 0.05,
                "n = {n}: achieved declared in {share:.3} of surveys"
            );
        }
    }
}
