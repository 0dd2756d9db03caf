//! Vouch over HTTP: the staff's pages, the REST API and the background
//! workers that deliver webhooks. Every handler calls the same `vouch-app`
//! use cases as the CLI, so both show the same numbers; this crate adds
//! sign-in, permissions, rendering and job running, no business logic.

mod api;
mod auth;
mod cache;
mod charts;
mod client;
mod customer_pages;
mod edge;
mod error;
mod goal_pages;
mod headers;
mod inbox_pages;
mod jobs;
mod locale;
mod mailer;
mod metrics;
pub mod outbound;
mod pages;
mod playbook_pages;
mod program_admin;
mod program_pages;
pub mod report_pages;
mod settings_pages;
mod survey_admin;
mod survey_pages;
mod survey_results;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::routing::{get, post};
use vouch_domain::ContactPolicy;
use vouch_store::{DatabaseLocation, Store};

pub use auth::{SESSION_IDLE_MINUTES, hash_password, new_api_token, new_secret};
pub use jobs::{JobSettings, Workers};
pub use mailer::{MailSettings, Mailer};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The contact budget, reminders and the answer-editing window.
    pub policy: ContactPolicy,
    /// Business hours for task SLAs, and the category window.
    pub playbooks: vouch_app::playbooks::RunSettings,
    /// Proxies whose forwarding headers name the client (`trusted_proxies`).
    trusted_proxies: Arc<[AddressRange]>,
    /// How pages are served: over https or not, and who may frame `/l/`.
    web: Arc<WebSettings>,
    metrics: Arc<metrics::Metrics>,
    /// Moves on every local write; the caches below watch it.
    writes: Arc<AtomicU64>,
    nps_cache: Arc<cache::ReportCache<Arc<String>>>,
    dashboard_cache: Arc<cache::ReportCache<pages::DashboardNumbers>>,
    dashboard_slow: Arc<cache::StaleCache<pages::SlowDashboardNumbers>>,
    /// The program's promoters now (its "promoters enrolled" KPI).
    promoters: Arc<cache::StaleCache<Arc<Vec<vouch_domain::CustomerId>>>>,
}

impl AppState {
    /// Where people reach Vouch (`public_url`); empty when not set.
    pub(crate) fn public_url(&self) -> &str {
        &self.web.public_url
    }

    pub fn new(store: Store) -> AppState {
        let writes = Arc::new(AtomicU64::new(0));
        AppState {
            nps_cache: Arc::new(cache::ReportCache::new(writes.clone())),
            dashboard_cache: Arc::new(cache::ReportCache::new(writes.clone())),
            dashboard_slow: Arc::default(),
            promoters: Arc::default(),
            writes,
            store,
            policy: ContactPolicy::default(),
            playbooks: vouch_app::playbooks::RunSettings::default(),
            trusted_proxies: Arc::new([]),
            web: Arc::default(),
            metrics: Arc::default(),
        }
    }

    pub fn with_policy(self, policy: ContactPolicy) -> AppState {
        AppState { policy, ..self }
    }

    pub fn with_playbooks(self, playbooks: vouch_app::playbooks::RunSettings) -> AppState {
        AppState { playbooks, ..self }
    }

    /// Believes the forwarding headers of these proxies (and only these).
    pub fn with_trusted_proxies(self, proxies: Vec<AddressRange>) -> AppState {
        AppState {
            trusted_proxies: proxies.into(),
            ..self
        }
    }
}

/// How the pages reach people: behind https (set from `public_url`), and
/// which sites may show the public survey pages in a frame (the widget).
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Served over https (directly or through a TLS-terminating proxy):
    /// cookies are `Secure` with the `__Host-` prefix, and HSTS is sent.
    pub https: bool,
    /// Origins such as `https://www.acme.example` that may frame `/l/` pages.
    pub embed_origins: Vec<String>,
    /// Staff without a second factor cannot sign in (`require_totp`).
    pub require_second_factor: bool,
    /// Webhooks may point at loopback and private addresses
    /// (`webhook_allow_private`; the workers check again at each delivery).
    pub allow_private_webhooks: bool,
    /// Where people reach Vouch (`public_url`), for the links the API
    /// hands out (referral links); empty: links are relative.
    pub public_url: String,
}

