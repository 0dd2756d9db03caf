//! `vouch serve`, `vouch user add`, `vouch token create`.

use std::io::Read;

use clap::{Args, Subcommand};
use vouch_domain::{EventKind, JobState, Role};

use crate::config::Config;
use crate::table::Table;
use vouch_store::Store;

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default: addr of the configuration, 127.0.0.1:8080).
    #[arg(long)]
    addr: Option<String>,
    /// Load the demo data if the database is empty, and create a demo admin
    /// (admin@vouch.demo, password printed) if there are no users.
    #[arg(long)]
    demo: bool,
}

pub async fn run(store: Store, args: ServeArgs, config: &Config) -> anyhow::Result<()> {
    let _instance_lock = vouch_server::InstanceLock::acquire(&store).map_err(anyhow::Error::msg)?;
    if args.demo {
        if store.count_customers().await? == 0 {
            crate::demo::run(&store, crate::demo::DemoArgs::default_small()).await?;
        }
        if store.count_users().await? == 0 {
            let password = vouch_server::new_secret()[..16].to_owned();
            let hash = vouch_server::hash_password(&password);
            store
                .add_user("admin@vouch.demo", Role::Admin, &hash, chrono::Utc::now())
                .await?;
            println!("Demo admin: admin@vouch.demo, password {password}");
        }
    }
    if store.seals_secrets() {
        let sealed = store.seal_readable_secrets().await?;
        if sealed > 0 {
            tracing::info!(sealed, "sealed webhook and TOTP secrets stored readable");
        }
    } else {
        tracing::warn!(
            "secret_key is not set: webhook and TOTP secrets are stored readable in PostgreSQL (vouch secret-key makes a key)"
        );
    }
    let shutdown = shutdown_signal()?;
    let addr = args.addr.as_deref().unwrap_or(&config.addr);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let jobs = config.jobs(listener.local_addr()?)?;
    // A mail setting that could never work stops the start, not every email.
    jobs.mail.check().map_err(anyhow::Error::msg)?;
    // On the first start only; an edited or deleted default stays so.
    let installed = vouch_app::playbooks::install_defaults(&store).await?;
    if installed > 0 {
        tracing::info!(installed, "installed the default playbooks");
    }

    println!(
        "Vouch is serving {} at http://{}/",
        store.describe(),
        listener.local_addr()?
    );
    let instance = config.instance();
    tracing::info!(%instance, workers = config.job_workers, "started");
    vouch_server::serve(
        listener,
        vouch_server::AppState::new(store.clone())
            .with_policy(jobs.policy)
            .with_playbooks(jobs.playbooks.clone())
            .with_trusted_proxies(config.trusted_proxies()?)
            .with_web(config.web()?),
        jobs,
        &instance,
        shutdown,
    )
    .await?;
    tracing::info!("stopped: requests and jobs in flight finished");
    store.close().await;
    Ok(())
}

/// Ctrl-C or SIGTERM (what service managers and `kill` send). The handlers
/// are installed here, before the server says it is ready, so a signal
/// that comes right after is not missed.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Jobs, newest first: state, attempts, last error.
    ///
    /// Example: vouch jobs list --state dead
    List {
        /// queued, running, done or dead.
        #[arg(long)]
        state: Option<JobState>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Cancel the queued job with this dedupe key (a running one finishes).
    ///
    /// Example: vouch jobs cancel survey.email:42:reminder
    Cancel {
        /// The job's dedupe key, as `vouch jobs list --json` shows it.
        key: String,
    },
    /// Recurring work: each schedule's period and next slot.
    Schedules,
}

