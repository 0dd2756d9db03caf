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
use vouch_domain::analytics::{CategoryOrNone, Granularity, TrendSpec};
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

/// The dashboard's filters as sent, to fill the form again.
#[derive(Default)]
struct Filters {
    /// The same, as the store takes them.
    base: ResponseFilter,
    survey: String,
    channel: String,
    language: String,
    attribute: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    filters: Filters,
    /// The survey names and channels the filters offer.
    surveys: Vec<String>,
    channels: Vec<&'static str>,
    filtered: bool,
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    /// The period chosen (`30d`, `90d`, `365d`, `quarter`, `custom`).
    period: &'static str,
    from: String,
    to: String,
    /// "Last 90 days: 2026-09-09 – 2026-12-07".
    period_name: String,
    /// "vs the previous 90 days".
    compared: String,
    error: Option<String>,
    nps: String,
    nps_interval: String,
    change: String,
    change_note: String,
    csat: String,
    ces: String,
    responses: String,
    promoters: u64,
    passives: u64,
    detractors: u64,
    /// "72.5%" and "290 of 400".
    retention: (String, String),
    referral: (String, String),
    /// "1,234.50 EUR" per currency.
    referral_revenue: Vec<String>,
    /// Platform, reviews, mean stars, the change from the period before
    /// ("▲ +0.3 vs 4.1★"), the share answered.
    reviews: Vec<(String, u64, String, String, String)>,
    /// Answered ÷ invited ("38.0%", "190 / 500").
    response_rate: (String, String),
    /// Social mentions and their likes + shares + comments.
    social: (u64, u64),
    social_sources: String,
    open_tasks: u64,
    overdue_tasks: u64,
    /// The flows, drawn twice, and as a table: rows of (name, cells of
    /// (count, link)).
    flows_wide: String,
    flows_narrow: String,
    flow_rows: Vec<(&'static str, Vec<FlowCell>)>,
    /// When the categories, flows, retention, reviews and drivers were counted.
    slow_at: String,
    /// Topic, answers mentioning it, its NPS (interval), mean sentiment,
    /// effect in points (interval), significant, link to its comments.
    drivers: Vec<DriverRow>,
    /// The filters that narrow a list to this period (`from=…&to=…`).
    in_period: String,
    /// The trend drawn twice: for screens and for phones.
    chart_wide: String,
    chart_narrow: String,
    /// The trend as a table: the chart's text alternative.
    trend: Vec<(String, String, String, u64)>,
    trend_title: &'static str,
}

/// A count of customers in a flow, and the list of them.
type FlowCell = (u64, Option<String>);

/// One topic driver as the dashboard shows it.
struct DriverRow {
    topic: String,
    mentions: u64,
    nps: String,
    sentiment: String,
    effect: String,
    significant: bool,
    link: String,
}

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Filters of the survey scores: a survey's name, a channel, a
    /// language, a customer segment (`NAME=VALUE`).
    survey: Option<String>,
    channel: Option<String>,
    language: Option<String>,
    attribute: Option<String>,
}

/// The dashboard's filters as the store's; a bad one is named.
fn answer_filter(q: &DashboardQuery) -> Result<ResponseFilter, String> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let mut filter = ResponseFilter::default();
    if let Some(survey) = given(&q.survey) {
        filter.surveys = vec![survey.chars().take(200).collect()];
    }
    if let Some(channel) = given(&q.channel) {
        filter.channels = vec![channel.parse().map_err(|e| format!("channel: {e}"))?];
    }
    if let Some(language) = given(&q.language) {
        if language.len() != 2 || !language.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!("language: {language:?} is not a two-letter code"));
        }
        filter.languages = vec![language.to_ascii_lowercase()];
    }
    if let Some(attribute) = given(&q.attribute) {
        filter.attributes = vec![
            vouch_app::params::parse_attribute(attribute).map_err(|e| format!("segment: {e}"))?,
        ];
    }
    Ok(filter)
}

