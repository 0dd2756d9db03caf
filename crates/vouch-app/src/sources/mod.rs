//! Connectors: feedback pulled from vendors' APIs, page by page, through
//! the same road as a file (`import::import`: read by `vouch-ingest`,
//! tagged, matched, upserted). Each page is written before the cursor
//! moves past it, so an interrupted sync resumes where it stopped and a
//! re-sync adds nothing. Vendors that list the newest first (Google,
//! Apple) are walked back to the newest change the last complete sync
//! saw, with the vendor's page token kept on the way. Rate limits (429) are waited out as the vendor's
//! `Retry-After` says; refused credentials stop the sync with an error
//! the source keeps. Credentials are sealed in the store and never logged,
//! shown or exported.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_ingest::Format;
use vouch_store::{NewSource, Store, StoredSource};

mod auth;
mod hubspot;

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
    /// Google Business Profile reviews (`GET /v4/accounts/{a}/locations/{l}/reviews`,
    /// OAuth 2.0), newest change first, 50 a page.
    GoogleBusiness,
    /// Google Play Developer API reviews (`GET /androidpublisher/v3/applications/{package}/reviews`,
    /// OAuth 2.0), newest first, 100 a page. Play keeps a week of them.
    GooglePlay,
    /// App Store Connect customer reviews (`GET /v1/apps/{id}/customerReviews`,
    /// an ES256 token), newest first, 200 a page.
    AppStore,
    /// HubSpot contacts (`GET /crm/v3/objects/contacts`, a private app's
    /// token): customers in, category and NPS written back.
    HubSpot,
}

/// Every connector's name, as `vouch sources add --kind` takes it.
pub const CONNECTORS: &[&str] = &[
    "trustpilot",
    "zendesk",
    "google-business",
    "google-play",
    "app-store",
    "hubspot",
];

impl std::str::FromStr for Connector {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "trustpilot" => Ok(Connector::Trustpilot),
            "zendesk" => Ok(Connector::Zendesk),
            "google-business" => Ok(Connector::GoogleBusiness),
            "google-play" => Ok(Connector::GooglePlay),
            "app-store" => Ok(Connector::AppStore),
            "hubspot" => Ok(Connector::HubSpot),
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
            Connector::GoogleBusiness => "google-business",
            Connector::GooglePlay => "google-play",
            Connector::AppStore => "app-store",
            Connector::HubSpot => "hubspot",
        }
    }

    /// The vendor's own API address, for `account` where it names it.
    fn default_base_url(self, account: &str) -> String {
        match self {
            Connector::Trustpilot => "https://api.trustpilot.com".to_owned(),
            // Zendesk: the account is `agent@example.com@SUBDOMAIN`.
            Connector::Zendesk => {
                let subdomain = account.rsplit('@').next().unwrap_or_default();
                format!("https://{subdomain}.zendesk.com")
            }
            Connector::GoogleBusiness => "https://mybusiness.googleapis.com".to_owned(),
            Connector::GooglePlay => "https://androidpublisher.googleapis.com".to_owned(),
            Connector::AppStore => "https://api.appstoreconnect.apple.com".to_owned(),
            Connector::HubSpot => "https://api.hubapi.com".to_owned(),
        }
    }

    /// What `--account` names, as help and errors say it.
    pub fn account_help(self) -> &'static str {
        match self {
            Connector::Trustpilot => "the business unit id",
            Connector::Zendesk => {
                "the agent's email and the subdomain, agent@example.com@SUBDOMAIN"
            }
            Connector::GoogleBusiness => {
                "the location's resource name, accounts/ACCOUNT_ID/locations/LOCATION_ID"
            }
            Connector::GooglePlay => "the app's package name, such as com.example.app",
            Connector::AppStore => "the app's Apple ID, a number such as 1234567890",
            Connector::HubSpot => "the HubSpot account (hub) id, a number",
        }
    }

    /// The feedback format its pages are in; `None` for customer sources.
    fn format(self) -> Option<Format> {
        Some(match self {
            Connector::Trustpilot => Format::Trustpilot,
            Connector::Zendesk => Format::Zendesk,
            Connector::GoogleBusiness => Format::GoogleBusiness,
            Connector::GooglePlay => Format::GooglePlay,
            Connector::AppStore => Format::AppStore,
            Connector::HubSpot => return None,
        })
    }

    /// Whether `account` can be put in the API's path as it is: the
    /// account is written into a URL, so it may not step out of it.
    fn account_fits(self, account: &str) -> bool {
        let plain = |extra: &[char]| {
            !account.is_empty()
                && account
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        };
        match self {
            Connector::Trustpilot => plain(&['-', '_']),
            Connector::Zendesk => account.rsplit_once('@').is_some_and(|(agent, sub)| {
                agent.contains('@')
                    && !sub.is_empty()
                    && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }),
            Connector::GoogleBusiness => {
                let parts: Vec<&str> = account.split('/').collect();
                parts.len() == 4
                    && parts[0] == "accounts"
                    && parts[2] == "locations"
                    && [parts[1], parts[3]]
                        .iter()
                        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            }
            Connector::GooglePlay => plain(&['.', '_']) && account.contains('.'),
            Connector::AppStore | Connector::HubSpot => {
                plain(&[]) && account.chars().all(|c| c.is_ascii_digit())
            }
        }
    }
}

