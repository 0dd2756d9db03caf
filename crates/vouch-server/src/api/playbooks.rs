//! `/api/v1/playbooks`, `/api/v1/tasks` and the SLA report: nurturing
//! paths, the work they open, and how well it is done.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use vouch_app::playbooks::{PlaybookReport, Refusal};
use vouch_domain::playbooks::{Denial, PlaybookSpec, Priority, TaskState};
use vouch_store::{LogEntry, PlaybookRun, StoredPlaybook, TaskChange, TaskFilter, TaskRecord};

use super::{ApiError, ApiResult, Body, Params, Path, page, page_size, parse_field, time};
use crate::AppState;
use crate::auth::{Api, need};

#[derive(Serialize, ToSchema)]
pub struct PlaybookList {
    #[schema(value_type = Vec<PlaybookView>)]
    playbooks: Vec<StoredPlaybook>,
}

/// A playbook as stored: its current version's fields, with its id and version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlaybookView {
    id: i64,
    /// Set on the defaults Vouch installs (`default.detractor`…).
    default_key: Option<String>,
    version: i64,
    name: String,
    enabled: bool,
    trigger: vouch_domain::playbooks::Trigger,
    conditions: Vec<vouch_domain::playbooks::Condition>,
    steps: Vec<vouch_domain::playbooks::Step>,
    holdout_percent: u8,
    holdout_from_step: usize,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// A refused playbook: `code` is `compliance` (with the first denial's
/// `rule` and every denial) or `invalid` (with the `field`).
#[derive(Serialize, ToSchema)]
pub struct RefusalBody {
    error: RefusalDetail,
}

#[derive(Serialize, ToSchema)]
struct RefusalDetail {
    code: String,
    message: String,
    field: Option<String>,
    /// The rule of the first denial (`R1` … `R6`).
    rule: Option<String>,
    step: Option<usize>,
    denials: Option<Vec<Denial>>,
}

fn refused(refusal: Refusal) -> Response {
    let detail = match refusal {
        Refusal::Shape(field, message) => RefusalDetail {
            code: "invalid".into(),
            message,
            field: Some(field.into()),
            rule: None,
            step: None,
            denials: None,
        },
        Refusal::Compliance(denials) => RefusalDetail {
            code: "compliance".into(),
            message: denials
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            field: Some("steps".into()),
            rule: denials.first().map(|d| d.rule.as_str().to_owned()),
            step: denials.first().and_then(|d| d.step),
            denials: Some(denials),
        },
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(RefusalBody { error: detail }),
    )
        .into_response()
}

/// A playbook from a request body. serde reads an enum's variant from its
/// index as well as its name (`"action": 11` would be `wait`), which the
/// document does not allow: names only, checked here first.
fn spec_from(body: serde_json::Value) -> Result<PlaybookSpec, ApiError> {
    let named = |v: &serde_json::Value| v.is_string();
    for (i, step) in body["steps"].as_array().into_iter().flatten().enumerate() {
        if !named(&step["action"]) {
            return Err(ApiError::invalid(
                format!("steps[{i}].action"),
                "an action's name",
            ));
        }
        let audience = &step["audience"];
        if !(audience.is_null()
            || named(audience)
            || audience.as_object().is_some_and(|o| o.len() == 1))
        {
            return Err(ApiError::invalid(
                format!("steps[{i}].audience"),
                "everyone, {\"every_nth\": N} or {\"random_percent\": P}",
            ));
        }
    }
    for (i, condition) in body["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !named(&condition["op"]) {
            return Err(ApiError::invalid(
                format!("conditions[{i}].op"),
                "=, !=, >, >=, <, <= or in",
            ));
        }
    }
    serde_json::from_value(body)
        .map_err(|e| ApiError::invalid("body", format!("the body does not fit this route: {e}")))
}

