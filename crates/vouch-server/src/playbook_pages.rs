//! The staff pages of nurturing paths: the task queue (filters, SLA
//! countdowns, bulk assign, one form per task) and the playbook editor
//! (the guard's verdict shown before saving). Same use cases as
//! `/api/v1/tasks` and `/api/v1/playbooks`; forms carry the CSRF token.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_domain::Permission;
use vouch_domain::playbooks::{PlaybookSpec, Resolution, TaskState};
use vouch_store::{TaskChange, TaskFilter};

use crate::AppState;
use crate::auth::{Caller, Page, need};
use crate::edge::Form;
use crate::error::PageError;
use crate::locale::{Ui, texts};
use crate::pages::render;

struct TaskRow {
    id: i64,
    task_type: String,
    priority: String,
    state: String,
    state_label: &'static str,
    team: String,
    owner: String,
    customer: String,
    reason: String,
    /// "due in 5 h 20 min" or "overdue by 2 h".
    clock: String,
    late: bool,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    tasks: Vec<TaskRow>,
    states: Vec<(&'static str, &'static str, bool)>,
    resolutions: Vec<&'static str>,
    team: String,
    owner: String,
    query: String,
    /// The caller's own open tasks.
    mine: String,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct TasksQuery {
    state: Option<String>,
    team: Option<String>,
    owner: Option<String>,
    saved: Option<String>,
    /// `true`: only tasks past their resolution target (the dashboard's tile).
    overdue: Option<String>,
}

fn state_label(state: &str) -> &'static str {
    match state {
        "open" => "state_open",
        "in_progress" => "state_in_progress",
        "snoozed" => "state_snoozed",
        "closed" => "state_closed",
        _ => "state_active",
    }
}

/// A countdown's words: "3 d 4 h", "5 h 20 min", "12 min".
fn span(minutes: i64) -> String {
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (d, h, m) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// `GET /tasks`: the queue, filtered in the URL so a view can be shared.
pub async fn tasks(
    State(state): State<AppState>,
    Page(caller, _): Page<need::WorkTasks>,
    headers: HeaderMap,
    Query(q): Query<TasksQuery>,
) -> Response {
    let (lang, t) = texts(&headers);
    let ui = Ui(t);
    let wanted = q.state.clone().unwrap_or_else(|| "active".into());
    let (state_filter, not_closed) = match wanted.parse::<TaskState>() {
        Ok(s) => (Some(s), false),
        Err(_) => (None, true),
    };
    let clean = |v: &Option<String>| {
        v.clone()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let filter = TaskFilter {
        state: state_filter,
        not_closed,
        team: clean(&q.team),
        owner: clean(&q.owner),
        overdue: (q.overdue.as_deref() == Some("true")).then_some(true),
        limit: 200,
        ..TaskFilter::default()
    };
    let found = match state.store.tasks(&filter).await {
        Ok(found) => found,
        Err(e) => return PageError::from(e).into_response(),
    };
    let now = chrono::Utc::now();
    let rows = found
        .into_iter()
        .map(|task| {
            let minutes = (task.due_at - now).num_minutes();
            let open = task.state != "closed";
            TaskRow {
                id: task.id,
                clock: if !open {
                    String::new()
                } else if minutes >= 0 {
                    format!("{} {}", ui.t("due_in"), span(minutes))
                } else {
                    format!("{} {}", ui.t("overdue_by"), span(-minutes))
                },
                late: open && minutes < 0,
                state_label: state_label(&task.state),
                task_type: task.task_type,
                priority: task.priority,
                state: task.state,
                team: task.team.unwrap_or_default(),
                owner: task.owner.unwrap_or_default(),
                customer: task.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                reason: task.reason,
            }
        })
        .collect();
    let query = serde_urlencoded::to_string([
        ("state", wanted.as_str()),
        ("team", filter.team.as_deref().unwrap_or("")),
        ("owner", filter.owner.as_deref().unwrap_or("")),
        (
            "overdue",
            if filter.overdue == Some(true) {
                "true"
            } else {
                ""
            },
        ),
    ])
    .unwrap_or_default();
    render(TasksPage {
        lang,
        states: ["active", "open", "in_progress", "snoozed", "closed"]
            .into_iter()
            .map(|s| (s, state_label(s), s == wanted))
            .collect(),
        resolutions: Resolution::ALL.iter().map(|r| r.as_str()).collect(),
        team: filter.team.unwrap_or_default(),
        owner: filter.owner.unwrap_or_default(),
        message: q.saved.map(|_| ui.t("task_saved").to_owned()),
        mine: format!(
            "/tasks?{}",
            serde_urlencoded::to_string([("state", "active"), ("owner", caller.name.as_str())])
                .unwrap_or_default()
        ),
        ui,
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        tasks: rows,
        query,
    })
}

/// `POST /tasks/{id}`: moves one task (closing needs a resolution), with a note.
pub async fn work_task(
    State(state): State<AppState>,
    Page(caller, _): Page<need::WorkTasks>,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let back = form.get("back").cloned().unwrap_or_default();
    let Some(task) = (match state.store.task(id).await {
        Ok(t) => t,
        Err(e) => return PageError::from(e).into_response(),
    }) else {
        return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response();
    };
    let next: Option<TaskState> = form.get("state").and_then(|s| s.parse().ok());
    let resolution: Option<Resolution> = form
        .get("resolution")
        .filter(|r| !r.is_empty())
        .and_then(|r| r.parse().ok());
    if let Some(next) = next {
        let now: TaskState = task.state.parse().unwrap_or(TaskState::Open);
        if now != next && !now.can_become(next) {
            return PageError::new(StatusCode::CONFLICT, "task_move").into_response();
        }
        if next == TaskState::Closed && resolution.is_none() {
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "task_resolution")
                .into_response();
        }
    }
    let change = TaskChange {
        state: next,
        resolution: resolution.map(|r| r.as_str().to_owned()),
        note: form
            .get("note")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
        ..TaskChange::default()
    };
    if let Err(e) = state
        .store
        .change_task(id, &change, chrono::Utc::now())
        .await
    {
        return PageError::from(e).into_response();
    }
    Redirect::to(&format!("/tasks?{back}&saved=1")).into_response()
}

/// `POST /tasks`: assigns every ticked task (`task_ID=on`) to one owner.
pub async fn assign_tasks(
    State(state): State<AppState>,
    Page(caller, _): Page<need::WorkTasks>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let owner = form
        .get("owner")
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty() && o.chars().count() <= 254);
    let change = TaskChange {
        owner: Some(owner),
        ..TaskChange::default()
    };
    for id in form
        .keys()
        .filter_map(|k| k.strip_prefix("task_"))
        .filter_map(|id| id.parse::<i64>().ok())
    {
        if let Err(e) = state
            .store
            .change_task(id, &change, chrono::Utc::now())
            .await
        {
            return PageError::from(e).into_response();
        }
    }
    let back = form.get("back").cloned().unwrap_or_default();
    Redirect::to(&format!("/tasks?{back}&saved=1")).into_response()
}