impl WebSettings {
    /// The session cookie's name: `__Host-` over https, so that no other
    /// host or path can set or shadow it.
    pub fn session_cookie(&self) -> &'static str {
        if self.https {
            "__Host-vouch_session"
        } else {
            "vouch_session"
        }
    }

    /// The sign-in form's CSRF cookie's name.
    pub fn login_csrf_cookie(&self) -> &'static str {
        if self.https {
            "__Host-vouch_login_csrf"
        } else {
            "vouch_login_csrf"
        }
    }

    /// A `Set-Cookie` value for `name`, for the whole site, out of reach of
    /// scripts, `Secure` over https; `max_age` in seconds (`Some(0)` deletes it).
    pub fn cookie(&self, name: &str, value: &str, same_site: &str, max_age: Option<i64>) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
        if self.https {
            cookie.push_str("; Secure");
        }
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        cookie
    }
}

impl AppState {
    pub fn with_web(self, web: WebSettings) -> AppState {
        AppState {
            web: Arc::new(web),
            ..self
        }
    }
}

pub use client::AddressRange;
pub use vouch_app::limits::LINK_ANSWERS_PER_ADDRESS;

/// The claim of a server process on an SQLite file, held while it runs.
pub struct InstanceLock(#[allow(dead_code)] Option<std::fs::File>);

impl InstanceLock {
    /// On SQLite, one server process per database file: its workers are
    /// the queue's single writer. A second is refused (PostgreSQL takes any
    /// number). The lock is the operating system's, so it ends with the
    /// process however that ends.
    pub fn acquire(store: &Store) -> Result<InstanceLock, String> {
        let DatabaseLocation::Sqlite(path) = store.location() else {
            return Ok(InstanceLock(None));
        };
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".serve-lock");
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot create {}: {e}", lock_path.to_string_lossy()))?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock(Some(file))),
            Err(std::fs::TryLockError::WouldBlock) => Err(format!(
                "another `vouch serve` is already using {}; SQLite allows one server process. \
                 Stop it, or use PostgreSQL to run several instances",
                path.display()
            )),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", lock_path.to_string_lossy()))
            }
        }
    }
}

