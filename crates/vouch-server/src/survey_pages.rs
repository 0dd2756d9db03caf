//! What the company's customers see: survey pages behind an invitation's
//! token (`/s/{token}`, with one-click scores from the email), public links
//! (`/l/{slug}`), unsubscribing (`/u/{token}`) and the embeddable widget.
//!
//! CSRF: an invitation page's forms post to its own unguessable token, so a
//! foreign page cannot forge them; public links are anonymous by design and
//! are rate-limited per address, with a honeypot field against bots.

use crate::client::ClientAddress;
use crate::edge::Form;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use vouch_app::AppError;
use vouch_app::surveys::{Branding, Invited, TokenAnswer};
use vouch_domain::{Locale, SurveyDesign, SurveyKind, SurveyStatus};

use crate::AppState;
use crate::locale::Ui;
use crate::locale::{Texts, texts, texts_for};

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    lang: &'static str,
    ui: Ui,
    company: String,
    logo: Option<String>,
    action: String,
    question: String,
    follow_up: String,
    scale: Vec<ScaleItem>,
    low: &'static str,
    high: &'static str,
    comment: String,
    error: Option<String>,
    notice: Option<String>,
}

/// One point of the score scale, and whether it is the chosen one.
struct ScaleItem {
    n: u8,
    checked: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    lang: &'static str,
    company: String,
    logo: Option<String>,
    title: &'static str,
    body: &'static str,
    action: Option<String>,
    button: &'static str,
}

/// The language of a page: the invitation's customer's, else the browser's, else English.
fn language(locale: Option<&Locale>, headers: &HeaderMap) -> Words {
    locale
        .and_then(|l| texts_for(l.language()))
        .unwrap_or_else(|| texts(headers))
}

pub(crate) fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        // Survey pages may be framed (the widget); nothing here is secret.
        Ok(body) => (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(crate) async fn brand(state: &AppState) -> Branding {
    vouch_app::surveys::branding(&state.store)
        .await
        .unwrap_or_else(|_| Branding::from_settings(&Default::default()))
}

pub(crate) fn message(
    status: StatusCode,
    (lang, t): (&'static str, &'static Texts),
    brand: Branding,
    keys: (&str, &str),
    form: Option<(String, &str)>,
) -> Response {
    let ui = Ui(t);
    html(
        status,
        MessagePage {
            lang,
            company: brand.company_name,
            logo: brand.logo_url,
            title: ui.t(keys.0),
            body: ui.t(keys.1),
            button: form.as_ref().map_or("", |(_, key)| ui.t(key)),
            action: form.map(|(action, _)| action),
        },
    )
}

struct Asked<'a> {
    design: &'a SurveyDesign,
    action: String,
    chosen: Option<u8>,
    comment: String,
    error: Option<&'static str>,
    /// Said above the question: the score just saved, or the answer given before.
    notice: Option<String>,
}

