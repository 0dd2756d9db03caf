//! Working the inbox: one action on one item or on many at once (assign,
//! mark handled, tag, note, open a close-the-loop task, reply). The page
//! and the API both act through `act`, so the checks are the same.

use chrono::Utc;
use vouch_domain::playbooks::{Priority, TaskType};
use vouch_domain::{CustomerId, FeedbackId, FeedbackItem};
use vouch_store::{NewTask, Store, TriageChange};

use crate::Result;
use crate::playbooks::RunSettings;
use crate::program::FieldRefusal;

/// The most items one bulk action takes (a page holds 50; an API call 500).
pub const MAX_ITEMS: usize = 500;

/// What staff do to the items chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxAction {
    /// To a staff member (by email), or to nobody.
    Assign(Option<String>),
    Handled(bool),
    Tag(String),
    Untag(String),
    /// An internal note; `key` (the form's or the caller's) makes a resent
    /// note one note.
    Note {
        body: String,
        key: String,
    },
    /// A close-the-loop task on the item, unless one is open already.
    OpenTask,
    /// A reply to the item's customer through the mail layer: on the item's
    /// open close-the-loop task (opened if needed), so it is timed by the
    /// task's SLA and shows on it.
    Reply {
        subject: String,
        body: String,
    },
}

/// What an action did, item by item.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ActionReport {
    /// Items the action changed.
    pub changed: Vec<i64>,
    /// Items already so (a retry, or done by someone else).
    pub unchanged: Vec<i64>,
    /// Items the action cannot apply to, each with the reason.
    pub refused: Vec<Refused>,
    /// The task of each item, for `open_task` and `reply`.
    pub tasks: Vec<ItemTask>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Refused {
    pub id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ItemTask {
    pub id: i64,
    pub task_id: i64,
}

fn refuse<T>(field: &'static str, message: &str) -> Result<std::result::Result<T, FieldRefusal>> {
    Ok(Err(FieldRefusal {
        field,
        message: message.to_owned(),
    }))
}

/// A tag: 1 to 40 characters, no control characters, kept as written
/// (trimmed).
fn tag(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty() && t.chars().count() <= 40 && !t.chars().any(char::is_control))
        .then(|| t.to_owned())
}

