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

/// Who the customer list shows beyond the store's filter: a category now
/// (`CategoryOrNone`: "none" is no signal in the look-back window), and
/// whether their latest signal is at most (or more than) some days old.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StandingFilter {
    pub category: Option<vouch_domain::analytics::CategoryOrNone>,
    /// `Some((days, true))`: a signal within `days`; `(days, false)`: none within.
    pub last_signal: Option<(i64, bool)>,
}

/// The customers on a list page and where they stand.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedPage {
    pub customers: Vec<(Customer, Option<CategoryAssignment>)>,
    /// Where the next page starts, when there may be one: the last
    /// customer shown, or the last one looked at when a scan stopped short.
    pub next: Option<vouch_domain::CustomerId>,
}

/// Customers looked at per request at most when a standing filter thins
/// them out: a page costs a bounded time, and the list goes on from where
/// the scan stopped.
const SCAN_LIMIT: usize = 20_000;

/// A page of customers matching `filter` and `standing`, by id after
/// `after`. Categories are read for 500 customers at a time
/// (`Store::categories_of`), the same as each profile shows.
pub async fn list(
    store: &Store,
    filter: &vouch_store::CustomerFilter,
    standing: StandingFilter,
    after: Option<vouch_domain::CustomerId>,
    limit: usize,
) -> Result<ListedPage> {
    // Without a standing filter every customer read is shown: read a page.
    let chunk = if standing == StandingFilter::default() {
        u32::try_from(limit).unwrap_or(500)
    } else {
        500
    };
    let now = Utc::now();
    let mut found = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    loop {
        let read = store.customers(filter, cursor, chunk).await?;
        let full = read.len() == chunk as usize;
        let ids = read.iter().map(|c| c.id).collect();
        let categories = store.categories_of(&ids).await?;
        for customer in read {
            scanned += 1;
            cursor = Some(customer.id);
            let category = categories.get(&customer.id).copied().flatten();
            let category_ok = standing
                .category
                .is_none_or(|want| want.0 == category.map(|a| a.category));
            let signal_ok = standing.last_signal.is_none_or(|(days, within)| {
                let recent = category.is_some_and(|a| a.signal_at > now - Duration::days(days));
                recent == within
            });
            if category_ok && signal_ok {
                found.push((customer, category));
                if found.len() == limit {
                    let next = found.last().map(|(c, _)| c.id);
                    return Ok(ListedPage {
                        customers: found,
                        next,
                    });
                }
            }
        }
        if !full {
            return Ok(ListedPage {
                customers: found,
                next: None,
            });
        }
        if scanned >= SCAN_LIMIT {
            return Ok(ListedPage {
                customers: found,
                next: cursor,
            });
        }
    }
}

/// The customer named by `key` (id, email or external id).
pub async fn show(store: &Store, key: &str) -> Result<CustomerView> {
    view_of(store, store.find_customer(key).await?).await
}

/// Everything `show` gives, for a customer already read.
async fn view_of(store: &Store, customer: Customer) -> Result<CustomerView> {
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

/// One thing that happened with a customer, as the profile's timeline
/// shows it: what they said, what was sent to them, what staff and
/// playbooks did about it, and what they did in the advocate program.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Moment {
    /// A survey answer.
    Answer(Response),
    /// A review, mention, ticket or survey comment.
    Feedback(FeedbackItem),
    /// A message through the mail layer: sent, deferred or skipped, with why.
    Message(vouch_store::Contact),
    /// A task opened about them (its state now).
    Task(vouch_store::TaskRecord),
    /// A playbook run and every decision it logged.
    Run {
        run: vouch_store::PlaybookRun,
        playbook: String,
        log: Vec<vouch_store::LogEntry>,
    },
    /// They moved between promoter, passive and detractor (or aged out).
    CategoryChanged(CategoryChange),
    /// They joined the advocate program.
    Joined(vouch_store::Member),
    /// A points ledger entry of theirs.
    Points(vouch_store::LedgerEntry),
    /// Staff thanked them.
    Recognized(vouch_store::Recognition),
}

