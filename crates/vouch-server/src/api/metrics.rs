//! `/api/v1/metrics`: the analytics functions, unchanged, as JSON.

use axum::Json;
use axum::extract::State;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use vouch_app::params;
use vouch_domain::DEFAULT_LOOKBACK_DAYS;

use super::{AnswerFilter, ApiError, ApiResult, Params, time};
use crate::AppState;
use crate::auth::{Api, need};

/// The options of `vouch nps` besides its filter ([`AnswerFilter`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NpsQuery {
    /// `day`, `week`, `month`, `quarter`, `survey`, `channel`, `lang` or `attr:NAME`.
    #[param(value_type = Option<super::schemas::Breakdown>, inline)]
    by: Option<String>,
    /// Time zone of periods (default UTC), e.g. `Europe/Bucharest`.
    #[param(value_type = Option<super::schemas::TimeZone>, inline)]
    tz: Option<String>,
    /// With a period `by`: each period is the window of this length ending with it (`90d`, `12w`).
    #[param(value_type = Option<super::schemas::Window>, inline)]
    rolling: Option<String>,
    /// Confidence level of the intervals (default 0.95).
    #[param(value_type = Option<super::schemas::Level>, inline)]
    level: Option<String>,
}

/// The NPS with its interval, as `vouch nps --json` prints it: one object,
/// or `{periods: [...]}` / `{segments: [...]}` with `by`.
#[utoipa::path(get, path = "/api/v1/metrics/nps", operation_id = "nps", tag = "metrics", params(NpsQuery, AnswerFilter),
    responses((status = 200, description = "As `vouch nps --json`", body = vouch_app::reports::NpsBreakdown),
              (status = 422, description = "A bad option", body = super::ErrorBody)))]
pub async fn nps(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    uri: axum::http::Uri,
    Params(q): Params<NpsQuery>,
    Params(filter): Params<AnswerFilter>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let body = state
        .nps_cache
        .get_or_compute(uri.query().unwrap_or(""), || nps_json(&state, q, filter))
        .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.as_str().to_owned(),
    )
        .into_response())
}

async fn nps_json(
    state: &AppState,
    q: NpsQuery,
    filter: AnswerFilter,
) -> Result<std::sync::Arc<String>, ApiError> {
    let invalid = |field: &'static str| move |e: String| ApiError::invalid(field, e);
    let level = match q.level.as_deref() {
        None => 0.95,
        Some(raw) => params::parse_level(raw).map_err(invalid("level"))?,
    };
    let filter = filter.filter()?;
    let by =
        q.by.as_deref()
            .map(params::parse_breakdown)
            .transpose()
            .map_err(invalid("by"))?;
    let tz = match q.tz.as_deref() {
        None => chrono_tz::Tz::UTC,
        Some(raw) => params::parse_tz(raw).map_err(invalid("tz"))?,
    };
    let rolling = q
        .rolling
        .as_deref()
        .map(params::parse_window)
        .transpose()
        .map_err(invalid("rolling"))?;
    let answer =
        vouch_app::reports::nps_by(&state.store, &filter, by.as_ref(), tz, rolling, level).await?;
    Ok(std::sync::Arc::new(json!(answer).to_string()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// One end of the period (date or RFC 3339); default 90 days before
    /// `to`. The two ends may come in either order.
    #[param(value_type = Option<super::schemas::Time>, inline)]
    from: Option<String>,
    /// The other end; default now.
    #[param(value_type = Option<super::schemas::Time>, inline)]
    to: Option<String>,
}

impl PeriodQuery {
    /// `from` and `to` as given, or their defaults.
    fn ends(&self) -> Result<(chrono::DateTime<Utc>, chrono::DateTime<Utc>), ApiError> {
        let to = time("to", self.to.as_deref())?.unwrap_or_else(Utc::now);
        let from = time("from", self.from.as_deref())?.unwrap_or(to - Duration::days(90));
        Ok((from, to))
    }
}

/// The loyalty KPIs of a period (default: the last 90 days), as `vouch kpis --json`.
#[utoipa::path(get, path = "/api/v1/metrics/kpis", operation_id = "kpis", tag = "metrics", params(PeriodQuery),
    responses((status = 200, description = "As `vouch kpis --json`", body = vouch_app::reports::KpiReport),
              (status = 422, description = "A bad period", body = super::ErrorBody)))]
pub async fn kpis(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    Params(q): Params<PeriodQuery>,
) -> ApiResult<vouch_app::reports::KpiReport> {
    let (from, to) = q.ends()?;
    let (from, to) = vouch_app::params::period(from, to);
    let report = vouch_app::reports::kpis(
        &state.store,
        from,
        to,
        0.95,
        Duration::days(DEFAULT_LOOKBACK_DAYS),
    )
    .await?;
    Ok(Json(report))
}

/// Who moved between promoter, passive and detractor from `from` to `to`
/// (default: the last 90 days), as `vouch transitions --json`.
#[utoipa::path(get, path = "/api/v1/metrics/transitions", operation_id = "transitions", tag = "metrics", params(PeriodQuery),
    responses((status = 200, description = "As `vouch transitions --json`", body = vouch_app::reports::TransitionsReport),
              (status = 422, description = "A bad period", body = super::ErrorBody)))]
pub async fn transitions(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    Params(q): Params<PeriodQuery>,
) -> ApiResult<vouch_app::reports::TransitionsReport> {
    // Two snapshots compared: `from` may be the later one.
    let (from, to) = q.ends()?;
    let report = vouch_app::reports::transitions(
        &state.store,
        from,
        to,
        Duration::days(DEFAULT_LOOKBACK_DAYS),
    )
    .await?;
    Ok(Json(report))
}
