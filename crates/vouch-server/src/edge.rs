//! What every request passes before a handler sees it: control
//! characters never get past the edge (PostgreSQL refuses NUL, so one
//! `%00` was a 500 on PostgreSQL and stored text on SQLite), the same on
//! both backends. JSON bodies are checked by `api::Body`.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// A form body with every control character but tab and line breaks
/// stripped from its values (a customer's answer is kept, not refused).
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let cleaned: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(key, value)| {
                let clean = |s: String| vouch_domain::text::without_controls(&s).into_owned();
                (clean(key), clean(value))
            })
            .collect();
        let encoded = serde_urlencoded::to_string(&cleaned)
            .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()).into_response())?;
        serde_urlencoded::from_str(&encoded).map(Form).map_err(|e| {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("bad form: {e}")).into_response()
        })
    }
}

/// Whether a raw URL part holds a percent-encoded control character
/// (`%00`–`%1F`, `%7F`) or a raw one.
fn has_encoded_control(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().any(|b| b.is_ascii_control())
        || bytes.windows(3).any(|w| {
            w[0] == b'%'
                && matches!(
                    (w[1], w[2].to_ascii_uppercase()),
                    (b'0' | b'1', b'0'..=b'9' | b'A'..=b'F') | (b'7', b'F')
                )
        })
}

/// Refuses a request whose path or query holds a control character: 400,
/// as the API's JSON error under `/api/`, as a short page elsewhere.
pub async fn refuse_controls_in_url(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let bad = has_encoded_control(uri.path()) || uri.query().is_some_and(has_encoded_control);
    if !bad {
        return next.run(request).await;
    }
    if uri.path().starts_with("/api/") {
        return crate::api::ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: "control characters (such as %00) are not accepted in a URL".to_owned(),
            field: None,
        }
        .into_response();
    }
    let (_, t) = crate::locale::texts(request.headers());
    let message = crate::pages::Ui(t).t("bad_url");
    (
        StatusCode::BAD_REQUEST,
        axum::response::Html(format!("<!doctype html><title>400</title><p>{message}</p>")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_controls_are_found_and_ordinary_escapes_pass() {
        for bad in ["/l/%00", "q=a%0a", "q=%1F", "q=%7f", "/x\u{1}"] {
            assert!(has_encoded_control(bad), "{bad}");
        }
        for good in [
            "/l/relationship-2026",
            "q=%20caf%C3%A9",
            "q=%2F%41",
            "q=%7E",
        ] {
            assert!(!has_encoded_control(good), "{good}");
        }
    }
}
