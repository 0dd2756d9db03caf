//! Loading the demo data set into a store.

use std::collections::HashMap;

use vouch_demo::{DemoConfig, SURVEYS, demo_customer};
use vouch_domain::{Answer, CustomerId, SurveyId, SurveyKind};
use vouch_store::Store;

use crate::{AppError, Result};

/// How many customers are generated and written per transaction.
const BATCH: u64 = 1_000;

/// What a demo load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DemoSummary {
    pub customers: u64,
    pub responses: u64,
    pub feedback_items: u64,
}

/// Fills an empty store with demo data, calling `progress` with the number
/// of customers written so far after each batch. Refuses a store that
/// already holds customers, so demo data never mixes with real data.
pub async fn load(
    store: &Store,
    config: &DemoConfig,
    mut progress: impl FnMut(u64),
) -> Result<DemoSummary> {
    if store.count_customers().await? > 0 {
        return Err(AppError::Refused(format!(
            "{} already holds customers; demo data only goes into an empty database (choose another with --db)",
            store.describe()
        )));
    }
    let mut surveys: HashMap<SurveyKind, SurveyId> = HashMap::new();
    for (kind, name) in SURVEYS {
        surveys.insert(
            kind,
            store.ensure_survey(kind, name, config.start()).await?.id,
        );
    }

    let mut ids: Vec<CustomerId> = Vec::with_capacity(config.customers as usize);
    let mut summary = DemoSummary::default();
    let mut first = 0;
    while first < config.customers {
        let last = (first + BATCH).min(config.customers);
        let mut batch: Vec<_> = (first..last).map(|i| demo_customer(config, i)).collect();
        // Referrers from earlier batches have ids already; those in this one are linked after insert.
        let mut same_batch_referrals = Vec::new();
        for (offset, customer) in batch.iter_mut().enumerate() {
            if let Some(referrer) = customer.referred_by_index {
                match ids.get(referrer as usize) {
                    Some(id) => customer.profile.referred_by = Some(*id),
                    None => same_batch_referrals.push((offset, referrer)),
                }
            }
        }
        let profiles: Vec<_> = batch.iter().map(|c| c.profile.clone()).collect();
        let new_ids = store.insert_customers(&profiles).await?;
        ids.extend(&new_ids);
        for (offset, referrer) in same_batch_referrals {
            store
                .set_referrer(new_ids[offset], ids[referrer as usize])
                .await?;
        }

        let mut answers = Vec::new();
        let mut feedback = Vec::new();
        for (customer, id) in batch.into_iter().zip(&new_ids) {
            for a in customer.answers {
                answers.push(Answer {
                    survey_id: surveys[&a.score.kind()],
                    customer_id: Some(*id),
                    score: a.score,
                    comment: a.comment,
                    channel: a.channel,
                    locale: Some(customer.profile.locale.clone()),
                    answered_at: a.answered_at,
                    metadata: Default::default(),
                });
            }
            for mut f in customer.feedback {
                f.customer_id = Some(*id);
                feedback.push(f);
            }
        }
        summary.responses += store.insert_answers(&answers).await?.len() as u64;
        store.insert_feedback(&feedback).await?;
        summary.customers += new_ids.len() as u64;
        progress(summary.customers);
        first = last;
    }
    // Survey comments became feedback items inside the store: count, don't re-derive.
    summary.feedback_items = store.count_feedback().await?;
    Ok(summary)
}