/// `GET /`: the dashboard for `?period=30d|90d|365d|quarter` or
/// `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the last 90 days by default).
pub async fn dashboard(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ViewDashboards>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<DashboardQuery>,
) -> Response {
    let (lang, t) = texts(&headers);
    let today = Utc::now().date_naive();
    let (span, error) = match vouch_domain::analytics::Span::parse(
        q.period.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        today,
    ) {
        Ok(span) => (span, None),
        Err(e) => (
            vouch_domain::analytics::Span::parse(None, None, None, today)
                .expect("the default period parses"),
            Some(e.to_string()),
        ),
    };
    let (base, error) = match answer_filter(&q) {
        Ok(base) => (base, error),
        Err(e) => (ResponseFilter::default(), Some(e)),
    };
    let refused = error.is_some();
    let filters = Filters {
        base,
        survey: q.survey.clone().unwrap_or_default(),
        channel: q.channel.clone().unwrap_or_default(),
        language: q.language.clone().unwrap_or_default(),
        attribute: q.attribute.clone().unwrap_or_default(),
    };
    match dashboard_page(&state, caller, lang, t, span, filters, error).await {
        Ok(page) => {
            let mut response = render(page);
            // A period not understood still shows the dashboard (the
            // default period), with the reason beside the selector.
            if refused {
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// What the dashboard shows, the same for every viewer, in two parts by
/// cost. The fast part (the survey scores from the rollups, the trend,
/// the task counts) is cached like other reports (until a write, one
/// second at most). The slow part reads every customer's signals (the
/// categories, the flows, retention and referrals, reviews, topic
/// drivers): seconds over a million customers, so it is refreshed in the
/// background at most every `SLOW_MAX_AGE` and shown with its time.
pub type DashboardNumbers = Arc<FastNumbers>;
pub type SlowDashboardNumbers = Arc<SlowNumbers>;

pub struct FastNumbers {
    scores: vouch_app::reports::ScoreReport,
    trend: Vec<vouch_app::reports::PeriodReport>,
    /// Tasks not closed, and of them overdue (now).
    tasks: (u64, u64),
}

pub struct SlowNumbers {
    kpis: vouch_app::reports::KpiReport,
    drivers: Vec<vouch_domain::analytics::TopicDriver>,
    flows: vouch_app::reports::TransitionsReport,
    at: chrono::DateTime<Utc>,
}

/// Counts the slow part of the default dashboard (the last 90 days).
pub async fn warm_dashboard(state: &AppState) {
    let today = Utc::now().date_naive();
    let Ok(span) = vouch_domain::analytics::Span::parse(None, None, None, today) else {
        return;
    };
    let key = format!("{}/{}", span.from.to_rfc3339(), span.to.to_rfc3339());
    let store = state.store.clone();
    if let Err(e) = state
        .dashboard_slow
        .get_or_refresh(&key, SLOW_MAX_AGE, move || {
            slow_numbers(store.clone(), span.clone())
        })
        .await
    {
        tracing::warn!(status = %e.status, "the dashboard could not be counted ahead");
    }
}

/// How old the slow part may get before a refresh starts.
pub const SLOW_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);

async fn fast_numbers(
    state: &AppState,
    span: &vouch_domain::analytics::Span,
    base: &ResponseFilter,
) -> Result<DashboardNumbers, PageError> {
    let scores =
        vouch_app::reports::scores_of(&state.store, base, span.from, span.to, 0.95).await?;
    let filter = ResponseFilter {
        from: Some(span.from),
        to: Some(span.to),
        ..base.clone()
    };
    let spec = TrendSpec {
        granularity: span.granularity(),
        tz: chrono_tz::Tz::UTC,
        rolling: None,
    };
    let trend = vouch_app::reports::nps_trend(&state.store, &filter, spec, 0.95).await?;
    let tasks = state.store.open_task_counts().await?;
    Ok(Arc::new(FastNumbers {
        scores,
        trend,
        tasks,
    }))
}

async fn slow_numbers(
    store: vouch_store::Store,
    span: vouch_domain::analytics::Span,
) -> Result<SlowDashboardNumbers, PageError> {
    let lookback = Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS);
    let kpis = vouch_app::reports::kpis(&store, span.from, span.to, 0.95, lookback).await?;
    let drivers = vouch_app::reports::topic_drivers(&store, span.from, span.to, 0.95).await?;
    let flows = vouch_app::reports::transitions(&store, span.from, span.to, lookback).await?;
    Ok(Arc::new(SlowNumbers {
        kpis,
        drivers,
        flows,
        at: Utc::now(),
    }))
}

async fn dashboard_page(
    state: &AppState,
    caller: crate::auth::Caller,
    lang: &'static str,
    t: &'static Texts,
    span: vouch_domain::analytics::Span,
    filters: Filters,
    error: Option<String>,
) -> Result<DashboardPage, PageError> {
    let base = filters.base.clone();
    // Whole UTC days, so the NPS comes from the daily rollup.
    let key = format!(
        "{}/{}/{:?}",
        span.from.to_rfc3339(),
        span.to.to_rfc3339(),
        (
            &base.surveys,
            &base.channels,
            &base.languages,
            &base.attributes
        )
    );
    let fast = state
        .dashboard_cache
        .get_or_compute(&key, || fast_numbers(state, &span, &base))
        .await?;
    let slow_key = format!("{}/{}", span.from.to_rfc3339(), span.to.to_rfc3339());
    let (store, slow_span) = (state.store.clone(), span.clone());
    let slow = state
        .dashboard_slow
        .get_or_refresh(&slow_key, SLOW_MAX_AGE, move || {
            slow_numbers(store.clone(), slow_span.clone())
        })
        .await?;
    let surveys: Vec<String> = match state.store.surveys().await {
        Ok(s) => s.into_iter().map(|s| shown(&s.name)).collect(),
        Err(e) => return Err(e.into()),
    };
    let filtered = base != ResponseFilter::default();
    // Everything from the slow part but the survey scores, which are fresh.
    let mut kpis = slow.kpis.clone();
    kpis.nps = fast.scores.nps.clone();
    kpis.previous_nps = fast.scores.previous_nps.clone();
    kpis.nps_change = fast.scores.nps_change;
    kpis.csat = fast.scores.csat;
    kpis.ces = fast.scores.ces;
    let (kpis, trend) = (&kpis, &fast.trend);
    let numbers = &slow;
    let ui = Ui(t);
    let n = &kpis.nps;
    let last_day = span.to - Duration::days(1);
    let dates = format!(
        "{} – {}",
        span.from.format("%Y-%m-%d"),
        last_day.format("%Y-%m-%d")
    );
    let period_name = match span.key {
        "custom" => dates.clone(),
        key => format!("{}: {dates}", ui.t(&format!("span_{key}"))),
    };
    let compared = ui
        .t("compared_with_days")
        .replace("{days}", &span.days().to_string());
    let points: Vec<crate::charts::TrendPoint> = trend
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
    let partial = span.ends_inside_a_period(chrono_tz::Tz::UTC);
    let label = ui.t("trend_label");
    let chart =
        |size, id| crate::charts::nps_trend(&points, size, id, label, partial, ui.t("partial"));
    let last = points.len().saturating_sub(1);
    Ok(DashboardPage {
        filters,
        surveys,
        channels: vouch_domain::Channel::ALL
            .iter()
            .map(|c| c.as_str())
            .collect(),
        filtered,
        lang,
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        period: span.key,
        from: span.from.format("%Y-%m-%d").to_string(),
        to: last_day.format("%Y-%m-%d").to_string(),
        period_name,
        compared,
        error,
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
        ces: kpis
            .ces
            .as_ref()
            .map_or("–".to_owned(), |c| format!("{:.2}", c.ces)),
        retention: rate(&kpis.retention),
        referral: rate(&kpis.referral),
        referral_revenue: kpis
            .referral_revenue
            .iter()
            .map(|m| format!("{:.2} {}", m.cents as f64 / 100.0, m.currency))
            .collect(),
        reviews: kpis
            .reviews
            .iter()
            .map(|r| {
                (
                    r.platform.clone(),
                    r.reviews,
                    format!("{:.1}★", r.mean_rating),
                    r.previous_mean_rating.map_or("–".to_owned(), |p| {
                        let d = r.mean_rating - p;
                        let arrow = if d > 0.05 {
                            "▲"
                        } else if d < -0.05 {
                            "▼"
                        } else {
                            "="
                        };
                        format!("{arrow} {d:+.1} ({p:.1}★)")
                    }),
                    rate(&r.answered).0,
                )
            })
            .collect(),
        response_rate: kpis
            .response_rate
            .as_ref()
            .map_or(("–".to_owned(), ui.t("no_invitations").to_owned()), rate),
        social: (
            kpis.social.iter().map(|s| s.mentions).sum(),
            kpis.social
                .iter()
                .map(|s| s.likes + s.shares + s.comments)
                .sum(),
        ),
        social_sources: vouch_domain::Source::ALL
            .iter()
            .filter(|s| s.is_social())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
        open_tasks: fast.tasks.0,
        overdue_tasks: fast.tasks.1,
        slow_at: slow.at.format("%Y-%m-%d %H:%M UTC").to_string(),
        flows_wide: flows_chart(
            &numbers.flows,
            Some(&span),
            &ui,
            crate::charts::WIDE,
            "flows",
        ),
        flows_narrow: flows_chart(
            &numbers.flows,
            Some(&span),
            &ui,
            crate::charts::NARROW,
            "flows-narrow",
        ),
        flow_rows: CategoryOrNone::ORDER
            .iter()
            .map(|from| {
                let cells = CategoryOrNone::ORDER
                    .iter()
                    .map(|to| {
                        let n = numbers
                            .flows
                            .matrix
                            .iter()
                            .find(|c| c.from == *from && c.to == *to)
                            .map_or(0, |c| c.customers);
                        (n, mover_link(*from, *to, &span).filter(|_| n > 0))
                    })
                    .collect();
                (flow_name(*from), cells)
            })
            .collect(),
        drivers: numbers
            .drivers
            .iter()
            .map(|d| DriverRow {
                topic: d.topic.clone(),
                mentions: d.mentions,
                nps: d.nps.as_ref().map_or("–".to_owned(), |e| {
                    format!("{:+.1} ({:+.1} … {:+.1})", e.nps, e.ci_low, e.ci_high)
                }),
                sentiment: format!("{:+.2}", d.mean_sentiment),
                effect: d.effect.as_ref().map_or(ui.t("too_few").to_owned(), |e| {
                    format!(
                        "{:+.1} ({:+.1} … {:+.1}), p = {:.3}",
                        e.difference, e.ci_low, e.ci_high, e.p_value
                    )
                }),
                significant: d.significant,
                link: format!(
                    "/feedback?source=survey&{}",
                    serde_urlencoded::to_string([
                        ("topic", d.topic.as_str()),
                        ("from", &span.from.format("%Y-%m-%d").to_string()),
                        ("to", &span.to.format("%Y-%m-%d").to_string()),
                    ])
                    .unwrap_or_default()
                ),
            })
            .collect(),
        in_period: serde_urlencoded::to_string([
            ("from", span.from.format("%Y-%m-%d").to_string()),
            ("to", span.to.format("%Y-%m-%d").to_string()),
        ])
        .unwrap_or_default(),
        responses: n.responses.to_string(),
        promoters: n.promoters,
        passives: n.passives,
        detractors: n.detractors,
        chart_wide: if points.is_empty() {
            String::new()
        } else {
            chart(crate::charts::WIDE, "nps-trend")
        },
        chart_narrow: if points.is_empty() {
            String::new()
        } else {
            chart(crate::charts::NARROW, "nps-trend-narrow")
        },
        trend: points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    if partial && i == last {
                        format!("{} ({})", p.label, ui.t("partial"))
                    } else {
                        p.label.clone()
                    },
                    format!("{:+.1}", p.nps),
                    format!("{:+.1} … {:+.1}", p.low, p.high),
                    p.responses,
                )
            })
            .collect(),
        trend_title: if span.granularity() == Granularity::Week {
            "trend_by_week"
        } else {
            "trend_by_month"
        },
        ui,
    })
}

