//! The loyalty reports users ask for, as serialisable values: the JSON
//! contracts of the CLI (`--json`) and of the API.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use vouch_domain::analytics::{
    CesEstimate, CsatEstimate, NpsTally, TransitionCell, TrendSpec, compare, transition_matrix,
    trend,
};
use vouch_domain::{CategorySignal, CustomerId, LoyaltyCategory, SurveyKind, category_at};
use vouch_store::{ResponseFilter, Segment, Store};

use crate::Result;

/// Rounds to one decimal place for display and the JSON contracts.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// An NPS with its interval: `vouch nps --json`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NpsReport {
    /// NPS rounded to one decimal; `null` when nobody answered.
    pub nps: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Confidence level of the interval, e.g. 0.95.
    pub level: f64,
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl NpsReport {
    pub fn from_tally(tally: NpsTally, level: f64) -> Self {
        let estimate = tally.estimate(level);
        NpsReport {
            nps: estimate.map(|e| round1(e.nps)),
            ci_low: estimate.map(|e| round1(e.ci_low)),
            ci_high: estimate.map(|e| round1(e.ci_high)),
            level,
            responses: tally.responses(),
            promoters: tally.promoters,
            passives: tally.passives,
            detractors: tally.detractors,
        }
    }
}

/// How the NPS moved against the period before.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangeReport {
    /// Points, one decimal.
    pub delta: f64,
    pub p_value: f64,
    pub significant: bool,
}

impl ChangeReport {
    fn between(earlier: &NpsTally, later: &NpsTally, level: f64) -> Option<Self> {
        compare(earlier, later, level).map(|c| ChangeReport {
            delta: round1(c.delta),
            p_value: round4(c.p_value),
            significant: c.significant,
        })
    }
}

/// One period of an NPS trend.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PeriodReport {
    pub period: String,
    #[serde(flatten)]
    pub nps: NpsReport,
    /// Against the previous period (or the previous window, when rolling); `null` if either is empty.
    pub change: Option<ChangeReport>,
}

/// One segment of an NPS breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SegmentReport {
    pub segment: String,
    #[serde(flatten)]
    pub nps: NpsReport,
}

/// An NPS overall, per period or per segment: what `vouch nps --json` prints
/// and `GET /api/v1/metrics/nps` returns.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NpsBreakdown {
    Total(NpsReport),
    Periods { periods: Vec<PeriodReport> },
    Segments { segments: Vec<SegmentReport> },
}

/// The NPS of `filter`'s answers, broken down by `by` (periods in `tz`,
/// each the `rolling` window ending with it when given). Without a period
/// breakdown, `rolling` keeps the answers of the window that ends with
/// the filter's `to` (or now): "the last 90 days".
pub async fn nps_by(
    store: &Store,
    filter: &ResponseFilter,
    by: Option<&crate::params::Breakdown>,
    tz: chrono_tz::Tz,
    rolling: Option<Duration>,
    level: f64,
) -> Result<NpsBreakdown> {
    use crate::params::Breakdown;
    let windowed;
    let filter = match (by, rolling) {
        (Some(Breakdown::Period(_)), _) | (_, None) => filter,
        (_, Some(window)) => {
            let end = filter.to.unwrap_or_else(chrono::Utc::now);
            windowed = ResponseFilter {
                from: Some(filter.from.map_or(end - window, |f| f.max(end - window))),
                ..filter.clone()
            };
            &windowed
        }
    };
    match by {
        None => Ok(NpsBreakdown::Total(nps(store, filter, level).await?)),
        Some(Breakdown::Period(granularity)) => {
            let spec = TrendSpec {
                granularity: *granularity,
                tz,
                rolling,
            };
            Ok(NpsBreakdown::Periods {
                periods: nps_trend(store, filter, spec, level).await?,
            })
        }
        Some(Breakdown::Segment(segment)) => Ok(NpsBreakdown::Segments {
            segments: nps_segments(store, filter, segment, level).await?,
        }),
    }
}

/// The NPS of every NPS answer matching `filter`.
pub async fn nps(store: &Store, filter: &ResponseFilter, level: f64) -> Result<NpsReport> {
    Ok(NpsReport::from_tally(store.nps_tally(filter).await?, level))
}

