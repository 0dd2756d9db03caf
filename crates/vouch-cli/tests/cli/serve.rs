//! `vouch serve` as a process: one server per SQLite file, several sharing
//! one PostgreSQL job queue, and a clean stop on SIGTERM that finishes the
//! job in hand.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vouch_domain::{DomainEvent, JobState};
use vouch_store::Store;
use vouch_testing::PostgresSchema;

/// A `vouch serve` process and the address it printed.
struct Server {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

fn serve(db: &str, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["--db", db, "serve", "--addr", "127.0.0.1:0"])
        .env_remove("VOUCH_DATABASE_URL")
        .env("VOUCH_JOB_POLL_MS", "20")
        .env("VOUCH_WEBHOOK_ALLOW_PRIVATE", "true")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vouch serve");
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let mut err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        sink.lock().unwrap().push_str(&text);
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.contains("Vouch is serving"), "{ready:?}");
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, stderr }
}

impl Server {
    /// SIGTERM, then the exit status and everything it logged.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        // SAFETY: signalling our own child process by its id.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let log = self.stderr.lock().unwrap().clone();
        (status, log)
    }
}

/// A webhook receiver on loopback: records each delivery's `webhook-id` and takes
/// `delay` to answer 200. A request cut off before its body (its sender
/// was killed) is no delivery.
pub(super) fn receiver(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut length, mut delivery) = (0usize, String::new());
                let mut complete = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        complete = true;
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if let Some(v) = lower.strip_prefix("webhook-id:") {
                        delivery = v.trim().to_owned();
                    }
                }
                let mut body = vec![0; length];
                if !complete || reader.read_exact(&mut body).is_err() {
                    return;
                }
                seen.lock().unwrap().push(delivery);
                std::thread::sleep(delay);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            });
        }
    });
    (url, got)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Subscribes `url` to `customer.updated` and writes `n` such events; the
/// servers' relay turns them into deliveries.
async fn queue_deliveries(store: &Store, url: &str, n: usize) {
    store
        .add_webhook(
            url,
            "whsec_dGVzdA==",
            &[vouch_domain::EventKind::CustomerUpdated],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let events: Vec<DomainEvent> = (0..n)
        .map(|i| DomainEvent::CustomerUpdated {
            customer_id: vouch_domain::CustomerId(i as i64 + 1),
            changed: vec!["test".to_owned()],
        })
        .collect();
    store.append_events(&events).await.unwrap();
}

/// The webhook deliveries done, once there are `n` (the servers' own
/// recurring sweeps finish jobs too, and are not counted).
async fn wait_until_done(store: &Store, n: usize) -> Vec<vouch_store::Job> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: Vec<vouch_store::Job> = store
            .jobs(Some(JobState::Done), 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == vouch_domain::JobKind::WebhookDelivery)
            .collect();
        if done.len() >= n {
            return done;
        }
        assert!(Instant::now() < deadline, "{} of {n} jobs done", done.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn one_server_per_sqlite_file_and_sigterm_finishes_the_job_in_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = super::sqlite_url(dir.path());
    super::stdout(&super::vouch(&db, &["migrate"]));
    let first = serve(&db, &[("VOUCH_JOB_WORKERS", "1")]);
    let second = super::vouch(&db, &["serve", "--addr", "127.0.0.1:0"]);
    super::assert_fails_cleanly(&second, "another `vouch serve` is already using");

    // A slow receiver: the job is still running when SIGTERM arrives.
    let (url, got) = receiver(Duration::from_millis(800));
    let rt = runtime();
    let store = rt.block_on(Store::open(&db)).unwrap();
    rt.block_on(queue_deliveries(&store, &url, 1));
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the delivery did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, log) = first.terminate();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("jobs in flight finished"), "{log}");
    let done: Vec<_> = rt
        .block_on(store.jobs(Some(JobState::Done), 10))
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == vouch_domain::JobKind::WebhookDelivery)
        .collect();
    assert_eq!(done.len(), 1, "the job in hand was finished, not abandoned");
    let listed = super::stdout(&super::vouch(&db, &["jobs", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.contains("webhook.deliver") && l.contains("done")),
        "{listed}"
    );
    // The lock died with the process: a new server may start.
    let (status, _) = serve(&db, &[]).terminate();
    assert!(status.success());
}

