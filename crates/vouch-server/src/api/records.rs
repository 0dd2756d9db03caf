//! `/api/v1/feedback` and `/api/v1/responses`: what customers said, listed
//! with filters, and pushed in as it happens.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use vouch_domain::{Answer, Channel, CustomerId, FeedbackId, Locale, ResponseId, Score, Source};
use vouch_store::{FeedbackFilter, SentimentLabel};

use super::{
    AnswerFilter, ApiError, ApiResult, Body, Params, comma_list, next_cursor, page_size,
    parse_optional, time,
};
use crate::AppState;
use crate::auth::{Api, need};

/// Serialised, it is the inbox page's next-page link (fields not given left out).
#[derive(Deserialize, Serialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// The `next` cursor of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<i64>,
    /// Items per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<u32>,
    /// Sources, comma-separated: `trustpilot,google,twitter`…
    #[param(value_type = Option<super::schemas::Sources>, inline)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    /// Languages, comma-separated two-letter codes: `en,ro`.
    #[param(value_type = Option<super::schemas::Languages>, inline)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) language: Option<String>,
    /// `positive`, `neutral` or `negative`.
    #[param(pattern = "^(positive|neutral|negative)$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sentiment: Option<String>,
    /// A topic of the taxonomy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) topic: Option<String>,
    /// `promoter`, `passive` or `detractor`: what the item itself signals
    /// (its NPS answer, or its star rating).
    #[param(pattern = "^(promoter|passive|detractor)$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) customer: Option<i64>,
    /// Posted at or after (date or RFC 3339).
    #[param(value_type = Option<super::schemas::Time>, inline)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    /// Posted before.
    #[param(value_type = Option<super::schemas::Time>, inline)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<String>,
    /// Words that must all be in the title or body (full-text search; any
    /// case; diacritics folded, so `factura` finds `factură`).
    #[param(max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) q: Option<String>,
    /// Comments on this survey's answers.
    #[param(minimum = 1)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) survey: Option<i64>,
    /// Ratings in whole stars, comma-separated: `1,2`.
    #[param(pattern = "^[1-5](,[1-5])*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rating: Option<String>,
    /// `true`: handled; `false`: still to handle.
    #[param(pattern = "^(true|false)$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) handled: Option<String>,
    /// A staff member's email, or `none` for items nobody has.
    #[param(max_length = 254)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) assignee: Option<String>,
    /// Items carrying this tag.
    #[param(max_length = 40)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<String>,
    /// A customer segment: the item's customer has this attribute,
    /// `NAME=VALUE` (`plan=pro`); the name is not blank.
    #[param(max_length = 200, pattern = r"^[^=]*[^=\s][^=]*=.*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attribute: Option<String>,
}

/// Feedback items, newest first, with the total that match.
#[derive(Serialize, ToSchema)]
pub struct FeedbackPage {
    pub feedback: Vec<InboxItem>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next: Option<i64>,
    /// How many items match the filters, on every page, counted up to
    /// 10,000: `total_capped` is true when there are at least that many.
    pub total: u64,
    pub total_capped: bool,
}

/// A feedback item with what staff have done with it.
#[derive(Serialize, ToSchema)]
pub struct InboxItem {
    #[serde(flatten)]
    pub item: vouch_domain::FeedbackItem,
    #[serde(flatten)]
    pub triage: vouch_store::Triage,
}

