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

/// Installs the default playbooks and runs them over the last `events` of
/// the demo history (steps due now run here; messages wait for a server
/// with SMTP), then works some of the tasks they opened, so the tasks
/// page, the SLA report and the playbook reports have data. Returns the
/// runs started and the tasks opened.
pub async fn run_playbooks(
    store: &Store,
    settings: &crate::playbooks::RunSettings,
    events: i64,
) -> Result<(u64, u64)> {
    use vouch_domain::playbooks::{Resolution, TaskState};
    crate::playbooks::install_defaults(store).await?;
    for (team, members) in [
        ("finance", ["irina@vouch.demo", "matei@vouch.demo"]),
        ("support", ["elena@vouch.demo", "andrei@vouch.demo"]),
        ("product", ["sofia@vouch.demo", "radu@vouch.demo"]),
        ("operations", ["vlad@vouch.demo", "ioana@vouch.demo"]),
        ("cx", ["admin@vouch.demo", "maria@vouch.demo"]),
    ] {
        let members: Vec<String> = members.iter().map(|m| (*m).to_owned()).collect();
        store.set_team(team, &members).await?;
    }
    let last = store.last_event_seq().await?;
    let position = store
        .consumer_position(crate::playbooks::CONSUMER, 0)
        .await?;
    store
        .advance_consumer(
            crate::playbooks::CONSUMER,
            position,
            (last - events).max(0),
            &[],
        )
        .await?;
    while crate::playbooks::run_new_events(store, settings).await? > 0 {}
    // Steps queue the next: run until none is due.
    // (the detractor path's 10 minutes for the comment pass at once).
    let soon = chrono::Duration::minutes(15);
    while crate::playbooks::run_due_steps(store, settings, soon).await? > 0 {}
    let runs = store.playbook_runs(None, None, 1_000_000).await?.len() as u64;
    let tasks = store
        .tasks(&vouch_store::TaskFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await?;
    let now = chrono::Utc::now();
    // Two in three answered, one in three closed; a few reopened for later.
    for (i, task) in tasks.iter().enumerate() {
        let change = match i % 3 {
            0 => vouch_store::TaskChange {
                state: Some(TaskState::Closed),
                resolution: Some(Resolution::Resolved.as_str().to_owned()),
                note: Some("Called the customer; the fix is confirmed.".into()),
                responded: true,
                ..Default::default()
            },
            1 => vouch_store::TaskChange {
                state: Some(TaskState::InProgress),
                responded: true,
                ..Default::default()
            },
            _ => continue,
        };
        store.change_task(task.id, &change, now).await?;
    }
    Ok((runs, tasks.len() as u64))
}