/// Links a step posts to must be http(s) URLs of the webhook shape.
fn check_urls(spec: &PlaybookSpec) -> Result<(), Refusal> {
    use vouch_domain::playbooks::Action;
    for step in &spec.steps {
        if let Action::RequestReview { url, .. }
        | Action::Notify { url: Some(url), .. }
        | Action::CallWebhook { url } = &step.action
            && (url.len() > 2000 || !super::webhooks::url_shape_ok(url))
        {
            return Err(Refusal::Shape(
                "steps",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/playbooks", operation_id = "list_playbooks", tag = "playbooks",
    responses((status = 200, description = "Every playbook, its current version", body = PlaybookList)))]
pub async fn list(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
) -> ApiResult<PlaybookList> {
    Ok(Json(PlaybookList {
        playbooks: state.store.playbooks().await?,
    }))
}

/// Adds a playbook. The compliance guard checks it first: a denial is
/// 422 with `code: compliance` and the rule's name (docs/COMPLIANCE.md).
#[utoipa::path(post, path = "/api/v1/playbooks", operation_id = "create_playbook", tag = "playbooks",
    request_body = PlaybookSpec,
    responses((status = 201, description = "The playbook, version 1", body = PlaybookView),
              (status = 422, description = "Refused by the compliance guard, or a bad field", body = RefusalBody)))]
pub async fn create(
    _: Api<need::ManagePlaybooks>,
    State(state): State<AppState>,
    Body(body): Body<serde_json::Value>,
) -> Result<Response, ApiError> {
    let spec = spec_from(body)?;
    if let Err(refusal) = check_urls(&spec) {
        return Ok(refused(refusal));
    }
    Ok(
        match vouch_app::playbooks::create(&state.store, &spec).await? {
            Ok(playbook) => (StatusCode::CREATED, Json(playbook)).into_response(),
            Err(refusal) => refused(refusal),
        },
    )
}

/// What the guard says of a playbook, without saving it (the editor asks
/// before saving).
#[derive(Serialize, ToSchema)]
pub struct CheckResult {
    /// True when it could be saved as it is.
    ok: bool,
    denials: Vec<Denial>,
    /// A bad field, before the guard: `{field, message}`.
    invalid: Option<serde_json::Value>,
}

#[utoipa::path(post, path = "/api/v1/playbooks/check", operation_id = "check_playbook", tag = "playbooks",
    request_body = PlaybookSpec,
    responses((status = 200, description = "The guard's verdict", body = CheckResult)))]
pub async fn check(
    _: Api<need::ManagePlaybooks>,
    Body(body): Body<serde_json::Value>,
) -> ApiResult<CheckResult> {
    let spec = spec_from(body)?;
    let verdict = check_urls(&spec).and_then(|()| vouch_app::playbooks::check(&spec));
    let (denials, invalid) = match verdict {
        Ok(()) => (Vec::new(), None),
        Err(Refusal::Compliance(d)) => (d, None),
        Err(Refusal::Shape(field, message)) => (
            Vec::new(),
            Some(json!({"field": field, "message": message})),
        ),
    };
    Ok(Json(CheckResult {
        ok: denials.is_empty() && invalid.is_none(),
        denials,
        invalid,
    }))
}

#[utoipa::path(get, path = "/api/v1/playbooks/{id}", operation_id = "get_playbook", tag = "playbooks",
    params(("id" = i64, Path, description = "The playbook's id")),
    responses((status = 200, description = "The playbook", body = PlaybookView),
              (status = 404, description = "No such playbook", body = super::ErrorBody)))]
pub async fn get(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<StoredPlaybook> {
    state
        .store
        .playbook(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("playbook", id))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdateQuery {
    /// What happens to runs waiting for a delayed step: `finish` (with the
    /// version that started them, the default) or `cancel`.
    #[param(inline, value_type = Option<PendingChoice>)]
    pending: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
enum PendingChoice {
    Finish,
    Cancel,
}

/// Saves a new version (pausing is `enabled: false`). Runs waiting for a
/// delayed step finish with their own version, or are cancelled with
/// `pending=cancel`.
#[utoipa::path(put, path = "/api/v1/playbooks/{id}", operation_id = "update_playbook", tag = "playbooks",
    params(("id" = i64, Path, description = "The playbook's id"), UpdateQuery),
    request_body = PlaybookSpec,
    responses((status = 200, description = "The playbook, its new version", body = PlaybookView),
              (status = 404, description = "No such playbook", body = super::ErrorBody),
              (status = 422, description = "Refused by the compliance guard, or a bad field", body = RefusalBody)))]
pub async fn update(
    _: Api<need::ManagePlaybooks>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Params(q): Params<UpdateQuery>,
    Body(body): Body<serde_json::Value>,
) -> Result<Response, ApiError> {
    let spec = spec_from(body)?;
    let cancel = match q.pending.as_deref() {
        None | Some("finish") => false,
        Some("cancel") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "pending",
                format!("{other:?}: expected finish or cancel"),
            ));
        }
    };
    if let Err(refusal) = check_urls(&spec) {
        return Ok(refused(refusal));
    }
    match vouch_app::playbooks::update(&state.store, id, &spec, cancel).await? {
        None => Err(ApiError::not_found("playbook", id)),
        Some(Ok(playbook)) => Ok(Json(playbook).into_response()),
        Some(Err(refusal)) => Ok(refused(refusal)),
    }
}

