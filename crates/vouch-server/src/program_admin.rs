//! The staff's pages that set the advocate program up: the reward
//! catalogue (add, withdraw, offer again, add stock, load gift codes),
//! challenges (written as JSON, checked by the compliance guard before
//! saving, paused and resumed) and join codes. Each form calls the same
//! `vouch_app::program` use case as `/api/v1/program/…`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use vouch_app::program::{self, FieldRefusal, RewardDraft};
use vouch_domain::Permission;
use vouch_domain::program::challenges::{ChallengeRefusal, ChallengeSpec};
use vouch_domain::program::{Fulfilment, RewardKind};

use crate::AppState;
use crate::auth::{Caller, Page, need};
use crate::edge::Form;
use crate::error::PageError;
use crate::locale::{Ui, texts};
use crate::pages::{render, shown};

type Fields = HashMap<String, String>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map_or("", |v| v.trim())
}

/// A whole number typed in a form; blank: none; anything else: refused.
fn number(form: &Fields, name: &'static str) -> Result<Option<i64>, FieldRefusal> {
    match field(form, name) {
        "" => Ok(None),
        text => text.parse().map(Some).map_err(|_| FieldRefusal {
            field: name,
            message: "a whole number".into(),
        }),
    }
}

/// A page that shows a refused form answers 422, so scripts and tests
/// can tell it from a page shown after a save.
fn unprocessable_if(mut page: Response, refused: bool) -> Response {
    if refused {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

struct RewardRow {
    id: i64,
    name: String,
    kind: String,
    points: i64,
    stock: String,
    min_tier: String,
    limit: String,
    fulfilment: String,
    active: bool,
    gift_codes: bool,
}

#[derive(Template)]
#[template(path = "program_rewards.html")]
struct RewardsPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    can_manage: bool,
    rows: Vec<RewardRow>,
    kinds: Vec<&'static str>,
    tiers: Vec<String>,
    /// The form as it was sent, when it was refused.
    draft: Fields,
    refusal: Option<String>,
    message: Option<String>,
}

impl RewardsPage {
    /// What the refused form held in `name`.
    fn value(&self, name: &str) -> &str {
        self.draft.get(name).map_or("", String::as_str)
    }
}

async fn rewards_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    draft: Fields,
    refusal: Option<FieldRefusal>,
    saved: bool,
) -> Response {
    let (lang, t) = texts(headers);
    let ui = Ui(t);
    let loaded = async {
        let rewards = state.store.rewards(false).await?;
        let codes = state.store.free_codes().await?;
        let tiers = program::settings(&state.store).await?.tiers;
        Ok::<_, vouch_app::AppError>((rewards, codes, tiers))
    };
    let (rewards, codes, tiers) = match loaded.await {
        Ok(found) => found,
        Err(e) => return PageError::from(e).into_response(),
    };
    let rows = rewards
        .into_iter()
        .map(|r| {
            let gift_codes = r.kind == RewardKind::GiftCode.as_str();
            RewardRow {
                stock: match (gift_codes, r.stock) {
                    (true, _) => format!(
                        "{} {}",
                        codes.get(&r.id).copied().unwrap_or(0),
                        ui.t("codes_left")
                    ),
                    (false, Some(n)) => n.to_string(),
                    (false, None) => "∞".into(),
                },
                id: r.id,
                name: shown(&r.name),
                kind: r.kind,
                points: r.points,
                min_tier: r.min_tier.map(|t| shown(&t)).unwrap_or_default(),
                limit: r
                    .per_member_limit
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                fulfilment: r.fulfilment,
                active: r.active,
                gift_codes,
            }
        })
        .collect();
    let refused = refusal.is_some();
    let page = render(RewardsPage {
        lang,
        can_manage: caller.may(Permission::ManageProgram),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        rows,
        kinds: RewardKind::ALL.iter().map(|k| k.as_str()).collect(),
        tiers: tiers.into_iter().map(|t| t.name).collect(),
        draft,
        refusal: refusal.map(|r| format!("{}: {}", r.field, r.message)),
        message: saved.then(|| ui.t("program_saved").to_owned()),
        ui,
    });
    unprocessable_if(page, refused)
}

/// `GET /program/rewards`: the catalogue, with forms for managers.
pub async fn rewards(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadCustomers>,
    headers: HeaderMap,
    Query(q): Query<Saved>,
) -> Response {
    rewards_page(
        &state,
        caller,
        &headers,
        Fields::new(),
        None,
        q.saved.is_some(),
    )
    .await
}

