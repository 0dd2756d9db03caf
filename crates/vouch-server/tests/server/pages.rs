//! The staff's customer pages over HTTP (both backends), and every page in
//! headless Chromium under axe-core, at a desktop's and a phone's width,
//! in English and Romanian.

use reqwest::StatusCode;
use vouch_domain::{CustomerProfile, Email, Locale, Role};
use vouch_testing::TestDb;

use super::{Browser, start};

vouch_testing::on_both_backends!(
    customers_are_found_shown_exported_and_erased_after_confirming,
    managers_set_up_rewards_challenges_and_join_codes_on_the_program_pages,
);

pub(super) async fn get(server: &super::Running, cookie: &str, path: &str) -> (StatusCode, String) {
    let page = server
        .client
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = page.status();
    (status, page.text().await.unwrap())
}

/// The password every staff account of these tests has.
const PASSWORD: &str = "correct horse battery";

/// Adds a staff account with `role` and signs it in: its session cookie.
pub(super) async fn staff(
    server: &super::Running,
    store: &vouch_store::Store,
    email: &str,
    role: Role,
) -> String {
    store
        .add_user(
            email,
            role,
            &vouch_server::hash_password(PASSWORD),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    super::sign_in(server, email, PASSWORD).await
}

/// The address of a list page's "next page" link.
fn next_page(html: &str) -> String {
    html.split("<a href=\"")
        .find(|s| s.contains("rel=\"next\""))
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no next page: {html}"))
        .replace("&#38;", "&")
}

pub(super) fn person(name: &str, email: &str, plan: &str) -> CustomerProfile {
    let mut p = CustomerProfile::new(Locale::parse("ro").unwrap(), chrono::Utc::now());
    p.name = Some(name.to_owned());
    p.email = Email::parse(email).ok();
    p.attributes.insert("plan".into(), plan.into());
    p
}

/// The list finds people by any part of their name, email or id and by an
/// attribute, 50 a page; the profile shows them; admins download their
/// data and erase them only after typing their id; others cannot.
async fn customers_are_found_shown_exported_and_erased_after_confirming(db: &TestDb) {
    let store = db.store.clone();
    let mut people = vec![
        person("Ana Popescu", "ana@example.ro", "pro"),
        person("Dan <b>Ionescu</b>", "dan@example.ro", "free"),
    ];
    people.extend(
        (0..58).map(|i| person(&format!("Client {i}"), &format!("c{i}@example.com"), "free")),
    );
    let ids = store.insert_customers(&people).await.unwrap();
    let (ana, dan) = (ids[0].0, ids[1].0);
    let server = start(store.clone()).await;
    let admin = staff(&server, &store, "admin@acme.example", Role::Admin).await;
    let analyst = staff(&server, &store, "analyst@acme.example", Role::Analyst).await;

    let (status, html) = get(&server, &analyst, "/customers?q=POPESCU").await;
    assert_eq!(status, StatusCode::OK);
    // The menu offers only what the role may open: no task queue for an analyst.
    assert!(
        html.contains(r#"<a href="/customers">"#) && !html.contains(r#"<a href="/tasks">"#),
        "{html}"
    );
    let (_, menu) = get(&server, &admin, "/customers").await;
    assert!(menu.contains(r#"<a href="/tasks">"#), "{menu}");
    assert!(
        html.contains(&format!("<a href=\"/customers/{ana}\">Ana Popescu</a>")),
        "{html}"
    );
    assert!(!html.contains("dan@example.ro"), "{html}");
    let (_, html) = get(&server, &analyst, "/customers?q=100%25").await;
    assert!(
        html.contains("No customer matches"),
        "a % is taken literally: {html}"
    );
    let (_, html) = get(&server, &analyst, "/customers?attribute=plan%3Dpro").await;
    assert!(
        html.contains("ana@example.ro") && !html.contains("c0@example.com"),
        "{html}"
    );
    // 60 people: 50 on the first page, a link to the other 10.
    let (_, html) = get(&server, &analyst, "/customers").await;
    assert_eq!(html.matches("<tr id=\"customer-").count(), 50);
    assert!(
        html.contains("Dan &#60;b&#62;Ionescu&#60;/b&#62;"),
        "escaped: {html}"
    );
    let next = next_page(&html);
    let (_, html) = get(&server, &analyst, &next).await;
    assert_eq!(html.matches("<tr id=\"customer-").count(), 10, "{next}");
    assert!(!html.contains("rel=\"next\""));

    // The profile, in Romanian; no erase for an analyst.
    let page = server
        .client
        .get(format!("{}/customers/{ana}", server.base))
        .header("cookie", &analyst)
        .header("accept-language", "ro")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Cronologie") && html.contains("Fără semnal"),
        "{html}"
    );
    assert!(html.contains("<dt>plan</dt><dd>pro</dd>"), "{html}");
    assert!(!html.contains("/erase"), "{html}");
    let (status, html) = get(&server, &analyst, &format!("/customers/{ana}/erase")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    let (status, html) = get(&server, &analyst, "/customers/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.starts_with("<!doctype html>"), "an HTML page: {html}");

    // An admin downloads her data.
    let export = server
        .client
        .get(format!("{}/customers/{ana}/export", server.base))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let body: serde_json::Value = export.json().await.unwrap();
    assert!(body.to_string().contains("ana@example.ro"), "{body}");

    // She joins the program; an admin awards points (a form sent twice
    // awards once), thanks her publicly and pauses her, from her page.
    let (member, _) = vouch_app::program::join(
        &store,
        "ana@example.ro",
        vouch_domain::program::JoinedBy::Staff,
        true,
    )
    .await
    .unwrap();
    let (_, html) = get(&server, &admin, &format!("/customers/{ana}")).await;
    assert!(html.contains("id=\"program-actions\""), "{html}");
    let key = html
        .split("name=\"key\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let act = |form: Vec<(&str, String)>| {
        server
            .client
            .post(format!("{}/customers/{ana}/program", server.base))
            .header("cookie", &admin)
            .form(&form)
            .send()
    };
    let csrf = super::csrf_field(&html);
    for _ in 0..2 {
        let done = act(vec![
            ("csrf", csrf.clone()),
            ("action", "award".into()),
            ("amount", "50".into()),
            ("reason", "Spoke at our meetup".into()),
            ("key", key.clone()),
        ])
        .await
        .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert!(
            done.headers()["location"]
                .to_str()
                .unwrap()
                .contains("saved=1")
        );
    }
    assert_eq!(
        store.balance(member.id).await.unwrap().lifetime,
        50,
        "awarded once"
    );
    act(vec![
        ("csrf", csrf.clone()),
        ("action", "thanks".into()),
        ("message", "Thank you, Ana!".into()),
        ("public", "on".into()),
    ])
    .await
    .unwrap();
    act(vec![
        ("csrf", csrf.clone()),
        ("action", "status".into()),
        ("status", "paused".into()),
    ])
    .await
    .unwrap();
    let refused = act(vec![
        ("csrf", csrf.clone()),
        ("action", "award".into()),
        ("amount", "10".into()),
        ("reason", "more".into()),
        ("key", "k2".into()),
    ])
    .await
    .unwrap();
    assert!(
        refused.headers()["location"]
            .to_str()
            .unwrap()
            .contains("saved=0"),
        "a paused member earns nothing"
    );
    let (_, html) = get(&server, &admin, &format!("/customers/{ana}?saved=1")).await;
    assert!(
        html.contains("Thank you, Ana!") && html.contains("Spoke at our meetup"),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="paused" selected>"#),
        "{html}"
    );
    let (status, _) = get(&server, &analyst, &format!("/customers/{ana}")).await;
    assert_eq!(status, StatusCode::OK);
    let forbidden = server
        .client
        .post(format!("{}/customers/{ana}/program", server.base))
        .header("cookie", &analyst)
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "status"),
            ("status", "banned"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forbidden.status(),
        StatusCode::FORBIDDEN,
        "analysts only read"
    );

    // Erasing needs her id typed again; a wrong one erases no one.
    let (status, html) = get(&server, &admin, &format!("/customers/{ana}/erase")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = super::csrf_field(&html);
    let erase = |confirm: String| {
        server
            .client
            .post(format!("{}/customers/{ana}/erase", server.base))
            .header("cookie", &admin)
            .form(&[("csrf", csrf.clone()), ("confirm", confirm)])
            .send()
    };
    let refused = erase(dan.to_string()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("Nothing was erased"));
    assert!(store.customer(ids[0]).await.unwrap().is_some());
    let done = erase(ana.to_string()).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/customers?erased=1");
    assert!(store.customer(ids[0]).await.unwrap().is_none());
    let (_, html) = get(&server, &admin, "/customers?erased=1").await;
    assert!(html.contains("The person was erased"), "{html}");
}

/// Every staff page, the public pages and an error page, filled from the
/// demo generator, pass axe-core (WCAG 2.0/2.1 A and AA, best practice)
/// at 1366 and 390 px, in English and in Romanian. With
/// `VOUCH_TEST_SCREENSHOTS=DIR` each view is also saved as a PNG there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_core_at_both_widths_in_both_languages() {
    if std::env::var("VOUCH_TEST_AXE").is_err() {
        vouch_testing::say_skipping(
            "the axe-core checks, because VOUCH_TEST_AXE (path to axe.min.js) is not set",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store =
        vouch_store::Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
            .await
            .unwrap();
    let config = vouch_demo::DemoConfig {
        customers: 400,
        months: 12,
        seed: 1,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(&store, &config, |_| {})
        .await
        .unwrap();
    vouch_app::text::retag(&store, |_, _| {}).await.unwrap();
    vouch_app::demo::run_playbooks(&store, &Default::default(), 400)
        .await
        .unwrap();
    vouch_app::demo::run_program(&store, 1).await.unwrap();
    let now = chrono::Utc::now();
    store
        .add_user(
            "admin@acme.example",
            Role::Admin,
            &vouch_server::hash_password(PASSWORD),
            now,
        )
        .await
        .unwrap();
    let member = store.members(None, None, 1).await.unwrap();
    let customer = member
        .first()
        .and_then(|m| m.customer_id)
        .expect("the demo program has members");
    let design = store.survey_designs().await.unwrap()[0].clone();
    let survey = design.survey.id.0;
    let playbook = store.playbooks().await.unwrap()[0].id;
    let item = store.feedback(&Default::default(), None, 1).await.unwrap()[0]
        .id
        .0;
    let server = start(store.clone()).await;
    let link = format!("/l/{}", design.slug);
    let public = [
        "/login",
        "/portal",
        "/portal/join",
        "/no-such-page",
        link.as_str(),
    ];
    let staff = [
        "/".to_owned(),
        "/feedback".to_owned(),
        "/feedback?q=delivery&handled=false".to_owned(),
        format!("/feedback/{item}"),
        "/customers".to_owned(),
        format!("/customers/{customer}"),
        format!("/customers/{customer}/erase"),
        "/customers/999999".to_owned(),
        "/surveys".to_owned(),
        format!("/surveys/{survey}"),
        format!("/surveys/{survey}/results"),
        format!("/surveys/{survey}/send"),
        "/tasks".to_owned(),
        "/reports/sla".to_owned(),
        "/playbooks".to_owned(),
        format!("/playbooks/{playbook}"),
        "/program".to_owned(),
        "/program/rewards".to_owned(),
        "/program/challenges".to_owned(),
        "/program/join-codes".to_owned(),
        "/settings/users".to_owned(),
        "/settings/tokens".to_owned(),
        "/settings/webhooks".to_owned(),
        "/settings/branding".to_owned(),
        "/settings/topics".to_owned(),
        "/settings/languages".to_owned(),
        "/settings/sources".to_owned(),
    ];
    let shots = std::env::var("VOUCH_TEST_SCREENSHOTS").ok();
    let mut broken = Vec::new();
    let mut checked = 0;
    for language in ["en", "ro"] {
        let Some(browser) = Browser::start_in(language).await else {
            return;
        };
        let page = &browser.client;
        let outcome = async {
            use fantoccini::Locator;
            for path in public {
                broken
                    .extend(views(&browser, &server.base, path, language, shots.as_deref()).await?);
                checked += 2;
            }
            page.goto(&format!("{}/login", server.base)).await?;
            page.find(Locator::Id("email"))
                .await?
                .send_keys("admin@acme.example")
                .await?;
            page.find(Locator::Id("password"))
                .await?
                .send_keys(PASSWORD)
                .await?;
            page.find(Locator::Css("button[type=submit]"))
                .await?
                .click()
                .await?;
            page.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Css("header nav"))
                .await?;
            for path in &staff {
                broken
                    .extend(views(&browser, &server.base, path, language, shots.as_deref()).await?);
                checked += 2;
            }
            Ok::<_, fantoccini::error::CmdError>(())
        }
        .await;
        browser.close().await;
        outcome.expect("the browser steps");
    }
    assert_eq!(checked, 2 * 2 * (public.len() + staff.len()));
    assert!(broken.is_empty(), "axe-core found:\n{}", broken.join("\n"));
}

/// axe-core's findings on `path` at a desktop's and a phone's width.
async fn views(
    browser: &Browser,
    base: &str,
    path: &str,
    language: &str,
    shots: Option<&str>,
) -> Result<Vec<String>, fantoccini::error::CmdError> {
    use fantoccini::Locator;
    let page = &browser.client;
    let mut found = Vec::new();
    for (width, height) in [(1366, 900), (390, 844)] {
        page.set_window_size(width, height).await?;
        page.goto(&format!("{base}{path}")).await?;
        let lang = page.find(Locator::Css("html")).await?.attr("lang").await?;
        assert_eq!(lang.as_deref(), Some(language), "{path}");
        if let Some(dir) = shots {
            let name = format!("{language}-{width}{}.png", path.replace('/', "_"));
            std::fs::write(
                std::path::Path::new(dir).join(name),
                page.screenshot().await?,
            )
            .unwrap();
        }
        for v in browser.axe().await.unwrap_or_default() {
            found.push(format!("{language} {width}px {path}: {v}"));
        }
    }
    Ok(found)
}

/// A manager sets the program up from the web: a reward (a refused one
/// comes back with the field named), gift codes, a challenge (a review
/// stage that pays on Google is refused by R3 before saving), pausing
/// it, and a join code; an analyst sees the catalogue without the forms.
async fn managers_set_up_rewards_challenges_and_join_codes_on_the_program_pages(db: &TestDb) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    let mara = staff(&server, &store, "mara@acme.example", Role::Manager).await;
    let analyst = staff(&server, &store, "analyst@acme.example", Role::Analyst).await;
    let post = |path: &str, form: Vec<(&str, String)>| {
        server
            .client
            .post(format!("{}{path}", server.base))
            .header("cookie", &mara)
            .form(&form)
            .send()
    };
    let (status, html) = get(&server, &mara, "/program/rewards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No rewards yet"), "{html}");
    let csrf = super::csrf_field(&html);
    let refused = post(
        "/program/rewards",
        vec![
            ("csrf", csrf.clone()),
            ("name", "Voucher".into()),
            ("kind", "gift_code".into()),
            ("points", "100".into()),
            ("stock", "5".into()),
            ("fulfilment", "auto".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Not saved. stock:"), "{html}");
    assert!(
        html.contains(r#"value="Voucher""#),
        "the form keeps what was typed: {html}"
    );
    let added = post(
        "/program/rewards",
        vec![
            ("csrf", csrf.clone()),
            ("name", "Voucher".into()),
            ("kind", "gift_code".into()),
            ("points", "100".into()),
            ("stock", "".into()),
            ("fulfilment", "auto".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let reward = store.rewards(false).await.unwrap()[0].clone();
    let loaded = post(
        &format!("/program/rewards/{}", reward.id),
        vec![
            ("csrf", csrf.clone()),
            ("action", "codes".into()),
            ("codes", "G-1\nG-2\n\nG-3\n".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(loaded.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&server, &mara, "/program/rewards?saved=1").await;
    assert!(html.contains("3 codes left"), "{html}");
    let (_, html) = get(&server, &analyst, "/program/rewards").await;
    assert!(
        html.contains("Voucher") && !html.contains("Add a reward"),
        "{html}"
    );

    let (_, html) = get(&server, &mara, "/program/challenges").await;
    let gated = r#"{"name": "Review us", "stages": [{"kind": "review", "title": "Review us on Google", "points": 200, "platform": "google"}]}"#;
    let denied = post(
        "/program/challenges",
        vec![("csrf", super::csrf_field(&html)), ("spec", gated.into())],
    )
    .await
    .unwrap();
    assert_eq!(denied.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = denied.text().await.unwrap();
    assert!(html.contains("Not saved. R3:"), "{html}");
    assert!(
        html.contains("Review us on Google"),
        "the draft stays in the editor: {html}"
    );
    assert!(store.challenges(false).await.unwrap().is_empty());
    let fine = r#"{"name": "Tell us your story", "stages": [{"kind": "answer", "title": "Your story", "points": 50, "questions": ["What changed?"]}]}"#;
    let saved = post(
        "/program/challenges",
        vec![("csrf", csrf.clone()), ("spec", fine.into())],
    )
    .await
    .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let challenge = store.challenges(false).await.unwrap()[0].id;
    let paused = post(
        &format!("/program/challenges/{challenge}"),
        vec![("csrf", csrf.clone()), ("active", "false".into())],
    )
    .await
    .unwrap();
    assert_eq!(paused.status(), StatusCode::SEE_OTHER);
    assert!(!store.challenge(challenge).await.unwrap().unwrap().active);

    let made = post(
        "/program/join-codes",
        vec![
            ("csrf", csrf.clone()),
            ("code", "meetup".into()),
            ("max_uses", "30".into()),
            ("expires", "2099-01-31".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&server, &mara, "/program/join-codes").await;
    assert!(
        html.contains("<code>MEETUP</code>") && html.contains("0 / 30"),
        "{html}"
    );
    assert!(html.contains("/portal/join?code=MEETUP"), "{html}");
    let (status, _) = get(&server, &analyst, "/program/join-codes").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The program's page shows its KPIs (nothing to divide yet: dashes).
    let (_, html) = get(&server, &analyst, "/program").await;
    assert!(
        html.contains("Promoters enrolled") && html.contains(r#"<dd id="enrolled">–</dd>"#),
        "{html}"
    );
}

/// Signing in returns to the page that was asked for, and only to a page
/// of ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_returns_to_the_page_asked_for_and_nowhere_else() {
    let db = vouch_testing::TestDb::sqlite().await;
    db.store
        .add_user(
            "mara@acme.example",
            Role::Manager,
            &vouch_server::hash_password(PASSWORD),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let server = start(db.store.clone()).await;
    let asked = server
        .client
        .get(format!(
            "{}/customers?q=ana&attribute=plan%3Dpro",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let login = asked.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        login,
        "/login?next=%2Fcustomers%3Fq%3Dana%26attribute%3Dplan%253Dpro"
    );
    for (next, lands) in [
        (
            "/customers?q=ana&attribute=plan%3Dpro",
            "/customers?q=ana&attribute=plan%3Dpro",
        ),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ] {
        let form = server
            .client
            .get(format!(
                "{}/login?{}",
                server.base,
                serde_urlencoded::to_string([("next", next)]).unwrap()
            ))
            .send()
            .await
            .unwrap();
        let cookie = super::cookie_pair(&form);
        let html = form.text().await.unwrap();
        let csrf = super::csrf_field(&html);
        let carried = html
            .split("name=\"next\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let signed_in = server
            .client
            .post(format!("{}/login", server.base))
            .header("cookie", cookie)
            .form(&[
                ("email", "mara@acme.example"),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            signed_in.headers()["location"],
            lands,
            "{next} (the form carried {carried})"
        );
    }
    db.cleanup().await;
}

/// The dashboard names its period and the one it compares with, takes
/// 30/90/365 days, the quarter or chosen dates, cuts its trend by week or
/// month, and gives the trend as a table too; a period it does not know
/// is said, with the default shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_period_asked_for_and_names_the_comparison() {
    let db = vouch_testing::TestDb::sqlite().await;
    super::seed(&db.store).await;
    let server = start(db.store.clone()).await;
    let cookie = staff(&server, &db.store, "mara@acme.example", Role::Manager).await;
    let (status, html) = get(&server, &cookie, "/?period=365d").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Last 365 days: ") && html.contains("changes against the previous 365 days"),
        "{html}"
    );
    assert!(
        html.contains("NPS by month")
            && html.contains(r#"id="nps-trend""#)
            && html.contains(r#"id="nps-trend-narrow""#),
        "{html}"
    );
    assert!(html.contains(r#"<table id="trend-table">"#), "{html}");
    assert!(html.contains(r#"<option value="365d" selected>"#), "{html}");
    // Each tile leads to the list behind it, for the same period.
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(364);
    let to = today + chrono::Duration::days(1);
    assert!(
        html.contains(&format!(
            r#"<a href="/feedback?category=promoter&amp;from={from}&#38;to={to}">Promoters</a>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(r#"id="tile-retention""#) && html.contains(r#"id="tile-referral""#),
        "{html}"
    );
    let (_, html) = get(&server, &cookie, "/?period=30d").await;
    assert!(
        html.contains("Last 30 days: ") && html.contains("NPS by week"),
        "{html}"
    );
    let (_, html) = get(&server, &cookie, "/?from=2026-01-01&to=2026-03-31").await;
    assert!(
        html.contains("<b>2026-01-01 – 2026-03-31</b>") && html.contains("previous 90 days"),
        "{html}"
    );
    let (status, html) = get(&server, &cookie, "/?period=7y").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("unknown period") && html.contains("Last 90 days: "),
        "{html}"
    );
    db.cleanup().await;
}

/// The inbox filters in the URL (category here; the store's filters are
/// the API's), pages by cursor, escapes customer text and says when a
/// filter is not understood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_filters_in_the_url_and_pages_by_cursor() {
    let db = vouch_testing::TestDb::sqlite().await;
    let store = &db.store;
    let survey = store
        .ensure_survey(
            vouch_domain::SurveyKind::Nps,
            "Relationship",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let customer = store
        .insert_customers(&[person("Ana Popescu", "ana@example.ro", "pro")])
        .await
        .unwrap()[0];
    let now = chrono::Utc::now();
    let answers: Vec<vouch_domain::Answer> = (0..66)
        .map(|i| vouch_domain::Answer {
            survey_id: survey.id,
            customer_id: (i == 0).then_some(customer),
            score: vouch_domain::Score::nps(i % 11).unwrap(),
            comment: Some(format!("<b>comment {i}</b>")),
            channel: vouch_domain::Channel::Api,
            locale: None,
            answered_at: now - chrono::Duration::hours(i),
            metadata: Default::default(),
        })
        .collect();
    store.insert_answers(&answers).await.unwrap();
    let server = start(store.clone()).await;
    let cookie = staff(&server, store, "mara@acme.example", Role::Agent).await;
    let (status, html) = get(&server, &cookie, "/feedback").await;
    assert_eq!(status, StatusCode::OK);
    let rows = |html: &str| html.matches("</tr>").count() - 1;
    assert_eq!(rows(&html), 50);
    assert!(
        html.contains("&#60;b&#62;comment 0&#60;/b&#62;"),
        "escaped: {html}"
    );
    assert!(
        html.contains(&format!("<a href=\"/customers/{}\">", customer.0)),
        "{html}"
    );
    let next = next_page(&html);
    let (_, html) = get(&server, &cookie, &next).await;
    assert_eq!(rows(&html), 16, "{next}");
    // Scores 0–6 of 0..66 are detractors: 6 full rounds of 11 give 42.
    let (_, html) = get(
        &server,
        &cookie,
        "/feedback?source=survey&language=&sentiment=&topic=&category=detractor&from=&to=",
    )
    .await;
    assert_eq!(rows(&html), 42);
    assert!(
        html.contains(r#"<option value="detractor" selected>"#),
        "the form keeps the filter: {html}"
    );
    let (status, html) = get(&server, &cookie, "/feedback?sentiment=furious").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("A filter was not understood: sentiment:"),
        "{html}"
    );
    db.cleanup().await;
}
