//! The staff's pages: sign-in, sign-out and the dashboard. Rendered on the
//! server with askama (HTML-escaped by default); the chart is SVG built
//! here from numbers only.

use std::sync::Arc;

use crate::client::ClientAddress;
use crate::edge::Form;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use vouch_domain::analytics::{Granularity, TrendSpec};
use vouch_store::ResponseFilter;

use crate::AppState;
use crate::auth::{
    Page, PageCaller, SESSION_HOURS, cookie, need, new_secret, secret_hash, verify_password,
};
use crate::error::PageError;
use crate::locale::{Texts, Ui, texts};

pub fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: &'static str,
    ui: Ui,
    csrf: String,
    email: String,
    error: Option<String>,
    /// Where to go once signed in (a path of ours).
    next: String,
}

/// `next` when it is a path on this site, else the dashboard: signing in
/// must not become a way to send people elsewhere (`//evil.example`).
fn local_path(next: &str) -> &str {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2_000
        && !next.chars().any(char::is_control);
    if safe { next } else { "/" }
}

fn login_page(
    web: &crate::WebSettings,
    headers: &HeaderMap,
    email: String,
    error: Option<&str>,
    status: StatusCode,
    next: &str,
) -> Response {
    let (lang, t) = texts(headers);
    // Before a session exists, CSRF is a double-submit (the same random
    // value in a SameSite cookie and in the form) behind the edge's check
    // that the form was posted from our own page (`edge::is_cross_site`),
    // so a cookie planted by a sibling site is of no use.
    let csrf = new_secret();
    let mut response = render(LoginPage {
        lang,
        ui: Ui(t),
        csrf: csrf.clone(),
        email,
        error: error.map(|key| Ui(t).t(key).to_owned()),
        next: local_path(next).to_owned(),
    });
    *response.status_mut() = status;
    set_cookie(
        &mut response,
        &web.cookie(web.login_csrf_cookie(), &csrf, "Strict", None),
    );
    response
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    login_page(
        &state.web,
        &headers,
        String::new(),
        None,
        StatusCode::OK,
        &q.next,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    /// The second factor: six digits, or a recovery code.
    #[serde(default)]
    code: String,
    /// The page asked for before signing in.
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if cookie(&headers, state.web.login_csrf_cookie()).as_deref() != Some(form.csrf.as_str()) {
        return (
            StatusCode::FORBIDDEN,
            "The form expired; reload the sign-in page.",
        )
            .into_response();
    }
    // No address is longer (RFC 5321); the audit log and the limits keep no more.
    let email: String = form.email.trim().chars().take(320).collect();
    let now = Utc::now();
    match vouch_app::limits::sign_in_allowed(&state.store, &email, address, now).await {
        Ok(true) => {}
        Ok(false) => {
            return login_page(
                &state.web,
                &headers,
                email,
                Some("too_many"),
                StatusCode::TOO_MANY_REQUESTS,
                &form.next,
            );
        }
        Err(e) => return PageError::from(e).into_response(),
    }
    let user = match state.store.user_by_email(&email).await {
        Ok(user) => user,
        Err(e) => return PageError::from(e).into_response(),
    };
    // A missing user costs one verification too, against a hash made once,
    // so timing does not tell which emails exist.
    static STAND_IN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let valid = match &user {
        Some(user) => verify_password(&user.password_hash, &form.password),
        None => {
            let stand_in = STAND_IN.get_or_init(|| crate::auth::hash_password(&new_secret()));
            verify_password(stand_in, &form.password);
            false
        }
    };
    let Some(user) = user.filter(|_| valid) else {
        if let Err(e) = vouch_app::limits::sign_in_failed(&state.store, &email, address, now).await
        {
            return PageError::from(e).into_response();
        }
        tracing::info!(%address, "failed sign-in");
        let client = address.to_string();
        let audited = state
            .store
            .audit(now, &email, "sign_in_failed", None, Some(&client))
            .await;
        if let Err(e) = audited {
            return PageError::from(e).into_response();
        }
        return login_page(
            &state.web,
            &headers,
            email,
            Some("bad_login"),
            StatusCode::UNAUTHORIZED,
            &form.next,
        );
    };
    let second = vouch_app::totp::check(
        &state.store,
        user.id,
        &form.code,
        u64::try_from(now.timestamp()).unwrap_or(0),
    )
    .await;
    let refusal = match second {
        Ok(vouch_app::totp::SecondFactor::Accepted) => None,
        Ok(vouch_app::totp::SecondFactor::NotSetUp) => state
            .web
            .require_second_factor
            .then_some("second_factor_required"),
        Ok(vouch_app::totp::SecondFactor::Refused) => Some("bad_code"),
        Err(e) => return PageError::from(e).into_response(),
    };
    if let Some(key) = refusal {
        // A wrong code counts as a failed sign-in: the limits hold for it too.
        if let Err(e) = vouch_app::limits::sign_in_failed(&state.store, &email, address, now).await
        {
            return PageError::from(e).into_response();
        }
        let client = address.to_string();
        if let Err(e) = state
            .store
            .audit(
                now,
                &email,
                "sign_in_second_factor_failed",
                None,
                Some(&client),
            )
            .await
        {
            return PageError::from(e).into_response();
        }
        return login_page(
            &state.web,
            &headers,
            email,
            Some(key),
            StatusCode::UNAUTHORIZED,
            &form.next,
        );
    }
    if let Err(e) = vouch_app::limits::signed_in(&state.store, &email, address).await {
        return PageError::from(e).into_response();
    }
    let client = address.to_string();
    let audited = state
        .store
        .audit(now, &user.email, "sign_in", None, Some(&client))
        .await;
    if let Err(e) = audited {
        return PageError::from(e).into_response();
    }
    let session = new_secret();
    if let Err(e) = state
        .store
        .create_session(
            &secret_hash(&session),
            user.id,
            &new_secret(),
            now,
            now + Duration::hours(SESSION_HOURS),
        )
        .await
    {
        return PageError::from(e).into_response();
    }
    let mut response = Redirect::to(local_path(&form.next)).into_response();
    set_cookie(
        &mut response,
        &state.web.cookie(
            state.web.session_cookie(),
            &session,
            "Lax",
            Some(SESSION_HOURS * 3600),
        ),
    );
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = caller.form_refusal(&form.csrf) {
        return refused;
    }
    if let Some(session) = &caller.session
        && let Err(e) = state.store.end_session(session).await
    {
        return PageError::from(e).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    set_cookie(
        &mut response,
        &state
            .web
            .cookie(state.web.session_cookie(), "", "Lax", Some(0)),
    );
    response
}

struct ChartPoint {
    x: f64,
    y: f64,
    label: String,
    value: String,
}

/// The NPS trend as SVG coordinates.
struct Chart {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    zero: f64,
    band: String,
    line: String,
    points: Vec<ChartPoint>,
}

fn chart(periods: &[vouch_app::reports::PeriodReport]) -> Chart {
    let (width, height, left, right, top, bottom) = (720.0, 260.0, 36.0, 710.0, 10.0, 230.0);
    let y = |nps: f64| top + (100.0 - nps) / 200.0 * (bottom - top);
    let with_data: Vec<_> = periods.iter().filter(|p| p.nps.nps.is_some()).collect();
    let step = (right - left) / (with_data.len().max(2) - 1) as f64;
    let x = |i: usize| left + step * i as f64;
    let points: Vec<ChartPoint> = with_data
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let nps = p.nps.nps.unwrap_or(0.0);
            ChartPoint {
                x: x(i),
                y: y(nps),
                label: p.period.clone(),
                value: format!("{nps:.1}"),
            }
        })
        .collect();
    let line = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let upper = with_data
        .iter()
        .enumerate()
        .map(|(i, p)| (x(i), y(p.nps.ci_high.unwrap_or(0.0))));
    let lower = with_data
        .iter()
        .enumerate()
        .rev()
        .map(|(i, p)| (x(i), y(p.nps.ci_low.unwrap_or(0.0))));
    let band = upper
        .chain(lower)
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    Chart {
        width,
        height,
        left,
        right,
        top,
        bottom,
        zero: y(0.0),
        band,
        line,
        points,
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    nps: String,
    nps_interval: String,
    change: String,
    change_note: String,
    csat: String,
    responses: String,
    promoters: u64,
    passives: u64,
    detractors: u64,
    chart: Chart,
}

/// KPI tiles for the last 90 days and the NPS by month over the last year.
#[derive(Template)]
#[template(path = "feedback.html")]
struct FeedbackPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    items: Vec<FeedbackRow>,
}

