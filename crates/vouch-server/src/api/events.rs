//! `/api/v1/events`: the outbox, read with a cursor (pull instead of, or
//! beside, webhooks).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use vouch_domain::EventKind;

use super::webhooks::EventName;
use super::{ApiResult, Params, comma_list, page_size};
use crate::AppState;
use crate::auth::{Api, need};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The `next` cursor of the previous page (0, a negative number or
    /// absent for the oldest kept).
    after: Option<i64>,
    /// Only events of these types, comma-separated (`response.created,customer.category_changed`).
    #[param(value_type = Option<super::schemas::EventKinds>, inline)]
    r#type: Option<String>,
    /// Events per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One event, as listed here and as each webhook delivery's body.
/// `data` (body version 1) holds, by `type`:
/// `response.created`, `response.updated`: the answer (`id`, `survey_id`,
/// `customer_id`, `score`, `comment`, `channel`, `answered_at`…);
/// `feedback.created`, `feedback.updated`: the feedback item (`id`,
/// `source`, `source_id`, `body`, `rating`, `language`, `sentiment`,
/// `topics`…); `customer.created`: the customer; `customer.updated`:
/// `{customer_id, changed: [names]}`; `customer.erased`: `{customer_id}`;
/// `customer.category_changed`: `{customer_id, from, to, assignment:
/// {category, implied, signal_at}, signal: {type: response|feedback, id}}`;
/// `invitation.sent`: `{invitation_id, survey_id, customer_id, reminder}`;
/// `invitation.bounced`: `{invitation_id, customer_id, reason}`;
/// `consent.changed`: `{customer_id, purpose, granted, source}`;
/// `task.created`: `{task_id, customer_id, task_type, team, due_at}`;
/// `task.closed`: `{task_id, customer_id, resolution, in_sla}`;
/// `task.overdue`: `{task_id, customer_id, due_at}`;
/// `task.escalated`: `{task_id, customer_id, first_response_due}`;
/// `program.member_joined`: `{member_id, customer_id, joined_by, trusted}`;
/// `program.member_changed`: `{member_id, customer_id, status}`;
/// `program.points_changed`: `{member_id, customer_id, entry_id, kind,
/// amount, reason}`; `program.redemption_changed`: `{redemption_id,
/// member_id, customer_id, reward_id, state}`; `referral.converted`:
/// `{referral_id, member_id, customer_id, status, value_cents, currency}`;
/// `referral.changed`: `{referral_id, member_id, customer_id, status}`;
/// `program.badge_awarded`: `{member_id, customer_id, badge_id, badge}`;
/// `program.recognized`: `{recognition_id, member_id, customer_id, public}`;
/// `feedback.triaged`: `{feedback_id, customer_id, changed: [assignee,
/// handled, tags, notes]}`; `goal.at_risk` (at risk or off track),
/// `goal.achieved`, `goal.missed`: `{goal_id, kpi, status, current: {value,
/// ci_low, ci_high} or null, target, deadline, owner}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Event {
    /// Stable: a redelivery carries the same id (`webhook-id`).
    #[schema(example = "evt_5f0c8e2b9a7d4c1e8f3a6b2d9c0e1f47")]
    id: String,
    /// The position in the outbox, in commit order: the cursor.
    seq: i64,
    r#type: EventName,
    /// The version of `data`'s shape (now 1).
    version: i32,
    /// When the change was committed.
    timestamp: chrono::DateTime<chrono::Utc>,
    customer_id: Option<i64>,
    #[schema(value_type = Object)]
    data: Value,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventPage {
    events: Vec<Event>,
    /// Pass as `after` for the next page; the same value when there is nothing new yet.
    next: i64,
}

/// Events after a cursor, oldest first. Poll with the `next` of the last
/// page; an empty page means caught up.
#[utoipa::path(get, path = "/api/v1/events", operation_id = "list_events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "A page of events", body = EventPage),
              (status = 422, description = "An unknown event type", body = super::ErrorBody)))]
pub async fn list(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Params(q): Params<EventsQuery>,
) -> ApiResult {
    let limit = page_size(q.limit)?;
    let kinds: Vec<EventKind> = comma_list("type", q.r#type.as_deref())?;
    let after = q.after.unwrap_or(0).max(0);
    let (events, next) = vouch_app::events::events_page(&state.store, after, &kinds, limit).await?;
    let events: Vec<Value> = events.iter().map(vouch_app::events::envelope).collect();
    Ok(Json(json!({ "events": events, "next": next })))
}
