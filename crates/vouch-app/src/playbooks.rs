//! Nurturing paths at work: saving a playbook through the compliance
//! guard, the outbox consumer that starts runs, each step's execution, the
//! messages steps send through the mail layer, and the defaults Vouch
//! installs. The rules themselves are vouch-domain's (`playbooks`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use vouch_domain::playbooks::{
    self, Action, Audience, Condition, Denial, Facts, Op, PlaybookSpec, Priority, ReviewPlatform,
    Step, TaskType, Trigger, Value,
};
use vouch_domain::{
    ContactPolicy, CustomerId, Email, EventKind, LoyaltyCategory, Purpose, SlaPolicy, WorkCalendar,
    consent_allows,
};
use vouch_store::{
    ContactRequest, LogEntry, NewJob, NewRun, NewTask, PlaybookRun, StepEffects, Store,
    StoredEvent, StoredPlaybook,
};

use crate::Result;
use crate::jobs::Task;
use crate::outreach::Hold;

/// The outbox consumer that starts runs.
pub const CONSUMER: &str = "playbooks";

/// Events read per batch.
const BATCH: u32 = 200;

/// Attempts a playbook step or message gets.
pub const STEP_ATTEMPTS: i32 = 5;

/// Why a playbook cannot be saved.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Its shape: the field and why.
    Shape(&'static str, String),
    /// The compliance guard's denials (at least one).
    Compliance(Vec<Denial>),
}

/// The guard a playbook passes before it is saved.
pub fn check(spec: &PlaybookSpec) -> std::result::Result<(), Refusal> {
    spec.check_shape()
        .map_err(|(field, reason)| Refusal::Shape(field, reason))?;
    let denials = playbooks::check_playbook(spec);
    if denials.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Compliance(denials))
    }
}

pub async fn create(
    store: &Store,
    spec: &PlaybookSpec,
) -> Result<std::result::Result<StoredPlaybook, Refusal>> {
    if let Err(refusal) = check(spec) {
        return Ok(Err(refusal));
    }
    let id = store
        .add_playbook(spec, None, Utc::now())
        .await?
        .expect("no default key, no conflict");
    Ok(Ok(store.playbook(id).await?.expect("just added")))
}

/// Saves a new version. `cancel_pending`: its runs' delayed steps are
/// cancelled; otherwise they finish with the version that started them.
/// `None`: no such playbook.
pub async fn update(
    store: &Store,
    id: i64,
    spec: &PlaybookSpec,
    cancel_pending: bool,
) -> Result<Option<std::result::Result<StoredPlaybook, Refusal>>> {
    if let Err(refusal) = check(spec) {
        return Ok(store.playbook(id).await?.map(|_| Err(refusal)));
    }
    if store
        .update_playbook(id, spec, cancel_pending, Utc::now())
        .await?
        .is_none()
    {
        return Ok(None);
    }
    Ok(store.playbook(id).await?.map(Ok))
}

fn step(action: Action, delay_minutes: u32) -> Step {
    Step {
        action,
        delay_minutes,
    }
}

fn condition(field: &str, op: Op, value: Value) -> Condition {
    Condition {
        field: field.parse().expect("a known field"),
        op,
        value,
    }
}

/// The teams the detractor default routes comments to, by topic (the
/// default taxonomy's names).
fn default_routes() -> BTreeMap<String, String> {
    [
        ("billing", "finance"),
        ("price", "finance"),
        ("support", "support"),
        ("staff", "support"),
        ("delivery", "operations"),
        ("quality", "product"),
        ("usability", "product"),
        ("reliability", "product"),
        ("features", "product"),
        ("onboarding", "cx"),
    ]
    .into_iter()
    .map(|(t, team)| (t.to_owned(), team.to_owned()))
    .collect()
}

/// The defaults from our field, by key. The review request needs the
/// company's own review link, so it is installed switched off.
pub fn defaults() -> Vec<(&'static str, PlaybookSpec)> {
    let on_answer = Trigger::on(EventKind::ResponseCreated);
    vec![
        (
            "default.detractor",
            PlaybookSpec {
                name: "Hear every detractor".into(),
                enabled: true,
                trigger: on_answer.clone(),
                conditions: vec![condition(
                    "category",
                    Op::Eq,
                    Value::Text("detractor".into()),
                )],
                steps: vec![
                    step(
                        Action::CreateTask {
                            task_type: TaskType::CloseLoop,
                            priority: Priority::High,
                            team: None,
                            owner: None,
                            sla: Some("close_loop".into()),
                            reason: Some("A detractor answered: call or write back within 2 business days".into()),
                        },
                        // Time to finish the comment the routing reads.
                        10,
                    ),
                    step(
                        Action::RouteFeedback {
                            routes: default_routes(),
                            default_team: Some("cx".into()),
                        },
                        0,
                    ),
                    step(
                        Action::SendEmail {
                            purpose: Purpose::Marketing,
                            subject: "Getting more out of {{ company }}".into(),
                            body: "Hello {{ customer.name or '' }},\n\nThank you for telling us what went wrong. While our team follows up, here is our guide to the features customers ask about most: {{ company_url }}\n\n{{ company }}".into(),
                        },
                        72 * 60,
                    ),
                ],
                holdout_percent: 10,
                // Everyone is heard: the task and the routing are never held out.
                holdout_from_step: 2,
            },
        ),
        (
            "default.passive",
            PlaybookSpec {
                name: "Move passives with an offer".into(),
                enabled: true,
                trigger: Trigger {
                    to: Some(LoyaltyCategory::Passive),
                    ..Trigger::on(EventKind::CustomerCategoryChanged)
                },
                conditions: vec![],
                steps: vec![step(
                    Action::OfferIncentive {
                        variants: vec![
                            offer("perks", "A thank-you from {{ company }}", "Hello {{ customer.name or '' }},\n\nAs a thank-you for being with us, your next month includes our premium support at no cost. Reply to this email to switch it on.\n\n{{ company }}"),
                            offer("networking", "Meet other {{ company }} customers", "Hello {{ customer.name or '' }},\n\nWe are hosting a small online meet-up where customers share how they work with us. Would you like a seat? Reply to this email.\n\n{{ company }}"),
                            offer("early_access", "Try what we are building next", "Hello {{ customer.name or '' }},\n\nWe would like you among the first to try our next features, before anyone else. Reply to this email to join early access.\n\n{{ company }}"),
                        ],
                    },
                    0,
                )],
                holdout_percent: 10,
                holdout_from_step: 0,
            },
        ),
        (
            "default.promoter",
            PlaybookSpec {
                name: "Invite promoters into the program".into(),
                enabled: true,
                trigger: Trigger {
                    to: Some(LoyaltyCategory::Promoter),
                    ..Trigger::on(EventKind::CustomerCategoryChanged)
                },
                conditions: vec![],
                steps: vec![
                    step(Action::InviteToProgram { message: None }, 0),
                    step(Action::AskForReferral { message: None }, 7 * 24 * 60),
                ],
                holdout_percent: 10,
                holdout_from_step: 0,
            },
        ),
        (
            "default.review",
            PlaybookSpec {
                name: "Ask everyone who answers for a review".into(),
                // Off until the company puts its own review link here.
                enabled: false,
                trigger: on_answer,
                conditions: vec![],
                steps: vec![step(
                    Action::RequestReview {
                        platform: ReviewPlatform::Google,
                        url: "https://g.page/r/YOUR-PLACE-ID/review".into(),
                        audience: Audience::Everyone,
                        message: None,
                        incentive: None,
                        disclosure: None,
                    },
                    0,
                )],
                holdout_percent: 10,
                holdout_from_step: 0,
            },
        ),
    ]
}