impl<'a> Asked<'a> {
    /// The question, nothing chosen yet, posting to `action`.
    fn new(design: &'a SurveyDesign, action: String) -> Asked<'a> {
        Asked {
            design,
            action,
            chosen: None,
            comment: String::new(),
            error: None,
            notice: None,
        }
    }
}

fn survey_page(
    status: StatusCode,
    (lang, t): (&'static str, &'static Texts),
    brand: Branding,
    asked: Asked<'_>,
) -> Response {
    let ui = Ui(t);
    let kind = asked.design.survey.kind;
    let (min, max) = kind.scale();
    let (low, high) = match kind {
        SurveyKind::Nps => ("scale_low_nps", "scale_high_nps"),
        SurveyKind::Csat => ("scale_low_csat", "scale_high_csat"),
        SurveyKind::Ces => ("scale_low_ces", "scale_high_ces"),
    };
    html(
        status,
        SurveyPage {
            lang,
            question: asked.design.texts.question_in(lang, &brand.company_name),
            follow_up: asked.design.texts.follow_up_in(lang, &brand.company_name),
            company: brand.company_name,
            logo: brand.logo_url,
            action: asked.action,
            scale: (min..=max)
                .map(|n| ScaleItem {
                    n,
                    checked: asked.chosen == Some(n),
                })
                .collect(),
            low: ui.t(low),
            high: ui.t(high),
            comment: asked.comment,
            error: asked.error.map(|key| ui.t(key).to_owned()),
            notice: asked.notice,
            ui,
        },
    )
}

#[derive(Deserialize)]
pub struct ScoreQuery {
    score: Option<String>,
}

#[derive(Deserialize)]
pub struct AnswerForm {
    score: Option<String>,
    #[serde(default)]
    comment: String,
    /// The honeypot: people never see it, bots fill it in.
    #[serde(default)]
    website: String,
}

type Words = (&'static str, &'static Texts);

/// The invitation behind `token` and the language of its pages, or the
/// page to answer with instead (unknown token, database error).
async fn invited(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    brand: &Branding,
) -> Result<(Invited, Words), Response> {
    match vouch_app::surveys::invited(&state.store, token).await {
        Ok(Some(invited)) => {
            let words = language(Some(&invited.invitation.locale), headers);
            Ok((invited, words))
        }
        Ok(None) => Err(unknown(headers, brand.clone())),
        Err(e) => Err(crate::error::PageError::from(e).into_response()),
    }
}

/// `GET /s/{token}`: the question; with `?score=N` (the email's one-click
/// link) the score is recorded and the follow-up question shown.
pub async fn invitation_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<ScoreQuery>,
    headers: HeaderMap,
) -> Response {
    let brand = brand(&state).await;
    let (invited, words) = match invited(&state, &token, &headers, &brand).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    // The survey's "opened" count; a failure here costs the count, not the page.
    if let Err(e) = state
        .store
        .mark_invitation_opened(invited.invitation.id, chrono::Utc::now())
        .await
    {
        tracing::warn!(error = %e, "an opened invitation was not noted");
    }
    let asked = Asked::new(&invited.design, format!("/s/{token}"));
    let Some(raw) = q.score.as_deref() else {
        // Opened again: the answer given, to read or change.
        let saved = match vouch_app::surveys::saved_answer(&state.store, &invited).await {
            Ok(saved) => saved,
            Err(e) => return crate::error::PageError::from(e).into_response(),
        };
        let asked = match saved {
            Some(answer) => Asked {
                chosen: Some(answer.answer.score.value()),
                comment: answer.answer.comment.unwrap_or_default(),
                notice: Some(Ui(words.1).t("answer_saved_before").to_owned()),
                ..asked
            },
            None => asked,
        };
        return survey_page(StatusCode::OK, words, brand, asked);
    };
    let refused = |brand, asked| {
        survey_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            words,
            brand,
            Asked {
                error: Some("choose_score"),
                ..asked
            },
        )
    };
    let Ok(score) = raw.parse::<i64>() else {
        return refused(brand, asked);
    };
    match vouch_app::surveys::answer_invitation(&state.store, &invited, score, None, &state.policy)
        .await
    {
        Ok(TokenAnswer::Saved(_)) => {
            // A write through a GET (the email's one-click link).
            crate::cache::wrote(&state.writes);
            let chosen = u8::try_from(score).ok();
            let notice = Ui(words.1)
                .t("score_saved")
                .replace("{score}", &score.to_string());
            survey_page(
                StatusCode::OK,
                words,
                brand,
                Asked {
                    chosen,
                    notice: Some(notice),
                    ..asked
                },
            )
        }
        Ok(TokenAnswer::Unknown) => unknown(&headers, brand),
        Ok(TokenAnswer::Closed) => closed(words, brand),
        Err(AppError::Refused(_)) => refused(brand, asked),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

/// `POST /s/{token}`: records or changes the score and comment.
pub async fn answer_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AnswerForm>,
) -> Response {
    let brand = brand(&state).await;
    let (invited, words) = match invited(&state, &token, &headers, &brand).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let score = form.score.as_deref().and_then(|s| s.parse::<i64>().ok());
    let refused = |brand| {
        survey_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            words,
            brand,
            Asked {
                chosen: score.and_then(|s| u8::try_from(s).ok()),
                comment: form.comment.clone(),
                error: Some("choose_score"),
                ..Asked::new(&invited.design, format!("/s/{token}"))
            },
        )
    };
    let Some(score) = score else {
        return refused(brand);
    };
    match vouch_app::surveys::answer_invitation(
        &state.store,
        &invited,
        score,
        Some(&form.comment),
        &state.policy,
    )
    .await
    {
        Ok(TokenAnswer::Saved(_)) => thanks(words, brand),
        Ok(TokenAnswer::Unknown) => unknown(&headers, brand),
        Ok(TokenAnswer::Closed) => closed(words, brand),
        Err(AppError::Refused(_)) => refused(brand),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

fn thanks(words: (&'static str, &'static Texts), brand: Branding) -> Response {
    message(
        StatusCode::OK,
        words,
        brand,
        ("thanks_title", "thanks_body"),
        None,
    )
}

/// The thanks of a public link's answer: it cannot be changed later (the
/// link is everyone's), so the page does not say it can.
fn thanks_for_link(words: (&'static str, &'static Texts), brand: Branding) -> Response {
    message(
        StatusCode::OK,
        words,
        brand,
        ("thanks_title", "thanks_link_body"),
        None,
    )
}

fn closed(words: (&'static str, &'static Texts), brand: Branding) -> Response {
    message(
        StatusCode::GONE,
        words,
        brand,
        ("closed_title", "closed_body"),
        None,
    )
}

fn unknown(headers: &HeaderMap, brand: Branding) -> Response {
    message(
        StatusCode::NOT_FOUND,
        texts(headers),
        brand,
        ("unknown_title", "unknown_body"),
        None,
    )
}

/// `GET /l/{slug}`: a survey's public link, for anonymous answers.
pub async fn link_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let brand = brand(&state).await;
    let words = language(None, &headers);
    match state.store.survey_by_slug(&slug).await {
        Ok(Some(design)) if design.status == SurveyStatus::Active => survey_page(
            StatusCode::OK,
            words,
            brand,
            Asked::new(&design, format!("/l/{slug}")),
        ),
        Ok(Some(_)) => closed(words, brand),
        _ => unknown(&headers, brand),
    }
}