/// Deletes a playbook and cancels its pending steps; the tasks it opened stay.
#[utoipa::path(delete, path = "/api/v1/playbooks/{id}", operation_id = "delete_playbook", tag = "playbooks",
    params(("id" = i64, Path, description = "The playbook's id")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such playbook", body = super::ErrorBody)))]
pub async fn delete(
    _: Api<need::ManagePlaybooks>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_playbook(id, chrono::Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("playbook", id))
    }
}

/// A run with every decision it logged.
#[derive(Serialize, ToSchema)]
pub struct RunWithLog {
    #[serde(flatten)]
    run: PlaybookRun,
    log: Vec<LogEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    runs: Vec<RunWithLog>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Runs per page, 1–500 (default 50), newest first.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/playbooks/{id}/runs", operation_id = "list_playbook_runs", tag = "playbooks",
    params(("id" = i64, Path, description = "The playbook's id"), RunsQuery),
    responses((status = 200, description = "Its newest runs, each with its log", body = RunList),
              (status = 404, description = "No such playbook", body = super::ErrorBody)))]
pub async fn runs(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Params(q): Params<RunsQuery>,
) -> ApiResult<RunList> {
    if state.store.playbook(id).await?.is_none() {
        return Err(ApiError::not_found("playbook", id));
    }
    let limit = page_size(q.limit)?;
    with_logs(
        &state,
        state.store.playbook_runs(Some(id), None, limit).await?,
    )
    .await
}

pub(super) async fn with_logs(state: &AppState, runs: Vec<PlaybookRun>) -> ApiResult<RunList> {
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        let log = state.store.run_log(run.id).await?;
        out.push(RunWithLog { run, log });
    }
    Ok(Json(RunList { runs: out }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Outcomes are read this many days after each run (default 90).
    #[param(minimum = 1, maximum = 730)]
    days: Option<u32>,
}

/// Treated against held-out customers: each outcome as a difference with
/// its 95% interval and p-value, or `status: not_enough_data`.
#[utoipa::path(get, path = "/api/v1/playbooks/{id}/report", operation_id = "playbook_report", tag = "playbooks",
    params(("id" = i64, Path, description = "The playbook's id"), ReportQuery),
    responses((status = 200, description = "The report", body = PlaybookReport),
              (status = 404, description = "No such playbook", body = super::ErrorBody)))]
pub async fn report(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Params(q): Params<ReportQuery>,
) -> ApiResult<PlaybookReport> {
    let days = q.days.unwrap_or(90);
    if !(1..=730).contains(&days) {
        return Err(ApiError::invalid("days", "1 to 730"));
    }
    vouch_app::playbooks::report(&state.store, &state.playbooks, id, days, 0.95)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("playbook", id))
}

page!(
    /// A page of tasks, newest first.
    TaskPage { tasks: TaskRecord }
);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TasksQuery {
    /// Only this customer's tasks.
    customer: Option<i64>,
    /// `open`, `in_progress`, `snoozed` or `closed`; `active` for any but closed.
    #[param(inline, value_type = Option<TaskStateFilter>)]
    state: Option<String>,
    team: Option<String>,
    owner: Option<String>,
    /// Only tasks past (true) or within (false) their resolution target.
    overdue: Option<bool>,
    /// The `next` of the previous page.
    after: Option<i64>,
    /// Tasks per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
enum TaskStateFilter {
    Open,
    InProgress,
    Snoozed,
    Closed,
    Active,
}

#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "list_tasks", tag = "tasks", params(TasksQuery),
    responses((status = 200, description = "A page of tasks", body = TaskPage),
              (status = 422, description = "A bad filter", body = super::ErrorBody)))]