fn offer(name: &str, subject: &str, body: &str) -> playbooks::Offer {
    playbooks::Offer {
        name: name.into(),
        subject: subject.into(),
        body: body.into(),
    }
}

/// Installs the defaults not installed before (an edited or deleted one
/// is not brought back). On the first install the consumer starts at the
/// outbox's end, so history is not replayed into customers' inboxes.
pub async fn install_defaults(store: &Store) -> Result<usize> {
    let start = store.last_event_seq().await?;
    store.consumer_position(CONSUMER, start).await?;
    let mut added = 0;
    for (key, spec) in defaults() {
        debug_assert_eq!(check(&spec), Ok(()), "{key}");
        if store
            .add_playbook(&spec, Some(key), Utc::now())
            .await?
            .is_some()
        {
            added += 1;
        }
    }
    Ok(added)
}

/// What the runner needs besides the store.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub calendar: WorkCalendar,
    pub lookback: Duration,
    /// SLA policies of the company's own, before the built-in ones.
    pub sla_policies: Vec<SlaPolicy>,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            calendar: WorkCalendar::office(chrono_tz::UTC),
            lookback: Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS),
            sla_policies: Vec::new(),
        }
    }
}

/// A step's job payload: run `run_id`'s step `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepJob {
    pub run_id: i64,
    pub step: usize,
}

fn step_job(kind: fn(StepJob) -> Task, run_id: i64, step: usize, at: DateTime<Utc>) -> NewJob {
    kind(StepJob { run_id, step }).job(at)
}

/// Reads the events after the consumer's position and starts the runs
/// they trigger; the number of events passed (0: caught up). A crash
/// mid-batch repeats the batch, and the run keys make the repeat a no-op.
pub async fn run_new_events(store: &Store, settings: &RunSettings) -> Result<usize> {
    let position = store.consumer_position(CONSUMER, 0).await?;
    let events = store.events_after(position, &[], BATCH).await?;
    let Some(last) = events.last() else {
        return Ok(0);
    };
    let enabled: Vec<StoredPlaybook> = store
        .playbooks()
        .await?
        .into_iter()
        .filter(|p| p.spec.enabled)
        .collect();
    for event in &events {
        // Only events about a customer wake runs or start them.
        let Some(customer) = event.customer_id else {
            continue;
        };
        store
            .wake_waiting_runs(customer, event.kind.as_str(), Utc::now())
            .await?;
        let mut known: Option<Facts> = None;
        for playbook in enabled.iter().filter(|p| triggers(&p.spec.trigger, event)) {
            // Read once per event, whichever playbooks it triggers.
            if known.is_none() {
                known = Some(facts(store, settings, customer, Some(event)).await?);
            }
            let facts = known.as_ref().expect("just read");
            start_run(store, playbook, &event.id, customer, facts, true).await?;
        }
    }
    store
        .advance_consumer(CONSUMER, position, last.seq, &[])
        .await?;
    Ok(events.len())
}

fn category_of(value: &serde_json::Value) -> Option<LoyaltyCategory> {
    value.as_str().and_then(|s| s.parse().ok())
}

fn triggers(trigger: &Trigger, event: &StoredEvent) -> bool {
    if trigger.event != Some(event.kind) || event.customer_id.is_none() {
        return false;
    }
    let moved = |key: &str, wanted: Option<LoyaltyCategory>| {
        wanted.is_none_or(|w| category_of(&event.data[key]) == Some(w))
    };
    moved("from", trigger.from) && moved("to", trigger.to)
}

/// What is known about `customer` now and about the triggering event.
pub async fn facts(
    store: &Store,
    settings: &RunSettings,
    customer: CustomerId,
    event: Option<&StoredEvent>,
) -> Result<Facts> {
    let mut facts = Facts::default();
    if let Some(c) = store.customer(customer).await? {
        facts.locale = Some(c.profile.locale.language().to_owned());
        facts.insider = c
            .profile
            .attributes
            .get("insider")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"));
        facts.attributes = c.profile.attributes.clone();
    }
    let signals = store.category_signals(customer).await?;
    facts.category =
        vouch_domain::category_at(&signals, Utc::now(), settings.lookback).map(|a| a.category);
    facts.consents = store
        .consents_of(customer)
        .await?
        .iter()
        .filter(|c| consent_allows(c.purpose, Some(c)).is_ok())
        .map(|c| c.purpose)
        .collect();
    facts.open_task = store.has_open_task(customer).await?;
    facts.days_since_contact = store
        .contacts_of(customer, 50)
        .await?
        .iter()
        .find(|c| c.state == "sent")
        .map(|c| (Utc::now() - c.at).num_days());
    let Some(event) = event else {
        return Ok(facts);
    };
    let data = &event.data;
    match event.kind {
        EventKind::ResponseCreated | EventKind::ResponseUpdated => {
            facts.score = data["score"].as_u64().and_then(|s| u8::try_from(s).ok());
            facts.source = Some("survey".into());
            if let Some(item) = comment_of(store, customer, data["id"].as_i64()).await? {
                tag_facts(store, &mut facts, &item).await?;
            }
        }
        EventKind::FeedbackCreated | EventKind::FeedbackUpdated => {
            facts.rating = data["rating"]["stars"]
                .as_u64()
                .or_else(|| data["rating"].as_u64())
                .and_then(|s| u8::try_from(s).ok());
            facts.source = data["source"].as_str().map(str::to_owned);
            if let Some(id) = data["id"].as_i64()
                && let Some(item) = store
                    .feedback_of(customer)
                    .await?
                    .into_iter()
                    .find(|f| f.id.0 == id)
            {
                tag_facts(store, &mut facts, &item).await?;
            }
        }
        EventKind::CustomerCategoryChanged => {
            facts.previous_category = category_of(&data["from"]);
        }
        _ => {}
    }
    Ok(facts)
}

