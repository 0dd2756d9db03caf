//! The settings pages over HTTP (both backends): staff invitations, roles
//! and deactivation; API tokens shown once and revoked; webhooks with the
//! secret shown once, their deliveries and a redelivery; branding checked
//! as the API checks it; the topic taxonomy previewed then saved; the
//! languages; and nothing of it for non-administrators.

use reqwest::StatusCode;
use vouch_domain::{Feedback, Role, Source};
use vouch_testing::TestDb;

use super::pages::{get, staff};
use super::{csrf_field, start};

vouch_testing::on_both_backends!(
    admins_manage_staff_tokens_webhooks_branding_and_topics_on_the_web,
    the_sources_page_lists_connectors_without_their_credentials
);

/// The value of the read-only field `id` on a page.
fn shown_once(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no {id}: {html}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

async fn admins_manage_staff_tokens_webhooks_branding_and_topics_on_the_web(db: &TestDb) {
    let store = &db.store;
    store
        .upsert_feedback(&[Feedback::new(
            Source::Trustpilot,
            "t1",
            "Factura a venit de două ori",
            chrono::Utc::now(),
        )
        .unwrap()])
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let admin = staff(&server, store, "root@acme.example", Role::Admin).await;
    let manager = staff(&server, store, "lead@acme.example", Role::Manager).await;
    let (status, _) = get(&server, &manager, "/settings/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, html) = get(&server, &admin, "/settings/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("lead@acme.example") && html.contains(">Settings</a>"));
    let csrf = csrf_field(&html);
    let post = |path: &'static str, cookie: &str, fields: Vec<(&str, String)>| {
        let mut all = vec![("csrf".to_owned(), csrf.clone())];
        all.extend(fields.into_iter().map(|(k, v)| (k.to_owned(), v)));
        server
            .client
            .post(format!("{}{path}", server.base))
            .header("cookie", cookie.to_owned())
            .form(&all)
            .send()
    };

    // Staff: an invitation link shown once, a role changed, an account off and on.
    let invited = post(
        "/settings/users",
        &admin,
        vec![
            ("action", "invite".into()),
            ("email", "new@acme.example".into()),
            ("role", "agent".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(invited.status(), StatusCode::OK);
    let link = shown_once(&invited.text().await.unwrap(), "invite-link");
    let path = link
        .split_once("/invite/")
        .map(|(_, t)| format!("/invite/{t}"))
        .unwrap();
    let page = server
        .client
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the link opens the invitation"
    );
    let lead = store
        .user_by_email("lead@acme.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    let changed = post(
        "/settings/users",
        &admin,
        vec![
            ("action", "role".into()),
            ("user", lead.to_string()),
            ("role", "analyst".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(changed.headers()["location"], "/settings/users?done=saved");
    assert_eq!(
        store
            .user_by_email("lead@acme.example")
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Analyst
    );
    let off = post(
        "/settings/users",
        &admin,
        vec![("action", "disable".into()), ("user", lead.to_string())],
    )
    .await
    .unwrap();
    assert_eq!(off.headers()["location"], "/settings/users?done=disabled");
    assert!(
        store
            .user_by_email("lead@acme.example")
            .await
            .unwrap()
            .is_none(),
        "cannot sign in"
    );
    let (status, _) = get(&server, &manager, "/feedback").await;
    assert_ne!(status, StatusCode::OK, "their session ended");
    post(
        "/settings/users",
        &admin,
        vec![("action", "enable".into()), ("user", lead.to_string())],
    )
    .await
    .unwrap();
    assert!(
        store
            .user_by_email("lead@acme.example")
            .await
            .unwrap()
            .is_some()
    );
    let me = store
        .user_by_email("root@acme.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    let own = post(
        "/settings/users",
        &admin,
        vec![("action", "disable".into()), ("user", me.to_string())],
    )
    .await
    .unwrap();
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        own.text()
            .await
            .unwrap()
            .contains("ask another administrator")
    );

    // Tokens: shown once, work, stop when revoked.
    let made = post(
        "/settings/tokens",
        &admin,
        vec![
            ("action", "create".into()),
            ("name", "crm-sync".into()),
            ("role", "analyst".into()),
            ("days", "30".into()),
        ],
    )
    .await
    .unwrap();
    let html = made.text().await.unwrap();
    let token = shown_once(&html, "new-token");
    let call = || {
        server
            .client
            .get(format!("{}/api/v1/feedback", server.base))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(call().await.unwrap().status(), StatusCode::OK);
    let (_, html) = get(&server, &admin, "/settings/tokens").await;
    assert!(
        html.contains("crm-sync") && !html.contains(&token),
        "never shown again"
    );
    let id = store.api_tokens().await.unwrap()[0].id;
    let revoked = post(
        "/settings/tokens",
        &admin,
        vec![("action", "revoke".into()), ("token", id.to_string())],
    )
    .await
    .unwrap();
    assert_eq!(
        revoked.headers()["location"],
        "/settings/tokens?done=revoked"
    );
    assert_eq!(call().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let bad = post(
        "/settings/tokens",
        &admin,
        vec![
            ("action", "create".into()),
            ("name", "".into()),
            ("role", "analyst".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Webhooks: the secret once; a failed delivery is logged and sent again on request.
    let none = post(
        "/settings/webhooks",
        &admin,
        vec![
            ("action", "create".into()),
            ("url", "https://crm.example/hook".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(none.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ftp = post(
        "/settings/webhooks",
        &admin,
        vec![
            ("action", "create".into()),
            ("url", "ftp://crm.example/hook".into()),
            ("events", "customer.created".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ftp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let made = post(
        "/settings/webhooks",
        &admin,
        vec![
            ("action", "create".into()),
            ("url", format!("http://{closed}/hook")),
            ("events", "customer.created".into()),
            ("events", "feedback.triaged".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(made.status(), StatusCode::OK);
    assert!(shown_once(&made.text().await.unwrap(), "new-secret").starts_with("whsec_"));
    let hook = store.webhooks().await.unwrap()[0].clone();
    assert_eq!(hook.events.len(), 2);
    store
        .insert_customers(&[super::pages::person("Ana", "ana@example.ro", "pro")])
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let delivery = loop {
        if let Some(d) = store
            .deliveries(hook.id, 10)
            .await
            .unwrap()
            .into_iter()
            .next()
        {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no delivery attempt");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let (_, html) = get(&server, &admin, "/settings/webhooks").await;
    assert!(
        html.contains(&delivery.event),
        "the attempt is listed: {html}"
    );
    let again = post(
        "/settings/webhooks",
        &admin,
        vec![
            ("action", "redeliver".into()),
            ("webhook", hook.id.to_string()),
            ("job", delivery.job_id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        again.headers()["location"],
        "/settings/webhooks?done=redelivered"
    );
    let unknown = post(
        "/settings/webhooks",
        &admin,
        vec![
            ("action", "redeliver".into()),
            ("webhook", hook.id.to_string()),
            ("job", "999999".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let deleted = post(
        "/settings/webhooks",
        &admin,
        vec![
            ("action", "delete".into()),
            ("webhook", hook.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        deleted.headers()["location"],
        "/settings/webhooks?done=deleted"
    );
    assert!(store.webhooks().await.unwrap().is_empty());

    // Branding: refused as the API refuses it, keeping what was typed.
    let bad = post(
        "/settings/branding",
        &admin,
        vec![
            ("company_name", "Acme <b>".into()),
            ("colour", "red".into()),
            ("logo_url", "".into()),
            ("postal_address", "".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("#RRGGBB") && html.contains("value=\"Acme &#60;b&#62;\""),
        "{html}"
    );
    let good = post(
        "/settings/branding",
        &admin,
        vec![
            ("company_name", "Acme".into()),
            ("colour", "#0f766e".into()),
            ("logo_url", "".into()),
            ("postal_address", "Str. Exemplu 1, Brașov".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(good.headers()["location"], "/settings/branding?done=saved");
    let brand = vouch_app::surveys::branding(store).await.unwrap();
    assert_eq!(
        (brand.company_name.as_str(), brand.colour.as_str()),
        ("Acme", "#0f766e")
    );

    // Topics: a broken definition is refused; a preview saves nothing; saving keeps it.
    let (_, html) = get(&server, &admin, "/settings/topics").await;
    assert!(html.contains("[[topic]]") && html.contains("price"));
    let broken = post(
        "/settings/topics",
        &admin,
        vec![
            ("action", "preview".into()),
            ("definition", "[[topic]\nname =".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let definition = "[[topic]]\nname = \"invoices\"\nen = [\"invoice\"]\nro = [\"factura\"]\n";
    let preview = post(
        "/settings/topics",
        &admin,
        vec![
            ("action", "preview".into()),
            ("definition", definition.into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let html = preview.text().await.unwrap();
    assert!(
        html.contains("<td>invoices</td>"),
        "the item's topic: {html}"
    );
    assert!(
        store.taxonomy().await.unwrap().is_none(),
        "a preview saves nothing"
    );
    let saved = post(
        "/settings/topics",
        &admin,
        vec![("action", "save".into()), ("definition", definition.into())],
    )
    .await
    .unwrap();
    assert_eq!(saved.headers()["location"], "/settings/topics?done=saved");
    assert_eq!(store.taxonomy().await.unwrap().as_deref(), Some(definition));

    let (status, html) = get(&server, &admin, "/settings/languages").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<th scope=\"row\">ro</th>"));
}

/// In Chromium, on demo data: the dashboard's period changed from its
/// form, a profile opened from the customer list by keyboard (j, Enter),
/// a survey sent from its send page, and a taxonomy previewed on the
/// newest feedback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_changes_the_period_opens_a_profile_sends_a_survey_and_previews_topics() {
    use fantoccini::Locator;
    let Some(browser) = super::Browser::start().await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 200,
        months: 6,
        seed: 3,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    store
        .add_user(
            "root@acme.example",
            Role::Admin,
            &vouch_server::hash_password("browser password 1"),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let survey = store.survey_designs().await.unwrap()[0].survey.id.0;
    let server = start(store.clone()).await;
    let page = &browser.client;
    let wait = std::time::Duration::from_secs(20);
    let outcome = async {
        browser
            .sign_in(&server.base, "/", "root@acme.example", "browser password 1")
            .await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Id("period-form"))
            .await?;
        page.find(Locator::Id("period"))
            .await?
            .select_by_value("30d")
            .await?;
        page.find(Locator::Css("#period-form button[type=submit]"))
            .await?
            .click()
            .await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Css("#period option[value='30d'][selected]"))
            .await?;
        let named = page.find(Locator::Id("period-name")).await?.text().await?;
        assert!(named.starts_with("Last 30 days"), "{named}");

        page.goto(&format!("{}/customers", server.base)).await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Css("#customers tbody tr"))
            .await?;
        page.active_element().await?.send_keys("j").await?;
        page.active_element().await?.send_keys("\u{E007}").await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Id("timeline-title"))
            .await?;
        assert!(page.current_url().await?.path().starts_with("/customers/"));

        page.goto(&format!("{}/surveys/{survey}/send", server.base))
            .await?;
        page.find(Locator::Id("a-everyone")).await?.click().await?;
        page.find(Locator::Css("form[enctype] button[type=submit]"))
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
        assert!(notice.starts_with("Invitations queued:"), "{notice}");

        page.goto(&format!("{}/settings/topics", server.base))
            .await?;
        let area = page.find(Locator::Id("definition")).await?;
        area.clear().await?;
        area.send_keys("[[topic]]\nname = \"support\"\nen = [\"support\"]\nro = [\"suport\"]\n")
            .await?;
        page.find(Locator::Css("button[value=preview]"))
            .await?
            .click()
            .await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Id("taxonomy-preview"))
            .await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
    assert!(
        store.taxonomy().await.unwrap().is_none(),
        "previewed, not saved"
    );
    db.cleanup().await;
}

async fn the_sources_page_lists_connectors_without_their_credentials(db: &TestDb) {
    let store = &db.store;
    let server = start(store.clone()).await;
    let admin = staff(&server, store, "root@acme.example", Role::Admin).await;
    let (status, html) = get(&server, &admin, "/settings/sources").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("vouch sources add"),
        "the empty state teaches"
    );
    store
        .add_source(
            &vouch_store::NewSource {
                name: "Trustpilot <main>".into(),
                kind: "trustpilot".into(),
                base_url: "https://api.trustpilot.com".into(),
                account: "bu-1".into(),
                credentials: "tp-secret-key".into(),
                every_minutes: 60,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (_, html) = get(&server, &admin, "/settings/sources").await;
    assert!(
        html.contains("Trustpilot &#60;main&#62;") || html.contains("Trustpilot &lt;main&gt;"),
        "escaped: {html}"
    );
    assert!(!html.contains("tp-secret-key"));

    // Added from the page: refused with the reason and the form kept
    // (never the credentials), then added, synced on request, removed.
    let csrf = csrf_field(&html);
    let post = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let all: Vec<(String, String)> = all
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        server
            .client
            .post(format!("{}/settings/sources", server.base))
            .header("cookie", admin.clone())
            .form(&all)
            .send()
    };
    let add = |account: &'static str, credentials: &'static str| {
        vec![
            ("action", "add"),
            ("name", "Play <app>"),
            ("kind", "google-play"),
            ("account", account),
            ("credentials", credentials),
            ("base_url", ""),
            ("every", "30"),
        ]
    };
    let refused = post(&add("com.example.app", "not-json-secret"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("The connector was not added:") && html.contains("authorized_user"),
        "{html}"
    );
    assert!(
        html.contains("value=\"com.example.app\""),
        "the form is kept"
    );
    assert!(
        !html.contains("not-json-secret"),
        "credentials are never sent back"
    );
    let bad_account = post(&add(
        "../../v1",
        r#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#,
    ))
    .await
    .unwrap();
    assert_eq!(bad_account.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_account.text().await.unwrap().contains("package name"));
    let added = post(&add("com.example.app", r#"{"type":"authorized_user","client_id":"c","client_secret":"play-secret","refresh_token":"r"}"#)).await.unwrap();
    assert_eq!(
        added.status(),
        StatusCode::SEE_OTHER,
        "redirected to the list"
    );
    let after = |response: reqwest::Response| {
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let server = &server;
        let admin = &admin;
        async move { get(server, admin, &location).await.1 }
    };
    let html = after(added).await;
    assert!(html.contains("Connector added."), "{html}");
    assert!(html.contains("com.example.app") && !html.contains("play-secret"));
    let added = store.source("Play <app>").await.unwrap().unwrap();
    assert_eq!(
        (
            added.kind.as_str(),
            added.base_url.as_str(),
            added.every_minutes
        ),
        ("google-play", "https://androidpublisher.googleapis.com", 30)
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    store
        .finish_source_sync(added.id, chrono::Utc::now(), later, None)
        .await
        .unwrap();
    let queued = post(&[("action", "sync"), ("name", "Play <app>")])
        .await
        .unwrap();
    assert!(after(queued).await.contains("Sync queued"));
    let due = store.due_sources(chrono::Utc::now()).await.unwrap();
    assert!(due.iter().any(|s| s.name == "Play <app>"), "due now");
    let removed = post(&[("action", "remove"), ("name", "Play <app>")])
        .await
        .unwrap();
    assert!(after(removed).await.contains("Connector removed."));
    assert!(store.source("Play <app>").await.unwrap().is_none());
    let missing = post(&[("action", "remove"), ("name", "Play <app>")])
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let manager = staff(&server, store, "lead@acme.example", Role::Manager).await;
    let (status, _) = get(&server, &manager, "/settings/sources").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The refusal is a page in the reader's language.
    let page = server
        .client
        .get(format!("{}/settings/sources", server.base))
        .header("cookie", manager.clone())
        .header("accept-language", "ro-RO,ro;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("lang=\"ro\""), "{html}");
}
