//! SMART goals and advocate propensity over HTTP (both backends), on demo
//! data: a goal set through the API with a measured baseline, read with
//! the contract's fields, measured as time advances until the outbox hears
//! `goal.at_risk`; each customer's propensity with its reasons, the likely
//! advocates ranked, and weights learnt from who became an advocate.

use reqwest::StatusCode;
use serde_json::json;
use vouch_domain::Role;
use vouch_testing::TestDb;

use super::{json_of, start, token};

vouch_testing::on_both_backends!(
    a_goal_set_on_demo_data_falls_behind_and_the_outbox_hears_it,
    customers_carry_their_propensity_and_the_likely_advocates_are_ranked,
    the_maturity_questions_come_with_evidence_and_assessments_are_kept
);

async fn a_goal_set_on_demo_data_falls_behind_and_the_outbox_hears_it(db: &TestDb) {
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 200,
        months: 6,
        seed: 5,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    let server = start(store.clone()).await;
    let manager = token(store, Role::Manager).await;
    let analyst = token(store, Role::Analyst).await;
    let today = chrono::Utc::now().date_naive();
    let deadline = today + chrono::Duration::days(84);
    let post = |bearer: &str, body: serde_json::Value| {
        server
            .client
            .post(format!("{}/api/v1/goals", server.base))
            .bearer_auth(bearer)
            .json(&body)
            .send()
    };
    let nps = vouch_app::reports::scores(
        store,
        chrono::Utc::now() - chrono::Duration::days(90),
        chrono::Utc::now(),
        0.95,
    )
    .await
    .unwrap()
    .nps
    .nps
    .unwrap();
    let target = (nps + 30.0).min(100.0).round();
    let body = json!({
        "kpi": "nps",
        "target": target,
        "deadline": deadline.to_string(),
        "segment": {},
        "owner": "Maria (CX lead)",
        "specific": "Raise NPS among all customers",
        "relevant": "Promoters refer; detractors churn"
    });

    // An analyst reads goals but does not set them.
    let (status, _) = json_of(post(&analyst, body.clone()).await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, goal) = json_of(post(&manager, body.clone()).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{goal}");
    let id = goal["id"].as_i64().unwrap();
    assert_eq!(goal["baseline"]["value"].as_f64(), Some(nps), "{goal}");
    assert!(goal["baseline"]["ci_low"].as_f64().unwrap() < nps);
    assert_eq!(goal["direction"], "increase");
    assert_eq!(goal["status"], "on_track", "on its path the day it is set");

    // Refusals name the field.
    for (bad, why) in [
        (
            json!({"kpi": "nps", "target": 20, "deadline": "2020-01-01", "owner": "x"}),
            "deadline",
        ),
        (
            json!({"kpi": "review_rating", "target": 4.5, "deadline": deadline.to_string(), "owner": "x", "segment": {"languages": ["ro"]}}),
            "segment",
        ),
        (
            json!({"kpi": "happiness", "target": 1, "deadline": deadline.to_string(), "owner": "x"}),
            "happiness",
        ),
        (
            json!({"kpi": "nps", "target": 20, "deadline": deadline.to_string(), "owner": " "}),
            "owner",
        ),
    ] {
        let (status, error) = json_of(post(&manager, bad).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {error}");
        assert!(error.to_string().contains(why), "{why}: {error}");
    }

    let get = |path: String| {
        let server = &server;
        let analyst = analyst.clone();
        async move {
            json_of(
                server
                    .client
                    .get(format!("{}{path}", server.base))
                    .bearer_auth(analyst)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, read) = get(format!("/api/v1/goals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["value", "ci_low", "ci_high"] {
        assert!(read["current"][field].is_number(), "{field}: {read}");
    }
    assert_eq!(
        read["checkins"].as_array().unwrap().len(),
        1,
        "the baseline"
    );
    let (status, _) = get("/api/v1/goals/999999".to_owned()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = get("/api/v1/goals".to_owned()).await;
    let goals = list["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 3, "the demo's two and this one");
    assert!(goals.iter().any(|g| g["id"].as_i64() == Some(id)));

    // Time advances a week at a time; no new answers come, so the goal
    // falls behind its path, and the outbox hears it.
    let settings = vouch_app::playbooks::RunSettings::default();
    let mut weeks = 0;
    let at_risk = loop {
        weeks += 1;
        assert!(weeks <= 12, "never at risk: {read}");
        let day = today + chrono::Duration::days(7 * weeks);
        // This goal and the demo's two.
        assert_eq!(
            vouch_app::goals::check_in(store, &settings, day)
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            vouch_app::goals::check_in(store, &settings, day)
                .await
                .unwrap(),
            0,
            "a retried check-in measures nothing twice"
        );
        let (_, events) = get("/api/v1/events?type=goal.at_risk".to_owned()).await;
        let events: Vec<serde_json::Value> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["data"]["goal_id"].as_i64() == Some(id))
            .cloned()
            .collect();
        if !events.is_empty() {
            break events;
        }
    };
    let data = &at_risk[0]["data"];
    assert_eq!(data["goal_id"].as_i64(), Some(id), "{data}");
    assert!(
        matches!(data["status"].as_str(), Some("at_risk" | "off_track")),
        "{data}"
    );
    let (_, read) = get(format!("/api/v1/goals/{id}")).await;
    assert!(
        matches!(read["status"].as_str(), Some("at_risk" | "off_track")),
        "{read}"
    );
    assert_eq!(
        read["checkins"].as_array().unwrap().len(),
        1 + weeks as usize
    );

    // Past the deadline it is missed, and the outbox hears that too.
    vouch_app::goals::check_in(store, &settings, deadline + chrono::Duration::days(1))
        .await
        .unwrap();
    let (_, read) = get(format!("/api/v1/goals/{id}")).await;
    assert_eq!(read["status"], "missed", "{read}");
    let (_, missed) = get("/api/v1/events?type=goal.missed".to_owned()).await;
    assert!(
        missed["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["goal_id"].as_i64() == Some(id)),
        "{missed}"
    );
}

async fn customers_carry_their_propensity_and_the_likely_advocates_are_ranked(db: &TestDb) {
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 600,
        months: 6,
        seed: 8,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    vouch_app::demo::run_program(store, config.seed)
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let analyst = token(store, Role::Analyst).await;
    let get = |path: String| {
        let server = &server;
        let analyst = analyst.clone();
        async move {
            json_of(
                server
                    .client
                    .get(format!("{}{path}", server.base))
                    .bearer_auth(analyst)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, likely) = get("/api/v1/customers/likely-advocates?limit=10".to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{likely}");
    let likely = likely["likely_advocates"].as_array().unwrap().clone();
    assert_eq!(likely.len(), 10);
    let scores: Vec<f64> = likely
        .iter()
        .map(|a| a["propensity"]["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked: {scores:?}"
    );
    for a in &likely {
        assert!(
            matches!(a["category"].as_str(), Some("promoter" | "passive")),
            "{a}"
        );
        let id = a["customer_id"].as_i64().unwrap();
        let member = store
            .member_of_customer(vouch_domain::CustomerId(id))
            .await
            .unwrap();
        assert!(member.is_none(), "{id} is in the program already");
        assert!(!a["propensity"]["reasons"].as_array().unwrap().is_empty());
    }

    // The customer's own record carries the same score and its reasons.
    let first = likely[0]["customer_id"].as_i64().unwrap();
    let (status, customer) = get(format!("/api/v1/customers/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(customer["id"].as_i64(), Some(first), "{customer}");
    assert_eq!(
        customer["propensity"], likely[0]["propensity"],
        "{customer}"
    );
    let reason = &customer["propensity"]["reasons"][0];
    assert!(reason["feature"].is_string() && reason["contribution"].as_f64().unwrap() > 0.0);

    // Weights learnt from who became an active advocate rank the held-out
    // fifth well (the demo makes advocacy depend on the signals).
    let report = vouch_app::propensity::train(store, chrono::Utc::now(), false)
        .await
        .unwrap();
    assert!(report.advocates > 10, "{report:?}");
    assert!(report.learnt_auc.unwrap() > 0.7, "{report:?}");
    let kept = vouch_app::propensity::weights(store).await.unwrap();
    assert_eq!(kept == report.weights, report.kept, "{report:?}");
}

async fn the_maturity_questions_come_with_evidence_and_assessments_are_kept(db: &TestDb) {
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 200,
        months: 6,
        seed: 9,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    let server = start(store.clone()).await;
    let manager = token(store, Role::Manager).await;
    let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = server
            .client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(&manager);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let (status, maturity) = json_of(
        call(reqwest::Method::GET, "/api/v1/maturity?lang=ro", None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{maturity}");
    assert_eq!(maturity["language"], "ro");
    assert_eq!(maturity["levels"].as_array().unwrap().len(), 4);
    let dimensions = maturity["dimensions"].as_array().unwrap();
    assert_eq!(dimensions.len(), 7);
    let evidence = |dimension: &str, name: &str| -> String {
        dimensions
            .iter()
            .find(|d| d["dimension"] == dimension)
            .and_then(|d| {
                d["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["name"] == name)
            })
            .map(|e| e["value"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{dimension}/{name}: {maturity}"))
    };
    // The demo's sources, playbooks and goals show as evidence.
    assert!(
        evidence("customer_knowledge", "feedback_sources")
            .parse::<u32>()
            .unwrap()
            >= 3
    );
    assert_eq!(evidence("customer_knowledge", "connectors"), "2");
    // (`vouch demo` installs the playbooks after `load`; this one did not.)
    assert_eq!(evidence("close_the_loop", "active_playbooks"), "0");
    assert_eq!(evidence("measurement", "goals_set"), "2");
    assert!(
        dimensions[0]["question"]
            .as_str()
            .unwrap()
            .contains("clienții"),
        "{maturity}"
    );
    // The demo's own assessment is the latest so far.
    assert_eq!(maturity["history"].as_array().unwrap().len(), 1);
    assert_eq!(
        dimensions
            .iter()
            .find(|d| d["dimension"] == "advocate_program")
            .unwrap()["target"],
        3
    );

    let all = |level: i64| -> serde_json::Value {
        serde_json::Value::Object(
            vouch_domain::maturity::Dimension::ALL
                .iter()
                .map(|d| (d.to_string(), json!(level)))
                .collect(),
        )
    };
    let mut answers = all(3);
    answers["roles"] = json!(2);
    let (status, assessed) = json_of(
        call(
            reqwest::Method::POST,
            "/api/v1/maturity/assessments",
            Some(json!({"answers": answers, "targets": {"roles": 4}})),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{assessed}");
    assert_eq!(assessed["overall"], 2, "the weakest dimension: {assessed}");
    assert_eq!(assessed["levels"]["roles"], 2);
    assert_eq!(assessed["targets"]["roles"], 4);
    for (bad, why) in [
        (json!({"answers": {"roles": 2}}), "no answer"),
        (json!({"answers": all(5)}), "not a level"),
        (json!({"answers": all(3), "targets": {"roles": 1}}), "below"),
        (json!({"answers": {"charisma": 2}}), "charisma"),
    ] {
        let (status, error) = json_of(
            call(
                reqwest::Method::POST,
                "/api/v1/maturity/assessments",
                Some(bad),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {error}");
        assert!(error.to_string().contains(why), "{why}: {error}");
    }
    let (_, maturity) = json_of(
        call(reqwest::Method::GET, "/api/v1/maturity", None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(maturity["history"].as_array().unwrap().len(), 2);
    assert_eq!(maturity["history"][0]["overall"], 2, "newest first");
    let roles = maturity["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "roles")
        .unwrap()
        .clone();
    assert_eq!(roles["level"], 2);
    assert_eq!(roles["target"], 4);
}

/// In Chromium, in Romanian, with the keyboard: the maturity page shows its
/// evidence, a manager answers every question and sets a target, saves,
/// and the page says so; the assessment is kept with its overall level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_completes_a_maturity_assessment_in_romanian() {
    use fantoccini::Locator;
    let Some(browser) = super::Browser::start_in("ro").await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 200,
        months: 6,
        seed: 4,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    store
        .add_user(
            "maria@acme.example",
            Role::Manager,
            &vouch_server::hash_password("browser password 1"),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let page = &browser.client;
    let wait = std::time::Duration::from_secs(20);
    let outcome = async {
        browser
            .sign_in(
                &server.base,
                "/maturity",
                "maria@acme.example",
                "browser password 1",
            )
            .await?;
        let title = page
            .wait()
            .at_most(wait)
            .for_element(Locator::Css("h1"))
            .await?
            .text()
            .await?;
        assert_eq!(title, "Maturitate");
        let evidence = page
            .find(Locator::Css("#dim-customer_knowledge .evidence"))
            .await?
            .text()
            .await?;
        assert!(evidence.contains("Conectori: 2"), "{evidence}");
        // Each answer by the keyboard: focus the first choice, arrow to the level.
        for (dimension, level) in [
            ("customer_knowledge", 3),
            ("feedback_catalogue", 3),
            ("analysis", 2),
            ("roles", 2),
            ("close_the_loop", 3),
            ("advocate_program", 2),
            ("measurement", 3),
        ] {
            let first = page.find(Locator::Id(&format!("{dimension}-1"))).await?;
            first.click().await?;
            for _ in 1..level {
                page.active_element().await?.send_keys("\u{E015}").await?; // arrow down
            }
            let chosen = page
                .find(Locator::Id(&format!("{dimension}-{level}")))
                .await?
                .prop("checked")
                .await?;
            assert_eq!(chosen.as_deref(), Some("true"), "{dimension}");
        }
        page.find(Locator::Id("target-roles"))
            .await?
            .select_by_value("4")
            .await?;
        page.find(Locator::Css("form.stack button[type=submit]"))
            .await?
            .click()
            .await?;
        let notice = page
            .wait()
            .at_most(wait)
            .for_element(Locator::Css("p.notice"))
            .await?
            .text()
            .await?;
        assert_eq!(notice, "Evaluarea a fost salvată.");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
    let latest = &store.assessments(1).await.unwrap()[0];
    assert_eq!(latest.overall, 2, "{latest:?}");
    assert!(latest.targets.contains("\"roles\":4"), "{latest:?}");
    assert_eq!(latest.assessed_by, "maria@acme.example");
    db.cleanup().await;
}

/// The monthly report, mailed through the mail layer to aiosmtpd on
/// loopback: a plain-text part, and an HTML part whose chart is a PNG
/// rasterised from the chart's SVG. The HTML part is opened in Chromium
/// with its image and screenshotted (target/report-mail.png), and the
/// image must have decoded there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_report_arrives_by_smtp_with_its_chart_as_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = super::surveys::smtp_sink(dir.path()) else {
        return;
    };
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let now = chrono::Utc::now();
    let config = vouch_demo::DemoConfig {
        customers: 300,
        months: 6,
        seed: 6,
        until: now,
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    let period = vouch_app::periodic::Period::last_complete(now.date_naive(), false);
    let report = vouch_app::periodic::report(store, &Default::default(), period)
        .await
        .unwrap();
    let mailer = vouch_server::Mailer::new(&vouch_server::MailSettings {
        smtp_url: Some(sink.url.clone()),
        from: "Vouch <reports@acme.example>".to_owned(),
        public_url: "http://127.0.0.1".to_owned(),
    });
    mailer
        .send_report("maria@acme.example", &report, "ro")
        .await
        .unwrap();
    let mails = super::surveys::wait_for_mails(&sink.maildir, 1).await;
    let mail = &mails[0];
    assert!(
        mail.contains(&format!("Raport de susținere {}", report.period)),
        "{mail}"
    );
    assert!(
        mail.to_ascii_lowercase().contains("multipart/related"),
        "{mail}"
    );
    assert!(
        mail.to_ascii_lowercase()
            .contains("content-type: image/png"),
        "{mail}"
    );
    assert!(mail.contains("cid:flows"), "{mail}");

    // On a schedule: the server's report.send job mails the last whole
    // month to the chosen staff once, and marks it sent.
    vouch_app::periodic::set_schedule(
        store,
        &vouch_app::periodic::ReportSchedule {
            recipients: vec!["lead@acme.example".to_owned()],
            weekly: false,
            language: "en".to_owned(),
        },
    )
    .await
    .unwrap();
    assert!(
        vouch_app::periodic::due(store, now.date_naive())
            .await
            .unwrap()
            .is_some()
    );
    let _server = super::start_with(
        store.clone(),
        vouch_domain::ContactPolicy::default(),
        Some(sink.url.clone()),
    )
    .await;
    let mails = super::surveys::wait_for_mails(&sink.maildir, 2).await;
    assert!(
        mails.iter().any(|m| m.contains("lead@acme.example")
            && m.contains(&format!("Advocacy report {}", report.period))),
        "{mails:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while vouch_app::periodic::due(store, now.date_naive())
        .await
        .unwrap()
        .is_some()
    {
        assert!(std::time::Instant::now() < deadline, "never marked sent");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The HTML part and its image, as a mail client would show them.
    let python = std::env::var("VOUCH_TEST_AIOSMTPD").unwrap();
    let out = dir.path().join("opened");
    // The first mail: the one sent in Romanian.
    let raw = std::fs::read_dir(sink.maildir.join("new"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("maria@acme.example")
        })
        .unwrap();
    let script = r#"
import email, sys, os
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'))
os.makedirs(sys.argv[2], exist_ok=True)
html = None
for part in msg.walk():
    if part.get_content_type() == 'text/html':
        html = part.get_payload(decode=True).decode('utf-8')
    elif part.get_content_type() == 'image/png':
        cid = part['Content-ID'].strip('<>')
        open(os.path.join(sys.argv[2], cid + '.png'), 'wb').write(part.get_payload(decode=True))
open(os.path.join(sys.argv[2], 'report.html'), 'w').write(html.replace('cid:', '').replace('"flows"', '"flows.png"'))
"#;
    let status = std::process::Command::new(&python)
        .args(["-c", script, raw.to_str().unwrap(), out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let png = std::fs::read(out.join("flows.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/report-flows.png"),
        &png,
    );
    let Some(browser) = super::Browser::start().await else {
        return;
    };
    let page = &browser.client;
    let outcome = async {
        page.set_window_size(800, 2600).await?;
        page.goto(&format!("file://{}", out.join("report.html").display()))
            .await?;
        let width = page
            .execute("return document.querySelector('img').naturalWidth", vec![])
            .await?;
        assert!(
            width.as_u64().unwrap_or(0) >= 720,
            "the PNG decoded: {width}"
        );
        let heading = page
            .find(fantoccini::Locator::Css("h1"))
            .await?
            .text()
            .await?;
        assert_eq!(heading, format!("Raport de susținere {}", report.period));
        let shot = page.screenshot().await?;
        let target =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/report-mail.png");
        let _ = std::fs::write(target, shot);
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
    db.cleanup().await;
}