/// Reviews Trustpilot gives a page.
const TRUSTPILOT_PAGE: usize = 100;

/// How long a rate limit is waited out at most, and how often.
const MAX_WAIT: Duration = Duration::from_secs(300);
const MAX_WAITS: u32 = 5;

/// Checks and adds a connector; an empty `base_url` is the vendor's own
/// API. Credentials travel to the vendor only over HTTPS (see
/// `check_base_url`).
pub async fn add(store: &Store, source: NewSource, now: DateTime<Utc>) -> Result<i64> {
    let connector: Connector = source.kind.parse().map_err(AppError::Refused)?;
    let name = source.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::Refused("a name of 1 to 80 characters".into()));
    }
    if !connector.account_fits(source.account.trim()) {
        return Err(AppError::Refused(format!(
            "{} needs an account: {} (got {:?})",
            connector.name(),
            connector.account_help(),
            source.account
        )));
    }
    if source.credentials.trim().is_empty() {
        return Err(AppError::Refused("the credentials are empty".into()));
    }
    Credentials::read(connector, &source.credentials).map_err(AppError::Refused)?;
    // No address given: the vendor's own.
    let base_url = match source.base_url.trim() {
        "" => connector.default_base_url(source.account.trim()),
        given => given.to_owned(),
    };
    check_base_url(&base_url).map_err(|e| AppError::Refused(format!("--base-url {e}")))?;
    if !(5..=10_080).contains(&source.every_minutes) {
        return Err(AppError::Refused(
            "a sync every 5 minutes to 7 days (10080 minutes)".into(),
        ));
    }
    let source = NewSource {
        name: name.to_owned(),
        account: source.account.trim().to_owned(),
        base_url,
        ..source
    };
    store
        .add_source(&source, now)
        .await?
        .ok_or_else(|| AppError::Refused(format!("a source named {name:?} exists")))
}

/// Credentials travel to the vendor only over HTTPS (plain HTTP to this
/// machine is allowed, for tests and local relays).
fn check_base_url(raw: &str) -> std::result::Result<(), String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("{raw:?}: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "{raw:?}: credentials go over https only (plain http to this machine only)"
        )),
    }
}

/// The credentials, read for one sync.
enum Credentials {
    /// Trustpilot's API key, Zendesk's API token.
    Secret(String),
    Google(auth::GoogleCredentials),
    AppStore(auth::AppStoreKey),
}

