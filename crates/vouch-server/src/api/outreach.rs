//! `/api/v1/customers/{id}/consents` and `/contacts`: consent per purpose,
//! and every message sent to the customer under the one contact budget.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use vouch_domain::{ConsentBasis, ConsentRecord, CustomerId, Purpose};

use super::{ApiError, ApiResult, Body, Path, parse_field};
use crate::AppState;
use crate::auth::{Api, need};

/// The customer's consent records, one per purpose recorded. A purpose
/// with no record: feedback may be asked (legitimate interest); marketing,
/// referral and advocacy may not.
#[utoipa::path(get, path = "/api/v1/customers/{id}/consents", operation_id = "customer_consents", tag = "customers",
    params(("id" = i64, Path, description = "Vouch's id of the customer")),
    responses((status = 200, description = "The latest record per purpose", body = ConsentList),
              (status = 404, description = "No such customer", body = super::ErrorBody)))]
pub async fn consents(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<ConsentList> {
    if state.store.customer(CustomerId(id)).await?.is_none() {
        return Err(ApiError::not_found("customer", id));
    }
    let consents = state.store.consents_of(CustomerId(id)).await?;
    Ok(Json(ConsentList { consents }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ConsentList {
    consents: Vec<vouch_domain::ConsentRecord>,
}

/// The customer and the purpose.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct ConsentPath {
    /// Vouch's id of the customer.
    id: i64,
    /// `feedback`, `marketing`, `referral` or `advocacy`.
    #[param(value_type = super::schemas::Purpose, inline)]
    purpose: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// True: agreed; false: withdrawn.
    granted: bool,
    /// `consent` (default), `soft_opt_in` or `legitimate_interest`.
    #[schema(value_type = Option<super::schemas::ConsentBasis>, inline)]
    basis: Option<String>,
    /// Where it was given (default `api`): `signup form`, `support call`…
    /// At most `ConsentRecord::MAX_SOURCE_CHARS`.
    #[schema(max_length = 200)]
    source: Option<String>,
    /// What proves it: a form and its version, a ticket, the text agreed to.
    /// At most `ConsentRecord::MAX_EVIDENCE_CHARS`.
    #[schema(max_length = 2000)]
    evidence: Option<String>,
}

/// Records consent to, or withdrawal from, one purpose (`feedback`,
/// `marketing`, `referral`, `advocacy`), with a `consent.changed` event.
/// Checked again when each message is sent.
#[utoipa::path(put, path = "/api/v1/customers/{id}/consents/{purpose}", operation_id = "set_customer_consent", tag = "customers",
    params(ConsentPath),
    request_body = ConsentInput,
    responses((status = 200, description = "The record as stored", body = vouch_domain::ConsentRecord),
              (status = 404, description = "No such customer", body = super::ErrorBody),
              (status = 422, description = "A bad purpose or basis", body = super::ErrorBody)))]
pub async fn set_consent(
    _: Api<need::WriteCustomers>,
    State(state): State<AppState>,
    Path((id, purpose)): Path<(i64, String)>,
    Body(input): Body<ConsentInput>,
) -> ApiResult<vouch_domain::ConsentRecord> {
    let purpose: Purpose = parse_field("purpose", &purpose)?;
    let basis: ConsentBasis = match input.basis.as_deref() {
        Some(basis) => parse_field("basis", basis)?,
        None => ConsentBasis::Consent,
    };
    if state.store.customer(CustomerId(id)).await?.is_none() {
        return Err(ApiError::not_found("customer", id));
    }
    let record = ConsentRecord {
        purpose,
        granted: input.granted,
        basis,
        source: input.source.unwrap_or_else(|| "api".to_owned()),
        evidence: input.evidence,
        recorded_at: chrono::Utc::now(),
    };
    if let Err((field, why)) = record.check() {
        return Err(ApiError::invalid(field, why));
    }
    match vouch_app::outreach::record_consent(&state.store, CustomerId(id), record).await? {
        Ok(record) => Ok(Json(record)),
        Err(why) => Err(ApiError::invalid("purpose", why)),
    }
}

/// Every message to the customer, newest first: what it was, its purpose,
/// `sent`, `reserved` (being sent), `deferred` or `skipped` and why, and
/// what is left of the one contact budget.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", operation_id = "customer_contacts", tag = "customers",
    params(("id" = i64, Path, description = "Vouch's id of the customer")),
    responses((status = 200, description = "The messages and what is left of the budget", body = vouch_app::outreach::ContactsReport),
              (status = 404, description = "No such customer", body = super::ErrorBody)))]
pub async fn contacts(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<vouch_app::outreach::ContactsReport> {
    let report = vouch_app::outreach::contacts_report(&state.store, CustomerId(id), &state.policy)
        .await?
        .ok_or_else(|| ApiError::not_found("customer", id))?;
    Ok(Json(report))
}
