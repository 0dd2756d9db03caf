//! The staff's customer pages: the list (search, an attribute filter,
//! paging) and the profile (where they stand, the category strip,
//! attributes, consent and suppression, and the timeline of everything
//! that happened, playbook runs with their decisions included), with the
//! GDPR export and a confirmed erase for admins. The data comes from
//! `vouch_app::customers::profile`, the same use case as the CLI's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_app::customers::{CustomerProfile, Moment};
use vouch_domain::analytics::CategoryOrNone;
use vouch_domain::{CustomerId, LoyaltyCategory, Permission};
use vouch_store::CustomerFilter;

use crate::AppState;
use crate::auth::{Page, need};
use crate::edge::Form;
use crate::error::PageError;
use crate::locale::{Ui, texts};
use crate::pages::{render, shown};

/// Rows on one page of the list.
const PAGE_ROWS: u32 = 50;

struct CustomerRow {
    id: i64,
    name: String,
    email: String,
    category: &'static str,
    locale: String,
    created: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    q: String,
    attribute: String,
    rows: Vec<CustomerRow>,
    /// The next page's address, when there is one.
    next: Option<String>,
    /// Set when a person was just erased.
    message: Option<String>,
    /// "Detractors → Promoters, 2026-09-08 – 2026-12-07: 14 customers".
    moved: Option<String>,
    category: String,
    signal: String,
}

#[derive(Deserialize, Default)]
pub struct CustomersQuery {
    q: Option<String>,
    /// `name=value`, such as `plan=pro`.
    attribute: Option<String>,
    after: Option<i64>,
    erased: Option<String>,
    /// A flow between categories, `promoter-passive` (`none` for no
    /// signal), between the dates `from` and `to` (the dashboard's links).
    moved: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `promoter`, `passive`, `detractor` or `none` (no signal).
    category: Option<String>,
    /// `30`, `90` or `365`: a signal within so many days; `-365`: none within.
    signal: Option<String>,
}

/// A flow's two groups and its dates.
type Moved = (
    (CategoryOrNone, CategoryOrNone),
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
);

/// A flow's ends from `detractor-promoter`, and its dates.
fn parse_moved(q: &CustomersQuery) -> Option<Moved> {
    let group = |name: &str| {
        CategoryOrNone::ORDER
            .iter()
            .copied()
            .find(|c| c.as_str() == name)
    };
    let (a, b) = q.moved.as_deref()?.split_once('-')?;
    let from = vouch_app::parse_time(q.from.as_deref()?).ok()?;
    let to = vouch_app::parse_time(q.to.as_deref()?).ok()?;
    Some(((group(a)?, group(b)?), from, to))
}

/// A category's text key; "no signal" when there is none.
fn category_key(category: Option<LoyaltyCategory>) -> &'static str {
    match category {
        Some(LoyaltyCategory::Promoter) => "promoter",
        Some(LoyaltyCategory::Passive) => "passive",
        Some(LoyaltyCategory::Detractor) => "detractor",
        None => "no_signal",
    }
}