pub async fn tasks(
    _: Api<need::WorkTasks>,
    State(state): State<AppState>,
    Params(q): Params<TasksQuery>,
) -> ApiResult<TaskPage> {
    let limit = page_size(q.limit)?;
    let (state_filter, not_closed) = match q.state.as_deref() {
        None => (None, false),
        Some("active") => (None, true),
        Some(s) => (Some(parse_field::<TaskState>("state", s)?), false),
    };
    let tasks = state
        .store
        .tasks(&TaskFilter {
            customer: q.customer.map(vouch_domain::CustomerId),
            state: state_filter,
            not_closed,
            team: q.team,
            owner: q.owner,
            overdue: q.overdue,
            before: q.after,
            limit: limit + 1,
        })
        .await?;
    let (tasks, next) = super::fetched_page(tasks, limit, |t: &TaskRecord| t.id);
    Ok(Json(TaskPage { tasks, next }))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", operation_id = "get_task", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses((status = 200, description = "The task", body = TaskRecord),
              (status = 404, description = "No such task", body = super::ErrorBody)))]
pub async fn task(
    _: Api<need::WorkTasks>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<TaskRecord> {
    state
        .store
        .task(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("task", id))
}

/// A change to a task; every field is optional.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[schema(value_type = Option<TaskState>)]
    state: Option<String>,
    /// A staff email, or null to unassign.
    #[serde(default, deserialize_with = "super::given")]
    #[schema(value_type = Option<String>, max_length = 254)]
    owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::given")]
    #[schema(value_type = Option<String>, max_length = 100)]
    team: Option<Option<String>>,
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    /// How it ended, when closing: `resolved`, `acknowledged`, `unreachable`, `invalid`.
    #[schema(value_type = Option<vouch_domain::playbooks::Resolution>)]
    resolution: Option<String>,
    #[schema(max_length = 10000)]
    note: Option<String>,
    /// The first answer reached the customer (stops the first-response clock).
    #[serde(default)]
    responded: bool,
}

/// Works a task: move its state (`open` → `in_progress` → `snoozed` →
/// `closed`, closed only back to open), assign it, note it. Closing needs
/// a `resolution`.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", operation_id = "update_task", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    request_body = TaskInput,
    responses((status = 200, description = "The task as changed", body = TaskRecord),
              (status = 404, description = "No such task", body = super::ErrorBody),
              (status = 409, description = "A move its state does not allow", body = super::ErrorBody),
              (status = 422, description = "A bad field", body = super::ErrorBody)))]
pub async fn update_task(
    _: Api<need::WorkTasks>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(input): Body<TaskInput>,
) -> ApiResult<TaskRecord> {
    let next = input
        .state
        .as_deref()
        .map(|s| parse_field::<TaskState>("state", s))
        .transpose()?;
    let priority = input
        .priority
        .as_deref()
        .map(|p| parse_field::<Priority>("priority", p))
        .transpose()?;
    let resolution = input
        .resolution
        .as_deref()
        .map(|r| parse_field::<vouch_domain::playbooks::Resolution>("resolution", r))
        .transpose()?;
    for (field, value, max) in [
        ("owner", input.owner.clone().flatten(), 254),
        ("team", input.team.clone().flatten(), 100),
        ("note", input.note.clone(), 10_000),
    ] {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(ApiError::invalid(
                field,
                format!("at most {max} characters"),
            ));
        }
    }
    let Some(before) = state.store.task(id).await? else {
        return Err(ApiError::not_found("task", id));
    };
    if let Some(next) = next {
        let now: TaskState = parse_field("state", &before.state)?;
        if now != next && !now.can_become(next) {
            return Err(ApiError::conflict(
                "state",
                format!("a {now} task cannot become {next}"),
            ));
        }
        if next == TaskState::Closed && resolution.is_none() && before.resolution.is_none() {
            return Err(ApiError::invalid(
                "resolution",
                "closing a task needs a resolution",
            ));
        }
    }
    let change = TaskChange {
        state: next,
        owner: input.owner,
        team: input.team,
        priority,
        resolution: resolution.map(|r| r.as_str().to_owned()),
        note: input.note,
        responded: input.responded,
    };
    state
        .store
        .change_task(id, &change, chrono::Utc::now())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("task", id))
}

