//! The goals and maturity pages: goals with their current value, interval
//! and honest status, one goal's history against its target, a form that
//! sets a goal, and the maturity self-assessment with the evidence beside
//! each question. The same use cases as `/api/v1/goals` and
//! `/api/v1/maturity`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_app::goals::{Goal, GoalSegment, NewGoal};
use vouch_app::maturity::{Maturity, NewAssessment};
use vouch_domain::goals::GoalKpi;
use vouch_domain::maturity::Dimension;

use crate::AppState;
use crate::auth::{Caller, Page, need};
use crate::charts::{GoalPoint, NARROW, WIDE, goal_history};
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

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// "10.8 (7.2 … 14.3)", or a dash when nothing was measured.
fn shown_value(m: Option<vouch_domain::goals::Measurement>) -> String {
    m.map_or_else(
        || "–".to_owned(),
        |m| format!("{:.1} ({:.1} … {:.1})", m.value, m.ci_low, m.ci_high),
    )
}

struct GoalRow {
    id: i64,
    kpi: String,
    current: String,
    target: String,
    deadline: String,
    status: &'static str,
    status_label: String,
    owner: String,
}

#[derive(Default, Deserialize)]
pub struct GoalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kpi: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    specific: String,
    #[serde(default)]
    relevant: String,
}

#[derive(Template)]
#[template(path = "goals.html")]
struct GoalsPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    goals: Vec<GoalRow>,
    kpis: Vec<(&'static str, String)>,
    may_set: bool,
    form: GoalForm,
    error: Option<String>,
}

fn status_label(ui: &Ui, status: vouch_domain::goals::GoalStatus) -> String {
    ui.t(&format!("goal_status_{status}")).to_owned()
}

