//! Nurturing paths end to end over HTTP, on both backends: the detractor
//! path from a survey page to a routed task due in business hours, runs
//! that happen once per event, the promoter path's three messages spaced
//! by the contact budget (aiosmtpd on loopback), hold-outs, pausing, and
//! every compliance rule's denial by name.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vouch_domain::{ContactPolicy, Role, WorkCalendar};
use vouch_store::{Backend, Store};
use vouch_testing::{TestDb, on_both_backends};

use super::surveys::{link, mail_to, received, smtp_sink, wait_for_mails};

on_both_backends!(
    a_detractor_answer_opens_one_routed_task_due_in_business_hours,
    a_promoter_gets_the_invitation_the_review_request_and_the_referral_ask_spaced_by_the_budget,
    held_out_customers_get_nothing_and_pausing_cancels_pending_steps,
    every_compliance_rule_denies_by_name,
    a_wait_for_an_event_ends_when_the_event_comes,
    a_scheduled_playbook_runs_each_matching_customer_once_per_slot_and_mails_the_team,
);

struct Running {
    server: super::Running,
    admin: String,
}

async fn start(
    store: &Store,
    smtp_url: Option<String>,
    policy: ContactPolicy,
    calendar: WorkCalendar,
) -> Running {
    vouch_app::playbooks::install_defaults(store).await.unwrap();
    let admin = super::token(store, Role::Admin).await;
    let web = vouch_server::WebSettings {
        allow_private_webhooks: true,
        ..Default::default()
    };
    let state = vouch_server::AppState::new(store.clone())
        .with_policy(policy)
        .with_web(web)
        .with_playbooks(vouch_app::playbooks::RunSettings {
            calendar,
            ..Default::default()
        });
    Running {
        server: super::start_state(state, policy, smtp_url).await,
        admin,
    }
}

