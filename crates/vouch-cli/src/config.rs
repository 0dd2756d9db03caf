//! Settings: built-in defaults, then `vouch.toml`, then `VOUCH_*`
//! environment variables, then command-line options, each overriding the
//! last. docs/CONFIG.md lists every setting; a test keeps the two in step.

use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use vouch_domain::ContactPolicy;
use vouch_server::{JobSettings, MailSettings};

/// Every setting, with its default. Keys are the same in `vouch.toml` and,
/// upper-cased after `VOUCH_`, in the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// sqlite://PATH, a bare file path, or postgres://USER:PASSWORD@HOST:PORT/DB.
    pub database_url: String,
    /// Where `vouch serve` listens.
    pub addr: String,
    /// What is logged: a tracing filter such as `info` or `warn,vouch::http=info`.
    /// Unset: `info` for `vouch serve`, `warn` for other commands.
    pub log: Option<String>,
    /// `text` or `json` (one object per line).
    pub log_format: LogFormat,
    /// This process's name in the job queue (`locked_by`); default HOST-PID.
    pub instance: Option<String>,
    /// Job workers in each `vouch serve`; 0 runs none.
    pub job_workers: usize,
    /// How often an idle worker looks for due jobs, in milliseconds.
    pub job_poll_ms: u64,
    /// How long a claimed job stays with its worker before another may take it, in seconds.
    pub job_lease_secs: u64,
    /// The first retry's delay in seconds; each later one doubles.
    pub job_backoff_secs: u64,
    /// The longest retry delay, in seconds.
    pub job_backoff_cap_secs: u64,
    /// How long a webhook receiver has to answer, in seconds.
    pub webhook_timeout_secs: u64,
    /// Webhooks may post to loopback and private addresses.
    pub webhook_allow_private: bool,
    /// The SMTP server for survey emails: smtp://HOST:PORT, smtp://HOST:PORT?tls=required, smtps://USER:PASSWORD@HOST:465.
    pub smtp_url: Option<String>,
    /// The From address of survey emails.
    pub mail_from: String,
    /// How customers reach this server, for links in emails; default http://ADDR.
    pub public_url: Option<String>,
    /// No new invitation to a customer within this many days of their last one.
    pub invite_throttle_days: u32,
    /// One reminder this many days after an unanswered invitation.
    pub reminder_days: u32,
    /// The one contact budget of every customer, like `2 per 30d`; empty: no cap.
    pub contact_budget: String,
    /// Days at least between two messages to a customer; 0: no gap.
    pub contact_min_gap_days: u32,
    /// Caps of their own for some purposes: `marketing: 1 per 30d, referral: 1 per 90d`.
    pub contact_caps: Option<String>,
    /// Hours of the customer's day with no messages, `21-8`; empty: none.
    pub quiet_hours: String,
    /// The company's time zone, for customers without a `time_zone` attribute.
    pub time_zone: String,
    /// The team's working hours for task SLAs, `09:00-17:00`, in `time_zone`.
    pub business_hours: String,
    /// The team's working days, `mon,tue,wed,thu,fri`.
    pub business_days: String,
    /// Days off for task SLAs, comma-separated dates (`2026-12-01, 2026-12-25`).
    pub holidays: Option<String>,
    /// SLA policies of the company's own, `vip 1h/4h, standard 4h/2d`.
    pub sla_policies: Option<String>,
    /// The TLS-terminating proxies in front of `vouch serve`, as comma-separated
    /// addresses or ranges (`10.0.0.0/8, ::1`); only their `Forwarded` and
    /// `X-Forwarded-For` headers are believed.
    pub trusted_proxies: Option<String>,
    /// Sites that may show the public survey pages in a frame (the widget),
    /// comma-separated origins such as `https://www.acme.example`.
    pub embed_origins: Option<String>,
    /// Days reviews, mentions and tickets are kept (by posting time); unset keeps them.
    pub feedback_retention_days: Option<u32>,
    /// Days survey answers and their comments are kept; unset keeps them.
    pub answer_retention_days: Option<u32>,
    /// Days finished jobs (done or dead) are kept; unset keeps them.
    pub job_retention_days: Option<u32>,
    /// Days webhook delivery attempts (the event log) are kept; unset keeps them.
    pub event_retention_days: Option<u32>,
    /// Every staff account must sign in with a second factor (TOTP).
    pub require_totp: bool,
    /// The key webhook and TOTP secrets are sealed with: 32 bytes in base64
    /// (`vouch secret-key` makes one). Unset: the file beside an SQLite
    /// database; on PostgreSQL set it, the same on every instance.
    pub secret_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The keys, for the environment provider and the docs test.
