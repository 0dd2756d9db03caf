//! `vouch`: the command line. A thin shell: it parses arguments, calls the
//! use cases in `vouch-app`, and prints tables or JSON.

mod args;
mod bench;
mod config;
mod customers;
mod demo;
mod goals;
mod import;
mod kpis;
mod nps;
mod playbooks;
mod program;
mod progress;
mod report;
mod serve;
mod sources;
mod table;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vouch_store::Store;

// Tagging allocates many short strings on every core; mimalloc's per-thread
// heaps made imports about a tenth faster than the system allocator. Built
// without transparent huge pages (`no_thp`): with them a 2 GB import held
// 2 MB pages that were mostly empty, about 50 MB more resident memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Vouch: customer advocacy on your own data. Measure loyalty (NPS, CSAT,
/// CES) with honest error bars, know each customer's category, and act on it.
///
/// Data lives in an embedded SQLite file (`vouch.db` here) unless --db points
/// to PostgreSQL. Start with `vouch demo`, then `vouch nps`.
#[derive(Parser)]
#[command(name = "vouch", version, max_term_width = 100)]
struct Cli {
    /// Database: sqlite://PATH (created if missing), a bare file path, or
    /// postgres://USER:PASSWORD@HOST:PORT/DB. Default: database_url of the
    /// configuration, else sqlite://vouch.db.
    #[arg(long, global = true)]
    db: Option<String>,

