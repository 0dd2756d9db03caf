//! The real server on a loopback port, against SQLite and PostgreSQL:
//! every route's access rules, signing in, the dashboard, the API with a token.

#[path = "server/surveys.rs"]
mod surveys;

#[path = "server/hardening.rs"]
mod hardening;

#[path = "server/playbooks.rs"]
mod playbooks;

#[path = "server/program.rs"]
mod program;

#[path = "server/pages.rs"]
mod pages;

#[path = "server/inbox.rs"]
mod inbox;

#[path = "server/settings.rs"]
mod settings;

#[path = "server/snapshots.rs"]
mod snapshots;

#[path = "server/goals.rs"]
mod goals;
use hardening::{
    a_second_factor_is_asked_for_once_set_up_and_each_code_works_once,
    control_characters_and_oversized_texts_stop_at_the_edge,
    erasure_scrubs_quotes_drops_queued_payloads_and_stays_erased,
    every_error_has_the_documented_shape_and_status, every_response_carries_the_security_headers,
    login_csrf_needs_our_own_page, sessions_idle_out_and_end_when_an_account_changes,
    sign_in_limits_count_per_client_and_account_across_instances,
    staff_actions_land_in_the_audit_log_for_admins,
};

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use vouch_domain::{Role, Survey};
use vouch_store::Store;

struct Running {
    base: String,
    client: reqwest::Client,
}

async fn start(store: Store) -> Running {
    start_with(store, vouch_domain::ContactPolicy::default(), None).await
}

/// The server on a free port, its workers polling often and retrying soon;
/// survey emails go to `smtp_url`, with links back to this server.
async fn start_with(
    store: Store,
    policy: vouch_domain::ContactPolicy,
    smtp_url: Option<String>,
) -> Running {
    let web = vouch_server::WebSettings {
        allow_private_webhooks: true,
        ..Default::default()
    };
    start_state(
        vouch_server::AppState::new(store)
            .with_policy(policy)
            .with_web(web),
        policy,
        smtp_url,
    )
    .await
}

/// `start_with` for a state of the test's making.
async fn start_state(
    state: vouch_server::AppState,
    policy: vouch_domain::ContactPolicy,
    smtp_url: Option<String>,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let jobs = vouch_server::JobSettings {
        poll: std::time::Duration::from_millis(20),
        backoff_base: std::time::Duration::from_millis(50),
        mail: vouch_server::MailSettings {
            smtp_url,
            from: "Acme <surveys@acme.example>".to_owned(),
            public_url: base.clone(),
        },
        policy,
        // The tests' receivers listen on loopback.
        webhook_allow_private: true,
        playbooks: state.playbooks.clone(),
        ..vouch_server::JobSettings::default()
    };
    tokio::spawn(async move {
        vouch_server::serve(listener, state, jobs, "test", std::future::pending()).await
    });
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    Running { base, client }
}

async fn token(store: &Store, role: Role) -> String {
    let (token, hash) = vouch_server::new_api_token();
    store
        .add_api_token(role.as_str(), role, &hash, chrono::Utc::now())
        .await
        .unwrap();
    token
}