/// The NPS per calendar period (in `spec.tz`), in time order, empty periods
/// between the first and last included.
pub async fn nps_trend(
    store: &Store,
    filter: &ResponseFilter,
    spec: TrendSpec,
    level: f64,
) -> Result<Vec<PeriodReport>> {
    // Read far enough back for the first period's comparison (or rolling windows).
    let lookback = spec
        .rolling
        .map_or(Duration::days(93), |w| w + w + Duration::days(93));
    let widened = ResponseFilter {
        from: filter.from.map(|f| f - lookback),
        ..filter.clone()
    };
    // Whole UTC days suffice in UTC; other zones' days start at other hours.
    let bucket_hours = if spec.tz == chrono_tz::Tz::UTC { 24 } else { 1 };
    let buckets = store.nps_by_time(&widened, bucket_hours).await?;
    Ok(trend(&buckets, spec, filter.from, filter.to)
        .into_iter()
        .map(|point| PeriodReport {
            period: point.period.0,
            nps: NpsReport::from_tally(point.tally, level),
            change: point
                .previous
                .and_then(|previous| ChangeReport::between(&previous, &point.tally, level)),
        })
        .collect())
}

/// The NPS per segment (survey, channel, language or customer attribute).
pub async fn nps_segments(
    store: &Store,
    filter: &ResponseFilter,
    segment: &Segment,
    level: f64,
) -> Result<Vec<SegmentReport>> {
    Ok(store
        .nps_by_segment(filter, segment)
        .await?
        .into_iter()
        .map(|(name, tally)| SegmentReport {
            segment: if name.is_empty() {
                "(none)".to_owned()
            } else {
                name
            },
            nps: NpsReport::from_tally(tally, level),
        })
        .collect())
}

/// The category at each of `dates` (in order) of every customer with a
/// signal in the window before the last date.
async fn categories_by_customer(
    store: &Store,
    dates: &[DateTime<Utc>],
    lookback: Duration,
) -> Result<HashMap<CustomerId, Vec<Option<LoyaltyCategory>>>> {
    let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) else {
        return Ok(HashMap::new());
    };
    let signals = store.all_category_signals(*first - lookback, *last).await?;
    let mut by_customer: HashMap<CustomerId, Vec<CategorySignal>> = HashMap::new();
    for (customer, signal) in signals {
        by_customer.entry(customer).or_default().push(signal);
    }
    Ok(by_customer
        .into_iter()
        .map(|(customer, signals)| {
            let at: Vec<Option<LoyaltyCategory>> = dates
                .iter()
                .map(|at| category_at(&signals, *at, lookback).map(|a| a.category))
                .collect();
            (customer, at)
        })
        .collect())
}

/// Each customer's category at each of `dates` (in order), for the
/// `customers` who existed by the last date; those without any signal in
/// the window count as none at every date.
async fn categories_on(
    store: &Store,
    dates: &[DateTime<Utc>],
    lookback: Duration,
    customers: u64,
) -> Result<Vec<Vec<Option<LoyaltyCategory>>>> {
    let by_customer = categories_by_customer(store, dates, lookback).await?;
    let silent = customers.saturating_sub(by_customer.len() as u64);
    let mut rows: Vec<Vec<Option<LoyaltyCategory>>> = by_customer.into_values().collect();
    rows.extend(std::iter::repeat_n(
        vec![None; dates.len()],
        silent as usize,
    ));
    Ok(rows)
}

/// Who moved between categories from `from` to `to`: `vouch transitions --json`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TransitionsReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub lookback_days: i64,
    pub matrix: Vec<TransitionCell>,
}

pub async fn transitions(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    lookback: Duration,
) -> Result<TransitionsReport> {
    let customers = store.customer_flow(from.min(to), to).await?.present_at_end;
    let pairs = categories_on(store, &[from, to], lookback, customers)
        .await?
        .into_iter()
        .map(|c| (c[0], c[1]));
    Ok(TransitionsReport {
        from,
        to,
        lookback_days: lookback.num_days(),
        matrix: transition_matrix(pairs),
    })
}

/// Topic drivers over the NPS answers of `[from, to)` with an analysed
/// comment (`vouch_domain::analytics::topic_drivers`).
pub async fn topic_drivers(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    level: f64,
) -> Result<Vec<vouch_domain::analytics::TopicDriver>> {
    let answers = store.commented_nps_answers(from, to).await?;
    Ok(vouch_domain::analytics::topic_drivers(&answers, level))
}

/// The customers who were in `moved.0` at `from` and in `moved.1` at
/// `to` (a flow of the transitions), by id. "None" to "none" is every
/// silent customer and is not listed (`None`).
pub async fn movers(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    lookback: Duration,
    moved: (
        vouch_domain::analytics::CategoryOrNone,
        vouch_domain::analytics::CategoryOrNone,
    ),
) -> Result<Option<Vec<CustomerId>>> {
    if moved.0.0.is_none() && moved.1.0.is_none() {
        return Ok(None);
    }
    let mut ids: Vec<CustomerId> = categories_by_customer(store, &[from, to], lookback)
        .await?
        .into_iter()
        .filter(|(_, c)| c[0] == moved.0.0 && c[1] == moved.1.0)
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    Ok(Some(ids))
}

