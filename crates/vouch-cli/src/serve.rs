//! `vouch serve`, `vouch user add`, `vouch token create`.

use std::io::Read;

use clap::{Args, Subcommand};
use vouch_domain::Role;
use vouch_store::Store;

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "VOUCH_ADDR")]
    addr: String,
    /// Load the demo data if the database is empty, and create a demo admin
    /// (admin@vouch.demo, password printed) if there are no users.
    #[arg(long)]
    demo: bool,
}

pub async fn run(store: Store, args: ServeArgs) -> anyhow::Result<()> {
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
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    println!(
        "Vouch is serving {} at http://{}/",
        store.describe(),
        listener.local_addr()?
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    vouch_server::serve(
        listener,
        vouch_server::AppState::new(store.clone()),
        shutdown,
    )
    .await?;
    store.close().await;
    Ok(())
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a staff user. Roles: admin, manager, analyst, agent, viewer.
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
}

pub async fn run_user(store: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            role,
            password_stdin,
        } => {
            let role: Role = role.parse()?;
            let email = vouch_domain::Email::parse(&email)?;
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                text.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                let generated = vouch_server::new_secret()[..20].to_owned();
                println!("Password: {generated}");
                generated
            };
            anyhow::ensure!(
                password.chars().count() >= 10,
                "the password needs at least 10 characters"
            );
            let hash = vouch_server::hash_password(&password);
            store
                .add_user(email.as_str(), role, &hash, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("{email}: {e}"))?;
            println!("Added {email} as {role}.");
            Ok(())
        }
    }
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once and only its hash is kept.
    ///
    /// Example: vouch token create --name crm-sync --role analyst
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
    },
}

pub async fn run_token(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, role } => {
            let role: Role = role.parse()?;
            let (token, hash) = vouch_server::new_api_token();
            store
                .add_api_token(&name, role, &hash, chrono::Utc::now())
                .await?;
            println!("{token}");
            eprintln!(
                "Keep it now: Vouch stores only its hash. Send it as Authorization: Bearer TOKEN."
            );
            Ok(())
        }
    }
}
