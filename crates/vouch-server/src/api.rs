//! The REST API, `/api/v1`: JSON in and out, errors as
//! `{"error": {"code", "message", "field"?}}`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_domain::analytics::{Granularity, TrendSpec};
use vouch_domain::{CustomerId, DEFAULT_LOOKBACK_DAYS, Permission};
use vouch_store::{ResponseFilter, StoreError};

use crate::AppState;
use crate::auth::ApiCaller;

/// An API error with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn invalid(field: &'static str, message: String) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message,
            field: Some(field),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { what, key } => ApiError {
                status: StatusCode::NOT_FOUND,
                code: "not_found",
                message: format!("no {what} {key}"),
                field: None,
            },
            other => {
                // The details go to the log, not to the caller.
                tracing::error!(error = %other, "store error");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the database could not answer; see the server log".to_owned(),
                    field: None,
                }
            }
        }
    }
}

impl From<vouch_app::AppError> for ApiError {
    fn from(e: vouch_app::AppError) -> ApiError {
        match e {
            vouch_app::AppError::Store(e) => e.into(),
            vouch_app::AppError::Refused(message) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "refused",
                message,
                field: None,
            },
        }
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// Ready when the database answers and its schema is the one this binary expects.
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.store.schema_version().await {
        Ok(v) if v == state.store.binary_schema_version() => {
            (StatusCode::OK, "ready").into_response()
        }
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "schema version {v}, expected {}",
                state.store.binary_schema_version()
            ),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

#[derive(Deserialize)]
pub struct Page {
    after: Option<i64>,
    limit: Option<u32>,
}

/// Customers by id, `limit` at a time (at most 500); `next` is the cursor
/// for the following page, null on the last.
pub async fn customers(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(page): Query<Page>,
) -> ApiResult {
    caller.require(Permission::ReadCustomers)?;
    let limit = page.limit.unwrap_or(50).clamp(1, 500);
    let customers = state
        .store
        .customers(page.after.map(CustomerId), limit)
        .await?;
    let next = (customers.len() == limit as usize)
        .then(|| customers.last().map(|c| c.id.0))
        .flatten();
    Ok(Json(json!({ "customers": customers, "next": next })))
}

pub async fn customer(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult {
    caller.require(Permission::ReadCustomers)?;
    let customer = state
        .store
        .customer(CustomerId(id))
        .await?
        .ok_or(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("no customer {id}"),
            field: None,
        })?;
    Ok(Json(json!(customer)))
}

fn time(field: &'static str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|raw| vouch_app::parse_time(raw).map_err(|e| ApiError::invalid(field, e)))
        .transpose()
}

#[derive(Deserialize)]
pub struct NpsQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    survey: Option<String>,
    level: Option<f64>,
}

/// The NPS with its interval, as `vouch nps --json`; with `by=day|week|month|quarter`, per period.
pub async fn nps(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<NpsQuery>,
) -> ApiResult {
    caller.require(Permission::ReadMetrics)?;
    let level = q.level.unwrap_or(0.95);
    if !(0.5..1.0).contains(&level) {
        return Err(ApiError::invalid(
            "level",
            format!("{level} is not between 0.5 and 1"),
        ));
    }
    let filter = ResponseFilter {
        from: time("from", q.from.as_deref())?,
        to: time("to", q.to.as_deref())?,
        surveys: q.survey.into_iter().collect(),
        ..ResponseFilter::default()
    };
    match q.by.as_deref() {
        None => Ok(Json(json!(
            vouch_app::reports::nps(&state.store, &filter, level).await?
        ))),
        Some(by) => {
            let granularity: Granularity = by.parse().map_err(|_| {
                ApiError::invalid("by", format!("{by:?} is not day, week, month or quarter"))
            })?;
            let spec = TrendSpec {
                granularity,
                tz: chrono_tz::Tz::UTC,
                rolling: None,
            };
            let periods = vouch_app::reports::nps_trend(&state.store, &filter, spec, level).await?;
            Ok(Json(json!({ "by": by, "periods": periods })))
        }
    }
}

#[derive(Deserialize)]
pub struct KpiQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The loyalty KPIs of a period (default: the last 90 days), as `vouch kpis --json`.
pub async fn kpis(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> ApiResult {
    caller.require(Permission::ReadMetrics)?;
    let to = time("to", q.to.as_deref())?.unwrap_or_else(Utc::now);
    let from = time("from", q.from.as_deref())?.unwrap_or(to - Duration::days(90));
    if from >= to {
        return Err(ApiError::invalid(
            "from",
            "from must be before to".to_owned(),
        ));
    }
    let report = vouch_app::reports::kpis(
        &state.store,
        from,
        to,
        0.95,
        Duration::days(DEFAULT_LOOKBACK_DAYS),
    )
    .await?;
    Ok(Json(json!(report)))
}
