//! One customer as staff look them up: who they are, where they stand
//! (their loyalty category now and how it moved), what they said, and what
//! they agreed to. The CLI's `customers show` and the pages use this.

use chrono::{Duration, Utc};
use serde::Serialize;
use vouch_domain::{
    CategoryAssignment, CategoryChange, ConsentRecord, Customer, DEFAULT_LOOKBACK_DAYS,
    FeedbackItem, Response, category_at, category_history,
};
use vouch_store::Store;

use crate::Result;

/// Everything `customers show` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerView {
    pub customer: Customer,
    /// From their latest NPS answer in the look-back window, else implied
    /// by their latest review; none without either.
    pub category: Option<CategoryAssignment>,
    pub category_history: Vec<CategoryChange>,
    pub responses: Vec<Response>,
    pub feedback: Vec<FeedbackItem>,
    pub consents: Vec<ConsentRecord>,
}

/// The customer named by `key` (id, email or external id).
pub async fn show(store: &Store, key: &str) -> Result<CustomerView> {
    let customer = store.find_customer(key).await?;
    let signals = store.category_signals(customer.id).await?;
    let lookback = Duration::days(DEFAULT_LOOKBACK_DAYS);
    let now = Utc::now();
    Ok(CustomerView {
        category: category_at(&signals, now, lookback),
        category_history: category_history(&signals, lookback, now),
        responses: store.responses_of(customer.id).await?,
        feedback: store.feedback_of(customer.id).await?,
        consents: store.consents_of(customer.id).await?,
        customer,
    })
}
