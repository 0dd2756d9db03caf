//! Consumers of the outbox. Every change is already an event in the
//! `events` table, written by the store in the change's own transaction;
//! here they are read in order and acted on. Webhooks are the first
//! consumer: each event becomes one delivery job per subscribed webhook,
//! queued in the transaction that moves the consumer's position, so a
//! crash mid-batch re-reads the batch and queues nothing twice.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vouch_domain::EventKind;
use vouch_store::{Store, StoredEvent};

use crate::jobs::Task;

use crate::Result;

/// Attempts per delivery before it goes to the dead letters: with the
/// workers' backoff (10 s doubling, at most an hour) about 21 minutes.
pub const WEBHOOK_ATTEMPTS: i32 = 8;

/// The webhooks' position in the outbox.
pub const WEBHOOK_CONSUMER: &str = "webhooks";

/// Events read per step of a consumer.
pub const CONSUMER_BATCH: u32 = 500;

/// What a delivery job carries: which event, to which webhook. The body is
/// read from the outbox when it is sent, so no copy of customer data waits
/// in the queue (and erasure, which deletes a customer's events, reaches it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPayload {
    pub webhook_id: i64,
    pub event_id: String,
    /// Where the event is in the outbox.
    pub seq: i64,
}

/// Delivers again what delivery job `job` carried to webhook `webhook`
/// (staff asked, say after fixing their receiver): a new job for the same
/// event, so the receiver sees the same `webhook-id`. False when the
/// webhook, the job or its event is gone; a delivery already waiting for
/// its retry is not doubled (the same dedupe key).
pub async fn redeliver(store: &Store, webhook: i64, job: i64) -> Result<bool> {
    if !store.webhooks().await?.iter().any(|h| h.id == webhook) {
        return Ok(false);
    }
    let Some(Ok(Task::WebhookDelivery(payload))) = store.job(job).await?.map(|j| Task::of(&j))
    else {
        return Ok(false);
    };
    if payload.webhook_id != webhook || store.event_by_id(&payload.event_id).await?.is_none() {
        return Ok(false);
    }
    let task = Task::WebhookDelivery(payload);
    let now = Utc::now();
    store.enqueue_jobs(&[task.job(now)], now).await?;
    Ok(true)
}

/// One step of the webhook consumer: the next batch of events becomes
/// delivery jobs. Returns how many events it passed (0: caught up).
pub async fn relay_to_webhooks(store: &Store) -> Result<usize> {
    let position = store.consumer_position(WEBHOOK_CONSUMER, 0).await?;
    let events = store.events_after(position, &[], CONSUMER_BATCH).await?;
    let Some(last) = events.last() else {
        return Ok(0);
    };
    let hooks = store.webhooks().await?;
    let now = Utc::now();
    let mut jobs = Vec::new();
    for event in &events {
        // A webhook hears what happened after it was created.
        for hook in hooks
            .iter()
            .filter(|h| h.events.contains(&event.kind) && h.created_at <= event.at)
        {
            let task = Task::WebhookDelivery(DeliveryPayload {
                webhook_id: hook.id,
                event_id: event.id.clone(),
                seq: event.seq,
            });
            jobs.push(task.job(now));
        }
    }
    // Another instance that moved first has queued the same jobs.
    store
        .advance_consumer(WEBHOOK_CONSUMER, position, last.seq, &jobs)
        .await?;
    Ok(events.len())
}

/// The JSON an event is delivered and listed as: the Standard Webhooks
/// shape (`type`, `timestamp`, `data`) with the outbox's id, position and
/// body version.
pub fn envelope(event: &StoredEvent) -> Value {
    json!({
        "id": event.id,
        "seq": event.seq,
        "type": event.kind,
        "version": event.version,
        "timestamp": event.at,
        "customer_id": event.customer_id,
        "data": event.data,
    })
}

/// A page of the outbox after `after`, for `GET /api/v1/events` and
/// `vouch events tail`: the events, and the cursor to ask with next.
pub async fn events_page(
    store: &Store,
    after: i64,
    kinds: &[EventKind],
    limit: u32,
) -> Result<(Vec<StoredEvent>, i64)> {
    let events = store.events_after(after, kinds, limit).await?;
    let next = events.last().map_or(after, |e| e.seq);
    Ok((events, next))
}
