//! Vouch over HTTP: the staff's pages, the REST API and the background
//! workers that deliver webhooks. Every handler calls the same `vouch-app`
//! use cases as the CLI, so both show the same numbers; this crate adds
//! sign-in, permissions, rendering and job running, no business logic.

mod api;
mod auth;
mod jobs;
mod locale;
mod metrics;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use vouch_store::{DatabaseLocation, Store};

pub use auth::{hash_password, new_api_token, new_secret};
pub use jobs::{JobSettings, Workers, sign};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    limiter: Arc<auth::LoginLimiter>,
    metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            limiter: Arc::default(),
            metrics: Arc::default(),
        }
    }
}

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
        .route("/", get(pages::dashboard))
        .route("/feedback", get(pages::feedback))
        .route("/api/v1/openapi.json", get(api::openapi_json))
        .route("/metrics", get(metrics::exposition))
        .merge(api)
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
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/metrics", None),
        ("GET", "/", Some(ViewDashboards)),
        ("GET", "/feedback", Some(ReadFeedback)),
        ("GET", "/api/v1/customers", Some(ReadCustomers)),
        ("POST", "/api/v1/customers", Some(WriteCustomers)),
        ("GET", "/api/v1/customers/1", Some(ReadCustomers)),
        ("PATCH", "/api/v1/customers/1", Some(WriteCustomers)),
        ("DELETE", "/api/v1/customers/1", Some(EraseCustomers)),
        ("GET", "/api/v1/customers/1/export", Some(EraseCustomers)),
        ("GET", "/api/v1/feedback", Some(ReadFeedback)),
        ("POST", "/api/v1/feedback", Some(WriteFeedback)),
        ("GET", "/api/v1/responses", Some(ReadResponses)),
        ("POST", "/api/v1/responses", Some(WriteResponses)),
        ("GET", "/api/v1/metrics/nps", Some(ReadMetrics)),
        ("GET", "/api/v1/metrics/kpis", Some(ReadMetrics)),
        ("GET", "/api/v1/metrics/transitions", Some(ReadMetrics)),
        ("GET", "/api/v1/webhooks", Some(ManageSettings)),
        ("POST", "/api/v1/webhooks", Some(ManageSettings)),
        ("DELETE", "/api/v1/webhooks/1", Some(ManageSettings)),
        ("GET", "/api/v1/webhooks/1/deliveries", Some(ManageSettings)),
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
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    workers.stop().await;
    served
}