/// The store's filter from the query's fields (the API's and the inbox
/// page's): a bad field is named.
pub(crate) fn feedback_filter(q: &FeedbackQuery) -> Result<FeedbackFilter, ApiError> {
    let sentiment = match q.sentiment.as_deref() {
        None => None,
        Some("positive") => Some(SentimentLabel::Positive),
        Some("neutral") => Some(SentimentLabel::Neutral),
        Some("negative") => Some(SentimentLabel::Negative),
        Some(other) => {
            return Err(ApiError::invalid(
                "sentiment",
                format!("{other:?} is not positive, neutral or negative"),
            ));
        }
    };
    let q_text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if q_text.is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::invalid("q", "at most 200 characters"));
    }
    let stars: Vec<u8> = comma_list("rating", q.rating.as_deref())?;
    if stars.iter().any(|s| !(1..=5).contains(s)) {
        return Err(ApiError::invalid("rating", "whole stars, 1 to 5"));
    }
    let handled = match q.handled.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::invalid("handled", "true or false")),
    };
    let assignee = match q.assignee.as_deref().map(str::trim) {
        None => None,
        Some("none") => Some(None),
        Some(email) if !email.is_empty() && email.len() <= 254 => Some(Some(email.to_lowercase())),
        Some(_) => return Err(ApiError::invalid("assignee", "an email, or none")),
    };
    let tag = match q.tag.as_deref().map(str::trim) {
        None => None,
        Some(t) if !t.is_empty() && t.chars().count() <= 40 => Some(t.to_owned()),
        Some(_) => return Err(ApiError::invalid("tag", "a tag of 1 to 40 characters")),
    };
    let attributes = q
        .attribute
        .as_deref()
        .map(vouch_app::params::parse_attribute)
        .transpose()
        .map_err(|e| ApiError::invalid("attribute", e))?
        .into_iter()
        .collect();
    if q.survey.is_some_and(|s| s < 1) {
        return Err(ApiError::invalid("survey", "a survey id"));
    }
    Ok(FeedbackFilter {
        search: q_text.map(str::to_owned),
        survey: q.survey.map(vouch_domain::SurveyId),
        stars,
        handled,
        assignee,
        tag,
        attributes,
        sources: comma_list("source", q.source.as_deref())?,
        languages: super::languages("language", q.language.as_deref())?,
        sentiment,
        topic: q.topic.clone(),
        category: parse_optional("category", q.category.as_deref())?,
        customer: q.customer.map(CustomerId),
        from: time("from", q.from.as_deref())?,
        to: time("to", q.to.as_deref())?,
    })
}

impl FeedbackQuery {
    /// The query a form sends, with its empty fields ("any") as not given:
    /// the API refuses an empty value, a page's select sends one.
    pub(crate) fn given(self) -> FeedbackQuery {
        let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        FeedbackQuery {
            source: given(self.source),
            language: given(self.language),
            sentiment: given(self.sentiment),
            topic: given(self.topic),
            category: given(self.category),
            from: given(self.from),
            to: given(self.to),
            q: given(self.q),
            rating: given(self.rating),
            handled: given(self.handled),
            assignee: given(self.assignee),
            tag: given(self.tag),
            attribute: given(self.attribute),
            ..self
        }
    }
}

