//! `/api/v1/webhooks`: subscriptions to events, and their delivery logs.

use axum::Json;
use axum::extract::State;

use super::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use vouch_domain::EventKind;

use super::{ApiError, ApiResult, Body, parse_field};
use crate::AppState;
use crate::auth::{Api, need};

#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    responses((status = 200, description = "Every webhook (secrets are not shown)", body = WebhookList)))]
pub async fn list(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
) -> ApiResult<WebhookList> {
    Ok(Json(WebhookList {
        webhooks: state.store.webhooks().await?,
    }))
}

#[derive(serde::Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<vouch_store::Webhook>,
}

/// A new webhook, with its secret: shown this once.
#[derive(serde::Serialize, ToSchema)]
pub struct NewWebhook {
    id: i64,
    url: String,
    events: Vec<EventKind>,
    /// `whsec_` and the base64 of the signing key.
    pub(crate) secret: String,
    /// Why deliveries may fail for now (a host that does not resolve yet).
    pub(crate) warning: Option<String>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct DeliveryLog {
    deliveries: Vec<vouch_store::Delivery>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where to POST events: an `http` or `https` URL.
    #[schema(value_type = super::schemas::WebhookUrl, inline)]
    url: String,
    /// The event types to receive (see `Event` for each one's `data`).
    #[schema(min_items = 1, value_type = Vec<EventName>)]
    events: Vec<String>,
}

/// An `http(s)` URL with a DNS name (its last label starting with a
/// letter), a dotted IPv4 address or a bracketed IPv6 one, an optional port, path and query of
/// URL characters, and no fragment or credentials.
pub(super) fn url_shape_ok(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // An IPv6 literal is bracketed, its colons inside the brackets.
    let after_host = authority.rfind(']').map_or(0, |i| i + 1);
    let (host, port) = match authority[after_host..].find(':') {
        Some(i) => (
            &authority[..after_host + i],
            Some(&authority[after_host + i + 1..]),
        ),
        None => (authority, None),
    };
    let ipv6 = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    let port_ok = port.is_none_or(|p| {
        !p.starts_with('0')
            && !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
    });
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let labels: Vec<&str> = host.split('.').collect();
    let octet_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 3
            && l.bytes().all(|b| b.is_ascii_digit())
            && (l.len() == 1 || !l.starts_with('0'))
            && l.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    let ipv4 = labels.len() == 4 && labels.iter().all(octet_ok);
    let name = labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()));
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    let url_char = |c: char| c.is_ascii_alphanumeric() || "._~!$&'()*+,;=:@%/-".contains(c);
    (ipv4 || ipv6 || name)
        && port_ok
        && path.chars().all(url_char)
        && query.is_none_or(|q| q.chars().all(|c| url_char(c) || c == '?'))
}

/// The event types, for the document: `EventKind`'s names, so every kind
/// is documented the moment it exists (handlers read them as `EventKind`).
pub struct EventName;

impl utoipa::PartialSchema for EventName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <EventKind as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for EventName {}

/// Subscribes a URL to events. The answer holds the signing secret
/// (`whsec_…`), shown this once. Deliveries follow the Standard Webhooks
/// spec: `webhook-id` (the event's id, the same on every retry),
/// `webhook-timestamp` and `webhook-signature: v1,BASE64`, the HMAC-SHA256
/// of `ID.TIMESTAMP.BODY` keyed with the secret's base64-decoded bytes, so
/// the official `standardwebhooks` libraries verify them unchanged. A URL
/// whose host resolves to a loopback, private, link-local or metadata
/// address is refused (422) unless `webhook_allow_private` is set; one
/// that does not resolve yet is kept, with a `warning`.
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "create_webhook", tag = "webhooks", request_body = WebhookInput,
    responses((status = 201, description = "The webhook and its secret, shown this once", body = NewWebhook),
              (status = 422, description = "A bad URL or event", body = super::ErrorBody)))]
pub async fn create(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Body(input): Body<WebhookInput>,
) -> Result<(StatusCode, Json<NewWebhook>), ApiError> {
    let url = input.url.as_str();
    if url.len() > 2000 || !url_shape_ok(url) {
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
    Ok((
        StatusCode::CREATED,
        Json(subscribe(&state, url, events).await?),
    ))
}

/// Checks a webhook's URL and subscribes it (the API and the settings page).
pub(crate) async fn subscribe(
    state: &AppState,
    url: &str,
    events: Vec<EventKind>,
) -> Result<NewWebhook, ApiError> {
    if url.len() > 2000 || !url_shape_ok(url) {
        return Err(ApiError::invalid(
            "url",
            format!("{url:?} is not an http(s) URL"),
        ));
    }
    // A host that does not resolve yet is kept (its DNS may come later):
    // every delivery checks the address again before it connects.
    let warning = match crate::outbound::check(url, state.web.allow_private_webhooks).await {
        Ok(_) => None,
        Err(unresolvable @ crate::outbound::Refusal::Unresolvable { .. }) => Some(format!(
            "{unresolvable}; deliveries will fail until it does"
        )),
        Err(refusal) => return Err(ApiError::invalid("url", refusal.to_string())),
    };
    let secret = vouch_app::secrets::new_webhook_secret();
    let id = state
        .store
        .add_webhook(url, &secret, &events, chrono::Utc::now())
        .await?;
    Ok(NewWebhook {
        id,
        url: url.to_owned(),
        events,
        secret,
        warning,
    })
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
    responses((status = 200, description = "The last 200 attempts", body = DeliveryLog),
              (status = 404, description = "No such webhook", body = super::ErrorBody)))]
pub async fn deliveries(
    _: Api<need::ManageSettings>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<DeliveryLog> {
    if !state.store.webhooks().await?.iter().any(|h| h.id == id) {
        return Err(ApiError::not_found("webhook", id));
    }
    Ok(Json(DeliveryLog {
        deliveries: state.store.deliveries(id, 200).await?,
    }))
}
