//! `/api/v1/surveys`: design surveys and invite customers; `/api/v1/settings/branding`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;

use super::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use vouch_app::surveys::{Audience, Branding};
use vouch_domain::{SurveyDesign, SurveyId, SurveyKind, SurveyStatus, SurveyTexts};

use super::{ApiError, ApiResult, Body, parse_field, parse_optional};
use crate::AppState;
use crate::auth::{Api, need};

async fn design(state: &AppState, id: i64) -> Result<SurveyDesign, ApiError> {
    state
        .store
        .survey_design(SurveyId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("survey", id))
}

#[utoipa::path(get, path = "/api/v1/surveys", operation_id = "list_surveys", tag = "surveys",
    responses((status = 200, description = "Every survey with its status, public slug and wording", body = SurveyList)))]
pub async fn list(
    _: Api<need::ReadResponses>,
    State(state): State<AppState>,
) -> ApiResult<SurveyList> {
    Ok(Json(SurveyList {
        surveys: state.store.survey_designs().await?,
    }))
}

#[derive(serde::Serialize, ToSchema)]
pub struct SurveyList {
    surveys: Vec<SurveyDesign>,
}

#[utoipa::path(get, path = "/api/v1/surveys/{id}", operation_id = "get_survey", tag = "surveys",
    params(("id" = i64, Path, description = "The survey's id")),
    responses((status = 200, description = "The survey", body = SurveyDesign),
              (status = 404, description = "No such survey", body = super::ErrorBody)))]
pub async fn get(
    _: Api<need::ReadResponses>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<SurveyDesign> {
    Ok(Json(design(&state, id).await?))
}

/// A survey to create. Wording not given gets the defaults (English, Romanian).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    /// `nps` (0–10), `csat` (1–5) or `ces` (1–7).
    #[schema(pattern = "^(nps|csat|ces)$")]
    kind: String,
    #[schema(value_type = super::schemas::SurveyName, inline)]
    name: String,
    /// The question per language: `{"en": "…", "ro": "…"}`; `{company}` is replaced.
    #[serde(default)]
    #[schema(value_type = super::schemas::Wording, inline)]
    question: BTreeMap<String, String>,
    /// The question over the comment box, per language.
    #[serde(default)]
    #[schema(value_type = super::schemas::Wording, inline)]
    follow_up: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/surveys", operation_id = "create_survey", tag = "surveys", request_body = SurveyInput,
    responses((status = 201, description = "The new survey with its `id` and public `slug`", body = SurveyDesign),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn create(
    _: Api<need::ManageSurveys>,
    State(state): State<AppState>,
    Body(input): Body<SurveyInput>,
) -> Result<(StatusCode, Json<SurveyDesign>), ApiError> {
    let kind: SurveyKind = parse_field("kind", &input.kind)?;
    let texts = SurveyTexts {
        question: input.question,
        follow_up: input.follow_up,
    };
    let design = vouch_app::surveys::create_survey(&state.store, kind, &input.name, texts).await?;
    Ok((StatusCode::CREATED, Json(design)))
}

/// Changes to a survey: fields not sent stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyChange {
    #[schema(value_type = Option<super::schemas::SurveyName>, inline)]
    name: Option<String>,
    /// `active`, `paused` or `archived`.
    #[schema(pattern = "^(active|paused|archived)$")]
    status: Option<String>,
    #[schema(value_type = Option<super::schemas::Wording>, inline)]
    question: Option<BTreeMap<String, String>>,
    #[schema(value_type = Option<super::schemas::Wording>, inline)]
    follow_up: Option<BTreeMap<String, String>>,
}

#[utoipa::path(patch, path = "/api/v1/surveys/{id}", operation_id = "update_survey", tag = "surveys", request_body = SurveyChange,
    params(("id" = i64, Path, description = "The survey's id")),
    responses((status = 200, description = "The survey as changed", body = SurveyDesign),
              (status = 404, description = "No such survey", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn update(
    _: Api<need::ManageSurveys>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(change): Body<SurveyChange>,
) -> ApiResult<SurveyDesign> {
    let current = design(&state, id).await?;
    let status: Option<SurveyStatus> = parse_optional("status", change.status.as_deref())?;
    let texts = (change.question.is_some() || change.follow_up.is_some()).then(|| SurveyTexts {
        question: change
            .question
            .unwrap_or_else(|| current.texts.question.clone()),
        follow_up: change
            .follow_up
            .unwrap_or_else(|| current.texts.follow_up.clone()),
    });
    let design =
        vouch_app::surveys::update_survey(&state.store, current, change.name, status, texts)
            .await?;
    Ok(Json(design))
}

/// Who to invite: customers by id, email or external id, or all customers
/// whose attributes match.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    /// Vouch ids, emails or external ids: at least one.
    #[serde(default, deserialize_with = "super::given")]
    #[schema(value_type = Option<super::schemas::CustomerKeys>, inline)]
    customers: Option<Option<Vec<Value>>>,
    #[serde(rename = "where", default, deserialize_with = "super::given")]
    #[schema(rename = "where", value_type = Option<BTreeMap<String, String>>)]
    attributes: Option<Option<BTreeMap<String, String>>>,
}

/// Invites customers by email. Each is invited at most once per contact
/// window (any survey); those without an address, unsubscribed or bouncing
/// are suppressed. Emails and one reminder are sent by the job workers.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/invitations", operation_id = "invite", tag = "surveys", request_body = InvitationInput,
    params(("id" = i64, Path, description = "The survey's id")),
    responses((status = 202, description = "How many were queued, and why the others were not", body = vouch_app::surveys::InviteReport),
              (status = 404, description = "No such survey", body = super::ErrorBody),
              (status = 422, description = "No audience, or the survey is not active", body = super::ErrorBody)))]
