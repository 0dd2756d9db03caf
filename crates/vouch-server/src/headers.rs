//! The security headers of every response, set in one place (ASVS 3.4):
//! a content security policy, no MIME sniffing, a referrer policy, no
//! caching of anything personal, and HSTS over https.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Pages a customer reaches from an email or a link, whose URL carries a
/// token or identifies them: no referrer leaves them.
fn is_customer_page(path: &str) -> bool {
    ["/s/", "/l/", "/u/", "/portal"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// The policy: only our own scripts, styles and frames; images also over
/// https (a company's logo); no plugins, no `<base>`, forms only to us.
/// `/l/` pages may be framed by `embed_origins` (the widget).
fn content_security_policy(path: &str, embed_origins: &[String]) -> String {
    let ancestors = if path.starts_with("/l/") && !embed_origins.is_empty() {
        embed_origins.join(" ")
    } else {
        "'none'".to_owned()
    };
    format!(
        "default-src 'self'; img-src 'self' https: data:; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {ancestors}"
    )
}

pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(policy) =
        HeaderValue::from_str(&content_security_policy(&path, &state.web.embed_origins))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if is_customer_page(&path) {
            "no-referrer"
        } else {
            "strict-origin-when-cross-origin"
        }),
    );
    // Anything not marked cacheable by its handler (stylesheets, the
    // widget script) is personal or signed-in: never kept by a cache.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if state.web.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_link_pages_may_be_framed_and_only_by_the_embedding_origins() {
        let origins = vec!["https://www.acme.example".to_owned()];
        assert!(content_security_policy("/", &origins).ends_with("frame-ancestors 'none'"));
        assert!(
            content_security_policy("/l/x", &origins)
                .ends_with("frame-ancestors https://www.acme.example")
        );
        assert!(content_security_policy("/l/x", &[]).ends_with("frame-ancestors 'none'"));
        for directive in ["default-src 'self'", "object-src 'none'", "base-uri 'none'"] {
            assert!(content_security_policy("/s/t", &[]).contains(directive));
        }
    }
}