async fn goals_page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    form: GoalForm,
    error: Option<String>,
) -> Response {
    let (lang, t) = texts(headers);
    let ui = Ui(t);
    let goals = match vouch_app::goals::goals(&state.store, today()).await {
        Ok(g) => g,
        Err(e) => return PageError::from(e).into_response(),
    };
    let rows = goals
        .iter()
        .map(|g| GoalRow {
            id: g.id,
            kpi: ui.t(&format!("kpi_{}", g.kpi)).to_owned(),
            current: shown_value(g.current),
            target: format!("{}", g.target),
            deadline: g.deadline.to_string(),
            status: g.status.as_str(),
            status_label: status_label(&ui, g.status),
            owner: g.owner.clone(),
        })
        .collect();
    let kpis = GoalKpi::ALL
        .iter()
        .map(|k| (k.as_str(), ui.t(&format!("kpi_{k}")).to_owned()))
        .collect();
    let mut page = render(GoalsPage {
        lang,
        ui: Ui(t),
        who: who(caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        goals: rows,
        kpis,
        may_set: caller.role.can(vouch_domain::Permission::ManagePlaybooks),
        form,
        error: error.clone(),
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /goals`: every goal, the nearest deadline first, and the form
/// that sets one.
pub async fn goals(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadMetrics>,
    headers: HeaderMap,
) -> Response {
    let form = GoalForm {
        deadline: (today() + chrono::Duration::days(180)).to_string(),
        ..GoalForm::default()
    };
    goals_page(&state, &caller, &headers, form, None).await
}

/// `POST /goals`: sets a goal (its baseline measured now).
pub async fn set_goal(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManagePlaybooks>,
    headers: HeaderMap,
    Form(form): Form<GoalForm>,
) -> Response {
    if let Some(r) = caller.form_refusal(&form.csrf) {
        return r;
    }
    let (_, t) = texts(&headers);
    let ui = Ui(t);
    let refuse = |why: String| format!("{} {}", ui.t("goal_refused"), shown(&why));
    let kpi = match form.kpi.parse::<GoalKpi>() {
        Ok(k) => k,
        Err(e) => {
            let error = Some(refuse(e.to_string()));
            return goals_page(&state, &caller, &headers, form, error).await;
        }
    };
    let (Ok(target), Ok(deadline)) = (
        form.target.trim().replace(',', ".").parse::<f64>(),
        form.deadline.trim().parse::<chrono::NaiveDate>(),
    ) else {
        let error = Some(refuse(ui.t("goal_target_deadline").to_owned()));
        return goals_page(&state, &caller, &headers, form, error).await;
    };
    let plan = form.plan.trim();
    let new = NewGoal {
        kpi,
        platform: None,
        segment: GoalSegment {
            attributes: if plan.is_empty() {
                BTreeMap::new()
            } else {
                BTreeMap::from([("plan".to_owned(), plan.to_owned())])
            },
            ..GoalSegment::default()
        },
        target,
        direction: None,
        start: None,
        deadline,
        owner: form.owner.clone(),
        cadence: None,
        specific: form.specific.clone(),
        relevant: form.relevant.clone(),
    };
    match vouch_app::goals::set_goal(&state.store, &state.playbooks, &new, today()).await {
        Ok(goal) => Redirect::to(&format!("/goals/{}", goal.id)).into_response(),
        Err(vouch_app::AppError::Refused(why)) => {
            let error = Some(refuse(why));
            goals_page(&state, &caller, &headers, form, error).await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

struct CheckinRow {
    day: String,
    value: String,
    status_label: String,
}

#[derive(Template)]
#[template(path = "goal.html")]
struct GoalPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    goal: Goal,
    kpi: String,
    direction: String,
    status_label: String,
    current: String,
    baseline: String,
    projection: String,
    chart_wide: String,
    chart_narrow: String,
    checkins: Vec<CheckinRow>,
}

/// `GET /goals/{id}`: one goal, its history against the target, its check-ins.
pub async fn goal(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadMetrics>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let (lang, t) = texts(&headers);
    let ui = Ui(t);
    let goal = match vouch_app::goals::goal(&state.store, id, today()).await {
        Ok(Some(g)) => g,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let points: Vec<GoalPoint> = goal
        .checkins
        .iter()
        .filter_map(|c| {
            Some(GoalPoint {
                label: c.day.format("%m-%d").to_string(),
                value: c.value?,
                low: c.ci_low?,
                high: c.ci_high?,
            })
        })
        .collect();
    let label = format!(
        "{} {}",
        ui.t("goal_chart"),
        ui.t(&format!("kpi_{}", goal.kpi))
    );
    let checkins = goal
        .checkins
        .iter()
        .rev()
        .map(|c| CheckinRow {
            day: c.day.to_string(),
            value: match (c.value, c.ci_low, c.ci_high) {
                (Some(v), Some(l), Some(h)) => format!("{v:.1} ({l:.1} … {h:.1})"),
                _ => "–".to_owned(),
            },
            status_label: status_label(&ui, c.status),
        })
        .collect();
    render(GoalPage {
        lang,
        kpi: ui.t(&format!("kpi_{}", goal.kpi)).to_owned(),
        direction: ui.t(&format!("goal_{}", goal.direction)).to_owned(),
        status_label: status_label(&ui, goal.status),
        current: shown_value(goal.current),
        baseline: shown_value(Some(goal.baseline)),
        projection: goal.projection.map_or_else(
            || "–".to_owned(),
            |p| format!("{:.1} (± {:.1})", p.value, 1.96 * p.standard_error),
        ),
        chart_wide: goal_history(&points, goal.target, WIDE, "goal-chart", &label),
        chart_narrow: goal_history(&points, goal.target, NARROW, "goal-chart-narrow", &label),
        checkins,
        goal,
        ui,
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "maturity.html")]
struct MaturityPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    maturity: Maturity,
    may_assess: bool,
    error: Option<String>,
    done: bool,
}

#[derive(Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn maturity_page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    error: Option<String>,
    done: bool,
) -> Response {
    let (lang, t) = texts(headers);
    let maturity = match vouch_app::maturity::maturity(
        &state.store,
        &state.playbooks,
        lang,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(m) => m,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut page = render(MaturityPage {
        lang,
        ui: Ui(t),
        who: who(caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        maturity,
        may_assess: caller.role.can(vouch_domain::Permission::ManagePlaybooks),
        error: error.clone(),
        done,
    });
    if error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// `GET /maturity`: the self-assessment with its evidence and history.
pub async fn maturity(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadMetrics>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    maturity_page(&state, &caller, &headers, None, q.done.is_some()).await
}

/// `POST /maturity`: stores an assessment (a level per dimension, and
/// target levels where chosen).
pub async fn assess(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ManagePlaybooks>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    if let Some(r) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let (_, t) = texts(&headers);
    let ui = Ui(t);
    let mut new = NewAssessment {
        answers: BTreeMap::new(),
        targets: BTreeMap::new(),
    };
    for d in Dimension::ALL {
        if let Some(level) = form.get(d.as_str()).and_then(|v| v.parse().ok()) {
            new.answers.insert(*d, level);
        }
        if let Some(level) = form
            .get(&format!("target_{d}"))
            .and_then(|v| v.parse().ok())
        {
            new.targets.insert(*d, level);
        }
    }
    if new.answers.len() < Dimension::ALL.len() {
        let error = Some(ui.t("maturity_answer_all").to_owned());
        return maturity_page(&state, &caller, &headers, error, false).await;
    }
    match vouch_app::maturity::assess(&state.store, &new, &caller.name, chrono::Utc::now()).await {
        Ok(_) => Redirect::to("/maturity?done=1").into_response(),
        Err(vouch_app::AppError::Refused(why)) => {
            let error = Some(format!("{} {}", ui.t("maturity_refused"), shown(&why)));
            maturity_page(&state, &caller, &headers, error, false).await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// A propensity's reasons as the pages show them: "NPS score +1.60,
/// referrals +0.56", in the reader's language.
pub(crate) fn propensity_reasons(ui: &Ui, p: &vouch_domain::propensity::Propensity) -> String {
    p.reasons
        .iter()
        .map(|r| {
            format!(
                "{} +{:.2}",
                ui.t(&format!("feature_{}", r.feature)),
                r.contribution
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

struct LikelyRow {
    id: i64,
    name: String,
    category: String,
    score: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "likely_advocates.html")]
struct LikelyPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    rows: Vec<LikelyRow>,
}

/// `GET /likely-advocates`: passives and promoters not in the program,
/// likeliest first, each with the reasons that raised their score.
pub async fn likely_advocates(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadCustomers>,
    headers: HeaderMap,
) -> Response {
    let (lang, t) = texts(&headers);
    let ui = Ui(t);
    let list = match vouch_app::propensity::likely_advocates(
        &state.store,
        state.playbooks.lookback,
        chrono::Utc::now(),
        50,
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut rows = Vec::new();
    for a in list {
        let name = match state
            .store
            .customer(vouch_domain::CustomerId(a.customer_id))
            .await
        {
            Ok(c) => c
                .and_then(|c| {
                    c.profile
                        .name
                        .or(c.profile.email.map(|e| e.as_str().to_owned()))
                })
                .unwrap_or_else(|| format!("#{}", a.customer_id)),
            Err(e) => return PageError::from(e).into_response(),
        };
        rows.push(LikelyRow {
            id: a.customer_id,
            name: shown(&name),
            category: ui.t(a.category.as_str()).to_owned(),
            score: format!("{:.1}", a.propensity.score),
            reasons: propensity_reasons(&ui, &a.propensity),
        });
    }
    render(LikelyPage {
        lang,
        ui,
        who: who(&caller),
        csrf: caller.csrf.clone().unwrap_or_default(),
        rows,
    })
}