/// `POST /program/rewards`: adds a reward; a refused one comes back with
/// the form as it was and the field named.
pub async fn add_reward(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(refused) = caller.form_refusal(field(&form, "csrf")) {
        return refused;
    }
    let draft = (|| {
        Ok::<_, FieldRefusal>(RewardDraft {
            name: field(&form, "name").to_owned(),
            kind: field(&form, "kind").parse().map_err(|_| FieldRefusal {
                field: "kind",
                message: "a kind of reward".into(),
            })?,
            points: number(&form, "points")?.unwrap_or(0),
            stock: number(&form, "stock")?,
            min_tier: Some(field(&form, "min_tier").to_owned()),
            per_member_limit: number(&form, "per_member_limit")?,
            fulfilment: if field(&form, "fulfilment") == "auto" {
                Fulfilment::Auto
            } else {
                Fulfilment::Manual
            },
        })
    })();
    let outcome = match draft {
        Ok(draft) => match program::add_reward(&state.store, draft).await {
            Ok(outcome) => outcome.map(|_| ()),
            Err(e) => return PageError::from(e).into_response(),
        },
        Err(refusal) => Err(refusal),
    };
    match outcome {
        Ok(()) => Redirect::to("/program/rewards?saved=1").into_response(),
        Err(refusal) => rewards_page(&state, caller, &headers, form, Some(refusal), false).await,
    }
}

/// `POST /program/rewards/{id}`: `action` = `withdraw`, `offer`, `stock`
/// (with `add_stock`) or `codes` (with `codes`, one per line).
pub async fn change_reward(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(refused) = caller.form_refusal(field(&form, "csrf")) {
        return refused;
    }
    let outcome = match field(&form, "action") {
        "withdraw" | "offer" => {
            let active = field(&form, "action") == "offer";
            program::change_reward(&state.store, id, Some(active), None)
                .await
                .map(|r| r.map(|found| found.is_some()))
        }
        "stock" => match number(&form, "add_stock") {
            Ok(n) => program::change_reward(&state.store, id, None, Some(n.unwrap_or(0)))
                .await
                .map(|r| r.map(|found| found.is_some())),
            Err(refusal) => Ok(Err(refusal)),
        },
        "codes" => {
            let codes: Vec<String> = field(&form, "codes").lines().map(str::to_owned).collect();
            program::add_gift_codes(&state.store, id, &codes)
                .await
                .map(|r| r.map(|_| true))
        }
        _ => {
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                .into_response();
        }
    };
    match outcome {
        Ok(Ok(true)) => Redirect::to("/program/rewards?saved=1").into_response(),
        Ok(Ok(false)) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Ok(Err(refusal)) => {
            rewards_page(
                &state,
                caller,
                &headers,
                Fields::new(),
                Some(refusal),
                false,
            )
            .await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

struct ChallengeRow {
    id: i64,
    name: String,
    stages: usize,
    points: i64,
    window: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "program_challenges.html")]
struct ChallengesPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    can_manage: bool,
    rows: Vec<ChallengeRow>,
    spec: String,
    refusal: Option<String>,
    message: Option<String>,
}

/// What the challenge editor starts from: a two-stage challenge that
/// shows the JSON's shape.
const EXAMPLE_CHALLENGE: &str = r#"{
  "name": "Tell us your story",
  "description": "Two short steps; points for each.",
  "stages": [
    {"kind": "answer", "title": "What do you use us for?", "points": 50, "questions": ["What problem did we solve for you?"]},
    {"kind": "approval", "title": "A person reads it", "points": 100}
  ],
  "targeting": {},
  "per_member_limit": 1
}"#;

async fn challenges_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    spec: String,
    refusal: Option<String>,
    saved: bool,
) -> Response {
    let (lang, t) = texts(headers);
    let ui = Ui(t);
    let challenges = match state.store.challenges(false).await {
        Ok(found) => found,
        Err(e) => return PageError::from(e).into_response(),
    };
    let day = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or("…".to_owned(), |at| at.format("%Y-%m-%d").to_string())
    };
    let rows = challenges
        .into_iter()
        .map(|c| ChallengeRow {
            id: c.id,
            name: shown(&c.spec.name),
            stages: c.spec.stages.len(),
            points: c.spec.stages.iter().map(|s| s.points).sum(),
            window: match (c.spec.starts_at, c.spec.ends_at) {
                (None, None) => String::new(),
                (from, to) => format!("{} – {}", day(from), day(to)),
            },
            active: c.active,
        })
        .collect();
    let refused = refusal.is_some();
    let page = render(ChallengesPage {
        lang,
        can_manage: caller.may(Permission::ManageProgram),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        rows,
        spec,
        refusal,
        message: saved.then(|| ui.t("program_saved").to_owned()),
        ui,
    });
    unprocessable_if(page, refused)
}

/// `GET /program/challenges`: every challenge, and the editor for a new one.
pub async fn challenges(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadCustomers>,
    headers: HeaderMap,
    Query(q): Query<Saved>,
) -> Response {
    challenges_page(
        &state,
        caller,
        &headers,
        EXAMPLE_CHALLENGE.to_owned(),
        None,
        q.saved.is_some(),
    )
    .await
}