/// The feedback item holding answer `response`'s comment, if it has one.
async fn comment_of(
    store: &Store,
    customer: CustomerId,
    response: Option<i64>,
) -> Result<Option<vouch_domain::FeedbackItem>> {
    let Some(response) = response else {
        return Ok(None);
    };
    let key = format!("response:{response}");
    Ok(store
        .feedback_of(customer)
        .await?
        .into_iter()
        .find(|f| f.feedback.source == vouch_domain::Source::Survey && f.feedback.source_id == key))
}

/// Sentiment and topics of `item`: as tagged, or tagged now when the
/// background tagger has not reached it yet.
async fn tag_facts(
    store: &Store,
    facts: &mut Facts,
    item: &vouch_domain::FeedbackItem,
) -> Result<()> {
    let f = &item.feedback;
    if f.sentiment.is_some() {
        facts.sentiment = f.sentiment;
        facts.topics = f.topics.iter().map(|t| t.topic.clone()).collect();
    } else {
        let analyzer = crate::text::analyzer(store).await?;
        let text = match &f.title {
            Some(title) => format!("{title}. {}", f.body),
            None => f.body.clone(),
        };
        let tags = crate::text::tags(&analyzer, &text, f.language.as_deref());
        facts.sentiment = Some(tags.sentiment);
        facts.topics = tags.topics.into_iter().map(|t| t.topic).collect();
    }
    Ok(())
}

/// Starts `playbook` for `customer` on the event (or schedule slot)
/// `cause`; a run that does not match is kept (its log says why) only
/// when `keep_unmatched`. True when a run started.
async fn start_run(
    store: &Store,
    playbook: &StoredPlaybook,
    cause: &str,
    customer: CustomerId,
    facts: &Facts,
    keep_unmatched: bool,
) -> Result<bool> {
    let spec = &playbook.spec;
    let key = playbooks::run_key(
        playbook.id,
        playbook.version,
        &format!("customer:{}", customer.0),
        cause,
    );
    let checks = facts.check(&spec.conditions);
    let matched = checks.iter().all(|c| c.matched);
    if !matched && !keep_unmatched {
        return Ok(false);
    }
    let seed = playbooks::run_seed(&key);
    let held_out = matched && playbooks::held_out(seed, spec.holdout_percent);
    let mut log: Vec<LogEntry> = checks
        .iter()
        .map(|c| {
            LogEntry::new(
                None,
                None,
                if c.matched { "matched" } else { "not_matched" },
                format!(
                    "{} (was {})",
                    c.condition,
                    c.actual.as_deref().unwrap_or("unknown")
                ),
            )
        })
        .collect();
    if held_out {
        log.push(LogEntry::new(
            None,
            None,
            "held_out",
            format!(
                "held out ({}% hold-out, seed {seed}): no actions from step {}",
                spec.holdout_percent,
                spec.holdout_from_step + 1
            ),
        ));
    }
    let now = Utc::now();
    let first_at = spec
        .steps
        .first()
        .filter(|_| matched)
        .map(|first| now + Duration::minutes(i64::from(first.delay_minutes)));
    let run = NewRun {
        playbook_id: playbook.id,
        version: playbook.version,
        customer_id: Some(customer),
        event_id: cause.to_owned(),
        run_key: key,
        seed,
        matched,
        held_out,
    };
    let first_job = first_at.map(|at| move |run_id| step_job(Task::PlaybookStep, run_id, 0, at));
    let started = store
        .start_run(
            &run,
            &log,
            first_job
                .as_ref()
                .map(|f| f as &(dyn Fn(i64) -> NewJob + Sync)),
            now,
        )
        .await?;
    Ok(started.is_some())
}

/// Runs each enabled scheduled playbook whose slot has come for every
/// customer its conditions match (unmatched customers leave no run: a
/// daily schedule would otherwise log every customer every day). A slot
/// done is recorded, so the hourly tick passes over it; a crash midway
/// repeats the slot, and the run keys make the repeat a no-op. The
/// number of runs started.
pub async fn run_schedules(
    store: &Store,
    settings: &RunSettings,
    now: DateTime<Utc>,
) -> Result<usize> {
    let local = now.with_timezone(&settings.calendar.zone).naive_local();
    let mut started = 0;
    for playbook in store.playbooks().await? {
        let Some(schedule) = playbook
            .spec
            .trigger
            .schedule
            .filter(|_| playbook.spec.enabled)
        else {
            continue;
        };
        let slot = schedule.slot(local);
        let done_key = format!("playbook.{}.slot", playbook.id);
        let done = format!("v{}:{slot}", playbook.version);
        if store.settings().await?.get(&done_key) == Some(&done) {
            continue;
        }
        let cause = format!("schedule:{slot}");
        let mut after = None;
        loop {
            let page = store
                .customers(&vouch_store::CustomerFilter::default(), after, 500)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for customer in &page {
                let facts = facts(store, settings, customer.id, None).await?;
                if start_run(store, &playbook, &cause, customer.id, &facts, false).await? {
                    started += 1;
                }
            }
        }
        store.set_setting(&done_key, &done).await?;
    }
    Ok(started)
}

/// What running a step did.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    Done(String),
    /// Finished before (a retry), or its run is over.
    Nothing,
}

