//! The errors handlers answer with, in one place: `ApiError`, JSON for the
//! API; `PageError`, an HTML page in the reader's language for everything
//! else. A page handler returns a `PageError` with a text key; the
//! `localize_errors` middleware, which sees the request's language, writes
//! the page. So a database error on a page is a page, never JSON.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;
use vouch_store::StoreError;

use crate::locale::{Ui, texts};

/// An API error with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    /// 422: a value the caller sent is not acceptable.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// 409: a value that is valid on its own but not against a stored
    /// record (a score outside the range of the named survey's kind).
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn not_found(what: &str, key: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("no {what} {key}"),
            field: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": shown(&self.message) });
        if let Some(field) = self.field {
            error["field"] = json!(shown(&field));
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        ) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("10"),
            );
        }
        response
    }
}

/// The longest message an error body carries, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// A message as the caller sees it: messages quote what was sent, so a
/// megabyte of input is cut (with an ellipsis) rather than echoed, and a
/// control character in it is shown as `\u{..}`.
fn shown(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS * 4));
    for (i, c) in message.chars().enumerate() {
        if i == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        if vouch_domain::text::is_forbidden_control(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { what, key } => ApiError::not_found(what, key),
            e if e.is_unique_violation() => ApiError {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: "another record already has this email or external id".to_owned(),
                field: None,
            },
            e if e.is_unavailable_for_writes() => {
                tracing::warn!(error = %e, "the database refused a write");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "unavailable",
                    message: "the database cannot take writes now (disk full, read-only or busy); \
                              nothing was stored: try again later"
                        .to_owned(),
                    field: None,
                }
            }
            other => {
                // The details go to the log, not to the caller.
                tracing::error!(error = %other, "store error");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the database could not answer; see the server log".to_owned(),
                    field: None,
                }
            }
        }
    }
}

impl From<vouch_app::AppError> for ApiError {
    fn from(e: vouch_app::AppError) -> ApiError {
        match e {
            vouch_app::AppError::Store(e) => e.into(),
            vouch_app::AppError::Refused(message) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "refused",
                message,
                field: None,
            },
            vouch_app::AppError::Conflict(message) => ApiError {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message,
                field: None,
            },
        }
    }
}

/// A page that could not be served: its status and the locale key of what
/// to tell the reader.
#[derive(Debug, Clone, Copy)]
pub struct PageError {
    pub status: StatusCode,
    pub key: &'static str,
}

impl PageError {
    pub fn new(status: StatusCode, key: &'static str) -> PageError {
        PageError { status, key }
    }
}

/// Marks a response whose page `localize_errors` writes.
#[derive(Debug, Clone, Copy)]
struct ErrorPage(&'static str);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorPage(self.key));
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response
    }
}

/// A store error is judged once, by `ApiError`'s rules (and logged there);
/// the page says the same in the reader's words.
impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        ApiError::from(e).into()
    }
}

/// An API error's status, as a page: for store errors and for the helpers
/// pages share with the API (sessions, the audit log).
impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        let key = match e.status {
            StatusCode::SERVICE_UNAVAILABLE => "error_unavailable",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => "forbidden",
            StatusCode::CONFLICT => "error_conflict",
            s if s.is_server_error() => "error_internal",
            _ => "error_refused",
        };
        PageError::new(e.status, key)
    }
}

impl From<vouch_app::AppError> for PageError {
    fn from(e: vouch_app::AppError) -> PageError {
        match e {
            vouch_app::AppError::Store(e) => e.into(),
            vouch_app::AppError::Refused(message) => {
                tracing::info!(%message, "a page request was refused");
                PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
            }
            vouch_app::AppError::Conflict(message) => {
                tracing::info!(%message, "a page request clashed with what is stored");
                PageError::new(StatusCode::CONFLICT, "error_conflict")
            }
        }
    }
}

/// Writes the page of every `PageError` in the language the request asks
/// for (`Accept-Language`, else English).
pub async fn localize_errors(request: Request, next: Next) -> Response {
    let (lang, t) = texts(request.headers());
    let mut response = next.run(request).await;
    let Some(ErrorPage(key)) = response.extensions().get::<ErrorPage>().copied() else {
        return response;
    };
    let ui = Ui(t);
    let status = response.status();
    let page = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{code} · Vouch</title><link rel=\"stylesheet\" href=\"/assets/public.css\"></head>\
         <body><main><h1>{code}</h1><p>{text}</p><p><a href=\"/\">{home}</a></p></main></body></html>",
        code = status.as_u16(),
        text = ui.t(key),
        home = ui.t("error_home"),
    );
    let headers = std::mem::take(response.headers_mut());
    let mut page = (status, Html(page)).into_response();
    for (name, value) in &headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}
