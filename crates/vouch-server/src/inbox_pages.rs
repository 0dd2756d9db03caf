//! The inbox: `/feedback` lists every item with its filters and full-text
//! search in the URL, the total, cursor paging and saved views; ticked
//! items are worked in bulk, one item on its own page (`/feedback/{id}`);
//! any view exports as CSV or JSON. Same use case (`vouch_app::inbox::act`)
//! and same filter as `/api/v1/feedback`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use vouch_app::inbox::{ActionReport, InboxAction};
use vouch_domain::{FeedbackId, FeedbackItem, Permission, SentimentLabel};
use vouch_store::{FeedbackNote, SavedView, Triage};

use crate::AppState;
use crate::api::records::{FeedbackQuery, feedback_filter};
use crate::auth::{Caller, Page, need};
use crate::edge::Form;
use crate::error::PageError;
use crate::locale::{Ui, texts};
use crate::pages::{render, shown};

/// Items on one page of the inbox.
const INBOX_ROWS: u32 = 50;

/// One item as the inbox shows it; askama escapes every field.
struct Row {
    id: i64,
    posted: String,
    source: String,
    author: String,
    /// The customer's profile, when the item is linked to one.
    customer: Option<i64>,
    /// Their category now (`promoter`…), when they have one.
    category: &'static str,
    rating: String,
    /// The 0–10 score of a survey comment.
    score: String,
    /// `positive`, `neutral`, `negative` (a colour and a word), and the number.
    sentiment_label: &'static str,
    sentiment: String,
    /// Each topic with its own sentiment.
    topics: Vec<(String, String)>,
    title: String,
    body: String,
    assignee: String,
    handled: bool,
    tags: Vec<String>,
    notes: u64,
}

fn label(sentiment: Option<f64>) -> &'static str {
    sentiment.map_or("", |s| SentimentLabel::of(s).as_str())
}

fn row(item: FeedbackItem, triage: Triage, category: &'static str) -> Row {
    let f = item.feedback;
    Row {
        id: item.id.0,
        posted: f.posted_at.format("%Y-%m-%d").to_string(),
        source: f.source.to_string(),
        author: shown(&f.author.name.or(f.author.handle).unwrap_or_default()),
        customer: f.customer_id.map(|c| c.0),
        category,
        rating: f
            .rating
            .map_or(String::new(), |r| format!("{}★", r.as_stars())),
        score: triage.score.map_or(String::new(), |s| s.to_string()),
        sentiment_label: label(f.sentiment),
        sentiment: f.sentiment.map_or(String::new(), |s| format!("{s:+.2}")),
        topics: f
            .topics
            .iter()
            .map(|m| (m.topic.clone(), format!("{:+.2}", m.sentiment)))
            .collect(),
        title: shown(&f.title.unwrap_or_default()),
        body: shown(&f.body),
        assignee: triage.assignee.unwrap_or_default(),
        handled: triage.handled_at.is_some(),
        tags: triage.tags.iter().map(|t| shown(t)).collect(),
        notes: triage.notes,
    }
}

#[derive(Template)]
#[template(path = "feedback.html")]
struct InboxPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    items: Vec<Row>,
    total: u64,
    /// At least `COUNT_CAP` match: the total is shown as "10000+".
    capped: bool,
    /// The newest items a search cannot find yet: a large import still
    /// being indexed in the background (see `vouch_app::search`).
    unsearched: u64,
    /// The filters as sent, to fill the form again.
    q: FeedbackQuery,
    /// The same, as a query string (links, exports, the bulk form's return).
    query: String,
    sources: Vec<&'static str>,
    surveys: Vec<(i64, String)>,
    staff: Vec<String>,
    views: Vec<SavedView>,
    error: Option<String>,
    /// What the last action did: changed, unchanged, refused.
    done: Option<(u64, u64, u64)>,
    /// The next page's address, when there is one.
    next: Option<String>,
    /// A fresh key for the bulk note (a resent form adds it once).
    note_key: String,
    may_work: bool,
    may_export: bool,
}

