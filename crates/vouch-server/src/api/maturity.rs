//! The advocacy maturity self-assessment: the questions with evidence from
//! Vouch's own data, and assessments kept as history.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vouch_app::maturity::{Assessment, Maturity, NewAssessment};

use super::{ApiError, ApiResult, Body, Params};
use crate::AppState;
use crate::auth::{Api, need};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MaturityQuery {
    /// `en` (the default) or `ro`.
    #[param(pattern = "^(en|ro)$")]
    lang: Option<String>,
}

/// The questionnaire: the four levels, one question per dimension with its
/// four answers, evidence from Vouch's data beside each (sources
/// connected, tasks closed in SLA, active playbooks, roles in use,
/// promoters enrolled, goals on track…) and the assessments so far.
#[utoipa::path(get, path = "/api/v1/maturity", operation_id = "maturity", tag = "goals", params(MaturityQuery),
    responses((status = 200, description = "The questions with their evidence", body = Maturity),
              (status = 422, description = "A language other than en or ro", body = super::ErrorBody)))]
pub async fn get(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    Params(q): Params<MaturityQuery>,
) -> ApiResult<Maturity> {
    let language = q.lang.as_deref().unwrap_or("en");
    if !matches!(language, "en" | "ro") {
        return Err(ApiError::invalid("lang", "en or ro"));
    }
    Ok(Json(
        vouch_app::maturity::maturity(&state.store, &state.playbooks, language, chrono::Utc::now())
            .await?,
    ))
}

/// Stores an assessment: a level (1–4) for every dimension and, if wanted,
/// a target level per dimension. Answers the level per dimension and the
/// overall level (the lowest: a company is as mature as its weakest practice).
#[utoipa::path(post, path = "/api/v1/maturity/assessments", operation_id = "assess_maturity", tag = "goals", request_body = NewAssessment,
    responses((status = 201, description = "The assessment with its levels", body = Assessment),
              (status = 422, description = "A dimension unanswered, a level outside 1–4, or a target below its level", body = super::ErrorBody)))]
pub async fn assess(
    caller: Api<need::ManagePlaybooks>,
    State(state): State<AppState>,
    Body(input): Body<NewAssessment>,
) -> Result<(StatusCode, Json<Assessment>), ApiError> {
    let assessment =
        vouch_app::maturity::assess(&state.store, &input, &caller.0.name, chrono::Utc::now())
            .await?;
    Ok((StatusCode::CREATED, Json(assessment)))
}