/// `GET /customers`: search by name, email or external id, filter by one
/// attribute, 50 a page; the filters sit in the URL.
pub async fn customers(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadCustomers>,
    headers: HeaderMap,
    Query(q): Query<CustomersQuery>,
) -> Response {
    let (lang, t) = texts(&headers);
    let ui = Ui(t);
    // As the API takes it: at most 200 characters.
    let search: String =
        q.q.clone()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(200)
            .collect();
    let attribute = q.attribute.clone().unwrap_or_default().trim().to_owned();
    let attributes = vouch_app::params::parse_attribute(&attribute)
        .ok()
        .into_iter()
        .collect();
    let mut filter = CustomerFilter {
        search: Some(search.clone()).filter(|s| !s.is_empty()),
        attributes,
        ..CustomerFilter::default()
    };
    let after = q.after.map(CustomerId);
    // A flow of the dashboard: its customers, paged by id in that list.
    let mut moved = None;
    if q.moved.as_deref().is_some_and(|m| !m.is_empty()) {
        let Some((groups, from, to)) = parse_moved(&q) else {
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_filter").into_response();
        };
        let lookback = chrono::Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS);
        let ids = match vouch_app::reports::movers(&state.store, from, to, lookback, groups).await {
            Ok(Some(ids)) => ids,
            Ok(None) => {
                return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_filter")
                    .into_response();
            }
            Err(e) => return PageError::from(e).into_response(),
        };
        let name = |c: CategoryOrNone| ui.t(category_key(c.0));
        moved = Some(format!(
            "{} → {}, {} – {}: {} {}",
            name(groups.0),
            name(groups.1),
            from.format("%Y-%m-%d"),
            (to - chrono::Duration::days(1)).format("%Y-%m-%d"),
            ids.len(),
            ui.t("customers_count")
        ));
        let page: Vec<CustomerId> = ids
            .into_iter()
            .filter(|id| after.is_none_or(|a| *id > a))
            .take(PAGE_ROWS as usize + 1)
            .collect();
        filter.ids = Some(page);
    }
    let category = q.category.as_deref().filter(|c| !c.is_empty());
    let signal = q.signal.as_deref().filter(|s| !s.is_empty());
    let standing = vouch_app::customers::StandingFilter {
        category: match category {
            None => None,
            Some(name) => match CategoryOrNone::ORDER.iter().find(|c| c.as_str() == name) {
                Some(c) => Some(*c),
                None => {
                    return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_filter")
                        .into_response();
                }
            },
        },
        last_signal: match signal {
            None => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(d) if (1..=3650).contains(&d.abs()) => Some((d.abs(), d > 0)),
                _ => {
                    return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_filter")
                        .into_response();
                }
            },
        },
    };
    // Categories are read with the page, 500 customers at a time.
    let listed = match vouch_app::customers::list(
        &state.store,
        &filter,
        standing,
        after,
        PAGE_ROWS as usize + 1,
    )
    .await
    {
        Ok(listed) => listed,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut found = listed.customers;
    let last = if found.len() > PAGE_ROWS as usize {
        found.truncate(PAGE_ROWS as usize);
        found.last().map(|(c, _)| c.id.0)
    } else {
        listed.next.map(|n| n.0)
    };
    let mut rows = Vec::with_capacity(found.len());
    for (customer, category) in &found {
        let category = category.map(|c| c.category);
        rows.push(CustomerRow {
            id: customer.id.0,
            name: shown(customer.profile.name.as_deref().unwrap_or("")),
            email: customer
                .profile
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            category: category_key(category),
            locale: customer.profile.locale.as_str().to_owned(),
            created: customer.profile.created_at.format("%Y-%m-%d").to_string(),
        });
    }
    let next = last.map(|last| {
        let after = last.to_string();
        format!(
            "/customers?{}",
            serde_urlencoded::to_string([
                ("q", search.as_str()),
                ("attribute", attribute.as_str()),
                ("moved", q.moved.as_deref().unwrap_or("")),
                ("category", category.unwrap_or("")),
                ("signal", signal.unwrap_or("")),
                ("from", q.from.as_deref().unwrap_or("")),
                ("to", q.to.as_deref().unwrap_or("")),
                ("after", after.as_str()),
            ])
            .unwrap_or_default()
        )
    });
    render(CustomersPage {
        lang,
        message: q.erased.map(|_| ui.t("customer_erased").to_owned()),
        ui,
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        q: search,
        attribute,
        rows,
        next,
        moved,
        category: category.unwrap_or("").to_owned(),
        signal: signal.unwrap_or("").to_owned(),
    })
}

/// One line of the timeline, in the reader's language.
struct TimelineRow {
    at: String,
    /// A text key: `tl_answer`, `tl_message`…
    kind: &'static str,
    /// A CSS class for the marker's colour.
    tone: &'static str,
    title: String,
    detail: String,
    link: Option<String>,
    /// A run's decisions, one line each.
    lines: Vec<String>,
}

