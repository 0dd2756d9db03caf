//! The settings pages, for administrators: staff users (invite, role,
//! deactivate), API tokens (create, shown once; revoke), webhooks (create
//! with the secret shown once, deliveries, redeliver), branding, the topic
//! taxonomy (checked and previewed on recent feedback before it is saved)
//! and the languages. The same store and use cases as the API and CLI.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use vouch_domain::{Email, EventKind, Role};
use vouch_store::UserChange;

use crate::AppState;
use crate::auth::{Caller, Page, need};
use crate::edge::Form;
use crate::error::PageError;
use crate::locale::{Ui, texts};
use crate::pages::{render, shown};

fn who(caller: &Caller) -> crate::auth::Who {
    crate::auth::Who {
        name: caller.name.clone(),
        role: caller.role,
    }
}

/// What the last form did, from the address it returned to.
#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// The message key of a `?done=` value (only known keys are shown).
fn done_key(done: &Option<String>) -> Option<&'static str> {
    match done.as_deref()? {
        "saved" => Some("saved"),
        "revoked" => Some("token_revoked"),
        "deleted" => Some("webhook_deleted"),
        "redelivered" => Some("redelivered"),
        "disabled" => Some("user_disabled"),
        "enabled" => Some("user_enabled"),
        "source_added" => Some("source_added"),
        "source_queued" => Some("source_queued"),
        "source_removed" => Some("source_removed"),
        _ => None,
    }
}

struct UserRow {
    id: i64,
    email: String,
    role: &'static str,
    active: bool,
    sessions: u64,
    created: String,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "settings_users.html")]
struct UsersPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    /// The link of an invitation just made, shown once.
    invite_link: Option<String>,
    done: Option<&'static str>,
    error: Option<&'static str>,
}