#[test]
fn two_servers_on_one_postgres_share_the_jobs_and_do_none_twice() {
    let rt = runtime();
    let Some(schema) = rt.block_on(PostgresSchema::create()) else {
        return;
    };
    let store = rt.block_on(Store::open(&schema.url)).unwrap();
    let alpha = serve(
        &schema.url,
        &[("VOUCH_INSTANCE", "alpha"), ("VOUCH_JOB_WORKERS", "2")],
    );
    let beta = serve(
        &schema.url,
        &[("VOUCH_INSTANCE", "beta"), ("VOUCH_JOB_WORKERS", "2")],
    );
    let (url, got) = receiver(Duration::from_millis(20));
    const JOBS: usize = 60;
    rt.block_on(queue_deliveries(&store, &url, JOBS));
    let done = rt.block_on(wait_until_done(&store, JOBS));
    let mut delivered = got.lock().unwrap().clone();
    assert_eq!(delivered.len(), JOBS, "each job delivered once");
    delivered.sort();
    delivered.dedup();
    assert_eq!(delivered.len(), JOBS, "no job delivered twice");
    for instance in ["alpha/", "beta/"] {
        assert!(
            done.iter().any(|j| j
                .locked_by
                .as_deref()
                .is_some_and(|w| w.starts_with(instance))),
            "{instance} did some of the work"
        );
    }
    for server in [alpha, beta] {
        let (status, log) = server.terminate();
        assert!(status.success(), "{status}: {log}");
    }
    rt.block_on(store.close());
    rt.block_on(schema.drop_schema());
}

#[test]
fn settings_come_from_vouch_toml_then_the_environment_then_options() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file.db");
    let from_env = dir.path().join("from-env.db");
    std::fs::write(
        dir.path().join("vouch.toml"),
        format!(
            "database_url = \"sqlite://{}\"\njob_workers = 0\n",
            from_file.display()
        ),
    )
    .unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vouch"))
            .current_dir(dir.path())
            .env_remove("VOUCH_DATABASE_URL")
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap()
    };
    let migrated = super::stdout(&run(&[], &["migrate"]));
    assert!(migrated.contains("from-file.db"), "{migrated}");
    let env_url = format!("sqlite://{}", from_env.display());
    let migrated = super::stdout(&run(&[("VOUCH_DATABASE_URL", &env_url)], &["migrate"]));
    assert!(
        migrated.contains("from-env.db"),
        "the environment overrides the file: {migrated}"
    );
    let option = format!("sqlite://{}", dir.path().join("from-option.db").display());
    let migrated = super::stdout(&run(
        &[("VOUCH_DATABASE_URL", &env_url)],
        &["--db", &option, "migrate"],
    ));
    assert!(
        migrated.contains("from-option.db"),
        "the option overrides both: {migrated}"
    );

    let bad_smtp = run(
        &[
            ("VOUCH_SMTP_URL", "gopher://mail.example"),
            ("VOUCH_ADDR", "127.0.0.1:0"),
        ],
        &["serve"],
    );
    super::assert_fails_cleanly(&bad_smtp, "smtp_url is not usable");

    std::fs::write(dir.path().join("vouch.toml"), "job_wokers = 3\n").unwrap();
    super::assert_fails_cleanly(&run(&[], &["migrate"]), "job_wokers");
    let bad = run(
        &[("VOUCH_JOB_WORKERS", "many")],
        &["--config", "/nonexistent.toml", "migrate"],
    );
    super::assert_fails_cleanly(&bad, "/nonexistent.toml");
}
