//! Fault injection: `vouch serve` and `vouch import` killed with SIGKILL
//! at seeded moments while customers answer, a file is imported and job
//! workers deliver webhooks, on both backends. After each kill nothing
//! acknowledged is lost or doubled, the import run again completes with
//! every line once, and the database is sound; at the end every job is
//! done, each event delivered.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vouch_domain::{JobState, Role};
use vouch_store::Store;
use vouch_testing::PostgresSchema;

/// A small seeded generator (a 64-bit LCG): the same kills every run.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// `vouch serve` on a free port; its address.
fn start(db: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["--db", db, "serve", "--addr", "127.0.0.1:0"])
        .env_remove("VOUCH_DATABASE_URL")
        .env("VOUCH_JOB_POLL_MS", "20")
        .env("VOUCH_JOB_LEASE_SECS", "1")
        .env("VOUCH_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("VOUCH_JOB_BACKOFF_SECS", "0")
        .env("VOUCH_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run vouch serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = ready
        .split("http://")
        .nth(1)
        .map(|a| a.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| panic!("no address in {ready:?}"));
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn kill_9(child: &mut Child) {
    // SAFETY: signalling our own child process by its id.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// POSTs JSON over a fresh connection; the status, or `None` when the
/// connection failed (the server died): not acknowledged.
fn post(addr: &str, path: &str, token: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

/// Lines per import file: one batch, so it is kept whole or not at all.
const IMPORT_LINES: usize = 200;

/// `vouch import` of `file` (JSON lines from Google), not waited for.
fn import(db: &str, file: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "--db", db, "import", "--format", "jsonl", "--source", "google",
        ])
        .arg(file)
        .env_remove("VOUCH_DATABASE_URL")
        .env("VOUCH_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run vouch import")
}

/// `rounds` kills of a server taking answers and feedback and delivering
/// their webhooks, and of an import beside it, then the checks.
fn survive_kills(db: &str, rounds: u32, seed: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(db)).unwrap();
    let (token, hash) = vouch_server::new_api_token();
    rt.block_on(async {
        store
            .add_api_token("faults", Role::Admin, &hash, chrono::Utc::now())
            .await
            .unwrap();
        store
            .ensure_survey(vouch_domain::SurveyKind::Nps, "Faults", chrono::Utc::now())
            .await
            .unwrap();
    });
    let (url, got_deliveries) = super::serve::receiver(Duration::ZERO);
    rt.block_on(store.add_webhook(
        &url,
        "whsec_ZmF1bHRz",
        &[
            vouch_domain::EventKind::ResponseCreated,
            vouch_domain::EventKind::FeedbackCreated,
        ],
        chrono::Utc::now(),
    ))
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut random = Seeded(seed);
    let mut acked_answers: Vec<String> = Vec::new();
    let mut acked_feedback: Vec<String> = Vec::new();
    let (mut imports_cut, mut imports_killed_after_commit) = (0, 0);
    for round in 0..rounds {
        let (mut server, addr) = start(db);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, addr, token) = (stop.clone(), addr.clone(), token.clone());
            std::thread::spawn(move || {
                let (mut answers, mut feedback) = (Vec::new(), Vec::new());
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let marker = format!("r{round}-{i}");
                    let answer = format!(
                        r#"{{"survey":"Faults","score":{},"comment":"answer {marker}"}}"#,
                        i % 11
                    );
                    if post(&addr, "/api/v1/responses", &token, &answer) == Some(201) {
                        answers.push(marker.clone());
                    }
                    let item = format!(
                        r#"{{"source":"trustpilot","items":[{{"id":"{marker}","text":"review {marker}","rating":4}}]}}"#
                    );
                    if matches!(
                        post(&addr, "/api/v1/feedback", &token, &item),
                        Some(200 | 201)
                    ) {
                        feedback.push(marker);
                    }
                    i += 1;
                }
                (answers, feedback)
            })
        };
        // The import starts with the round and is killed up to a second
        // after the server: before, during or after its transaction.
        let file = files.path().join(format!("round-{round}.jsonl"));
        let keys: Vec<String> = (0..IMPORT_LINES)
            .map(|k| format!("imp{round}-{k}"))
            .collect();
        let keyed: Vec<(vouch_domain::Source, &str)> = keys
            .iter()
            .map(|k| (vouch_domain::Source::Google, k.as_str()))
            .collect();
        let lines: String = keys
            .iter()
            .map(|key| {
                format!(
                    "{{\"id\":\"{key}\",\"text\":\"imported review {key}, all good\",\"rating\":5}}\n"
                )
            })
            .collect();
        std::fs::write(&file, lines).unwrap();
        let mut importer = import(db, &file);
        std::thread::sleep(Duration::from_millis(300 + random.below(900)));
        kill_9(&mut server);
        std::thread::sleep(Duration::from_millis(random.below(1_000)));
        let finished = importer.try_wait().unwrap().is_some();
        kill_9(&mut importer);
        stop.store(true, Ordering::Relaxed);
        let (answers, feedback) = writer.join().unwrap();
        acked_answers.extend(answers);
        acked_feedback.extend(feedback);
        // After each kill: what was acknowledged is there, once; the file is sound.
        rt.block_on(async {
            let check = Store::open(db).await.unwrap();
            let mut comments: Vec<String> = Vec::new();
            let mut after = None;
            loop {
                let page = check
                    .responses(&vouch_store::ResponseFilter::default(), after, 500)
                    .await
                    .unwrap();
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                comments.extend(page.into_iter().filter_map(|r| r.answer.comment));
            }
            let mut counts: HashMap<&str, u32> = HashMap::new();
            for c in &comments {
                *counts.entry(c.as_str()).or_default() += 1;
            }
            for marker in &acked_answers {
                let comment = format!("answer {marker}");
                assert_eq!(
                    counts.get(comment.as_str()),
                    Some(&1),
                    "round {round}: {comment}"
                );
            }
            for marker in &acked_feedback {
                let found = check
                    .feedback_by_keys(&[(vouch_domain::Source::Trustpilot, marker.as_str())])
                    .await
                    .unwrap();
                assert_eq!(found.len(), 1, "round {round}: review {marker}");
            }
            // The killed import kept whole batches or nothing.
            let kept = check.feedback_by_keys(&keyed).await.unwrap();
            assert!(
                kept.is_empty() || kept.len() == IMPORT_LINES,
                "round {round}: {} of one batch kept",
                kept.len()
            );
            imports_cut += usize::from(!finished && kept.is_empty());
            imports_killed_after_commit += usize::from(!finished && !kept.is_empty());
            assert_eq!(
                check.integrity_problems().await.unwrap(),
                Vec::<String>::new()
            );
            check.close().await;
        });
        // Run again, the import completes, with every line once.
        let status = import(db, &file).wait().unwrap();
        assert!(
            status.success(),
            "round {round}: the import run again: {status}"
        );
        rt.block_on(async {
            let check = Store::open(db).await.unwrap();
            // (source, source id) is unique in the store: found is stored once.
            let found = check.feedback_by_keys(&keyed).await.unwrap();
            assert_eq!(
                found.len(),
                IMPORT_LINES,
                "round {round}: every line after the re-run"
            );
            check.close().await;
        });
    }
    assert!(
        !acked_answers.is_empty() && !acked_feedback.is_empty(),
        "writes were made"
    );
    // A last, undisturbed run: every event reaches the webhook, every job
    // ends done. An event is delivered at least once; twice only if a kill
    // fell between delivery and done, and then with the same `webhook-id`.
    let (mut server, _) = start(db);
    let kinds = [
        vouch_domain::EventKind::ResponseCreated,
        vouch_domain::EventKind::FeedbackCreated,
    ];
    let deadline = Instant::now() + Duration::from_secs(120);
    let (jobs, events) = loop {
        // Read in causal order: the relay commits a position together with
        // the jobs for the events before it, so jobs read after the position
        // hold every job that position promises (read first, a relay
        // committing in between would look caught up with its jobs unseen).
        let relayed = rt
            .block_on(store.consumer_position(vouch_app::events::WEBHOOK_CONSUMER, 0))
            .unwrap();
        let events = rt.block_on(store.events_after(0, &kinds, 100_000)).unwrap();
        let jobs: Vec<_> = rt
            .block_on(store.jobs(None, 100_000))
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == vouch_domain::JobKind::WebhookDelivery)
            .collect();
        let caught_up = events.last().is_none_or(|e| relayed >= e.seq);
        if caught_up && jobs.iter().all(|j| j.state == JobState::Done) {
            break (jobs, events);
        }
        assert!(
            Instant::now() < deadline,
            "events or jobs still open after the kills"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    kill_9(&mut server);
    let mut delivered: HashMap<String, u32> = HashMap::new();
    for id in got_deliveries.lock().unwrap().iter().cloned() {
        *delivered.entry(id).or_default() += 1;
    }
    let written: BTreeSet<String> = events.iter().map(|e| e.id.clone()).collect();
    let got: BTreeSet<String> = delivered.keys().cloned().collect();
    assert_eq!(written, got, "every event was delivered, and nothing else");
    assert_eq!(jobs.len(), events.len(), "one delivery job per event");
    eprintln!(
        "faults: {rounds} kills, {} answers and {} reviews acknowledged, imports killed {imports_cut} times before their commit and {imports_killed_after_commit} after it, each completed once by a re-run, {} events delivered, {} repeated with the same webhook-id",
        acked_answers.len(),
        acked_feedback.len(),
        events.len(),
        delivered.values().filter(|n| **n > 1).count()
    );
    rt.block_on(store.close());
}

#[test]
fn sqlite_survives_kill_9_during_answers_and_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    survive_kills(&super::sqlite_url(dir.path()), 12, 20_261_202);
}

#[test]
fn postgres_survives_kill_9_during_answers_and_deliveries() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(schema) = rt.block_on(PostgresSchema::create()) else {
        return;
    };
    survive_kills(&schema.url, 10, 17);
    rt.block_on(schema.drop_schema());
}
