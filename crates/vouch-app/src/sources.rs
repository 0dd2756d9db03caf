//! Connectors: feedback pulled from vendors' APIs, page by page, through
//! the same road as a file (`import::import`: read by `vouch-ingest`,
//! tagged, matched, upserted). Each page is written before the cursor
//! moves past it, so an interrupted sync resumes where it stopped and a
//! re-sync adds nothing. Rate limits (429) are waited out as the vendor's
//! `Retry-After` says; refused credentials stop the sync with an error
//! the source keeps. Credentials are sealed in the store and never logged,
//! shown or exported.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_ingest::Format;
use vouch_store::{NewSource, Store, StoredSource};

use crate::import::{ImportOptions, ImportSummary};
use crate::{AppError, Result};

/// The vendors Vouch pulls from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// Trustpilot's business-unit reviews (`GET /v1/business-units/{id}/reviews`,
    /// `apikey` header), oldest first, a page of 100 at a time.
    Trustpilot,
    /// Zendesk's incremental ticket export (`GET /api/v2/incremental/tickets/cursor.json`,
    /// an API token for the agent's email), from its cursor.
    Zendesk,
}

/// Every connector's name, as `vouch sources add --kind` takes it.
pub const CONNECTORS: &[&str] = &["trustpilot", "zendesk"];

impl std::str::FromStr for Connector {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "trustpilot" => Ok(Connector::Trustpilot),
            "zendesk" => Ok(Connector::Zendesk),
            other => Err(format!(
                "{other:?} is not a connector: {}",
                CONNECTORS.join(", ")
            )),
        }
    }
}

impl Connector {
    pub fn name(self) -> &'static str {
        match self {
            Connector::Trustpilot => "trustpilot",
            Connector::Zendesk => "zendesk",
        }
    }

    /// The vendor's own API address, for `account` where it names it.
    pub fn default_base_url(self, account: &str) -> String {
        match self {
            Connector::Trustpilot => "https://api.trustpilot.com".to_owned(),
            // Zendesk: the account is `agent@example.com@SUBDOMAIN`.
            Connector::Zendesk => {
                let subdomain = account.rsplit('@').next().unwrap_or_default();
                format!("https://{subdomain}.zendesk.com")
            }
        }
    }

    fn format(self) -> Format {
        match self {
            Connector::Trustpilot => Format::Trustpilot,
            Connector::Zendesk => Format::Zendesk,
        }
    }
}

/// Reviews Trustpilot gives a page.
const TRUSTPILOT_PAGE: usize = 100;

/// How long a rate limit is waited out at most, and how often.
const MAX_WAIT: Duration = Duration::from_secs(300);
const MAX_WAITS: u32 = 5;

/// Checks and adds a connector. Credentials travel to the vendor only
/// over HTTPS (plain HTTP to this machine is allowed, for tests and
/// local relays).
pub async fn add(store: &Store, source: NewSource, now: DateTime<Utc>) -> Result<i64> {
    let connector: Connector = source.kind.parse().map_err(AppError::Refused)?;
    let name = source.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::Refused("a name of 1 to 80 characters".into()));
    }
    if source.account.trim().is_empty() {
        return Err(AppError::Refused(format!(
            "{} needs an account: {}",
            connector.name(),
            match connector {
                Connector::Trustpilot => "the business unit id",
                Connector::Zendesk =>
                    "the agent's email and the subdomain, agent@example.com@SUBDOMAIN",
            }
        )));
    }
    if source.credentials.trim().is_empty() {
        return Err(AppError::Refused("the credentials are empty".into()));
    }
    check_base_url(&source.base_url)?;
    if !(5..=10_080).contains(&source.every_minutes) {
        return Err(AppError::Refused(
            "a sync every 5 minutes to 7 days (10080 minutes)".into(),
        ));
    }
    let source = NewSource {
        name: name.to_owned(),
        ..source
    };
    store
        .add_source(&source, now)
        .await?
        .ok_or_else(|| AppError::Refused(format!("a source named {name:?} exists")))
}

fn check_base_url(raw: &str) -> Result<()> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| AppError::Refused(format!("--base-url {raw:?}: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(AppError::Refused(format!(
            "--base-url {raw:?}: credentials go over https only (plain http to this machine only)"
        ))),
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    pub source: String,
    pub pages: u64,
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Rate limits waited out.
    pub waits: u32,
    /// Why the sync stopped early; the pages before were kept.
    pub error: Option<String>,
}

/// A page as the vendor gave it.
struct Page {
    body: Vec<u8>,
    /// Where the page after it starts; `None`: this was the last page for
    /// now, and the cursor stays where the next sync should read again.
    next: Option<String>,
    /// The cursor to keep once this page is written.
    keep: String,
}

enum Fetched {
    Page(Page),
    Wait(Duration),
    Failed(String),
}