/// Every route. Permissions are checked in each handler, through the
/// caller extractors of `auth`.
pub fn router(state: AppState) -> Router {
    let (api, _) = api::routes().split_for_parts();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::ready))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route(
            "/invite/{token}",
            get(pages::invitation_form).post(pages::accept_invitation),
        )
        .route("/", get(pages::dashboard))
        .route("/feedback", get(inbox_pages::inbox))
        .route("/feedback/act", post(inbox_pages::act))
        .route("/feedback/export", get(inbox_pages::export))
        .route("/feedback/views", post(inbox_pages::save_view))
        .route(
            "/feedback/views/{id}/delete",
            post(inbox_pages::delete_view),
        )
        .route("/feedback/{id}", get(inbox_pages::show_item))
        .route(
            "/settings/users",
            get(settings_pages::users).post(settings_pages::change_users),
        )
        .route(
            "/settings/tokens",
            get(settings_pages::tokens).post(settings_pages::change_tokens),
        )
        .route(
            "/settings/webhooks",
            get(settings_pages::webhooks).post(settings_pages::change_webhooks),
        )
        .route(
            "/settings/branding",
            get(settings_pages::branding).post(settings_pages::save_branding),
        )
        .route(
            "/settings/topics",
            get(settings_pages::topics).post(settings_pages::save_topics),
        )
        .route("/settings/languages", get(settings_pages::languages))
        .route(
            "/settings/sources",
            get(settings_pages::sources).post(settings_pages::change_sources),
        )
        .route("/goals", get(goal_pages::goals).post(goal_pages::set_goal))
        .route("/goals/{id}", get(goal_pages::goal))
        .route(
            "/maturity",
            get(goal_pages::maturity).post(goal_pages::assess),
        )
        .route("/customers", get(customer_pages::customers))
        .route("/customers/{id}", get(customer_pages::customer))
        .route("/customers/{id}/export", get(customer_pages::export))
        .route(
            "/customers/{id}/program",
            post(customer_pages::act_on_member),
        )
        .route(
            "/customers/{id}/erase",
            get(customer_pages::erase_form).post(customer_pages::erase),
        )
        .route(
            "/tasks",
            get(playbook_pages::tasks).post(playbook_pages::assign_tasks),
        )
        .route("/tasks/{id}", post(playbook_pages::work_task))
        .route("/reports/sla", get(playbook_pages::sla_report))
        .route("/reports/{period}", get(report_pages::report_page))
        .route("/likely-advocates", get(goal_pages::likely_advocates))
        .route("/program", get(program_pages::staff_program))
        .route(
            "/program/rewards",
            get(program_admin::rewards).post(program_admin::add_reward),
        )
        .route("/program/rewards/{id}", post(program_admin::change_reward))
        .route(
            "/program/challenges",
            get(program_admin::challenges).post(program_admin::add_challenge),
        )
        .route(
            "/program/challenges/{id}",
            post(program_admin::switch_challenge),
        )
        .route(
            "/program/join-codes",
            get(program_admin::join_codes).post(program_admin::add_join_code),
        )
        .route(
            "/program/join-codes/{code}",
            post(program_admin::switch_join_code),
        )
        .route(
            "/program/submissions/{id}",
            post(program_pages::decide_stage),
        )
        .route(
            "/program/submissions/{id}/file",
            get(program_pages::submission_file),
        )
        .route(
            "/program/redemptions/{id}",
            post(program_pages::decide_redemption),
        )
        .route(
            "/program/referrals/{id}",
            post(program_pages::decide_referral),
        )
        .route("/playbooks", get(playbook_pages::playbooks))
        .route(
            "/playbooks/{id}",
            get(playbook_pages::edit_playbook).post(playbook_pages::save_playbook),
        )
        .route(
            "/surveys",
            get(survey_admin::list).post(survey_admin::create),
        )
        .route("/surveys/{id}/results", get(survey_results::results))
        .route(
            "/surveys/{id}/send",
            get(survey_results::send_form).post(survey_results::send),
        )
        .route(
            "/surveys/{id}",
            get(survey_admin::edit).post(survey_admin::save),
        )
        .route(
            "/s/{token}",
            get(survey_pages::invitation_page).post(survey_pages::answer_invitation),
        )
        .route(
            "/l/{slug}",
            get(survey_pages::link_page).post(survey_pages::answer_link),
        )
        .route(
            "/u/{token}",
            get(survey_pages::unsubscribe_page).post(survey_pages::unsubscribe),
        )
        .route(
            "/unsubscribe/{token}",
            get(survey_pages::message_unsubscribe_page).post(survey_pages::message_unsubscribe),
        )
        .route("/r/{code}", get(program_pages::follow))
        .route("/portal", get(program_pages::portal))
        .route("/portal/link", post(program_pages::request_link))
        .route(
            "/portal/in/{token}",
            get(program_pages::confirm_sign_in).post(program_pages::sign_in),
        )
        .route(
            "/portal/join",
            get(program_pages::join_page).post(program_pages::request_join),
        )
        .route(
            "/portal/join/{token}",
            get(program_pages::confirm_join).post(program_pages::join),
        )
        .route("/portal/redeem", post(program_pages::redeem))
        .route(
            "/portal/challenges/{id}",
            // An upload is at most 5 MB; the form around it a little more.
            post(program_pages::submit_stage).layer(axum::extract::DefaultBodyLimit::max(
                vouch_domain::program::challenges::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/portal/referral", post(program_pages::make_link))
        .route("/portal/logout", post(program_pages::sign_out))
        .route("/widget.js", get(survey_pages::widget))
        .route("/assets/public.css", get(survey_pages::public_css))
        .route("/assets/{name}", get(pages::stylesheet))
        .route("/api/v1/openapi.json", get(api::openapi_json))
        .route("/metrics", get(metrics::exposition))
        .merge(api)
        .fallback(edge::not_found)
        .method_not_allowed_fallback(edge::method_not_allowed)
        .layer(axum::middleware::from_fn(edge::refuse_cross_site_forms))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .layer(axum::middleware::from_fn(edge::refuse_controls_in_url))
        .layer(axum::middleware::from_fn(error::localize_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

pub use api::openapi;

/// The routes `router` serves, with the permission each needs (`None`:
/// public), for the route table test and docs/SECURITY.md. Paths hold
/// example ids.
pub const ROUTES: &[(&str, &str, Option<vouch_domain::Permission>)] = {
    use vouch_domain::Permission::*;
    &[
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/login", None),
        ("GET", "/invite/unknown-token", None),
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/metrics", None),
        ("GET", "/s/unknown-token", None),
        ("GET", "/l/unknown-slug", None),
        ("GET", "/u/unknown-token", None),
        ("GET", "/unsubscribe/unknown-token", None),
        ("GET", "/widget.js", None),
        ("GET", "/r/unknown-code", None),
        ("GET", "/portal", None),
        ("GET", "/portal/in/unknown-token", None),
        ("GET", "/portal/join", None),
        ("GET", "/portal/join/unknown-token", None),
        ("GET", "/assets/staff.css", None),
        ("GET", "/assets/public.css", None),
        ("GET", "/", Some(ViewDashboards)),
        ("GET", "/feedback", Some(ReadFeedback)),
        ("GET", "/feedback/1", Some(ReadFeedback)),
        ("GET", "/feedback/export", Some(Export)),
        ("GET", "/customers", Some(ReadCustomers)),
        ("GET", "/settings/users", Some(ManageUsers)),
        ("GET", "/settings/tokens", Some(ManageUsers)),
        ("GET", "/settings/webhooks", Some(ManageSettings)),
        ("GET", "/settings/branding", Some(ManageSettings)),
        ("GET", "/settings/topics", Some(ManageSettings)),
        ("GET", "/settings/languages", Some(ManageSettings)),
        ("GET", "/settings/sources", Some(ManageSettings)),
        ("GET", "/goals", Some(ReadMetrics)),
        ("GET", "/goals/1", Some(ReadMetrics)),
        ("GET", "/maturity", Some(ReadMetrics)),
        ("GET", "/reports/2026-11", Some(ReadMetrics)),
        ("GET", "/likely-advocates", Some(ReadCustomers)),
        ("GET", "/customers/1", Some(ReadCustomers)),
        ("GET", "/customers/1/export", Some(EraseCustomers)),
        ("GET", "/customers/1/erase", Some(EraseCustomers)),
        ("GET", "/surveys", Some(ReadResponses)),
        ("GET", "/surveys/1", Some(ManageSurveys)),
        ("GET", "/surveys/1/results", Some(ReadResponses)),
        ("GET", "/surveys/1/send", Some(ManageSurveys)),
        ("GET", "/tasks", Some(WorkTasks)),
        ("GET", "/reports/sla", Some(ReadMetrics)),
        ("GET", "/program", Some(ReadCustomers)),
        ("GET", "/program/rewards", Some(ReadCustomers)),
        ("GET", "/program/challenges", Some(ReadCustomers)),
        ("GET", "/program/join-codes", Some(ManageProgram)),
        ("GET", "/program/submissions/1/file", Some(ReadCustomers)),
        ("GET", "/playbooks", Some(ReadCustomers)),
        ("GET", "/playbooks/1", Some(ManagePlaybooks)),
        ("GET", "/api/v1/customers", Some(ReadCustomers)),
        ("POST", "/api/v1/customers", Some(WriteCustomers)),
        ("POST", "/api/v1/customers/import", Some(WriteCustomers)),
        ("GET", "/api/v1/customers/1", Some(ReadCustomers)),
        ("PATCH", "/api/v1/customers/1", Some(WriteCustomers)),
        ("DELETE", "/api/v1/customers/1", Some(EraseCustomers)),
        ("GET", "/api/v1/customers/1/export", Some(EraseCustomers)),
        ("GET", "/api/v1/feedback", Some(ReadFeedback)),
        ("POST", "/api/v1/feedback", Some(WriteFeedback)),
        ("POST", "/api/v1/feedback/actions", Some(WorkTasks)),
        ("GET", "/api/v1/feedback/1/notes", Some(ReadFeedback)),
        ("GET", "/api/v1/feedback/export", Some(Export)),
        ("GET", "/api/v1/responses", Some(ReadResponses)),
        ("POST", "/api/v1/responses", Some(WriteResponses)),
        ("GET", "/api/v1/metrics/nps", Some(ReadMetrics)),
        ("GET", "/api/v1/metrics/kpis", Some(ReadMetrics)),
        ("GET", "/api/v1/metrics/transitions", Some(ReadMetrics)),
        (
            "GET",
            "/api/v1/customers/likely-advocates",
            Some(ReadCustomers),
        ),
        ("GET", "/api/v1/goals", Some(ReadMetrics)),
        ("POST", "/api/v1/goals", Some(ManagePlaybooks)),
        ("GET", "/api/v1/goals/1", Some(ReadMetrics)),
        ("GET", "/api/v1/maturity", Some(ReadMetrics)),
        (
            "POST",
            "/api/v1/maturity/assessments",
            Some(ManagePlaybooks),
        ),
        ("GET", "/api/v1/webhooks", Some(ManageSettings)),
        ("POST", "/api/v1/webhooks", Some(ManageSettings)),
        ("DELETE", "/api/v1/webhooks/1", Some(ManageSettings)),
        ("GET", "/api/v1/webhooks/1/deliveries", Some(ManageSettings)),
        ("GET", "/api/v1/surveys", Some(ReadResponses)),
        ("POST", "/api/v1/surveys", Some(ManageSurveys)),
        ("GET", "/api/v1/surveys/1", Some(ReadResponses)),
        ("PATCH", "/api/v1/surveys/1", Some(ManageSurveys)),
        ("POST", "/api/v1/surveys/1/invitations", Some(ManageSurveys)),
        ("GET", "/api/v1/settings/branding", Some(ManageSettings)),
        ("PUT", "/api/v1/settings/branding", Some(ManageSettings)),
        ("GET", "/api/v1/audit", Some(ManageUsers)),
        ("GET", "/api/v1/events", Some(ReadCustomers)),
        ("GET", "/api/v1/playbooks", Some(ReadCustomers)),
        ("POST", "/api/v1/playbooks", Some(ManagePlaybooks)),
        ("POST", "/api/v1/playbooks/check", Some(ManagePlaybooks)),
        ("GET", "/api/v1/playbooks/1", Some(ReadCustomers)),
        ("PUT", "/api/v1/playbooks/1", Some(ManagePlaybooks)),
        ("DELETE", "/api/v1/playbooks/1", Some(ManagePlaybooks)),
        ("GET", "/api/v1/playbooks/1/runs", Some(ReadCustomers)),
        ("GET", "/api/v1/playbooks/1/report", Some(ReadMetrics)),
        ("GET", "/api/v1/customers/1/runs", Some(ReadCustomers)),
        ("GET", "/api/v1/tasks", Some(WorkTasks)),
        ("GET", "/api/v1/tasks/1", Some(WorkTasks)),
        ("PATCH", "/api/v1/tasks/1", Some(WorkTasks)),
        ("POST", "/api/v1/tasks/1/reply", Some(WorkTasks)),
        ("GET", "/api/v1/routing", Some(WorkTasks)),
        ("PUT", "/api/v1/routing", Some(ManagePlaybooks)),
        ("GET", "/api/v1/reports/sla", Some(ReadMetrics)),
        ("GET", "/api/v1/program/members", Some(ReadCustomers)),
        ("POST", "/api/v1/program/members", Some(ManageProgram)),
        ("GET", "/api/v1/program/members/1", Some(ReadCustomers)),
        ("PATCH", "/api/v1/program/members/1", Some(ManageProgram)),
        (
            "GET",
            "/api/v1/program/members/1/ledger",
            Some(ReadCustomers),
        ),
        ("POST", "/api/v1/program/points", Some(ManageProgram)),
        ("GET", "/api/v1/program/rewards", Some(ReadCustomers)),
        ("POST", "/api/v1/program/rewards", Some(ManageProgram)),
        ("PATCH", "/api/v1/program/rewards/1", Some(ManageProgram)),
        (
            "POST",
            "/api/v1/program/rewards/1/codes",
            Some(ManageProgram),
        ),
        ("GET", "/api/v1/program/join-codes", Some(ManageProgram)),
        ("POST", "/api/v1/program/join-codes", Some(ManageProgram)),
        (
            "PATCH",
            "/api/v1/program/join-codes/{code}",
            Some(ManageProgram),
        ),
        ("PATCH", "/api/v1/program/challenges/1", Some(ManageProgram)),
        ("GET", "/api/v1/program/redemptions", Some(ReadCustomers)),
        ("POST", "/api/v1/program/redemptions", Some(ManageProgram)),
        (
            "PATCH",
            "/api/v1/program/redemptions/1",
            Some(ManageProgram),
        ),
        ("GET", "/api/v1/program/leaderboard", Some(ReadCustomers)),
        ("POST", "/api/v1/referrals/links", Some(ManageProgram)),
        (
            "PATCH",
            "/api/v1/referrals/links/{code}",
            Some(ManageProgram),
        ),
        ("POST", "/api/v1/referrals/conversions", Some(ManageProgram)),
        ("POST", "/api/v1/referrals/refunds", Some(ManageProgram)),
        ("GET", "/api/v1/referrals", Some(ReadCustomers)),
        ("PATCH", "/api/v1/referrals/1", Some(ManageProgram)),
        ("GET", "/api/v1/program/challenges", Some(ReadCustomers)),
        ("GET", "/api/v1/program/kpis", Some(ReadMetrics)),
        ("GET", "/api/v1/program/settings", Some(ManageProgram)),
        ("PUT", "/api/v1/program/settings", Some(ManageSettings)),
        ("GET", "/api/v1/program/badges", Some(ReadCustomers)),
        ("POST", "/api/v1/program/badges", Some(ManageProgram)),
        (
            "POST",
            "/api/v1/program/members/1/badges",
            Some(ManageProgram),
        ),
        (
            "GET",
            "/api/v1/program/members/1/recognitions",
            Some(ReadCustomers),
        ),
        (
            "POST",
            "/api/v1/program/members/1/recognitions",
            Some(ManageProgram),
        ),
        ("POST", "/api/v1/program/challenges", Some(ManageProgram)),
        (
            "POST",
            "/api/v1/program/challenges/1/submissions",
            Some(ManageProgram),
        ),
        ("GET", "/api/v1/program/submissions", Some(ReadCustomers)),
        (
            "PATCH",
            "/api/v1/program/submissions/1",
            Some(ManageProgram),
        ),
        (
            "GET",
            "/api/v1/customers/{id}/consents",
            Some(ReadCustomers),
        ),
        (
            "PUT",
            "/api/v1/customers/{id}/consents/{purpose}",
            Some(WriteCustomers),
        ),
        (
            "GET",
            "/api/v1/customers/{id}/contacts",
            Some(ReadCustomers),
        ),
        ("GET", "/api/v1/templates", Some(ManageSettings)),
        (
            "GET",
            "/api/v1/templates/{name}/{language}",
            Some(ManageSettings),
        ),
        (
            "PUT",
            "/api/v1/templates/{name}/{language}",
            Some(ManageSettings),
        ),
        (
            "DELETE",
            "/api/v1/templates/{name}/{language}",
            Some(ManageSettings),
        ),
        (
            "POST",
            "/api/v1/templates/{name}/{language}/preview",
            Some(ManageSettings),
        ),
    ]
};

/// Serves until `shutdown` resolves, with `jobs.workers` job workers named
/// after `instance`; then finishes the requests and jobs in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    jobs: JobSettings,
    instance: &str,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let workers = Workers::start(state.store.clone(), jobs, instance, state.metrics.clone());
    // The dashboard's slow part for its default period, counted before
    // the first visitor asks.
    let warm = state.clone();
    tokio::spawn(async move { pages::warm_dashboard(&warm).await });
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    workers.stop().await;
    served
}