impl Running {
    async fn api(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self
            .server
            .client
            .request(method.clone(), format!("{}/api/v1{path}", self.server.base))
            .bearer_auth(&self.admin);
        let request = if method == Method::GET {
            request
        } else {
            request.json(&body)
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The playbook installed as `default_key`.
    async fn default_playbook(&self, key: &str) -> Value {
        let (_, list) = self.api(Method::GET, "/playbooks", json!({})).await;
        list["playbooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["default_key"] == key)
            .unwrap_or_else(|| panic!("no {key} in {list}"))
            .clone()
    }

    /// Saves `playbook` (as GET shows it) as its new version.
    async fn save(&self, playbook: &Value, pending: &str) -> Value {
        let mut spec = playbook.clone();
        let fields = spec.as_object_mut().unwrap();
        for gone in ["id", "default_key", "version", "created_at", "updated_at"] {
            fields.remove(gone);
        }
        let (status, saved) = self
            .api(
                Method::PUT,
                &format!("/playbooks/{}?pending={pending}", playbook["id"]),
                spec,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        saved
    }

    async fn customer(&self, email: &str, locale: &str, attributes: Value) -> i64 {
        let (status, c) = self
            .api(
                Method::POST,
                "/customers",
                json!({"email": email, "locale": locale, "attributes": attributes}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        c["id"].as_i64().unwrap()
    }

    async fn consent(&self, customer: i64, purpose: &str) {
        let (status, body) = self
            .api(
                Method::PUT,
                &format!("/customers/{customer}/consents/{purpose}"),
                json!({"granted": true, "basis": "consent", "source": "test", "evidence": "signed up"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// The customer's runs, once `ready` holds of them (or a failure).
    async fn runs_until(&self, customer: i64, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, runs) = self
                .api(
                    Method::GET,
                    &format!("/customers/{customer}/runs"),
                    json!({}),
                )
                .await;
            let runs = runs["runs"].as_array().cloned().unwrap_or_default();
            if ready(&runs) {
                return runs;
            }
            assert!(Instant::now() < deadline, "runs never ready: {runs:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn playbook_runs<'a>(runs: &'a [Value], playbook: &Value) -> Vec<&'a Value> {
    runs.iter()
        .filter(|r| r["playbook_id"] == playbook["id"])
        .collect()
}

fn logged(run: &Value, outcome: &str) -> bool {
    run["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["outcome"] == outcome)
}

/// Moves every queued playbook job's time to now: the test's stand-in for
/// the minutes and days a path waits.
async fn time_passes(db: &TestDb) {
    db.execute(
        "UPDATE jobs SET run_at = created_at WHERE state = 'queued' AND kind LIKE 'playbook.%'",
    )
    .await;
}

fn time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value.as_str().unwrap().parse().unwrap()
}

async fn a_detractor_answer_opens_one_routed_task_due_in_business_hours(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    // Bucharest's office hours, with 1 December (national day) off.
    let calendar = WorkCalendar::from_settings(
        "Europe/Bucharest",
        "09:00-17:00",
        "mon,tue,wed,thu,fri",
        "2026-12-01, 2027-01-01",
    )
    .unwrap();
    let server = start(
        &store,
        Some(sink.url.clone()),
        ContactPolicy::default(),
        calendar.clone(),
    )
    .await;
    let (status, routing) = server
        .api(
            Method::PUT,
            "/routing",
            json!({"teams": [{"name": "finance", "members": ["ioana@acme.example", "dan@acme.example"]}],
                   "rules": [{"conditions": [{"field": "topic", "op": "in", "value": ["billing", "price"]}], "team": "finance"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{routing}");
    let (status, bad) = server
        .api(
            Method::PUT,
            "/routing",
            json!({"teams": [], "rules": [{"team": "legal"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error"]["field"], "rules[0].team");

    let (status, survey) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Relationship"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{survey}");
    let ana = server.customer("ana@example.com", "en", json!({})).await;
    let (status, _) = server
        .api(
            Method::POST,
            &format!("/surveys/{}/invitations", survey["id"]),
            json!({"customers": ["ana@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mails = wait_for_mails(&sink.maildir, 1).await;
    // A 2 from the email's link, then the comment on the survey page.
    let url = link(mail_to(&mails, "ana@example.com")[0], 2);
    let page = server.server.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("your score of 2 is saved") && html.contains(r#"value="2" checked"#),
        "the one click is saved, and a comment asked for: {html}"
    );
    let form = url.split('?').next().unwrap().to_owned();
    let posted = server
        .server
        .client
        .post(&form)
        .form(&[
            ("score", "2"),
            (
                "comment",
                "The invoice was wrong twice and billing never answered",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    // Opened again, the link shows the answer given.
    let again = server.server.client.get(&form).send().await.unwrap();
    let html = again.text().await.unwrap();
    assert!(
        html.contains("Your answer is saved")
            && html.contains(r#"value="2" checked"#)
            && html.contains("The invoice was wrong twice and billing never answered</textarea>"),
        "{html}"
    );

    let detractor = server.default_playbook("default.detractor").await;
    let runs = server
        .runs_until(ana, |runs| !playbook_runs(runs, &detractor).is_empty())
        .await;
    let run = playbook_runs(&runs, &detractor)[0].clone();
    assert_eq!(run["matched"], true, "{run}");
    // Held out or not (10%), the task and the routing come: the hold-out
    // starts after them.
    if run["held_out"] == true {
        assert!(run.to_string().contains("no actions from step 3"), "{run}");
    }
    assert!(logged(&run, "matched"), "{run}");

    // The task waits 10 minutes for the comment; let them pass.
    time_passes(db).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let task = loop {
        let (_, page) = server
            .api(
                Method::GET,
                &format!("/tasks?customer={ana}&state=open"),
                json!({}),
            )
            .await;
        if let Some(task) = page["tasks"].as_array().and_then(|t| t.first()) {
            assert_eq!(page["tasks"].as_array().unwrap().len(), 1, "{page}");
            break task.clone();
        }
        assert!(Instant::now() < deadline, "no task: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(task["type"], "close_loop");
    assert_eq!(task["priority"], "high");
    assert_eq!(
        task["team"], "finance",
        "routed by its billing topic: {task}"
    );
    assert!(
        ["ioana@acme.example", "dan@acme.example"].contains(&task["owner"].as_str().unwrap()),
        "{task}"
    );
    assert_eq!(task["signal_type"], "response");
    let opened = time(&task["created_at"]);
    assert_eq!(
        time(&task["due_at"]),
        calendar.add(opened, chrono::Duration::hours(16)),
        "2 business days in Bucharest's hours: {task}"
    );
    assert_eq!(
        time(&task["first_response_due"]),
        calendar.add(opened, chrono::Duration::hours(4))
    );
    // The comment went to finance too.
    let runs = server
        .runs_until(ana, |runs| {
            playbook_runs(runs, &detractor).first().is_some_and(|r| {
                r["log"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["action"] == "route_feedback")
            })
        })
        .await;
    let route = playbook_runs(&runs, &detractor)[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "route_feedback")
        .unwrap()
        .clone();
    assert!(
        route["detail"]
            .as_str()
            .unwrap()
            .contains("finance (billing)"),
        "{route}"
    );

    // The consumer reads the whole outbox again: no second run, no second task.
    db.execute("UPDATE event_consumers SET position = 0 WHERE name = 'playbooks'")
        .await;
    let last = store.last_event_seq().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while store
        .consumer_positions()
        .await
        .unwrap()
        .iter()
        .any(|(name, at)| name == "playbooks" && *at < last)
    {
        assert!(Instant::now() < deadline, "the consumer never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    time_passes(db).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = server.runs_until(ana, |_| true).await;
    assert_eq!(playbook_runs(&runs, &detractor).len(), 1, "{runs:?}");
    let (_, page) = server
        .api(Method::GET, &format!("/tasks?customer={ana}"), json!({}))
        .await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1, "{page}");

    // Worked to closed: a resolution is needed, and the event is written.
    let id = task["id"].as_i64().unwrap();
    let (status, _) = server
        .api(
            Method::PATCH,
            &format!("/tasks/{id}"),
            json!({"state": "closed"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The agent replies from the task: a service email, and its send stops
    // the first-response clock.
    let (status, queued) = server
        .api(
            Method::POST,
            &format!("/tasks/{id}/reply"),
            json!({"subject": "About your invoice", "body": "Hello Ana,\n\nWe corrected both invoices <b>today</b>."}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let mails = wait_for_mails(&sink.maildir, 2).await;
    let reply = mails
        .iter()
        .find(|m| m.contains("About your invoice"))
        .unwrap();
    assert!(
        reply.contains("We corrected both invoices <b>today</b>."),
        "sent as the agent wrote it, as text: {reply}"
    );
    assert!(
        !reply.contains("List-Unsubscribe"),
        "a service message: {reply}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, t) = server
            .api(Method::GET, &format!("/tasks/{id}"), json!({}))
            .await;
        if t["first_response_at"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "the clock never stopped: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, worked) = server
        .api(
            Method::PATCH,
            &format!("/tasks/{id}"),
            json!({"state": "in_progress", "note": "Called her"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{worked}");
    let (status, closed) = server
        .api(
            Method::PATCH,
            &format!("/tasks/{id}"),
            json!({"state": "closed", "resolution": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["state"], "closed");
    let (status, _) = server
        .api(
            Method::PATCH,
            &format!("/tasks/{id}"),
            json!({"state": "snoozed"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "closed only reopens");
    let (_, events) = server
        .api(
            Method::GET,
            "/events?type=task.created,task.closed",
            json!({}),
        )
        .await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["task.created", "task.closed"], "{events}");
    let (_, sla) = server.api(Method::GET, "/reports/sla", json!({})).await;
    let finance = sla["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"] == "finance")
        .unwrap_or_else(|| panic!("{sla}"));
    assert_eq!(
        (finance["tasks"].as_u64(), finance["closed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(finance["in_sla_share"], 1.0, "{sla}");
    // The same report as a page, in Romanian.
    let hash = vouch_server::hash_password("correct horse battery");
    store
        .add_user("ana@acme.example", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let cookie = super::sign_in(&server.server, "ana@acme.example", "correct horse battery").await;
    let page = server
        .server
        .client
        .get(format!("{}/reports/sla?days=90", server.server.base))
        .header("cookie", &cookie)
        .header("accept-language", "ro")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Raport SLA"), "{html}");
    assert!(html.contains("Ultimele 90 zile"), "{html}");
    assert!(
        html.contains(r#"<a href="/tasks?state=active&#38;team=finance">finance</a></th><td>1</td><td>1</td><td>100%</td>"#),
        "{html}"
    );
    // Her profile: the answer, the run with every decision, the task and
    // the reply, newest first, in English.
    let page = server
        .server
        .client
        .get(format!("{}/customers/{ana}", server.server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let timeline = html
        .split("<ol class=\"timeline\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{html}"));
    for shown in [
        "Detractor",
        "Playbook run</b> · <a href=\"/playbooks/",
        "Hear every detractor",
        "create_task → done",
        "route_feedback → done",
        "The invoice was wrong twice and billing never answered",
        &format!("#{id} close_loop · closed"),
        &format!("reply on task {id} · service"),
        "Answer</b> · nps · score 2",
    ] {
        assert!(timeline.contains(shown), "{shown:?} in {timeline}");
    }
    assert_eq!(
        timeline
            .matches("The invoice was wrong twice and billing never answered")
            .count(),
        1,
        "a survey comment shows once, with its answer: {timeline}"
    );
    let order = |text: &str| timeline.find(text).unwrap();
    assert!(
        order("reply on task") < order("Answer</b>"),
        "newest first: {timeline}"
    );
    drop(sink);
}

async fn a_promoter_gets_the_invitation_the_review_request_and_the_referral_ask_spaced_by_the_budget(
    db: &TestDb,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    let policy = ContactPolicy {
        budget: vouch_domain::ContactBudget::from_settings("5 per 30d", 1, "", "", "UTC").unwrap(),
        ..ContactPolicy::default()
    };
    let server = start(
        &store,
        Some(sink.url.clone()),
        policy,
        WorkCalendar::office(chrono_tz::UTC),
    )
    .await;
    // The company's review link switches the review request on; the
    // referral ask follows the invitation at once here.
    let mut review = server.default_playbook("default.review").await;
    review["enabled"] = json!(true);
    review["steps"][0]["url"] = json!("https://g.page/r/acme-example/review");
    // No one held out here: the hold-out has its own test.
    review["holdout_percent"] = json!(0);
    server.save(&review, "finish").await;
    let mut promoter = server.default_playbook("default.promoter").await;
    promoter["steps"][1]["delay_minutes"] = json!(0);
    promoter["holdout_percent"] = json!(0);
    server.save(&promoter, "finish").await;

    let (status, _) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Relationship"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let bogdan = server.customer("bogdan@example.ro", "ro", json!({})).await;
    server.consent(bogdan, "advocacy").await;
    server.consent(bogdan, "referral").await;
    let (status, answer) = server
        .api(
            Method::POST,
            "/responses",
            json!({"survey": "Relationship", "customer": "bogdan@example.ro", "score": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // One message goes; the other two wait for the budget's one-day gap.
    let first = wait_for_mails(&sink.maildir, 1).await;
    assert!(
        first[0].contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{}",
        first[0]
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let (_, report) = server
            .api(
                Method::GET,
                &format!("/customers/{bogdan}/contacts"),
                json!({}),
            )
            .await;
        let contacts = report["contacts"].as_array().unwrap();
        let deferred = contacts.iter().filter(|c| c["state"] == "deferred").count();
        // The mail server has the first before Vouch marks it sent.
        let sent = contacts.iter().filter(|c| c["state"] == "sent").count();
        if deferred >= 2 && sent == 1 {
            break report;
        }
        if Instant::now() > deadline {
            let jobs = store.jobs(None, 50).await.unwrap();
            let runs = server.runs_until(bogdan, |_| true).await;
            panic!("not deferred: {report}\njobs: {jobs:?}\nruns: {runs:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let contacts = report["contacts"].as_array().unwrap();
    assert_eq!(
        contacts.iter().filter(|c| c["state"] == "sent").count(),
        1,
        "{report}"
    );
    for c in contacts.iter().filter(|c| c["state"] == "deferred") {
        assert!(c["reason"].as_str().unwrap().contains("day"), "{c}");
    }
    let sent_at = time(&contacts.iter().find(|c| c["state"] == "sent").unwrap()["at"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let queued = store
            .jobs(Some(vouch_domain::JobState::Queued), 50)
            .await
            .unwrap();
        let waiting: Vec<_> = queued
            .iter()
            .filter(|j| j.kind.as_str() == "playbook.message")
            .collect();
        if waiting.len() == 2 {
            for job in waiting {
                assert!(
                    // A day after the reservation, which the mark-sent follows by moments.
                    job.run_at
                        >= sent_at + chrono::Duration::days(1) - chrono::Duration::seconds(30),
                    "spaced a day: {job:?}"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deferred jobs wait: {queued:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Two days pass, twice: each message in turn.
    let shift = match store.backend() {
        Backend::Sqlite => {
            "UPDATE contacts SET at = strftime('%Y-%m-%dT%H:%M:%f+00:00', at, '-2 days')"
        }
        Backend::Postgres => "UPDATE contacts SET at = at - interval '2 days'",
    };
    db.execute(shift).await;
    db.execute(
        "UPDATE jobs SET run_at = created_at WHERE state = 'queued' AND kind = 'playbook.message'",
    )
    .await;
    wait_for_mails(&sink.maildir, 2).await;
    let shift = match store.backend() {
        Backend::Sqlite => {
            "UPDATE contacts SET at = strftime('%Y-%m-%dT%H:%M:%f+00:00', at, '-2 days')"
        }
        Backend::Postgres => "UPDATE contacts SET at = at - interval '2 days'",
    };
    db.execute(shift).await;
    db.execute(
        "UPDATE jobs SET run_at = created_at WHERE state = 'queued' AND kind = 'playbook.message'",
    )
    .await;
    wait_for_mails(&sink.maildir, 3).await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = received(&sink.maildir);
    assert_eq!(mails.len(), 3, "exactly the three");
    let all = mails.join("\n");
    // In Bogdan's language: the invitation, the review link, the referral ask.
    assert!(all.contains("programul nostru de susținători"), "{all}");
    assert!(
        all.contains("https://g.page/r/acme-example/review"),
        "{all}"
    );
    assert!(all.contains("ne recomandați"), "{all}");

    assert!(!all.to_lowercase().contains("5 stele"), "no gating words");

    // The invitation carries the program's own join link: Bogdan joins,
    // trusted, and is signed in to the portal.
    let invitation = mails
        .iter()
        .map(|m| m.replace("=\n", ""))
        .find(|m| m.contains("/portal/join/"))
        .expect("the invitation, with its join link");
    let at = invitation
        .find("/portal/join/")
        .unwrap_or_else(|| panic!("a join link in the invitation: {invitation}"));
    let token: String = invitation[at + 13..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let joined = server
        .server
        .client
        .post(format!("{}/portal/join/{token}", server.server.base))
        .header("origin", &server.server.base)
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert!(
        joined.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("vouch_portal=")
    );
    let (_, members) = server.api(Method::GET, "/program/members", json!({})).await;
    let member = &members["members"][0];
    assert_eq!(
        (
            &member["customer_id"],
            &member["trusted"],
            &member["joined_by"]
        ),
        (&json!(bogdan), &json!(true), &json!("invitation")),
        "{members}"
    );
    let again = server
        .server
        .client
        .post(format!("{}/portal/join/{token}", server.server.base))
        .header("origin", &server.server.base)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE, "a join link works once");

    // The one-click unsubscribe of a message stops that kind of message.
    let unsubscribe = mails
        .iter()
        .find(|m| m.contains("g.page"))
        .and_then(|m| m.lines().find(|l| l.starts_with("List-Unsubscribe:")))
        .map(|l| {
            l.trim_start_matches("List-Unsubscribe:")
                .trim()
                .trim_matches(|c| c == '<' || c == '>')
                .to_owned()
        })
        .unwrap();
    let posted = reqwest::Client::new()
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    let (_, consents) = server
        .api(
            Method::GET,
            &format!("/customers/{bogdan}/consents"),
            json!({}),
        )
        .await;
    let advocacy = consents["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purpose"] == "advocacy")
        .unwrap()
        .clone();
    assert_eq!(advocacy["granted"], false, "{consents}");
    drop(sink);
}

async fn held_out_customers_get_nothing_and_pausing_cancels_pending_steps(db: &TestDb) {
    let store = db.store.clone();
    let server = start(
        &store,
        None,
        ContactPolicy::default(),
        WorkCalendar::office(chrono_tz::UTC),
    )
    .await;
    let (status, _) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Relationship"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Half held out; a tag now, a task a day later.
    let (status, path) = server
        .api(
            Method::POST,
            "/playbooks",
            json!({"name": "Follow up every answer",
                   "trigger": {"event": "response.created"},
                   "steps": [{"action": "tag", "tag": "followed-up"},
                             {"action": "create_task", "type": "opportunity", "delay_minutes": 1440}],
                   "holdout_percent": 50}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{path}");
    let mut customers = Vec::new();
    for i in 0..16 {
        let email = format!("c{i}@example.com");
        let id = server.customer(&email, "en", json!({})).await;
        let (status, _) = server
            .api(
                Method::POST,
                "/responses",
                json!({"survey": "Relationship", "customer": email, "score": 8}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        customers.push(id);
    }
    let mut held = Vec::new();
    let mut treated = Vec::new();
    for id in &customers {
        let runs = server
            .runs_until(*id, |runs| {
                playbook_runs(runs, &path)
                    .first()
                    .is_some_and(|r| logged(r, "held_out") || logged(r, "done"))
            })
            .await;
        let run = playbook_runs(&runs, &path)[0].clone();
        assert!(run["seed"].is_string(), "the draw is recorded: {run}");
        if run["held_out"] == true {
            held.push(*id);
        } else {
            treated.push(*id);
        }
    }
    assert!(
        !held.is_empty() && !treated.is_empty(),
        "{held:?} {treated:?}"
    );
    for id in &held {
        let tags = store
            .customer_tags(vouch_domain::CustomerId(*id))
            .await
            .unwrap();
        assert!(
            tags.is_empty(),
            "a held-out customer gets nothing: {tags:?}"
        );
    }
    for id in &treated {
        let tags = store
            .customer_tags(vouch_domain::CustomerId(*id))
            .await
            .unwrap();
        assert_eq!(tags, ["followed-up"]);
    }
    let (_, report) = server
        .api(
            Method::GET,
            &format!("/playbooks/{}/report", path["id"]),
            json!({}),
        )
        .await;
    assert_eq!(report["treated"]["customers"], treated.len());
    assert_eq!(report["held_out"]["customers"], held.len());
    assert!(
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "not_enough_data"),
        "16 customers are not enough: {report}"
    );

    // Paused with its pending steps cancelled: the day-later tasks never come.
    let mut paused = path.clone();
    paused["enabled"] = json!(false);
    let saved = server.save(&paused, "cancel").await;
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["enabled"], false);
    time_passes(db).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, tasks) = server.api(Method::GET, "/tasks", json!({})).await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 0, "{tasks}");
    let runs = server.runs_until(treated[0], |_| true).await;
    let run = playbook_runs(&runs, &path)[0];
    assert_eq!(run["state"], "cancelled", "{run}");
    assert!(logged(run, "cancelled"));
    // A new answer starts nothing while it is paused.
    let (status, _) = server
        .api(
            Method::POST,
            "/responses",
            json!({"survey": "Relationship", "customer": "c0@example.com", "score": 9}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = server.runs_until(customers[0], |_| true).await;
    assert_eq!(playbook_runs(&runs, &path).len(), 1);
}

async fn every_compliance_rule_denies_by_name(db: &TestDb) {
    let store = db.store.clone();
    let server = start(
        &store,
        None,
        ContactPolicy::default(),
        WorkCalendar::office(chrono_tz::UTC),
    )
    .await;
    let review = json!({"action": "request_review", "platform": "google", "url": "https://g.page/r/EXAMPLE/review"});
    let denied = [
        (
            "R1",
            json!({"name": "Ask promoters for a review",
                   "trigger": {"event": "customer.category_changed", "to": "promoter"},
                   "conditions": [{"field": "score", "op": ">=", "value": 9}],
                   "steps": [review.clone()], "holdout_percent": 10}),
        ),
        (
            "R2",
            json!({"name": "Points for good reviews", "trigger": {"event": "feedback.created"},
                   "conditions": [{"field": "rating", "op": ">=", "value": 4}],
                   "steps": [{"action": "award_points", "points": 50, "reason": "review"}]}),
        ),
        (
            "R3",
            json!({"name": "A voucher for a Trustpilot review", "trigger": {"event": "response.created"},
                   "steps": [{"action": "request_review", "platform": "trustpilot", "url": "https://www.trustpilot.com/evaluate/acme.example",
                              "incentive": "a 10% voucher", "disclosure": "You get a voucher"}]}),
        ),
        (
            "R5",
            json!({"name": "Stars please", "trigger": {"event": "response.created"},
                   "steps": [{"action": "request_review", "platform": "google", "url": "https://g.page/r/EXAMPLE/review",
                              "message": "Dacă ați fost mulțumit, lăsați-ne 5 stele!"}]}),
        ),
    ];
    for (rule, body) in denied {
        let (status, checked) = server
            .api(Method::POST, "/playbooks/check", body.clone())
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(checked["ok"], false);
        assert_eq!(checked["denials"][0]["rule"], rule, "{checked}");
        let (status, refused) = server.api(Method::POST, "/playbooks", body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{rule}: {refused}"
        );
        assert_eq!(refused["error"]["code"], "compliance");
        assert_eq!(refused["error"]["rule"], rule, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(rule)
        );
    }
    let (_, list) = server.api(Method::GET, "/playbooks", json!({})).await;
    assert_eq!(
        list["playbooks"].as_array().unwrap().len(),
        4,
        "only the defaults: {list}"
    );

    // R4 and R6 read the customer, so they deny when a step runs.
    let (status, path) = server
        .api(
            Method::POST,
            "/playbooks",
            json!({"name": "Review and referral", "trigger": {"event": "customer.created"},
                   "steps": [review, {"action": "ask_for_referral"}], "holdout_percent": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{path}");
    let insider = server
        .customer("mara@acme.example", "en", json!({"insider": "true"}))
        .await;
    let runs = server
        .runs_until(insider, |runs| {
            playbook_runs(runs, &path).first().is_some_and(|r| {
                r["log"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["outcome"] == "denied")
                    .count()
                    == 2
            })
        })
        .await;
    let log = playbook_runs(&runs, &path)[0]["log"]
        .as_array()
        .unwrap()
        .clone();
    let rules: Vec<&str> = log
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["R4", "R6"], "{log:?}");
}

async fn a_wait_for_an_event_ends_when_the_event_comes(db: &TestDb) {
    let store = db.store.clone();
    let server = start(
        &store,
        None,
        ContactPolicy::default(),
        WorkCalendar::office(chrono_tz::UTC),
    )
    .await;
    let (status, _) = server
        .api(
            Method::POST,
            "/surveys",
            json!({"kind": "nps", "name": "Relationship"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, path) = server
        .api(
            Method::POST,
            "/playbooks",
            json!({"name": "Welcome, then thank for the first answer",
                   "trigger": {"event": "customer.created"},
                   "steps": [{"action": "wait", "hours": 48, "until": "response.created"},
                             {"action": "tag", "tag": "answered"}],
                   "holdout_percent": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{path}");
    let id = server.customer("dana@example.com", "en", json!({})).await;
    server
        .runs_until(id, |runs| {
            playbook_runs(runs, &path).first().is_some_and(|r| {
                r["log"].as_array().unwrap().iter().any(|e| {
                    e["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("waits up to 48 h"))
                })
            })
        })
        .await;
    assert!(
        store
            .customer_tags(vouch_domain::CustomerId(id))
            .await
            .unwrap()
            .is_empty()
    );
    let (status, _) = server
        .api(
            Method::POST,
            "/responses",
            json!({"survey": "Relationship", "customer": "dana@example.com", "score": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let deadline = Instant::now() + Duration::from_secs(30);
    while store
        .customer_tags(vouch_domain::CustomerId(id))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the wait never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let runs = server.runs_until(id, |_| true).await;
    let run = playbook_runs(&runs, &path)[0];
    assert!(run.to_string().contains("response.created came"), "{run}");
    assert_eq!(run["state"], "done");
}

async fn a_scheduled_playbook_runs_each_matching_customer_once_per_slot_and_mails_the_team(
    db: &TestDb,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = smtp_sink(dir.path()) else {
        return;
    };
    let store = db.store.clone();
    let server = start(
        &store,
        Some(sink.url.clone()),
        ContactPolicy::default(),
        WorkCalendar::office(chrono_tz::UTC),
    )
    .await;
    let now = chrono::Utc::now();
    for email in ["ioana@acme.example", "dan@acme.example"] {
        store
            .add_user(email, Role::Agent, "not-a-hash", now)
            .await
            .unwrap();
    }
    let (status, routing) = server
        .api(
            Method::PUT,
            "/routing",
            // A team may list someone without an account: no mail goes there.
            json!({"teams": [{"name": "success", "members": ["ioana@acme.example", "dan@acme.example", "stranger@elsewhere.example"]}],
                   "rules": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{routing}");
    // The customers exist before the playbook: whichever runs the slot
    // first (the worker's tick or the call below) finds them.
    let pro = server
        .customer("pro@example.com", "en", json!({"plan": "pro"}))
        .await;
    let basic = server
        .customer("basic@example.com", "en", json!({"plan": "basic"}))
        .await;
    let (status, path) = server
        .api(
            Method::POST,
            "/playbooks",
            json!({"name": "Weekly pro check-in",
                   "trigger": {"schedule": {"every": "week", "hour": 0}},
                   "conditions": [{"field": "attributes.plan", "op": "=", "value": "pro"}],
                   "steps": [{"action": "tag", "tag": "checked-in"},
                             {"action": "notify", "team": "success", "text": "A pro customer is due a check-in."}],
                   "holdout_percent": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{path}");
    let (status, both) = server
        .api(
            Method::POST,
            "/playbooks",
            json!({"name": "n", "trigger": {"event": "customer.created", "schedule": {"every": "day"}},
                   "steps": [{"action": "tag", "tag": "x"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{both}");
    let settings = vouch_app::playbooks::RunSettings::default();
    let started = vouch_app::playbooks::run_schedules(&store, &settings, now)
        .await
        .unwrap();
    assert!(
        started <= 1,
        "only the pro customer matches (the worker may have run the slot)"
    );
    // The same slot again (the hourly tick, or a retry): nothing new.
    assert_eq!(
        vouch_app::playbooks::run_schedules(&store, &settings, now)
            .await
            .unwrap(),
        0
    );
    let runs = server
        .runs_until(pro, |runs| {
            playbook_runs(runs, &path)
                .first()
                .is_some_and(|r| r["state"] == "done" && logged(r, "done"))
                && playbook_runs(runs, &path)[0]["log"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["step"] == 1 && e["outcome"] != "scheduled")
        })
        .await;
    let run = playbook_runs(&runs, &path)[0];
    assert!(
        run["event_id"]
            .as_str()
            .unwrap()
            .starts_with("schedule:week:"),
        "{run}"
    );
    assert!(run.to_string().contains("mailed"), "{run}");
    assert_eq!(
        store
            .customer_tags(vouch_domain::CustomerId(pro))
            .await
            .unwrap(),
        ["checked-in"]
    );
    let (_, basic_runs) = server
        .api(Method::GET, &format!("/customers/{basic}/runs"), json!({}))
        .await;
    assert!(
        playbook_runs(basic_runs["runs"].as_array().unwrap(), &path).is_empty(),
        "an unmatched customer leaves no scheduled run"
    );
    let mails = wait_for_mails(&sink.maildir, 2).await;
    assert_eq!(mail_to(&mails, "ioana@acme.example").len(), 1, "{mails:?}");
    assert_eq!(mail_to(&mails, "dan@acme.example").len(), 1, "{mails:?}");
    assert!(mail_to(&mails, "stranger@elsewhere.example").is_empty());
    assert!(
        mails[0].contains("A pro customer is due a check-in."),
        "{}",
        mails[0]
    );
    // A week later it is a new slot: the customer runs again.
    assert_eq!(
        vouch_app::playbooks::run_schedules(&store, &settings, now + chrono::Duration::days(7))
            .await
            .unwrap(),
        1
    );
}