impl InboxPage {
    /// A filter's value as sent, for the form.
    fn value<'a>(&self, field: &'a Option<String>) -> &'a str {
        field.as_deref().unwrap_or("")
    }

    fn survey_selected(&self, id: &i64) -> bool {
        self.q.survey == Some(*id)
    }
}

/// The page's query: the filters, and what the last action reported
/// (`changed`, `unchanged`, `refused`), which are not filters.
fn split_query(raw: Option<&str>) -> (FeedbackQuery, Option<(u64, u64, u64)>, Option<String>) {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let mut done = None;
    let mut filters = Vec::new();
    for (k, v) in pairs {
        let n = v.parse::<u64>().unwrap_or(0);
        match k.as_str() {
            "changed" => done.get_or_insert((0, 0, 0)).0 = n,
            "unchanged" => done.get_or_insert((0, 0, 0)).1 = n,
            "refused" => done.get_or_insert((0, 0, 0)).2 = n,
            _ if !v.trim().is_empty() => filters.push((k, v)),
            _ => {}
        }
    }
    let encoded = serde_urlencoded::to_string(&filters).unwrap_or_default();
    match serde_urlencoded::from_str::<FeedbackQuery>(&encoded) {
        Ok(q) => (q.given(), done, None),
        Err(e) => (FeedbackQuery::default(), done, Some(e.to_string())),
    }
}

/// The filters of `q` as a query string, without the cursor.
fn filters_of(q: &FeedbackQuery) -> String {
    let mut q = q.clone();
    q.after = None;
    q.limit = None;
    serde_urlencoded::to_string(&q).unwrap_or_default()
}

/// `GET /feedback`: the inbox, newest first, filtered in the URL (search,
/// source, language, sentiment, topic, category, survey, segment, stars,
/// handled, assignee, tag, dates) and paged by cursor, with the total; a
/// bad filter is said above an empty list (422).
pub async fn inbox(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadFeedback>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let (lang, t) = texts(&headers);
    let (mut q, done, bad_query) = split_query(raw.as_deref());
    let after = q.after.take();
    let filter = match bad_query {
        Some(e) => Err(e),
        None => feedback_filter(&q)
            .map_err(|e| format!("{}: {}", e.field.unwrap_or_default(), e.message)),
    };
    let (found, total, unsearched, error) = match filter {
        Ok(filter) => {
            let unsearched = match vouch_app::search::before_searching(&state.store, &filter).await
            {
                Ok(n) => n,
                Err(e) => return PageError::from(e).into_response(),
            };
            let items = state
                .store
                .feedback(&filter, after.map(FeedbackId), INBOX_ROWS + 1)
                .await;
            let total = state.store.count_matching_feedback(&filter).await;
            match (items, total) {
                (Ok(items), Ok(total)) => (items, total, unsearched, None),
                (Err(e), _) | (_, Err(e)) => return PageError::from(e).into_response(),
            }
        }
        Err(e) => (Vec::new(), 0, 0, Some(e)),
    };
    let (found, last) = crate::api::fetched_page(found, INBOX_ROWS, |i| i.id.0);
    let query = filters_of(&q);
    let next = last.map(|last| format!("/feedback?{query}&after={last}"));
    let rows = match rows_of(&state, found).await {
        Ok(rows) => rows,
        Err(e) => return e.into_response(),
    };
    let (surveys, staff, views) = match choices(&state, &caller).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let page = render(InboxPage {
        lang,
        ui: Ui(t),
        may_work: caller.may(Permission::WorkTasks),
        may_export: caller.may(Permission::Export),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        items: rows,
        capped: total >= vouch_store::COUNT_CAP,
        total,
        unsearched,
        q,
        query,
        sources: vouch_domain::Source::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        surveys,
        staff,
        views,
        error: error.clone(),
        done,
        next,
        note_key: vouch_app::secrets::new_secret(),
    });
    if error.is_some() {
        let mut page = page;
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return page;
    }
    page
}

