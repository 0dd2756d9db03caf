//! Background workers: they claim jobs from the database queue, run them,
//! and retry failures with exponential backoff until a job's attempts run
//! out (then it is dead, kept for `vouch jobs list --state dead`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vouch_app::events::{DeliveryPayload, WEBHOOK_DELIVERY};
use vouch_store::{Delivery, Job, Store};

use crate::mailer::{MailSettings, Mailer, SendError};
use crate::metrics::Metrics;
use vouch_app::surveys::{EmailJob, SURVEY_EMAIL};
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
    /// SMTP server and sender of survey emails.
    pub mail: MailSettings,
    /// Reminders are sent only when this policy says they are due.
    pub policy: ContactPolicy,
    /// What is deleted when it is old enough, swept every `retention_sweep`.
    pub retention: vouch_domain::RetentionPolicy,
    pub retention_sweep: Duration,
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
            mail: MailSettings::default(),
            policy: ContactPolicy::default(),
            retention: vouch_domain::RetentionPolicy::default(),
            retention_sweep: Duration::from_secs(3600),
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
        let client = reqwest::Client::builder()
            .timeout(settings.webhook_timeout)
            .user_agent(concat!("Vouch-Webhooks/", env!("CARGO_PKG_VERSION")))
            // A receiver's redirect is a failed delivery, not an order to
            // post signed customer data somewhere else (ASVS 15.3.2).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with a timeout builds");
        let mailer = Arc::new(Mailer::new(&settings.mail));
        let sweeper = (settings.workers > 0 && !settings.retention.keeps_everything()).then(|| {
            tokio::spawn(sweep(
                store.clone(),
                settings.retention,
                settings.retention_sweep,
                stopped.clone(),
            ))
        });
        let handles = (0..settings.workers)
            .map(|n| {
                let worker = Worker {
                    mailer: mailer.clone(),
                    name: format!("{instance}/{n}"),
                    store: store.clone(),
                    settings: settings.clone(),
                    client: client.clone(),
                    metrics: metrics.clone(),
                };
                tokio::spawn(worker.run(stopped.clone()))
            })
            .chain(sweeper)
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

/// Applies the retention policy now and every `every` until stopped (on
/// PostgreSQL each instance sweeps; a second sweep finds nothing to delete).
async fn sweep(
    store: Store,
    policy: vouch_domain::RetentionPolicy,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        match vouch_app::retention::purge(&store, &policy).await {
            Ok(purged) => tracing::info!(?purged, "retention sweep"),
            Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => {}
        }
    }
}

struct Worker {
    mailer: Arc<Mailer>,
    name: String,
    store: Store,
    settings: JobSettings,
    client: reqwest::Client,
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
        let outcome = match job.kind.as_str() {
            WEBHOOK_DELIVERY => self.deliver(&job).await,
            SURVEY_EMAIL => self.email(&job).await,
            other => Err(format!("unknown job kind {other:?}")),
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
                self.store
                    .fail_job(job.id, &self.name, error, retry_at, now)
                    .await
            }
        };
        self.metrics.job_ran(&job.kind, outcome.is_ok());
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = job.id, worker = %self.name, "lease ended before the job did")
            }
            Err(e) => tracing::warn!(job = job.id, error = %e, "cannot record the job's outcome"),
        }
    }

    /// Mails a survey invitation or reminder. A refused address is
    /// suppressed and the job ends: retrying would not help.
    async fn email(&self, job: &Job) -> Result<(), String> {
        let email: EmailJob =
            serde_json::from_value(job.payload.clone()).map_err(|e| format!("bad payload: {e}"))?;
        match self
            .mailer
            .send_survey(&self.store, &email, &self.settings.policy)
            .await
        {
            Ok(()) => Ok(()),
            Err(SendError::Transient(e)) => Err(e),
            Err(SendError::Permanent(e)) => {
                tracing::warn!(job = job.id, error = %e, "address refused; no more mail to it");
                Ok(())
            }
        }
    }

    /// POSTs the event to the webhook, signed, and logs the attempt.
    async fn deliver(&self, job: &Job) -> Result<(), String> {
        let payload: DeliveryPayload =
            serde_json::from_value(job.payload.clone()).map_err(|e| format!("bad payload: {e}"))?;
        let hooks = self.store.webhooks().await.map_err(|e| e.to_string())?;
        let Some(hook) = hooks.into_iter().find(|h| h.id == payload.webhook_id) else {
            // Unsubscribed since: nothing to deliver.
            return Ok(());
        };
        let timestamp = Utc::now().timestamp();
        let signature = sign(&hook.secret, timestamp, &payload.body);
        let started = Instant::now();
        let sent = self
            .client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("vouch-event", payload.event.as_str())
            .header("vouch-delivery", job.id.to_string())
            .header("vouch-signature", format!("t={timestamp},v1={signature}"))
            .body(payload.body.clone())
            .send()
            .await;
        let (status_code, error) = match &sent {
            Ok(r) if r.status().is_success() => (Some(i32::from(r.status().as_u16())), None),
            Ok(r) => (
                Some(i32::from(r.status().as_u16())),
                Some(format!("the receiver answered {}", r.status())),
            ),
            // reqwest's message names the URL, not the secret.
            Err(e) => (None, Some(e.to_string())),
        };
        let delivery = Delivery {
            webhook_id: hook.id,
            job_id: job.id,
            event: payload.event,
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
}

/// Hex HMAC-SHA256 of `TIMESTAMP.BODY` under `secret`: what
/// `Vouch-Signature: t=TIMESTAMP,v1=…` carries.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
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

    #[test]
    fn signatures_are_rfc_4231_hmacs() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(sign("k", 1, "{}"), sign("k", 1, "{}"));
        assert_ne!(sign("k", 1, "{}"), sign("k", 2, "{}"));
    }
}