    /// Configuration file (default: vouch.toml here, if present). Settings
    /// and their VOUCH_* variables are listed in docs/CONFIG.md.
    #[arg(long, global = true, env = "VOUCH_CONFIG")]
    config: Option<std::path::PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database or bring its schema up to date (also done on every start).
    Migrate,
    /// Serve the dashboard and the REST API.
    ///
    /// Example: vouch serve --demo   (then open the printed URL and sign in)
    Serve(serve::ServeArgs),
    /// The job queue: webhook deliveries and other background work.
    #[command(subcommand)]
    Jobs(serve::JobsCommand),
    /// Print the REST API's OpenAPI 3.1 document (also served at /api/v1/openapi.json).
    Openapi,
    /// Print a new random key for the `secret_key` setting.
    ///
    /// Webhook and TOTP secrets are sealed with it. With SQLite and no
    /// `secret_key`, Vouch makes its own in a file beside the database
    /// (`vouch.db.key`); on PostgreSQL set one, the same on every instance:
    /// VOUCH_SECRET_KEY="$(vouch secret-key)" vouch serve
    SecretKey,
    /// Staff accounts.
    #[command(subcommand)]
    User(serve::UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(serve::TokenCommand),
    /// Delete what the retention settings no longer keep (`*_retention_days`
    /// in docs/CONFIG.md); `vouch serve` also does it every hour.
    ///
    /// Example: VOUCH_JOB_RETENTION_DAYS=30 vouch purge
    Purge,
    /// The outbox: every change to customers, answers, feedback,
    /// invitations and consent, as the events webhooks receive.
    #[command(subcommand)]
    Events(serve::EventsCommand),
    /// Nurturing paths: the playbooks that react to events, and their reports.
    #[command(subcommand)]
    Playbooks(playbooks::PlaybooksCommand),
    /// Close-the-loop tasks the playbooks (and staff) open.
    #[command(subcommand)]
    Tasks(playbooks::TasksCommand),
    /// The advocate program: members, points, the leaderboard, and the
    /// queues of challenge stages and referrals waiting for a person.
    #[command(subcommand)]
    Program(program::ProgramCommand),
    /// The periodic report: KPIs with intervals and changes, goals, topic
    /// drivers, flows between categories, SLA and program figures, as JSON,
    /// as a printable HTML page, or mailed to colleagues.
    ///
    /// Examples:
    ///   vouch report --period 2026-11 --format html > report.html
    ///   vouch report --period 2026-W47 --format json
    ///   vouch report --email maria@example.com --lang ro
    #[command(verbatim_doc_comment)]
    Report(report::ReportArgs),
    /// SMART goals on the KPIs: set one with its measured baseline, list
    /// them with their intervals and honest status.
    #[command(subcommand)]
    Goals(goals::GoalsCommand),
    /// The audit log, newest first: sign-ins, account and token changes,
    /// exports, erasures, settings and every API write.
    ///
    /// Example: vouch audit --limit 20
    Audit {
        /// How many entries (default 50).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per entry instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Fill an empty database with realistic demo data.
    ///
    /// Customers on four plans in English and Romanian, monthly NPS waves in
    /// which they drift between promoter, passive and detractor, comments,
    /// reviews, social mentions, support tickets, churn and referrals. The
    /// same --seed and --until always give the same data.
    ///
    /// Example: vouch --db demo.db demo --customers 20000 --months 24
    Demo(demo::DemoArgs),
    /// List customers or show everything about one.
    #[command(subcommand)]
    Customers(customers::CustomersCommand),
    /// Net Promoter Score with its interval, overall, as a trend or by segment.
    ///
    /// Examples:
    ///   vouch nps --from 2026-01-01 --to 2026-07-01 --json
    ///   vouch nps --by month --tz Europe/Bucharest
    ///   vouch nps --by week --rolling 90d --where plan=pro
    ///   vouch nps --by attr:region --lang ro
    #[command(verbatim_doc_comment)]
    Nps(nps::NpsArgs),
    /// Who moved between promoter, passive and detractor from one date to another.
    ///
    /// Example: vouch transitions --from 2026-01-01 --to 2026-07-01
    Transitions(kpis::TransitionArgs),
    /// The loyalty KPIs of a period: NPS and its change, CSAT, CES,
    /// retention, referral rate, reviews, social engagement, categories.
    ///
    /// Example: vouch kpis --from 2026-07-01 --to 2026-10-01 --json
    Kpis(kpis::KpiArgs),
    /// Import feedback or survey answers from an export file, tagged as it
    /// lands; re-importing adds nothing twice.
    ///
    /// Feedback: Trustpilot, Google Business Profile, Amazon, Yelp,
    /// Tripadvisor, App Store Connect, Google Play, X/Twitter, Zendesk, or
    /// any JSON lines / CSV with --map. Survey answers (Google Forms,
    /// Typeform, Delighted, SurveyMonkey…): --survey NAME --kind nps.
    ///
    /// Examples:
    ///   vouch import reviews.jsonl.gz --rejects rejects.jsonl
    ///   vouch import mentions.csv --format csv --source reddit --map text=Body --map date=Posted
    ///   vouch import answers.csv --survey "NPS 2025" --kind nps --map score="How likely…"
    Import(import::ImportArgs),
    /// Connectors: feedback pulled from vendors' APIs (Trustpilot, Zendesk)
    /// on a schedule, each from where its last sync stopped.
    #[command(subcommand)]
    Sources(sources::SourcesCommand),
    /// Text analytics: score texts, learn from ratings, re-tag stored feedback.
    #[command(subcommand)]
    Text(text::TextCommand),
    /// The topic taxonomy: list it, replace it, find phrases it misses.
    #[command(subcommand)]
    Topics(text::TopicsCommand),
    /// Measure Vouch's speed targets on generated data (see docs/PERFORMANCE.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    give_sqlite_our_allocator();
    lower_the_priority_of_tagging_threads();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// Lets `vouch … | head` end quietly, as Unix tools do, instead of
/// panicking on the closed pipe (Rust ignores SIGPIPE by default).
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; resetting
    // a signal disposition to its default has no other effect on the program.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// SQLite allocates through its own hooks, by default glibc's malloc behind
/// a global mutex that also keeps memory statistics: a fifth of an import's
/// writer thread went to allocating and locking. Here it gets mimalloc,
/// the Rust side's allocator, and no statistics (nothing reads them). Must
/// run before SQLite is first used; afterwards SQLite refuses the change,
/// which is harmless.
fn give_sqlite_our_allocator() {
    use libsqlite3_sys as ffi;
    use std::ffi::{c_int, c_void};

    unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
        // SAFETY: mi_malloc accepts any size; SQLite never asks for a negative one.
        unsafe { libmimalloc_sys::mi_malloc(size as usize) }
    }
    unsafe extern "C" fn free(block: *mut c_void) {
        // SAFETY: SQLite frees only blocks this allocator gave it.
        unsafe { libmimalloc_sys::mi_free(block) }
    }
    unsafe extern "C" fn realloc(block: *mut c_void, size: c_int) -> *mut c_void {
        // SAFETY: as for free; the size is never negative.
        unsafe { libmimalloc_sys::mi_realloc(block, size as usize) }
    }
    unsafe extern "C" fn size(block: *mut c_void) -> c_int {
        // SAFETY: as for free. SQLite's blocks are far below 2 GiB.
        unsafe { libmimalloc_sys::mi_usable_size(block) as c_int }
    }
    unsafe extern "C" fn roundup(size: c_int) -> c_int {
        // SAFETY: a pure function of its argument.
        unsafe { libmimalloc_sys::mi_good_size(size as usize) as c_int }
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: called first thing in main, before any thread or connection
    // exists (sqlite3_config is not thread-safe); SQLite copies `methods`.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const _);
    }
}

/// Tagging runs on rayon's pool, one thread a core, in the background of
/// whatever needs a core now: an import's writer is one thread and its
/// bottleneck, and at equal priority the tagging threads took a third of
/// its core away (a million-review import waited on the writer nine tenths
/// of the time); a server's requests come first too. The pool is set up
/// here, before anything uses it, with its threads' nice value raised.
fn lower_the_priority_of_tagging_threads() {
    // Fails only if the pool already exists, which nothing before this can cause.
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("vouch-tagging-{i}"))
        .start_handler(|_| lower_this_threads_priority())
        .build_global();
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    /// Nice 10 weighs a tenth of nice 0 when the two share a core.
    const NICE: libc::c_int = 10;
    // SAFETY: setpriority changes the nice value of the thread whose id it is
    // given (Linux keeps nice per thread), here the calling thread's own; it
    // touches no memory. Failure leaves the priority as it was, which is harmless.
    unsafe {
        let thread = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, NICE);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// One line naming the problem, exit code 2: no panic, no backtrace.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("vouch: {}", table::terminal_safe(&one_line(error)));
    ExitCode::from(2)
}

/// The error and its causes joined by ": ", skipping causes whose text the
/// line already holds (database drivers often repeat their source).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Commands that need no database must not create one.
    let command = match cli.command {
        Command::Text(text::TextCommand::Score(args)) => {
            return text::run_score(args).map(|()| ExitCode::SUCCESS);
        }
        command => command,
    };
    let config = config::Config::load(cli.config.as_deref())?;
    let serving = matches!(command, Command::Serve(_));
    config.init_logging(if serving { "info" } else { "warn" });
    if let Command::SecretKey = command {
        println!("{}", vouch_store::SecretKey::generate());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Openapi = command {
        println!(
            "{}",
            serde_json::to_string_pretty(&vouch_server::openapi())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = Store::open(cli.db.as_deref().unwrap_or(&config.database_url)).await?;
    if let Some(key) = &config.secret_key {
        store = store.with_secret_key(
            vouch_store::SecretKey::parse(key).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let outcome = match command {
        Command::Migrate => {
            println!(
                "{} is at schema version {}",
                store.describe(),
                store.schema_version().await?
            );
            Ok(())
        }
        Command::Demo(args) => demo::run(&store, args).await,
        Command::Serve(args) => {
            return serve::run(store, args, &config)
                .await
                .map(|()| ExitCode::SUCCESS);
        }
        Command::Jobs(command) => serve::run_jobs(&store, command).await,
        Command::Openapi | Command::SecretKey => unreachable!("answered before the store opens"),
        Command::User(command) => serve::run_user(&store, command, &config).await,
        Command::Token(command) => serve::run_token(&store, command).await,
        Command::Audit { limit, json } => serve::run_audit(&store, limit, json).await,
        Command::Events(command) => serve::run_events(&store, command).await,
        Command::Playbooks(command) => playbooks::run_playbooks(&store, command).await,
        Command::Tasks(command) => playbooks::run_tasks(&store, command).await,
        Command::Program(command) => program::run(&store, command).await,
        Command::Report(args) => {
            report::run(&store, &config.playbooks()?, &config.mail_settings(), args).await
        }
        Command::Goals(command) => goals::run(&store, &config.playbooks()?, command).await,
        Command::Purge => {
            let purged = vouch_app::retention::purge(&store, &config.retention()).await?;
            println!("{}", serde_json::to_string(&purged)?);
            Ok(())
        }
        Command::Customers(command) => customers::run(&store, command, &config.policy()?).await,
        Command::Nps(args) => nps::run(&store, args).await,
        Command::Transitions(args) => kpis::run_transitions(&store, args).await,
        Command::Kpis(args) => kpis::run_kpis(&store, args).await,
        Command::Bench(command) => bench::run(&store, command).await,
        Command::Text(command) => text::run(&store, command).await,
        Command::Topics(command) => text::run_topics(&store, command).await,
        Command::Sources(command) => {
            let code = sources::run(&store, command).await;
            store.close().await;
            return code;
        }
        Command::Import(args) => {
            let code = import::run(&store, args).await;
            store.close().await;
            return code;
        }
    };
    store.close().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let inner = std::io::Error::other("disk full");
        let error = anyhow::Error::new(inner)
            .context("write failed: disk full")
            .context("saving vouch.db");
        assert_eq!(
            super::one_line(&error),
            "saving vouch.db: write failed: disk full"
        );
    }
}