/// Rows for the items, with their triage and their customers' categories.
async fn rows_of(state: &AppState, items: Vec<FeedbackItem>) -> Result<Vec<Row>, PageError> {
    let ids: Vec<FeedbackId> = items.iter().map(|i| i.id).collect();
    let mut triage = state.store.triage_of(&ids).await?;
    let customers = items
        .iter()
        .filter_map(|i| i.feedback.customer_id)
        .collect();
    let categories = state.store.categories_of(&customers).await?;
    Ok(items
        .into_iter()
        .map(|item| {
            let category = item
                .feedback
                .customer_id
                .and_then(|c| categories.get(&c).copied().flatten())
                .map_or("", |a| a.category.as_str());
            let t = triage.remove(&item.id).unwrap_or_default();
            row(item, t, category)
        })
        .collect())
}

type Choices = (Vec<(i64, String)>, Vec<String>, Vec<SavedView>);

/// The surveys and active staff the filters offer, and the caller's views.
async fn choices(state: &AppState, caller: &Caller) -> Result<Choices, PageError> {
    let surveys = state
        .store
        .surveys()
        .await?
        .into_iter()
        .map(|s| (s.id.0, shown(&s.name)))
        .collect();
    let staff = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| u.email)
        .collect();
    let views = match state.store.user_by_email(&caller.name).await? {
        Some(user) => state.store.saved_views(user.id).await?,
        None => Vec::new(),
    };
    Ok((surveys, staff, views))
}

/// The action a form asks for; `None` for an unknown one.
fn form_action(form: &HashMap<String, String>) -> Option<InboxAction> {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    Some(match form.get("action")?.as_str() {
        "assign" => InboxAction::Assign(Some(field("assignee")).filter(|a| !a.trim().is_empty())),
        "handled" => InboxAction::Handled(true),
        "unhandled" => InboxAction::Handled(false),
        "tag" => InboxAction::Tag(field("tag")),
        "untag" => InboxAction::Untag(field("tag")),
        "note" => InboxAction::Note {
            body: field("note"),
            key: field("key"),
        },
        "open_task" => InboxAction::OpenTask,
        "reply" => InboxAction::Reply {
            subject: field("subject"),
            body: field("body"),
        },
        _ => return None,
    })
}

