//! Answers and feedback that arrive one at a time (the REST API), and the
//! people they belong to: the same checks, tagging and matching as
//! `vouch import`, and events for webhooks.

use chrono::Utc;
use serde::Serialize;
use vouch_domain::{
    Answer, Customer, CustomerId, Feedback, FeedbackItem, Response, ResponseId, Source,
};
use vouch_ingest::{FileSource, Format, ReadOptions, Rejection};
use vouch_store::{FirstAnswer, Store, UpsertSummary};

use crate::{AppError, Result};

/// Records answers and tags their comments. The store writes their
/// `response.created` and any `customer.category_changed` events with them.
pub async fn record_answers(store: &Store, answers: &[Answer]) -> Result<Vec<ResponseId>> {
    let ids = store.insert_answers(answers).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    if answers.iter().any(|a| a.comment.is_some()) {
        crate::text::tag_untagged(store, &crate::text::analyzer(store).await?).await?;
    }
    Ok(ids)
}

/// The first answer to `invitation`, tagged before it is stored and
/// stored (through the store's group commit) with its events. `None` when
/// the invitation was answered already.
pub(crate) async fn record_first_answer(
    store: &Store,
    invitation: i64,
    answer: Answer,
) -> Result<Option<ResponseId>> {
    let comment_tags = match &answer.comment {
        Some(comment) => {
            let language = answer.locale.as_ref().map(|l| l.language().to_owned());
            let comment = comment.clone();
            let analyzer = crate::text::analyzer(store).await?;
            Some(
                crate::text::off_the_runtime(&analyzer, move |analyzer| {
                    crate::text::tags(analyzer, &comment, language.as_deref())
                })
                .await?,
            )
        }
        None => None,
    };
    let first = FirstAnswer {
        invitation,
        answer,
        comment_tags,
    };
    Ok(store.answer_invitation_once(first).await?)
}

/// What pushing feedback did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PushReport {
    #[serde(flatten)]
    pub summary: UpsertSummary,
    /// The stored items, in the order sent.
    pub items: Vec<FeedbackItem>,
}

/// Items that failed the checks, by 0-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRejected(pub Vec<(usize, String)>);

/// Reads items as `vouch import --format jsonl --source SOURCE` reads lines
/// (same fields, same checks), then tags, matches and stores them
/// idempotently (the store writes `feedback.created` for new ones). Nothing is
/// stored when any item is bad.
/// What is wrong with the shape of one pushed item, if anything: it is an
/// object of the generic import's fields by their own names, its `rating`
/// a number and the others strings (or null, but for `text`). A file's
/// lines are read more leniently (column aliases, a numeric id as text);
/// the API says what it takes.
fn pushed_item_problem(item: &serde_json::Value) -> Option<String> {
    let Some(fields) = item.as_object() else {
        return Some("an item is an object with at least `text`".to_owned());
    };
    for (name, value) in fields {
        // Lengths count the text as sent, before it is trimmed.
        let limit = if name == "text" {
            vouch_domain::text::MAX_TEXT_CHARS
        } else {
            vouch_domain::text::MAX_FIELD_CHARS
        };
        if let Some(text) = value.as_str()
            && text.chars().count() > limit
        {
            return Some(format!("`{name}` is longer than {limit} characters"));
        }
        let fits = match name.as_str() {
            "rating" => value.is_number() || value.is_null(),
            n if vouch_ingest::generic_field_names().any(|f| f == n) => {
                value.is_string() || (value.is_null() && n != "text")
            }
            other => return Some(format!("`{other}` is not a field of a feedback item")),
        };
        if !fits {
            let wanted = if name == "rating" {
                "a number"
            } else {
                "a string"
            };
            return Some(format!("`{name}` must be {wanted}"));
        }
    }
    None
}

pub async fn push_feedback(
    store: &Store,
    source: Source,
    items: &[serde_json::Value],
) -> Result<std::result::Result<PushReport, PushRejected>> {
    // A field sent as null is a field not sent.
    let lines: String = items
        .iter()
        .map(|item| match item {
            serde_json::Value::Object(fields) => {
                let given: serde_json::Map<_, _> = fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                format!("{}\n", serde_json::Value::Object(given))
            }
            other => format!("{other}\n"),
        })
        .collect();
    let options = ReadOptions {
        source: Some(source),
        undated_at: Utc::now(),
        ..ReadOptions::default()
    };
    let mut parsed: Vec<Feedback> = Vec::with_capacity(items.len());
    let mut rejected: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| pushed_item_problem(item).map(|why| (i, why)))
        .collect();
    if !rejected.is_empty() {
        return Ok(Err(PushRejected(rejected)));
    }
    if !items.is_empty() {
        let reader = FileSource::with_options(lines.as_bytes(), Some(Format::Jsonl), options)
            .map_err(|r| AppError::Refused(r.reason))?;
        for item in reader {
            match item {
                Ok(item) => parsed.push(item),
                Err(Rejection { line, reason, .. }) => rejected.push((line as usize - 1, reason)),
            }
        }
    }
    if !rejected.is_empty() {
        return Ok(Err(PushRejected(rejected)));
    }
    let analyzer = crate::text::analyzer(store).await?;
    let mut parsed = crate::text::off_the_runtime(&analyzer, move |analyzer| {
        for item in &mut parsed {
            crate::import::tag(analyzer, item);
        }
        parsed
    })
    .await?;
    crate::import::match_customers(store, &mut parsed).await?;
    let keys: Vec<(Source, &str)> = parsed
        .iter()
        .map(|f| (f.source, f.source_id.as_str()))
        .collect();
    let summary = store.upsert_feedback(&parsed).await?;
    let mut now_stored = store.feedback_by_keys(&keys).await?;
    let stored: Vec<FeedbackItem> = keys
        .iter()
        .filter_map(|(source, id)| now_stored.remove(&(*source, (*id).to_owned())))
        .collect();
    Ok(Ok(PushReport {
        summary,
        items: stored,
    }))
}

/// Everything Vouch holds about a person (GDPR access request).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerExport {
    pub customer: Customer,
    pub responses: Vec<Response>,
    pub feedback: Vec<FeedbackItem>,
    /// Consent per purpose, with basis, source and evidence.
    pub consents: Vec<vouch_domain::ConsentRecord>,
    /// Every message sent (or deferred, or skipped) to them, and why.
    pub contacts: Vec<vouch_store::Contact>,
    pub exported_at: chrono::DateTime<Utc>,
}

pub async fn export_customer(store: &Store, id: CustomerId) -> Result<Option<CustomerExport>> {
    let Some(customer) = store.customer(id).await? else {
        return Ok(None);
    };
    Ok(Some(CustomerExport {
        customer,
        responses: store.responses_of(id).await?,
        feedback: store.feedback_of(id).await?,
        consents: store.consents_of(id).await?,
        contacts: store.contacts_of(id, u32::MAX).await?,
        exported_at: Utc::now(),
    }))
}