/// Feedback, newest first.
#[utoipa::path(get, path = "/api/v1/feedback", operation_id = "list_feedback", tag = "feedback", params(FeedbackQuery),
    responses((status = 200, description = "A page of feedback", body = FeedbackPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn list_feedback(
    _: Api<need::ReadFeedback>,
    State(state): State<AppState>,
    Params(q): Params<FeedbackQuery>,
) -> ApiResult<FeedbackPage> {
    let limit = page_size(q.limit)?;
    let filter = feedback_filter(&q)?;
    vouch_app::search::before_searching(&state.store, &filter).await?;
    let items = state
        .store
        .feedback(&filter, q.after.map(FeedbackId), limit)
        .await?;
    let next = next_cursor(&items, limit, |i| i.id.0);
    let total = state.store.count_matching_feedback(&filter).await?;
    Ok(Json(FeedbackPage {
        feedback: with_triage(&state.store, items).await?,
        next,
        total_capped: total >= vouch_store::COUNT_CAP,
        total,
    }))
}

/// Items with their triage, read for the page at once.
pub(crate) async fn with_triage(
    store: &vouch_store::Store,
    items: Vec<vouch_domain::FeedbackItem>,
) -> Result<Vec<InboxItem>, ApiError> {
    let ids: Vec<FeedbackId> = items.iter().map(|i| i.id).collect();
    let mut triage = store.triage_of(&ids).await?;
    Ok(items
        .into_iter()
        .map(|item| InboxItem {
            triage: triage.remove(&item.id).unwrap_or_default(),
            item,
        })
        .collect())
}

/// An action on feedback items, as the API takes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// The items, 1 to 500.
    #[schema(min_items = 1, max_items = 500)]
    #[serde(deserialize_with = "super::whole_numbers")]
    ids: Vec<i64>,
    /// `assign` (with `assignee`, or `null` for nobody), `handled`,
    /// `unhandled`, `tag` and `untag` (with `tag`), `note` (with `note` and
    /// `key`), `open_task`, `reply` (with `subject` and `body`).
    #[schema(pattern = "^(assign|handled|unhandled|tag|untag|note|open_task|reply)$")]
    action: String,
    #[schema(max_length = 254)]
    assignee: Option<String>,
    #[schema(max_length = 40)]
    tag: Option<String>,
    #[schema(max_length = 5000)]
    note: Option<String>,
    /// Makes a resent note one note: the same key on the same item adds nothing.
    #[schema(max_length = 100)]
    key: Option<String>,
    #[schema(max_length = 200)]
    subject: Option<String>,
    #[schema(max_length = 20000)]
    body: Option<String>,
}

impl ActionRequest {
    fn action(self) -> Result<(Vec<FeedbackId>, vouch_app::inbox::InboxAction), ApiError> {
        use vouch_app::inbox::InboxAction;
        // Every field sent is checked, used by this action or not.
        for (field, value, most) in [
            ("assignee", &self.assignee, 254),
            ("tag", &self.tag, 40),
            ("note", &self.note, 5000),
            ("key", &self.key, 100),
            ("subject", &self.subject, 200),
            ("body", &self.body, 20_000),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > most) {
                return Err(ApiError::invalid(
                    field,
                    format!("at most {most} characters"),
                ));
            }
        }
        let need = |v: Option<String>, field: &str| {
            v.ok_or_else(|| ApiError::invalid(field, "needed by this action"))
        };
        let action = match self.action.as_str() {
            "assign" => InboxAction::Assign(self.assignee),
            "handled" => InboxAction::Handled(true),
            "unhandled" => InboxAction::Handled(false),
            "tag" => InboxAction::Tag(need(self.tag, "tag")?),
            "untag" => InboxAction::Untag(need(self.tag, "tag")?),
            "note" => InboxAction::Note {
                body: need(self.note, "note")?,
                key: need(self.key, "key")?,
            },
            "open_task" => InboxAction::OpenTask,
            "reply" => InboxAction::Reply {
                subject: need(self.subject, "subject")?,
                body: need(self.body, "body")?,
            },
            other => {
                return Err(ApiError::invalid(
                    "action",
                    format!(
                        "{other:?} is not assign, handled, unhandled, tag, untag, note, open_task or reply"
                    ),
                ));
            }
        };
        Ok((self.ids.into_iter().map(FeedbackId).collect(), action))
    }
}

/// Works feedback items, one or many at once: assign, mark handled, tag,
/// add an internal note, open a close-the-loop task, reply to the customer
/// (through the mail layer, on the item's task). Each change is a
/// `feedback.triaged` (or `task.created`) event; the same call again
/// changes nothing more.
#[utoipa::path(post, path = "/api/v1/feedback/actions", operation_id = "act_on_feedback", tag = "feedback",
    request_body = ActionRequest,
    responses((status = 200, description = "What the action did, item by item", body = vouch_app::inbox::ActionReport),
              (status = 422, description = "A bad action, assignee, tag or note; nothing changed", body = super::ErrorBody)))]
pub async fn act_on_feedback(
    caller: Api<need::WorkTasks>,
    State(state): State<AppState>,
    Body(request): Body<ActionRequest>,
) -> ApiResult<vouch_app::inbox::ActionReport> {
    let (ids, action) = request.action()?;
    match vouch_app::inbox::act(
        &state.store,
        &state.playbooks,
        &ids,
        &action,
        &caller.0.name,
    )
    .await?
    {
        Ok(report) => Ok(Json(report)),
        Err(refusal) => Err(ApiError::invalid(refusal.field, refusal.message)),
    }
}

/// An item's internal notes, oldest first.
#[utoipa::path(get, path = "/api/v1/feedback/{id}/notes", operation_id = "feedback_notes", tag = "feedback",
    params(("id" = i64, Path, description = "The feedback item")),
    responses((status = 200, description = "The notes", body = Vec<vouch_store::FeedbackNote>),
              (status = 404, description = "No such item", body = super::ErrorBody)))]