/// `POST /l/{slug}`: an anonymous answer.
pub async fn answer_link(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<AnswerForm>,
) -> Response {
    let brand = brand(&state).await;
    let words = language(None, &headers);
    let design = match state.store.survey_by_slug(&slug).await {
        Ok(Some(design)) if design.status == SurveyStatus::Active => design,
        Ok(Some(_)) => return closed(words, brand),
        _ => return unknown(&headers, brand),
    };
    if !form.website.is_empty() {
        // A bot: thank it and keep nothing.
        return thanks_for_link(words, brand);
    }
    let allowed =
        vouch_app::limits::link_answer_allowed(&state.store, address, chrono::Utc::now()).await;
    // A database that cannot count is a 503, not a "too many answers".
    let allowed = match allowed {
        Ok(allowed) => allowed,
        Err(e) => return crate::error::PageError::from(e).into_response(),
    };
    if !allowed {
        return message(
            StatusCode::TOO_MANY_REQUESTS,
            words,
            brand,
            ("closed_title", "too_fast"),
            None,
        );
    }
    let refused = |brand, comment| {
        survey_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            words,
            brand,
            Asked {
                comment,
                error: Some("choose_score"),
                ..Asked::new(&design, format!("/l/{slug}"))
            },
        )
    };
    let Some(score) = form.score.as_deref().and_then(|s| s.parse::<i64>().ok()) else {
        return refused(brand, form.comment);
    };
    let locale = Locale::parse(words.0).ok();
    match vouch_app::surveys::answer_link(&state.store, &design, score, Some(&form.comment), locale)
        .await
    {
        Ok(_) => thanks_for_link(words, brand),
        Err(AppError::Refused(_)) => refused(brand, form.comment),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

/// `GET /u/{token}`: asks before unsubscribing (mail scanners follow links).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let brand = brand(&state).await;
    match invited(&state, &token, &headers, &brand).await {
        Ok((_, words)) => message(
            StatusCode::OK,
            words,
            brand,
            ("unsubscribe_title", "unsubscribe_body"),
            Some((format!("/u/{token}"), "unsubscribe_button")),
        ),
        Err(page) => page,
    }
}

