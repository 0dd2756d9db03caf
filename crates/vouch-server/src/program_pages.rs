//! The advocate program's public side: `/r/{code}`, the referral link a
//! friend follows (the click is recorded as hashes, the redirect goes only
//! where the program allows).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::cookie;
use crate::client::ClientAddress;
use crate::error::PageError;

/// The visitor cookie: a random id that lets a later conversion find
/// the friend's clicks, and the same-device check see an advocate's own.
pub const VISITOR_COOKIE: &str = "vouch_visitor";

#[derive(Deserialize, Default)]
pub struct FollowQuery {
    /// A page to land on instead of the landing URL (allowed hosts only).
    to: Option<String>,
}

/// The visitor's cookie, or a new one to set.
pub fn visitor(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, VISITOR_COOKIE)
        .filter(|c| c.len() == 64 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    {
        Some(c) => (c, false),
        None => (vouch_app::secrets::new_secret(), true),
    }
}

/// `GET /r/{code}`: records the click and redirects (303) to the
/// company's landing URL with the code and click id.
pub async fn follow(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ClientAddress(ip): ClientAddress,
    headers: HeaderMap,
    Query(q): Query<FollowQuery>,
) -> Response {
    let (visitor_id, new) = visitor(&headers);
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(500).collect::<String>())
    };
    let visit = vouch_app::program::Visit {
        ip: Some(ip),
        user_agent: text(header::USER_AGENT),
        cookie: Some(visitor_id.clone()),
        referer: text(header::REFERER),
        to: q.to,
    };
    let followed = match vouch_app::program::follow(&state.store, &code, &visit).await {
        Ok(Some(f)) => f,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, followed.redirect),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    if new
        && let Ok(value) = state
            .web
            .cookie(VISITOR_COOKIE, &visitor_id, "Lax", Some(400 * 24 * 3600))
            .parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