pub async fn feedback_notes(
    _: Api<need::ReadFeedback>,
    State(state): State<AppState>,
    super::Path(id): super::Path<i64>,
) -> ApiResult<Vec<vouch_store::FeedbackNote>> {
    if state.store.feedback_item(FeedbackId(id)).await?.is_none() {
        return Err(ApiError::not_found("feedback item", id));
    }
    Ok(Json(state.store.feedback_notes(FeedbackId(id)).await?))
}

/// One pushed item, for the document (the handler reads it as an import
/// line, with the same checks).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FeedbackItemInput {
    /// The text of the review, mention or ticket.
    #[schema(value_type = super::schemas::Text, inline)]
    text: String,
    /// The source's own id; without one (or blank) the content identifies the item.
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    id: Option<String>,
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    title: Option<String>,
    /// Stars, 1 to 5 (halves and other fractions too).
    #[schema(minimum = 1, maximum = 5)]
    rating: Option<f64>,
    /// When it was posted (default: now).
    #[schema(value_type = Option<super::schemas::Time>, inline)]
    date: Option<String>,
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    author: Option<String>,
    /// The author's handle on the platform.
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    handle: Option<String>,
    /// The author's address, as the source gives it: one that is not an
    /// address links the item to nobody.
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    email: Option<String>,
    /// The customer's external id.
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    customer: Option<String>,
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    url: Option<String>,
    /// The language, if the source says (`en`, `ro`, `pt-BR`); else, or
    /// when it is not a language code, it is detected.
    #[schema(value_type = Option<super::schemas::ShortField>, inline)]
    language: Option<String>,
}

/// Feedback pushed as it happens: the fields of `vouch import --format jsonl`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackPush {
    /// Where the items come from: `trustpilot`, `twitter`, `support`… (default `other`).
    #[schema(value_type = Option<super::schemas::Source>, inline)]
    source: Option<String>,
    /// Items with `text` (required), `id`, `title`, `rating` (stars 1–5),
    /// `date`, `author`, `handle`, `email`, `customer` (external id), `url`, `language`.
    /// An item without `id` is identified by its content, so a repeat adds nothing.
    #[schema(value_type = Vec<FeedbackItemInput>, min_items = 1, max_items = 1000)]
    items: Vec<Value>,
}

/// Stores feedback items with the same checks and tagging as `vouch import`.
/// Nothing is stored if any item is bad; a repeat of an item updates it.
#[utoipa::path(post, path = "/api/v1/feedback", operation_id = "push_feedback", tag = "feedback", request_body = FeedbackPush,
    responses((status = 201, description = "What was stored, item by item", body = vouch_app::records::PushReport),
              (status = 422, description = "A bad item; `field` names it, as `items[2]`", body = super::ErrorBody)))]