/// `POST /u/{token}`: unsubscribes (also the one-click `List-Unsubscribe-Post`).
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let brand = brand(&state).await;
    let (invited, words) = match invited(&state, &token, &headers, &brand).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match vouch_app::surveys::unsubscribe(&state.store, &invited.invitation).await {
        Ok(()) => message(
            StatusCode::OK,
            words,
            brand,
            ("unsubscribe_title", "unsubscribed"),
            None,
        ),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

/// `GET /unsubscribe/{token}`: a playbook message's unsubscribe link
/// asks before it acts (link scanners follow GETs).
pub async fn message_unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let brand = brand(&state).await;
    match state
        .store
        .unsubscribe_token(&vouch_app::secrets::secret_hash(&token))
        .await
    {
        Ok(Some(_)) => message(
            StatusCode::OK,
            texts(&headers),
            brand,
            ("messages_unsubscribe_title", "messages_unsubscribe_body"),
            Some((format!("/unsubscribe/{token}"), "unsubscribe_button")),
        ),
        Ok(None) => unknown(&headers, brand),
        Err(e) => crate::error::PageError::from(vouch_app::AppError::from(e)).into_response(),
    }
}

/// `POST /unsubscribe/{token}`: unsubscribes from that kind of message
/// (also RFC 8058's one-click POST, with no cookie or CSRF token).
pub async fn message_unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let brand = brand(&state).await;
    match vouch_app::playbooks::unsubscribe(&state.store, &token).await {
        Ok(true) => message(
            StatusCode::OK,
            texts(&headers),
            brand,
            ("messages_unsubscribe_title", "unsubscribed"),
            None,
        ),
        Ok(false) => unknown(&headers, brand),
        Err(e) => crate::error::PageError::from(e).into_response(),
    }
}

/// `GET /assets/public.css`: the survey pages' style in the company's colour.
pub async fn public_css(State(state): State<AppState>) -> Response {
    let colour = brand(&state).await.colour;
    // Only #RRGGBB reaches the stylesheet, whatever the settings hold.
    let colour = if colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].chars().all(|c| c.is_ascii_hexdigit())
    {
        colour
    } else {
        "#1d4ed8".to_owned()
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        format!(
            ":root{{--brand:{colour}}}\n{}",
            include_str!("../assets/public.css")
        ),
    )
        .into_response()
}

/// `GET /widget.js`: shows a survey in an iframe where the script tag is:
/// `<script src="https://vouch.example.com/widget.js" data-survey="SLUG" async></script>`.
pub async fn widget() -> Response {
    const SCRIPT: &str = r#"(function () {
  var script = document.currentScript;
  if (!script) return;
  var slug = script.getAttribute("data-survey");
  if (!slug || !/^[A-Za-z0-9-]+$/.test(slug)) return;
  var frame = document.createElement("iframe");
  frame.src = new URL("/l/" + slug, script.src).href;
  frame.title = script.getAttribute("data-title") || "Survey";
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;max-width:40rem;height:32rem;border:0";
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
"#;
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}
