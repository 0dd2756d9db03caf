//! The real server on a loopback port, against SQLite and PostgreSQL:
//! every route's access rules, signing in, the dashboard, the API with a token.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use vouch_domain::{Role, Survey};
use vouch_store::Store;

struct Running {
    base: String,
    client: reqwest::Client,
}

async fn start(store: Store) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = vouch_server::AppState::new(store);
    tokio::spawn(vouch_server::serve(listener, state, std::future::pending()));
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

async fn every_route_checks_access(store: Store) {
    seed(&store).await;
    let server = start(store.clone()).await;
    let viewer = token(&store, Role::Viewer).await;
    let agent = token(&store, Role::Agent).await;
    for (method, path, permission) in vouch_server::ROUTES {
        assert_eq!(*method, "GET");
        let url = format!("{}{path}", server.base);
        let anonymous = server.client.get(&url).send().await.unwrap();
        match permission {
            None => assert!(anonymous.status().is_success(), "{path}: public"),
            Some(_) if path.starts_with("/api/") => {
                assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
                let body: serde_json::Value = anonymous.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized", "{path}");
            }
            Some(_) => {
                assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "{path}");
                assert_eq!(anonymous.headers()["location"], "/login");
            }
        }
        let Some(permission) = permission else {
            continue;
        };
        if !path.starts_with("/api/") {
            continue;
        }
        for (role, bearer) in [(Role::Viewer, &viewer), (Role::Agent, &agent)] {
            let response = server
                .client
                .get(&url)
                .bearer_auth(bearer)
                .send()
                .await
                .unwrap();
            let expected = if role.can(*permission) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            let status = response.status();
            assert!(
                status == expected
                    || (status == StatusCode::NOT_FOUND && expected == StatusCode::OK),
                "{path} as {role}: {status}"
            );
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

async fn sign_in_read_the_dashboard_and_call_the_api(store: Store) {
    seed(&store).await;
    let hash = vouch_server::hash_password("correct horse battery");
    store
        .add_user("ana@example.com", Role::Admin, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let form = server
        .client
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    let csrf_cookie = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

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

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                let store = vouch_store::Store::open(&format!("sqlite://{}", dir.path().join("v.db").display())).await.unwrap();
                super::$name(store).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(schema) = vouch_testing::PostgresSchema::create().await else { return };
                let store = vouch_store::Store::open(&schema.url).await.unwrap();
                super::$name(store).await;
                schema.drop_schema().await;
            })+
        }
    };
}

on_both_backends!(
    every_route_checks_access,
    sign_in_read_the_dashboard_and_call_the_api
);