/// A survey's results: what became of its invitations, its score with
/// the interval, and (for NPS) its monthly trend over the last year.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SurveyResults {
    pub invitations: vouch_store::InvitationCounts,
    /// Invitations answered ÷ sent; `null` before any was sent.
    pub response_rate: Option<Rate>,
    /// Every answer of the last 365 days, invited or not (links, the
    /// widget, imports); the score and the trend cover the same days.
    pub responses: u64,
    pub nps: Option<NpsReport>,
    pub csat: Option<CsatEstimate>,
    pub ces: Option<CesEstimate>,
    pub trend: Vec<PeriodReport>,
}

pub async fn survey_results(
    store: &Store,
    design: &vouch_domain::SurveyDesign,
    level: f64,
    now: DateTime<Utc>,
) -> Result<SurveyResults> {
    let invitations = store.invitation_counts(design.survey.id).await?;
    // The last 365 whole UTC days: NPS then comes from the daily rollup,
    // CSAT and CES from the (survey, time, score) index.
    let to = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    let to = to.and_time(chrono::NaiveTime::MIN).and_utc();
    let filter = ResponseFilter {
        from: Some(to - Duration::days(365)),
        to: Some(to),
        surveys: vec![design.survey.name.clone()],
        ..ResponseFilter::default()
    };
    let kind = design.survey.kind;
    let (nps, csat, ces, responses, trend) = match kind {
        SurveyKind::Nps => {
            let tally = store.nps_tally(&filter).await?;
            let spec = TrendSpec {
                granularity: vouch_domain::analytics::Granularity::Month,
                tz: chrono_tz::Tz::UTC,
                rolling: None,
            };
            let trend = nps_trend(store, &filter, spec, level).await?;
            (
                Some(NpsReport::from_tally(tally, level)),
                None,
                None,
                tally.responses(),
                trend,
            )
        }
        SurveyKind::Csat | SurveyKind::Ces => {
            let counts = store.filtered_score_counts(kind, &filter).await?;
            let (csat, ces) = if kind == SurveyKind::Csat {
                (counts.csat(level), None)
            } else {
                (None, counts.ces(level))
            };
            (None, csat, ces, counts.responses(), Vec::new())
        }
    };
    Ok(SurveyResults {
        response_rate: (invitations.sent > 0)
            .then(|| Rate::of(invitations.answered, invitations.sent)),
        invitations,
        responses,
        nps,
        csat,
        ces,
        trend,
    })
}

/// Customers per category at one date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CategoryCounts {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// Customers with no answer or review in the look-back window.
    pub none: u64,
}

/// A rate with what it was computed from; `rate` is `null` when the denominator is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub rate: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
}

