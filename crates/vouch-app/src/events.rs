//! Events other systems subscribe to. Publishing one queues a signed
//! delivery job per matching webhook; the server's workers send them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use vouch_domain::{CustomerId, DEFAULT_LOOKBACK_DAYS, EventKind, LoyaltyCategory, category_at};
use vouch_store::{NewJob, Store};

use crate::Result;

/// The job kind that delivers one event to one webhook.
pub const WEBHOOK_DELIVERY: &str = "webhook.deliver";

/// Attempts per delivery before it goes to the dead letters: with the
/// workers' backoff (10 s doubling, at most an hour) about 21 minutes.
pub const WEBHOOK_ATTEMPTS: i32 = 8;

/// Something that happened, with the data a subscriber receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub data: Value,
}

/// What a delivery job carries: the webhook and the exact bytes to sign and send.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DeliveryPayload {
    pub webhook_id: i64,
    pub event: String,
    pub body: String,
}

/// The webhooks there are now: read once per write, so a use case can skip
/// working out events that nobody subscribes to.
pub struct Subscriptions(Vec<vouch_store::Webhook>);

impl Subscriptions {
    pub async fn load(store: &Store) -> Result<Subscriptions> {
        Ok(Subscriptions(store.webhooks().await?))
    }

    pub fn wants(&self, kind: EventKind) -> bool {
        self.0.iter().any(|h| h.events.contains(&kind))
    }

    /// The customers whose categories to compare around a write: all of
    /// `customers` when a webhook listens for category changes, else none
    /// (working categories out costs reads per customer).
    pub fn category_watch(
        &self,
        customers: impl Iterator<Item = CustomerId>,
    ) -> BTreeSet<CustomerId> {
        if self.wants(EventKind::CustomerCategoryChanged) {
            customers.collect()
        } else {
            BTreeSet::new()
        }
    }
}

/// Queues a delivery of each event to each webhook subscribed to it.
pub async fn publish(store: &Store, subscriptions: &Subscriptions, events: &[Event]) -> Result<()> {
    let jobs = subscriptions.deliveries(events);
    if !jobs.is_empty() {
        store.enqueue_jobs(&jobs, Utc::now()).await?;
    }
    Ok(())
}

impl Subscriptions {
    /// The delivery jobs for `events`: one per event and subscribed webhook.
    pub fn deliveries(&self, events: &[Event]) -> Vec<NewJob> {
        let now = Utc::now();
        let mut jobs = Vec::new();
        for event in events {
            let body = json!({ "event": event.kind.as_str(), "at": event.at, "data": event.data })
                .to_string();
            for hook in self.0.iter().filter(|h| h.events.contains(&event.kind)) {
                let payload = DeliveryPayload {
                    webhook_id: hook.id,
                    event: event.kind.as_str().to_owned(),
                    body: body.clone(),
                };
                jobs.push(NewJob {
                    kind: WEBHOOK_DELIVERY.to_owned(),
                    payload: serde_json::to_value(payload).unwrap_or_default(),
                    run_at: now,
                    max_attempts: WEBHOOK_ATTEMPTS,
                });
            }
        }
        jobs
    }
}

/// Customers' categories now, to compare before and after new signals.
pub async fn categories_now(
    store: &Store,
    customers: &BTreeSet<CustomerId>,
) -> Result<BTreeMap<CustomerId, Option<LoyaltyCategory>>> {
    let now = Utc::now();
    let lookback = Duration::days(DEFAULT_LOOKBACK_DAYS);
    let mut categories = BTreeMap::new();
    for customer in customers {
        let signals = store.category_signals(*customer).await?;
        categories.insert(
            *customer,
            category_at(&signals, now, lookback).map(|a| a.category),
        );
    }
    Ok(categories)
}

/// `customer.category_changed` events for customers whose category differs.
pub fn category_changes(
    before: &BTreeMap<CustomerId, Option<LoyaltyCategory>>,
    after: &BTreeMap<CustomerId, Option<LoyaltyCategory>>,
) -> Vec<Event> {
    let now = Utc::now();
    after
        .iter()
        .filter(|(customer, category)| before.get(customer) != Some(category))
        .map(|(customer, category)| Event {
            kind: EventKind::CustomerCategoryChanged,
            at: now,
            data: json!({
                "customer_id": customer,
                "from": before.get(customer).copied().flatten(),
                "to": category,
            }),
        })
        .collect()
}
