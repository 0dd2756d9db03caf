//! `/api/v1/webhooks`: subscriptions to events, and their delivery logs.

use axum::Json;
use axum::extract::State;

use super::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use vouch_domain::EventKind;

use super::{ApiError, ApiResult, Body, parse_field};
use crate::AppState;
use crate::auth::{Api, need, new_secret};

#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    responses((status = 200, description = "`{webhooks: [...]}` (secrets are not shown)", body = Value)))]
pub async fn list(_: Api<need::ManageSettings>, State(state): State<AppState>) -> ApiResult {
    Ok(Json(json!({ "webhooks": state.store.webhooks().await? })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where to POST events: an `http` or `https` URL.
    #[schema(pattern = "^https?://[a-z0-9.-]+(:[0-9]{2,5})?(/[A-Za-z0-9._/-]*)?$")]
    url: String,
    /// `response.created`, `feedback.created`, `customer.category_changed`.
    #[schema(min_items = 1, value_type = Vec<EventName>)]
    events: Vec<String>,
}

/// The events a webhook can subscribe to, for the document (the handler
/// reads them as `EventKind`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
enum EventName {
    #[serde(rename = "response.created")]
    ResponseCreated,
    #[serde(rename = "feedback.created")]
    FeedbackCreated,
    #[serde(rename = "customer.category_changed")]
    CustomerCategoryChanged,
}

/// Subscribes a URL to events. The answer holds the signing secret, shown
/// this once: each delivery carries `Vouch-Signature: t=UNIX,v1=HEX`, the
/// HMAC-SHA256 of `UNIX.BODY` under the secret.
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "create_webhook", tag = "webhooks", request_body = WebhookInput,
    responses((status = 201, description = "`{id, url, events, secret}`", body = Value),
              (status = 422, description = "A bad URL or event", body = super::ErrorBody)))]
pub async fn create(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Body(input): Body<WebhookInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let url = input.url.trim();
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok || url.len() > 2000 || url.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            "url",
            format!("{url:?} is not an http(s) URL"),
        ));
    }
    if input.events.is_empty() {
        return Err(ApiError::invalid("events", "name at least one event"));
    }
    let events: Vec<EventKind> = input
        .events
        .iter()
        .map(|e| parse_field("events", e))
        .collect::<Result<_, _>>()?;
    let secret = format!("whsec_{}", new_secret());
    let id = state
        .store
        .add_webhook(url, &secret, &events, chrono::Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "url": url, "events": events, "secret": secret })),
    ))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses((status = 204, description = "Removed, with its delivery log"),
              (status = 404, description = "No such webhook", body = super::ErrorBody)))]
pub async fn delete(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_webhook(id).await? {
        return Err(ApiError::not_found("webhook", id));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log, newest first: each attempt with its status or error.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "webhook_deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses((status = 200, description = "`{deliveries: [...]}`", body = Value)))]
pub async fn deliveries(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(
        json!({ "deliveries": state.store.deliveries(id, 200).await? }),
    ))
}
