//! SMART goals: set one (its baseline measured then), list them, read one
//! with its check-ins, current value, interval and status.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa::ToSchema;
use vouch_app::goals::{Goal, NewGoal};

use super::Path;
use super::{ApiError, ApiResult, Body};
use crate::AppState;
use crate::auth::{Api, need};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[derive(serde::Serialize, ToSchema)]
pub struct GoalList {
    goals: Vec<Goal>,
}

/// Every goal, the nearest deadline first, each with where it stands.
#[utoipa::path(get, path = "/api/v1/goals", operation_id = "list_goals", tag = "goals",
    responses((status = 200, description = "Every goal", body = GoalList)))]
pub async fn list(_: Api<need::ReadMetrics>, State(state): State<AppState>) -> ApiResult<GoalList> {
    Ok(Json(GoalList {
        goals: vouch_app::goals::goals(&state.store, today()).await?,
    }))
}

/// Sets a goal on a KPI. Its baseline is measured now, over the 90 days
/// before its start, through the dashboard's own KPI functions; with no
/// direction, the goal leads from the baseline towards the target.
#[utoipa::path(post, path = "/api/v1/goals", operation_id = "create_goal", tag = "goals", request_body = NewGoal,
    responses((status = 201, description = "The goal, with its baseline and status", body = Goal),
              (status = 422, description = "A deadline before the start, a segment on a KPI that takes none, or nothing to measure a baseline on", body = super::ErrorBody)))]
pub async fn create(
    _: Api<need::ManagePlaybooks>,
    State(state): State<AppState>,
    Body(input): Body<NewGoal>,
) -> Result<(StatusCode, Json<Goal>), ApiError> {
    let goal = vouch_app::goals::set_goal(&state.store, &state.playbooks, &input, today()).await?;
    Ok((StatusCode::CREATED, Json(goal)))
}

/// One goal: its current value with its 95% interval, its status
/// (`achieved` only when the interval clears the target), its projection to
/// the deadline and its check-ins.
#[utoipa::path(get, path = "/api/v1/goals/{id}", operation_id = "get_goal", tag = "goals",
    params(("id" = i64, Path, description = "The goal's id")),
    responses((status = 200, description = "The goal", body = Goal),
              (status = 404, description = "No such goal", body = super::ErrorBody)))]
pub async fn get(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Goal> {
    vouch_app::goals::goal(&state.store, id, today())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("goal", id))
}