pub const KEYS: &[&str] = &[
    "database_url",
    "addr",
    "log",
    "log_format",
    "instance",
    "job_workers",
    "job_poll_ms",
    "job_lease_secs",
    "job_backoff_secs",
    "job_backoff_cap_secs",
    "webhook_timeout_secs",
    "webhook_allow_private",
    "smtp_url",
    "mail_from",
    "public_url",
    "invite_throttle_days",
    "reminder_days",
    "trusted_proxies",
    "embed_origins",
    "feedback_retention_days",
    "answer_retention_days",
    "job_retention_days",
    "event_retention_days",
    "require_totp",
    "secret_key",
    "contact_budget",
    "contact_min_gap_days",
    "contact_caps",
    "quiet_hours",
    "time_zone",
    "business_hours",
    "business_days",
    "holidays",
    "sla_policies",
];

impl Default for Config {
    fn default() -> Self {
        let jobs = JobSettings::default();
        Config {
            database_url: vouch_store::DatabaseLocation::DEFAULT_URL.to_owned(),
            addr: "127.0.0.1:8080".to_owned(),
            log: None,
            log_format: LogFormat::Text,
            instance: None,
            job_workers: jobs.workers,
            job_poll_ms: jobs.poll.as_millis() as u64,
            job_lease_secs: jobs.lease.as_secs(),
            job_backoff_secs: jobs.backoff_base.as_secs(),
            job_backoff_cap_secs: jobs.backoff_cap.as_secs(),
            webhook_timeout_secs: jobs.webhook_timeout.as_secs(),
            webhook_allow_private: jobs.webhook_allow_private,
            smtp_url: None,
            mail_from: "Vouch <surveys@localhost>".to_owned(),
            public_url: None,
            invite_throttle_days: jobs.policy.throttle.num_days() as u32,
            reminder_days: jobs.policy.remind_after.num_days() as u32,
            trusted_proxies: None,
            embed_origins: None,
            feedback_retention_days: None,
            answer_retention_days: None,
            job_retention_days: None,
            event_retention_days: None,
            require_totp: false,
            secret_key: None,
            contact_budget: "2 per 30d".to_owned(),
            contact_min_gap_days: 2,
            contact_caps: None,
            quiet_hours: "21-8".to_owned(),
            time_zone: "UTC".to_owned(),
            business_hours: "09:00-17:00".to_owned(),
            business_days: "mon,tue,wed,thu,fri".to_owned(),
            holidays: None,
            sla_policies: None,
        }
    }
}