pub async fn run_jobs(store: &Store, command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::Cancel { key } => {
            anyhow::ensure!(
                store.cancel_job(&key, chrono::Utc::now()).await?,
                "no queued job has the key {key:?} (see vouch jobs list --json)"
            );
            println!("Cancelled the queued job {key}.");
            Ok(())
        }
        JobsCommand::Schedules => {
            let schedules = store.schedules().await?;
            if schedules.is_empty() {
                println!(
                    "No schedules (vouch serve adds the retention sweep when *_retention_days is set)."
                );
            }
            for s in schedules {
                println!(
                    "{}  {}  every {} s  next {}  last {}",
                    s.name,
                    s.kind,
                    s.every.num_seconds(),
                    s.next_at.format("%Y-%m-%d %H:%M:%S"),
                    s.fired_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".to_owned())
                );
            }
            Ok(())
        }
        JobsCommand::List { state, limit, json } => {
            let jobs = store.jobs(state, limit).await?;
            if json {
                for job in &jobs {
                    println!("{}", serde_json::to_string(job)?);
                }
                return Ok(());
            }
            let mut table = Table::new(&[
                ">id",
                "kind",
                "state",
                ">attempts",
                "run at",
                "worker",
                "last error",
            ]);
            for job in &jobs {
                table.row(vec![
                    job.id.to_string(),
                    job.kind.to_string(),
                    job.state.to_string(),
                    format!("{}/{}", job.attempts, job.max_attempts),
                    job.run_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    job.locked_by.clone().unwrap_or_default(),
                    job.last_error.clone().unwrap_or_default(),
                ]);
            }
            print!("{}", table.render());
            let counts = store.job_counts().await?;
            let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            println!(
                "\nIn the queue: {}",
                if summary.is_empty() {
                    "nothing".to_owned()
                } else {
                    summary.join(", ")
                }
            );
            Ok(())
        }
    }
}