/// Applies `action` to each of `ids` for the staff member `by` (their
/// email). Bad input (an unknown assignee, an empty note, too many items)
/// refuses the whole action and changes nothing; an item the action
/// cannot apply to (unknown, no email to reply to) is refused alone.
pub async fn act(
    store: &Store,
    settings: &RunSettings,
    ids: &[FeedbackId],
    action: &InboxAction,
    by: &str,
) -> Result<std::result::Result<ActionReport, FieldRefusal>> {
    if ids.is_empty() {
        return refuse("ids", "choose at least one item");
    }
    if ids.len() > MAX_ITEMS {
        return refuse("ids", "at most 500 items at once");
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let now = Utc::now();
    let mut report = ActionReport::default();
    let known = store.triage_of(&ids).await?;
    for id in &ids {
        if !known.contains_key(id) {
            report.refused.push(Refused {
                id: id.0,
                reason: "no such item".into(),
            });
        }
    }
    let ids: Vec<FeedbackId> = ids.into_iter().filter(|i| known.contains_key(i)).collect();
    let change = match action {
        InboxAction::Assign(Some(email)) => {
            let email = email.trim().to_lowercase();
            if store.user_by_email(&email).await?.is_none() {
                return refuse("assignee", "not an active staff member's email");
            }
            Some(TriageChange::Assign(Some(email)))
        }
        InboxAction::Assign(None) => Some(TriageChange::Assign(None)),
        InboxAction::Handled(done) => Some(TriageChange::Handled(*done)),
        InboxAction::Tag(raw) | InboxAction::Untag(raw) => {
            let Some(t) = tag(raw) else {
                return refuse("tag", "a tag of 1 to 40 characters");
            };
            Some(match action {
                InboxAction::Tag(_) => TriageChange::Tag(t),
                _ => TriageChange::Untag(t),
            })
        }
        _ => None,
    };
    if let Some(change) = change {
        let changed = store.change_triage(&ids, &change, now).await?;
        split(&mut report, &ids, &changed);
        return Ok(Ok(report));
    }
    match action {
        InboxAction::Note { body, key } => {
            let body = body.trim();
            if body.is_empty() || body.chars().count() > 5000 {
                return refuse("note", "a note of 1 to 5000 characters");
            }
            if key.is_empty() || key.len() > 100 {
                return refuse("key", "a key of 1 to 100 characters");
            }
            let mut changed = Vec::new();
            for id in &ids {
                if store.add_feedback_note(*id, by, body, key, now).await? {
                    changed.push(*id);
                }
            }
            split(&mut report, &ids, &changed);
        }
        InboxAction::OpenTask => {
            let mut changed = Vec::new();
            for id in &ids {
                let Some(item) = store.feedback_item(*id).await? else {
                    continue;
                };
                let (task_id, new) = task_on(store, settings, &item, by).await?;
                if new {
                    changed.push(*id);
                }
                report.tasks.push(ItemTask { id: id.0, task_id });
            }
            split(&mut report, &ids, &changed);
        }
        InboxAction::Reply { subject, body } => {
            let (subject, body) = (subject.trim(), body.trim());
            if subject.is_empty() || subject.chars().count() > 200 {
                return refuse("subject", "a subject of 1 to 200 characters");
            }
            if body.is_empty() || body.chars().count() > 20_000 {
                return refuse("body", "a message of 1 to 20000 characters");
            }
            for id in &ids {
                let Some(item) = store.feedback_item(*id).await? else {
                    continue;
                };
                if !has_email(store, item.feedback.customer_id).await? {
                    report.refused.push(Refused {
                        id: id.0,
                        reason: "no customer with an email address".into(),
                    });
                    continue;
                }
                let (task_id, _) = task_on(store, settings, &item, by).await?;
                crate::playbooks::reply_to_task(store, task_id, by, subject, body).await?;
                report.changed.push(id.0);
                report.tasks.push(ItemTask { id: id.0, task_id });
            }
        }
        _ => {}
    }
    Ok(Ok(report))
}

fn split(report: &mut ActionReport, ids: &[FeedbackId], changed: &[FeedbackId]) {
    for id in ids {
        if changed.contains(id) {
            report.changed.push(id.0);
        } else {
            report.unchanged.push(id.0);
        }
    }
}

async fn has_email(store: &Store, customer: Option<CustomerId>) -> Result<bool> {
    let Some(customer) = customer else {
        return Ok(false);
    };
    Ok(store
        .customer(customer)
        .await?
        .is_some_and(|c| c.profile.email.is_some()))
}

/// The item's open task, or a new close-the-loop task on it owned by
/// `by` and timed by the `close_loop` SLA; true when it is new.
async fn task_on(
    store: &Store,
    settings: &RunSettings,
    item: &FeedbackItem,
    by: &str,
) -> Result<(i64, bool)> {
    if let Some(task) = store.open_task_on("feedback", item.id.0).await? {
        return Ok((task.id, false));
    }
    let now = Utc::now();
    let policy = settings.sla_policy(None);
    let due = policy.due(&settings.calendar, now);
    let negative = item.feedback.sentiment.is_some_and(|s| {
        vouch_domain::SentimentLabel::of(s) == vouch_domain::SentimentLabel::Negative
    });
    let task = NewTask {
        customer_id: item.feedback.customer_id,
        task_type: TaskType::CloseLoop,
        reason: format!(
            "from the inbox: {} item {}",
            item.feedback.source, item.id.0
        ),
        priority: if negative {
            Priority::High
        } else {
            Priority::Normal
        },
        team: None,
        owner: Some(by.to_owned()),
        signal: Some(("feedback".into(), item.id.0)),
        run: None,
        sla: policy.name.clone(),
        first_response_due: due.first_response,
        due_at: due.resolution,
    };
    Ok((store.add_task(&task, now).await?, true))
}