/// A reply to the task's customer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    #[schema(min_length = 1, max_length = 200)]
    subject: String,
    #[schema(min_length = 1, max_length = 20000)]
    body: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReplyQueued {
    reply_id: i64,
}

/// Replies to the task's customer by email, a `service` message through
/// the mail layer (no consent needed; a bounced address gets nothing).
/// The first reply sent stops the first-response clock.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reply", operation_id = "reply_to_task", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    request_body = ReplyInput,
    responses((status = 202, description = "Queued for the mail layer", body = ReplyQueued),
              (status = 404, description = "No such task", body = super::ErrorBody),
              (status = 409, description = "The task has no customer with an email address", body = super::ErrorBody),
              (status = 422, description = "An empty or overlong subject or body", body = super::ErrorBody)))]
pub async fn reply(
    caller: Api<need::WorkTasks>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Body(input): Body<ReplyInput>,
) -> Result<(StatusCode, Json<ReplyQueued>), ApiError> {
    let subject = input.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(ApiError::invalid("subject", "1 to 200 characters"));
    }
    if input.body.trim().is_empty() || input.body.chars().count() > 20_000 {
        return Err(ApiError::invalid("body", "1 to 20000 characters"));
    }
    if state.store.task(id).await?.is_none() {
        return Err(ApiError::not_found("task", id));
    }
    match vouch_app::playbooks::reply_to_task(
        &state.store,
        id,
        &caller.0.name,
        subject,
        &input.body,
    )
    .await?
    {
        Some(reply_id) => Ok((StatusCode::ACCEPTED, Json(ReplyQueued { reply_id }))),
        None => Err(ApiError::conflict(
            "customer_id",
            "the task has no customer with an email address",
        )),
    }
}

/// A team and its members (staff emails), in round-robin order.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(max_items = 200)]
    members: Vec<String>,
}

/// One routing rule: the first whose conditions all hold picks the team.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    #[serde(default)]
    #[schema(max_items = 20)]
    conditions: Vec<vouch_domain::playbooks::Condition>,
    #[schema(min_length = 1, max_length = 100)]
    team: String,
}

/// How close-the-loop tasks find their team: the teams, and the ordered
/// rules (by topic, `attributes.segment`, `locale`, `category`…).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    #[schema(max_items = 100)]
    teams: Vec<TeamInput>,
    #[schema(max_items = 100)]
    rules: Vec<RuleInput>,
}

#[utoipa::path(get, path = "/api/v1/routing", operation_id = "get_routing", tag = "tasks",
    responses((status = 200, description = "The teams and the routing rules", body = Routing)))]
pub async fn routing(_: Api<need::WorkTasks>, State(state): State<AppState>) -> ApiResult<Routing> {
    read_routing(&state).await
}

async fn read_routing(state: &AppState) -> ApiResult<Routing> {
    let teams = state
        .store
        .teams()
        .await?
        .into_iter()
        .map(|(name, members)| TeamInput { name, members })
        .collect();
    let rules = state
        .store
        .routing_rules()
        .await?
        .into_iter()
        .map(|(conditions, team)| RuleInput { conditions, team })
        .collect();
    Ok(Json(Routing { teams, rules }))
}

/// Sets the teams (added or changed; a team not named stays) and replaces
/// the routing rules. A rule's team must be one of the teams.
#[utoipa::path(put, path = "/api/v1/routing", operation_id = "set_routing", tag = "tasks",
    request_body = Routing,
    responses((status = 200, description = "The routing as stored", body = Routing),
              (status = 422, description = "A bad team, member or rule", body = super::ErrorBody)))]