/// One stretch of the category strip.
struct StripPart {
    from: String,
    key: &'static str,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    id: i64,
    name: String,
    email: String,
    external_id: String,
    locale: String,
    category: &'static str,
    category_note: String,
    strip: Vec<StripPart>,
    attributes: Vec<(String, String)>,
    tags: String,
    consents: Vec<(String, &'static str, String)>,
    suppressed: Option<String>,
    member: Option<String>,
    /// The member's id, when staff may act on their membership here.
    manage_member: Option<i64>,
    member_status: String,
    /// "72.4 (NPS level +1.60, referrals +0.55)".
    propensity: String,
    /// A fresh key for the award form, so a form sent twice awards once.
    award_key: String,
    message: Option<String>,
    timeline: Vec<TimelineRow>,
    may_erase: bool,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

fn timeline_row(ui: &Ui, entry: &vouch_app::customers::TimelineEntry) -> TimelineRow {
    let row = |kind, tone, title: String, detail: String| TimelineRow {
        at: when(entry.at),
        kind,
        tone,
        title,
        detail,
        link: None,
        lines: Vec::new(),
    };
    match &entry.moment {
        Moment::Answer(r) => {
            let score = r.answer.score;
            let tone = match score.loyalty_category() {
                Some(category) => category_key(Some(category)),
                None => "neutral",
            };
            row(
                "tl_answer",
                tone,
                format!("{} · {} {score}", score.kind().as_str(), ui.t("score")),
                shown(r.answer.comment.as_deref().unwrap_or("")),
            )
        }
        Moment::Feedback(item) => {
            let f = &item.feedback;
            let mut title = f.source.to_string();
            if let Some(rating) = f.rating {
                title.push_str(&format!(" · {}★", rating.as_stars()));
            }
            if let Some(s) = f.sentiment {
                title.push_str(&format!(" · {} {s:+.2}", ui.t("sentiment")));
            }
            let body = match &f.title {
                Some(t) if !t.is_empty() => format!("{t} — {}", f.body),
                _ => f.body.clone(),
            };
            row("tl_feedback", "neutral", title, shown(&body))
        }
        Moment::Message(c) => row(
            "tl_message",
            if c.state == "sent" {
                "neutral"
            } else {
                "muted"
            },
            format!("{} · {}", c.what, c.purpose.as_str()),
            match &c.reason {
                Some(reason) => format!("{} ({reason})", c.state),
                None => c.state.clone(),
            },
        ),
        Moment::Task(task) => {
            let mut r = row(
                "tl_task",
                if task.state == "closed" {
                    "muted"
                } else {
                    "detractor"
                },
                format!("#{} {} · {}", task.id, task.task_type, task.state),
                shown(&task.reason),
            );
            r.link = Some(format!("/tasks?state={}", task.state));
            r
        }
        Moment::Run { run, playbook, log } => {
            let mut r = row(
                "tl_run",
                if run.held_out { "muted" } else { "neutral" },
                format!("{} · v{} · {}", shown(playbook), run.version, run.state),
                if run.held_out {
                    ui.t("held_out").to_owned()
                } else {
                    String::new()
                },
            );
            r.link = Some(format!("/playbooks/{}", run.playbook_id));
            r.lines = log
                .iter()
                .map(|e| {
                    let mut line = match (e.step, &e.action) {
                        (Some(step), Some(action)) => {
                            format!("{} {}: {action} → {}", ui.t("step"), step + 1, e.outcome)
                        }
                        _ => e.outcome.clone(),
                    };
                    if let Some(rule) = &e.rule {
                        line.push_str(&format!(" [{rule}]"));
                    }
                    if !e.detail.is_empty() {
                        line.push_str(&format!(" — {}", shown(&e.detail)));
                    }
                    line
                })
                .collect();
            r
        }
        Moment::CategoryChanged(change) => row(
            "tl_category",
            category_key(change.category.map(|c| c.category)),
            ui.t(category_key(change.category.map(|c| c.category)))
                .to_owned(),
            String::new(),
        ),
        Moment::Joined(member) => row(
            "tl_joined",
            "promoter",
            format!("{} · {}", ui.t("program"), member.joined_by.as_str()),
            String::new(),
        ),
        Moment::Points(entry) => row(
            "tl_points",
            "neutral",
            format!("{:+} · {}", entry.amount, entry.kind),
            shown(&entry.reason),
        ),
        Moment::Recognized(thanks) => row(
            "tl_recognized",
            "promoter",
            shown(&thanks.author),
            shown(&thanks.message),
        ),
    }
}

fn customer_page(
    ui: Ui,
    lang: &'static str,
    caller: crate::auth::Caller,
    profile: CustomerProfile,
    message: Option<String>,
) -> CustomerPage {
    let customer = &profile.view.customer;
    let category = profile.view.category.map(|c| c.category);
    let category_note = profile.view.category.map_or(String::new(), |c| {
        format!(
            "{} {}{}",
            ui.t("since"),
            c.signal_at.format("%Y-%m-%d"),
            if c.implied {
                format!(" · {}", ui.t("implied_by_review"))
            } else {
                String::new()
            }
        )
    });
    let strip = profile
        .view
        .category_history
        .iter()
        .map(|change| StripPart {
            from: change.at.format("%Y-%m-%d").to_string(),
            key: category_key(change.category.map(|c| c.category)),
        })
        .collect();
    let consents = profile
        .view
        .consents
        .iter()
        .map(|c| {
            (
                c.purpose.as_str().to_owned(),
                if c.granted {
                    "consent_given"
                } else {
                    "consent_withdrawn"
                },
                format!(
                    "{} · {}",
                    c.recorded_at.format("%Y-%m-%d"),
                    shown(&c.source)
                ),
            )
        })
        .collect();
    let member = profile.member.as_ref().map(|m| {
        format!(
            "{} · {} {} · {} {}",
            m.status.as_str(),
            m.points.spendable,
            ui.t("points_spendable"),
            m.points.lifetime,
            ui.t("points_lifetime")
        )
    });
    let timeline = profile
        .timeline
        .iter()
        .map(|entry| timeline_row(&ui, entry))
        .collect();
    CustomerPage {
        lang,
        id: customer.id.0,
        name: shown(customer.profile.name.as_deref().unwrap_or("")),
        email: customer
            .profile
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        external_id: shown(customer.profile.external_id.as_deref().unwrap_or("")),
        locale: customer.profile.locale.as_str().to_owned(),
        category: category_key(category),
        category_note,
        strip,
        attributes: customer
            .profile
            .attributes
            .iter()
            .map(|(k, v)| (shown(k), shown(v)))
            .collect(),
        tags: profile.tags.join(", "),
        consents,
        suppressed: profile.suppressed.clone(),
        member,
        manage_member: profile
            .member
            .as_ref()
            .filter(|_| caller.may(Permission::ManageProgram))
            .map(|m| m.id),
        member_status: profile
            .member
            .as_ref()
            .map(|m| m.status.as_str().to_owned())
            .unwrap_or_default(),
        propensity: profile.propensity.as_ref().map_or_else(
            || "–".to_owned(),
            |p| match crate::goal_pages::propensity_reasons(&ui, p) {
                reasons if reasons.is_empty() => format!("{:.1}", p.score),
                reasons => format!("{:.1} ({reasons})", p.score),
            },
        ),
        award_key: vouch_app::secrets::new_secret(),
        message,
        timeline,
        may_erase: caller.may(Permission::EraseCustomers),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        ui,
    }
}

/// The profile of customer `id`, or a 404 page.
async fn load(state: &AppState, id: i64) -> Result<CustomerProfile, PageError> {
    vouch_app::customers::profile(&state.store, CustomerId(id))
        .await?
        .ok_or(PageError::new(StatusCode::NOT_FOUND, "not_found"))
}

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    saved: Option<String>,
}

/// `GET /customers/{id}`: the profile and its timeline.
pub async fn customer(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadCustomers>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ProfileQuery>,
) -> Response {
    let (lang, t) = texts(&headers);
    let message = match q.saved.as_deref() {
        Some("1") => Some(Ui(t).t("program_saved").to_owned()),
        Some(_) => Some(Ui(t).t("member_not_saved").to_owned()),
        None => None,
    };
    match load(&state, id).await {
        Ok(profile) => render(customer_page(Ui(t), lang, caller, profile, message)),
        Err(e) => e.into_response(),
    }
}

/// `POST /customers/{id}/program`: staff act on the customer's membership:
/// `action` = `status` (with `status`), `award` (with `amount`, `reason`
/// and the form's `key`, so a form sent twice awards once) or `thanks`
/// (with `message` and `public`). The same use cases as the API's.
pub async fn act_on_member(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManageProgram>,
    Path(id): Path<i64>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Response {
    use vouch_app::program;
    let field = |name: &str| form.get(name).map_or("", |v| v.trim());
    if let Some(refused) = caller.form_refusal(field("csrf")) {
        return refused;
    }
    let member = match state.store.member_of_customer(CustomerId(id)).await {
        Ok(Some(member)) => member,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let done: Result<bool, vouch_app::AppError> = match field("action") {
        "status" => match field("status").parse() {
            Ok(status) => program::set_status(&state.store, member.id, status, &caller.name)
                .await
                .map(|m| m.is_some()),
            Err(_) => Ok(false),
        },
        "award" => match field("amount").parse::<i64>() {
            Ok(amount)
                if amount != 0 && amount.abs() <= 1_000_000 && !field("reason").is_empty() =>
            {
                let award = program::Award {
                    member: member.id,
                    amount,
                    reason: field("reason").chars().take(500).collect(),
                    idempotency_key: format!("staff:{}", field("key")),
                    source: "staff".into(),
                    actor: caller.name.clone(),
                };
                program::award(&state.store, &award)
                    .await
                    .map(|w| w.is_ok())
            }
            _ => Ok(false),
        },
        "thanks" => program::recognize(
            &state.store,
            member.id,
            field("message"),
            field("public") == "on",
            &caller.name,
        )
        .await
        .map(|r| matches!(r, Ok(Some(_)))),
        _ => Ok(false),
    };
    match done {
        Ok(saved) => Redirect::to(&format!(
            "/customers/{id}?saved={}#program-actions",
            if saved { 1 } else { 0 }
        ))
        .into_response(),
        // A paused or banned member earns nothing: said, not an error page.
        Err(vouch_app::AppError::Refused(_)) => {
            Redirect::to(&format!("/customers/{id}?saved=0#program-actions")).into_response()
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `GET /customers/{id}/export`: everything held about the person, as a
/// JSON download (GDPR access); admins only, and logged.
pub async fn export(
    State(state): State<AppState>,
    Page(caller, _): Page<need::EraseCustomers>,
    Path(id): Path<i64>,
) -> Response {
    let export = match vouch_app::records::export_customer(&state.store, CustomerId(id)).await {
        Ok(Some(export)) => export,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    tracing::info!(customer = id, by = %caller.name, "customer data exported");
    let body = match serde_json::to_vec_pretty(&export) {
        Ok(body) => body,
        Err(_) => {
            return PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "error_internal")
                .into_response();
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"customer-{id}.json\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[derive(Template)]
#[template(path = "customer_erase.html")]
struct ErasePage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    id: i64,
    email: String,
    error: bool,
}

/// `GET /customers/{id}/erase`: the confirmation asked before erasing.
pub async fn erase_form(
    State(state): State<AppState>,
    Page(caller, _): Page<need::EraseCustomers>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    erase_page(&state, caller, &headers, id, false).await
}

async fn erase_page(
    state: &AppState,
    caller: crate::auth::Caller,
    headers: &HeaderMap,
    id: i64,
    error: bool,
) -> Response {
    let (lang, t) = texts(headers);
    let customer = match state.store.customer(CustomerId(id)).await {
        Ok(Some(customer)) => customer,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut page = render(ErasePage {
        lang,
        ui: Ui(t),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        id,
        email: customer
            .profile
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        error,
    });
    if error {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

#[derive(Deserialize)]
pub struct EraseForm {
    csrf: String,
    /// The customer's id typed again, so one stray click erases no one.
    confirm: String,
}

/// `POST /customers/{id}/erase`: erases the person (the same use case as
/// `DELETE /api/v1/customers/{id}`) once their id is typed in confirmation.
pub async fn erase(
    State(state): State<AppState>,
    Page(caller, _): Page<need::EraseCustomers>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<EraseForm>,
) -> Response {
    if let Some(refused) = caller.form_refusal(&form.csrf) {
        return refused;
    }
    if form.confirm.trim() != id.to_string() {
        return erase_page(&state, caller, &headers, id, true).await;
    }
    match vouch_app::erasure::erase_customer(&state.store, CustomerId(id)).await {
        Ok(true) => {
            tracing::info!(customer = id, by = %caller.name, "customer erased");
            Redirect::to("/customers?erased=1").into_response()
        }
        Ok(false) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}
