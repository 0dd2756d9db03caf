//! Background workers: they claim jobs from the database queue, run them,
//! and retry failures with exponential backoff until a job's attempts run
//! out (then it is dead, kept for `vouch jobs list --state dead`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vouch_app::events::{DeliveryPayload, envelope, relay_to_webhooks};
use vouch_app::jobs::{RETENTION_SCHEDULE, Task};
use vouch_app::secrets::webhook_signature;
use vouch_store::{Delivery, Job, Store};

use crate::mailer::{MailSettings, Mailer, SendError};
use crate::metrics::Metrics;
use vouch_app::surveys::EmailJob;
use vouch_domain::ContactPolicy;

/// How workers behave; see docs/CONFIG.md.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Workers in this process; 0 runs none.
    pub workers: usize,
    /// How often an idle worker looks for due jobs.
    pub poll: Duration,
    /// How long a claimed job stays with its worker before another may take it.
    pub lease: Duration,
    /// The first retry's delay; each later one doubles, up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long a webhook receiver has to answer.
    pub webhook_timeout: Duration,
    /// Webhooks may post to loopback and private addresses
    /// (`webhook_allow_private`; see `outbound`).
    pub webhook_allow_private: bool,
    /// SMTP server and sender of survey emails.
    pub mail: MailSettings,
    /// Reminders are sent only when this policy says they are due.
    pub policy: ContactPolicy,
    /// What is deleted when it is old enough, swept every `retention_sweep`.
    pub retention: vouch_domain::RetentionPolicy,
    pub retention_sweep: Duration,
    /// Business hours for task SLAs, and the category window.
    pub playbooks: vouch_app::playbooks::RunSettings,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            workers: 2,
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(300),
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(3600),
            webhook_timeout: Duration::from_secs(10),
            webhook_allow_private: false,
            mail: MailSettings::default(),
            policy: ContactPolicy::default(),
            retention: vouch_domain::RetentionPolicy::default(),
            retention_sweep: Duration::from_secs(3600),
            playbooks: vouch_app::playbooks::RunSettings::default(),
        }
    }
}

impl JobSettings {
    /// The delay before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.backoff_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.backoff_cap)
    }
}

/// Running workers; `stop` lets each finish the job in hand.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `settings.workers` workers named `INSTANCE/N`.
    pub fn start(
        store: Store,
        settings: JobSettings,
        instance: &str,
        metrics: Arc<Metrics>,
    ) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let mailer = Arc::new(Mailer::new(&settings.mail));
        let relay = (settings.workers > 0).then(|| {
            tokio::spawn(relay(
                store.clone(),
                settings.poll,
                settings.playbooks.clone(),
                stopped.clone(),
            ))
        });
        let scheduler = (settings.workers > 0)
            .then(|| tokio::spawn(schedule(store.clone(), settings.clone(), stopped.clone())));
        let handles = (0..settings.workers)
            .map(|n| {
                let worker = Worker {
                    mailer: mailer.clone(),
                    name: format!("{instance}/{n}"),
                    store: store.clone(),
                    settings: settings.clone(),
                    metrics: metrics.clone(),
                };
                tokio::spawn(worker.run(stopped.clone()))
            })
            .chain(relay)
            .chain(scheduler)
            .collect();
        Workers { stop, handles }
    }

    /// Asks every worker to stop and waits while they finish their jobs.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Keeps the recurring schedules this instance's settings ask for, and
