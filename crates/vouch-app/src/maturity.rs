//! The advocacy maturity self-assessment: the questions with evidence from
//! Vouch's own data beside each, so the answers are not opinion alone, and
//! the assessments kept as history with a target level per dimension.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use vouch_domain::goals::GoalStatus;
use vouch_domain::maturity::{Dimension, LEVELS, QUESTIONS, level, overall_level};
use vouch_store::Store;

use crate::playbooks::RunSettings;
use crate::{AppError, Result};

/// One fact from Vouch's data; `name` is a stable key the pages translate.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub name: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MaturityAnswer {
    pub level: u8,
    pub text: &'static str,
}

/// One dimension as the questionnaire shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DimensionView {
    pub dimension: Dimension,
    pub question: &'static str,
    /// Level 1 to 4.
    pub answers: Vec<MaturityAnswer>,
    pub evidence: Vec<Evidence>,
    /// From the latest assessment.
    pub level: Option<u8>,
    pub target: Option<u8>,
}

/// An assessment as kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Assessment {
    pub id: i64,
    pub levels: BTreeMap<Dimension, u8>,
    pub targets: BTreeMap<Dimension, u8>,
    /// The level every dimension has reached: the lowest.
    pub overall: u8,
    pub assessed_by: String,
    pub created_at: DateTime<Utc>,
}

/// The questionnaire with its evidence: `GET /api/v1/maturity`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Maturity {
    /// `en` or `ro`.
    pub language: &'static str,
    /// The four levels' names, 1 to 4.
    pub levels: Vec<MaturityAnswer>,
    pub dimensions: Vec<DimensionView>,
    /// Newest first.
    pub history: Vec<Assessment>,
}

/// A new assessment: the level chosen for every dimension, and optional targets.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssessment {
    pub answers: BTreeMap<Dimension, i64>,
    #[serde(default)]
    pub targets: BTreeMap<Dimension, i64>,
}

fn pick(language: &str, text: (&'static str, &'static str)) -> &'static str {
    if language == "ro" { text.1 } else { text.0 }
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_owned(), |s| format!("{:.0}%", 100.0 * s))
}

