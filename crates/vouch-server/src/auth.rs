//! Who is calling: a staff session (cookie) or an API token (bearer), and
//! what their role lets them do. Secrets are kept only as hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use vouch_domain::{Permission, Role};

use crate::AppState;
use crate::api::ApiError;

/// A session ends this long after sign-in however it is used (ASVS 7.3.2)…
pub const SESSION_HOURS: i64 = 12;
/// …and after this long without a request (ASVS 7.3.1).
pub const SESSION_IDLE_MINUTES: i64 = 30;
/// The header that carries the session's CSRF token on API writes from a browser.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An Argon2id hash (PHC string) of `password`, with a random salt.
pub fn hash_password(password: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters hashes any password")
        .to_string()
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

pub use vouch_app::secrets::{new_secret, secret_hash};

/// A new API token (shown once) and the hash to store.
pub fn new_api_token() -> (String, String) {
    let token = format!("vch_{}", new_secret());
    let hash = secret_hash(&token);
    (token, hash)
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A signed-in staff member or an API token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's email or the token's name.
    pub name: String,
    pub role: Role,
    /// The session's CSRF token (sessions only).
    pub csrf: Option<String>,
    /// The hash of the session cookie (sessions only).
    pub session: Option<String>,
}

/// The signed-in person as a staff page's header shows them: their name,
/// and what their role lets the navigation offer.
pub struct Who {
    pub name: String,
    pub role: Role,
}

impl Who {
    /// Whether the role holds the permission named (`read_customers`…);
    /// the navigation shows only the pages it may open.
    pub fn may(&self, permission: &str) -> bool {
        permission
            .parse::<Permission>()
            .is_ok_and(|p| self.role.can(p))
    }
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Caller {
    pub fn may(&self, permission: Permission) -> bool {
        self.role.can(permission)
    }

    /// For forms a signed-in user posts: the refusal when the form does not
    /// carry the session's CSRF token; `None` when it does.
    pub fn form_refusal(&self, csrf: &str) -> Option<Response> {
        (self.csrf.as_deref() != Some(csrf))
            .then(|| (StatusCode::FORBIDDEN, "The form expired; reload the page.").into_response())
    }
}

async fn caller(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let now = chrono::Utc::now();
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(bearer).unwrap_or("");
        return Ok(state.store.api_token(&secret_hash(token), now).await?.map(
            |(id, name, role)| Caller {
                name: format!("{name} (token {id})"),
                role,
                csrf: None,
                session: None,
            },
        ));
    }
    let Some(session) = cookie(&parts.headers, state.web.session_cookie()) else {
        return Ok(None);
    };
    let hash = secret_hash(&session);
    let idle_since = now - chrono::Duration::minutes(SESSION_IDLE_MINUTES);
    Ok(state
        .store
        .session(&hash, now, idle_since)
        .await?
        .map(|(user, csrf)| Caller {
            name: user.email,
            role: user.role,
            csrf: Some(csrf),
            session: Some(hash),
        }))
}

/// The token of an `Authorization` value: the scheme `Bearer` is matched
/// without regard to case (RFC 9110 11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An API caller: without valid credentials, 401 with a JSON error.
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = caller(parts, state).await?.ok_or(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "sign in, or send Authorization: Bearer TOKEN".to_owned(),
            field: None,
        })?;
        // A browser sends the session cookie with any request, also one a
        // foreign page makes it send; writes must prove they come from ours.
        let safe = matches!(parts.method, Method::GET | Method::HEAD);
        if let (false, Some(csrf)) = (safe, caller.csrf.as_deref()) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(csrf) {
                return Err(ApiError {
                    status: StatusCode::FORBIDDEN,
                    code: "csrf",
                    message: format!("a signed-in browser must send the {CSRF_HEADER} header"),
                    field: None,
                });
            }
        }
        Ok(ApiCaller(caller))
    }
}

/// What an API route needs, as a type, so that the permission is checked
/// while the request is taken apart, before its body is read.
pub trait Needs: Send + Sync {
    const PERMISSION: Permission;
}