/// A moment and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: chrono::DateTime<Utc>,
    #[serde(flatten)]
    pub moment: Moment,
}

/// The customer's page: who they are, where they stand, and everything
/// that happened, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerProfile {
    #[serde(flatten)]
    pub view: CustomerView,
    pub tags: Vec<String>,
    /// Why their address gets no marketing mail, when it does not.
    pub suppressed: Option<String>,
    pub member: Option<vouch_store::Member>,
    /// How likely they are to become an active advocate, and why.
    pub propensity: Option<vouch_domain::propensity::Propensity>,
    pub timeline: Vec<TimelineEntry>,
}

/// How many of each kind of moment the timeline reads (the newest).
pub const TIMELINE_PER_KIND: u32 = 200;

/// The profile of customer `id`; none when there is no such customer.
pub async fn profile(
    store: &Store,
    id: vouch_domain::CustomerId,
) -> Result<Option<CustomerProfile>> {
    let Some(customer) = store.customer(id).await? else {
        return Ok(None);
    };
    let view = view_of(store, customer).await?;
    let id = view.customer.id;
    let mut timeline: Vec<TimelineEntry> = Vec::new();
    let mut add = |at, moment| timeline.push(TimelineEntry { at, moment });
    for response in &view.responses {
        add(
            response.answer.answered_at,
            Moment::Answer(response.clone()),
        );
    }
    // A survey comment is its answer's: shown once, with the answer.
    for item in view
        .feedback
        .iter()
        .filter(|i| i.feedback.source != vouch_domain::Source::Survey)
    {
        add(item.feedback.posted_at, Moment::Feedback(item.clone()));
    }
    for change in &view.category_history {
        add(change.at, Moment::CategoryChanged(*change));
    }
    for contact in store.contacts_of(id, TIMELINE_PER_KIND).await? {
        add(contact.at, Moment::Message(contact));
    }
    let tasks = store
        .tasks(&vouch_store::TaskFilter {
            customer: Some(id),
            limit: TIMELINE_PER_KIND,
            ..Default::default()
        })
        .await?;
    for task in tasks {
        add(task.created_at, Moment::Task(task));
    }
    let names: std::collections::HashMap<i64, String> = store
        .playbooks()
        .await?
        .into_iter()
        .map(|p| (p.id, p.spec.name))
        .collect();
    for run in store
        .playbook_runs(None, Some(id), TIMELINE_PER_KIND)
        .await?
    {
        let log = store.run_log(run.id).await?;
        let playbook = names
            .get(&run.playbook_id)
            .cloned()
            .unwrap_or_else(|| format!("#{}", run.playbook_id));
        add(run.started_at, Moment::Run { run, playbook, log });
    }
    let member = store.member_of_customer(id).await?;
    if let Some(member) = &member {
        add(member.created_at, Moment::Joined(member.clone()));
        for entry in store.ledger(member.id, None, TIMELINE_PER_KIND).await? {
            add(entry.created_at, Moment::Points(entry));
        }
        for thanks in store.recognitions(member.id).await? {
            add(thanks.created_at, Moment::Recognized(thanks));
        }
    }
    // Newest first; equal times keep the order above (stable sort).
    timeline.sort_by_key(|e| std::cmp::Reverse(e.at));
    let suppressed = match &view.customer.profile.email {
        Some(email) => store
            .suppressed_emails(&[email.match_key()], vouch_domain::Purpose::Marketing)
            .await?
            .into_values()
            .next(),
        None => None,
    };
    Ok(Some(CustomerProfile {
        tags: store.customer_tags(id).await?,
        suppressed,
        member,
        propensity: crate::propensity::of_customer(store, id, chrono::Utc::now()).await?,
        timeline,
        view,
    }))
}