async fn evidence(
    store: &Store,
    settings: &RunSettings,
    now: DateTime<Utc>,
) -> Result<BTreeMap<Dimension, Vec<Evidence>>> {
    let by_source = store.feedback_by_source().await?;
    let items: i64 = by_source.iter().map(|(_, n, _)| n).sum();
    let tagged: i64 = by_source.iter().map(|(_, _, t)| t).sum();
    let connectors = store.sources().await?.len();
    let sla = crate::playbooks::sla_report(store, settings, now - Duration::days(90), now).await?;
    let in_sla = sla
        .iter()
        .find(|(team, _)| team == "all")
        .and_then(|(_, s)| s.in_sla_share);
    let playbooks = store.playbooks().await?;
    let active_playbooks = playbooks.iter().filter(|p| p.spec.enabled).count();
    let roles = store.roles_in_use().await?;
    let promoters = crate::program::promoters_now(store, settings.lookback, now).await?;
    let program = crate::program::kpis(store, &promoters).await?;
    let goals = crate::goals::goals(store, now.date_naive()).await?;
    let going_well = goals
        .iter()
        .filter(|g| matches!(g.status, GoalStatus::OnTrack | GoalStatus::Achieved))
        .count();
    let e = |name, value: String| Evidence { name, value };
    Ok(BTreeMap::from([
        (
            Dimension::CustomerKnowledge,
            vec![
                e("feedback_sources", by_source.len().to_string()),
                e("connectors", connectors.to_string()),
            ],
        ),
        (
            Dimension::FeedbackCatalogue,
            vec![
                e("feedback_items", items.to_string()),
                e(
                    "tagged_share",
                    percent((items > 0).then(|| tagged as f64 / items as f64)),
                ),
            ],
        ),
        (
            Dimension::Analysis,
            vec![
                e(
                    "own_taxonomy",
                    store.taxonomy().await?.is_some().to_string(),
                ),
                e(
                    "learnt_models",
                    store.sentiment_models().await?.len().to_string(),
                ),
            ],
        ),
        (
            Dimension::Roles,
            vec![e(
                "roles_in_use",
                roles
                    .iter()
                    .map(|(role, n)| format!("{role} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            )],
        ),
        (
            Dimension::CloseTheLoop,
            vec![
                e("tasks_in_sla_90_days", percent(in_sla)),
                e("active_playbooks", active_playbooks.to_string()),
            ],
        ),
        (
            Dimension::AdvocateProgram,
            vec![
                e("active_advocates", program.active_advocates.to_string()),
                e(
                    "promoters_enrolled",
                    percent(program.promoters_enrolled_share),
                ),
            ],
        ),
        (
            Dimension::Measurement,
            vec![
                e("goals_set", goals.len().to_string()),
                e("goals_on_track_or_achieved", going_well.to_string()),
            ],
        ),
    ]))
}

fn assessment_of(stored: vouch_store::StoredAssessment) -> Result<Assessment> {
    let read = |json: &str| {
        serde_json::from_str::<BTreeMap<Dimension, u8>>(json)
            .map_err(|e| AppError::Refused(format!("a stored assessment is unreadable: {e}")))
    };
    Ok(Assessment {
        id: stored.id,
        levels: read(&stored.levels)?,
        targets: read(&stored.targets)?,
        overall: u8::try_from(stored.overall).unwrap_or(1),
        assessed_by: stored.assessed_by,
        created_at: stored.created_at,
    })
}

/// The questionnaire in `language` (`ro`, else English), with evidence
/// and the history of assessments.
pub async fn maturity(
    store: &Store,
    settings: &RunSettings,
    language: &str,
    now: DateTime<Utc>,
) -> Result<Maturity> {
    let language = if language == "ro" { "ro" } else { "en" };
    let mut evidence = evidence(store, settings, now).await?;
    let history = store
        .assessments(50)
        .await?
        .into_iter()
        .map(assessment_of)
        .collect::<Result<Vec<_>>>()?;
    let latest = history.first();
    Ok(Maturity {
        language,
        levels: LEVELS
            .iter()
            .zip(1..)
            .map(|(text, level)| MaturityAnswer {
                level,
                text: pick(language, *text),
            })
            .collect(),
        dimensions: QUESTIONS
            .iter()
            .map(|q| DimensionView {
                dimension: q.dimension,
                question: pick(language, q.text),
                answers: q
                    .answers
                    .iter()
                    .zip(1..)
                    .map(|(text, level)| MaturityAnswer {
                        level,
                        text: pick(language, *text),
                    })
                    .collect(),
                evidence: evidence.remove(&q.dimension).unwrap_or_default(),
                level: latest.and_then(|a| a.levels.get(&q.dimension).copied()),
                target: latest.and_then(|a| a.targets.get(&q.dimension).copied()),
            })
            .collect(),
        history,
    })
}

/// Stores an assessment: every dimension answered with a level 1–4,
/// targets (optional) 1–4 and not below the answer.
pub async fn assess(
    store: &Store,
    new: &NewAssessment,
    assessed_by: &str,
    now: DateTime<Utc>,
) -> Result<Assessment> {
    let refused = |e: vouch_domain::DomainError| AppError::Refused(e.to_string());
    let mut levels = BTreeMap::new();
    for (dimension, value) in &new.answers {
        levels.insert(*dimension, level(*value, "answer").map_err(refused)?);
    }
    let overall = overall_level(&levels).map_err(refused)?;
    let mut targets = BTreeMap::new();
    for (dimension, value) in &new.targets {
        let target = level(*value, "target").map_err(refused)?;
        if target < levels[dimension] {
            return Err(AppError::Refused(format!(
                "the target for {dimension} ({target}) is below its level now ({})",
                levels[dimension]
            )));
        }
        targets.insert(*dimension, target);
    }
    let json = |m: &BTreeMap<Dimension, u8>| serde_json::to_string(m).expect("levels serialise");
    let id = store
        .add_assessment(
            &json(&levels),
            &json(&targets),
            i64::from(overall),
            assessed_by,
            now,
        )
        .await?;
    Ok(Assessment {
        id,
        levels,
        targets,
        overall,
        assessed_by: assessed_by.to_owned(),
        created_at: now,
    })
}