/// `POST /program/challenges`: saves the challenge written in the editor,
/// or shows it again with the field or compliance rule that refused it.
pub async fn add_challenge(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(refused) = caller.form_refusal(field(&form, "csrf")) {
        return refused;
    }
    let text = form.get("spec").cloned().unwrap_or_default();
    let refusal = match serde_json::from_str::<ChallengeSpec>(&text) {
        Err(e) => Some(format!("JSON: {e}")),
        Ok(spec) => match program::add_challenge(&state.store, &spec).await {
            Ok(Ok(_)) => None,
            Ok(Err(ChallengeRefusal::Shape(field, message))) => Some(format!("{field}: {message}")),
            Ok(Err(ChallengeRefusal::Compliance(rule, message))) => {
                Some(format!("{}: {message}", rule.as_str()))
            }
            Err(e) => return PageError::from(e).into_response(),
        },
    };
    match refusal {
        None => Redirect::to("/program/challenges?saved=1").into_response(),
        Some(refusal) => {
            challenges_page(&state, caller, &headers, text, Some(refusal), false).await
        }
    }
}

/// `POST /program/challenges/{id}`: pauses (`active=false`) or resumes it.
pub async fn switch_challenge(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(refused) = caller.form_refusal(field(&form, "csrf")) {
        return refused;
    }
    match program::set_challenge_active(&state.store, id, field(&form, "active") == "true").await {
        Ok(true) => Redirect::to("/program/challenges?saved=1").into_response(),
        Ok(false) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

struct JoinCodeRow {
    code: String,
    uses: String,
    expires: String,
    open: bool,
    active: bool,
    link: String,
}

#[derive(Template)]
#[template(path = "program_join_codes.html")]
struct JoinCodesPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    rows: Vec<JoinCodeRow>,
    open_sign_up: bool,
    draft: Fields,
    refusal: Option<String>,
    message: Option<String>,
}

impl JoinCodesPage {
    /// What the refused form held in `name`.
    fn value(&self, name: &str) -> &str {
        self.draft.get(name).map_or("", String::as_str)
    }
}

async fn join_codes_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    draft: Fields,
    refusal: Option<FieldRefusal>,
    saved: bool,
) -> Response {
    let (lang, t) = texts(headers);
    let ui = Ui(t);
    let loaded = async {
        Ok::<_, vouch_app::AppError>((
            state.store.join_codes().await?,
            program::settings(&state.store).await?.open_sign_up,
        ))
    };
    let (codes, open_sign_up) = match loaded.await {
        Ok(found) => found,
        Err(e) => return PageError::from(e).into_response(),
    };
    let now = chrono::Utc::now();
    let rows = codes
        .into_iter()
        .map(|c| JoinCodeRow {
            uses: match c.max_uses {
                Some(max) => format!("{} / {max}", c.uses),
                None => c.uses.to_string(),
            },
            expires: c
                .expires_at
                .map_or(String::new(), |at| at.format("%Y-%m-%d %H:%M").to_string()),
            open: c.open_at(now),
            active: c.active,
            link: format!(
                "{}/portal/join?code={}",
                state.web.public_url.trim_end_matches('/'),
                c.code
            ),
            code: c.code,
        })
        .collect();
    let refused = refusal.is_some();
    let page = render(JoinCodesPage {
        lang,
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        rows,
        open_sign_up,
        draft,
        refusal: refusal.map(|r| format!("{}: {}", r.field, r.message)),
        message: saved.then(|| ui.t("program_saved").to_owned()),
        ui,
    });
    unprocessable_if(page, refused)
}

/// `GET /program/join-codes`: the codes, their uses and links.
pub async fn join_codes(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    headers: HeaderMap,
    Query(q): Query<Saved>,
) -> Response {
    join_codes_page(
        &state,
        caller,
        &headers,
        Fields::new(),
        None,
        q.saved.is_some(),
    )
    .await
}

/// `POST /program/join-codes`: adds a code (typed, or drawn when blank).
pub async fn add_join_code(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(refused) = caller.form_refusal(field(&form, "csrf")) {
        return refused;
    }
    let expires_at = match field(&form, "expires") {
        "" => Ok(None),
        day => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(23, 59, 59).map(|t| t.and_utc()))
            .map_err(|_| FieldRefusal {
                field: "expires",
                message: "a date, YYYY-MM-DD".into(),
            }),
    };
    let outcome = match (expires_at, number(&form, "max_uses")) {
        (Ok(expires_at), Ok(max_uses)) => {
            let code = Some(field(&form, "code")).filter(|c| !c.is_empty());
            match program::add_join_code(&state.store, code, max_uses, expires_at).await {
                Ok(outcome) => outcome.map(|_| ()),
                Err(e) => return PageError::from(e).into_response(),
            }
        }
        (Err(refusal), _) | (_, Err(refusal)) => Err(refusal),
    };
    match outcome {
        Ok(()) => Redirect::to("/program/join-codes?saved=1").into_response(),
        Err(refusal) => join_codes_page(&state, caller, &headers, form, Some(refusal), false).await,
    }
}

/// `POST /program/join-codes/{code}`: switches a code off or on.
pub async fn switch_join_code(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    Path(code): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(refused) = caller.form_refusal(field(&form, "csrf")) {
        return refused;
    }
    let active = field(&form, "active") == "true";
    match state.store.set_join_code_active(&code, active).await {
        Ok(Some(_)) => Redirect::to("/program/join-codes?saved=1").into_response(),
        Ok(None) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}
