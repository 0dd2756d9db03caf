//! What every request passes before a handler sees it: control
//! characters never get past the edge (PostgreSQL refuses NUL, so one
//! `%00` was a 500 on PostgreSQL and stored text on SQLite), the same on
//! both backends (JSON bodies are checked by `api::Body`), and no form
//! comes from another site.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode};
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
/// (`%00`–`%1F`, `%7F`, and the C1 controls U+0080–U+009F as their UTF-8
/// `%C2%80`–`%C2%9F`, which the API's text checks refuse too) or a raw one.
fn has_encoded_control(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let hex = |b: u8| b.is_ascii_hexdigit();
    bytes.iter().any(|b| b.is_ascii_control())
        || bytes.windows(3).any(|w| {
            w[0] == b'%'
                && matches!(
                    (w[1], w[2].to_ascii_uppercase()),
                    (b'0' | b'1', b'0'..=b'9' | b'A'..=b'F') | (b'7', b'F')
                )
        })
        || bytes.windows(6).any(|w| {
            w[0] == b'%'
                && w[1..3].eq_ignore_ascii_case(b"C2")
                && w[3] == b'%'
                && matches!(w[4], b'8' | b'9')
                && hex(w[5])
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
    crate::error::PageError::new(StatusCode::BAD_REQUEST, "bad_url").into_response()
}

/// Whether a browser says this request comes from another site: its
/// `Sec-Fetch-Site` is neither `same-origin` nor `none` (typed or
/// bookmarked), or, from browsers that do not send that, its `Origin` is
/// not this server's own. Requests without either header (mail clients'
/// one-click unsubscribe, scripts) are no browser's cross-site form.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (None, _) => false,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_none_or(|(_, authority)| !authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => true,
    }
}

/// Refuses a form posted from another site (login CSRF among them: a
/// foreign page could otherwise sign a victim in to the attacker's
/// account with a cookie and field pair of its choosing). The API has its
/// own defence, the `x-csrf-token` header a foreign page cannot set.
pub async fn refuse_cross_site_forms(request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !unsafe_method
        || request.uri().path().starts_with("/api/")
        || !is_cross_site(request.headers())
    {
        return next.run(request).await;
    }
    crate::error::PageError::new(StatusCode::FORBIDDEN, "cross_site").into_response()
}

/// 404 for a path no route serves: the API's JSON error under `/api/`, a
/// page in the visitor's language elsewhere.
pub async fn not_found(request: Request) -> Response {
    refusal(
        &request,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such page or resource",
    )
}

/// 405 for a method a route does not take.
pub async fn method_not_allowed(request: Request) -> Response {
    refusal(
        &request,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed here",
    )
}

fn refusal(request: &Request, status: StatusCode, key: &'static str, message: &str) -> Response {
    if request.uri().path().starts_with("/api/") {
        return crate::api::ApiError {
            status,
            code: key,
            message: message.to_owned(),
            field: None,
        }
        .into_response();
    }
    crate::error::PageError::new(status, key).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_posts_are_told_from_our_own() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        let host = ("host", "vouch.example.com");
        assert!(!is_cross_site(&headers(&[host])), "no browser headers");
        assert!(!is_cross_site(&headers(&[
            host,
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(is_cross_site(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(is_cross_site(&headers(&[
            host,
            ("sec-fetch-site", "same-site")
        ])));
        assert!(!is_cross_site(&headers(&[
            host,
            ("origin", "https://vouch.example.com")
        ])));
        assert!(is_cross_site(&headers(&[
            host,
            ("origin", "https://evil.example")
        ])));
        assert!(is_cross_site(&headers(&[host, ("origin", "null")])));
    }

    proptest::proptest! {
        /// The public pages' forms: any body either fails to parse or
        /// comes out with no control character left, and any URL a
        /// control character could hide in is caught.
        #[test]
        fn no_control_character_passes_a_form_or_a_url(body in "[a-z=&%0-9A-F+\\x00-\\x1f]{0,80}") {
            if let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(&body) {
                for (key, value) in pairs {
                    let clean = vouch_domain::text::without_controls(&value);
                    proptest::prop_assert!(!clean.chars().any(vouch_domain::text::is_forbidden_control));
                    let decoded_has_control = key.chars().chain(value.chars()).any(|c| c.is_ascii_control());
                    if decoded_has_control {
                        proptest::prop_assert!(has_encoded_control(&body));
                    }
                }
            }
        }
    }

    #[test]
    fn encoded_controls_are_found_and_ordinary_escapes_pass() {
        for bad in [
            "/l/%00",
            "q=a%0a",
            "q=%1F",
            "q=%7f",
            "/x\u{1}",
            "attribute=%C2%9Dqs%C2%A7%3D",
            "q=%c2%80",
        ] {
            assert!(has_encoded_control(bad), "{bad}");
        }
        for good in [
            "/l/relationship-2026",
            "q=%20caf%C3%A9",
            "q=%2F%41",
            "q=%7E",
            "q=%C2%A7%C2%A0",
            "q=%C3%A9",
        ] {
            assert!(!has_encoded_control(good), "{good}");
        }
    }
}
