//! The background work Vouch queues, typed: each `JobKind` has one payload
//! type, and a job is read back into a `Task` before a worker runs it, so
//! no worker matches on strings or digs in untyped JSON.

use chrono::{DateTime, Utc};
use vouch_domain::JobKind;
use vouch_store::{Job, NewJob};

use crate::events::{DeliveryPayload, WEBHOOK_ATTEMPTS};
use crate::playbooks::{STEP_ATTEMPTS, StepJob};
use crate::surveys::{EMAIL_ATTEMPTS, EmailJob};

/// A job's work, with its payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    WebhookDelivery(DeliveryPayload),
    SurveyEmail(EmailJob),
    /// Applies the retention policy of the instance that runs it.
    RetentionSweep,
    PlaybookStep(StepJob),
    PlaybookMessage(StepJob),
    PlaybookCall(StepJob),
    /// Marks overdue and escalated tasks.
    TaskSweep,
    /// Starts the scheduled playbooks whose slot has come.
    PlaybookSchedule,
    /// Pays the referrals whose hold has ended.
    ProgramSweep,
    /// Pulls the connectors whose next sync is due.
    SourcesSync,
    /// Indexes the feedback waiting for the inbox's search (see `crate::search`).
    SearchIndex,
    /// Measures the goals whose check-in is due (see `crate::goals`).
    GoalsCheckin,
    /// Learns sentiment models when enough rated items exist (see `crate::text`).
    TextTrain,
    /// Mails the periodic report when a period is due (see `crate::periodic`).
    ReportSend,
    /// Mails member `member_id` a portal sign-in link (made at send time).
    PortalLink {
        member_id: i64,
    },
    /// Mails customer `customer_id` a link to join the program (the open join page).
    PortalJoin {
        customer_id: i64,
        /// The join code it was asked for with (none: an open sign-up).
        code: Option<String>,
    },
    /// Mails staff reply `reply_id`.
    TaskReply {
        reply_id: i64,
    },
    /// Invites an audience to a survey at the time staff chose; `round`
    /// (the form's key) makes a resent form one round.
    SurveyRound {
        survey_id: i64,
        audience: crate::surveys::Audience,
        round: String,
    },
}

/// The scheduled playbooks' tick, by its schedule name.
pub const PLAYBOOK_SCHEDULE: &str = "playbooks.schedule";

/// The connectors' schedule name.
pub const SOURCES_SCHEDULE: &str = "sources.sync";

/// The search index's schedule name (its catch-up after a bulk import).
pub const SEARCH_SCHEDULE: &str = "search.index";

/// The sentiment models' training schedule name.
pub const TEXT_TRAIN_SCHEDULE: &str = "text.train";

/// The periodic report's schedule name.
pub const REPORT_SCHEDULE: &str = "report.send";

/// The goals' check-in schedule name.
pub const GOALS_SCHEDULE: &str = "goals.checkin";

/// The program sweep's schedule name.
pub const PROGRAM_SCHEDULE: &str = "program.sweep";

/// The task sweep's schedule name.
pub const TASK_SCHEDULE: &str = "tasks.sweep";

/// The recurring sweep's schedule name.
pub const RETENTION_SCHEDULE: &str = "retention.sweep";

impl Task {
    pub fn kind(&self) -> JobKind {
        match self {
            Task::WebhookDelivery(_) => JobKind::WebhookDelivery,
            Task::SurveyEmail(_) => JobKind::SurveyEmail,
            Task::RetentionSweep => JobKind::RetentionSweep,
            Task::PlaybookStep(_) => JobKind::PlaybookStep,
            Task::PlaybookMessage(_) => JobKind::PlaybookMessage,
            Task::PlaybookCall(_) => JobKind::PlaybookCall,
            Task::TaskSweep => JobKind::TaskSweep,
            Task::PlaybookSchedule => JobKind::PlaybookSchedule,
            Task::ProgramSweep => JobKind::ProgramSweep,
            Task::SourcesSync => JobKind::SourcesSync,
            Task::SearchIndex => JobKind::SearchIndex,
            Task::GoalsCheckin => JobKind::GoalsCheckin,
            Task::TextTrain => JobKind::TextTrain,
            Task::ReportSend => JobKind::ReportSend,
            Task::PortalLink { .. } => JobKind::PortalLink,
            Task::PortalJoin { .. } => JobKind::PortalJoin,
            Task::TaskReply { .. } => JobKind::TaskReply,
            Task::SurveyRound { .. } => JobKind::SurveyRound,
        }
    }

