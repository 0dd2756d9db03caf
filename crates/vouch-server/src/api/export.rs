//! `GET /api/v1/feedback/export` (and the inbox's export links): any
//! filtered view of the inbox as CSV or JSON, streamed a thousand items at
//! a time, so a million rows never sit in memory.

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use utoipa::IntoParams;
use vouch_domain::FeedbackId;
use vouch_store::{FeedbackFilter, Store};

use super::records::{FeedbackQuery, InboxItem, feedback_filter, with_triage};
use super::{ApiError, Params};
use crate::AppState;
use crate::auth::{Api, need};

/// Items read per step of the stream.
const CHUNK: u32 = 1000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormat {
    /// `csv` (the default) or `json` (one array).
    #[param(pattern = "^(csv|json)$")]
    format: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
}

impl Format {
    pub(crate) fn parse(raw: Option<&str>) -> Result<Format, ApiError> {
        match raw {
            None | Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some(other) => Err(ApiError::invalid(
                "format",
                format!("{other:?} is not csv or json"),
            )),
        }
    }
}

/// The columns of a CSV export, in order.
const CSV_COLUMNS: &[&str] = &[
    "id",
    "posted_at",
    "source",
    "source_id",
    "customer_id",
    "author",
    "stars",
    "score",
    "title",
    "body",
    "language",
    "sentiment",
    "sentiment_label",
    "topics",
    "url",
    "assignee",
    "handled_at",
    "tags",
];

/// A text cell a spreadsheet cannot run: one starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return is prefixed with `'` (OWASP's advice on
/// CSV injection). Customer text is hostile input.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn csv_record(row: &InboxItem) -> Vec<String> {
    let f = &row.item.feedback;
    let t = &row.triage;
    vec![
        row.item.id.0.to_string(),
        f.posted_at.to_rfc3339(),
        f.source.to_string(),
        cell(&f.source_id),
        f.customer_id.map(|c| c.0.to_string()).unwrap_or_default(),
        cell(
            f.author
                .name
                .as_deref()
                .or(f.author.handle.as_deref())
                .unwrap_or(""),
        ),
        f.rating
            .map(|r| r.as_stars().to_string())
            .unwrap_or_default(),
        t.score.map(|s| s.to_string()).unwrap_or_default(),
        cell(f.title.as_deref().unwrap_or("")),
        cell(&f.body),
        f.language.clone().unwrap_or_default(),
        f.sentiment.map(|s| format!("{s:.4}")).unwrap_or_default(),
        f.sentiment
            .map(|s| vouch_domain::SentimentLabel::of(s).as_str().to_owned())
            .unwrap_or_default(),
        f.topics
            .iter()
            .map(|m| format!("{}:{:.2}", m.topic, m.sentiment))
            .collect::<Vec<_>>()
            .join("; "),
        cell(f.url.as_deref().unwrap_or("")),
        t.assignee.clone().unwrap_or_default(),
        t.handled_at.map(|h| h.to_rfc3339()).unwrap_or_default(),
        cell(&t.tags.join("; ")),
    ]
}

fn csv_line(fields: &[impl AsRef<[u8]>]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(fields);
    writer.into_inner().unwrap_or_default()
}

/// Where the stream is.
struct Cursor {
    store: Store,
    filter: FeedbackFilter,
    format: Format,
    after: Option<FeedbackId>,
    started: bool,
    done: bool,
}

/// The next chunk of the export: the header (or `[`) first, then a
/// thousand items at a time, then `]` for JSON.
async fn next_chunk(mut c: Cursor) -> Option<(Result<Vec<u8>, std::io::Error>, Cursor)> {
    if c.done {
        return None;
    }
    let mut out = Vec::new();
    if !c.started {
        c.started = true;
        match c.format {
            Format::Csv => out.extend(csv_line(CSV_COLUMNS)),
            Format::Json => out.push(b'['),
        }
    }
    let items = match c.store.feedback(&c.filter, c.after, CHUNK).await {
        Ok(items) => items,
        Err(e) => {
            tracing::error!(error = %e, "a feedback export stopped");
            c.done = true;
            return Some((Err(std::io::Error::other("the export stopped")), c));
        }
    };
    let full = items.len() == CHUNK as usize;
    let first_page = c.after.is_none();
    c.after = items.last().map(|i| i.id);
    let rows = match with_triage(&c.store, items).await {
        Ok(rows) => rows,
        Err(_) => {
            c.done = true;
            return Some((Err(std::io::Error::other("the export stopped")), c));
        }
    };
    for (n, row) in rows.iter().enumerate() {
        match c.format {
            Format::Csv => out.extend(csv_line(&csv_record(row))),
            Format::Json => {
                if n > 0 || !first_page {
                    out.push(b',');
                }
                out.push(b'\n');
                // An item always serialises.
                let _ = serde_json::to_writer(&mut out, row);
            }
        }
    }
    if !full {
        c.done = true;
        if c.format == Format::Json {
            out.extend(b"\n]\n");
        }
    }
    Some((Ok(out), c))
}

/// The streamed response of an export of `filter`.
pub(crate) fn export_response(store: Store, filter: FeedbackFilter, format: Format) -> Response {
    let cursor = Cursor {
        store,
        filter,
        format,
        after: None,
        started: false,
        done: false,
    };
    let body = HttpBody::from_stream(stream::unfold(cursor, next_chunk));
    let (kind, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "feedback.csv"),
        Format::Json => ("application/json", "feedback.json"),
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Every item that matches the filters (those of `GET /api/v1/feedback`),
/// newest first, as CSV (a header row, then one row per item; cells a
/// spreadsheet would run as a formula are prefixed with `'`) or as one
/// JSON array of the items `GET /api/v1/feedback` lists. Streamed.
#[utoipa::path(get, path = "/api/v1/feedback/export", operation_id = "export_feedback", tag = "feedback",
    params(FeedbackQuery, ExportFormat),
    responses((status = 200, description = "The items, as CSV or JSON", content(
                  (String = "text/csv"),
                  (Vec<InboxItem> = "application/json"))),
              (status = 422, description = "A bad filter or format", body = super::ErrorBody)))]
pub async fn export_feedback(
    _: Api<need::Export>,
    State(state): State<AppState>,
    Params(q): Params<FeedbackQuery>,
    Params(f): Params<ExportFormat>,
) -> Result<Response, ApiError> {
    let format = Format::parse(f.format.as_deref())?;
    // The list's query, paging included: checked alike, though the export
    // streams every match.
    super::page_size(q.limit)?;
    let filter = feedback_filter(&q)?;
    vouch_app::search::before_searching(&state.store, &filter).await?;
    Ok(export_response(state.store.clone(), filter, format))
}