async fn seed(store: &Store) {
    let survey: Survey = store
        .ensure_survey(
            vouch_domain::SurveyKind::Nps,
            "Relationship",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let answers: Vec<vouch_domain::Answer> = [10, 9, 3, 8, 10]
        .iter()
        .enumerate()
        .map(|(i, score)| vouch_domain::Answer {
            survey_id: survey.id,
            customer_id: None,
            score: vouch_domain::Score::nps(*score).unwrap(),
            comment: Some("<script>alert('x')</script> \" OR 1=1 --".to_owned()),
            channel: vouch_domain::Channel::Api,
            locale: None,
            answered_at: now - chrono::Duration::days(40 * i as i64),
            metadata: Default::default(),
        })
        .collect();
    store.insert_answers(&answers).await.unwrap();
}

async fn every_route_checks_access(db: &TestDb) {
    let store = db.store.clone();
    seed(&store).await;
    let server = start(store.clone()).await;
    let viewer = token(&store, Role::Viewer).await;
    let agent = token(&store, Role::Agent).await;
    for (method, path, permission) in vouch_server::ROUTES {
        let url = format!("{}{path}", server.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = |bearer: Option<&str>| {
            let mut r = server.client.request(method.clone(), &url);
            if method != reqwest::Method::GET {
                r = r.header("content-type", "application/json").body("{}");
            }
            match bearer {
                Some(b) => r.bearer_auth(b),
                None => r,
            }
        };
        let anonymous = request(None).send().await.unwrap();
        match permission {
            None => assert!(
                !matches!(
                    anonymous.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER | StatusCode::FORBIDDEN
                ),
                "{path}: public"
            ),
            Some(_) if path.starts_with("/api/") => {
                assert_eq!(
                    anonymous.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path}"
                );
                let body: serde_json::Value = anonymous.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized", "{path}");
            }
            Some(_) => {
                assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "{path}");
                let to = anonymous.headers()["location"].to_str().unwrap().to_owned();
                let back = serde_urlencoded::to_string([("next", path)]).unwrap();
                assert!(
                    to == "/login" && *path == "/" || to == format!("/login?{back}"),
                    "{path}: sent to sign in, and back after: {to}"
                );
            }
        }
        let Some(permission) = permission else {
            continue;
        };
        if !path.starts_with("/api/") {
            continue;
        }
        for (role, bearer) in [(Role::Viewer, &viewer), (Role::Agent, &agent)] {
            let status = request(Some(bearer)).send().await.unwrap().status();
            if role.can(*permission) {
                // Allowed: whatever the (empty) request deserves, but not a refusal.
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{method} {path} as {role}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role}");
            }
        }
    }
    let wrong = server
        .client
        .get(format!("{}/api/v1/metrics/nps", server.base))
        .bearer_auth("vch_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

async fn sign_in_read_the_dashboard_and_call_the_api(db: &TestDb) {
    let store = db.store.clone();
    seed(&store).await;
    let hash = vouch_server::hash_password("correct horse battery");
    store
        .add_user("ana@example.com", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let (csrf_cookie, csrf) = login_form(&server.base, &server.client).await;

    let forged = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("email", "ana@example.com"),
            ("password", "correct horse battery"),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "CSRF");
    let bad = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("email", "ana@example.com"),
            ("password", "wrong"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let good = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("email", "ana@example.com"),
            ("password", "correct horse battery"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    let session = good.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let session = session.split(';').next().unwrap().to_owned();

    let dashboard = server
        .client
        .get(format!("{}/", server.base))
        .header("cookie", &session)
        .header("accept-language", "ro-RO,ro;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
    let html = dashboard.text().await.unwrap();
    assert!(
        html.contains("<svg id=\"nps-trend\""),
        "the chart is on the page"
    );
    assert!(
        html.contains("class=\"interval\""),
        "with its interval band"
    );
    assert!(html.contains("Promotori"), "in Romanian");
    assert!(!html.contains("<script>"), "no script on the page");

    let token = token(&store, Role::Analyst).await;
    let by_month: serde_json::Value = server
        .client
        .get(format!("{}/api/v1/metrics/nps?by=month", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let periods = by_month["periods"].as_array().unwrap();
    let counted: u64 = periods.iter().filter_map(|p| p["responses"].as_u64()).sum();
    assert!(counted >= 4, "{by_month}");
    let invalid = server
        .client
        .get(format!("{}/api/v1/metrics/nps?by=fortnight", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = invalid.json().await.unwrap();
    assert_eq!(body["error"]["field"], "by");
    let feedback = store.feedback_texts(None, 10).await.unwrap();
    assert!(
        feedback[0].body.starts_with("<script>"),
        "hostile text is stored verbatim"
    );

    let logout_page = server
        .client
        .post(format!("{}/logout", server.base))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout_page.status(), StatusCode::FORBIDDEN);
}

async fn json_of(response: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

const HOSTILE: &str = "<script>alert('x')</script> \"quoted\" & Robert'); DROP TABLE customers;--";

async fn the_api_keeps_customers_feedback_and_answers_and_erases_a_person(db: &TestDb) {
    let store = db.store.clone();
    seed(&store).await;
    let server = start(store.clone()).await;
    let admin = token(&store, Role::Admin).await;
    let api = |method: reqwest::Method, path: &str| {
        server
            .client
            .request(method, format!("{}/api/v1{path}", server.base))
            .bearer_auth(&admin)
    };
    use reqwest::Method;

    // Customers: create, read, update, find, conflicts and bad fields.
    let (status, ana) = json_of(
        api(Method::POST, "/customers")
            .json(
                &serde_json::json!({"email": "Ana@Example.COM", "name": HOSTILE, "locale": "ro",
                "external_id": "crm-1", "attributes": {"plan": "pro"}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ana}");
    assert_eq!(ana["email"], "Ana@example.com");
    assert_eq!(ana["name"], HOSTILE, "stored and returned intact");
    let id = ana["id"].as_i64().unwrap();
    let (status, again) = json_of(
        api(Method::POST, "/customers")
            .json(&serde_json::json!({"email": "Ana@example.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, bad) = json_of(
        api(Method::POST, "/customers")
            .json(&serde_json::json!({"email": "not an email"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "email");
    let (status, updated) = json_of(
        api(Method::PATCH, &format!("/customers/{id}"))
            .json(&serde_json::json!({"attributes": {"plan": "team", "region": "eu"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["attributes"]["plan"], "team");
    assert_eq!(updated["email"], "Ana@example.com", "untouched fields stay");
    let (_, found) = json_of(
        api(Method::GET, "/customers?where=plan%3Dteam")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "{found}");
    // Searched by a part of her name or email, in any case; a search is at
    // most 200 characters, as the document says.
    let (_, found) = json_of(
        api(Method::GET, "/customers?q=ANA%40EX")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "{found}");
    let long = "x".repeat(201);
    let (status, _) = json_of(
        api(Method::GET, &format!("/customers?q={long}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Answers: one for Ana, with a hostile comment; bad scores refused.
    let (status, answer) = json_of(
        api(Method::POST, "/responses")
            .json(&serde_json::json!({"survey": "Relationship", "customer": "crm-1", "score": 3, "comment": HOSTILE}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["customer_id"], id);
    let (status, bad) = json_of(
        api(Method::POST, "/responses")
            .json(&serde_json::json!({"survey": "Relationship", "score": 11}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no kind has an 11"
    );
    assert_eq!(bad["error"]["field"], "score");
    // A score the document allows but the named survey's kind does not.
    store
        .ensure_survey(vouch_domain::SurveyKind::Ces, "Effort", chrono::Utc::now())
        .await
        .unwrap();
    let (status, bad) = json_of(
        api(Method::POST, "/responses")
            .json(&serde_json::json!({"survey": "Effort", "score": 0}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "CES runs 1-7: {bad}");
    assert_eq!(
        (
            bad["error"]["code"].as_str(),
            bad["error"]["field"].as_str()
        ),
        (Some("conflict"), Some("score"))
    );
    let (_, listed) = json_of(api(Method::GET, "/responses?limit=2").send().await.unwrap()).await;
    assert_eq!(listed["responses"].as_array().unwrap().len(), 2);
    let after = listed["next"].as_i64().unwrap();
    let (_, rest) = json_of(
        api(Method::GET, &format!("/responses?limit=50&after={after}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        rest["responses"].as_array().unwrap().len(),
        4,
        "6 answers in all"
    );

    // Feedback: pushed like an import line, matched to Ana by email, tagged; bad items named.
    let (status, pushed) = json_of(
        api(Method::POST, "/feedback")
            .json(&serde_json::json!({"source": "trustpilot", "items": [
                {"id": "t-1", "text": HOSTILE, "title": "Terrible support", "rating": 1,
                 "author": HOSTILE, "email": "ana@example.com", "date": "2026-11-01T10:00:00Z"},
                {"id": "t-2", "text": "Great product, fast delivery", "rating": 5, "date": "2026-11-02"}
            ]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["imported"], 2);
    let item = &pushed["items"][0];
    assert_eq!(item["body"], HOSTILE, "intact in JSON");
    assert_eq!(item["customer_id"], id, "matched by email");
    assert!(item["sentiment"].is_number(), "tagged");
    let (_, repeat) = json_of(
        api(Method::POST, "/feedback")
            .json(&serde_json::json!({"source": "trustpilot", "items": [{"id": "t-2", "text": "Great product, fast delivery", "rating": 5, "date": "2026-11-02"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(repeat["unchanged"], 1, "a repeat adds nothing");
    let (status, bad) = json_of(
        api(Method::POST, "/feedback")
            .json(&serde_json::json!({"items": [{"text": "ok"}, {"text": "when?", "date": "someday"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "items[1]", "{bad}");
    for (query, expected) in [
        ("source=trustpilot", 2),
        ("source=trustpilot&sentiment=positive", 1),
        ("category=detractor&source=trustpilot", 1),
        ("category=promoter&source=trustpilot", 1),
        (&format!("customer={id}") as &str, 2),
        ("source=survey", 6),
        ("source=trustpilot&from=2026-11-02", 1),
    ] {
        let (status, page) = json_of(
            api(Method::GET, &format!("/feedback?{query}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(
            page["feedback"].as_array().unwrap().len(),
            expected,
            "{query}: {page}"
        );
    }
    let (status, _) = json_of(
        api(Method::GET, "/feedback?sentiment=happy")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Escaped in HTML: the inbox page of a signed-in agent.
    let hash = vouch_server::hash_password("agent password 1");
    store
        .add_user("agent@example.com", Role::Agent, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let session = sign_in(&server, "agent@example.com", "agent password 1").await;
    let html = server
        .client
        .get(format!("{}/feedback", server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>"),
        "no customer markup reaches the page"
    );
    assert!(
        unescape(&html).contains(HOSTILE),
        "the text shows as written"
    );
    // The API refuses a browser write without the session's CSRF header.
    let forged = server
        .client
        .post(format!("{}/api/v1/feedback", server.base))
        .header("cookie", &session)
        .json(&serde_json::json!({"items": [{"text": "forged"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // GDPR: the export holds everything; the erasure removes the person and unlinks the rest.
    let (status, export) = json_of(
        api(Method::GET, &format!("/customers/{id}/export"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(export["customer"]["email"], "Ana@example.com");
    assert_eq!(export["responses"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["feedback"].as_array().unwrap().len(),
        2,
        "the comment and the review"
    );
    let erased = api(Method::DELETE, &format!("/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    let gone = api(Method::GET, &format!("/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let again = api(Method::DELETE, &format!("/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let (_, left) = json_of(
        api(Method::GET, "/feedback?source=trustpilot")
            .send()
            .await
            .unwrap(),
    )
    .await;
    for item in left["feedback"].as_array().unwrap() {
        assert!(
            item["customer_id"].is_null() && item["author"]["name"].is_null(),
            "{item}"
        );
    }
    let (_, nps) = json_of(api(Method::GET, "/metrics/nps").send().await.unwrap()).await;
    assert_eq!(nps["responses"], 6, "the answers still count: {nps}");
    let (status, transitions) = json_of(
        api(Method::GET, "/metrics/transitions")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(transitions["matrix"].as_array().unwrap().len(), 16);
}

/// HTML text with its character references decoded.
fn unescape(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').unwrap_or(0);
        let entity = &rest[1..end.max(1)];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Signs in through the form; returns the session cookie.
async fn sign_in(server: &Running, email: &str, password: &str) -> String {
    let (csrf_cookie, csrf) = login_form(&server.base, &server.client).await;
    let signed_in = server
        .client
        .post(format!("{}/login", server.base))
        .header("cookie", &csrf_cookie)
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    cookie_pair(&signed_in)
}

/// The login form's CSRF cookie (`name=value`) and the token in its field.
async fn login_form(base: &str, client: &reqwest::Client) -> (String, String) {
    let form = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = cookie_pair(&form);
    (cookie, csrf_field(&form.text().await.unwrap()))
}

/// The `name=value` of the cookie a response sets.
fn cookie_pair(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The value of a page's hidden `csrf` field.
fn csrf_field(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Checks each delivery with the official `standardwebhooks` Python
/// package (`VOUCH_TEST_STANDARDWEBHOOKS`: a python3 that has it), which
/// raises on a bad signature or a stale timestamp.
fn verify_with_standardwebhooks(secret: &str, got: &[(axum::http::HeaderMap, String)]) {
    let Ok(python) = std::env::var("VOUCH_TEST_STANDARDWEBHOOKS") else {
        vouch_testing::say_skipping(
            "the standardwebhooks check, because VOUCH_TEST_STANDARDWEBHOOKS (a python3 with standardwebhooks) is not set",
        );
        return;
    };
    let deliveries: Vec<serde_json::Value> = got
        .iter()
        .map(|(headers, body)| {
            let h = |n: &str| headers[n].to_str().unwrap().to_owned();
            serde_json::json!({
                "webhook-id": h("webhook-id"),
                "webhook-timestamp": h("webhook-timestamp"),
                "webhook-signature": h("webhook-signature"),
                "body": body,
            })
        })
        .collect();
    const SCRIPT: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
request = json.load(sys.stdin)
hook = Webhook(request["secret"])
for d in request["deliveries"]:
    body = d.pop("body")
    hook.verify(body, d)
    try:
        hook.verify(body + " ", d)
    except Exception:
        pass
    else:
        sys.exit("a tampered body verified")
print(len(request["deliveries"]), "verified")
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            serde_json::json!({"secret": secret, "deliveries": deliveries})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "standardwebhooks refused a delivery: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} verified", got.len())
    );
}

/// A webhook receiver on loopback: records each request, answers 500 to the first.
struct Receiver {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

async fn receiver() -> Receiver {
    use axum::http::StatusCode as S;
    let got: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>> =
        Default::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push((headers, body));
                if seen.len() == 1 {
                    S::INTERNAL_SERVER_ERROR
                } else {
                    S::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, got }
}

async fn webhooks_are_signed_retried_and_logged(db: &TestDb) {
    let store = db.store.clone();
    seed(&store).await;
    let server = start(store.clone()).await;
    let admin = token(&store, Role::Admin).await;
    let hook = receiver().await;
    let (status, created) = json_of(
        server
            .client
            .post(format!("{}/api/v1/webhooks", server.base))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"url": hook.url, "events": ["response.created", "customer.category_changed"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let webhook_id = created["id"].as_i64().unwrap();
    let (status, bad) = json_of(
        server
            .client
            .post(format!("{}/api/v1/webhooks", server.base))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"url": "ftp://x", "events": ["response.created"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("url"))
    );
    let (_, customer) = json_of(
        server
            .client
            .post(format!("{}/api/v1/customers", server.base))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"email": "bo@example.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let answered = server
        .client
        .post(format!("{}/api/v1/responses", server.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"survey": "Relationship", "customer": "bo@example.com", "score": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::CREATED);

    // Two events; the first attempt of the first is refused and retried after the backoff.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while hook.got.lock().unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries did not arrive"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = hook.got.lock().unwrap().clone();
    let mut events = Vec::new();
    for (headers, body) in &got {
        let header = |name: &str| headers[name].to_str().unwrap().to_owned();
        let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
        assert_eq!(
            Some(header("webhook-signature")),
            vouch_app::secrets::webhook_signature(&secret, &header("webhook-id"), timestamp, body),
            "signed with the webhook's secret"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["type"], header("vouch-event"));
        assert_eq!(
            body["id"],
            header("webhook-id"),
            "webhook-id is the event id"
        );
        events.push(body);
    }
    // The retry of the refused delivery carries the same webhook-id.
    let refused = got[0].0["webhook-id"].clone();
    assert_eq!(
        got.iter()
            .filter(|(h, _)| h["webhook-id"] == refused)
            .count(),
        2
    );
    verify_with_standardwebhooks(&secret, &got);
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "response.created" && e["data"]["score"]["value"] == 10)
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "customer.category_changed"
                && e["data"]["customer_id"] == customer["id"]
                && e["data"]["to"] == "promoter"
                && e["data"]["from"].is_null()
                && e["data"]["signal"]["type"] == "response")
    );
    // Give the worker a moment to write the last log line.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, log) = json_of(
        server
            .client
            .get(format!(
                "{}/api/v1/webhooks/{webhook_id}/deliveries",
                server.base
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let log = log["deliveries"].as_array().unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log.iter()
            .any(|d| d["status_code"] == 500 && d["attempt"] == 1)
    );
    assert!(
        log.iter()
            .any(|d| d["status_code"] == 200 && d["attempt"] == 2)
    );
    let done: Vec<_> = store
        .jobs(Some(vouch_domain::JobState::Done), 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == vouch_domain::JobKind::WebhookDelivery)
        .collect();
    assert_eq!(done.len(), 2);
    let metrics = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vouch_jobs_run_total{kind=\"webhook.deliver\",outcome=\"done\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("vouch_http_requests_total{method=\"POST\",route=\"/api/v1/responses\",status=\"201\"} 1"), "{metrics}");
    assert!(!metrics.contains("bo@example.com"));
}

async fn the_openapi_document_describes_every_api_route(db: &TestDb) {
    let store = db.store.clone();
    let server = start(store).await;
    let doc: serde_json::Value = server
        .client
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let template = |path: &str| {
        path.split('/')
            .map(|s| if s.parse::<i64>().is_ok() { "{id}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    let served: std::collections::BTreeSet<(String, String)> = vouch_server::ROUTES
        .iter()
        .filter(|(_, path, _)| path.starts_with("/api/v1/") && *path != "/api/v1/openapi.json")
        .map(|(method, path, _)| (method.to_lowercase(), template(path)))
        .collect();
    let described: std::collections::BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "patch", "put", "delete"].contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    assert_eq!(served, described, "the route table and the document agree");
    let mut operations: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert_eq!(
        operations.len(),
        described.len(),
        "every operation has an id"
    );
    operations.sort_unstable();
    operations.dedup();
    assert_eq!(
        operations.len(),
        described.len(),
        "operation ids are unique"
    );
    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    assert!(doc.pointer("/components/securitySchemes/bearer").is_some());
    // Every body a route answers has a schema with a shape, so generated
    // clients get types (Schemathesis checks the bodies against them).
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    let schema = &content["schema"];
                    let shaped = schema.get("$ref").is_some()
                        || schema.get("type").is_some()
                        || schema.get("oneOf").is_some();
                    assert!(shaped, "{method} {path} {status} {media}: {schema}");
                }
            }
        }
    }
}

async fn managers_create_edit_pause_and_archive_surveys_in_the_web_app(db: &TestDb) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    let hash = vouch_server::hash_password("manager password 1");
    store
        .add_user("mara@example.com", Role::Manager, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let session = sign_in(&server, "mara@example.com", "manager password 1").await;
    let page = |path: String| {
        let client = server.client.clone();
        let session = session.clone();
        async move {
            client
                .get(path)
                .header("cookie", session)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let csrf = csrf_field(&page(format!("{}/surveys", server.base)).await);
    let forged = server
        .client
        .post(format!("{}/surveys", server.base))
        .header("cookie", &session)
        .form(&[("csrf", "forged"), ("kind", "nps"), ("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let created = server
        .client
        .post(format!("{}/surveys", server.base))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "csat"),
            ("name", "Support <desk>"),
            ("question_en", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let designs = store.survey_designs().await.unwrap();
    let design = designs
        .iter()
        .find(|d| d.survey.name == "Support <desk>")
        .unwrap();
    assert!(
        design.texts.question["en"].starts_with("How satisfied"),
        "default wording"
    );
    let list = page(format!("{}/surveys", server.base)).await;
    assert!(list.contains("Support &#60;desk&#62;") || list.contains("Support &lt;desk&gt;"));
    let id = design.survey.id.0;
    let edit = page(format!("{}/surveys/{id}", server.base)).await;
    assert!(edit.contains("How satisfied"));
    let saved = server
        .client
        .post(format!("{}/surveys/{id}", server.base))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Support desk"),
            ("status", "paused"),
            ("question_en", "How did {company} do?"),
            ("question_ro", ""),
            ("follow_up_en", ""),
            ("follow_up_ro", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let design = store
        .survey_design(vouch_domain::SurveyId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(design.status, vouch_domain::SurveyStatus::Paused);
    assert_eq!(design.texts.question["en"], "How did {company} do?");
    assert!(
        design.texts.question["ro"].starts_with("Cât de mulțumit"),
        "other languages keep theirs"
    );
}

/// A free loopback port for a helper process.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Headless Chromium driven through ChromeDriver (WebDriver), when
/// `VOUCH_TEST_CHROMEDRIVER` names the driver (`.ci/run` installs Debian's
/// chromium and chromium-driver). `close` ends the session and the driver.
struct Browser {
    driver: std::process::Child,
    client: fantoccini::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Option<Browser> {
        Browser::start_in("en").await
    }

    /// A browser whose preferred language is `language` (Accept-Language).
    async fn start_in(language: &str) -> Option<Browser> {
        let Ok(driver) = std::env::var("VOUCH_TEST_CHROMEDRIVER") else {
            vouch_testing::say_skipping(
                "the browser tests, because VOUCH_TEST_CHROMEDRIVER (path to chromedriver) is not set",
            );
            return None;
        };
        let chromium =
            std::env::var("VOUCH_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let port = free_port();
        let child = std::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver}: {e}"));
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while reqwest::get(format!("{webdriver}/status")).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": chromium,
                // Headless, as root in a container, and quiet: no calls out of this machine.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", format!("--lang={language}"),
                         format!("--user-data-dir={}", profile.path().display())],
                "prefs": {"intl": {"accept_languages": language}}
            }),
        );
        // Plain HTTP: the driver is on loopback.
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .expect("a Chromium session");
        Some(Browser {
            driver: child,
            client,
            _profile: profile,
        })
    }

    /// axe-core's verdict on the page open now (WCAG 2.0/2.1 A and AA and
    /// best practice): the rules it breaks, each with the elements, or
    /// `None` when `VOUCH_TEST_AXE` (path to axe.min.js from npm's
    /// axe-core) is not set.
    async fn axe(&self) -> Option<Vec<String>> {
        static SOURCE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let source = SOURCE.get_or_init(|| {
            let Ok(path) = std::env::var("VOUCH_TEST_AXE") else {
                vouch_testing::say_skipping(
                    "the axe-core checks, because VOUCH_TEST_AXE (path to axe.min.js) is not set",
                );
                return None;
            };
            Some(
                std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {path}: {e}")),
            )
        });
        let source = source.as_ref()?;
        self.client
            .execute(&format!("{source}\n;return true;"), vec![])
            .await
            .expect("axe-core loads");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
                   .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        Some(serde_json::from_value(found).expect("a list of violations"))
    }

    /// Signs in on `{base}/login` (with `next`, when given) and waits for
    /// the page it leads to.
    async fn sign_in(
        &self,
        base: &str,
        next: &str,
        email: &str,
        password: &str,
    ) -> Result<(), fantoccini::error::CmdError> {
        use fantoccini::Locator;
        let page = &self.client;
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        page.goto(&format!("{base}/login?{query}")).await?;
        page.find(Locator::Id("email"))
            .await?
            .send_keys(email)
            .await?;
        page.find(Locator::Id("password"))
            .await?
            .send_keys(password)
            .await?;
        page.find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        page.wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Css("header nav"))
            .await?;
        Ok(())
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_finds_the_chart_on_the_dashboard() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    seed(&store).await;
    let hash = vouch_server::hash_password("browser password 1");
    store
        .add_user(
            "viewer@example.com",
            Role::Viewer,
            &hash,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let server = start(store).await;
    let page = &browser.client;
    let outcome = async {
        use fantoccini::Locator;
        page.goto(&format!("{}/", server.base)).await?;
        assert!(
            page.current_url().await?.path().ends_with("/login"),
            "sent to sign in"
        );
        page.find(Locator::Id("email"))
            .await?
            .send_keys("viewer@example.com")
            .await?;
        page.find(Locator::Id("password"))
            .await?
            .send_keys("browser password 1")
            .await?;
        page.find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        let chart = page
            .wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Css("svg#nps-trend"))
            .await?;
        assert!(chart.is_displayed().await?, "the chart is visible");
        let band = chart.find(Locator::Css("polygon.interval")).await?;
        assert!(
            band.attr("points").await?.is_some_and(|p| !p.is_empty()),
            "with its band"
        );
        let tile = page.find(Locator::Id("tile-nps")).await?.text().await?;
        assert!(tile.starts_with("NPS"), "{tile}");
        if let Ok(path) = std::env::var("VOUCH_TEST_SCREENSHOT") {
            std::fs::write(path, page.screenshot().await?).unwrap();
        }
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_answers_a_survey_in_the_browser_in_romanian() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    let survey = vouch_app::surveys::create_survey(
        &store,
        vouch_domain::SurveyKind::Nps,
        "Relationship",
        Default::default(),
    )
    .await
    .unwrap();
    let mut profile = vouch_domain::CustomerProfile::new(
        vouch_domain::Locale::parse("ro").unwrap(),
        chrono::Utc::now(),
    );
    profile.email = vouch_domain::Email::parse("ioana@example.ro").ok();
    let customer = store.insert_customers(&[profile]).await.unwrap()[0];
    let token = vouch_app::secrets::new_secret();
    store
        .add_invitations(
            &[vouch_store::NewInvitation {
                survey_id: survey.survey.id,
                customer_id: customer,
                token_hash: vouch_app::secrets::secret_hash(&token),
                locale: vouch_domain::Locale::parse("ro").unwrap(),
            }],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let page = &browser.client;
    let outcome = async {
        use fantoccini::Locator;
        page.goto(&format!("{}/s/{token}", server.base)).await?;
        let question = page.find(Locator::Id("question")).await?.text().await?;
        assert!(question.starts_with("Cât de probabil"), "{question}");
        page.find(Locator::XPath("//label[span='9']"))
            .await?
            .click()
            .await?;
        page.find(Locator::Id("comment"))
            .await?
            .send_keys("Suport rapid și prietenos")
            .await?;
        page.find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        let thanks = page
            .wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Id("message"))
            .await?
            .text()
            .await?;
        assert_eq!(thanks, "Mulțumim!");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
    let answers = store.responses_of(customer).await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].answer.score.value(), 9);
    assert_eq!(
        answers[0].answer.comment.as_deref(),
        Some("Suport rapid și prietenos")
    );
}

async fn a_crm_file_upserts_customers_through_the_api(db: &TestDb) {
    let store = db.store.clone();
    let server = start(store.clone()).await;
    let post = |token: String, body: &'static str| {
        server
            .client
            .post(format!("{}/api/v1/customers/import", server.base))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    // A HubSpot contacts export, one bad email among the rows.
    const HUBSPOT: &str = "Record ID,First Name,Last Name,Email,Lifecycle Stage,Contact owner,Preferred language,consent_marketing,plan\n\
        501,Ana,Pop,ana@example.com,customer,Ion,ro,yes,pro\n\
        502,Bob,Ionescu,not-an-email,lead,Ion,en,,basic\n\
        503,Cleo,,cleo@example.com,customer,Ion,en,no,\n";
    let admin = token(&store, Role::Admin).await;
    let (status, first) = json_of(post(admin.clone(), HUBSPOT).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (
            first["created"].as_u64(),
            first["rejected"].as_u64(),
            first["vendor"].as_str()
        ),
        (Some(2), Some(1), Some("HubSpot")),
        "{first}"
    );
    assert_eq!(first["rejections"][0]["line"].as_u64(), Some(3), "{first}");
    let (_, again) = json_of(post(admin.clone(), HUBSPOT).await.unwrap()).await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "the same file again changes nothing: {again}"
    );
    let ana = store.find_customer("ana@example.com").await.unwrap();
    assert_eq!(
        (
            ana.profile.external_id.as_deref(),
            ana.profile.locale.as_str(),
            ana.profile.attributes.get("plan").map(String::as_str)
        ),
        (Some("501"), "ro", Some("pro"))
    );
    let (status, refused) =
        json_of(post(admin.clone(), "Name,Plan\nAna,pro\n").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no email or id column"),
        "{refused}"
    );
    let analyst = token(&store, Role::Analyst).await;
    let refused = post(analyst, HUBSPOT).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

use vouch_testing::{TestDb, on_both_backends};

on_both_backends!(
    every_route_checks_access,
    sign_in_read_the_dashboard_and_call_the_api,
    the_api_keeps_customers_feedback_and_answers_and_erases_a_person,
    a_crm_file_upserts_customers_through_the_api,
    webhooks_are_signed_retried_and_logged,
    the_openapi_document_describes_every_api_route,
    managers_create_edit_pause_and_archive_surveys_in_the_web_app,
    control_characters_and_oversized_texts_stop_at_the_edge,
    sign_in_limits_count_per_client_and_account_across_instances,
    login_csrf_needs_our_own_page,
    every_response_carries_the_security_headers,
    sessions_idle_out_and_end_when_an_account_changes,
    every_error_has_the_documented_shape_and_status,
    staff_actions_land_in_the_audit_log_for_admins,
    erasure_scrubs_quotes_drops_queued_payloads_and_stays_erased,
    a_second_factor_is_asked_for_once_set_up_and_each_code_works_once,
);

/// A manager edits a playbook in the browser: the guard's R1 denial shows
/// before saving and nothing is saved; then works a task to closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sees_a_gating_denial_before_saving_and_works_a_task_to_closed() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
        .await
        .unwrap();
    vouch_app::playbooks::install_defaults(&store)
        .await
        .unwrap();
    let review = store
        .playbooks()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.default_key.as_deref() == Some("default.review"))
        .unwrap();
    let now = chrono::Utc::now();
    let task = store
        .add_task(
            &vouch_store::NewTask {
                customer_id: None,
                task_type: vouch_domain::playbooks::TaskType::CloseLoop,
                reason: "A detractor answered".into(),
                priority: vouch_domain::playbooks::Priority::High,
                team: Some("support".into()),
                owner: Some("mara@example.com".into()),
                signal: None,
                run: None,
                sla: "close_loop".into(),
                first_response_due: now + chrono::Duration::hours(4),
                due_at: now + chrono::Duration::hours(16),
            },
            now,
        )
        .await
        .unwrap();
    let hash = vouch_server::hash_password("browser password 1");
    store
        .add_user("mara@example.com", Role::Manager, &hash, now)
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let page = &browser.client;
    let outcome = async {
        use fantoccini::Locator;
        page.goto(&format!("{}/playbooks/{}", server.base, review.id))
            .await?;
        page.find(Locator::Id("email"))
            .await?
            .send_keys("mara@example.com")
            .await?;
        page.find(Locator::Id("password"))
            .await?
            .send_keys("browser password 1")
            .await?;
        page.find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        // Signed in (the dashboard), then to the editor.
        page.wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Css("header nav"))
            .await?;
        page.goto(&format!("{}/playbooks/{}", server.base, review.id))
            .await?;
        page.wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Id("spec"))
            .await?;
        // Only promoters asked for a review: gating.
        let mut gated = serde_json::to_value(&review.spec).unwrap();
        gated["conditions"] = serde_json::json!([{"field": "score", "op": ">=", "value": 9}]);
        page.execute(
            "document.getElementById('spec').value = arguments[0];",
            vec![serde_json::Value::String(gated.to_string())],
        )
        .await?;
        page.find(Locator::Id("check")).await?.click().await?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let verdict = loop {
            let text = page.find(Locator::Id("verdict")).await?.text().await?;
            if !text.is_empty() {
                break text;
            }
            assert!(std::time::Instant::now() < deadline, "no verdict");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert!(verdict.starts_with("R1"), "{verdict}");
        // Saving anyway is refused with the same rule; nothing is saved.
        page.find(Locator::Id("save")).await?.click().await?;
        let refusal = page
            .wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Id("refusal"))
            .await?
            .text()
            .await?;
        assert!(refusal.contains("R1"), "{refusal}");

        page.goto(&format!("{}/tasks", server.base)).await?;
        let row = page
            .wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Id(&format!("task-{task}")))
            .await?;
        assert!(row.text().await?.contains("support"));
        // The keyboard alone: j goes to the first task, x ticks it, a goes
        // to Assign, and Enter there assigns the ticked task.
        for key in ["j", "x", "a"] {
            page.active_element().await?.send_keys(key).await?;
        }
        let focused = page.active_element().await?.attr("id").await?;
        assert_eq!(focused.as_deref(), Some("bulk-owner"));
        page.active_element()
            .await?
            .send_keys("ioana@example.com\u{E007}")
            .await?;
        page.wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Css("p[role=status]"))
            .await?;
        assert_eq!(
            store.task(task).await.unwrap().unwrap().owner.as_deref(),
            Some("ioana@example.com"),
            "assigned by keyboard"
        );
        page.find(Locator::Css(&format!("#state-{task} option[value=closed]")))
            .await?
            .click()
            .await?;
        page.find(Locator::Css(&format!(
            "#resolution-{task} option[value=resolved]"
        )))
        .await?
        .click()
        .await?;
        page.find(Locator::Id(&format!("note-{task}")))
            .await?
            .send_keys("Called her; refunded")
            .await?;
        page.find(Locator::Css(&format!("#task-{task} button[type=submit]")))
            .await?
            .click()
            .await?;
        // The assignment's notice is on the page already: wait for the store.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while store.task(task).await.unwrap().unwrap().state != "closed" {
            assert!(
                std::time::Instant::now() < deadline,
                "the task was not closed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        if let Ok(path) = std::env::var("VOUCH_TEST_SCREENSHOT") {
            std::fs::write(path, page.screenshot().await?).unwrap();
        }
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
    let saved = store.playbook(review.id).await.unwrap().unwrap();
    assert_eq!(saved.version, 1, "the gated draft was never saved");
    let closed = store.task(task).await.unwrap().unwrap();
    assert_eq!(closed.state, "closed");
    assert_eq!(closed.resolution.as_deref(), Some("resolved"));
    assert_eq!(closed.note.as_deref(), Some("Called her; refunded"));
}