impl Credentials {
    fn read(connector: Connector, text: &str) -> std::result::Result<Self, String> {
        match connector {
            Connector::Trustpilot | Connector::Zendesk | Connector::HubSpot => {
                Ok(Credentials::Secret(text.trim().to_owned()))
            }
            Connector::GoogleBusiness | Connector::GooglePlay => {
                auth::GoogleCredentials::parse(text).map(Credentials::Google)
            }
            Connector::AppStore => auth::AppStoreKey::parse(text).map(Credentials::AppStore),
        }
    }
}

/// Where a newest-first connector stands: the newest change the last
/// complete sync saw (`since`), the newest this walk has seen, and the
/// vendor's token for the page the walk goes on from.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct Walk {
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

impl Walk {
    fn read(cursor: Option<&str>) -> Walk {
        cursor
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }

    /// The walk after a page whose items changed at `times` and that the
    /// vendor says goes on at `token`. It ends (no `next`) at the last
    /// page, or at the first page that reaches what the last complete sync
    /// saw.
    fn after(&self, times: &[DateTime<Utc>], token: Option<String>) -> Walk {
        let top = times.iter().copied().max().max(self.top);
        let reached = self
            .since
            .is_some_and(|since| times.iter().any(|t| *t <= since));
        match token {
            Some(next) if !reached => Walk {
                since: self.since,
                top,
                next: Some(next),
            },
            _ => Walk {
                since: top.max(self.since),
                top: None,
                next: None,
            },
        }
    }

    fn cursor(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
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
    /// Customers whose category or NPS went back to the CRM (HubSpot).
    pub written_back: u64,
    /// Why the sync stopped early; the pages before were kept.
    pub error: Option<String>,
}

/// A page as the vendor gave it.
struct Page {
    /// The page's JSON; `None` when it held no items.
    body: Option<Vec<u8>>,
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

/// How requests prove who sends them, for one sync.
enum Auth {
    Secret(String),
    /// A Google access token, fetched at the sync's start.
    Bearer(String),
    /// Signed again for each request: cheap, and never outlives Apple's limit.
    AppStore(auth::AppStoreKey),
}

/// Google's OAuth scope for each Google API.
fn google_scope(connector: Connector) -> &'static str {
    match connector {
        Connector::GooglePlay => "https://www.googleapis.com/auth/androidpublisher",
        _ => "https://www.googleapis.com/auth/business.manage",
    }
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
    let auth = match Credentials::read(connector, &credentials) {
        Ok(Credentials::Secret(secret)) => Ok(Auth::Secret(secret)),
        Ok(Credentials::Google(google)) => google
            .access_token(&client, google_scope(connector), now)
            .await
            .map(Auth::Bearer),
        Ok(Credentials::AppStore(key)) => Ok(Auth::AppStore(key)),
        Err(e) => Err(format!("the stored credentials do not read: {e}")),
    };
    match auth {
        Ok(auth) => pull(store, &client, connector, source, &auth, &mut report).await?,
        Err(error) => report.error = Some(error),
    }
    let next = now + chrono::Duration::minutes(source.every_minutes);
    store
        .finish_source_sync(source.id, now, next, report.error.as_deref())
        .await?;
    Ok(report)
}

/// The pages from the source's cursor on, each written before the cursor
/// moves past it; a page that cannot be had stops the pull with its
/// reason in `report`.
async fn pull(
    store: &Store,
    client: &reqwest::Client,
    connector: Connector,
    source: &StoredSource,
    auth: &Auth,
    report: &mut SyncReport,
) -> Result<()> {
    let mut cursor = source.cursor.clone();
    let mut waits = 0;
    loop {
        let fetched = fetch(client, connector, source, auth, cursor.as_deref()).await;
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
                return Ok(());
            }
            Fetched::Failed(error) => {
                report.error = Some(error);
                return Ok(());
            }
        };
        waits = 0;
        let summary = match (&page.body, auth) {
            (None, _) => ImportSummary::default(),
            (Some(body), Auth::Secret(token)) if connector == Connector::HubSpot => {
                let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                let base = source.base_url.trim_end_matches('/');
                match hubspot::write_page(store, client, base, token, &body).await? {
                    Ok((summary, written)) => {
                        report.written_back += written;
                        summary
                    }
                    Err(error) => {
                        report.error = Some(error);
                        return Ok(());
                    }
                }
            }
            (Some(body), _) => write_page(store, connector, body).await?,
        };
        // A page with no items (a restart, an empty last page) is no page read.
        report.pages += u64::from(page.body.is_some());
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
            None => return Ok(()),
        }
    }
}