impl Config {
    /// Reads the settings: `file` if given (it must exist), else `vouch.toml`
    /// in the working directory if there is one; then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(path.is_file(), "no configuration file {}", path.display());
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("vouch.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("vouch.toml"))
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed("VOUCH_").only(KEYS));
        // figment's message names the key and the file or variable it came from.
        figment
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))
    }

    pub fn policy(&self) -> anyhow::Result<ContactPolicy> {
        let budget = vouch_domain::ContactBudget::from_settings(
            &self.contact_budget,
            self.contact_min_gap_days,
            self.contact_caps.as_deref().unwrap_or(""),
            &self.quiet_hours,
            &self.time_zone,
        )?;
        Ok(ContactPolicy {
            throttle: chrono::Duration::days(i64::from(self.invite_throttle_days)),
            remind_after: chrono::Duration::days(i64::from(self.reminder_days)),
            budget,
            ..ContactPolicy::default()
        })
    }

    /// `trusted_proxies`, parsed; a bad entry is an error that names it.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<vouch_server::AddressRange>> {
        self.trusted_proxies
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse()
                    .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))
            })
            .collect()
    }

    /// How pages are served: https when `public_url` is (a TLS-terminating
    /// proxy in front counts), and the origins that may frame `/l/` pages.
    pub fn web(&self) -> anyhow::Result<vouch_server::WebSettings> {
        let embed_origins = self
            .embed_origins
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|origin| {
                let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
                    matches!(scheme, "http" | "https")
                        && !rest.is_empty()
                        && rest.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*')
                        })
                });
                anyhow::ensure!(
                    valid,
                    "embed_origins: {origin:?} is not an origin such as https://www.acme.example"
                );
                Ok(origin.to_owned())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(vouch_server::WebSettings {
            https: self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            embed_origins,
            require_second_factor: self.require_totp,
            allow_private_webhooks: self.webhook_allow_private,
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.addr))
                .trim_end_matches('/')
                .to_owned(),
        })
    }

    /// How long each kind of record is kept.
    pub fn retention(&self) -> vouch_domain::RetentionPolicy {
        vouch_domain::RetentionPolicy {
            feedback_days: self.feedback_retention_days,
            answers_days: self.answer_retention_days,
            jobs_days: self.job_retention_days,
            events_days: self.event_retention_days,
        }
    }

    /// Where mail goes and what its links point to, before a server listens
    /// (`public_url`, else `http://` and `addr`).
    pub fn mail_settings(&self) -> MailSettings {
        MailSettings {
            smtp_url: self.smtp_url.clone(),
            from: self.mail_from.clone(),
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.addr)),
        }
    }

    /// The workers' settings; `listening` is the address the server got.
    pub fn jobs(&self, listening: std::net::SocketAddr) -> anyhow::Result<JobSettings> {
        Ok(JobSettings {
            mail: MailSettings {
                smtp_url: self.smtp_url.clone(),
                from: self.mail_from.clone(),
                public_url: self
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{listening}")),
            },
            policy: self.policy()?,
            workers: self.job_workers,
            poll: Duration::from_millis(self.job_poll_ms.max(10)),
            lease: Duration::from_secs(self.job_lease_secs.max(1)),
            backoff_base: Duration::from_secs(self.job_backoff_secs),
            backoff_cap: Duration::from_secs(self.job_backoff_cap_secs),
            webhook_timeout: Duration::from_secs(self.webhook_timeout_secs.max(1)),
            webhook_allow_private: self.webhook_allow_private,
            retention: self.retention(),
            retention_sweep: Duration::from_secs(3600),
            playbooks: self.playbooks()?,
        })
    }

    /// Business hours and the category window, for playbook runs and SLAs.
    pub fn playbooks(&self) -> anyhow::Result<vouch_app::playbooks::RunSettings> {
        let calendar = vouch_domain::WorkCalendar::from_settings(
            &self.time_zone,
            &self.business_hours,
            &self.business_days,
            self.holidays.as_deref().unwrap_or(""),
        )
        .map_err(anyhow::Error::msg)?;
        let sla_policies = vouch_domain::SlaPolicy::parse_list(
            self.sla_policies.as_deref().unwrap_or(""),
            &calendar,
        )
        .map_err(|e| anyhow::anyhow!("sla_policies: {e}"))?;
        Ok(vouch_app::playbooks::RunSettings {
            calendar,
            sla_policies,
            ..vouch_app::playbooks::RunSettings::default()
        })
    }

    /// Starts the log: to standard error, as text or JSON lines.
    pub fn init_logging(&self, default_filter: &str) {
        let filter =
            tracing_subscriber::EnvFilter::try_new(self.log.as_deref().unwrap_or(default_filter))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let _ = match self.log_format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
    }

    pub fn instance(&self) -> String {
        self.instance.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "vouch".to_owned());
            format!("{host}-{}", std::process::id())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_documented_with_its_default() {
        let docs = include_str!("../../../docs/CONFIG.md");
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let keys: Vec<&String> = defaults.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), KEYS.len());
        for key in KEYS {
            assert!(
                docs.contains(&format!("`{key}`")),
                "{key} is not in docs/CONFIG.md"
            );
            let env = format!("`VOUCH_{}`", key.to_uppercase());
            assert!(docs.contains(&env), "{env} is not in docs/CONFIG.md");
            let default = &defaults[*key];
            let shown = match default {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "unset".to_owned(),
                other => other.to_string(),
            };
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{key}`")))
                .unwrap();
            assert!(row.contains(&shown), "{key}: default {shown} not in {row}");
        }
    }
}