async fn users_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    invite_link: Option<String>,
    done: Option<&'static str>,
    error: Option<&'static str>,
) -> Response {
    let (lang, t) = texts(headers);
    let users = match state.store.users().await {
        Ok(u) => u,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut page = render(UsersPage {
        lang,
        ui: Ui(t),
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        users: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id,
                is_me: u.email == caller.name,
                email: u.email,
                role: u.role.as_str(),
                active: u.disabled_at.is_none(),
                sessions: u.sessions,
                created: u.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        invite_link,
        done,
        error,
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /settings/users`.
pub async fn users(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageUsers>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> Response {
    users_page(&state, caller, &headers, None, done_key(&q.done), None).await
}

/// How long a staff invitation link works.
const INVITE_DAYS: i64 = 7;

/// `POST /settings/users`: invites a colleague (the single-use link that
/// sets their password is shown once, to pass on), changes a role, or
/// deactivates and reactivates an account (which ends its sessions).
pub async fn change_users(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageUsers>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let field = |name: &str| form.get(name).map_or("", |v| v.trim());
    let role: Option<Role> = field("role").parse().ok();
    match field("action") {
        "invite" => {
            let (Ok(email), Some(role)) = (Email::parse(field("email")), role) else {
                return users_page(&state, caller, &headers, None, None, Some("invite_bad")).await;
            };
            let token = vouch_app::secrets::new_secret();
            let now = Utc::now();
            if let Err(e) = state
                .store
                .add_staff_invitation(
                    &vouch_app::secrets::secret_hash(&token),
                    email.as_str(),
                    role,
                    now,
                    now + chrono::Duration::days(INVITE_DAYS),
                )
                .await
            {
                return PageError::from(e).into_response();
            }
            let base = crate::survey_results::base_url(&state, &headers);
            let link = format!("{base}/invite/{token}");
            users_page(&state, caller, &headers, Some(link), Some("invited"), None).await
        }
        action @ ("role" | "disable" | "enable") => {
            let Ok(id) = field("user").parse::<i64>() else {
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                    .into_response();
            };
            let me = match state.store.user_by_email(&caller.name).await {
                Ok(me) => me.map(|u| u.id),
                Err(e) => return PageError::from(e).into_response(),
            };
            if me == Some(id) {
                return users_page(&state, caller, &headers, None, None, Some("not_yourself"))
                    .await;
            }
            let change = match action {
                "role" => match role {
                    Some(role) => UserChange {
                        role: Some(role),
                        ..UserChange::default()
                    },
                    None => {
                        return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                            .into_response();
                    }
                },
                "disable" => UserChange {
                    disabled_at: Some(Some(Utc::now())),
                    ..UserChange::default()
                },
                _ => UserChange {
                    disabled_at: Some(None),
                    ..UserChange::default()
                },
            };
            match state.store.change_user(id, &change).await {
                Ok(true) => {}
                Ok(false) => {
                    return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response();
                }
                Err(e) => return PageError::from(e).into_response(),
            }
            let done = match action {
                "disable" => "disabled",
                "enable" => "enabled",
                _ => "saved",
            };
            Redirect::to(&format!("/settings/users?done={done}")).into_response()
        }
        _ => PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused").into_response(),
    }
}

struct TokenRow {
    id: i64,
    name: String,
    role: &'static str,
    created: String,
    expires: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "settings_tokens.html")]
struct TokensPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    tokens: Vec<TokenRow>,
    roles: Vec<&'static str>,
    /// A token just made, shown this once.
    new_token: Option<String>,
    done: Option<&'static str>,
    error: Option<&'static str>,
}

async fn tokens_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    new_token: Option<String>,
    done: Option<&'static str>,
    error: Option<&'static str>,
) -> Response {
    let (lang, t) = texts(headers);
    let tokens = match state.store.api_tokens().await {
        Ok(t) => t,
        Err(e) => return PageError::from(e).into_response(),
    };
    let day = |d: Option<chrono::DateTime<Utc>>| {
        d.map_or("–".to_owned(), |d| d.format("%Y-%m-%d").to_string())
    };
    let mut page = render(TokensPage {
        lang,
        ui: Ui(t),
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: shown(&t.name),
                role: t.role.as_str(),
                created: t.created_at.format("%Y-%m-%d").to_string(),
                expires: day(t.expires_at),
                last_used: day(t.last_used_at),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        new_token,
        done,
        error,
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /settings/tokens`.
pub async fn tokens(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageUsers>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> Response {
    tokens_page(&state, caller, &headers, None, done_key(&q.done), None).await
}

/// `POST /settings/tokens`: creates a token (shown this once; only its
/// hash is kept) or revokes one.
pub async fn change_tokens(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageUsers>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let field = |name: &str| form.get(name).map_or("", |v| v.trim());
    match field("action") {
        "create" => {
            let name = field("name");
            let role: Option<Role> = field("role").parse().ok();
            let days: Option<i64> = match field("days") {
                "" => None,
                d => match d.parse::<i64>() {
                    Ok(d) if (1..=3650).contains(&d) => Some(d),
                    _ => {
                        return tokens_page(
                            &state,
                            caller,
                            &headers,
                            None,
                            None,
                            Some("token_bad"),
                        )
                        .await;
                    }
                },
            };
            let (Some(role), true) = (role, !name.is_empty() && name.chars().count() <= 100) else {
                return tokens_page(&state, caller, &headers, None, None, Some("token_bad")).await;
            };
            let (token, hash) = crate::new_api_token();
            let now = Utc::now();
            if let Err(e) = state
                .store
                .add_expiring_api_token(
                    name,
                    role,
                    &hash,
                    now,
                    days.map(|d| now + chrono::Duration::days(d)),
                )
                .await
            {
                return PageError::from(e).into_response();
            }
            tokens_page(
                &state,
                caller,
                &headers,
                Some(token),
                Some("token_made"),
                None,
            )
            .await
        }
        "revoke" => {
            let Ok(id) = field("token").parse::<i64>() else {
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                    .into_response();
            };
            if let Err(e) = state.store.revoke_api_token(id, Utc::now()).await {
                return PageError::from(e).into_response();
            }
            Redirect::to("/settings/tokens?done=revoked").into_response()
        }
        _ => PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused").into_response(),
    }
}

type Attempt = (String, i64, i32, String, String, bool);

struct HookRow {
    id: i64,
    url: String,
    events: String,
    created: String,
    /// The latest attempts: (event type, job, attempt, status or error, when, ok).
    deliveries: Vec<Attempt>,
}

#[derive(Template)]
#[template(path = "settings_webhooks.html")]
struct WebhooksPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    hooks: Vec<HookRow>,
    events: Vec<&'static str>,
    /// A webhook's signing secret just made, shown this once, and any warning.
    new_secret: Option<String>,
    warning: Option<String>,
    done: Option<&'static str>,
    error: Option<String>,
}

async fn webhooks_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    new_secret: Option<String>,
    warning: Option<String>,
    done: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let (lang, t) = texts(headers);
    let hooks = match state.store.webhooks().await {
        Ok(h) => h,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut rows = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let deliveries = match state.store.deliveries(hook.id, 10).await {
            Ok(d) => d,
            Err(e) => return PageError::from(e).into_response(),
        };
        rows.push(HookRow {
            id: hook.id,
            url: hook.url,
            events: hook
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: hook.created_at.format("%Y-%m-%d").to_string(),
            deliveries: deliveries
                .into_iter()
                .map(|d| {
                    let ok = d.status_code.is_some_and(|s| (200..300).contains(&s));
                    let outcome = match (d.status_code, d.error) {
                        (Some(s), _) => format!("HTTP {s}"),
                        (None, Some(e)) => shown(&e),
                        (None, None) => "–".to_owned(),
                    };
                    (
                        d.event,
                        d.job_id,
                        d.attempt,
                        outcome,
                        d.delivered_at.format("%Y-%m-%d %H:%M").to_string(),
                        ok,
                    )
                })
                .collect(),
        });
    }
    let mut page = render(WebhooksPage {
        lang,
        ui: Ui(t),
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        hooks: rows,
        events: EventKind::ALL.iter().map(|e| e.as_str()).collect(),
        new_secret,
        warning,
        done,
        error: error.clone(),
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /settings/webhooks`.
pub async fn webhooks(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> Response {
    webhooks_page(
        &state,
        caller,
        &headers,
        None,
        None,
        done_key(&q.done),
        None,
    )
    .await
}

/// `POST /settings/webhooks`: subscribes a URL (the same checks as the
/// API: http(s), no private address unless allowed), deletes one, or
/// delivers one event again.
pub async fn change_webhooks(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    axum::extract::RawForm(raw): axum::extract::RawForm,
) -> Response {
    // Repeated `events` fields: read the pairs as sent.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&raw).unwrap_or_default();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    };
    if let Some(r) = caller.form_refusal(field("csrf")) {
        return r;
    }
    let (_, t) = texts(&headers);
    let ui = Ui(t);
    match field("action") {
        "create" => {
            let url = field("url");
            let events: Vec<EventKind> = pairs
                .iter()
                .filter(|(k, _)| k == "events")
                .filter_map(|(_, v)| v.parse().ok())
                .collect();
            if events.is_empty() {
                let error = Some(ui.t("webhook_no_events").to_owned());
                return webhooks_page(&state, caller, &headers, None, None, None, error).await;
            }
            match crate::api::webhooks::subscribe(&state, url, events).await {
                Ok(made) => {
                    webhooks_page(
                        &state,
                        caller,
                        &headers,
                        Some(made.secret),
                        made.warning,
                        Some("saved"),
                        None,
                    )
                    .await
                }
                Err(e) => {
                    let error = Some(format!("{} {}", ui.t("webhook_refused"), e.message));
                    webhooks_page(&state, caller, &headers, None, None, None, error).await
                }
            }
        }
        "delete" => {
            let Ok(id) = field("webhook").parse::<i64>() else {
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                    .into_response();
            };
            match state.store.delete_webhook(id).await {
                Ok(_) => Redirect::to("/settings/webhooks?done=deleted").into_response(),
                Err(e) => PageError::from(e).into_response(),
            }
        }
        "redeliver" => {
            let Ok(id) = field("webhook").parse::<i64>() else {
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                    .into_response();
            };
            let Ok(job) = field("job").parse::<i64>() else {
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                    .into_response();
            };
            match vouch_app::events::redeliver(&state.store, id, job).await {
                Ok(true) => Redirect::to("/settings/webhooks?done=redelivered").into_response(),
                Ok(false) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
                Err(e) => PageError::from(e).into_response(),
            }
        }
        _ => PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused").into_response(),
    }
}

#[derive(Template)]
#[template(path = "settings_branding.html")]
struct BrandingPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    company_name: String,
    colour: String,
    logo_url: String,
    postal_address: String,
    done: Option<&'static str>,
    error: Option<String>,
}

/// `GET /settings/branding`.
pub async fn branding(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> Response {
    let (lang, t) = texts(&headers);
    let b = match vouch_app::surveys::branding(&state.store).await {
        Ok(b) => b,
        Err(e) => return PageError::from(e).into_response(),
    };
    render(BrandingPage {
        lang,
        ui: Ui(t),
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        company_name: b.company_name,
        colour: b.colour,
        logo_url: b.logo_url.unwrap_or_default(),
        postal_address: b.postal_address.unwrap_or_default(),
        done: done_key(&q.done),
        error: None,
    })
}

/// `POST /settings/branding`: checked as the API checks it; a refusal
/// keeps what was typed and says why.
pub async fn save_branding(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let field = |name: &str| form.get(name).map_or("", |v| v.trim()).to_owned();
    let branding = vouch_app::surveys::Branding {
        company_name: field("company_name"),
        colour: field("colour"),
        logo_url: Some(field("logo_url")).filter(|u| !u.is_empty()),
        postal_address: Some(field("postal_address")).filter(|a| !a.is_empty()),
    };
    match branding.save(&state.store).await {
        Ok(()) => Redirect::to("/settings/branding?done=saved").into_response(),
        Err(e) => {
            let (lang, t) = texts(&headers);
            let mut page = render(BrandingPage {
                lang,
                ui: Ui(t),
                who: who(&caller),
                csrf: caller.csrf.clone().unwrap_or_default(),
                company_name: branding.company_name,
                colour: branding.colour,
                logo_url: branding.logo_url.unwrap_or_default(),
                postal_address: branding.postal_address.unwrap_or_default(),
                done: None,
                error: Some(e.to_string()),
            });
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            page
        }
    }
}

#[derive(Template)]
#[template(path = "settings_topics.html")]
struct TopicsPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    definition: String,
    /// The topics the definition holds.
    topics: Vec<String>,
    /// Recent feedback with the topics the definition finds in it.
    preview: Vec<(String, String)>,
    previewed: bool,
    done: Option<&'static str>,
    error: Option<String>,
    /// The models learnt from ratings, per language, with their validation.
    models: Vec<vouch_app::text::ModelReport>,
}

/// `GET /settings/topics`: the taxonomy in use (the company's, or the default).
pub async fn topics(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> Response {
    let (lang, t) = texts(&headers);
    let definition = match vouch_app::text::taxonomy_definition(&state.store).await {
        Ok(d) => d,
        Err(e) => return PageError::from(e).into_response(),
    };
    let topics = vouch_app::text::topic_names(&definition).unwrap_or_default();
    let models = match vouch_app::text::model_reports(&state.store).await {
        Ok(m) => m,
        Err(e) => return PageError::from(e).into_response(),
    };
    render(TopicsPage {
        models,
        lang,
        ui: Ui(t),
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        definition,
        topics,
        preview: Vec::new(),
        previewed: false,
        done: done_key(&q.done),
        error: None,
    })
}

/// `POST /settings/topics`: `preview` checks the definition and shows
/// what it finds in the 20 newest items, saving nothing; `save` checks and
/// saves it (every item is tagged again in the background).
pub async fn save_topics(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let (lang, t) = texts(&headers);
    let definition = form.get("definition").cloned().unwrap_or_default();
    let models = match vouch_app::text::model_reports(&state.store).await {
        Ok(m) => m,
        Err(e) => return PageError::from(e).into_response(),
    };
    let page = |preview: Vec<(String, String)>,
                previewed: bool,
                error: Option<String>,
                topics: Vec<String>| {
        let failed = error.is_some();
        let mut page = render(TopicsPage {
            lang,
            ui: Ui(t),
            who: who(&caller),
            csrf: caller.csrf.clone().unwrap_or_default(),
            definition: definition.clone(),
            topics,
            preview,
            previewed,
            done: None,
            error,
            models: models.clone(),
        });
        if failed {
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        page
    };
    let topics = match vouch_app::text::topic_names(&definition) {
        Ok(t) => t,
        Err(e) => return page(Vec::new(), false, Some(e.to_string()), Vec::new()),
    };
    if form.get("action").map(String::as_str) == Some("save") {
        if let Err(e) = vouch_app::text::set_taxonomy(&state.store, &definition).await {
            return page(Vec::new(), false, Some(e.to_string()), topics);
        }
        let store = state.store.clone();
        tokio::spawn(async move {
            if let Err(e) = vouch_app::text::retag(&store, |_, _| {}).await {
                tracing::error!(error = %e, "re-tagging after a taxonomy change failed");
            }
        });
        return Redirect::to("/settings/topics?done=saved").into_response();
    }
    match vouch_app::text::preview_taxonomy(&state.store, &definition, 20).await {
        Ok(found) => page(
            found
                .into_iter()
                .map(|(text, topics)| (shown(&text), topics.join(", ")))
                .collect(),
            true,
            None,
            topics,
        ),
        Err(e) => page(Vec::new(), false, Some(e.to_string()), topics),
    }
}

#[derive(Template)]
#[template(path = "settings_languages.html")]
struct LanguagesPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    /// Code, interface and survey pages, how text is scored.
    languages: Vec<(&'static str, &'static str)>,
    customers: Vec<(String, u64)>,
    done: Option<&'static str>,
}

/// `GET /settings/languages`: the languages pages and emails speak, how
/// each language's feedback is scored, and the customers' languages.
pub async fn languages(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
) -> Response {
    let (lang, t) = texts(&headers);
    let customers = match state.store.customer_locales().await {
        Ok(c) => c,
        Err(e) => return PageError::from(e).into_response(),
    };
    render(LanguagesPage {
        lang,
        ui: Ui(t),
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        languages: vec![
            ("en", "scoring_en"),
            ("ro", "scoring_ro"),
            ("fr, de, es, it", "scoring_identified"),
        ],
        customers,
        done: None,
    })
}

#[derive(Template)]
#[template(path = "settings_sources.html")]
struct SourcesPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    sources: Vec<vouch_store::StoredSource>,
    /// Each connector's name, with what its account and credentials are.
    kinds: Vec<(&'static str, &'static str, &'static str)>,
    /// What the add form was sent with, when it was refused.
    form: SourceForm,
    done: Option<&'static str>,
    error: Option<String>,
}

/// The add form's fields, kept when it is refused (never the credentials).
#[derive(Debug, Default, Deserialize)]
pub struct SourceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    account: String,
    /// Sealed on add, and never sent back to the page.
    #[serde(default)]
    credentials: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    every: String,
}

async fn sources_page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    form: SourceForm,
    done: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let (lang, t) = texts(headers);
    let sources = match state.store.sources().await {
        Ok(s) => s,
        Err(e) => return PageError::from(e).into_response(),
    };
    // What each needs, in the reader's language (`source_account_KIND`…).
    let kinds = vouch_app::sources::CONNECTORS
        .iter()
        .map(|k| {
            let key = k.replace('-', "_");
            (
                *k,
                t.get(&format!("source_account_{key}"))
                    .map_or("", String::as_str),
                t.get(&format!("source_credentials_{key}"))
                    .map_or("", String::as_str),
            )
        })
        .collect();
    let mut page = render(SourcesPage {
        lang,
        ui: Ui(t),
        who: who(caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        sources,
        kinds,
        form: SourceForm {
            credentials: String::new(),
            ..form
        },
        done,
        error: error.clone(),
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /settings/sources`: the connectors, each with its last and next
/// sync, the items it pulled and its last error (never its credentials),
/// and the form that adds one.
pub async fn sources(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> Response {
    let form = SourceForm {
        every: "60".to_owned(),
        ..SourceForm::default()
    };
    sources_page(&state, &caller, &headers, form, done_key(&q.done), None).await
}

/// `POST /settings/sources`: adds a connector (the same checks as `vouch
/// sources add`), asks for a sync now, or removes one.
pub async fn change_sources(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageSettings>,
    headers: HeaderMap,
    Form(form): Form<SourceForm>,
) -> Response {
    if let Some(r) = caller.form_refusal(&form.csrf) {
        return r;
    }
    let (_, t) = texts(&headers);
    let ui = Ui(t);
    let now = Utc::now();
    match form.action.as_str() {
        "add" => {
            let Ok(every) = form.every.trim().parse::<i64>() else {
                let error = Some(format!(
                    "{} {}",
                    ui.t("source_refused"),
                    ui.t("source_every_number")
                ));
                return sources_page(&state, &caller, &headers, form, None, error).await;
            };
            let source = vouch_store::NewSource {
                name: form.name.clone(),
                kind: form.kind.clone(),
                base_url: form.base_url.clone(),
                account: form.account.clone(),
                credentials: form.credentials.clone(),
                every_minutes: every,
            };
            match vouch_app::sources::add(&state.store, source, now).await {
                Ok(_) => Redirect::to("/settings/sources?done=source_added").into_response(),
                Err(vouch_app::AppError::Refused(why)) => {
                    let error = Some(format!("{} {}", ui.t("source_refused"), shown(&why)));
                    sources_page(&state, &caller, &headers, form, None, error).await
                }
                Err(e) => PageError::from(e).into_response(),
            }
        }
        "sync" => match vouch_app::sources::sync_soon(&state.store, &form.name, now).await {
            Ok(true) => Redirect::to("/settings/sources?done=source_queued").into_response(),
            Ok(false) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
            Err(e) => PageError::from(e).into_response(),
        },
        "remove" => match state.store.remove_source(&form.name).await {
            Ok(true) => Redirect::to("/settings/sources?done=source_removed").into_response(),
            Ok(false) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
            Err(e) => PageError::from(e).into_response(),
        },
        _ => PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused").into_response(),
    }
}
