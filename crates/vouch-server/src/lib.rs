//! Vouch over HTTP: the staff's pages and the REST API. Every handler calls
//! the same `vouch-app` use cases as the CLI, so both show the same numbers;
//! this crate adds sign-in, permissions and rendering, no business logic.

mod api;
mod auth;
mod locale;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use vouch_store::Store;

pub use auth::{hash_password, new_api_token, new_secret};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    limiter: Arc<auth::LoginLimiter>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            limiter: Arc::default(),
        }
    }
}

/// Every route. Permissions are checked in each handler, through the
/// caller extractors of `auth`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::ready))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/", get(pages::dashboard))
        .route("/api/v1/customers", get(api::customers))
        .route("/api/v1/customers/{id}", get(api::customer))
        .route("/api/v1/metrics/nps", get(api::nps))
        .route("/api/v1/metrics/kpis", get(api::kpis))
        .with_state(state)
}

/// The routes `router` serves, with the permission each needs (`None`:
/// public), for the route table test and docs/SECURITY.md.
pub const ROUTES: &[(&str, &str, Option<vouch_domain::Permission>)] = {
    use vouch_domain::Permission::*;
    &[
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/login", None),
        ("GET", "/", Some(ViewDashboards)),
        ("GET", "/api/v1/customers", Some(ReadCustomers)),
        ("GET", "/api/v1/customers/1", Some(ReadCustomers)),
        ("GET", "/api/v1/metrics/nps", Some(ReadMetrics)),
        ("GET", "/api/v1/metrics/kpis", Some(ReadMetrics)),
    ]
};

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
