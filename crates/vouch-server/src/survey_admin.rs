//! The managers' survey pages: list, create, edit, pause and archive.
//! Same use cases as `/api/v1/surveys`; forms carry the session's CSRF token.

use std::collections::BTreeMap;

use crate::edge::Form;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_domain::{Permission, SurveyId, SurveyKind, SurveyStatus, SurveyTexts};

use crate::AppState;
use crate::auth::{Caller, Page, need};
use crate::error::PageError;
use crate::locale::Ui;
use crate::locale::texts;
use crate::pages::render;

struct SurveyRow {
    id: i64,
    name: String,
    kind: String,
    status: String,
    slug: String,
}

#[derive(Template)]
#[template(path = "surveys.html")]
struct SurveysPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    surveys: Vec<SurveyRow>,
    can_manage: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "survey_edit.html")]
struct SurveyEditPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    id: i64,
    name: String,
    statuses: Vec<(&'static str, bool)>,
    question_en: String,
    question_ro: String,
    follow_up_en: String,
    follow_up_ro: String,
    error: Option<String>,
    /// After a save: "Saved.", and the languages left at the default wording.
    saved: bool,
    left_at_default: Vec<String>,
}

async fn list_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (lang, t) = texts(headers);
    let surveys = match state.store.survey_designs().await {
        Ok(s) => s,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut response = render(SurveysPage {
        lang,
        ui: Ui(t),
        can_manage: caller.may(Permission::ManageSurveys),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        surveys: surveys
            .into_iter()
            .map(|d| SurveyRow {
                id: d.survey.id.0,
                name: d.survey.name,
                kind: d.survey.kind.to_string(),
                status: d.status.to_string(),
                slug: d.slug,
            })
            .collect(),
        error,
    });
    *response.status_mut() = status;
    response
}

/// `GET /surveys`.
pub async fn list(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadResponses>,
    headers: HeaderMap,
) -> Response {
    list_page(&state, caller, &headers, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    kind: String,
    name: String,
    #[serde(default)]
    question_en: String,
    #[serde(default)]
    question_ro: String,
}

/// Non-empty entries only: an empty field keeps the default wording.
fn wording(pairs: [(&str, &str); 2]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(language, text)| (language.to_owned(), text.trim().to_owned()))
        .collect()
}

/// `POST /surveys`: creates a survey.
pub async fn create(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSurveys>,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(refused) = caller.form_refusal(&form.csrf) {
        return refused;
    }
    let kind: SurveyKind = match form.kind.parse() {
        Ok(kind) => kind,
        Err(e) => {
            let message = format!("{e}");
            return list_page(
                &state,
                caller,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await;
        }
    };
    let texts = SurveyTexts {
        question: wording([("en", &form.question_en), ("ro", &form.question_ro)]),
        follow_up: BTreeMap::new(),
    };
    match vouch_app::surveys::create_survey(&state.store, kind, &form.name, texts).await {
        Ok(design) => {
            Redirect::to(&format!("/surveys/{}?saved=1", design.survey.id.0)).into_response()
        }
        Err(e) => {
            list_page(
                &state,
                caller,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
            )
            .await
        }
    }
}

/// `GET /surveys/{id}`: the edit form.
pub async fn edit(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSurveys>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    edit_page(
        &state,
        caller,
        &headers,
        id,
        StatusCode::OK,
        None,
        q.saved.is_some(),
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn edit_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    saved: bool,
) -> Response {
    let (lang, t) = texts(headers);
    let design = match state.store.survey_design(SurveyId(id)).await {
        Ok(Some(d)) => d,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let text = |map: &BTreeMap<String, String>, language: &str| {
        map.get(language).cloned().unwrap_or_default()
    };
    let mut response = render(SurveyEditPage {
        lang,
        ui: Ui(t),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        id,
        statuses: SurveyStatus::ALL
            .iter()
            .map(|s| (s.as_str(), *s == design.status))
            .collect(),
        question_en: text(&design.texts.question, "en"),
        question_ro: text(&design.texts.question, "ro"),
        follow_up_en: text(&design.texts.follow_up, "en"),
        follow_up_ro: text(&design.texts.follow_up, "ro"),
        left_at_default: design.texts.left_at_default(design.survey.kind),
        name: design.survey.name,
        error,
        saved,
    });
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
pub struct EditForm {
    csrf: String,
    name: String,
    status: String,
    #[serde(default)]
    question_en: String,
    #[serde(default)]
    question_ro: String,
    #[serde(default)]
    follow_up_en: String,
    #[serde(default)]
    follow_up_ro: String,
}

/// `POST /surveys/{id}`: saves the name, status and wording.
pub async fn save(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSurveys>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Response {
    if let Some(refused) = caller.form_refusal(&form.csrf) {
        return refused;
    }
    let design = match state.store.survey_design(SurveyId(id)).await {
        Ok(Some(d)) => d,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let status: Option<SurveyStatus> = form.status.parse().ok();
    let texts = SurveyTexts {
        question: wording([("en", &form.question_en), ("ro", &form.question_ro)]),
        follow_up: wording([("en", &form.follow_up_en), ("ro", &form.follow_up_ro)]),
    };
    match vouch_app::surveys::update_survey(
        &state.store,
        design,
        Some(form.name),
        status,
        Some(texts),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/surveys/{id}?saved=1")).into_response(),
        Err(e) => {
            edit_page(
                &state,
                caller,
                &headers,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
                false,
            )
            .await
        }
    }
}