pub async fn set_routing(
    _: Api<need::ManagePlaybooks>,
    State(state): State<AppState>,
    Body(input): Body<serde_json::Value>,
) -> ApiResult<Routing> {
    for (i, rule) in input["rules"].as_array().into_iter().flatten().enumerate() {
        for (j, c) in rule["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if !c["op"].is_string() {
                return Err(ApiError::invalid(
                    format!("rules[{i}].conditions[{j}].op"),
                    "=, !=, >, >=, <, <= or in",
                ));
            }
        }
    }
    let input: Routing = serde_json::from_value(input)
        .map_err(|e| ApiError::invalid("body", format!("the body does not fit this route: {e}")))?;
    let mut known: std::collections::BTreeSet<String> = state
        .store
        .teams()
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for (i, team) in input.teams.iter().enumerate() {
        let name = team.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid(
                format!("teams[{i}].name"),
                "1 to 100 characters",
            ));
        }
        for (j, member) in team.members.iter().enumerate() {
            vouch_domain::Email::parse(member).map_err(|e| {
                ApiError::invalid(format!("teams[{i}].members[{j}]"), e.to_string())
            })?;
        }
        known.insert(name.to_owned());
    }
    for (i, rule) in input.rules.iter().enumerate() {
        if !known.contains(rule.team.trim()) {
            return Err(ApiError::invalid(
                format!("rules[{i}].team"),
                format!("no team {:?}: add it under teams", rule.team),
            ));
        }
    }
    for team in &input.teams {
        state
            .store
            .set_team(team.name.trim(), &team.members)
            .await?;
    }
    let rules: Vec<_> = input
        .rules
        .into_iter()
        .map(|r| (r.conditions, r.team.trim().to_owned()))
        .collect();
    state.store.set_routing_rules(&rules).await?;
    read_routing(&state).await
}

/// SLA figures of one team.
#[derive(Serialize, ToSchema)]
pub struct TeamSla {
    team: String,
    #[serde(flatten)]
    summary: vouch_domain::SlaSummary,
}

#[derive(Serialize, ToSchema)]
pub struct SlaReport {
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    /// `all`, then each team (`no team` for unrouted tasks).
    teams: Vec<TeamSla>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlaQuery {
    /// Tasks opened from this time (date or RFC 3339; default 30 days before `to`).
    #[param(value_type = Option<super::schemas::Time>, inline)]
    from: Option<String>,
    /// Tasks opened before this time (default: now).
    #[param(value_type = Option<super::schemas::Time>, inline)]
    to: Option<String>,
}

/// The share of tasks closed in SLA, and median first response and
/// resolution times in business hours, per team.
#[utoipa::path(get, path = "/api/v1/reports/sla", operation_id = "sla_report", tag = "tasks", params(SlaQuery),
    responses((status = 200, description = "The SLA report", body = SlaReport),
              (status = 422, description = "A bad time", body = super::ErrorBody)))]
pub async fn sla(
    _: Api<need::ReadMetrics>,
    State(state): State<AppState>,
    Params(q): Params<SlaQuery>,
) -> ApiResult<SlaReport> {
    let now = chrono::Utc::now();
    let to = time("to", q.to.as_deref())?.unwrap_or(now);
    let from = time("from", q.from.as_deref())?.unwrap_or(to - chrono::Duration::days(30));
    let teams = vouch_app::playbooks::sla_report(&state.store, &state.playbooks, from, to)
        .await?
        .into_iter()
        .map(|(team, summary)| TeamSla { team, summary })
        .collect();
    Ok(Json(SlaReport { from, to, teams }))
}

/// A customer's playbook runs, for the timeline.
#[utoipa::path(get, path = "/api/v1/customers/{id}/runs", operation_id = "customer_runs", tag = "playbooks",
    params(("id" = i64, Path, description = "The customer's id"), RunsQuery),
    responses((status = 200, description = "The customer's newest runs, each with its log", body = RunList),
              (status = 404, description = "No such customer", body = super::ErrorBody)))]
pub async fn customer_runs(
    _: Api<need::ReadCustomers>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Params(q): Params<RunsQuery>,
) -> ApiResult<RunList> {
    let customer = vouch_domain::CustomerId(id);
    if state.store.customer(customer).await?.is_none() {
        return Err(ApiError::not_found("customer", id));
    }
    let limit = page_size(q.limit)?;
    with_logs(
        &state,
        state
            .store
            .playbook_runs(None, Some(customer), limit)
            .await?,
    )
    .await
}