/// Asks for a sync of `name` now: the source falls due and the sync job
/// is queued (once, however often this is asked). False when there is
/// no such source.
pub async fn sync_soon(store: &Store, name: &str, now: DateTime<Utc>) -> Result<bool> {
    if !store.schedule_source(name, now).await? {
        return Ok(false);
    }
    // A key of its own: the schedule's next run may be minutes away, and
    // would swallow a job under the schedule's key.
    let mut job = crate::jobs::Task::SourcesSync.job(now);
    job.dedupe_key = Some(format!("{}.now", crate::jobs::SOURCES_SCHEDULE));
    store.enqueue_jobs(&[job], now).await?;
    Ok(true)
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
        format: connector.format(),
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
    auth: &Auth,
    cursor: Option<&str>,
) -> Fetched {
    let base = source.base_url.trim_end_matches('/');
    let account = source.account.as_str();
    // Trustpilot's cursor is its page number; the newest-first
    // connectors' is a walk.
    let page = cursor.and_then(|c| c.parse::<u64>().ok()).unwrap_or(1);
    let walk = Walk::read(cursor);
    let request = match connector {
        Connector::Trustpilot => client
            .get(format!("{base}/v1/business-units/{account}/reviews"))
            .query(&[
                ("perPage", TRUSTPILOT_PAGE.to_string()),
                ("page", page.to_string()),
                ("orderBy", "createdat.asc".to_owned()),
            ]),
        Connector::Zendesk => {
            let url = format!("{base}/api/v2/incremental/tickets/cursor.json");
            let query = match cursor {
                Some(c) => [("cursor", c.to_owned())],
                None => [("start_time", "0".to_owned())],
            };
            client.get(url).query(&query)
        }
        Connector::GoogleBusiness => {
            let mut query = vec![("pageSize", "50".to_owned())];
            query.extend(walk.next.clone().map(|t| ("pageToken", t)));
            client
                .get(format!("{base}/v4/{account}/reviews"))
                .query(&query)
        }
        Connector::GooglePlay => {
            let mut query = vec![("maxResults", "100".to_owned())];
            query.extend(walk.next.clone().map(|t| ("token", t)));
            client
                .get(format!(
                    "{base}/androidpublisher/v3/applications/{account}/reviews"
                ))
                .query(&query)
        }
        Connector::HubSpot => {
            let mut query = vec![
                ("limit", "100".to_owned()),
                ("archived", "false".to_owned()),
                ("properties", hubspot::PROPERTIES.to_owned()),
            ];
            query.extend(
                cursor
                    .filter(|c| !c.is_empty())
                    .map(|c| ("after", c.to_owned())),
            );
            client
                .get(format!("{base}/crm/v3/objects/contacts"))
                .query(&query)
        }
        Connector::AppStore => match &walk.next {
            // Apple's next page is a whole address; the token goes to
            // Apple's host only.
            Some(next) if next.starts_with(&format!("{base}/")) => client.get(next),
            Some(next) => {
                return Fetched::Failed(format!(
                    "app-store gave a next page outside {base}: {next:?}"
                ));
            }
            None => client
                .get(format!("{base}/v1/apps/{account}/customerReviews"))
                .query(&[("sort", "-createdDate"), ("limit", "200")]),
        },
    };
    let request = match auth {
        Auth::Secret(secret) if connector == Connector::Zendesk => {
            let agent = account.rsplit_once('@').map_or(account, |(agent, _)| agent);
            request.basic_auth(format!("{agent}/token"), Some(secret))
        }
        Auth::Secret(token) if connector == Connector::HubSpot => request.bearer_auth(token),
        Auth::Secret(secret) => request.header("apikey", secret),
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::AppStore(key) => match key.token(Utc::now()) {
            Ok(token) => request.bearer_auth(token),
            Err(e) => return Fetched::Failed(e),
        },
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
    // A page token the vendor no longer takes (they expire): the walk
    // starts again from the newest page, keeping what it has seen.
    if status.as_u16() == 400 && walk.next.is_some() {
        let restart = Walk { next: None, ..walk };
        return Fetched::Page(Page {
            body: None,
            next: Some(restart.cursor()),
            keep: restart.cursor(),
        });
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
    let count = |key: &str| {
        value
            .get(key)
            .and_then(|r| r.as_array())
            .map_or(0, Vec::len)
    };
    // A page whose list `key` is empty has nothing to write.
    let body = |key: &str| (count(key) > 0).then(|| body.clone());
    match connector {
        Connector::Trustpilot => {
            let full = count("reviews") >= TRUSTPILOT_PAGE;
            Fetched::Page(Page {
                body: body("reviews"),
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
                body: body("tickets"),
                next: if end { None } else { after },
                keep,
            })
        }
        Connector::HubSpot => {
            // A whole pass each sync (HubSpot's list has no "changed
            // since"); the cursor keeps the page to go on from, and is
            // empty once the pass is done.
            let after = value
                .pointer("/paging/next/after")
                .and_then(|a| a.as_str())
                .map(str::to_owned);
            Fetched::Page(Page {
                body: body("results"),
                keep: after.clone().unwrap_or_default(),
                next: after,
            })
        }
        _ => {
            let (list, times, token) = newest_first_page(connector, &value);
            let walk = walk.after(&times, token);
            let cursor = walk.cursor();
            Fetched::Page(Page {
                body: body(list),
                next: walk.next.is_some().then(|| cursor.clone()),
                keep: cursor,
            })
        }
    }
}

/// A newest-first page's item list key, when each item last changed, and
/// the vendor's token for the page after it.
fn newest_first_page(
    connector: Connector,
    page: &serde_json::Value,
) -> (&'static str, Vec<DateTime<Utc>>, Option<String>) {
    let text = |v: &serde_json::Value, pointer: &str| {
        v.pointer(pointer)
            .and_then(|t| t.as_str())
            .map(str::to_owned)
    };
    let rfc3339 = |raw: Option<String>| {
        raw.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (list, token) = match connector {
        Connector::GoogleBusiness => ("reviews", text(page, "/nextPageToken")),
        Connector::GooglePlay => ("reviews", text(page, "/tokenPagination/nextPageToken")),
        _ => ("data", text(page, "/links/next")),
    };
    let items = page.get(list).and_then(|l| l.as_array());
    let times = items
        .into_iter()
        .flatten()
        .filter_map(|item| match connector {
            Connector::GoogleBusiness => {
                rfc3339(text(item, "/updateTime").or_else(|| text(item, "/createTime")))
            }
            Connector::GooglePlay => {
                let seconds = item.pointer("/comments/0/userComment/lastModified/seconds")?;
                let seconds = seconds
                    .as_i64()
                    .or_else(|| seconds.as_str().and_then(|s| s.parse().ok()))?;
                DateTime::from_timestamp(seconds, 0)
            }
            _ => rfc3339(text(item, "/attributes/createdDate")),
        })
        .collect();
    (list, times, token.filter(|t| !t.is_empty()))
}
