//! `/api/v1/templates`: the company's own message templates (MiniJinja,
//! sandboxed, HTML auto-escaped), checked and previewed before use.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use vouch_app::templates::{MessageTemplate, TemplateError, TemplateName};

use super::{ApiError, ApiResult, Body, Path};
use crate::AppState;
use crate::auth::{Api, need};
use crate::locale::texts_for;
use crate::mailer::{builtin_survey_template, survey_email_sample};

/// Which template: its name (`survey.email`) and language (`en`, `ro`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct TemplatePath {
    /// The message: `survey.email`.
    #[param(value_type = super::schemas::TemplateName, inline)]
    name: String,
    /// `en` or `ro`.
    #[param(value_type = super::schemas::MessageLanguage, inline)]
    language: String,
}

/// Where preview links point: nowhere real.
const PREVIEW_URL: &str = "https://vouch.example";

fn name_and_language(name: &str, language: &str) -> Result<TemplateName, ApiError> {
    let name: TemplateName = name
        .parse()
        .map_err(|_: String| ApiError::not_found("template", name))?;
    if texts_for(language).is_none() {
        return Err(ApiError::invalid(
            "language",
            format!("{language:?}: en or ro"),
        ));
    }
    Ok(name)
}

async fn sample(state: &AppState, language: &str) -> Result<Value, ApiError> {
    let brand = vouch_app::surveys::branding(&state.store).await?;
    Ok(survey_email_sample(
        language,
        &brand.company_name,
        &brand.colour,
        PREVIEW_URL,
    ))
}

fn refused(e: TemplateError) -> ApiError {
    let field = match &e {
        TemplateError::Invalid { part, .. } | TemplateError::TooLong { part, .. } => *part,
    };
    ApiError::invalid(field, e.to_string())
}

/// Each message's template per language, and whether it is the company's own.
#[utoipa::path(get, path = "/api/v1/templates", operation_id = "list_templates", tag = "templates",
    responses((status = 200, description = "Every message in every language", body = TemplateList)))]
pub async fn list(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
) -> ApiResult<TemplateList> {
    let mut templates = Vec::new();
    for name in TemplateName::ALL {
        for language in crate::locale::languages() {
            let custom = vouch_app::templates::custom(&state.store, *name, language).await?;
            templates.push(TemplateEntry {
                name: *name,
                language: language.to_string(),
                custom: custom.is_some(),
            });
        }
    }
    Ok(Json(TemplateList { templates }))
}

#[derive(serde::Serialize, ToSchema)]
pub struct TemplateList {
    templates: Vec<TemplateEntry>,
}

/// A message in one language.
#[derive(serde::Serialize, ToSchema)]
pub struct TemplateEntry {
    name: TemplateName,
    #[schema(value_type = super::schemas::MessageLanguage, inline)]
    language: String,
    /// Whether the company's own template is used instead of the built-in one.
    custom: bool,
}

/// A template as a message uses it now.
#[derive(serde::Serialize, ToSchema)]
pub struct TemplateInUse {
    name: TemplateName,
    #[schema(value_type = super::schemas::MessageLanguage, inline)]
    language: String,
    custom: bool,
    subject: String,
    text: String,
    html: String,
}

/// A saved template and its rendering with sample values.
#[derive(serde::Serialize, ToSchema)]
pub struct SavedTemplate {
    /// Always `true`.
    saved: bool,
    preview: vouch_app::templates::Rendered,
}

/// The template a message uses now: the company's, else Vouch's built-in
/// one. Variables: `company`, `colour`, `question`, `reminder`, `links`
/// (`score`, `url`), `low`, `high`, `unsubscribe_url`, `customer.name`,
/// `lang`, and the built-in words as `t.subject`, `t.reminder_subject`,
/// `t.pick`, `t.comment`, `t.unsubscribe`.
#[utoipa::path(get, path = "/api/v1/templates/{name}/{language}", operation_id = "get_template", tag = "templates",
    params(TemplatePath),
    responses((status = 200, description = "The template", body = TemplateInUse),
              (status = 404, description = "No such template", body = super::ErrorBody)))]
pub async fn get(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path((name, language)): Path<(String, String)>,
) -> ApiResult<TemplateInUse> {
    let name = name_and_language(&name, &language)?;
    let custom = vouch_app::templates::custom(&state.store, name, &language).await?;
    let is_custom = custom.is_some();
    let template = custom.unwrap_or_else(builtin_survey_template);
    Ok(Json(TemplateInUse {
        name,
        language,
        custom: is_custom,
        subject: template.subject,
        text: template.text,
        html: template.html,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// One line; newlines and control characters are dropped when rendered.
    #[schema(max_length = 20000)]
    subject: String,
    /// The plain-text part.
    #[schema(max_length = 20000)]
    text: String,
    /// The HTML part; every `{{ value }}` is HTML-escaped.
    #[schema(max_length = 20000)]
    html: String,
}

impl From<TemplateInput> for MessageTemplate {
    fn from(t: TemplateInput) -> MessageTemplate {
        MessageTemplate {
            subject: t.subject,
            text: t.text,
            html: t.html,
        }
    }
}

/// Saves the company's template after rendering it with sample values; a
/// template that does not render is refused (422, naming the part and
/// line) and nothing is saved. The answer holds the rendered sample.
#[utoipa::path(put, path = "/api/v1/templates/{name}/{language}", operation_id = "save_template", tag = "templates",
    params(TemplatePath),
    request_body = TemplateInput,
    responses((status = 200, description = "Saved, with the sample rendering", body = SavedTemplate),
              (status = 422, description = "The template does not render", body = super::ErrorBody)))]
pub async fn save(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path((name, language)): Path<(String, String)>,
    Body(input): Body<TemplateInput>,
) -> ApiResult<SavedTemplate> {
    let name = name_and_language(&name, &language)?;
    let sample = sample(&state, &language).await?;
    let template = MessageTemplate::from(input);
    let preview = vouch_app::templates::save(&state.store, name, &language, &template, &sample)
        .await?
        .map_err(refused)?;
    Ok(Json(SavedTemplate {
        saved: true,
        preview,
    }))
}

/// Goes back to Vouch's built-in template.
#[utoipa::path(delete, path = "/api/v1/templates/{name}/{language}", operation_id = "reset_template", tag = "templates",
    params(TemplatePath),
    responses((status = 204, description = "The built-in template is used again"),
              (status = 404, description = "No template of the company's own", body = super::ErrorBody)))]
pub async fn reset(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path((name, language)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let name = name_and_language(&name, &language)?;
    if !state
        .store
        .delete_mail_template(name.as_str(), &language)
        .await?
    {
        return Err(ApiError::not_found(
            "template",
            format!("{}/{language}", name.as_str()),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Renders the template in the body with sample values, without saving
/// it: what a customer would see.
#[utoipa::path(post, path = "/api/v1/templates/{name}/{language}/preview", operation_id = "preview_template", tag = "templates",
    params(TemplatePath),
    request_body = TemplateInput,
    responses((status = 200, description = "Rendered with sample values", body = vouch_app::templates::Rendered),
              (status = 422, description = "The template does not render", body = super::ErrorBody)))]
pub async fn preview(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path((name, language)): Path<(String, String)>,
    Body(input): Body<TemplateInput>,
) -> ApiResult<vouch_app::templates::Rendered> {
    name_and_language(&name, &language)?;
    let sample = sample(&state, &language).await?;
    let rendered =
        vouch_app::templates::render(&MessageTemplate::from(input), &sample).map_err(refused)?;
    Ok(Json(rendered))
}