impl Rate {
    fn of(numerator: u64, denominator: u64) -> Self {
        Rate {
            rate: (denominator > 0).then(|| round4(numerator as f64 / denominator as f64)),
            numerator,
            denominator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReviewKpi {
    pub platform: String,
    pub reviews: u64,
    /// Mean stars on 1–5, one decimal.
    pub mean_rating: f64,
    /// The mean of the period of equal length just before, when it had reviews.
    pub previous_mean_rating: Option<f64>,
    /// Reviews marked handled in the inbox ÷ reviews.
    pub answered: Rate,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SocialKpi {
    pub platform: String,
    pub mentions: u64,
    pub likes: u64,
    pub shares: u64,
    pub comments: u64,
}

/// Everything `vouch kpis` reports for `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub nps: NpsReport,
    /// The NPS of the period of equal length just before.
    pub previous_nps: NpsReport,
    pub nps_change: Option<ChangeReport>,
    pub csat: Option<CsatEstimate>,
    pub ces: Option<CesEstimate>,
    /// Invitations sent in the period that were answered ÷ invitations
    /// sent in the period; `null` when Vouch sent none.
    pub response_rate: Option<Rate>,
    /// Customers present at `from` and not churned by `to`, ÷ customers present at `from`.
    pub retention: Rate,
    /// New customers acquired through a referral ÷ new customers.
    pub referral: Rate,
    /// Approved referred orders placed in the period, by currency.
    pub referral_revenue: Vec<Money>,
    pub reviews: Vec<ReviewKpi>,
    pub social: Vec<SocialKpi>,
    /// Customers per category at `to`.
    pub categories: CategoryCounts,
}

/// The survey scores of `[from, to)`: the dashboard's tiles, and the first
/// part of the KPIs. Whole-day bounds let the NPS come from the rollup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    pub nps: NpsReport,
    /// The NPS of the period of equal length just before.
    pub previous_nps: NpsReport,
    pub nps_change: Option<ChangeReport>,
    pub csat: Option<CsatEstimate>,
    pub ces: Option<CesEstimate>,
}

pub async fn scores(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    level: f64,
) -> Result<ScoreReport> {
    scores_of(store, &ResponseFilter::default(), from, to, level).await
}

/// `scores` over the answers `base` takes (surveys, channels, languages,
/// attributes): the dashboard's filters. Its times are `from` and `to`.
pub async fn scores_of(
    store: &Store,
    base: &ResponseFilter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    level: f64,
) -> Result<ScoreReport> {
    let period = ResponseFilter {
        from: Some(from),
        to: Some(to),
        ..base.clone()
    };
    let before = ResponseFilter {
        from: Some(from - (to - from)),
        to: Some(from),
        ..base.clone()
    };
    let (now, earlier) = (
        store.nps_tally(&period).await?,
        store.nps_tally(&before).await?,
    );
    let round_csat = |c: CsatEstimate| CsatEstimate {
        csat: round1(c.csat),
        ci_low: round1(c.ci_low),
        ci_high: round1(c.ci_high),
        mean: round4(c.mean),
        ..c
    };
    let round_ces = |c: CesEstimate| CesEstimate {
        ces: round4(c.ces),
        ci_low: c.ci_low.map(round4),
        ci_high: c.ci_high.map(round4),
        ..c
    };
    // Without lists the counts come straight off the (survey, time) index.
    let unfiltered = base.surveys.is_empty()
        && base.channels.is_empty()
        && base.languages.is_empty()
        && base.attributes.is_empty();
    let counts = async |kind| {
        if unfiltered {
            store.score_counts(kind, Some(from), Some(to)).await
        } else {
            store.filtered_score_counts(kind, &period).await
        }
    };
    Ok(ScoreReport {
        nps: NpsReport::from_tally(now, level),
        previous_nps: NpsReport::from_tally(earlier, level),
        nps_change: ChangeReport::between(&earlier, &now, level),
        csat: counts(SurveyKind::Csat).await?.csat(level).map(round_csat),
        ces: counts(SurveyKind::Ces).await?.ces(level).map(round_ces),
    })
}

/// An amount in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Money {
    /// ISO 4217.
    pub currency: String,
    /// In the currency's hundredths (cents, bani).
    pub cents: i64,
}

pub async fn kpis(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    level: f64,
    lookback: Duration,
) -> Result<KpiReport> {
    let scores = scores(store, from, to, level).await?;
    let flow = store.customer_flow(from, to).await?;
    let mut categories = CategoryCounts::default();
    for at_end in categories_on(store, &[to], lookback, flow.present_at_end).await? {
        match at_end[0] {
            Some(LoyaltyCategory::Promoter) => categories.promoters += 1,
            Some(LoyaltyCategory::Passive) => categories.passives += 1,
            Some(LoyaltyCategory::Detractor) => categories.detractors += 1,
            None => categories.none += 1,
        }
    }
    Ok(KpiReport {
        from,
        to,
        nps: scores.nps,
        previous_nps: scores.previous_nps,
        nps_change: scores.nps_change,
        csat: scores.csat,
        ces: scores.ces,
        response_rate: {
            let (answered, sent) = store.invitations_answered(from, to).await?;
            (sent > 0).then(|| Rate::of(answered, sent))
        },
        retention: Rate::of(flow.retained, flow.present_at_start),
        referral: Rate::of(flow.new_referred, flow.new),
        referral_revenue: store
            .referral_revenue(from, to)
            .await?
            .into_iter()
            .map(|(currency, cents)| Money { currency, cents })
            .collect(),
        reviews: {
            let before = store.review_stats(from - (to - from), from).await?;
            store
                .review_stats(from, to)
                .await?
                .into_iter()
                .map(|r| ReviewKpi {
                    platform: r.source.to_string(),
                    reviews: r.reviews,
                    mean_rating: round1(r.mean_stars),
                    previous_mean_rating: before
                        .iter()
                        .find(|b| b.source == r.source)
                        .map(|b| round1(b.mean_stars)),
                    answered: Rate::of(r.handled, r.reviews),
                })
                .collect()
        },
        social: store
            .social_stats(from, to)
            .await?
            .into_iter()
            .map(|s| SocialKpi {
                platform: s.source.to_string(),
                mentions: s.mentions,
                likes: s.likes,
                shares: s.shares,
                comments: s.comments,
            })
            .collect(),
        categories,
    })
}
