//! Surveys end to end against a real SMTP server on loopback (Python's
//! aiosmtpd, writing to a Maildir): invitations, one-click answers, the
//! contact budget, unsubscribing, reminders; and the hosted pages' defences.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vouch_domain::{ContactPolicy, Role};
use vouch_store::Store;
use vouch_testing::{TestDb, on_both_backends};

on_both_backends!(
    invitations_go_out_by_email_and_one_click_answers_count,
    one_click_unsubscribe_crash_after_send_and_the_contact_budget,
    company_templates_are_checked_previewed_and_used,
    an_email_that_dies_gives_its_budget_back,
    a_manager_sends_a_survey_from_the_web_and_reads_its_results,
);

/// The server of `server.rs`, with an admin token for the API.
struct Running {
    server: super::Running,
    admin: String,
}

impl std::ops::Deref for Running {
    type Target = super::Running;
    fn deref(&self) -> &super::Running {
        &self.server
    }
}

async fn start(store: Store, smtp_url: Option<String>, policy: ContactPolicy) -> Running {
    let admin = super::token(&store, Role::Admin).await;
    Running {
        server: super::start_with(store, policy, smtp_url).await,
        admin,
    }
}

impl Running {
    async fn api(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// An SMTP server on loopback that files each message in a Maildir and
/// refuses addresses starting with "bounce" (tests/server/smtp_bounce.py).
pub(crate) struct SmtpSink {
    child: std::process::Child,
    pub(crate) maildir: PathBuf,
    pub(crate) url: String,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn smtp_sink(dir: &Path) -> Option<SmtpSink> {
    let Ok(python) = std::env::var("VOUCH_TEST_AIOSMTPD") else {
        vouch_testing::say_skipping(
            "the SMTP tests, because VOUCH_TEST_AIOSMTPD (a python3 with aiosmtpd) is not set",
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = dir.join("maildir");
    let child = std::process::Command::new(python)
        .env(
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/server"),
        )
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "smtp_bounce.Bouncing"])
        .arg(&maildir)
        .spawn()
        .expect("start aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(SmtpSink {
        child,
        maildir,
        url: format!("smtp://127.0.0.1:{port}"),
    })
}

/// The messages received so far, decoded to text (headers and bodies).
pub(crate) fn received(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut mails: Vec<(std::time::SystemTime, String)> = entries
        .filter_map(Result::ok)
        .map(|e| {
            let raw = std::fs::read_to_string(e.path()).unwrap();
            (e.metadata().unwrap().modified().unwrap(), decode(&raw))
        })
        .collect();
    mails.sort();
    mails.into_iter().map(|(_, m)| m).collect()
}

pub(crate) async fn wait_for_mails(maildir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = received(maildir);
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} emails arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Undoes quoted-printable and base64 body parts, enough to read links and words.
fn decode(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let mut out = String::new();
    let mut encoding = "";
    let mut in_body = false;
    let mut body = String::new();
    let flush = |out: &mut String, body: &mut String, encoding: &str| {
        match encoding {
            "quoted-printable" => out.push_str(&quoted_printable(body)),
            "base64" => out.push_str(&base64(body)),
            _ => out.push_str(body),
        }
        body.clear();
    };
    for line in raw.lines() {
        let lower = line.to_ascii_lowercase();
        if line.starts_with("--") {
            flush(&mut out, &mut body, encoding);
            in_body = false;
            encoding = "";
            out.push_str(line);
            out.push('\n');
        } else if !in_body && lower.starts_with("content-transfer-encoding:") {
            encoding = if lower.contains("quoted-printable") {
                "quoted-printable"
            } else if lower.contains("base64") {
                "base64"
            } else {
                ""
            };
            out.push_str(line);
            out.push('\n');
        } else if !in_body && line.is_empty() {
            in_body = true;
            out.push('\n');
        } else if in_body {
            body.push_str(line);
            body.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    flush(&mut out, &mut body, encoding);
    out
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Ok(b) = u8::from_str_radix(joined.get(i + 1..i + 3).unwrap_or(""), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mail sent to `to`, if any.
pub(crate) fn mail_to<'a>(mails: &'a [String], to: &str) -> Vec<&'a String> {
    mails
        .iter()
        .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
        .collect()
}

/// The one-click link for `score` in a mail.
pub(crate) fn link(mail: &str, score: u8) -> String {
    mail.split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '<' || c == '>'))
        .find(|w| w.starts_with("http") && w.ends_with(&format!("?score={score}")))
        .unwrap_or_else(|| panic!("no link for {score} in {mail}"))
        .to_owned()
}

async fn invitations_go_out_by_email_and_one_click_answers_count(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    let policy = ContactPolicy {
        remind_after: chrono::Duration::seconds(3),
        ..ContactPolicy::default()
    };
    let server = start(store.clone(), Some(sink.url.clone()), policy).await;
    use reqwest::Method;
    let (status, branding) = server
        .api(
            Method::PUT,
            "/settings/branding",
            json!({"company_name": "Acme", "colour": "#0f766e", "logo_url": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{branding}");
    let (status, survey) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Relationship 2026", "question": {"en": "Would you recommend {company}?"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{survey}");
    let survey_id = survey["id"].as_i64().unwrap();
    assert!(
        survey["texts"]["question"]["ro"]
            .as_str()
            .unwrap()
            .starts_with("Cât de probabil")
    );
    for (email, locale) in [
        ("ana@example.com", "en"),
        ("bogdan@example.ro", "ro"),
        ("carol@example.com", "en"),
        ("bounce@example.com", "en"),
    ] {
        let (status, _) = server
            .api(
                Method::POST,
                "/customers",
                json!({"email": email, "locale": locale}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, report) = server
        .api(
            Method::POST,
            &format!("/surveys/{survey_id}/invitations"),
            json!({"customers": ["ana@example.com", "bogdan@example.ro", "carol@example.com", "bounce@example.com", "nobody@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{report}");
    assert_eq!(report["queued"], 4, "{report}");
    assert_eq!(report["unknown"], json!(["nobody@example.com"]));

    let mails = wait_for_mails(&sink.maildir, 3).await;
    let ana = mail_to(&mails, "ana@example.com")[0].clone();
    assert!(ana.contains("Would you recommend Acme?"), "{ana}");
    assert!(ana.contains("Content-Type: text/plain") && ana.contains("Content-Type: text/html"));
    assert!(ana.contains("List-Unsubscribe:"));
    let bogdan = mail_to(&mails, "bogdan@example.ro")[0].clone();
    assert!(bogdan.contains("Apasă pe numărul"), "in Romanian: {bogdan}");

    // One click on 9 records the score and asks the follow-up; the comment comes next.
    let page = server.client.get(link(&ana, 9)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("most important reason") && html.contains("value=\"9\" checked"));
    // The scale's ends describe its first and last buttons for screen readers.
    assert!(
        html.contains("value=\"0\" required aria-describedby=\"end-low\"")
            && html.contains("value=\"10\" required aria-describedby=\"end-high\"")
            && html.contains("id=\"end-low\">Not at all likely<"),
        "{html}"
    );
    let (_, nps) = server.api(Method::GET, "/metrics/nps", json!({})).await;
    assert_eq!(
        (nps["responses"].as_u64(), nps["promoters"].as_u64()),
        (Some(1), Some(1))
    );
    let token = link(&ana, 9)
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let thanks = server
        .client
        .post(format!("{}/s/{token}", server.base))
        .form(&[
            ("score", "10"),
            ("comment", "Fast, friendly support <b>really</b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(thanks.status(), StatusCode::OK);
    assert!(thanks.text().await.unwrap().contains("Thank you"));
    let (_, responses) = server.api(Method::GET, "/responses", json!({})).await;
    let answers = responses["responses"].as_array().unwrap();
    assert_eq!(
        answers.len(),
        1,
        "the comment changed the one answer: {responses}"
    );
    assert_eq!(answers[0]["score"]["value"], 10);
    assert_eq!(
        answers[0]["comment"],
        "Fast, friendly support <b>really</b>"
    );
    let ana_id = store.find_customer("ana@example.com").await.unwrap().id;
    let signals = store.category_signals(ana_id).await.unwrap();
    let category =
        vouch_domain::category_at(&signals, chrono::Utc::now(), chrono::Duration::days(365))
            .map(|a| a.category);
    assert_eq!(category, Some(vouch_domain::LoyaltyCategory::Promoter));
    let (_, feedback) = server
        .api(Method::GET, "/feedback?source=survey", json!({}))
        .await;
    assert!(
        feedback["feedback"][0]["sentiment"].is_number(),
        "the comment is tagged"
    );

    // The contact budget: ana was just invited.
    let (_, again) = server
        .api(
            Method::POST,
            &format!("/surveys/{survey_id}/invitations"),
            json!({"customers": ["ana@example.com"]}),
        )
        .await;
    assert_eq!(
        (again["queued"].as_u64(), again["throttled"].as_u64()),
        (Some(0), Some(1))
    );

    // Bogdan unsubscribes; only Carol (no answer, still subscribed) gets the reminder.
    let unsubscribe = bogdan
        .split_whitespace()
        .find(|w| w.contains("/u/"))
        .unwrap()
        .trim_matches(|c| c == '"' || c == '<' || c == '>')
        .to_owned();
    let confirm = server.client.get(&unsubscribe).send().await.unwrap();
    assert!(confirm.text().await.unwrap().contains("Dezabonează-mă"));
    let done = server.client.post(&unsubscribe).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let mails = wait_for_mails(&sink.maildir, 4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mails_after = received(&sink.maildir);
    assert_eq!(mails_after.len(), 4, "one reminder only");
    let reminder = mails.last().unwrap();
    assert!(
        reminder.contains("carol@example.com") && reminder.contains("Reminder"),
        "{reminder}"
    );
    let (_, later) = server
        .api(
            Method::POST,
            &format!("/surveys/{survey_id}/invitations"),
            json!({"customers": ["bogdan@example.ro"]}),
        )
        .await;
    assert_eq!(later["suppressed"], 1, "unsubscribed: {later}");
    // The refused address was marked bouncing: never mailed again, no retries.
    let bounced = store
        .suppressed_emails(
            &["bounce@example.com".to_owned()],
            vouch_domain::Purpose::Feedback,
        )
        .await
        .unwrap();
    assert_eq!(
        bounced.get("bounce@example.com").map(String::as_str),
        Some("bounced")
    );
    assert!(mail_to(&received(&sink.maildir), "bounce@example.com").is_empty());
    assert!(
        store
            .jobs(Some(vouch_domain::JobState::Queued), 100)
            .await
            .unwrap()
            .iter()
            .all(|j| j.payload["invitation_id"] != 4),
        "no retry of a refused address"
    );
    // The emails' tokens are nowhere in the database, in clear.
    let mut tokens: Vec<String> = Vec::new();
    for mail in received(&sink.maildir) {
        let flat = mail.replace("=\r\n", "").replace("=\n", "");
        for part in flat.split("/s/").chain(flat.split("/u/")).skip(1) {
            let token: String = part.chars().take_while(char::is_ascii_hexdigit).collect();
            if token.len() == 64 {
                tokens.push(token);
            }
        }
    }
    assert!(tokens.len() >= 4, "tokens found in the mails: {tokens:?}");
    let stored = db.everything_stored().await;
    assert!(stored.len() > 1000, "the database was read");
    for token in &tokens {
        assert!(
            !stored.contains(token.as_str()),
            "a token in clear in the database"
        );
    }
    // The outbox has each invitation sent, the bounce and the unsubscribe.
    let kinds: Vec<_> = store
        .events_after(0, &[], 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "invitation.sent").count(),
        4,
        "three invitations and a reminder"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "invitation.bounced").count(),
        1
    );
    assert_eq!(kinds.iter().filter(|k| **k == "consent.changed").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_pages_refuse_guessed_tokens_bad_scores_and_oversized_comments() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    let server = start(store.clone(), None, ContactPolicy::default()).await;
    use reqwest::Method;
    let (_, survey) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "csat", "name": "Support"}),
        )
        .await;
    let survey_id = survey["id"].as_i64().unwrap();
    let slug = survey["slug"].as_str().unwrap().to_owned();
    server
        .api(
            Method::POST,
            "/customers",
            json!({"email": "dan@example.com", "locale": "ro"}),
        )
        .await;
    server
        .api(
            Method::POST,
            &format!("/surveys/{survey_id}/invitations"),
            json!({"customers": ["dan@example.com"]}),
        )
        .await;
    // An audience by attributes.
    for (email, plan) in [
        ("p1@example.com", "pro"),
        ("p2@example.com", "pro"),
        ("f1@example.com", "free"),
    ] {
        server
            .api(
                Method::POST,
                "/customers",
                json!({"email": email, "attributes": {"plan": plan}}),
            )
            .await;
    }
    let (status, by_plan) = server
        .api(
            Method::POST,
            &format!("/surveys/{survey_id}/invitations"),
            json!({"where": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(by_plan["queued"], 2, "{by_plan}");
    let (status, neither) = server
        .api(
            Method::POST,
            &format!("/surveys/{survey_id}/invitations"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, neither["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("customers"))
    );
    // No SMTP server here: make the link's token as the mailer would.
    let jobs = store.jobs(None, 10).await.unwrap();
    assert!(
        jobs.iter().all(|j| j.payload.get("token").is_none()),
        "no token waits in the queue"
    );
    let token = vouch_app::surveys::issue_token(&store, 1).await.unwrap();
    assert!(token.len() >= 32, "at least 128 bits");

    let guessed = server
        .client
        .get(format!("{}/s/{}", server.base, "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
    let page = guessed.text().await.unwrap();
    assert!(page.contains("This link does not work") && !page.contains("error:"));
    for score in ["0", "6", "x", "-1", "99999999999999999999"] {
        let bad = server
            .client
            .get(format!("{}/s/{token}?score={score}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            bad.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "score {score}"
        );
    }
    let long = "a".repeat(5_001);
    let refused = server
        .client
        .post(format!("{}/s/{token}", server.base))
        .form(&[("score", "4"), ("comment", long.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let hostile = "<script>alert(1)</script>\"'";
    // A subscriber (never reachable here): the answer queues its delivery.
    store
        .add_webhook(
            "http://127.0.0.1:9/hook",
            "secret",
            &[vouch_domain::EventKind::ResponseCreated],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let saved = server
        .client
        .post(format!("{}/s/{token}", server.base))
        .form(&[("score", "4"), ("comment", hostile)])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(
        saved.text().await.unwrap().contains("Mulțumim"),
        "in Romanian for dan"
    );
    let created = store
        .last_events(&[vouch_domain::EventKind::ResponseCreated], 1)
        .await
        .unwrap()
        .pop()
        .expect("response.created written with the answer");
    assert_eq!(created.data["comment"].as_str(), Some(hostile));
    let dan = store.find_customer("dan@example.com").await.unwrap().id;
    let comment = &store.feedback_of(dan).await.unwrap()[0].feedback;
    assert!(comment.sentiment.is_some(), "the comment is stored tagged");
    // The same token again changes the one answer (and the page never echoes markup).
    let page = server
        .client
        .get(format!("{}/s/{token}?score=5", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>"));
    let (_, responses) = server.api(Method::GET, "/responses", json!({})).await;
    assert_eq!(responses["responses"].as_array().unwrap().len(), 1);
    assert_eq!(
        responses["responses"][0]["comment"], hostile,
        "stored intact"
    );

    // Public link: a honeypot answer is thanked and dropped; a person's is kept.
    let bot = server
        .client
        .post(format!("{}/l/{slug}", server.base))
        .form(&[("score", "5"), ("website", "http://spam.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(bot.status(), StatusCode::OK);
    let person = server
        .client
        .post(format!("{}/l/{slug}", server.base))
        .form(&[("score", "5"), ("comment", "ok")])
        .send()
        .await
        .unwrap();
    assert_eq!(person.status(), StatusCode::OK);
    let thanks = person.text().await.unwrap();
    assert!(
        thanks.contains("Your answer was saved.") && !thanks.contains("24 hours"),
        "a public link's answer cannot be changed later, and the page does not promise it: {thanks}"
    );
    let (_, responses) = server.api(Method::GET, "/responses", json!({})).await;
    assert_eq!(responses["responses"].as_array().unwrap().len(), 2);
    let mut limited = false;
    for _ in 0..vouch_server::LINK_ANSWERS_PER_ADDRESS {
        let r = server
            .client
            .post(format!("{}/l/{slug}", server.base))
            .form(&[("score", "3")])
            .send()
            .await
            .unwrap();
        limited |= r.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "answers from one address are rate-limited");
    // An archived survey takes no more answers.
    server
        .api(
            Method::PATCH,
            &format!("/surveys/{survey_id}"),
            json!({"status": "archived"}),
        )
        .await;
    let closed = server
        .client
        .post(format!("{}/s/{token}", server.base))
        .form(&[("score", "4")])
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), StatusCode::GONE);
    let widget = server
        .client
        .get(format!("{}/widget.js", server.base))
        .send()
        .await
        .unwrap();
    assert!(
        widget.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

/// A header's value in a decoded mail (its header block only).
fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}:");
    mail.lines()
        .take_while(|l| !l.trim().is_empty())
        .find(|l| l.len() >= prefix.len() && l[..prefix.len()].eq_ignore_ascii_case(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

/// The mail layer against aiosmtpd: RFC 8058 one-click unsubscribe with
/// no cookie or CSRF token suppresses the next invitation; a crash between
/// the send and marking it sent re-sends once, with the same Message-ID;
/// a second message inside the contact budget is deferred, with its reason.
async fn one_click_unsubscribe_crash_after_send_and_the_contact_budget(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    let policy = ContactPolicy {
        throttle: chrono::Duration::zero(),
        remind_after: chrono::Duration::days(30),
        budget: vouch_domain::ContactBudget {
            total: Some("1 per 30d".parse().unwrap()),
            ..vouch_domain::ContactBudget::default()
        },
        ..ContactPolicy::default()
    };
    let server = start(store.clone(), Some(sink.url.clone()), policy).await;
    use reqwest::Method;
    let mut surveys = Vec::new();
    for name in ["Onboarding", "Support"] {
        let (status, survey) = server
            .api(
                Method::POST,
                "/surveys",
                json!({"kind": "nps", "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{survey}");
        surveys.push(survey["id"].as_i64().unwrap());
    }
    let mut customers = Vec::new();
    for email in ["ana@example.com", "bo@example.com"] {
        let (_, c) = server
            .api(Method::POST, "/customers", json!({"email": email}))
            .await;
        customers.push(c["id"].as_i64().unwrap());
    }
    let invite = |survey: i64, email: &'static str| {
        let server = &server;
        async move {
            server
                .api(
                    Method::POST,
                    &format!("/surveys/{survey}/invitations"),
                    json!({"customers": [email]}),
                )
                .await
        }
    };

    // The first attempt's mark-sent fails after the mail server took the
    // message (as if the process died there); the retry sends it again.
    const FIRST_ATTEMPT: &str =
        "(SELECT MAX(attempts) FROM jobs WHERE kind = 'survey.email' AND state = 'running') = 1";
    if db.sqlite_path.is_some() {
        db.execute(&format!(
            "CREATE TRIGGER crash_after_send BEFORE UPDATE OF sent_at ON invitations \
             WHEN {FIRST_ATTEMPT} BEGIN SELECT RAISE(ABORT, 'simulated crash between send and mark-sent'); END;"
        ))
        .await;
    } else {
        db.execute(&format!(
            "CREATE FUNCTION crash_after_send() RETURNS trigger AS $$ BEGIN \
             IF {FIRST_ATTEMPT} THEN RAISE EXCEPTION 'simulated crash between send and mark-sent'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER crash_after_send BEFORE UPDATE OF sent_at ON invitations \
             FOR EACH ROW EXECUTE FUNCTION crash_after_send();"
        ))
        .await;
    }
    let (_, queued) = invite(surveys[0], "ana@example.com").await;
    assert_eq!(queued["queued"], 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let invitation = store.invitation(1).await.unwrap().unwrap();
        if invitation.state.sent_at.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the retry did not mark it sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let to_ana = |mails: &[String]| {
        mail_to(mails, "ana@example.com")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    let mails = to_ana(&received(&sink.maildir));
    assert_eq!(mails.len(), 2, "sent, crash, sent again: one duplicate");
    let ids: Vec<&str> = mails
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    assert_eq!(ids[0], ids[1], "the duplicate carries the same Message-ID");
    assert!(
        ids[0].starts_with("<survey.email.1.invitation."),
        "{}",
        ids[0]
    );

    // A second survey to ana inside her budget (1 per 30 days) waits.
    invite(surveys[1], "ana@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let contacts = loop {
        let (_, report) = server
            .api(
                Method::GET,
                &format!("/customers/{}/contacts", customers[0]),
                json!({}),
            )
            .await;
        let contacts = report["contacts"].as_array().unwrap().clone();
        if contacts.iter().any(|c| c["state"] == "deferred") {
            assert_eq!(report["budget"]["left"], 0, "{report}");
            assert!(
                report["budget"]["waiting_for"]
                    .as_str()
                    .unwrap()
                    .contains("1 per 30d")
            );
            break contacts;
        }
        assert!(Instant::now() < deadline, "not deferred: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deferred = contacts.iter().find(|c| c["state"] == "deferred").unwrap();
    assert!(
        deferred["reason"]
            .as_str()
            .unwrap()
            .contains("budget of 1 per 30d is used up"),
        "{deferred}"
    );
    assert_eq!(
        contacts.iter().filter(|c| c["state"] == "sent").count(),
        1,
        "the crash spent nothing twice"
    );
    // The deferral is recorded before the worker puts its job back in the
    // queue, so the job is read until it is there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let job = loop {
        let waiting = store
            .jobs(Some(vouch_domain::JobState::Queued), 10)
            .await
            .unwrap();
        if let Some(job) = waiting
            .into_iter()
            .find(|j| j.payload["invitation_id"] == 2)
        {
            break job;
        }
        assert!(Instant::now() < deadline, "the deferred job waits");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(job.run_at > chrono::Utc::now() + chrono::Duration::days(29));
    assert_eq!(
        to_ana(&received(&sink.maildir)).len(),
        2,
        "nothing more sent"
    );

    // Bo's invitation carries the RFC 8058 headers; a one-click POST, with
    // no cookie and no CSRF token, unsubscribes him.
    invite(surveys[0], "bo@example.com").await;
    let bo = mail_to(&wait_for_mails(&sink.maildir, 3).await, "bo@example.com")[0].clone();
    let list = header(&bo, "List-Unsubscribe").unwrap();
    assert_eq!(
        header(&bo, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let url = list.trim_start_matches('<').trim_end_matches('>');
    assert!(url.starts_with(&server.base), "{url}");
    // The link still works 61 days later (RFC 8058 asks for a long life;
    // the issue for at least 60 days): invitations never expire for it.
    let long_ago = (chrono::Utc::now() - chrono::Duration::days(61)).to_rfc3339();
    db.execute(&format!(
        "UPDATE invitations SET created_at = '{long_ago}', sent_at = '{long_ago}' \
         WHERE customer_id = {}",
        customers[1]
    ))
    .await;
    let clicked = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), StatusCode::OK);
    let (_, next) = invite(surveys[1], "bo@example.com").await;
    assert_eq!(
        (next["queued"].as_u64(), next["suppressed"].as_u64()),
        (Some(0), Some(1)),
        "{next}"
    );
    let (_, consents) = server
        .api(
            Method::GET,
            &format!("/customers/{}/consents", customers[1]),
            json!({}),
        )
        .await;
    assert_eq!(consents["consents"][0]["purpose"], "feedback");
    assert_eq!(consents["consents"][0]["granted"], false);
    assert_eq!(consents["consents"][0]["source"], "unsubscribe link");
}

/// A company's own template: refused with its part and line when it does
/// not render, previewed with sample values, then used for real mail, in
/// which a customer's name can never become markup or a header.
async fn company_templates_are_checked_previewed_and_used(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    let server = start(
        store.clone(),
        Some(sink.url.clone()),
        ContactPolicy::default(),
    )
    .await;
    use reqwest::Method;
    let (status, builtin) = server
        .api(Method::GET, "/templates/survey.email/en", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(builtin["custom"], false);
    assert!(builtin["html"].as_str().unwrap().contains("{{ t.pick }}"));
    let (status, broken) = server
        .api(
            Method::PUT,
            "/templates/survey.email/en",
            json!({"subject": "Hi", "text": "Dear {{ customer.nmae }}", "html": "<p>x</p>"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{broken}");
    assert_eq!(broken["error"]["field"], "text");
    assert!(
        broken["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{broken}"
    );
    let own = json!({
        "subject": "{{ customer.name }}, {{ company }} asks: one question",
        "text": "Dear {{ customer.name }},\n{% for l in links %}{{ l.score }} {{ l.url }}\n{% endfor %}{{ unsubscribe_url }}",
        "html": "<p>Dear {{ customer.name }}</p>{% for l in links %}<a href=\"{{ l.url }}\">{{ l.score }}</a>{% endfor %}<a href=\"{{ unsubscribe_url }}\">{{ t.unsubscribe }}</a>",
    });
    let (status, preview) = server
        .api(
            Method::POST,
            "/templates/survey.email/en/preview",
            own.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview["subject"]
            .as_str()
            .unwrap()
            .starts_with("Ana Popescu, "),
        "{preview}"
    );
    let (status, saved) = server
        .api(Method::PUT, "/templates/survey.email/en", own)
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, listed) = server.api(Method::GET, "/templates", json!({})).await;
    assert!(
        listed["templates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["language"] == "en" && t["custom"] == true)
    );

    let hostile = "<b>Eve</b>\r\nBcc: everyone@example.com";
    server
        .api(
            Method::POST,
            "/customers",
            json!({"email": "eve@example.com", "name": hostile}),
        )
        .await;
    let (_, survey) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Templates"}),
        )
        .await;
    server
        .api(
            Method::POST,
            &format!("/surveys/{}/invitations", survey["id"]),
            json!({"customers": ["eve@example.com"]}),
        )
        .await;
    let mail = wait_for_mails(&sink.maildir, 1).await[0].clone();
    let subject = header(&mail, "Subject").unwrap();
    assert!(subject.contains("asks: one question"), "{subject}");
    assert!(
        header(&mail, "Bcc").is_none(),
        "no header from a name: {mail}"
    );
    assert!(
        mail.contains("Dear &lt;b&gt;Eve&lt;"),
        "escaped in HTML: {mail}"
    );
    assert!(!mail.contains("<b>Eve</b>\r\n"), "{mail}");
    // Back to the built-in one.
    let (status, _) = server
        .api(Method::DELETE, "/templates/survey.email/en", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .api(Method::DELETE, "/templates/survey.email/en", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An invitation whose every attempt fails (no SMTP server listens) ends
/// dead, and its reservation on the contact budget is given back: the
/// customer's next outreach is not deferred by a message that never went.
async fn an_email_that_dies_gives_its_budget_back(db: &TestDb) {
    use reqwest::Method;
    // A port nothing listens on: every connection is refused, a transient error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let policy = ContactPolicy {
        throttle: chrono::Duration::zero(),
        budget: vouch_domain::ContactBudget {
            total: Some("1 per 30d".parse().unwrap()),
            ..vouch_domain::ContactBudget::default()
        },
        ..ContactPolicy::default()
    };
    let server = start(db.store.clone(), Some(smtp_url), policy).await;
    let (_, survey) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Onboarding"}),
        )
        .await;
    let (_, customer) = server
        .api(
            Method::POST,
            "/customers",
            json!({"email": "ana@example.com"}),
        )
        .await;
    let (status, queued) = server
        .api(
            Method::POST,
            &format!("/surveys/{}/invitations", survey["id"]),
            json!({"customers": ["ana@example.com"]}),
        )
        .await;
    assert_eq!(
        (status, queued["queued"].as_u64()),
        (StatusCode::ACCEPTED, Some(1)),
        "{queued}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let dead = db
            .store
            .jobs(Some(vouch_domain::JobState::Dead), 10)
            .await
            .unwrap();
        if let Some(job) = dead.first() {
            assert_eq!(job.attempts, vouch_app::surveys::EMAIL_ATTEMPTS, "{job:?}");
            let (_, report) = server
                .api(
                    Method::GET,
                    &format!("/customers/{}/contacts", customer["id"]),
                    json!({}),
                )
                .await;
            if report["contacts"][0]["state"] == "failed" {
                break report;
            }
        }
        assert!(Instant::now() < deadline, "the email did not die");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report["contacts"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        report["contacts"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "the failure is recorded: {report}"
    );
    assert_eq!(report["budget"]["left"], 1, "given back: {report}");
}

/// From the web: saving a question in English alone says it is saved and
/// warns that Romanian keeps the default; the send page previews the
/// email in both languages; a segment is sent now (real SMTP) and the
/// results page counts sent, opened and answered with the NPS and its
/// interval, the comment, the link and the widget snippet; a round at a
/// later time is one job however often the form is sent.
async fn a_manager_sends_a_survey_from_the_web_and_reads_its_results(db: &TestDb) {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    let server = start(
        store.clone(),
        Some(sink.url.clone()),
        ContactPolicy::default(),
    )
    .await;
    server
        .api(
            Method::PUT,
            "/settings/branding",
            json!({"company_name": "Acme", "colour": "#0f766e", "logo_url": null}),
        )
        .await;
    for (email, locale, plan) in [
        ("ana@example.com", "en", "pro"),
        ("bogdan@example.ro", "ro", "pro"),
        ("carol@example.com", "en", "free"),
    ] {
        let (status, _) = server
            .api(
                Method::POST,
                "/customers",
                json!({"email": email, "locale": locale, "attributes": {"plan": plan}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, survey) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Pulse"}),
        )
        .await;
    let id = survey["id"].as_i64().unwrap();
    let cookie = super::pages::staff(&server, &store, "lead@acme.example", Role::Manager).await;
    let (_, html) = super::pages::get(&server, &cookie, &format!("/surveys/{id}")).await;
    let csrf = super::csrf_field(&html);
    let saved = server
        .client
        .post(format!("{}/surveys/{id}", server.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Pulse"),
            ("status", "active"),
            ("question_en", "Would you recommend {company}?"),
            ("question_ro", ""),
            ("follow_up_en", ""),
            ("follow_up_ro", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let to = saved.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/surveys/{id}?saved=1"));
    let (_, html) = super::pages::get(&server, &cookie, &to).await;
    assert!(
        html.contains("Saved.") && html.contains("default wording") && html.contains("(ro)"),
        "{html}"
    );
    let (status, html) = super::pages::get(&server, &cookie, "/surveys/999999/results").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.starts_with("<!doctype html>"));

    let (status, html) = super::pages::get(&server, &cookie, &format!("/surveys/{id}/send")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Would you recommend Acme?"),
        "the English preview: {html}"
    );
    assert!(
        html.contains("Cât de probabil este să recomanzi Acme"),
        "the Romanian preview"
    );
    // A multipart body as a browser sends the form (it has a file field).
    let send = |fields: Vec<(&'static str, String)>| {
        let boundary = "vouch-test-boundary-7d1c";
        let mut body = String::new();
        for (k, v) in std::iter::once(("csrf", csrf.clone())).chain(fields) {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        server
            .client
            .post(format!("{}/surveys/{id}/send", server.base))
            .header("cookie", &cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
    };
    let bad = send(vec![
        ("audience", "segment".into()),
        ("attribute", "pro".into()),
        ("when", "now".into()),
    ])
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("NAME=VALUE"));
    let done = send(vec![
        ("audience", "segment".into()),
        ("attribute", "plan=pro".into()),
        ("when", "now".into()),
        ("key", "round-1".into()),
    ])
    .await
    .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let to = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.contains("queued=2&throttled=0"), "{to}");

    let mails = wait_for_mails(&sink.maildir, 2).await;
    let ana = mail_to(&mails, "ana@example.com")[0].clone();
    assert!(ana.contains("Would you recommend Acme?"));
    let answered = server.client.get(link(&ana, 10)).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let (_, html) = super::pages::get(&server, &cookie, &to).await;
    assert!(html.contains("Invitations queued: 2"), "{html}");
    let count = |label: &str| {
        let row = html
            .split(&format!("<th scope=\"row\">{label}</th><td>"))
            .nth(1)
            .unwrap();
        row.split('<').next().unwrap().to_owned()
    };
    assert_eq!(count("Invited"), "2");
    assert_eq!(count("Sent"), "2");
    assert_eq!(count("Opened the page"), "1");
    assert_eq!(count("Answered"), "1");
    assert!(html.contains("<b>+100.0</b>"), "{html}");
    assert!(
        html.contains("50.0%") && html.contains("1 / 2"),
        "the response rate"
    );
    assert!(html.contains(&format!("{}/l/", server.base)) && html.contains("/widget.js"));

    // A CSV file names the audience by its first column.
    let listed = send(vec![
        ("audience", "list".into()),
        (
            "file",
            "email,name\ncarol@example.com,Carol\nnobody@example.com,?\n".into(),
        ),
        ("when", "now".into()),
    ])
    .await
    .unwrap();
    let to = listed.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.contains("queued=1&throttled=0&suppressed=0&unknown=1"),
        "{to}"
    );

    // Later: one job for the round, however often the form is sent.
    let at = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    for _ in 0..2 {
        let later = send(vec![
            ("audience", "everyone".into()),
            ("when", "later".into()),
            ("at", at.clone()),
            ("key", "round-2".into()),
        ])
        .await
        .unwrap();
        assert_eq!(later.status(), StatusCode::SEE_OTHER);
        assert!(
            later.headers()["location"]
                .to_str()
                .unwrap()
                .contains("scheduled=")
        );
    }
    let rounds = store
        .jobs(Some(vouch_domain::JobState::Queued), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == vouch_domain::JobKind::SurveyRound)
        .count();
    assert_eq!(rounds, 1);
}
