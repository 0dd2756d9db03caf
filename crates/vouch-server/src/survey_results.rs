//! A survey's results page (its score with the interval, the trend, what
//! became of its invitations, the latest comments, the link and widget
//! snippet to copy) and its send page (choose the audience, preview the
//! email in each language, send now or at a time). Same use cases as the
//! API: `vouch_app::surveys::invite` runs for "now" and for a scheduled
//! round alike.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_app::surveys::Audience;
use vouch_domain::{Permission, SurveyDesign, SurveyId, SurveyKind, SurveyStatus};
use vouch_store::FeedbackFilter;

use crate::AppState;
use crate::auth::{Page, need};
use crate::error::PageError;
use crate::locale::{Ui, texts};
use crate::pages::{render, shown};

async fn design(state: &AppState, id: i64) -> Result<SurveyDesign, PageError> {
    match state.store.survey_design(SurveyId(id)).await? {
        Some(d) => Ok(d),
        None => Err(PageError::new(StatusCode::NOT_FOUND, "not_found")),
    }
}

/// Where the public pages are: the configured address, else this request's.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.public_url();
    if !configured.is_empty() {
        return configured.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[derive(Template)]
#[template(path = "survey_results.html")]
struct ResultsPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    id: i64,
    name: String,
    kind: &'static str,
    status: String,
    /// "NPS +23.4", its interval and answer count.
    score: String,
    interval: String,
    responses: u64,
    response_rate: (String, String),
    /// (label key, count) for each state of the invitations.
    funnel: Vec<(&'static str, u64)>,
    chart_wide: String,
    chart_narrow: String,
    trend: Vec<(String, String, String, u64)>,
    comments: Vec<(String, String, String)>,
    link: String,
    snippet: String,
    may_manage: bool,
    /// After a send: what was queued or scheduled.
    sent: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ResultsQuery {
    queued: Option<u64>,
    throttled: Option<u64>,
    suppressed: Option<u64>,
    unknown: Option<u64>,
    scheduled: Option<String>,
}

/// `GET /surveys/{id}/results`.
pub async fn results(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadResponses>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ResultsQuery>,
) -> Response {
    let (lang, t) = texts(&headers);
    let ui = Ui(t);
    let design = match design(&state, id).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let now = chrono::Utc::now();
    let results = match vouch_app::reports::survey_results(&state.store, &design, 0.95, now).await {
        Ok(r) => r,
        Err(e) => return PageError::from(e).into_response(),
    };
    let comments = match state
        .store
        .feedback(
            &FeedbackFilter {
                survey: Some(design.survey.id),
                ..FeedbackFilter::default()
            },
            None,
            10,
        )
        .await
    {
        Ok(items) => items,
        Err(e) => return PageError::from(e).into_response(),
    };
    let (score, interval) = match design.survey.kind {
        SurveyKind::Nps => results
            .nps
            .as_ref()
            .map_or(("–".into(), String::new()), |n| {
                (
                    n.nps.map_or("–".to_owned(), |v| format!("{v:+.1}")),
                    match (n.ci_low, n.ci_high) {
                        (Some(l), Some(h)) => format!("95%: {l:+.1} … {h:+.1}"),
                        _ => String::new(),
                    },
                )
            }),
        SurveyKind::Csat => results
            .csat
            .as_ref()
            .map_or(("–".into(), String::new()), |c| {
                (
                    format!("{:.1}%", c.csat),
                    format!("95%: {:.1} … {:.1}%", c.ci_low, c.ci_high),
                )
            }),
        SurveyKind::Ces => results
            .ces
            .as_ref()
            .map_or(("–".into(), String::new()), |c| {
                (
                    format!("{:.2}", c.ces),
                    match (c.ci_low, c.ci_high) {
                        (Some(l), Some(h)) => format!("95%: {l:.2} … {h:.2}"),
                        _ => String::new(),
                    },
                )
            }),
    };
    let points: Vec<crate::charts::TrendPoint> = results
        .trend
        .iter()
        .filter_map(|p| {
            Some(crate::charts::TrendPoint {
                label: p.period.clone(),
                nps: p.nps.nps?,
                low: p.nps.ci_low?,
                high: p.nps.ci_high?,
                responses: p.nps.responses,
            })
        })
        .collect();
    let label = ui.t("trend_label");
    let chart = |size, id: &str| {
        if points.is_empty() {
            String::new()
        } else {
            crate::charts::nps_trend(&points, size, id, label, true, ui.t("partial"))
        }
    };
    let base = base_url(&state, &headers);
    let i = &results.invitations;
    let sent = q.queued.map(|queued| {
        format!(
            "{} {queued} · {} {} · {} {} · {} {}",
            ui.t("round_queued"),
            ui.t("round_throttled"),
            q.throttled.unwrap_or(0),
            ui.t("round_suppressed"),
            q.suppressed.unwrap_or(0),
            ui.t("round_unknown"),
            q.unknown.unwrap_or(0)
        )
    });
    let sent = sent.or_else(|| {
        q.scheduled
            .as_ref()
            .map(|at| format!("{} {}", ui.t("round_scheduled"), shown(at)))
    });
    render(ResultsPage {
        lang,
        may_manage: caller.may(Permission::ManageSurveys),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        id,
        kind: design.survey.kind.as_str(),
        status: design.status.to_string(),
        score,
        interval,
        responses: results.responses,
        response_rate: results.response_rate.as_ref().map_or(
            ("–".to_owned(), ui.t("none_sent").to_owned()),
            |r| {
                (
                    r.rate
                        .map_or("–".to_owned(), |v| format!("{:.1}%", 100.0 * v)),
                    format!("{} / {}", r.numerator, r.denominator),
                )
            },
        ),
        funnel: vec![
            ("inv_invited", i.invited),
            ("inv_queued", i.queued),
            ("inv_sent", i.sent),
            ("inv_opened", i.opened),
            ("inv_answered", i.answered),
            ("inv_bounced", i.bounced),
            ("inv_unsubscribed", i.unsubscribed),
        ],
        chart_wide: chart(crate::charts::WIDE, "survey-trend"),
        chart_narrow: chart(crate::charts::NARROW, "survey-trend-narrow"),
        trend: points
            .iter()
            .map(|p| {
                (
                    p.label.clone(),
                    format!("{:+.1}", p.nps),
                    format!("{:+.1} … {:+.1}", p.low, p.high),
                    p.responses,
                )
            })
            .collect(),
        comments: comments
            .into_iter()
            .map(|c| {
                (
                    c.feedback.posted_at.format("%Y-%m-%d").to_string(),
                    c.id.0.to_string(),
                    shown(&c.feedback.body),
                )
            })
            .collect(),
        link: format!("{base}/l/{}", design.slug),
        snippet: format!(
            r#"<script src="{base}/widget.js" data-survey="{}" async></script>"#,
            design.slug
        ),
        name: shown(&design.survey.name),
        sent,
        ui,
    })
}

#[derive(Template)]
#[template(path = "survey_send.html")]
struct SendPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    id: i64,
    name: String,
    active: bool,
    /// The email as each language's customers get it: (language, subject, text).
    previews: Vec<(String, String, String)>,
    key: String,
    error: Option<&'static str>,
}

async fn send_page(
    state: &AppState,
    caller: crate::auth::Caller,
    headers: &HeaderMap,
    design: SurveyDesign,
    error: Option<&'static str>,
) -> Response {
    let (lang, t) = texts(headers);
    let brand = match vouch_app::surveys::branding(&state.store).await {
        Ok(b) => b,
        Err(e) => return PageError::from(e).into_response(),
    };
    let base = base_url(state, headers);
    let mut previews = Vec::new();
    for language in crate::locale::languages() {
        let template = match vouch_app::templates::custom(
            &state.store,
            vouch_app::templates::TemplateName::SurveyEmail,
            language,
        )
        .await
        {
            Ok(t) => t.unwrap_or_else(crate::mailer::builtin_survey_template),
            Err(e) => return PageError::from(e).into_response(),
        };
        let context = crate::mailer::survey_email_preview(
            &design,
            language,
            &brand.company_name,
            &brand.colour,
            &base,
        );
        match vouch_app::templates::render(&template, &context) {
            Ok(r) => previews.push((language.to_owned(), r.subject, r.text)),
            Err(e) => previews.push((language.to_owned(), String::new(), e.to_string())),
        }
    }
    let mut page = render(SendPage {
        lang,
        ui: Ui(t),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        id: design.survey.id.0,
        name: shown(&design.survey.name),
        active: design.status == SurveyStatus::Active,
        previews,
        key: vouch_app::secrets::new_secret(),
        error,
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /surveys/{id}/send`: the audience, the preview, now or later.
pub async fn send_form(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSurveys>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    match design(&state, id).await {
        Ok(d) => send_page(&state, caller, &headers, d, None).await,
        Err(e) => e.into_response(),
    }
}

/// The customers a pasted list or an uploaded CSV names: the first cell
/// of each row (an email, a Vouch id or an external id); a header row
/// (`email`, `id`…) is skipped.
fn listed(text: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut keys = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let Ok(record) = record else { continue };
        let Some(first) = record.iter().map(str::trim).find(|c| !c.is_empty()) else {
            continue;
        };
        let header = n == 0
            && matches!(
                first.to_ascii_lowercase().as_str(),
                "email" | "e-mail" | "id" | "customer" | "external_id" | "customer_id"
            );
        if !header {
            keys.push(first.to_owned());
        }
    }
    keys
}

/// `POST /surveys/{id}/send` (a multipart form, for the CSV file): invites
/// now, or schedules the round; back to the results with what happened.
pub async fn send(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSurveys>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Response {
    let mut fields: HashMap<String, String> = HashMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return PageError::new(StatusCode::BAD_REQUEST, "error_refused").into_response();
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        match field.text().await {
            Ok(text) => {
                fields.insert(
                    name,
                    vouch_domain::text::without_controls(&text).into_owned(),
                );
            }
            Err(_) => {
                return PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "error_refused")
                    .into_response();
            }
        }
    }
    if let Some(refused) = caller.form_refusal(fields.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let design = match design(&state, id).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let field = |name: &str| fields.get(name).map_or("", |v| v.trim());
    let audience = match field("audience") {
        "everyone" => Audience::Where(Vec::new()),
        "segment" => match vouch_app::params::parse_attribute(field("attribute")) {
            Ok(a) => Audience::Where(vec![a]),
            Err(_) => {
                return send_page(&state, caller, &headers, design, Some("send_bad_segment")).await;
            }
        },
        "list" => {
            let mut keys = listed(field("list"));
            keys.extend(listed(field("file")));
            if keys.is_empty() || keys.len() > 100_000 {
                return send_page(&state, caller, &headers, design, Some("send_bad_list")).await;
            }
            Audience::Customers(keys)
        }
        _ => return send_page(&state, caller, &headers, design, Some("send_bad_audience")).await,
    };
    if design.status != SurveyStatus::Active {
        return send_page(&state, caller, &headers, design, Some("send_not_active")).await;
    }
    if field("when") == "later" {
        let at = match chrono::NaiveDateTime::parse_from_str(field("at"), "%Y-%m-%dT%H:%M") {
            Ok(at) => at.and_utc(),
            Err(_) => {
                return send_page(&state, caller, &headers, design, Some("send_bad_time")).await;
            }
        };
        if at <= chrono::Utc::now() {
            return send_page(&state, caller, &headers, design, Some("send_bad_time")).await;
        }
        let key = field("key");
        if key.is_empty() || key.len() > 100 {
            return send_page(&state, caller, &headers, design, Some("send_bad_audience")).await;
        }
        if let Err(e) =
            vouch_app::surveys::schedule_round(&state.store, &design, audience, at, key).await
        {
            return PageError::from(e).into_response();
        }
        let when = at.format("%Y-%m-%d %H:%M UTC").to_string();
        return Redirect::to(&format!(
            "/surveys/{id}/results?{}",
            serde_urlencoded::to_string([("scheduled", when)]).unwrap_or_default()
        ))
        .into_response();
    }
    match vouch_app::surveys::invite(&state.store, &design, &audience, &state.policy).await {
        Ok(report) => Redirect::to(&format!(
            "/surveys/{id}/results?queued={}&throttled={}&suppressed={}&unknown={}",
            report.queued,
            report.throttled,
            report.suppressed,
            report.unknown.len()
        ))
        .into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_list_takes_the_first_cell_of_each_row_and_skips_a_header() {
        assert_eq!(
            super::listed("email,name\nana@example.ro,Ana\n\n 42 ;x\n\"b@example.com\"\n"),
            ["ana@example.ro", "42 ;x", "b@example.com"]
        );
        assert_eq!(
            super::listed("ana@example.ro\nCRM-7"),
            ["ana@example.ro", "CRM-7"]
        );
    }
}