struct SlaRow {
    team: String,
    /// The team's queue; none for the "all" row.
    link: Option<String>,
    tasks: u64,
    closed: u64,
    in_sla: String,
    first_response_in_sla: String,
    median_first_response: String,
    median_resolution: String,
}

#[derive(Template)]
#[template(path = "sla_report.html")]
struct SlaPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    periods: Vec<(u32, bool)>,
    days: u32,
    rows: Vec<SlaRow>,
}

#[derive(Deserialize, Default)]
pub struct SlaQuery {
    days: Option<u32>,
}

/// `GET /reports/sla`: the share of tasks in SLA and the median times,
/// per team, over the last 30, 90 or 365 days.
pub async fn sla_report(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadMetrics>,
    headers: HeaderMap,
    Query(q): Query<SlaQuery>,
) -> Response {
    let (lang, t) = texts(&headers);
    let days = q.days.filter(|d| [30, 90, 365].contains(d)).unwrap_or(30);
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::days(i64::from(days));
    let teams =
        match vouch_app::playbooks::sla_report(&state.store, &state.playbooks, from, to).await {
            Ok(teams) => teams,
            Err(e) => return PageError::from(e).into_response(),
        };
    let share = |s: Option<f64>| s.map_or("–".to_owned(), |s| format!("{:.0}%", s * 100.0));
    let hours = |h: Option<f64>| h.map_or("–".to_owned(), |h| format!("{h:.1} h"));
    render(SlaPage {
        lang,
        ui: Ui(t),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        periods: [30, 90, 365].into_iter().map(|d| (d, d == days)).collect(),
        days,
        rows: teams
            .into_iter()
            .map(|(team, s)| SlaRow {
                link: (team != "all").then(|| {
                    format!(
                        "/tasks?{}",
                        serde_urlencoded::to_string([("state", "active"), ("team", team.as_str())])
                            .unwrap_or_default()
                    )
                }),
                team,
                tasks: s.tasks,
                closed: s.closed,
                in_sla: share(s.in_sla_share),
                first_response_in_sla: share(s.first_response_in_sla_share),
                median_first_response: hours(s.median_first_response_hours),
                median_resolution: hours(s.median_resolution_hours),
            })
            .collect(),
    })
}

struct PlaybookRow {
    id: i64,
    name: String,
    enabled: bool,
    trigger: String,
    steps: String,
    holdout: u8,
    version: i64,
}