/// The locale key of a group of the flows.
pub(crate) fn flow_name(c: CategoryOrNone) -> &'static str {
    match c.0 {
        Some(vouch_domain::LoyaltyCategory::Promoter) => "promoters",
        Some(vouch_domain::LoyaltyCategory::Passive) => "passives",
        Some(vouch_domain::LoyaltyCategory::Detractor) => "detractors",
        None => "no_signal",
    }
}

/// The customers behind one flow; none for "no signal" to "no signal".
fn mover_link(
    from: CategoryOrNone,
    to: CategoryOrNone,
    span: &vouch_domain::analytics::Span,
) -> Option<String> {
    (from.0.is_some() || to.0.is_some()).then(|| {
        format!(
            "/customers?moved={}-{}&from={}&to={}",
            from.as_str(),
            to.as_str(),
            span.from.format("%Y-%m-%d"),
            span.to.format("%Y-%m-%d")
        )
    })
}

/// The flows chart of a transitions report; with `span`, each band links
/// to its customers (the dashboard), without it none does (the report).
pub(crate) fn flows_chart(
    report: &vouch_app::reports::TransitionsReport,
    span: Option<&vouch_domain::analytics::Span>,
    ui: &Ui,
    size: crate::charts::Size,
    id: &str,
) -> String {
    let index = |c: CategoryOrNone| {
        CategoryOrNone::ORDER
            .iter()
            .position(|o| *o == c)
            .unwrap_or(3)
    };
    let flows: Vec<crate::charts::Flow> = report
        .matrix
        .iter()
        .map(|c| crate::charts::Flow {
            from: index(c.from),
            to: index(c.to),
            customers: c.customers,
            link: span.and_then(|span| mover_link(c.from, c.to, span)),
        })
        .collect();
    let names = CategoryOrNone::ORDER.map(|c| ui.t(flow_name(c)));
    crate::charts::flows(&flows, names, size, id, ui.t("flows_label"))
}

/// A rate as a tile shows it: the share, and what it is made of.
fn rate(r: &vouch_app::reports::Rate) -> (String, String) {
    (
        r.rate
            .map_or("–".to_owned(), |v| format!("{:.1}%", 100.0 * v)),
        format!("{} / {}", r.numerator, r.denominator),
    )
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
