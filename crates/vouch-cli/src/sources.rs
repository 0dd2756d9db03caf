//! `vouch sources`: connectors that pull feedback from vendors' APIs.

use std::process::ExitCode;

use clap::Subcommand;
use vouch_app::sources::CONNECTORS;
use vouch_store::{NewSource, Store};

use crate::table::{Table, terminal_safe, thousands};

#[derive(Subcommand)]
pub enum SourcesCommand {
    /// Connect a vendor's API. The credentials are read from an
    /// environment variable or a file (never from the command line, where
    /// `ps` and shell history would show them) and kept sealed.
    ///
    /// Kinds, and what --account and the credentials are:
    ///   trustpilot       the business unit id; the API key
    ///   zendesk          agent@example.com@SUBDOMAIN; an API token
    ///   google-business  accounts/ACCOUNT_ID/locations/LOCATION_ID; Google JSON credentials
    ///   google-play      the package name; Google JSON credentials
    ///   app-store        the app's Apple ID; JSON with issuer_id, key_id, private_key
    ///   hubspot          the hub id; a private app's access token (contacts read and
    ///                    write): contacts become customers, and each one's category
    ///                    and latest NPS go back as vouch_nps_category, vouch_nps_score
    ///
    /// Google JSON credentials: an authorized_user file (`gcloud auth
    /// application-default login`) or a service account's key file.
    ///
    /// Examples:
    ///   TP_KEY=… vouch sources add trustpilot-main --kind trustpilot --account 507f191e810c19729de860ea --credentials-env TP_KEY
    ///   ZD_TOKEN=… vouch sources add support --kind zendesk --account agent@example.com@example --credentials-env ZD_TOKEN
    ///   vouch sources add play --kind google-play --account com.example.app --credentials-file play-service-account.json
    ///   vouch sources add ios --kind app-store --account 1234567890 --credentials-file asc-key.json
    #[command(verbatim_doc_comment)]
    Add {
        /// A name for it.
        name: String,
        /// Which vendor's API (see above).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(CONNECTORS))]
        kind: String,
        /// What the source reads at the vendor (see above).
        #[arg(long)]
        account: String,
        /// The environment variable that holds the credentials.
        #[arg(
            long,
            value_name = "VAR",
            required_unless_present = "credentials_file",
            conflicts_with = "credentials_file"
        )]
        credentials_env: Option<String>,
        /// A file that holds the credentials (a JSON key file); it can be
        /// deleted once the source is added.
        #[arg(long, value_name = "PATH")]
        credentials_file: Option<std::path::PathBuf>,
        /// The API's address, when not the vendor's own (a relay, a test server).
        #[arg(long)]
        base_url: Option<String>,
        /// Minutes between syncs (5 to 10080).
        #[arg(long, default_value_t = 60)]
        every: i64,
    },
    /// The sources with their last sync, next sync, items pulled and last error.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Pull a source now, from where its last sync stopped.
    Sync {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Forget a source (what it pulled stays).
    Remove { name: String },
}

pub async fn run(store: &Store, command: SourcesCommand) -> anyhow::Result<ExitCode> {
    match command {
        SourcesCommand::Add {
            name,
            kind,
            account,
            credentials_env,
            credentials_file,
            base_url,
            every,
        } => {
            let credentials = match (credentials_env, credentials_file) {
                (Some(var), _) => std::env::var(&var)
                    .map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))?,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                (None, None) => anyhow::bail!("--credentials-env or --credentials-file"),
            };
            let source = NewSource {
                name: name.clone(),
                kind,
                base_url: base_url.unwrap_or_default(),
                account,
                credentials,
                every_minutes: every,
            };
            let id = vouch_app::sources::add(store, source, chrono::Utc::now()).await?;
            println!(
                "Source {name:?} added (id {id}); it syncs every {every} minutes while vouch serve runs, or now with: vouch sources sync {name:?}"
            );
        }
        SourcesCommand::List { json } => {
            let sources = store.sources().await?;
            if json {
                println!("{}", serde_json::to_string(&sources)?);
                return Ok(ExitCode::SUCCESS);
            }
            if sources.is_empty() {
                println!(
                    "No sources yet. Add one with: vouch sources add NAME --kind trustpilot …"
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new(&[
                "name",
                "kind",
                "account",
                "last sync",
                "next sync",
                "items",
                "last error",
            ]);
            let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("never".to_owned(), |t| {
                    t.format("%Y-%m-%d %H:%M").to_string()
                })
            };
            for s in sources {
                table.row(vec![
                    terminal_safe(&s.name),
                    s.kind,
                    terminal_safe(&s.account),
                    at(s.last_sync_at),
                    at(s.next_sync_at),
                    thousands(s.items_pulled.max(0) as u64),
                    terminal_safe(s.last_error.as_deref().unwrap_or("")),
                ]);
            }
            print!("{}", table.render());
        }
        SourcesCommand::Sync { name, json } => {
            let source = store.source(&name).await?.ok_or_else(|| {
                anyhow::anyhow!("no source named {name:?} (see vouch sources list)")
            })?;
            let report = vouch_app::sources::sync(store, &source, chrono::Utc::now()).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{}: {} pages, {} imported, {} updated, {} unchanged, {} rejected{}{}",
                    terminal_safe(&name),
                    report.pages,
                    thousands(report.imported),
                    thousands(report.updated),
                    thousands(report.unchanged),
                    thousands(report.rejected),
                    if report.written_back > 0 {
                        format!(", {} written back", thousands(report.written_back))
                    } else {
                        String::new()
                    },
                    if report.waits > 0 {
                        format!(" ({} rate limits waited out)", report.waits)
                    } else {
                        String::new()
                    }
                );
                if let Some(error) = &report.error {
                    println!("Stopped: {}", terminal_safe(error));
                }
            }
            if report.error.is_some() {
                return Ok(ExitCode::from(1));
            }
        }
        SourcesCommand::Remove { name } => {
            if !store.remove_source(&name).await? {
                anyhow::bail!("no source named {name:?}");
            }
            println!("Source {name:?} removed; the feedback it pulled stays.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