/// queues each one's job when its slot comes (once per slot across every
/// instance: `Store::fire_due_schedules`).
async fn schedule(store: Store, settings: JobSettings, mut stopped: watch::Receiver<bool>) {
    let sweep = Task::RetentionSweep;
    let registered = if settings.retention.keeps_everything() {
        store.remove_schedule(RETENTION_SCHEDULE).await.map(|_| ())
    } else {
        let every = chrono::Duration::from_std(settings.retention_sweep)
            .unwrap_or(chrono::Duration::hours(1));
        store
            .ensure_schedule(
                RETENTION_SCHEDULE,
                sweep.kind(),
                &sweep.payload(),
                every,
                Utc::now(),
            )
            .await
    };
    if let Err(e) = registered {
        tracing::warn!(error = %e, "cannot register the retention schedule");
    }
    // The fixed schedules: (name, task, period, what the warning calls it).
    let fixed = [
        (
            vouch_app::jobs::TASK_SCHEDULE,
            Task::TaskSweep,
            chrono::Duration::minutes(5),
            "the task sweep",
        ),
        (
            vouch_app::jobs::PLAYBOOK_SCHEDULE,
            Task::PlaybookSchedule,
            chrono::Duration::hours(1),
            "the playbook schedule",
        ),
        (
            vouch_app::jobs::PROGRAM_SCHEDULE,
            Task::ProgramSweep,
            chrono::Duration::minutes(15),
            "the program sweep",
        ),
        (
            vouch_app::jobs::SOURCES_SCHEDULE,
            Task::SourcesSync,
            chrono::Duration::minutes(5),
            "the connectors' schedule",
        ),
        (
            vouch_app::jobs::SEARCH_SCHEDULE,
            Task::SearchIndex,
            chrono::Duration::minutes(1),
            "the search index's schedule",
        ),
        (
            vouch_app::jobs::GOALS_SCHEDULE,
            Task::GoalsCheckin,
            chrono::Duration::hours(1),
            "the goals' check-ins",
        ),
        (
            vouch_app::jobs::REPORT_SCHEDULE,
            Task::ReportSend,
            chrono::Duration::hours(6),
            "the periodic report",
        ),
        (
            vouch_app::jobs::TEXT_TRAIN_SCHEDULE,
            Task::TextTrain,
            chrono::Duration::days(1),
            "the sentiment models' training",
        ),
    ];
    for (name, task, every, what) in fixed {
        if let Err(e) = store
            .ensure_schedule(name, task.kind(), &task.payload(), every, Utc::now())
            .await
        {
            tracing::warn!(error = %e, "cannot register {what}");
        }
    }
    let tick = settings.poll.max(Duration::from_secs(1));
    while !*stopped.borrow() {
        match store.fire_due_schedules(Utc::now()).await {
            Ok(fired) if !fired.is_empty() => tracing::debug!(?fired, "schedules fired"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot fire schedules"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// Turns new events into delivery jobs and playbook runs, batch after
/// batch, then waits `poll` for more (each instance relays; each
/// consumer's position makes sure one batch is relayed once).
async fn relay(
    store: Store,
    poll: Duration,
    playbooks: vouch_app::playbooks::RunSettings,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        let hooks = relay_to_webhooks(&store).await;
        if let Err(e) = &hooks {
            tracing::warn!(error = %e, "cannot relay events to webhooks");
        }
        let runs = vouch_app::playbooks::run_new_events(&store, &playbooks).await;
        if let Err(e) = &runs {
            tracing::warn!(error = %e, "cannot start playbook runs");
        }
        if matches!(hooks, Ok(n) if n > 0) || matches!(runs, Ok(n) if n > 0) {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stopped.changed() => {}
        }
    }
}

struct Worker {
    mailer: Arc<Mailer>,
    name: String,
    store: Store,
    settings: JobSettings,
    metrics: Arc<Metrics>,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let lease =
            chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::MAX);
        while !*stopped.borrow() {
            match self.store.claim_job(&self.name, Utc::now(), lease).await {
                Ok(Some(job)) => self.handle(job).await,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.settings.poll) => {}
                        _ = stopped.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "cannot claim a job");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
    }

    async fn handle(&self, job: Job) {
        let outcome = match Task::of(&job) {
            Ok(Task::WebhookDelivery(delivery)) => self.deliver(&job, delivery).await,
            Ok(Task::SurveyEmail(email)) => {
                let sent = self.email(&job, email).await;
                match self.deferred(&job, sent).await {
                    Some(outcome) => outcome,
                    None => return,
                }
            }
            Ok(Task::PlaybookStep(step)) => {
                vouch_app::playbooks::run_step(&self.store, &self.settings.playbooks, step)
                    .await
                    .map(|r| tracing::debug!(?r, "playbook step"))
                    .map_err(|e| e.to_string())
            }
            Ok(Task::PlaybookMessage(step)) => {
                let sent = self.playbook_email(&job, step).await;
                match self.deferred(&job, sent).await {
                    Some(outcome) => outcome,
                    None => return,
                }
            }
            Ok(Task::PlaybookCall(step)) => self.call(step).await,
            Ok(Task::TaskReply { reply_id }) => self.reply(&job, reply_id).await,
            Ok(Task::SurveyRound {
                survey_id,
                audience,
                ..
            }) => self.survey_round(survey_id, &audience).await,
            Ok(Task::TaskSweep) => self
                .store
                .sweep_tasks(Utc::now())
                .await
                .map(|n| tracing::debug!(events = n, "task sweep"))
                .map_err(|e| e.to_string()),
            Ok(Task::PlaybookSchedule) => vouch_app::playbooks::run_schedules(
                &self.store,
                &self.settings.playbooks,
                Utc::now(),
            )
            .await
            .map(|n| tracing::debug!(runs = n, "scheduled playbooks"))
            .map_err(|e| e.to_string()),
            Ok(Task::PortalLink { member_id }) => self.portal_link(member_id).await,
            Ok(Task::PortalJoin { customer_id, code }) => {
                self.portal_join(customer_id, code.as_deref()).await
            }
            Ok(Task::ProgramSweep) => {
                let paid = vouch_app::program::pay_due_referrals(&self.store, Utc::now()).await;
                let expired = vouch_app::program::expire_points(&self.store, Utc::now()).await;
                paid.and_then(|p| expired.map(|e| (p, e)))
                    .map(|(paid, expired)| tracing::debug!(paid, expired, "program sweep"))
                    .map_err(|e| e.to_string())
            }
            Ok(Task::SourcesSync) => vouch_app::sources::sync_due(&self.store, Utc::now())
                .await
                .map(|reports| {
                    for r in reports {
                        // A source's error is kept on the source; the job itself went fine.
                        tracing::info!(source = %r.source, imported = r.imported, error = ?r.error, "source synced");
                    }
                })
                .map_err(|e| e.to_string()),
            // At most half the lease (a minute at most) at a time; the
            // schedule comes back for the rest within a minute.
            Ok(Task::SearchIndex) => {
                let budget = self.settings.lease.min(Duration::from_secs(120)) / 2;
                vouch_app::search::catch_up(&self.store, Some(budget), |_| {})
                    .await
                    .map(|indexed| tracing::debug!(indexed, "search index"))
                    .map_err(|e| e.to_string())
            }
            Ok(Task::ReportSend) => self.send_report().await,
            Ok(Task::TextTrain) => vouch_app::text::train_when_due(&self.store, Utc::now())
                .await
                .map(|reports| {
                    for r in reports {
                        tracing::info!(language = %r.language, rated = r.rated, lexicon = r.lexicon_accuracy, blended = r.blended_accuracy, switched_on = r.switched_on, "sentiment model trained");
                    }
                })
                .map_err(|e| e.to_string()),
            Ok(Task::GoalsCheckin) => {
                vouch_app::goals::check_in(&self.store, &self.settings.playbooks, Utc::now().date_naive())
                    .await
                    .map(|measured| tracing::debug!(measured, "goal check-ins"))
                    .map_err(|e| e.to_string())
            }
            Ok(Task::RetentionSweep) => {
                vouch_app::retention::purge(&self.store, &self.settings.retention)
                    .await
                    .map(|purged| tracing::info!(?purged, "retention sweep"))
                    .map_err(|e| e.to_string())
            }
            Err(bad) => Err(bad),
        };
        let now = Utc::now();
        let recorded = match &outcome {
            Ok(()) => self.store.finish_job(job.id, &self.name, now).await,
            Err(error) => {
                let retry_at = (job.attempts < job.max_attempts).then(|| {
                    now + chrono::Duration::from_std(self.settings.backoff(job.attempts))
                        .unwrap_or(chrono::Duration::MAX)
                });
                tracing::info!(job = job.id, kind = %job.kind, attempt = job.attempts, %error, retry = retry_at.is_some(), "job failed");
                if retry_at.is_none()
                    && let Ok(
                        task @ (Task::SurveyEmail(_)
                        | Task::PlaybookMessage(_)
                        | Task::TaskReply { .. }),
                    ) = Task::of(&job)
                {
                    // Dead: the message will not go out, so its claim on the budget goes.
                    let id = vouch_app::outreach::message_id(
                        job.id,
                        &task.dedupe_key(),
                        &self.mailer.domain(),
                    );
                    if let Err(e) = self.store.release_contact(&id, error).await {
                        tracing::warn!(job = job.id, error = %e, "cannot release the contact");
                    }
                }
                self.store
                    .fail_job(job.id, &self.name, error, retry_at, now)
                    .await
            }
        };
        self.metrics.job_ran(job.kind.as_str(), outcome.is_ok());
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = job.id, worker = %self.name, "lease ended before the job did")
            }
            Err(e) => tracing::warn!(job = job.id, error = %e, "cannot record the job's outcome"),
        }
    }

    /// An email job's outcome; a deferral by the contact budget puts the
    /// job back in the queue until then, and yields `None` (nothing more to record).
    async fn deferred(
        &self,
        job: &Job,
        sent: Result<Option<(chrono::DateTime<Utc>, String)>, String>,
    ) -> Option<Result<(), String>> {
        match sent {
            Ok(Some((until, reason))) => {
                tracing::info!(job = job.id, %until, %reason, "email deferred");
                if let Err(e) = self
                    .store
                    .defer_job(job.id, &self.name, until, &reason)
                    .await
                {
                    tracing::warn!(job = job.id, error = %e, "cannot defer the job");
                }
                None
            }
            Ok(None) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        }
    }

    /// Mails a survey invitation or reminder through the mail layer:
    /// `Some((until, reason))` when the contact budget defers it. A refused
    /// address is suppressed and the job ends: retrying would not help.
    async fn email(
        &self,
        job: &Job,
        email: EmailJob,
    ) -> Result<Option<(chrono::DateTime<Utc>, String)>, String> {
        use vouch_app::outreach::{self, Prepared};
        let policy = &self.settings.policy;
        if !self.mailer.can_send() {
            return Err("no SMTP server is configured (smtp_url)".to_owned());
        }
        let prepared = outreach::prepare_survey_email(
            &self.store,
            job.id,
            &email,
            policy,
            &self.mailer.domain(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let email = match prepared {
            Prepared::Send(email) => email,
            Prepared::Skipped(why) => {
                tracing::info!(job = job.id, %why, "survey email not sent");
                return Ok(None);
            }
            Prepared::Deferred { until, reason } => return Ok(Some((until, reason))),
        };
        match self.mailer.send_survey(&email).await {
            Ok(()) => outreach::survey_email_sent(&self.store, &email, policy)
                .await
                .map(|()| None)
                .map_err(|e| e.to_string()),
            Err(SendError::Transient(e)) => Err(e),
            Err(SendError::Permanent(e)) => {
                tracing::warn!(job = job.id, error = %e, "address refused; no more mail to it");
                outreach::survey_email_refused(&self.store, &email, &e)
                    .await
                    .map(|()| None)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Mails a playbook's message through the mail layer:
    /// `Some((until, reason))` when the contact budget defers it.
    async fn playbook_email(
        &self,
        job: &Job,
        step: vouch_app::playbooks::StepJob,
    ) -> Result<Option<(chrono::DateTime<Utc>, String)>, String> {
        use vouch_app::playbooks::{self, PreparedMessage};
        if !self.mailer.can_send() {
            return Err("no SMTP server is configured (smtp_url)".to_owned());
        }
        let prepared = playbooks::prepare_message(
            &self.store,
            &self.settings.playbooks,
            job.id,
            step,
            &self.settings.policy,
            &self.mailer.domain(),
            &self.settings.mail.public_url,
        )
        .await
        .map_err(|e| e.to_string())?;
        let email = match prepared {
            PreparedMessage::Send(email) => email,
            PreparedMessage::Skipped(why) => {
                tracing::info!(job = job.id, %why, "playbook email not sent");
                return Ok(None);
            }
            PreparedMessage::Deferred { until, reason } => return Ok(Some((until, reason))),
        };
        match self.mailer.send_playbook(&email).await {
            Ok(()) => playbooks::message_sent(&self.store, &email)
                .await
                .map(|()| None)
                .map_err(|e| e.to_string()),
            Err(SendError::Transient(e)) => Err(e),
            Err(SendError::Permanent(e)) => playbooks::message_refused(&self.store, &email, &e)
                .await
                .map(|()| None)
                .map_err(|e| e.to_string()),
        }
    }

    /// Mails a staff reply (a service message); its first send stops the
    /// task's first-response clock.
    /// A scheduled invitation round: the same invitations as "send now".
    async fn survey_round(
        &self,
        survey: i64,
        audience: &vouch_app::surveys::Audience,
    ) -> Result<(), String> {
        let design = match self
            .store
            .survey_design(vouch_domain::SurveyId(survey))
            .await
        {
            Ok(Some(design)) => design,
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        vouch_app::surveys::invite(&self.store, &design, audience, &self.settings.policy)
            .await
            .map(|report| tracing::info!(survey, queued = report.queued, "survey round"))
            .map_err(|e| e.to_string())
    }

    async fn reply(&self, job: &Job, reply_id: i64) -> Result<(), String> {
        if !self.mailer.can_send() {
            return Err("no SMTP server is configured (smtp_url)".to_owned());
        }
        let email = match vouch_app::playbooks::prepare_reply(
            &self.store,
            job.id,
            reply_id,
            &self.mailer.domain(),
        )
        .await
        .map_err(|e| e.to_string())?
        {
            Ok(email) => email,
            Err(why) => {
                tracing::info!(job = job.id, %why, "task reply not sent");
                return Ok(());
            }
        };
        match self.mailer.send_reply(&email).await {
            Ok(()) => self
                .store
                .task_reply_sent(reply_id, &email.message_id, Utc::now())
                .await
                .map_err(|e| e.to_string()),
            Err(SendError::Transient(e)) => Err(e),
            Err(SendError::Permanent(e)) => {
                let now = Utc::now();
                let suppressed = self
                    .store
                    .suppress_email(&email.to.match_key(), None, "bounced", now)
                    .await;
                let released = self.store.release_contact(&email.message_id, &e).await;
                suppressed.and(released).map_err(|e| e.to_string())
            }
        }
    }

    /// Mails a customer's join link, made now (no job holds a token).
    async fn portal_join(&self, customer: i64, code: Option<&str>) -> Result<(), String> {
        if !self.mailer.can_send() {
            return Err("no SMTP server is configured (smtp_url)".to_owned());
        }
        let Some(email) = vouch_app::portal::prepare_join(
            &self.store,
            customer,
            code,
            &self.settings.mail.public_url,
        )
        .await
        .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        match self.mailer.send_join_link(&email).await {
            Ok(()) => Ok(()),
            Err(SendError::Transient(e)) => Err(e),
            Err(SendError::Permanent(e)) => {
                tracing::warn!(customer, error = %e, "join link refused; no more mail to it");
                self.store
                    .suppress_email(&email.to.match_key(), None, "bounced", Utc::now())
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Mails the periodic report to the chosen staff when a whole period
    /// has not been mailed yet; marks it sent once every address took it.
    async fn send_report(&self) -> Result<(), String> {
        let due = vouch_app::periodic::due(&self.store, Utc::now().date_naive())
            .await
            .map_err(|e| e.to_string())?;
        let Some((period, schedule)) = due else {
            return Ok(());
        };
        if !self.mailer.can_send() {
            return Err("no SMTP server is configured (smtp_url)".to_owned());
        }
        let report = vouch_app::periodic::report(&self.store, &self.settings.playbooks, period)
            .await
            .map_err(|e| e.to_string())?;
        for to in &schedule.recipients {
            self.mailer
                .send_report(to, &report, &schedule.language)
                .await
                .map_err(|e| format!("{to}: {e:?}"))?;
        }
        vouch_app::periodic::mark_sent(&self.store, &period)
            .await
            .map_err(|e| e.to_string())
    }

    /// Mails a member's portal sign-in link, made now (no job holds a token).
    async fn portal_link(&self, member: i64) -> Result<(), String> {
        if !self.mailer.can_send() {
            return Err("no SMTP server is configured (smtp_url)".to_owned());
        }
        let Some(email) =
            vouch_app::portal::prepare_link(&self.store, member, &self.settings.mail.public_url)
                .await
                .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        match self.mailer.send_portal_link(&email).await {
            Ok(()) => Ok(()),
            Err(SendError::Transient(e)) => Err(e),
            Err(SendError::Permanent(e)) => {
                tracing::warn!(member, error = %e, "portal link refused; no more mail to it");
                self.store
                    .suppress_email(&email.to.match_key(), None, "bounced", Utc::now())
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Posts a playbook's notification or webhook call to an address the
    /// SSRF guard (`outbound`) allows, and logs the outcome.
    async fn call(&self, step: vouch_app::playbooks::StepJob) -> Result<(), String> {
        use vouch_app::playbooks::{self, Call};
        let Some(call) = playbooks::call_of(&self.store, step)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let outcome = match call {
            Call::Post { url, body } => {
                match crate::outbound::check(&url, self.settings.webhook_allow_private).await {
                    Ok(destination) => self
                        .client_to(&destination)?
                        .post(&url)
                        .json(&body)
                        .send()
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| {
                            if r.status().is_success() {
                                Ok(format!("posted, {}", r.status()))
                            } else {
                                Err(format!("the receiver answered {}", r.status()))
                            }
                        }),
                    Err(refusal) => Err(refusal.to_string()),
                }
            }
            Call::Mail { to, subject, text } => {
                let mut sent = Vec::new();
                let mut failed = None;
                for address in &to {
                    match self
                        .mailer
                        .send_staff_notice(address, &subject, &text)
                        .await
                    {
                        Ok(()) => sent.push(address.as_str()),
                        Err(SendError::Transient(e) | SendError::Permanent(e)) => {
                            failed = Some(format!("{address}: {e}"))
                        }
                    }
                }
                match failed {
                    // Retried whole: a colleague may get a notice twice, never none.
                    Some(e) => Err(e),
                    None => Ok(format!("mailed {}", sent.join(", "))),
                }
            }
            Call::Refused(why) => Err(why),
        };
        let (state, detail) = match &outcome {
            Ok(done) => ("done", done.clone()),
            Err(e) => ("failed", e.clone()),
        };
        playbooks::call_done(&self.store, step, state, detail)
            .await
            .map_err(|e| e.to_string())?;
        outcome.map(|_| ())
    }

    /// POSTs the event to the webhook, signed as Standard Webhooks says,
    /// to an address checked by `outbound`, and logs the attempt.
    async fn deliver(&self, job: &Job, payload: DeliveryPayload) -> Result<(), String> {
        let hooks = self.store.webhooks().await.map_err(|e| e.to_string())?;
        let Some(hook) = hooks.into_iter().find(|h| h.id == payload.webhook_id) else {
            // Unsubscribed since: nothing to deliver.
            return Ok(());
        };
        let event = self
            .store
            .event(payload.seq)
            .await
            .map_err(|e| e.to_string())?
            .filter(|e| e.id == payload.event_id);
        let Some(event) = event else {
            // Erased with its customer, or pruned: nothing to deliver.
            return Ok(());
        };
        let body = envelope(&event).to_string();
        let timestamp = Utc::now().timestamp();
        let signature = webhook_signature(&hook.secret, &event.id, timestamp, &body)
            .ok_or("the webhook's secret is not whsec_ and base64")?;
        let started = Instant::now();
        let sent =
            match crate::outbound::check(&hook.url, self.settings.webhook_allow_private).await {
                Ok(destination) => {
                    self.client_to(&destination)?
                        .post(&hook.url)
                        .header("content-type", "application/json")
                        .header("webhook-id", event.id.as_str())
                        .header("webhook-timestamp", timestamp.to_string())
                        .header("webhook-signature", signature)
                        .header("vouch-event", event.kind.as_str())
                        .body(body)
                        .send()
                        .await
                        // reqwest's message names the URL, not the secret.
                        .map_err(|e| e.to_string())
                }
                Err(refusal) => Err(refusal.to_string()),
            };
        let (status_code, error) = match &sent {
            Ok(r) if r.status().is_success() => (Some(i32::from(r.status().as_u16())), None),
            Ok(r) => (
                Some(i32::from(r.status().as_u16())),
                Some(format!("the receiver answered {}", r.status())),
            ),
            Err(e) => (None, Some(e.clone())),
        };
        let delivery = Delivery {
            webhook_id: hook.id,
            job_id: job.id,
            event: event.kind.as_str().to_owned(),
            attempt: job.attempts,
            status_code,
            error: error.clone(),
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            delivered_at: Utc::now(),
        };
        if let Err(e) = self.store.record_delivery(&delivery).await {
            tracing::warn!(job = job.id, error = %e, "cannot log the delivery");
        }
        error.map_or(Ok(()), Err)
    }

    /// A client that connects to the checked addresses only, follows no
    /// redirect (a receiver's redirect is a failed delivery, not an order
    /// to post signed customer data elsewhere: ASVS 15.3.2), and gives up
    /// after `webhook_timeout`.
    fn client_to(
        &self,
        destination: &crate::outbound::Destination,
    ) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .timeout(self.settings.webhook_timeout)
            .user_agent(concat!("Vouch-Webhooks/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(&destination.host, &destination.addresses)
            .build()
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = JobSettings::default();
        let delays: Vec<u64> = (1..=10).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
    }
}