/// One item as the inbox shows it; askama escapes every field.
struct FeedbackRow {
    posted: String,
    source: String,
    author: String,
    rating: String,
    sentiment: String,
    topics: String,
    title: String,
    body: String,
}

/// The 100 newest feedback items: the agents' inbox.
pub async fn feedback(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadFeedback>,
    headers: HeaderMap,
) -> Response {
    let (lang, t) = texts(&headers);
    let items = match state
        .store
        .feedback(&vouch_store::FeedbackFilter::default(), None, 100)
        .await
    {
        Ok(items) => items,
        Err(e) => return PageError::from(e).into_response(),
    };
    let items = items
        .into_iter()
        .map(|item| {
            let f = item.feedback;
            FeedbackRow {
                posted: f.posted_at.format("%Y-%m-%d").to_string(),
                source: f.source.to_string(),
                author: shown(&f.author.name.or(f.author.handle).unwrap_or_default()),
                rating: f
                    .rating
                    .map_or(String::new(), |r| format!("{}★", r.as_stars())),
                sentiment: f.sentiment.map_or(String::new(), |s| format!("{s:+.2}")),
                topics: f
                    .topics
                    .iter()
                    .map(|m| m.topic.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                title: shown(&f.title.unwrap_or_default()),
                body: shown(&f.body),
            }
        })
        .collect();
    render(FeedbackPage {
        lang,
        ui: Ui(t),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        items,
    })
}

pub async fn dashboard(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ViewDashboards>,
    headers: HeaderMap,
) -> Response {
    let (lang, t) = texts(&headers);
    match dashboard_page(&state, caller, lang, t).await {
        Ok(page) => render(page),
        Err(e) => e.into_response(),
    }
}

/// What the dashboard shows, the same for every viewer: the survey scores
/// of the last 90 days up to `to` and the NPS by month over a year.
pub type DashboardNumbers = Arc<(
    vouch_app::reports::ScoreReport,
    Vec<vouch_app::reports::PeriodReport>,
)>;

async fn dashboard_numbers(
    state: &AppState,
    to: chrono::DateTime<Utc>,
) -> Result<DashboardNumbers, PageError> {
    let scores =
        vouch_app::reports::scores(&state.store, to - Duration::days(90), to, 0.95).await?;
    let filter = ResponseFilter {
        from: Some(to - Duration::days(365)),
        to: Some(to),
        ..ResponseFilter::default()
    };
    let spec = TrendSpec {
        granularity: Granularity::Month,
        tz: chrono_tz::Tz::UTC,
        rolling: None,
    };
    let trend = vouch_app::reports::nps_trend(&state.store, &filter, spec, 0.95).await?;
    Ok(Arc::new((scores, trend)))
}

async fn dashboard_page(
    state: &AppState,
    caller: crate::auth::Caller,
    lang: &'static str,
    t: &'static Texts,
) -> Result<DashboardPage, PageError> {
    // Whole UTC days (the last 90, today included), so the NPS comes from the daily rollup.
    let to = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let numbers = state
        .dashboard_cache
        .get_or_compute(&to.to_rfc3339(), || dashboard_numbers(state, to))
        .await?;
    let (kpis, trend) = (&numbers.0, &numbers.1);
    let ui = Ui(t);
    let n = &kpis.nps;
    Ok(DashboardPage {
        lang,
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        nps: n.nps.map_or("–".to_owned(), |v| format!("{v:.1}")),
        nps_interval: match (n.ci_low, n.ci_high) {
            (Some(low), Some(high)) => format!("95%: {low:.1} … {high:.1}"),
            _ => String::new(),
        },
        change: kpis
            .nps_change
            .as_ref()
            .map_or("–".to_owned(), |c| format!("{:+.1}", c.delta)),
        change_note: kpis.nps_change.as_ref().map_or(String::new(), |c| {
            format!(
                "{} (p = {:.3})",
                ui.t(if c.significant {
                    "significant"
                } else {
                    "not_significant"
                }),
                c.p_value
            )
        }),
        csat: kpis
            .csat
            .as_ref()
            .map_or("–".to_owned(), |c| format!("{:.1}%", c.csat)),
        responses: n.responses.to_string(),
        promoters: n.promoters,
        passives: n.passives,
        detractors: n.detractors,
        chart: chart(trend),
        ui,
    })
}

/// Customer text as a page shows it (askama escapes it as well): bidi
/// overrides shown by their code, so none can reorder the page's text.
pub(crate) fn shown(text: &str) -> String {
    vouch_domain::text::neutralise_bidi(text).into_owned()
}

/// `GET /assets/staff.css` and `/assets/login.css`: the staff pages' style
/// (a file of our own, so the pages' policy can forbid inline styles).
pub async fn stylesheet(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (css, kind) = match name.as_str() {
        "staff.css" => (
            include_str!("../assets/staff.css"),
            "text/css; charset=utf-8",
        ),
        "login.css" => (
            include_str!("../assets/login.css"),
            "text/css; charset=utf-8",
        ),
        "keys.js" => (
            include_str!("../assets/keys.js"),
            "text/javascript; charset=utf-8",
        ),
        "playbook-editor.js" => (
            include_str!("../assets/playbook-editor.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        css,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    lang: &'static str,
    ui: Ui,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct InviteForm {
    password: String,
}

/// `GET /invite/{token}`: the page that sets an invited person's password;
/// an unknown, used or expired link gets a page that says so (410).
pub async fn invitation_form(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    invitation_page(&state, &token, &headers, None).await
}

async fn invitation_page(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    error: Option<&str>,
) -> Response {
    let (lang, t) = texts(headers);
    let invitation = state
        .store
        .staff_invitation(&secret_hash(token), Utc::now())
        .await;
    match invitation {
        Ok(Some((email, _))) => {
            let mut page = render(InvitePage {
                lang,
                ui: Ui(t),
                email,
                error: error.map(|e| e.to_owned()),
            });
            if error.is_some() {
                *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            page
        }
        Ok(None) => (
            StatusCode::GONE,
            Html(format!(
                "<!doctype html><html lang=\"{lang}\"><title>Vouch</title><p>{}</p><p><a href=\"/login\">{}</a></p></html>",
                Ui(t).t("invite_gone"),
                Ui(t).t("sign_in")
            )),
        )
            .into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `POST /invite/{token}`: checks the chosen password, creates the account
/// and uses up the link, then sends the person to sign in.
pub async fn accept_invitation(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    if let Err(weak) = vouch_domain::password::check_password(&form.password) {
        let (_, t) = texts(&headers);
        let key = match weak {
            vouch_domain::password::WeakPassword::TooShort => "password_short",
            vouch_domain::password::WeakPassword::TooLong => "password_long",
            vouch_domain::password::WeakPassword::Common => "password_common",
        };
        return invitation_page(&state, &token, &headers, Some(Ui(t).t(key))).await;
    }
    let hash = crate::auth::hash_password(&form.password);
    let now = Utc::now();
    match state
        .store
        .accept_staff_invitation(&secret_hash(&token), &hash, now)
        .await
    {
        Ok(Some(id)) => {
            if let Err(e) = state
                .store
                .audit(
                    now,
                    &format!("user {id}"),
                    "invitation accepted",
                    None,
                    None,
                )
                .await
            {
                return PageError::from(e).into_response();
            }
            Redirect::to("/login").into_response()
        }
        Ok(None) => invitation_page(&state, &token, &headers, None).await,
        Err(e) => PageError::from(e).into_response(),
    }
}