    /// What the job is for: no two jobs with the same key are pending.
    pub fn dedupe_key(&self) -> String {
        match self {
            Task::WebhookDelivery(d) => format!("webhook:{}:{}", d.webhook_id, d.event_id),
            Task::SurveyEmail(e) => format!(
                "survey.email:{}:{}",
                e.invitation_id,
                if e.reminder { "reminder" } else { "invitation" }
            ),
            Task::RetentionSweep => "retention.sweep".to_owned(),
            // `playbook:RUN:` prefixes every job of a run: pausing cancels them by it.
            Task::PlaybookStep(s) => format!("playbook:{}:{}", s.run_id, s.step),
            Task::PlaybookMessage(s) => format!("playbook:{}:{}:message", s.run_id, s.step),
            Task::PlaybookCall(s) => format!("playbook:{}:{}:call", s.run_id, s.step),
            Task::TaskSweep => TASK_SCHEDULE.to_owned(),
            Task::PlaybookSchedule => PLAYBOOK_SCHEDULE.to_owned(),
            Task::ProgramSweep => PROGRAM_SCHEDULE.to_owned(),
            Task::SourcesSync => SOURCES_SCHEDULE.to_owned(),
            Task::SearchIndex => SEARCH_SCHEDULE.to_owned(),
            Task::GoalsCheckin => GOALS_SCHEDULE.to_owned(),
            Task::TextTrain => TEXT_TRAIN_SCHEDULE.to_owned(),
            Task::ReportSend => REPORT_SCHEDULE.to_owned(),
            // One pending link per member: asking again while one waits sends one.
            Task::PortalLink { member_id } => format!("portal.link:{member_id}"),
            Task::PortalJoin { customer_id, .. } => format!("portal.join:{customer_id}"),
            Task::TaskReply { reply_id } => format!("task.reply:{reply_id}"),
            Task::SurveyRound {
                survey_id, round, ..
            } => format!("survey.round:{survey_id}:{round}"),
        }
    }

    fn max_attempts(&self) -> i32 {
        match self {
            Task::WebhookDelivery(_) => WEBHOOK_ATTEMPTS,
            Task::SurveyEmail(_) => EMAIL_ATTEMPTS,
            Task::RetentionSweep
            | Task::TaskSweep
            | Task::PlaybookSchedule
            | Task::ProgramSweep
            | Task::SourcesSync
            | Task::SearchIndex
            | Task::GoalsCheckin
            | Task::TextTrain
            | Task::ReportSend => 1,
            Task::PlaybookStep(_) | Task::PlaybookMessage(_) => STEP_ATTEMPTS,
            Task::PlaybookCall(_) => WEBHOOK_ATTEMPTS,
            Task::TaskReply { .. }
            | Task::PortalLink { .. }
            | Task::PortalJoin { .. }
            | Task::SurveyRound { .. } => STEP_ATTEMPTS,
        }
    }