pub async fn push_feedback(
    _: Api<need::WriteFeedback>,
    State(state): State<AppState>,
    Body(push): Body<FeedbackPush>,
) -> Result<(StatusCode, Json<vouch_app::records::PushReport>), ApiError> {
    const MAX_ITEMS: usize = 1_000;
    if push.items.is_empty() {
        return Err(ApiError::invalid("items", "send at least one item"));
    }
    if push.items.len() > MAX_ITEMS {
        return Err(ApiError::invalid(
            "items",
            format!("at most {MAX_ITEMS} items a request; use `vouch import` for files"),
        ));
    }
    let source: Source = parse_optional("source", push.source.as_deref())?.unwrap_or(Source::Other);
    match vouch_app::records::push_feedback(&state.store, source, &push.items).await? {
        Ok(report) => Ok((StatusCode::CREATED, Json(report))),
        Err(vouch_app::records::PushRejected(rejected)) => {
            let (index, reason) = &rejected[0];
            let mut error = ApiError::invalid(format!("items[{index}]"), reason.clone());
            if rejected.len() > 1 {
                error.message = format!("{reason} (and {} more bad items)", rejected.len() - 1);
            }
            Err(error)
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponsesPage {
    /// The `next` cursor of the previous page.
    after: Option<i64>,
    /// Answers per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

super::page!(
    /// Survey answers, newest first.
    AnswerPage { responses: vouch_domain::Response }
);

/// Survey answers, newest first.
#[utoipa::path(get, path = "/api/v1/responses", operation_id = "list_responses", tag = "responses", params(ResponsesPage, AnswerFilter),
    responses((status = 200, description = "A page of answers", body = AnswerPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn list_responses(
    _: Api<need::ReadResponses>,
    State(state): State<AppState>,
    Params(page): Params<ResponsesPage>,
    Params(filter): Params<AnswerFilter>,
) -> ApiResult<AnswerPage> {
    let limit = page_size(page.limit)?;
    let responses = state
        .store
        .responses(&filter.filter()?, page.after.map(ResponseId), limit)
        .await?;
    let next = next_cursor(&responses, limit, |r| r.id.0);
    Ok(Json(AnswerPage { responses, next }))
}

/// An answer collected elsewhere.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseInput {
    /// The survey's name; it must exist.
    #[schema(value_type = super::schemas::SurveyName, inline)]
    survey: String,
    /// Who answered: Vouch id, email or external id. Omit for anonymous answers.
    customer: Option<String>,
    /// 0–10 for NPS, 1–5 for CSAT, 1–7 for CES. The named survey's kind
    /// decides, so a score the document allows but the survey does not (a 9
    /// for a CSAT survey) conflicts with the stored survey: 409.
    #[serde(deserialize_with = "super::whole_number")]
    #[schema(minimum = 0, maximum = 10)]
    score: i64,
    comment: Option<String>,
    /// `email`, `link`, `widget`, `in_app`, `api` (default) or `import`.
    #[schema(value_type = Option<super::schemas::Channel>, inline)]
    channel: Option<String>,
    #[schema(value_type = Option<super::schemas::Locale>, inline)]
    locale: Option<String>,
    /// When it was answered (default: now).
    #[schema(value_type = Option<super::schemas::Time>, inline)]
    answered_at: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Records an answer; its comment becomes tagged feedback.
#[utoipa::path(post, path = "/api/v1/responses", operation_id = "create_response", tag = "responses", request_body = ResponseInput,
    responses((status = 201, description = "The stored answer", body = vouch_domain::Response),
              (status = 409, description = "The score is outside the range of the survey's kind", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn create_response(
    _: Api<need::WriteResponses>,
    State(state): State<AppState>,
    Body(input): Body<ResponseInput>,
) -> Result<(StatusCode, Json<vouch_domain::Response>), ApiError> {
    let survey = state
        .store
        .surveys()
        .await?
        .into_iter()
        .find(|s| s.name == input.survey)
        .ok_or_else(|| ApiError::not_found("survey", format!("{:?}", input.survey)))?;
    let customer_id = match input.customer.as_deref() {
        None => None,
        Some(key) => match state.store.find_customer(key).await {
            Ok(customer) => Some(customer.id),
            Err(vouch_store::StoreError::NotFound { .. }) => {
                return Err(ApiError::not_found("customer", format!("{key:?}")));
            }
            Err(e) => return Err(e.into()),
        },
    };
    let answer = Answer {
        survey_id: survey.id,
        customer_id,
        score: Score::new(survey.kind, input.score).map_err(|e| {
            let (min, max) = Score::ANY_KIND;
            if (i64::from(min)..=i64::from(max)).contains(&input.score) {
                ApiError::conflict("score", e.to_string())
            } else {
                ApiError::invalid("score", e.to_string())
            }
        })?,
        comment: input.comment.filter(|c| !c.trim().is_empty()),
        channel: parse_optional("channel", input.channel.as_deref())?.unwrap_or(Channel::Api),
        locale: input
            .locale
            .as_deref()
            .map(Locale::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("locale", e.to_string()))?,
        answered_at: time("answered_at", input.answered_at.as_deref())?
            .unwrap_or_else(chrono::Utc::now),
        metadata: input.metadata,
    };
    let ids = vouch_app::records::record_answers(&state.store, &[answer]).await?;
    let stored = state
        .store
        .response(ids[0])
        .await?
        .ok_or_else(|| ApiError::not_found("response", ids[0].0))?;
    Ok((StatusCode::CREATED, Json(stored)))
}