pub async fn invite(
    _: Api<need::ManageSurveys>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(input): Body<InvitationInput>,
) -> Result<(StatusCode, Json<vouch_app::surveys::InviteReport>), ApiError> {
    let survey = design(&state, id).await?;
    // A field sent as null counts as sent: exactly one of the two, with a value.
    let audience = match (input.customers, input.attributes) {
        (Some(Some(keys)), None) if keys.is_empty() => {
            return Err(ApiError::invalid("customers", "name at least one customer"));
        }
        (Some(Some(keys)), None) => Audience::Customers(
            keys.iter()
                .map(|k| match k {
                    Value::String(s) if s.trim().is_empty() => {
                        Err(ApiError::invalid("customers", "a blank customer key"))
                    }
                    // The longest email is 254 characters; no key needs more than 320.
                    Value::String(s) if s.chars().count() > 320 => Err(ApiError::invalid(
                        "customers",
                        "a customer key is at most 320 characters",
                    )),
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => super::as_whole_number(n)
                        .map(|id| id.to_string())
                        .ok_or_else(|| {
                            ApiError::invalid("customers", format!("{n} is not a customer id"))
                        }),
                    other => Err(ApiError::invalid(
                        "customers",
                        format!("{other} is not an id or an email"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(Some(attributes))) if !attributes.is_empty() => {
            Audience::Where(attributes.into_iter().collect())
        }
        _ => {
            return Err(ApiError::invalid(
                "customers",
                "send either `customers` (a list) or `where` (attributes)",
            ));
        }
    };
    let report =
        vouch_app::surveys::invite(&state.store, &survey, &audience, &state.policy).await?;
    Ok((StatusCode::ACCEPTED, Json(report)))
}

#[utoipa::path(get, path = "/api/v1/settings/branding", operation_id = "get_branding", tag = "settings",
    responses((status = 200, description = "The company's name, colour, logo and postal address", body = Branding)))]
pub async fn branding(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
) -> ApiResult<Branding> {
    Ok(Json(vouch_app::surveys::branding(&state.store).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingInput {
    #[schema(value_type = super::schemas::CompanyName, inline)]
    company_name: String,
    /// `#RRGGBB`.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    colour: String,
    /// An https URL (`vouch_app::surveys::logo_url_ok`); empty for none.
    #[schema(value_type = Option<super::schemas::LogoUrl>, inline)]
    logo_url: Option<String>,
    /// One line, printed in the footer of messages; needed before any
    /// marketing message goes out.
    #[schema(value_type = Option<super::schemas::PostalAddress>, inline)]
    postal_address: Option<String>,
}

/// The company's name, colour and logo on survey pages and emails.
#[utoipa::path(put, path = "/api/v1/settings/branding", operation_id = "set_branding", tag = "settings", request_body = BrandingInput,
    responses((status = 200, description = "The branding as saved", body = Branding),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn set_branding(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Body(input): Body<BrandingInput>,
) -> ApiResult<Branding> {
    let branding = Branding {
        company_name: input.company_name,
        colour: input.colour,
        logo_url: input.logo_url.filter(|u| !u.trim().is_empty()),
        postal_address: input.postal_address.filter(|a| !a.trim().is_empty()),
    };
    branding.save(&state.store).await?;
    Ok(Json(vouch_app::surveys::branding(&state.store).await?))
}