    /// The queue entry that runs this task at `run_at`.
    pub fn job(&self, run_at: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: self.kind(),
            payload: self.payload(),
            run_at,
            max_attempts: self.max_attempts(),
            dedupe_key: Some(self.dedupe_key()),
        }
    }

    /// The payload its job carries.
    pub fn payload(&self) -> serde_json::Value {
        let payload = match self {
            Task::WebhookDelivery(d) => serde_json::to_value(d),
            Task::SurveyEmail(e) => serde_json::to_value(e),
            Task::RetentionSweep
            | Task::TaskSweep
            | Task::PlaybookSchedule
            | Task::ProgramSweep
            | Task::SourcesSync
            | Task::SearchIndex
            | Task::GoalsCheckin
            | Task::TextTrain
            | Task::ReportSend => Ok(serde_json::json!({})),
            Task::TaskReply { reply_id } => Ok(serde_json::json!({ "reply_id": reply_id })),
            Task::SurveyRound {
                survey_id,
                audience,
                round,
            } => Ok(serde_json::json!({
                "survey_id": survey_id,
                "audience": audience,
                "round": round,
            })),
            Task::PortalLink { member_id } => Ok(serde_json::json!({ "member_id": member_id })),
            Task::PortalJoin { customer_id, code } => {
                Ok(serde_json::json!({ "customer_id": customer_id, "code": code }))
            }
            Task::PlaybookStep(s) | Task::PlaybookMessage(s) | Task::PlaybookCall(s) => {
                serde_json::to_value(s)
            }
        };
        payload.unwrap_or_default()
    }

    /// The task a claimed job holds; an error names what is wrong.
    pub fn of(job: &Job) -> Result<Task, String> {
        let bad = |e: serde_json::Error| format!("a {} job with a bad payload: {e}", job.kind);
        Ok(match job.kind {
            JobKind::WebhookDelivery => {
                Task::WebhookDelivery(serde_json::from_value(job.payload.clone()).map_err(bad)?)
            }
            JobKind::SurveyEmail => {
                Task::SurveyEmail(serde_json::from_value(job.payload.clone()).map_err(bad)?)
            }
            JobKind::RetentionSweep => Task::RetentionSweep,
            JobKind::TaskSweep => Task::TaskSweep,
            JobKind::PlaybookSchedule => Task::PlaybookSchedule,
            JobKind::ProgramSweep => Task::ProgramSweep,
            JobKind::SourcesSync => Task::SourcesSync,
            JobKind::SearchIndex => Task::SearchIndex,
            JobKind::GoalsCheckin => Task::GoalsCheckin,
            JobKind::TextTrain => Task::TextTrain,
            JobKind::ReportSend => Task::ReportSend,
            JobKind::PortalJoin => Task::PortalJoin {
                customer_id: job.payload["customer_id"]
                    .as_i64()
                    .ok_or_else(|| format!("a {} job without its customer_id", job.kind))?,
                code: job.payload["code"].as_str().map(str::to_owned),
            },
            JobKind::PortalLink => Task::PortalLink {
                member_id: job.payload["member_id"]
                    .as_i64()
                    .ok_or_else(|| format!("a {} job without its member_id", job.kind))?,
            },
            JobKind::TaskReply => Task::TaskReply {
                reply_id: job.payload["reply_id"]
                    .as_i64()
                    .ok_or_else(|| format!("a {} job without its reply_id", job.kind))?,
            },
            JobKind::SurveyRound => {
                #[derive(serde::Deserialize)]
                struct Round {
                    survey_id: i64,
                    audience: crate::surveys::Audience,
                    round: String,
                }
                let r: Round = serde_json::from_value(job.payload.clone()).map_err(bad)?;
                Task::SurveyRound {
                    survey_id: r.survey_id,
                    audience: r.audience,
                    round: r.round,
                }
            }
            JobKind::PlaybookStep => {
                Task::PlaybookStep(serde_json::from_value(job.payload.clone()).map_err(bad)?)
            }
            JobKind::PlaybookMessage => {
                Task::PlaybookMessage(serde_json::from_value(job.payload.clone()).map_err(bad)?)
            }
            JobKind::PlaybookCall => {
                Task::PlaybookCall(serde_json::from_value(job.payload.clone()).map_err(bad)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_round_trip_through_their_jobs() {
        let now = Utc::now();
        for task in [
            Task::WebhookDelivery(DeliveryPayload {
                webhook_id: 3,
                event_id: "evt_1".into(),
                seq: 1,
            }),
            Task::SurveyEmail(EmailJob {
                invitation_id: 7,
                reminder: true,
                token: None,
            }),
            Task::RetentionSweep,
            Task::PlaybookStep(StepJob { run_id: 4, step: 1 }),
            Task::PlaybookMessage(StepJob { run_id: 4, step: 1 }),
            Task::PlaybookCall(StepJob { run_id: 4, step: 2 }),
            Task::TaskSweep,
            Task::PlaybookSchedule,
            Task::ProgramSweep,
            Task::SourcesSync,
            Task::SearchIndex,
            Task::GoalsCheckin,
            Task::TextTrain,
            Task::ReportSend,
            Task::PortalLink { member_id: 5 },
            Task::PortalJoin {
                customer_id: 6,
                code: Some("SPRING".into()),
            },
            Task::TaskReply { reply_id: 9 },
            Task::SurveyRound {
                survey_id: 4,
                audience: crate::surveys::Audience::Where(vec![("plan".into(), "pro".into())]),
                round: "k1".into(),
            },
        ] {
            let new = task.job(now);
            let job = Job {
                id: 1,
                kind: new.kind,
                payload: new.payload.clone(),
                state: vouch_domain::JobState::Queued,
                attempts: 0,
                max_attempts: new.max_attempts,
                run_at: now,
                locked_by: None,
                last_error: None,
                created_at: now,
                finished_at: None,
                dedupe_key: new.dedupe_key.clone(),
            };
            assert_eq!(Task::of(&job).unwrap(), task);
            assert!(new.payload.get("token").is_none(), "no secret in a payload");
        }
        assert_eq!(
            Task::WebhookDelivery(DeliveryPayload {
                webhook_id: 3,
                event_id: "evt_1".into(),
                seq: 1,
            })
            .dedupe_key(),
            "webhook:3:evt_1"
        );
    }
}
