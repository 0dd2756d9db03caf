//! `/api/v1/audit`: the audit log, for admins.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiResult, Params, next_cursor, page_size};
use crate::AppState;
use crate::auth::{Api, need};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next` cursor of the previous page.
    after: Option<i64>,
    /// Entries per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

super::page!(
    /// Audit entries, newest first.
    AuditPage { entries: vouch_store::AuditEntry }
);

/// What staff did, newest first: sign-ins, account changes, exports,
/// erasures, settings and every API write (tokens by id).
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "audit_log", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of the log", body = AuditPage)))]
pub async fn list(
    _: Api<need::ManageUsers>,
    State(state): State<AppState>,
    Params(q): Params<AuditQuery>,
) -> ApiResult<AuditPage> {
    let limit = page_size(q.limit)?;
    let entries = state.store.audit_log(q.after, limit).await?;
    let next = next_cursor(&entries, limit, |e| e.id);
    Ok(Json(AuditPage { entries, next }))
}
