//! Inputs and faults that once stalled, wedged or crashed the server:
//! control characters, oversized texts, a full or read-only disk.

use reqwest::{Method, StatusCode};
use serde_json::json;
use vouch_domain::Role;
use vouch_store::Store;

use super::{json_of, login_form, start, start_state, token};

/// A survey with a public link, created through the API; its slug.
async fn link_survey(server: &super::Running, admin: &str) -> String {
    let (status, survey) = json_of(
        server
            .client
            .post(format!("{}/api/v1/surveys", server.base))
            .bearer_auth(admin)
            .json(&json!({"kind": "nps", "name": "Edge cases"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{survey}");
    survey["slug"].as_str().unwrap().to_owned()
}

pub async fn control_characters_and_oversized_texts_stop_at_the_edge(db: &vouch_testing::TestDb) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    let admin = token(&store, Role::Admin).await;
    let api = |method: Method, path: &str| {
        server
            .client
            .request(method, format!("{}/api/v1{path}", server.base))
            .bearer_auth(&admin)
    };
    // NUL in a JSON string: 422 naming the field, on both backends (it was
    // a 500 on PostgreSQL).
    let (status, body) = json_of(
        api(Method::POST, "/feedback")
            .json(&json!({"source": "trustpilot", "items": [
                {"id": "n-1", "text": "fine\u{0}then", "date": "2026-11-01"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "items[0].text", "{body}");
    let (status, body) = json_of(
        api(Method::POST, "/customers")
            .json(&json!({"email": "nul@example.com", "name": "Ana\u{0}"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "name", "{body}");
    // In a URL: 400, JSON under /api/, a page elsewhere.
    let (status, body) = json_of(api(Method::GET, "/feedback?q=a%00b").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    let page = server
        .client
        .get(format!("{}/l/a%00b", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // A customer's comment on the public page keeps its words, not the NUL.
    let slug = link_survey(&server, &admin).await;
    let answer = server
        .client
        .post(format!("{}/l/{slug}", server.base))
        .form(&[("score", "9"), ("comment", "quick\u{0} and kind\u{7}")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let (_, responses) = json_of(api(Method::GET, "/responses").send().await.unwrap()).await;
    assert_eq!(responses["responses"][0]["comment"], "quick and kind");
    // Over the length limit: refused with the limit named; nothing stored.
    let long = "a".repeat(vouch_domain::text::MAX_TEXT_CHARS + 1);
    let (status, body) = json_of(
        api(Method::POST, "/feedback")
            .json(&json!({"source": "trustpilot", "items": [
                {"id": "l-1", "text": long, "date": "2026-11-01"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("20000"),
        "{body}"
    );
    let (_, feedback) = json_of(api(Method::GET, "/feedback").send().await.unwrap()).await;
    assert!(
        !feedback.to_string().contains("\"l-1\""),
        "nothing of the refused push is stored: {feedback}"
    );
    // A text at the limit is taken, one long word included.
    let at_limit = "a".repeat(vouch_domain::text::MAX_TEXT_CHARS);
    let (status, body) = json_of(
        api(Method::POST, "/feedback")
            .json(&json!({"source": "trustpilot", "items": [
                {"id": "l-2", "text": at_limit, "date": "2026-11-01"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    // Empty optional query parameters count as absent.
    let (status, body) = json_of(
        api(Method::GET, "/customers?after=&limit=")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A small tmpfs for a database, or `None` (printed) where this process
/// may not mount one.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            if std::env::var_os("VOUCH_TEST_REQUIRE_TMPFS").is_some() {
                panic!("VOUCH_TEST_REQUIRE_TMPFS is set but a tmpfs cannot be mounted");
            }
            eprintln!("skipped: mounting a tmpfs needs root (the full-disk test)");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills what is left with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_with_503_and_they_work_again_without_a_restart() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("v.db").display());
    let store = Store::open(&url).await.unwrap();
    let server = start(store.clone()).await;
    let admin = token(&store, Role::Admin).await;
    let push = |i: usize| {
        // Small enough to sit in the socket buffer: a refusal before the body
        // is read (the audit log cannot be written) is still a 503, not a broken pipe.
        let items: Vec<_> = (0..100)
            .map(|k| json!({"id": format!("d-{i}-{k}"), "text": format!("Review {i} {k} {}", "words ".repeat(40)), "date": "2026-11-01"}))
            .collect();
        server
            .client
            .post(format!("{}/api/v1/feedback", server.base))
            .bearer_auth(&admin)
            .json(&json!({"source": "trustpilot", "items": items}))
            .send()
    };
    let ready = || async {
        server
            .client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert!(push(0).await.unwrap().status().is_success());
    assert_eq!(ready().await, StatusCode::OK);
    let slug = link_survey(&server, &admin).await;

    let filler = disk.fill();
    let mut refused = 0;
    for i in 1..=5 {
        let response = push(i).await.unwrap();
        let status = response.status();
        let (_, body) = json_of(response).await;
        assert!(
            status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE,
            "a full disk is a 503, not a {status}: {body}"
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(body["error"]["code"], "unavailable", "{body}");
            refused += 1;
        }
    }
    assert!(refused > 0, "the disk filled up");
    assert_eq!(
        ready().await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready on a full disk"
    );
    // A page that cannot write answers with a page, in the reader's language.
    let page = server
        .client
        .post(format!("{}/l/{slug}", server.base))
        .header("accept-language", "ro-RO,ro;q=0.9")
        .form(&[("score", "9"), ("comment", "Foarte bine")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.headers().contains_key("retry-after"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("lang=\"ro\"") && html.contains("Baza de date nu poate primi"),
        "{html}"
    );

    // Space returns: writes succeed again with the same process and pool.
    std::fs::remove_file(filler).unwrap();
    for i in 10..14 {
        let (status, body) = json_of(push(i).await.unwrap()).await;
        assert!(status.is_success(), "after space returned: {status} {body}");
    }
    assert_eq!(ready().await, StatusCode::OK);

    let (_, stored) = json_of(
        server
            .client
            .get(format!("{}/api/v1/feedback?limit=1", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        stored["feedback"].as_array().is_some_and(|i| i.len() == 1),
        "{stored}"
    );
    drop(server);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_not_ready_and_refuses_writes_with_503() {
    let Some(schema) = vouch_testing::PostgresSchema::create().await else {
        return;
    };
    Store::open(&schema.url).await.unwrap().close().await;
    // The same database, every transaction read-only (as on a standby).
    let read_only = format!("{}%20-c%20default_transaction_read_only%3Don", schema.url);
    let store = Store::connect(&read_only).await.unwrap();
    let server = start(store.clone()).await;
    let ready = server
        .client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.text().await.unwrap().contains("read-only"));
    let writable = Store::open(&schema.url).await.unwrap();
    let admin = token(&writable, Role::Admin).await;
    let (status, body) = json_of(
        server
            .client
            .post(format!("{}/api/v1/feedback", server.base))
            .bearer_auth(&admin)
            .json(&json!({"source": "trustpilot", "items": [{"id": "r-1", "text": "ok", "date": "2026-11-01"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    store.close().await;
    writable.close().await;
    schema.drop_schema().await;
}

/// A server that believes forwarding headers from loopback, as one behind
/// a TLS proxy on the same host would.
async fn behind_a_proxy(store: &Store) -> super::Running {
    let state = vouch_server::AppState::new(store.clone())
        .with_trusted_proxies(vec!["127.0.0.1".parse().unwrap()]);
    start_state(state, vouch_domain::ContactPolicy::default(), None).await
}

/// Posts the sign-in form as the client at `address` (forwarded by the
/// proxy); the status.
async fn try_sign_in(
    server: &super::Running,
    address: &str,
    email: &str,
    password: &str,
) -> StatusCode {
    let (cookie, csrf) = login_form(&server.base, &server.client).await;
    server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", cookie)
        .header("x-forwarded-for", address)
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
        .status()
}

pub async fn sign_in_limits_count_per_client_and_account_across_instances(
    db: &vouch_testing::TestDb,
) {
    let store = db.store.clone();
    let hash = vouch_server::hash_password("correct horse battery");
    store
        .add_user("ana@acme.example", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    // Two instances on one database: their limits are one, not two.
    let (one, two) = (behind_a_proxy(&store).await, behind_a_proxy(&store).await);
    let attacker = "198.51.100.7";
    for server in [&one, &two, &one, &two, &one] {
        assert_eq!(
            try_sign_in(server, attacker, "ana@acme.example", "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    for server in [&one, &two] {
        assert_eq!(
            try_sign_in(
                server,
                attacker,
                "ana@acme.example",
                "correct horse battery"
            )
            .await,
            StatusCode::TOO_MANY_REQUESTS,
            "five failures from one client lock that client out, on every instance"
        );
    }
    // The owner, from another address behind the same proxy, gets in.
    assert_eq!(
        try_sign_in(
            &two,
            "203.0.113.9",
            "ana@acme.example",
            "correct horse battery"
        )
        .await,
        StatusCode::SEE_OTHER
    );
    // Under attack from many addresses, each new one still has its first try.
    for i in 0..vouch_app::limits::SIGN_IN_ACCOUNT_ALARM {
        let address = format!("192.0.2.{}", i + 1);
        try_sign_in(&one, &address, "ana@acme.example", "wrong").await;
    }
    assert_eq!(
        try_sign_in(&one, "192.0.2.1", "ana@acme.example", "wrong").await,
        StatusCode::TOO_MANY_REQUESTS,
        "an address that failed gets no second guess while the account is under attack"
    );
    assert_eq!(
        try_sign_in(
            &two,
            "203.0.113.200",
            "ana@acme.example",
            "correct horse battery"
        )
        .await,
        StatusCode::SEE_OTHER,
        "the correct password from a new address still opens the account"
    );
    // Without trusted proxies, a forged header changes nothing: every try
    // counts against the peer's own address.
    let direct = start(store.clone()).await;
    for i in 0..5 {
        let forged = format!("10.9.9.{i}");
        try_sign_in(&direct, &forged, "bo@acme.example", "wrong").await;
    }
    assert_eq!(
        try_sign_in(&direct, "10.9.9.77", "bo@acme.example", "wrong").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

pub async fn login_csrf_needs_our_own_page(db: &vouch_testing::TestDb) {
    let store = db.store.clone();
    let hash = vouch_server::hash_password("correct horse battery");
    store
        .add_user("ana@acme.example", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let server = start(store.clone()).await;
    // A cookie and field pair of the attacker's choosing, posted from their site.
    let post = |site: Option<(&'static str, &'static str)>| {
        let mut request = server
            .client
            .post(format!("{}/login", server.base))
            .header("cookie", "vouch_login_csrf=chosen")
            .form(&[
                ("email", "ana@acme.example"),
                ("password", "correct horse battery"),
                ("csrf", "chosen"),
            ]);
        if let Some((name, value)) = site {
            request = request.header(name, value);
        }
        request.send()
    };
    for site in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://attacker.example"),
    ] {
        let refused = post(Some(site)).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{site:?}");
        assert!(refused.headers().get("set-cookie").is_none());
        assert!(refused.text().await.unwrap().contains("another site"));
    }
    // The form's own token, from our own page, works.
    let (cookie, csrf) = login_form(&server.base, &server.client).await;
    let signed_in = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("email", "ana@acme.example"),
            ("password", "correct horse battery"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
}

pub async fn every_response_carries_the_security_headers(db: &vouch_testing::TestDb) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    for (method, path, _) in vouch_server::ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = server
            .client
            .request(method.clone(), format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .body(if method == Method::GET { "" } else { "{}" })
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{method} {path}: {csp:?}");
        }
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        let customer_page = ["/s/", "/l/", "/u/", "/portal"]
            .iter()
            .any(|p| path.starts_with(p));
        assert_eq!(
            header("referrer-policy"),
            if customer_page {
                "no-referrer"
            } else {
                "strict-origin-when-cross-origin"
            },
            "{path}"
        );
        let public_asset = path.starts_with("/assets/") || *path == "/widget.js";
        if !public_asset {
            assert_eq!(header("cache-control"), "no-store", "{path}");
        }
        assert!(
            header("strict-transport-security").is_empty(),
            "no HSTS over http"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_are_host_prefixed_and_secure_and_hsts_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    let web = vouch_server::WebSettings {
        https: true,
        embed_origins: vec!["https://www.acme.example".to_owned()],
        ..Default::default()
    };
    let state = vouch_server::AppState::new(store.clone()).with_web(web);
    let server = start_state(state, vouch_domain::ContactPolicy::default(), None).await;
    let form = server
        .client
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-vouch_login_csrf="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("; Path=/;"),
        "{cookie}"
    );
    assert!(
        form.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let link = server
        .client
        .get(format!("{}/l/some-survey", server.base))
        .send()
        .await
        .unwrap();
    let csp = link.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors https://www.acme.example"),
        "{csp}"
    );
}

pub async fn sessions_idle_out_and_end_when_an_account_changes(db: &vouch_testing::TestDb) {
    let store = db.store.clone();
    use chrono::{Duration, Utc};
    let hash = vouch_server::hash_password("correct horse battery");
    let user = store
        .add_user("ana@acme.example", Role::Manager, &hash, Utc::now())
        .await
        .unwrap();
    let now = Utc::now();
    let idle_limit = Duration::minutes(vouch_server::SESSION_IDLE_MINUTES);
    let open =
        |token: &'static str, created: chrono::DateTime<Utc>, expires: chrono::DateTime<Utc>| {
            let store = store.clone();
            async move {
                store
                    .create_session(token, user, "c", created, expires)
                    .await
                    .unwrap()
            }
        };
    let alive = |token: &'static str, at: chrono::DateTime<Utc>| {
        let store = store.clone();
        async move {
            store
                .session(token, at, at - idle_limit)
                .await
                .unwrap()
                .is_some()
        }
    };
    // Idle for longer than the limit: over, though not yet expired.
    open("idle", now - Duration::hours(1), now + Duration::hours(11)).await;
    assert!(!alive("idle", now).await);
    // In use: alive, and each use moves its idle deadline.
    open(
        "used",
        now - Duration::minutes(20),
        now + Duration::hours(11),
    )
    .await;
    assert!(alive("used", now).await);
    assert!(
        alive("used", now + Duration::minutes(25)).await,
        "used 25 minutes ago, so not idle"
    );
    // Past its absolute lifetime: over however it is used.
    open("old", now - Duration::hours(13), now - Duration::hours(1)).await;
    assert!(!alive("old", now).await);

    // Through the server: a role change, a new password and disabling
    // each end the sessions; a disabled account cannot sign in.
    let server = start(store.clone()).await;
    let dashboard = |cookie: String| {
        let request = server
            .client
            .get(format!("{}/", server.base))
            .header("cookie", cookie);
        async move { request.send().await.unwrap().status() }
    };
    for change in [
        vouch_store::UserChange {
            role: Some(Role::Viewer),
            ..Default::default()
        },
        vouch_store::UserChange {
            password_hash: Some(hash.clone()),
            ..Default::default()
        },
        vouch_store::UserChange {
            disabled_at: Some(Some(Utc::now())),
            ..Default::default()
        },
    ] {
        store
            .change_user(
                user,
                &vouch_store::UserChange {
                    disabled_at: Some(None),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let cookie = super::sign_in(&server, "ana@acme.example", "correct horse battery").await;
        assert_eq!(dashboard(cookie.clone()).await, StatusCode::OK);
        assert!(store.change_user(user, &change).await.unwrap());
        assert_eq!(
            dashboard(cookie).await,
            StatusCode::SEE_OTHER,
            "{change:?} ends the session"
        );
    }
    assert_eq!(
        try_sign_in(
            &server,
            "127.0.0.1",
            "ana@acme.example",
            "correct horse battery"
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "a disabled account cannot sign in"
    );

    // Tokens: an expired one is refused; a used one says when; a revoked one stops.
    let (expired, expired_hash) = vouch_server::new_api_token();
    store
        .add_expiring_api_token(
            "old",
            Role::Admin,
            &expired_hash,
            now,
            Some(now - Duration::seconds(1)),
        )
        .await
        .unwrap();
    let (fresh, fresh_hash) = vouch_server::new_api_token();
    let id = store
        .add_expiring_api_token(
            "crm",
            Role::Admin,
            &fresh_hash,
            now,
            Some(now + Duration::days(30)),
        )
        .await
        .unwrap();
    let call = |token: String| {
        let request = server
            .client
            .get(format!("{}/api/v1/customers", server.base))
            // The scheme is case-insensitive.
            .header("authorization", format!("bearer {token}"));
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(call(expired).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(fresh.clone()).await, StatusCode::OK);
    let listed = store.api_tokens().await.unwrap();
    let crm = listed.iter().find(|t| t.id == id).unwrap();
    assert!(crm.last_used_at.is_some() && crm.expires_at.is_some());
    assert!(store.revoke_api_token(id, Utc::now()).await.unwrap());
    assert_eq!(call(fresh).await, StatusCode::UNAUTHORIZED);
}

pub async fn every_error_has_the_documented_shape_and_status(db: &vouch_testing::TestDb) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    let admin = token(&store, Role::Admin).await;
    for (method, path, status) in [
        (
            Method::GET,
            "/api/v1/customers/not-a-number",
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "/api/v1/no-such-thing", StatusCode::NOT_FOUND),
        (
            Method::PUT,
            "/api/v1/customers",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::GET,
            "/api/v1/customers?limit=lots",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = server
            .client
            .request(method.clone(), format!("{}{path}", server.base))
            .header("authorization", format!("BEARER {admin}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {path}"
        );
        let (_, body) = json_of(response).await;
        assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
    }
    // A wrong content type and a malformed body: JSON errors too.
    for (content_type, body, status) in [
        ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", "{not json", StatusCode::BAD_REQUEST),
        (
            "application/json",
            "{\"email\": 5}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, error) = json_of(
            server
                .client
                .post(format!("{}/api/v1/customers", server.base))
                .bearer_auth(&admin)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(got, status, "{content_type} {body}: {error}");
        assert!(error["error"]["message"].is_string(), "{error}");
    }
    // Pages: an HTML page in the visitor's language.
    let page = server
        .client
        .get(format!("{}/no-such-page", server.base))
        .header("accept-language", "ro")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Această pagină nu există")
    );
    // The document lists these statuses on every operation, each with a schema.
    let document = vouch_server::openapi();
    let json = serde_json::to_value(&document).unwrap();
    for (path, item) in json["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "401", "403", "429", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
            if matches!(method.as_str(), "post" | "put" | "patch") {
                for status in ["413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
}

pub async fn staff_actions_land_in_the_audit_log_for_admins(db: &vouch_testing::TestDb) {
    let store = db.store.clone();
    let hash = vouch_server::hash_password("correct horse battery");
    store
        .add_user("ana@acme.example", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let server = start(store.clone()).await;
    assert_eq!(
        try_sign_in(&server, "127.0.0.1", "ana@acme.example", "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    super::sign_in(&server, "ana@acme.example", "correct horse battery").await;
    let admin = token(&store, Role::Admin).await;
    let (status, customer) = json_of(
        server
            .client
            .post(format!("{}/api/v1/customers", server.base))
            .bearer_auth(&admin)
            .json(&json!({"email": "bo@example.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    let id = customer["id"].as_i64().unwrap();
    server
        .client
        .get(format!("{}/api/v1/customers/{id}/export", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let (status, log) = json_of(
        server
            .client
            .get(format!("{}/api/v1/audit", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (actor, action) in [
        ("ana@acme.example", "sign_in_failed"),
        ("ana@acme.example", "sign_in"),
        ("admin (token ", "POST /api/v1/customers"),
        (
            "admin (token ",
            &format!("GET /api/v1/customers/{id}/export"),
        ),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, b)| a.starts_with(actor) && b == action),
            "{actor} {action} not in {actions:?}"
        );
    }
    let manager = token(&store, Role::Manager).await;
    let refused = server
        .client
        .get(format!("{}/api/v1/audit", server.base))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "admins only");
}

pub async fn erasure_scrubs_quotes_drops_queued_payloads_and_stays_erased(
    db: &vouch_testing::TestDb,
) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    let admin = token(&store, Role::Admin).await;
    let api = |method: Method, path: &str| {
        server
            .client
            .request(method, format!("{}/api/v1{path}", server.base))
            .bearer_auth(&admin)
    };
    let (_, ana) = json_of(
        api(Method::POST, "/customers")
            .json(
                &json!({"email": "ana.popescu@example.com", "name": "Ana Popescu",
                          "external_id": "CRM-77", "handles": {"twitter": "ana_p"}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = ana["id"].as_i64().unwrap();
    // A webhook whose receiver is down, so deliveries stay queued.
    let (status, _) = json_of(
        api(Method::POST, "/webhooks")
            .json(&json!({"url": "http://127.0.0.1:9/down", "events": ["feedback.created"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let review = json!({"source": "trustpilot", "items": [
        {"id": "own", "text": "Great shop, says Ana Popescu", "email": "ana.popescu@example.com", "author": "Ana Popescu", "date": "2026-11-01"},
        {"id": "other", "text": "My friend @ana_p (ana.popescu@example.com) sent me here", "author": "Bo", "date": "2026-11-02"}
    ]});
    let (status, pushed) = json_of(
        api(Method::POST, "/feedback")
            .json(&review)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{pushed}");
    let events_about_ana = |events: Vec<vouch_store::StoredEvent>| {
        events
            .iter()
            .filter(|e| {
                (e.customer_id == Some(vouch_domain::CustomerId(id))
                    && e.kind != vouch_domain::EventKind::CustomerErased)
                    || e.data.to_string().contains("Ana Popescu")
            })
            .count()
    };
    assert!(
        events_about_ana(store.events_after(0, &[], 500).await.unwrap()) > 0,
        "events about her are in the outbox, for the webhook"
    );

    // An erasure key kept readable by an earlier version.
    store
        .set_setting("erasure_key", "TGVnYWN5S2V5")
        .await
        .unwrap();
    let erased = api(Method::DELETE, &format!("/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    // `vouch serve` moves it to a sealed secret setting, the same key
    // (with no key to seal with, PostgreSQL keeps it where it is).
    if store.seals_secrets() {
        assert!(store.seal_readable_secrets().await.unwrap() >= 1);
        assert!(!store.settings().await.unwrap().contains_key("erasure_key"));
        assert_eq!(
            store
                .secret_setting("erasure_key")
                .await
                .unwrap()
                .as_deref(),
            Some("TGVnYWN5S2V5")
        );
        assert!(!db.everything_stored().await.contains("TGVnYWN5S2V5"));
    }
    let (_, feedback) = json_of(api(Method::GET, "/feedback").send().await.unwrap()).await;
    let text = feedback.to_string();
    for gone in ["Ana Popescu", "ana.popescu@example.com", "ana_p"] {
        assert!(!text.contains(gone), "{gone} still in {text}");
    }
    assert!(text.contains("Great shop, says [erased]"), "{text}");
    assert_eq!(
        events_about_ana(store.events_after(0, &[], 500).await.unwrap()),
        0,
        "her events are gone, and no other event quotes her name"
    );
    assert!(
        store
            .jobs(None, 100)
            .await
            .unwrap()
            .iter()
            .all(|j| !j.payload.to_string().contains("Ana")),
        "queued jobs hold ids, never her data"
    );

    // An old file pushed again: the reviews come back anonymous, and no
    // customer is made or linked from her identifiers.
    let (status, again) = json_of(
        api(Method::POST, "/feedback")
            .json(&review)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{again}");
    let own = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source_id"] == "own")
        .unwrap();
    assert!(
        own["author"]["name"].is_null() && own["customer_id"].is_null(),
        "{own}"
    );
    let (_, customers) = json_of(
        api(Method::GET, "/customers?email=ana.popescu@example.com")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        customers["customers"].as_array().map(Vec::len),
        Some(0),
        "{customers}"
    );
}

/// Posts the sign-in form with a second-factor `code`; the status and page.
async fn sign_in_with_code(
    server: &super::Running,
    email: &str,
    password: &str,
    code: &str,
) -> (StatusCode, String) {
    let (cookie, csrf) = login_form(&server.base, &server.client).await;
    let response = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", cookie)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

pub async fn a_second_factor_is_asked_for_once_set_up_and_each_code_works_once(
    db: &vouch_testing::TestDb,
) {
    let store = db.store.clone();
    let hash = vouch_server::hash_password("correct horse battery");
    let ana = store
        .add_user("ana@acme.example", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let bo = store
        .add_user("bo@acme.example", Role::Viewer, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let (uri, recovery) = vouch_app::totp::set_up(&store, ana, "ana@acme.example")
        .await
        .unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Vouch:ana@acme.example?secret="),
        "{uri}"
    );
    assert_eq!(recovery.len(), 10);
    let server = start(store.clone()).await;
    let password = "correct horse battery";
    let (status, page) = sign_in_with_code(&server, "ana@acme.example", password, "").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the password alone is not enough"
    );
    assert!(page.contains("6-digit code"), "{page}");
    let (secret, _) = store.second_factor(ana).await.unwrap().unwrap();
    let now = chrono::Utc::now().timestamp() as u64;
    let code = format!(
        "{:06}",
        vouch_app::totp::hotp(
            &hex::decode(secret).unwrap(),
            now / vouch_app::totp::STEP,
            6
        )
    );
    let (status, _) = sign_in_with_code(&server, "ana@acme.example", password, &code).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a current code signs in");
    let (status, _) = sign_in_with_code(&server, "ana@acme.example", password, &code).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the same code again is refused"
    );
    let (status, _) = sign_in_with_code(&server, "ana@acme.example", password, &recovery[0]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a recovery code signs in");
    let (status, _) = sign_in_with_code(&server, "ana@acme.example", password, &recovery[0]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "once");
    // Without one set up: signs in, unless the company requires a second factor.
    let (status, _) = sign_in_with_code(&server, "bo@acme.example", password, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let strict = vouch_server::AppState::new(store.clone()).with_web(vouch_server::WebSettings {
        require_second_factor: true,
        ..Default::default()
    });
    let strict = start_state(strict, vouch_domain::ContactPolicy::default(), None).await;
    let (status, page) = sign_in_with_code(&strict, "bo@acme.example", password, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("requires a second factor"), "{page}");
    let _ = bo;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_join_through_an_emailed_single_use_link() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = super::surveys::smtp_sink(dir.path()) else {
        return;
    };
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    let server = start(store.clone()).await;
    // What `vouch user invite` does: keep the token's hash, mail the link.
    let token = vouch_server::new_secret();
    let now = chrono::Utc::now();
    store
        .add_staff_invitation(
            &vouch_app::secrets::secret_hash(&token),
            "new.agent@acme.example",
            Role::Agent,
            now,
            now + chrono::Duration::days(3),
        )
        .await
        .unwrap();
    let mailer = vouch_server::Mailer::new(&vouch_server::MailSettings {
        smtp_url: Some(sink.url.clone()),
        from: "Vouch <vouch@acme.example>".to_owned(),
        public_url: server.base.clone(),
    });
    mailer
        .send_staff_invitation("new.agent@acme.example", &token, 3)
        .await
        .unwrap_or_else(|_| panic!("the invitation was not mailed"));
    let mail = super::surveys::wait_for_mails(&sink.maildir, 1)
        .await
        .remove(0);
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/invite/"))
        .unwrap_or_else(|| panic!("no link in {mail}"))
        .to_owned();
    assert!(link.ends_with(&token), "{link}");
    let page = server.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("new.agent@acme.example")
    );
    let choose = |password: &'static str| {
        let request = server.client.post(&link).form(&[("password", password)]);
        async move { request.send().await.unwrap() }
    };
    let weak = choose("password1234").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("most common"));
    assert_eq!(
        choose("a long and rare passphrase").await.status(),
        StatusCode::SEE_OTHER
    );
    let session = super::sign_in(
        &server,
        "new.agent@acme.example",
        "a long and rare passphrase",
    )
    .await;
    assert!(session.contains("vouch_session="));
    // Used once: the link is gone.
    assert_eq!(
        choose("another long passphrase").await.status(),
        StatusCode::GONE
    );
    assert_eq!(
        server.client.get(&link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let users = store.users().await.unwrap();
    assert_eq!(
        users
            .iter()
            .filter(|u| u.email == "new.agent@acme.example")
            .count(),
        1
    );
    assert_eq!(users[0].role, Role::Agent);
}

/// A webhook may not point at loopback, private or metadata addresses
/// (SSRF): refused with 422 and the reason, unless the installation allows
/// private receivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_private_addresses_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    let admin = token(&store, Role::Admin).await;
    let strict = vouch_server::AppState::new(store.clone());
    let server = start_state(strict, vouch_domain::ContactPolicy::default(), None).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
    ] {
        let (status, body) = json_of(
            server
                .client
                .post(format!("{}/api/v1/webhooks", server.base))
                .bearer_auth(&admin)
                .json(&json!({"url": url, "events": ["response.created"]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["error"]["field"], "url");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("webhook_allow_private"), "{message}");
    }
    assert!(store.webhooks().await.unwrap().is_empty());
    store.close().await;
}