/// One type per permission, for `Api<need::…>`.
pub mod need {
    macro_rules! needs {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl super::Needs for $name {
                const PERMISSION: vouch_domain::Permission = vouch_domain::Permission::$name;
            }
        )*};
    }
    needs!(
        ReadCustomers,
        WriteCustomers,
        EraseCustomers,
        ReadFeedback,
        WriteFeedback,
        ReadResponses,
        WriteResponses,
        ReadMetrics,
        ViewDashboards,
        ManageSurveys,
        ManagePlaybooks,
        ManageProgram,
        WorkTasks,
        ManageUsers,
        ManageSettings,
        Export
    );
}

/// An API caller who holds `N`'s permission: 401 without credentials, 403 without the permission.
pub struct Api<N: Needs>(pub Caller, std::marker::PhantomData<N>);

impl<N: Needs> FromRequestParts<AppState> for Api<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = ApiCaller::from_request_parts(parts, state).await?;
        caller.require(N::PERMISSION)?;
        audit_request(parts, state, &caller.0).await?;
        Ok(Api(caller.0, std::marker::PhantomData))
    }
}

/// Writes, exports and every page form go into the audit log, with who
/// (the user, or the token by id) and from where; reads do not.
pub(crate) async fn audit_request(
    parts: &Parts,
    state: &AppState,
    caller: &Caller,
) -> Result<(), ApiError> {
    let path = parts.uri.path();
    let reads = matches!(parts.method, Method::GET | Method::HEAD);
    if reads && !path.ends_with("/export") {
        return Ok(());
    }
    let client = crate::client::ClientAddress::from_request_parts(&mut parts.clone(), state)
        .await
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    state
        .store
        .audit(
            chrono::Utc::now(),
            &caller.name,
            &format!("{} {path}", parts.method),
            None,
            Some(&client),
        )
        .await?;
    Ok(())
}

impl ApiCaller {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.0.may(permission) {
            return Ok(());
        }
        Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: format!("the {} role does not have {permission}", self.0.role),
            field: None,
        })
    }
}

/// A page visitor: without a session, a redirect to the login page.
pub struct PageCaller(pub Caller);

/// The signed-in caller of a page, or the redirect to the login page.
/// The sign-in page, told to come back to the page asked for (a GET's
/// path and query; a form's target is no page to return to).
fn login_then(parts: &Parts) -> String {
    let asked = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    if parts.method != axum::http::Method::GET || asked == "/" {
        return "/login".to_owned();
    }
    format!(
        "/login?{}",
        serde_urlencoded::to_string([("next", asked)]).unwrap_or_default()
    )
}

async fn signed_in(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
    match caller(parts, state).await {
        Ok(Some(caller)) if caller.session.is_some() => Ok(caller),
        Ok(_) => Err(Redirect::to(&login_then(parts)).into_response()),
        Err(e) => Err(crate::error::PageError::from(e).into_response()),
    }
}

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = signed_in(parts, state).await?;
        audit_request(parts, state, &caller)
            .await
            .map_err(|e| crate::error::PageError::from(e).into_response())?;
        Ok(PageCaller(caller))
    }
}

/// A signed-in page visitor who holds `N`'s permission (the page twin of
/// `Api<N>`): without a session, the redirect to the login page; without
/// the permission, the 403 page in the browser's language.
pub struct Page<N: Needs>(pub Caller, pub std::marker::PhantomData<N>);

impl<N: Needs> FromRequestParts<AppState> for Page<N> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = signed_in(parts, state).await?;
        if !caller.may(N::PERMISSION) {
            return Err(
                crate::error::PageError::new(StatusCode::FORBIDDEN, "forbidden").into_response(),
            );
        }
        audit_request(parts, state, &caller)
            .await
            .map_err(|e| crate::error::PageError::from(e).into_response())?;
        Ok(Page(caller, std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_secrets_are_long_and_hashed() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        let (token, stored) = new_api_token();
        assert_eq!(token.len(), 4 + 64);
        assert_eq!(stored, secret_hash(&token));
        assert_ne!(new_secret(), new_secret());
    }
}