#[derive(Subcommand)]
pub enum EventsCommand {
    /// The newest events, oldest first; with --follow, then each new one
    /// as it is committed (Ctrl-C stops).
    ///
    /// Example: vouch events tail --type customer.category_changed --follow
    ///
    /// Example: vouch events tail --after 1200 --json   (resume from a cursor)
    Tail {
        /// Only these types (repeat, or separate with commas): response.created,
        /// response.updated, feedback.created, feedback.updated,
        /// customer.created, customer.updated, customer.erased,
        /// customer.category_changed, invitation.sent, invitation.bounced,
        /// consent.changed, task.created, task.closed, task.overdue,
        /// task.escalated, program.member_joined, program.member_changed,
        /// program.points_changed, program.redemption_changed,
        /// referral.converted, referral.changed, program.badge_awarded,
        /// program.recognized, feedback.triaged.
        #[arg(long = "type", value_delimiter = ',')]
        types: Vec<EventKind>,
        /// How many of the newest to show first.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Start after this position (`seq`) instead of at the newest.
        #[arg(long)]
        after: Option<i64>,
        /// Keep printing new events.
        #[arg(long)]
        follow: bool,
        /// One JSON object per event (the webhook body) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_events(store: &Store, command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Tail {
        types,
        limit,
        after,
        follow,
        json,
    } = command;
    let limit = limit.clamp(1, 10_000);
    // Taken before the first page, so nothing committed meanwhile is missed.
    let mut position = match after {
        Some(after) => after,
        None => store.last_event_seq().await?,
    };
    let mut events = match after {
        Some(after) => store.events_after(after, &types, limit).await?,
        None => store.last_events(&types, limit).await?,
    };
    let mut table_header = !json;
    loop {
        if table_header && (!events.is_empty() || !follow) {
            println!(
                "{:>8}  {:<20}  {:<26}  {:>8}  id",
                "seq", "at (UTC)", "type", "customer"
            );
            table_header = false;
        }
        for event in &events {
            if json {
                println!("{}", vouch_app::events::envelope(event));
            } else {
                println!(
                    "{:>8}  {:<20}  {:<26}  {:>8}  {}",
                    event.seq,
                    event.at.format("%Y-%m-%d %H:%M:%S"),
                    event.kind.as_str(),
                    event
                        .customer_id
                        .map(|c| c.0.to_string())
                        .unwrap_or_default(),
                    event.id
                );
            }
            position = position.max(event.seq);
        }
        if !follow {
            if events.is_empty() && !json {
                println!("No events yet.");
            }
            return Ok(());
        }
        use std::io::Write;
        std::io::stdout().flush()?;
        if events.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        events = store.events_after(position, &types, 500).await?;
    }
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a staff user. Roles: admin, manager, analyst, agent, viewer.
    ///
    /// Passwords need 12 characters or more and must not be among the
    /// 100,000 most common breached passwords; no other rules.
    ///
    /// Example: echo "$PASSWORD" | vouch user add ana@example.com --role analyst --password-stdin
    Add {
        email: String,
        #[arg(long)]
        role: String,
        /// Read the password from standard input (else a random one is printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Invite someone by email: they get a single-use link, valid for
    /// --days, where they choose their password. Without smtp_url the link
    /// is printed for you to pass on.
    ///
    /// Example: vouch user invite ana@example.com --role agent
    Invite {
        email: String,
        #[arg(long)]
        role: String,
        /// How long the link works.
        #[arg(long, default_value_t = 3)]
        days: u32,
    },
    /// List the staff accounts with their role, state and open sessions.
    List,
    /// Change a user's role; their sessions end.
    ///
    /// Example: vouch user role ana@example.com manager
    Role { email: String, role: String },
    /// Set a new password (read from standard input); their sessions end.
    Password { email: String },
    /// Disable an account: it cannot sign in and its sessions end.
    Disable { email: String },
    /// Enable a disabled account again.
    Enable { email: String },
    /// Delete an account and its sessions.
    Delete { email: String },
    /// Set up a second factor: prints the otpauth:// URI for an
    /// authenticator app and ten single-use recovery codes, once. Setting
    /// it up again replaces both; --remove takes it away.
    ///
    /// Example: vouch user totp ana@example.com
    Totp {
        email: String,
        #[arg(long)]
        remove: bool,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let password = text.trim_end_matches(['\r', '\n']).to_owned();
    vouch_domain::password::check_password(&password)?;
    Ok(password)
}

async fn user_id(store: &Store, email: &str) -> anyhow::Result<i64> {
    store
        .users()
        .await?
        .into_iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("no staff account {email}"))
}

pub async fn run_user(
    store: &Store,
    command: UserCommand,
    config: &crate::config::Config,
) -> anyhow::Result<()> {
    let change = |change: vouch_store::UserChange, email: String, done: &'static str| async move {
        let id = user_id(store, &email).await?;
        store.change_user(id, &change).await?;
        store
            .audit(chrono::Utc::now(), "cli", done, Some(&email), None)
            .await?;
        println!("{email}: {done}; every session of theirs has ended.");
        anyhow::Ok(())
    };
    match command {
        UserCommand::Add {
            email,
            role,
            password_stdin,
        } => {
            let role: Role = role.parse()?;
            let email = vouch_domain::Email::parse(&email)?;
            let password = if password_stdin {
                read_password()?
            } else {
                let generated = vouch_server::new_secret()[..20].to_owned();
                println!("Password: {generated}");
                generated
            };
            let hash = vouch_server::hash_password(&password);
            store
                .add_user(email.as_str(), role, &hash, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("{email}: {e}"))?;
            store
                .audit(
                    chrono::Utc::now(),
                    "cli",
                    &format!("added as {role}"),
                    Some(email.as_str()),
                    None,
                )
                .await?;
            println!("Added {email} as {role}.");
            Ok(())
        }
        UserCommand::Invite { email, role, days } => {
            let role: Role = role.parse()?;
            let email = vouch_domain::Email::parse(&email)?;
            anyhow::ensure!(
                (1..=30).contains(&days),
                "--days {days}: an invitation link works for 1 to 30 days"
            );
            let token = vouch_server::new_secret();
            let now = chrono::Utc::now();
            store
                .add_staff_invitation(
                    &vouch_app::secrets::secret_hash(&token),
                    email.as_str(),
                    role,
                    now,
                    now + chrono::Duration::days(i64::from(days)),
                )
                .await?;
            store
                .audit(
                    now,
                    "cli",
                    &format!("invited as {role}"),
                    Some(email.as_str()),
                    None,
                )
                .await?;
            let mail = config.mail_settings();
            let mailer = vouch_server::Mailer::new(&mail);
            if mailer.can_send() {
                mailer
                    .send_staff_invitation(email.as_str(), &token, days)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("the invitation was saved but not mailed: {e:?}")
                    })?;
                println!(
                    "Invited {email} as {role}: the link is in their inbox, valid {days} days."
                );
            } else {
                println!(
                    "Invited {email} as {role}. No smtp_url is set, so pass them this link (it works once, for {days} days):\n{}/invite/{token}",
                    mail.public_url
                );
            }
            Ok(())
        }
        UserCommand::List => {
            let mut table =
                crate::table::Table::new(&["email", "role", "state", "sessions", "since"]);
            for user in store.users().await? {
                table.row(vec![
                    user.email,
                    user.role.to_string(),
                    match user.disabled_at {
                        Some(at) => format!("disabled {}", at.format("%Y-%m-%d")),
                        None => "active".to_owned(),
                    },
                    user.sessions.to_string(),
                    user.created_at.format("%Y-%m-%d").to_string(),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        UserCommand::Role { email, role } => {
            let role: Role = role.parse()?;
            let update = vouch_store::UserChange {
                role: Some(role),
                ..Default::default()
            };
            change(update, email, "role changed").await
        }
        UserCommand::Password { email } => {
            let hash = vouch_server::hash_password(&read_password()?);
            let update = vouch_store::UserChange {
                password_hash: Some(hash),
                ..Default::default()
            };
            change(update, email, "password changed").await
        }
        UserCommand::Disable { email } => {
            let update = vouch_store::UserChange {
                disabled_at: Some(Some(chrono::Utc::now())),
                ..Default::default()
            };
            change(update, email, "disabled").await
        }
        UserCommand::Enable { email } => {
            let update = vouch_store::UserChange {
                disabled_at: Some(None),
                ..Default::default()
            };
            change(update, email, "enabled").await
        }
        UserCommand::Totp { email, remove } => {
            let id = user_id(store, &email).await?;
            if remove {
                store.set_second_factor(id, None, &[]).await?;
                store.end_sessions_of(id).await?;
                store
                    .audit(
                        chrono::Utc::now(),
                        "cli",
                        "second factor removed",
                        Some(&email),
                        None,
                    )
                    .await?;
                println!("{email}: second factor removed; every session of theirs has ended.");
                return Ok(());
            }
            let (uri, codes) = vouch_app::totp::set_up(store, id, &email).await?;
            store.end_sessions_of(id).await?;
            store
                .audit(
                    chrono::Utc::now(),
                    "cli",
                    "second factor set up",
                    Some(&email),
                    None,
                )
                .await?;
            println!("Add this to the authenticator app (or show it as a QR code):\n{uri}\n");
            println!("Recovery codes, each usable once (keep them safe; they are shown only now):");
            for code in codes {
                println!("  {code}");
            }
            Ok(())
        }
        UserCommand::Delete { email } => {
            let id = user_id(store, &email).await?;
            store.delete_user(id).await?;
            store
                .audit(chrono::Utc::now(), "cli", "deleted", Some(&email), None)
                .await?;
            println!("{email}: deleted.");
            Ok(())
        }
    }
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once and only its hash is kept.
    ///
    /// Example: vouch token create --name crm-sync --role analyst --expires-days 90
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        /// It stops working after this many days (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List the tokens: name, role, created, expires, last used, revoked.
    List,
    /// Revoke a token by its id (from `vouch token list`); it stops working at once.
    Revoke { id: i64 },
}

pub async fn run_token(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            name,
            role,
            expires_days,
        } => {
            let role: Role = role.parse()?;
            let (token, hash) = vouch_server::new_api_token();
            let now = chrono::Utc::now();
            let expires = expires_days.map(|d| now + chrono::Duration::days(i64::from(d)));
            let id = store
                .add_expiring_api_token(&name, role, &hash, now, expires)
                .await?;
            store
                .audit(
                    now,
                    "cli",
                    &format!("token created as {role}"),
                    Some(&format!("token {id} ({name})")),
                    None,
                )
                .await?;
            println!("{token}");
            eprintln!(
                "Keep it now: Vouch stores only its hash. Send it as Authorization: Bearer TOKEN."
            );
            Ok(())
        }
        TokenCommand::List => {
            let day = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".to_owned())
            };
            let mut table = crate::table::Table::new(&[
                "id",
                "name",
                "role",
                "created",
                "expires",
                "last used",
                "revoked",
            ]);
            for token in store.api_tokens().await? {
                table.row(vec![
                    token.id.to_string(),
                    token.name,
                    token.role.to_string(),
                    day(Some(token.created_at)),
                    day(token.expires_at),
                    day(token.last_used_at),
                    day(token.revoked_at),
                ]);
            }
            print!("{}", table.render());
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            anyhow::ensure!(
                store.revoke_api_token(id, chrono::Utc::now()).await?,
                "no token {id} that is not revoked already (see vouch token list)"
            );
            store
                .audit(
                    chrono::Utc::now(),
                    "cli",
                    "token revoked",
                    Some(&format!("token {id}")),
                    None,
                )
                .await?;
            println!("Token {id} revoked.");
            Ok(())
        }
    }
}

/// `vouch audit`: the newest entries of the audit log.
pub async fn run_audit(store: &Store, limit: u32, json: bool) -> anyhow::Result<()> {
    let entries = store.audit_log(None, limit.max(1)).await?;
    if json {
        for entry in &entries {
            println!("{}", serde_json::to_string(entry)?);
        }
        return Ok(());
    }
    let mut table = crate::table::Table::new(&["id", "at", "actor", "action", "target", "client"]);
    for e in entries {
        table.row(vec![
            e.id.to_string(),
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.actor,
            e.action,
            e.target.unwrap_or_default(),
            e.client.unwrap_or_default(),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}