/// `POST /feedback/act`: one action on the ticked items (`item_ID=on`) or
/// on one item (`ids=ID`), then back to the same view (or item page)
/// with what it did. A refused action (an unknown assignee, an empty
/// note) is a 422 page naming the field; nothing changed.
pub async fn act(
    State(state): State<AppState>,
    Page(caller, _): Page<need::WorkTasks>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let Some(action) = form_action(&form) else {
        return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_action").into_response();
    };
    let mut ids: Vec<FeedbackId> = form
        .keys()
        .filter_map(|k| k.strip_prefix("item_"))
        .filter_map(|id| id.parse().ok())
        .map(FeedbackId)
        .collect();
    if let Some(id) = form.get("ids").and_then(|i| i.parse().ok()) {
        ids.push(FeedbackId(id));
    }
    let report: ActionReport =
        match vouch_app::inbox::act(&state.store, &state.playbooks, &ids, &action, &caller.name)
            .await
        {
            Ok(Ok(report)) => report,
            Ok(Err(refusal)) => {
                // The page names the field in the reader's language.
                let key = match refusal.field {
                    "assignee" => "refused_assignee",
                    "tag" => "refused_tag",
                    "note" | "key" => "refused_note",
                    "subject" | "body" => "refused_reply",
                    _ => "refused_items_bulk",
                };
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, key).into_response();
            }
            Err(e) => return PageError::from(e).into_response(),
        };
    let counts = format!(
        "changed={}&unchanged={}&refused={}",
        report.changed.len(),
        report.unchanged.len(),
        report.refused.len()
    );
    let back = form.get("back").cloned().unwrap_or_default();
    match back
        .strip_prefix("item:")
        .and_then(|i| i.parse::<i64>().ok())
    {
        Some(item) => Redirect::to(&format!("/feedback/{item}?{counts}")).into_response(),
        None => Redirect::to(&format!("/feedback?{back}&{counts}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "feedback_item.html")]
struct ItemPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    item: Row,
    url: String,
    language: String,
    notes: Vec<(String, String, String)>,
    /// The item's open task, if any.
    task: Option<i64>,
    staff: Vec<String>,
    done: Option<(u64, u64, u64)>,
    note_key: String,
    may_work: bool,
}

/// `GET /feedback/{id}`: one item with its customer, triage, notes and
/// every action; 404 (an HTML page) when there is no such item.
pub async fn show_item(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadFeedback>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (lang, t) = texts(&headers);
    let Some(item) = (match state.store.feedback_item(FeedbackId(id)).await {
        Ok(item) => item,
        Err(e) => return PageError::from(e).into_response(),
    }) else {
        return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response();
    };
    let url = item.feedback.url.clone().unwrap_or_default();
    let language = item.feedback.language.clone().unwrap_or_default();
    let (_, done, _) = split_query(raw.as_deref());
    let notes: Vec<FeedbackNote> = match state.store.feedback_notes(FeedbackId(id)).await {
        Ok(n) => n,
        Err(e) => return PageError::from(e).into_response(),
    };
    let task = match state.store.open_task_on("feedback", id).await {
        Ok(t) => t.map(|t| t.id),
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut rows = match rows_of(&state, vec![item]).await {
        Ok(rows) => rows,
        Err(e) => return e.into_response(),
    };
    let (_, staff, _) = match choices(&state, &caller).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(row) = rows.pop() else {
        return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response();
    };
    render(ItemPage {
        lang,
        ui: Ui(t),
        may_work: caller.may(Permission::WorkTasks),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        item: row,
        url: if url.starts_with("https://") || url.starts_with("http://") {
            url
        } else {
            String::new()
        },
        language,
        notes: notes
            .into_iter()
            .map(|n| {
                (
                    n.at.format("%Y-%m-%d %H:%M").to_string(),
                    n.author,
                    shown(&n.body),
                )
            })
            .collect(),
        task,
        staff,
        done,
        note_key: vouch_app::secrets::new_secret(),
    })
}

/// `GET /feedback/export?format=csv|json&…`: the view, streamed.
pub async fn export(
    State(state): State<AppState>,
    Page(_, _): Page<need::Export>,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let format = pairs
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.clone());
    let (q, _, bad) = split_query(raw.as_deref());
    let filter = match (bad, feedback_filter(&q)) {
        (None, Ok(filter)) => filter,
        _ => return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_filter").into_response(),
    };
    if let Err(e) = vouch_app::search::before_searching(&state.store, &filter).await {
        return PageError::from(e).into_response();
    }
    match crate::api::export::Format::parse(format.as_deref()) {
        Ok(format) => crate::api::export::export_response(state.store.clone(), filter, format),
        Err(_) => PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_filter").into_response(),
    }
}

/// `POST /feedback/views`: saves the current filters under a name (the
/// same name replaces them); `POST /feedback/views/{id}/delete` removes one.
pub async fn save_view(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadFeedback>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let name = form.get("name").map_or("", |n| n.trim());
    let query = form.get("query").map_or("", |q| q.trim());
    if name.is_empty() || name.chars().count() > 60 || query.len() > 2000 {
        return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "view_name").into_response();
    }
    // Only filters are kept: a view is read back through the same checks.
    let (q, _, _) = split_query(Some(query));
    let query = filters_of(&q);
    match state.store.user_by_email(&caller.name).await {
        Ok(Some(user)) => {
            if let Err(e) = state.store.save_view(user.id, name, &query).await {
                return PageError::from(e).into_response();
            }
        }
        Ok(None) => return PageError::new(StatusCode::FORBIDDEN, "forbidden").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    }
    Redirect::to(&format!("/feedback?{query}")).into_response()
}

pub async fn delete_view(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadFeedback>,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    match state.store.user_by_email(&caller.name).await {
        Ok(Some(user)) => {
            if let Err(e) = state.store.delete_view(user.id, id).await {
                return PageError::from(e).into_response();
            }
        }
        Ok(None) => return PageError::new(StatusCode::FORBIDDEN, "forbidden").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    }
    Redirect::to("/feedback").into_response()
}