/// Runs step `job.step` of run `job.run_id`: checks the guard, applies the
/// action, logs the decision and queues the next step, in one commit.
pub async fn run_step(store: &Store, settings: &RunSettings, job: StepJob) -> Result<StepResult> {
    let Some(run) = store.playbook_run(job.run_id).await? else {
        return Ok(StepResult::Nothing);
    };
    if run.state != "running" {
        return Ok(StepResult::Nothing);
    }
    let Some(spec) = store.playbook_version(run.playbook_id, run.version).await? else {
        return Ok(StepResult::Nothing);
    };
    let Some(step) = spec.steps.get(job.step) else {
        return Ok(StepResult::Nothing);
    };
    let now = Utc::now();
    let action = &step.action;
    let last = job.step + 1 >= spec.steps.len();
    let wait = match action {
        Action::Wait { hours, .. } => i64::from(*hours),
        _ => 0,
    };
    let mut effects = StepEffects {
        finished: last,
        ..StepEffects::default()
    };
    if let Some(next) = spec.steps.get(job.step + 1) {
        effects.jobs.push(step_job(
            Task::PlaybookStep,
            run.id,
            job.step + 1,
            now + Duration::hours(wait) + Duration::minutes(i64::from(next.delay_minutes)),
        ));
    }
    let entry = |outcome: &str, detail: String| {
        LogEntry::new(Some(job.step), Some(action.name()), outcome, detail)
    };
    if run.held_out && job.step >= spec.holdout_from_step {
        effects.jobs.clear();
        effects.finished = true;
        let e = entry("held_out", "held out: no actions".into());
        return finish(store, &run, job.step, e, effects, now).await;
    }
    let customer = run.customer_id.map(CustomerId);
    let event = store.event_by_id(&run.event_id).await?;
    let facts = match customer {
        Some(c) => facts(store, settings, c, event.as_ref()).await?,
        None => Facts::default(),
    };
    if let Err(denial) = playbooks::check_step(action, &facts) {
        let e = entry("denied", denial.message.clone()).rule(denial.rule.as_str());
        return finish(store, &run, job.step, e, effects, now).await;
    }
    let e = match action {
        Action::CreateTask {
            task_type,
            priority,
            team,
            owner,
            sla,
            reason,
        } => {
            let team = match team {
                Some(t) => Some(t.clone()),
                None => match route(store, &facts).await? {
                    Some(t) => Some(t),
                    None => owning_team(&spec, &facts),
                },
            };
            let owner = match (owner, &team) {
                (Some(o), _) => Some(o.clone()),
                (None, Some(t)) => store.next_team_member(t).await?,
                (None, None) => None,
            };
            let policy = settings.sla_policy(sla.as_deref());
            let due = policy.due(&settings.calendar, now);
            let signal = event.as_ref().and_then(signal_of);
            effects.task = Some(NewTask {
                customer_id: customer,
                task_type: *task_type,
                reason: reason.clone().unwrap_or_else(|| spec.name.clone()),
                priority: *priority,
                team: team.clone(),
                owner: owner.clone(),
                signal,
                run: Some((run.id, job.step)),
                sla: policy.name.clone(),
                first_response_due: due.first_response,
                due_at: due.resolution,
            });
            entry(
                "done",
                format!(
                    "task for {} ({}), due {}",
                    team.as_deref().unwrap_or("no team"),
                    owner.as_deref().unwrap_or("unassigned"),
                    due.resolution.format("%Y-%m-%d %H:%M UTC")
                ),
            )
        }
        Action::RouteFeedback {
            routes,
            default_team,
        } => {
            let item = match (customer, event.as_ref()) {
                (Some(c), Some(ev)) => match ev.kind {
                    EventKind::ResponseCreated | EventKind::ResponseUpdated => {
                        comment_of(store, c, ev.data["id"].as_i64())
                            .await?
                            .map(|f| f.id.0)
                    }
                    EventKind::FeedbackCreated | EventKind::FeedbackUpdated => {
                        ev.data["id"].as_i64()
                    }
                    _ => None,
                },
                _ => None,
            };
            match item {
                None => entry("skipped", "no feedback to route".into()),
                Some(id) => {
                    let mut teams: Vec<(String, Option<String>)> = facts
                        .topics
                        .iter()
                        .filter_map(|t| routes.get(t).map(|team| (team.clone(), Some(t.clone()))))
                        .collect();
                    if teams.is_empty()
                        && let Some(team) = default_team
                    {
                        teams.push((team.clone(), None));
                    }
                    let detail = if teams.is_empty() {
                        "no route for its topics".to_owned()
                    } else {
                        teams
                            .iter()
                            .map(|(team, topic)| match topic {
                                Some(t) => format!("{team} ({t})"),
                                None => format!("{team} (default)"),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    effects.routes = teams
                        .into_iter()
                        .map(|(team, topic)| (id, team, topic))
                        .collect();
                    entry("done", format!("feedback {id} routed to {detail}"))
                }
            }
        }
        Action::RequestReview { audience, .. }
            if !playbooks::in_audience(*audience, run.ordinal as u64, run.seed as u64) =>
        {
            entry("skipped", format!("not in the audience ({audience:?})"))
        }
        Action::SendEmail { .. }
        | Action::RequestReview { .. }
        | Action::InviteToProgram { .. }
        | Action::AskForReferral { .. }
        | Action::OfferIncentive { .. } => {
            effects
                .jobs
                .push(step_job(Task::PlaybookMessage, run.id, job.step, now));
            entry(
                "scheduled",
                "the message is queued for the mail layer".into(),
            )
        }
        Action::AwardPoints { points, reason } => {
            let member = match customer {
                Some(c) => store.member_of_customer(c).await?,
                None => None,
            };
            match member {
                None => entry("skipped", "the customer is not a program member".into()),
                Some(m) => {
                    // Keyed by run and step: a retried step awards once.
                    let award = crate::program::Award {
                        member: m.id,
                        amount: *points,
                        reason: reason.clone(),
                        idempotency_key: format!("playbook:{}:{}", run.id, job.step),
                        source: "playbook".into(),
                        actor: format!("playbook {}", run.playbook_id),
                    };
                    match crate::program::award(store, &award).await {
                        Ok(Ok(_)) => entry("done", format!("{points} points for {reason:?}")),
                        Ok(Err(refused)) => entry("skipped", refused.to_string()),
                        Err(crate::AppError::Refused(why)) => entry("skipped", why),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Action::Tag { tag } => {
            effects.tag = Some(tag.clone());
            entry("done", format!("tagged {tag:?}"))
        }
        Action::Untag { tag } => {
            effects.untag = Some(tag.clone());
            entry("done", format!("untagged {tag:?}"))
        }
        Action::Notify { .. } | Action::CallWebhook { .. } => {
            effects
                .jobs
                .push(step_job(Task::PlaybookCall, run.id, job.step, now));
            entry("scheduled", "the call is queued".into())
        }
        Action::Wait { hours, until } => {
            effects.waiting_for = until.map(|k| k.as_str().to_owned());
            match until {
                Some(kind) => entry("done", format!("waits up to {hours} h for {kind}")),
                None => entry("done", format!("waits {hours} h")),
            }
        }
    };
    finish(store, &run, job.step, e, effects, now).await
}

async fn finish(
    store: &Store,
    run: &PlaybookRun,
    step: usize,
    entry: LogEntry,
    effects: StepEffects,
    now: DateTime<Utc>,
) -> Result<StepResult> {
    let detail = entry.detail.clone();
    Ok(
        if store
            .finish_step(run.id, step, &entry, &effects, now)
            .await?
        {
            StepResult::Done(detail)
        } else {
            StepResult::Nothing
        },
    )
}

impl RunSettings {
    /// The SLA policy a step names: a configured one, else a built-in one
    /// (`SlaPolicy::built_in`), else `close_loop`.
    pub fn sla_policy(&self, name: Option<&str>) -> SlaPolicy {
        let name = name.unwrap_or("close_loop");
        self.sla_policies
            .iter()
            .chain(&SlaPolicy::built_in())
            .find(|p| p.name == name)
            .cloned()
            .unwrap_or_else(SlaPolicy::close_loop)
    }
}

/// The team the routing rules give the customer: the first rule whose
/// conditions all hold.
async fn route(store: &Store, facts: &Facts) -> Result<Option<String>> {
    Ok(store
        .routing_rules()
        .await?
        .into_iter()
        .find(|(conditions, _)| facts.check(conditions).iter().all(|c| c.matched))
        .map(|(_, team)| team))
}

/// With no routing rule for the customer, the team the playbook's own
/// `route_feedback` step sends their topics to (the team that owns the
/// problem), else its default team.
fn owning_team(spec: &PlaybookSpec, facts: &Facts) -> Option<String> {
    spec.steps.iter().find_map(|s| match &s.action {
        Action::RouteFeedback {
            routes,
            default_team,
        } => facts
            .topics
            .iter()
            .find_map(|t| routes.get(t).cloned())
            .or_else(|| default_team.clone()),
        _ => None,
    })
}

fn signal_of(event: &StoredEvent) -> Option<(String, i64)> {
    let id = event.data["id"].as_i64()?;
    match event.kind {
        EventKind::ResponseCreated | EventKind::ResponseUpdated => Some(("response".into(), id)),
        EventKind::FeedbackCreated | EventKind::FeedbackUpdated => Some(("feedback".into(), id)),
        _ => None,
    }
}

/// A playbook message cleared to go.
#[derive(Debug, Clone)]
pub struct PlaybookEmail {
    pub run_id: i64,
    pub step: usize,
    pub to: Email,
    pub purpose: Purpose,
    pub message_id: String,
    pub rendered: crate::templates::Rendered,
    /// The one-click unsubscribe link (none for service messages).
    pub unsubscribe_url: Option<String>,
}

/// What to do with a playbook message job.
#[derive(Debug, Clone)]
pub enum PreparedMessage {
    Send(Box<PlaybookEmail>),
    Skipped(String),
    Deferred {
        until: DateTime<Utc>,
        reason: String,
    },
}

/// Decides whether a playbook message goes now, through the same checks
/// as every message: the guard again (R4, R6), sender identity, consent,
/// suppression and the one contact budget.
#[allow(clippy::too_many_arguments)]
pub async fn prepare_message(
    store: &Store,
    settings: &RunSettings,
    job_id: i64,
    job: StepJob,
    policy: &ContactPolicy,
    mail_domain: &str,
    public_url: &str,
) -> Result<PreparedMessage> {
    let skip = |why: String| Ok(PreparedMessage::Skipped(why));
    let Some(run) = store.playbook_run(job.run_id).await? else {
        return skip("the run is gone".into());
    };
    if run.state == "cancelled" {
        return skip("the run was cancelled".into());
    }
    let Some(spec) = store.playbook_version(run.playbook_id, run.version).await? else {
        return skip("the playbook is gone".into());
    };
    let Some(step) = spec.steps.get(job.step) else {
        return skip("no such step".into());
    };
    let action = &step.action;
    let Some(purpose) = action.purpose() else {
        return skip("the step sends no message".into());
    };
    let Some(customer) = run.customer_id.map(CustomerId) else {
        return skip("no customer".into());
    };
    let Some(c) = store.customer(customer).await? else {
        return skip("the customer is gone".into());
    };
    let Some(to) = c.profile.email.clone() else {
        return logged_skip(
            store,
            &run,
            job,
            action,
            "the customer has no email address".into(),
            None,
        )
        .await;
    };
    let facts = facts(store, settings, customer, None).await?;
    if let Err(denial) = playbooks::check_step(action, &facts) {
        return logged_skip(
            store,
            &run,
            job,
            action,
            denial.message,
            Some(denial.rule.as_str()),
        )
        .await;
    }
    let task = Task::PlaybookMessage(job);
    let contact = ContactRequest {
        customer_id: customer,
        purpose,
        what: format!("{} ({}, run {})", action.name(), spec.name, run.id),
        message_id: crate::outreach::message_id(job_id, &task.dedupe_key(), mail_domain),
    };
    let now = Utc::now();
    let branding = crate::surveys::branding(store).await?;
    let zone = crate::outreach::time_zone_of(&c);
    match crate::outreach::clear_to_send(store, &contact, &to, zone, policy, &branding, now).await?
    {
        Ok(()) => {}
        Err(Hold::Refused { why, rule }) => {
            return logged_skip(store, &run, job, action, why, rule).await;
        }
        Err(Hold::Deferred { until, reason }) => {
            let entry = LogEntry::new(
                Some(job.step),
                Some(action.name()),
                "deferred",
                format!(
                    "{reason}; tries again {}",
                    until.format("%Y-%m-%d %H:%M UTC")
                ),
            );
            store.log_run(run.id, &entry, now).await?;
            return Ok(PreparedMessage::Deferred { until, reason });
        }
    }
    let unsubscribe_url = if purpose == Purpose::Service {
        None
    } else {
        let token = crate::secrets::new_secret();
        store
            .add_unsubscribe_token(&crate::secrets::secret_hash(&token), customer, purpose, now)
            .await?;
        Some(format!(
            "{}/unsubscribe/{token}",
            public_url.trim_end_matches('/')
        ))
    };
    let language = c.profile.locale.language();
    // The program's own invitation carries the link that joins (trusted);
    // a referral ask carries the member's link to share.
    let join_url = match action {
        Action::InviteToProgram { .. } => Some(
            crate::portal::join_link(
                store,
                customer,
                vouch_domain::program::JoinedBy::Invitation,
                None,
                public_url,
            )
            .await?,
        ),
        _ => None,
    };
    let referral_url = match (action, store.member_of_customer(customer).await?) {
        (Action::AskForReferral { .. }, Some(m))
            if m.status == vouch_domain::program::MemberStatus::Active =>
        {
            let (link, _) = crate::program::referral_link(store, m.id, None, None).await?;
            Some(crate::program::link_url(public_url, &link.code))
        }
        _ => None,
    };
    let context = serde_json::json!({
        "company": branding.company_name,
        "company_url": public_url,
        "customer": {"name": c.profile.name},
        "unsubscribe_url": unsubscribe_url,
        "postal_address": branding.postal_address,
        "join_url": join_url,
        "referral_url": referral_url,
    });
    let template = message_template(action, language, run.seed as u64);
    let mut rendered = match crate::templates::render(&template, &context) {
        Ok(r) => r,
        Err(e) => {
            store
                .release_contact(&contact.message_id, &e.to_string())
                .await?;
            return logged_skip(
                store,
                &run,
                job,
                action,
                format!("the template does not render: {e}"),
                None,
            )
            .await;
        }
    };
    if let Action::RequestReview {
        url,
        message,
        disclosure,
        ..
    } = action
    {
        rendered.text = compose_review_request(
            &rendered.text,
            url,
            message.as_deref(),
            disclosure.as_deref(),
        );
    }
    rendered.text = footer(
        &rendered.text,
        language,
        unsubscribe_url.as_deref(),
        purpose,
        branding.postal_address.as_deref(),
    );
    Ok(PreparedMessage::Send(Box::new(PlaybookEmail {
        run_id: run.id,
        step: job.step,
        to,
        purpose,
        message_id: contact.message_id,
        rendered,
        unsubscribe_url,
    })))
}

async fn logged_skip(
    store: &Store,
    run: &PlaybookRun,
    job: StepJob,
    action: &Action,
    why: String,
    rule: Option<&str>,
) -> Result<PreparedMessage> {
    let mut entry = LogEntry::new(
        Some(job.step),
        Some(action.name()),
        if rule.is_some() { "denied" } else { "skipped" },
        why.clone(),
    );
    entry.rule = rule.map(str::to_owned);
    store.log_run(run.id, &entry, Utc::now()).await?;
    Ok(PreparedMessage::Skipped(why))
}

fn compose_review_request(
    text: &str,
    url: &str,
    message: Option<&str>,
    disclosure: Option<&str>,
) -> String {
    let mut out = String::new();
    if let Some(m) = message {
        out.push_str(m.trim());
        out.push_str("\n\n");
    }
    out.push_str(text.trim_end());
    out.push_str("\n\n");
    out.push_str(url);
    out.push('\n');
    if let Some(d) = disclosure.filter(|d| !d.trim().is_empty()) {
        out.push('\n');
        out.push_str(d.trim());
        out.push('\n');
    }
    out
}

fn footer(
    text: &str,
    language: &str,
    unsubscribe: Option<&str>,
    purpose: Purpose,
    postal: Option<&str>,
) -> String {
    let mut out = text.trim_end().to_owned();
    out.push_str("\n\n-- \n");
    if let Some(url) = unsubscribe {
        let words = if language == "ro" {
            "Dezabonare"
        } else {
            "Unsubscribe"
        };
        out.push_str(&format!("{words}: {url}\n"));
    }
    if purpose == Purpose::Marketing
        && let Some(postal) = postal
    {
        out.push_str(postal);
        out.push('\n');
    }
    out
}

/// The template of a message step: the step's own (`send_email`, an
/// offer's variant chosen by the run's seed), else Vouch's built-in one in
/// the customer's language.
fn message_template(
    action: &Action,
    language: &str,
    seed: u64,
) -> crate::templates::MessageTemplate {
    use crate::templates::MessageTemplate;
    let own = |subject: &str, body: &str| MessageTemplate {
        subject: subject.to_owned(),
        text: body.to_owned(),
        html: String::new(),
    };
    let ro = language == "ro";
    let builtin = |en: (&str, &str), ro_words: (&str, &str)| {
        let (s, b) = if ro { ro_words } else { en };
        own(s, b)
    };
    match action {
        Action::SendEmail { subject, body, .. } => own(subject, body),
        Action::OfferIncentive { variants } => {
            let v = &variants[playbooks::variant_of(seed, variants.len())];
            own(&v.subject, &v.body)
        }
        Action::RequestReview { .. } => builtin(
            (
                include_str!("../templates/playbook/request_review.en.subject"),
                include_str!("../templates/playbook/request_review.en.txt"),
            ),
            (
                include_str!("../templates/playbook/request_review.ro.subject"),
                include_str!("../templates/playbook/request_review.ro.txt"),
            ),
        ),
        Action::InviteToProgram { .. } => builtin(
            (
                include_str!("../templates/playbook/invite_to_program.en.subject"),
                include_str!("../templates/playbook/invite_to_program.en.txt"),
            ),
            (
                include_str!("../templates/playbook/invite_to_program.ro.subject"),
                include_str!("../templates/playbook/invite_to_program.ro.txt"),
            ),
        ),
        _ => builtin(
            (
                include_str!("../templates/playbook/ask_for_referral.en.subject"),
                include_str!("../templates/playbook/ask_for_referral.en.txt"),
            ),
            (
                include_str!("../templates/playbook/ask_for_referral.ro.subject"),
                include_str!("../templates/playbook/ask_for_referral.ro.txt"),
            ),
        ),
    }
}

/// The mail server took a playbook message: its contact is sent and the
/// step's log says so.
pub async fn message_sent(store: &Store, email: &PlaybookEmail) -> Result<()> {
    let entry = LogEntry::new(
        Some(email.step),
        None,
        "sent",
        format!("{} email sent ({})", email.purpose, email.message_id),
    );
    store
        .playbook_message_sent(email.run_id, &entry, &email.message_id, Utc::now())
        .await?;
    Ok(())
}

/// The mail server refused the address for good: no mail to it again.
pub async fn message_refused(store: &Store, email: &PlaybookEmail, reason: &str) -> Result<()> {
    let now = Utc::now();
    store
        .suppress_email(&email.to.match_key(), None, "bounced", now)
        .await?;
    store.release_contact(&email.message_id, reason).await?;
    let entry = LogEntry::new(
        Some(email.step),
        None,
        "failed",
        format!("refused: {reason}"),
    );
    store.log_run(email.run_id, &entry, now).await?;
    Ok(())
}

/// Queues a staff reply to task `task`'s customer; `None` when the task
/// has no customer with an email address.
pub async fn reply_to_task(
    store: &Store,
    task: i64,
    author: &str,
    subject: &str,
    body: &str,
) -> Result<Option<i64>> {
    let Some(record) = store.task(task).await? else {
        return Ok(None);
    };
    let Some(customer) = record.customer_id else {
        return Ok(None);
    };
    if store
        .customer(CustomerId(customer))
        .await?
        .and_then(|c| c.profile.email)
        .is_none()
    {
        return Ok(None);
    }
    let job = |reply_id| Task::TaskReply { reply_id }.job(Utc::now());
    Ok(Some(
        store
            .add_task_reply(task, author, subject, body, &job, Utc::now())
            .await?,
    ))
}

/// A staff reply cleared to go.
#[derive(Debug, Clone)]
pub struct ReplyEmail {
    pub reply_id: i64,
    pub to: Email,
    pub subject: String,
    pub body: String,
    pub message_id: String,
}

/// Decides whether reply `reply_id` goes: a service message needs no
/// consent and spends no budget, but a suppressed address (a bounce, a
/// complaint) gets nothing. `Ok(Err(why))` when it will not go.
pub async fn prepare_reply(
    store: &Store,
    job_id: i64,
    reply_id: i64,
    mail_domain: &str,
) -> Result<std::result::Result<ReplyEmail, String>> {
    let Some((task, subject, body, sent)) = store.task_reply(reply_id).await? else {
        return Ok(Err("the reply is gone".into()));
    };
    if sent.is_some() {
        return Ok(Err("sent already".into()));
    }
    let Some(customer) = store.task(task).await?.and_then(|t| t.customer_id) else {
        return Ok(Err("the task has no customer".into()));
    };
    let Some(to) = store
        .customer(CustomerId(customer))
        .await?
        .and_then(|c| c.profile.email)
    else {
        return Ok(Err("the customer has no email address".into()));
    };
    let task_job = Task::TaskReply { reply_id };
    let contact = ContactRequest {
        customer_id: CustomerId(customer),
        purpose: Purpose::Service,
        what: format!("reply on task {task}"),
        message_id: crate::outreach::message_id(job_id, &task_job.dedupe_key(), mail_domain),
    };
    let now = Utc::now();
    let suppressed = store
        .suppressed_emails(&[to.match_key()], Purpose::Service)
        .await?;
    if let Some(reason) = suppressed.values().next() {
        let why = format!("the address is suppressed ({reason})");
        store.skip_contact(&contact, &why, now).await?;
        return Ok(Err(why));
    }
    // Service messages are never deferred by the budget; this records them.
    store
        .reserve_contact(&contact, &vouch_domain::ContactBudget::default(), None, now)
        .await?;
    Ok(Ok(ReplyEmail {
        reply_id,
        to,
        subject,
        body,
        message_id: contact.message_id,
    }))
}

/// `POST /unsubscribe/{token}` (also one-click): the address gets no more
/// messages of the link's purpose and the consent is recorded withdrawn.
/// False for an unknown token.
pub async fn unsubscribe(store: &Store, token: &str) -> Result<bool> {
    let Some((customer, purpose)) = store
        .unsubscribe_token(&crate::secrets::secret_hash(token))
        .await?
    else {
        return Ok(false);
    };
    let now = Utc::now();
    if let Some(c) = store.customer(customer).await? {
        if let Some(email) = &c.profile.email {
            store
                .suppress_email(&email.match_key(), Some(purpose), "unsubscribed", now)
                .await?;
        }
        let record = vouch_domain::ConsentRecord {
            purpose,
            granted: false,
            basis: vouch_domain::ConsentBasis::LegitimateInterest,
            source: "unsubscribe link".to_owned(),
            evidence: None,
            recorded_at: now,
        };
        store.set_consent(customer, &record).await?;
    }
    Ok(true)
}

/// What a `notify` or `call_webhook` step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// POST `body` to `url` (through the SSRF guard).
    Post {
        url: String,
        body: serde_json::Value,
    },
    /// Mail staff: a service notice to colleagues, outside the customers'
    /// consent, suppression and contact budget.
    Mail {
        to: Vec<String>,
        subject: String,
        text: String,
    },
    /// Nothing can be done, and why (logged as a failure).
    Refused(String),
}

/// What a `notify` or `call_webhook` step does, and to whom.
pub async fn call_of(store: &Store, job: StepJob) -> Result<Option<Call>> {
    let Some(run) = store.playbook_run(job.run_id).await? else {
        return Ok(None);
    };
    let Some(spec) = store.playbook_version(run.playbook_id, run.version).await? else {
        return Ok(None);
    };
    Ok(match spec.steps.get(job.step).map(|s| &s.action) {
        Some(Action::Notify {
            url: Some(url),
            text,
            ..
        }) => Some(Call::Post {
            url: url.clone(),
            body: serde_json::json!({"text": text}),
        }),
        Some(Action::Notify {
            email, team, text, ..
        }) => {
            // Only staff accounts are mailed: a playbook cannot mail strangers.
            let mut to = Vec::new();
            if let Some(email) = email
                && store.user_by_email(email).await?.is_some()
            {
                to.push(email.clone());
            }
            if let Some(team) = team
                && let Some((_, members)) =
                    store.teams().await?.into_iter().find(|(t, _)| t == team)
            {
                for member in members {
                    if store.user_by_email(&member).await?.is_some() {
                        to.push(member);
                    }
                }
            }
            Some(if to.is_empty() {
                Call::Refused(match (email, team) {
                    (Some(e), _) => format!("{e} is not a staff account"),
                    (_, Some(t)) => format!("team {t:?} has no staff account"),
                    _ => "no one to tell".to_owned(),
                })
            } else {
                let about = match run.customer_id {
                    Some(c) => format!("customer {c}, run {} of {:?}", run.id, spec.name),
                    None => format!("run {} of {:?}", run.id, spec.name),
                };
                Call::Mail {
                    to,
                    subject: format!("Vouch: {}", spec.name),
                    text: format!("{text}\n\n({about})\n"),
                }
            })
        }
        Some(Action::CallWebhook { url }) => {
            let event = store.event_by_id(&run.event_id).await?;
            Some(Call::Post {
                url: url.clone(),
                body: serde_json::json!({
                    "playbook": {"id": run.playbook_id, "version": run.version, "name": spec.name},
                    "run_id": run.id,
                    "event": event.as_ref().map(crate::events::envelope),
                }),
            })
        }
        _ => None,
    })
}

/// Logs a `notify` or `call_webhook` outcome.
pub async fn call_done(store: &Store, job: StepJob, outcome: &str, detail: String) -> Result<()> {
    let entry = LogEntry::new(Some(job.step), None, outcome, detail);
    store.log_run(job.run_id, &entry, Utc::now()).await?;
    Ok(())
}

/// Runs here every playbook step due within `horizon` from now (the demo,
/// which has no worker); calls and messages are left to a server.
pub async fn run_due_steps(
    store: &Store,
    settings: &RunSettings,
    horizon: Duration,
) -> Result<usize> {
    let mut ran = 0;
    let lease = Duration::minutes(5);
    while let Some(job) = store
        .claim_job_of(
            "inline",
            &[vouch_domain::JobKind::PlaybookStep],
            Utc::now() + horizon,
            lease,
        )
        .await?
    {
        if let Ok(Task::PlaybookStep(step)) = Task::of(&job) {
            run_step(store, settings, step).await?;
            ran += 1;
        }
        store.finish_job(job.id, "inline", Utc::now()).await?;
    }
    Ok(ran)
}

/// Customers in one arm of a playbook's experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Arm {
    /// Runs whose conditions matched.
    pub runs: u64,
    /// Distinct customers (their first run counts).
    pub customers: u64,
}

/// One outcome compared between the arms.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// `category_rose_or_stayed_promoter`, `nps_of_next_answer` or `churned`.
    pub outcome: String,
    /// `measured`, or `not_enough_data` until both arms have enough customers.
    pub status: String,
    /// How many customers of each arm the outcome counts.
    pub treated_n: u64,
    pub held_out_n: u64,
    /// Each arm's value (a share 0–1, or an NPS) and treated − held out,
    /// with its 95% interval and two-sided p-value; none until measured.
    pub treated: Option<f64>,
    pub held_out: Option<f64>,
    pub difference: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
}

/// An offer variant and how many treated customers got it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Variant {
    pub name: String,
    pub customers: u64,
}

/// Does the path work: treated against held-out customers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlaybookReport {
    pub playbook_id: i64,
    /// Outcomes are read this many days after each run started (or now).
    pub days: u32,
    pub treated: Arm,
    pub held_out: Arm,
    pub outcomes: Vec<Outcome>,
    /// Offer variants (the passive path), each with its treated customers.
    pub variants: Vec<Variant>,
}

fn rank(c: Option<LoyaltyCategory>) -> i32 {
    match c {
        Some(LoyaltyCategory::Promoter) => 2,
        Some(LoyaltyCategory::Passive) => 1,
        Some(LoyaltyCategory::Detractor) => 0,
        None => -1,
    }
}

/// The report of playbook `id`; `None` when there is no such playbook.
pub async fn report(
    store: &Store,
    settings: &RunSettings,
    id: i64,
    days: u32,
    level: f64,
) -> Result<Option<PlaybookReport>> {
    use vouch_domain::analytics::{NpsTally, compare_nps, compare_shares};
    let Some(playbook) = store.playbook(id).await? else {
        return Ok(None);
    };
    let mut runs = store.playbook_runs(Some(id), None, 1_000_000).await?;
    runs.retain(|r| r.matched);
    runs.sort_by_key(|r| r.id);
    let now = Utc::now();
    let mut seen = std::collections::BTreeSet::new();
    let (mut treated, mut held) = (
        Arm {
            runs: 0,
            customers: 0,
        },
        Arm {
            runs: 0,
            customers: 0,
        },
    );
    // (rose, next NPS score, churned) per customer and arm.
    let mut rose = [(0u64, 0u64); 2];
    let mut next = [NpsTally::default(), NpsTally::default()];
    let mut churn = [(0u64, 0u64); 2];
    let mut variants: BTreeMap<String, u64> = BTreeMap::new();
    let offer = playbook.spec.steps.iter().find_map(|s| match &s.action {
        Action::OfferIncentive { variants } => Some(variants.clone()),
        _ => None,
    });
    for run in &runs {
        let arm = usize::from(run.held_out);
        if run.held_out {
            held.runs += 1;
        } else {
            treated.runs += 1;
        }
        let Some(customer) = run.customer_id else {
            continue;
        };
        if !seen.insert(customer) {
            continue;
        }
        if run.held_out {
            held.customers += 1;
        } else {
            treated.customers += 1;
            if let Some(v) = &offer {
                let name = v[playbooks::variant_of(run.seed as u64, v.len())]
                    .name
                    .clone();
                *variants.entry(name).or_default() += 1;
            }
        }
        let customer = CustomerId(customer);
        let signals = store.category_signals(customer).await?;
        let start = run.started_at;
        let end = (start + Duration::days(i64::from(days))).min(now);
        let before =
            vouch_domain::category_at(&signals, start, settings.lookback).map(|a| a.category);
        let after = vouch_domain::category_at(&signals, end, settings.lookback).map(|a| a.category);
        rose[arm].1 += 1;
        if rank(after) > rank(before)
            || (before == Some(LoyaltyCategory::Promoter) && after == before)
        {
            rose[arm].0 += 1;
        }
        if let Some(score) = signals
            .iter()
            .filter(|s| s.at > start && s.at <= end)
            .min_by_key(|s| s.at)
            .and_then(|s| match s.kind {
                vouch_domain::SignalKind::NpsAnswer { score } => Some(score),
                _ => None,
            })
        {
            next[arm].record(score);
        }
        if let Some(c) = store.customer(customer).await? {
            churn[arm].1 += 1;
            if c.profile
                .churned_at
                .is_some_and(|at| at > start && at <= end)
            {
                churn[arm].0 += 1;
            }
        }
    }
    let outcome =
        |name: &str, t: u64, h: u64, effect: Option<vouch_domain::analytics::Effect>| Outcome {
            outcome: name.to_owned(),
            status: if effect.is_some() {
                "measured"
            } else {
                "not_enough_data"
            }
            .to_owned(),
            treated_n: t,
            held_out_n: h,
            treated: effect.map(|e| e.treated),
            held_out: effect.map(|e| e.held_out),
            difference: effect.map(|e| e.difference),
            ci_low: effect.map(|e| e.ci_low),
            ci_high: effect.map(|e| e.ci_high),
            p_value: effect.map(|e| e.p_value),
        };
    let outcomes = vec![
        outcome(
            "category_rose_or_stayed_promoter",
            rose[0].1,
            rose[1].1,
            compare_shares(rose[0], rose[1], level),
        ),
        outcome(
            "nps_of_next_answer",
            next[0].responses(),
            next[1].responses(),
            compare_nps(&next[0], &next[1], level),
        ),
        outcome(
            "churned",
            churn[0].1,
            churn[1].1,
            compare_shares(churn[0], churn[1], level),
        ),
    ];
    Ok(Some(PlaybookReport {
        playbook_id: id,
        days,
        treated,
        held_out: held,
        outcomes,
        variants: variants
            .into_iter()
            .map(|(name, customers)| Variant { name, customers })
            .collect(),
    }))
}

/// SLA figures per team (and `all`), of tasks opened in `[from, to)`.
pub async fn sla_report(
    store: &Store,
    settings: &RunSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, vouch_domain::SlaSummary)>> {
    let times = store.task_times(from, to).await?;
    let now = Utc::now();
    let mut by_team: BTreeMap<String, Vec<vouch_domain::TaskClock>> = BTreeMap::new();
    for t in times {
        let clock = vouch_domain::TaskClock {
            opened: t.created_at,
            first_response_due: t.first_response_due,
            due: t.due_at,
            first_response: t.first_response_at,
            closed: t.closed_at,
        };
        by_team.entry("all".into()).or_default().push(clock.clone());
        by_team
            .entry(t.team.unwrap_or_else(|| "no team".into()))
            .or_default()
            .push(clock);
    }
    Ok(by_team
        .into_iter()
        .map(|(team, clocks)| {
            (
                team,
                vouch_domain::sla_summary(&clocks, &settings.calendar, now),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_the_guard_and_their_copy_does_not_gate() {
        for (key, spec) in defaults() {
            assert_eq!(check(&spec), Ok(()), "{key}");
        }
        for language in ["en", "ro"] {
            for action in [
                Action::RequestReview {
                    platform: ReviewPlatform::Google,
                    url: "https://g.page/r/x/review".into(),
                    audience: Audience::Everyone,
                    message: None,
                    incentive: None,
                    disclosure: None,
                },
                Action::InviteToProgram { message: None },
                Action::AskForReferral { message: None },
            ] {
                let t = message_template(&action, language, 0);
                for part in [&t.subject, &t.text] {
                    assert_eq!(playbooks::gating_phrase(part), None, "{language} {part}");
                }
                let rendered = crate::templates::render(
                    &t,
                    &serde_json::json!({"company": "Acme", "company_url": "https://acme.example",
                        "customer": {"name": "Ana"}, "unsubscribe_url": "https://x/u", "postal_address": null,
                        "join_url": "https://x/portal/join/T", "referral_url": null}),
                )
                .unwrap();
                assert!(rendered.text.contains("Acme"), "{}", rendered.text);
            }
        }
    }
}