#[derive(Template)]
#[template(path = "playbooks.html")]
struct PlaybooksPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    playbooks: Vec<PlaybookRow>,
    can_manage: bool,
}

/// `GET /playbooks`.
pub async fn playbooks(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadCustomers>,
    headers: HeaderMap,
) -> Response {
    let (lang, t) = texts(&headers);
    let list = match state.store.playbooks().await {
        Ok(list) => list,
        Err(e) => return PageError::from(e).into_response(),
    };
    render(PlaybooksPage {
        lang,
        ui: Ui(t),
        can_manage: caller.may(Permission::ManagePlaybooks),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        playbooks: list
            .into_iter()
            .map(|p| PlaybookRow {
                id: p.id,
                trigger: p.spec.trigger.to_string(),
                steps: p
                    .spec
                    .steps
                    .iter()
                    .map(|s| s.action.name())
                    .collect::<Vec<_>>()
                    .join(" → "),
                enabled: p.spec.enabled,
                holdout: p.spec.holdout_percent,
                version: p.version,
                name: p.spec.name,
            })
            .collect(),
    })
}

struct OutcomeRow {
    name: String,
    n: String,
    result: Option<String>,
}

#[derive(Template)]
#[template(path = "playbook_edit.html")]
struct PlaybookEditPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    id: i64,
    name: String,
    version: i64,
    json: String,
    error: Option<String>,
    treated: u64,
    held_out: u64,
    outcomes: Vec<OutcomeRow>,
}

async fn edit_page(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    id: i64,
    draft: Option<(String, String)>,
) -> Response {
    let (lang, t) = texts(headers);
    let ui = Ui(t);
    let playbook = match state.store.playbook(id).await {
        Ok(Some(p)) => p,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let report =
        match vouch_app::playbooks::report(&state.store, &state.playbooks, id, 90, 0.95).await {
            Ok(r) => r,
            Err(e) => return PageError::from(e).into_response(),
        };
    let outcomes = report
        .as_ref()
        .map(|r| {
            r.outcomes
                .iter()
                .map(|o| OutcomeRow {
                    name: ui.t(&format!("outcome_{}", o.outcome)).to_owned(),
                    n: format!("{} / {}", o.treated_n, o.held_out_n),
                    result: match (o.difference, o.ci_low, o.ci_high, o.p_value) {
                        (Some(d), Some(lo), Some(hi), Some(p)) => {
                            Some(format!("{d:+.3} ({lo:+.3} … {hi:+.3}), p = {p:.3}"))
                        }
                        _ => None,
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let status = if draft.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (json, error) = match draft {
        Some((json, error)) => (json, Some(error)),
        None => (
            serde_json::to_string_pretty(&playbook.spec).unwrap_or_default(),
            None,
        ),
    };
    let mut response = render(PlaybookEditPage {
        lang,
        ui,
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        id,
        name: playbook.spec.name,
        version: playbook.version,
        json,
        error,
        treated: report.as_ref().map_or(0, |r| r.treated.customers),
        held_out: report.as_ref().map_or(0, |r| r.held_out.customers),
        outcomes,
    });
    *response.status_mut() = status;
    response
}

/// `GET /playbooks/{id}`: the editor, with the report below it.
pub async fn edit_playbook(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManagePlaybooks>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    edit_page(&state, caller, &headers, id, None).await
}

#[derive(Deserialize)]
pub struct PlaybookForm {
    csrf: String,
    spec: String,
    #[serde(default)]
    pending: String,
}

/// `POST /playbooks/{id}`: saves a new version, through the guard; a
/// refusal shows the editor again with the draft and the rule's name.
pub async fn save_playbook(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManagePlaybooks>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<PlaybookForm>,
) -> Response {
    if let Some(refused) = caller.form_refusal(&form.csrf) {
        return refused;
    }
    let spec: PlaybookSpec = match serde_json::from_str(&form.spec) {
        Ok(spec) => spec,
        Err(e) => {
            let why = format!("line {}, column {}: {e}", e.line(), e.column());
            return edit_page(&state, caller, &headers, id, Some((form.spec, why))).await;
        }
    };
    let cancel = form.pending == "cancel";
    match vouch_app::playbooks::update(&state.store, id, &spec, cancel).await {
        Ok(None) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Ok(Some(Ok(_))) => Redirect::to("/playbooks").into_response(),
        Ok(Some(Err(refusal))) => {
            let why = match refusal {
                vouch_app::playbooks::Refusal::Shape(field, reason) => format!("{field}: {reason}"),
                vouch_app::playbooks::Refusal::Compliance(denials) => denials
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            edit_page(&state, caller, &headers, id, Some((form.spec, why))).await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