/// Pulls `source` from its cursor to the vendor's end, page by page.
pub async fn sync(store: &Store, source: &StoredSource, now: DateTime<Utc>) -> Result<SyncReport> {
    let connector: Connector = source
        .kind
        .parse()
        .map_err(|e: String| AppError::Refused(e))?;
    let credentials = store
        .source_credentials(source.id)
        .await?
        .ok_or_else(|| AppError::Refused(format!("no source {:?}", source.name)))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| AppError::Refused(e.to_string()))?;
    let mut report = SyncReport {
        source: source.name.clone(),
        ..SyncReport::default()
    };
    let mut cursor = source.cursor.clone();
    let mut waits = 0;
    loop {
        let fetched = fetch(&client, connector, source, &credentials, cursor.as_deref()).await;
        let page = match fetched {
            Fetched::Page(page) => page,
            Fetched::Wait(wait) if waits < MAX_WAITS => {
                waits += 1;
                report.waits += 1;
                tokio::time::sleep(wait.min(MAX_WAIT)).await;
                continue;
            }
            Fetched::Wait(_) => {
                report.error = Some(format!(
                    "rate-limited {waits} times in a row; the next sync goes on"
                ));
                break;
            }
            Fetched::Failed(error) => {
                report.error = Some(error);
                break;
            }
        };
        waits = 0;
        let summary = write_page(store, connector, &page.body).await?;
        report.pages += 1;
        report.imported += summary.imported;
        report.updated += summary.updated;
        report.unchanged += summary.unchanged;
        report.rejected += summary.rejected;
        store
            .advance_source(
                source.id,
                Some(&page.keep),
                summary.imported + summary.updated,
            )
            .await?;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let next = now + chrono::Duration::minutes(source.every_minutes);
    store
        .finish_source_sync(source.id, now, next, report.error.as_deref())
        .await?;
    Ok(report)
}

/// Syncs every source that is due: the job the scheduler runs.
pub async fn sync_due(store: &Store, now: DateTime<Utc>) -> Result<Vec<SyncReport>> {
    let mut reports = Vec::new();
    for source in store.due_sources(now).await? {
        reports.push(sync(store, &source, now).await?);
    }
    Ok(reports)
}

/// One page through the import's road: the same parsing, tagging,
/// matching and upsert as `vouch import`.
async fn write_page(store: &Store, connector: Connector, body: &[u8]) -> Result<ImportSummary> {
    let options = ImportOptions {
        format: Some(connector.format()),
        ..ImportOptions::default()
    };
    crate::import::import(
        store,
        || Ok(std::io::Cursor::new(body)),
        options,
        |_| {},
        |_| {},
    )
    .await
}

async fn fetch(
    client: &reqwest::Client,
    connector: Connector,
    source: &StoredSource,
    credentials: &str,
    cursor: Option<&str>,
) -> Fetched {
    let base = source.base_url.trim_end_matches('/');
    // Trustpilot's cursor is its page number.
    let page = cursor.and_then(|c| c.parse::<u64>().ok()).unwrap_or(1);
    let request = match connector {
        Connector::Trustpilot => client
            .get(format!(
                "{base}/v1/business-units/{}/reviews",
                source.account
            ))
            .query(&[
                ("perPage", TRUSTPILOT_PAGE.to_string()),
                ("page", page.to_string()),
                ("orderBy", "createdat.asc".to_owned()),
            ])
            .header("apikey", credentials),
        Connector::Zendesk => {
            let url = format!("{base}/api/v2/incremental/tickets/cursor.json");
            let query = match cursor {
                Some(c) => [("cursor", c.to_owned())],
                None => [("start_time", "0".to_owned())],
            };
            let agent = source
                .account
                .rsplit_once('@')
                .map_or(source.account.as_str(), |(agent, _)| agent);
            client
                .get(url)
                .query(&query)
                .basic_auth(format!("{agent}/token"), Some(credentials))
        }
    };
    let response = match request.send().await {
        Ok(r) => r,
        // The error names the URL, never the credentials (they are headers).
        Err(e) => return Fetched::Failed(format!("{} cannot be reached: {e}", connector.name())),
    };
    let status = response.status();
    if status.as_u16() == 429 {
        let seconds = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(60);
        return Fetched::Wait(Duration::from_secs(seconds));
    }
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Fetched::Failed(format!(
            "{} refused the credentials (HTTP {}): add the source again with new ones",
            connector.name(),
            status.as_u16()
        ));
    }
    if !status.is_success() {
        return Fetched::Failed(format!(
            "{} answered HTTP {}; the pages before were kept and the next sync resumes here",
            connector.name(),
            status.as_u16()
        ));
    }
    let body = match response.bytes().await {
        Ok(b) => b.to_vec(),
        Err(e) => return Fetched::Failed(format!("{} broke off a page: {e}", connector.name())),
    };
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Fetched::Failed(format!(
                "{} sent a page that is not JSON ({e}); the next sync resumes here",
                connector.name()
            ));
        }
    };
    match connector {
        Connector::Trustpilot => {
            let full = value
                .get("reviews")
                .and_then(|r| r.as_array())
                .is_some_and(|r| r.len() >= TRUSTPILOT_PAGE);
            Fetched::Page(Page {
                body,
                // A full page has one after it; a short one is read again
                // next time, with whatever was added to it.
                next: full.then(|| (page + 1).to_string()),
                keep: if full { page + 1 } else { page }.to_string(),
            })
        }
        Connector::Zendesk => {
            let after = value
                .get("after_cursor")
                .and_then(|c| c.as_str())
                .map(str::to_owned);
            let end = value
                .get("end_of_stream")
                .and_then(|e| e.as_bool())
                .unwrap_or(true);
            let keep = after
                .clone()
                .or_else(|| cursor.map(str::to_owned))
                .unwrap_or_default();
            Fetched::Page(Page {
                body,
                next: if end { None } else { after },
                keep,
            })
        }
    }
}
