//! The advocate program over HTTP on both backends, by the contract the
//! acceptance checks use: members, idempotent points, rewards and
//! redemptions (409 `insufficient_points`), referral links, `/r/{code}`,
//! conversions with their fraud signals, attribution inside and outside
//! the window, the review queue and refunds.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vouch_domain::Role;
use vouch_testing::{TestDb, on_both_backends};

on_both_backends!(
    members_points_rewards_and_redemptions_follow_the_contract,
    referral_links_record_clicks_and_conversions_carry_their_signals,
    unspent_points_expire_oldest_first_once_a_month,
    gift_codes_are_handed_out_once_to_redemptions_and_referred_friends,
    join_codes_let_people_join_until_used_up_and_can_be_required,
);

struct Api {
    server: super::Running,
    token: String,
}

impl Api {
    async fn start(db: &TestDb) -> Api {
        let token = super::token(&db.store, Role::Admin).await;
        Api {
            server: super::start(db.store.clone()).await,
            token,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self
            .server
            .client
            .request(method.clone(), format!("{}/api/v1{path}", self.server.base))
            .bearer_auth(&self.token);
        let request = if method == Method::GET {
            request
        } else {
            request.json(&body)
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn customer(&self, email: &str) -> i64 {
        let (status, c) = self
            .call(
                Method::POST,
                "/customers",
                json!({"email": email, "name": "Ana Popescu"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        c["id"].as_i64().unwrap()
    }

    async fn member(&self, customer: Value) -> Value {
        let (status, m) = self
            .call(
                Method::POST,
                "/program/members",
                json!({"customer": customer}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        m
    }
}

async fn members_points_rewards_and_redemptions_follow_the_contract(db: &TestDb) {
    let api = Api::start(db).await;
    let id = api.customer("ana@example.com").await;
    let member = api.member(json!("ana@example.com")).await;
    assert_eq!(member["customer_id"], id);
    assert_eq!(member["trusted"], true, "added by staff");
    assert_eq!(member["tier"], "Fan");
    assert_eq!(member["points"], json!({"lifetime": 0, "spendable": 0}));
    // Adding again answers the member, 200.
    let (status, again) = api
        .call(Method::POST, "/program/members", json!({"customer": id}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], member["id"]);
    let m = member["id"].as_i64().unwrap();
    let (status, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["id"], m);

    let award = json!({"member": m, "amount": 600, "reason": "webinar talk", "idempotency_key": "talk-2026-11"});
    let (status, entry) = api
        .call(Method::POST, "/program/points", award.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let (status, same) = api.call(Method::POST, "/program/points", award).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["id"], entry["id"]);
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(got["points"], json!({"lifetime": 600, "spendable": 600}));
    assert_eq!(got["tier"], "Advocate");

    let (status, mug) = api
        .call(
            Method::POST,
            "/program/rewards",
            json!({"name": "Mug", "points": 250, "stock": 10, "fulfilment": "auto"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mug}");
    let (status, trip) = api
        .call(
            Method::POST,
            "/program/rewards",
            json!({"name": "Visit the team", "points": 5000, "fulfilment": "manual", "kind": "experience"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{trip}");
    // A trusted member's automatic reward is fulfilled at once.
    let (status, r) = api
        .call(
            Method::POST,
            "/program/redemptions",
            json!({"member": m, "reward": mug["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "fulfilled");
    let (status, refused) = api
        .call(
            Method::POST,
            "/program/redemptions",
            json!({"member": m, "reward": trip["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "insufficient_points");
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(got["points"], json!({"lifetime": 600, "spendable": 350}));

    // An untrusted member's automatic reward waits for a person.
    api.customer("radu@example.com").await;
    let (status, open) = api
        .call(
            Method::POST,
            "/program/members",
            json!({"customer": "radu@example.com", "joined_by": "open_sign_up"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(open["trusted"], false);
    let o = open["id"].as_i64().unwrap();
    api.call(
        Method::POST,
        "/program/points",
        json!({"member": o, "amount": 300, "reason": "review", "idempotency_key": "radu-1"}),
    )
    .await;
    let (_, r) = api
        .call(
            Method::POST,
            "/program/redemptions",
            json!({"member": o, "reward": mug["id"]}),
        )
        .await;
    assert_eq!(r["state"], "pending_approval");
    let (status, refused) = api
        .call(
            Method::PATCH,
            &format!("/program/redemptions/{}", r["id"]),
            json!({"state": "refused", "reason": "duplicate account"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{o}"), json!({}))
        .await;
    assert_eq!(
        got["points"]["spendable"], 300,
        "a refusal releases the hold"
    );
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/program/redemptions/{}", r["id"]),
            json!({"state": "approved"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "refused is final");
    let (_, ledger) = api
        .call(
            Method::GET,
            &format!("/program/members/{o}/ledger"),
            json!({}),
        )
        .await;
    let kinds: Vec<&str> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["release", "hold", "earn"]);
    let (_, board) = api
        .call(
            Method::GET,
            "/program/leaderboard?period=all_time",
            json!({}),
        )
        .await;
    let places = board["places"].as_array().unwrap();
    assert_eq!(places[0]["member_id"], m);
    assert_eq!(places[0]["name"], "Ana P.");
    assert_eq!(places[1]["member_id"], o);

    // A challenge with a stage a person approves, through the API ...
    // Badges: one at 700 lifetime points (earned below), one by hand.
    let (status, seven) = api
        .call(
            Method::POST,
            "/program/badges",
            json!({"name": "Seven hundred", "rule": {"kind": "points", "at_least": 700}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seven}");
    let (_, helper) = api
        .call(
            Method::POST,
            "/program/badges",
            json!({"name": "Community helper", "description": "Answers peers in the forum", "rule": {"kind": "manual"}}),
        )
        .await;
    let (status, _) = api
        .call(
            Method::POST,
            "/program/badges",
            json!({"name": "Seven hundred", "rule": {"kind": "manual"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "names are unique");
    let (status, with) = api
        .call(
            Method::POST,
            &format!("/program/members/{m}/badges"),
            json!({"badge": helper["id"]}),
        )
        .await;
    assert_eq!((status, &with["badges"]), (StatusCode::CREATED, &json!(1)));
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/program/members/{m}/badges"),
            json!({"badge": helper["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "held already");
    let (status, thanks) = api
        .call(
            Method::POST,
            &format!("/program/members/{m}/recognitions"),
            json!({"message": "Thank you for the webinar, Ana!", "public": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thanks}");
    let (status, challenge) = api
        .call(
            Method::POST,
            "/program/challenges",
            json!({"name": "Case study", "stages": [{"kind": "approval", "title": "We read your draft", "points": 100}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{challenge}");
    let (status, denied) = api
        .call(
            Method::POST,
            "/program/challenges",
            json!({"name": "Paid reviews", "stages": [{"kind": "review", "title": "Google", "platform": "google", "points": 50}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (&denied["error"]["code"], &denied["error"]["rule"]),
        (&json!("compliance"), &json!("R3"))
    );
    let (status, waiting) = api
        .call(
            Method::POST,
            &format!("/program/challenges/{}/submissions", challenge["id"]),
            json!({"member": m, "answer": "Draft attached by email"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{waiting}");
    assert_eq!(waiting["state"], "submitted");
    let (status, again) = api
        .call(
            Method::POST,
            &format!("/program/challenges/{}/submissions", challenge["id"]),
            json!({"member": m}),
        )
        .await;
    assert_eq!(
        (status, &again["error"]["code"]),
        (StatusCode::CONFLICT, &json!("waiting"))
    );
    // ... approved on the staff page, in Romanian.
    let hash = vouch_server::hash_password("program page password");
    db.store
        .add_user("lia@acme.example", Role::Manager, &hash, chrono::Utc::now())
        .await
        .unwrap();
    let cookie = super::sign_in(&api.server, "lia@acme.example", "program page password").await;
    let page = api
        .server
        .client
        .get(format!("{}/program", api.server.base))
        .header("cookie", &cookie)
        .header("accept-language", "ro")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Etape de aprobat") && html.contains("We read your draft"),
        "{html}"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let decided = api
        .server
        .client
        .post(format!(
            "{}/program/submissions/{}",
            api.server.base, waiting["id"]
        ))
        .header("cookie", &cookie)
        .header("origin", &api.server.base)
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "approve"),
            ("note", "Great draft"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    assert!(
        decided.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/program?saved=1")
    );
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(
        got["points"]["lifetime"], 700,
        "the approved stage paid its 100"
    );
    assert_eq!(got["badges"], 2, "700 points earned the automatic badge");
    let (_, events) = api
        .call(
            Method::GET,
            "/events?type=program.badge_awarded,program.recognized",
            json!({}),
        )
        .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 3, "{events}");

    let (status, kpis) = api.call(Method::GET, "/program/kpis", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{kpis}");
    assert_eq!(kpis["active_advocates"], 2);
    // Earning entries: the talk, Radu's review, the approved stage.
    assert_eq!(kpis["actions_per_advocate"], 1.5);

    // Erasing the customer leaves the ledger (finance keeps it) without the person.
    let (status, _) = api
        .call(Method::DELETE, &format!("/customers/{id}"), json!({}))
        .await;
    assert!(status.is_success(), "{status}");
    let (_, gone) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(gone["status"], "left");
    assert_eq!(gone["customer_id"], Value::Null);
    assert_eq!(gone["points"], json!({"lifetime": 700, "spendable": 450}));
}

async fn referral_links_record_clicks_and_conversions_carry_their_signals(db: &TestDb) {
    let store = &db.store;
    let api = Api::start(db).await;
    let (_, mut settings) = api.call(Method::GET, "/program/settings", json!({})).await;
    settings["landing_url"] = json!("ftp://shop.example/");
    let (status, _) = api
        .call(Method::PUT, "/program/settings", settings.clone())
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an http(s) landing URL only"
    );
    settings["landing_url"] = json!("https://shop.example/welcome");
    let (status, saved) = api.call(Method::PUT, "/program/settings", settings).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["referral"]["window_days"], 90);
    api.customer("ana.pop@example.com").await;
    let member = api.member(json!("ana.pop@example.com")).await;
    let m = member["id"].as_i64().unwrap();
    let (status, link) = api
        .call(Method::POST, "/referrals/links", json!({"member": m}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let code = link["code"].as_str().unwrap().to_owned();
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/r/{code}"))
    );
    let (status, capped) = api
        .call(
            Method::PATCH,
            &format!("/referrals/links/{code}"),
            json!({"click_cap": 50}),
        )
        .await;
    assert_eq!((status, &capped["click_cap"]), (StatusCode::OK, &json!(50)));
    let (status, again) = api
        .call(Method::POST, "/referrals/links", json!({"member": m}))
        .await;
    assert_eq!((status, &again["code"]), (StatusCode::OK, &link["code"]));

    // The friend follows the link: a click, a cookie, a redirect that stays home.
    let follow = |to: &str| {
        let url = format!("{}/r/{code}{to}", api.server.base);
        let client = api.server.client.clone();
        async move {
            client
                .get(url)
                .header("referer", "https://www.facebook.com/some/post")
                .send()
                .await
                .unwrap()
        }
    };
    let response = follow("?to=https://evil.example/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("https://shop.example/welcome?ref={code}&click=")),
        "{location}"
    );
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("vouch_visitor=")
    );
    let click = location.rsplit("click=").next().unwrap().to_owned();
    let unknown = api
        .server
        .client
        .get(format!("{}/r/NOSUCHCODE", api.server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // A clean friend, by the click: pending through the hold period.
    let convert = |body: Value| api.call(Method::POST, "/referrals/conversions", body);
    let (status, clean) = convert(
        json!({"click": click, "external_order_id": "A-1", "value": 49.9,
        "currency": "EUR", "email": "mihai@example.org"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{clean}");
    assert_eq!(clean["referral"]["status"], "pending");
    assert_eq!(clean["referral"]["signals"], json!([]));
    assert_eq!(clean["referral"]["value_cents"], 4990);
    // The same order again: the same referral, 200.
    let (status, retry) = convert(
        json!({"click": click, "external_order_id": "A-1", "value": 49.9,
        "currency": "EUR", "email": "mihai@example.org"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retry["referral"]["id"], clean["referral"]["id"]);

    let signals = |v: &Value| -> Vec<(String, String)> {
        v["referral"]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["rule"].as_str().unwrap().into(),
                    s["action"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let pair = |r: &str, a: &str| (r.to_owned(), a.to_owned());
    let (_, own) = convert(
        json!({"code": code, "external_order_id": "A-2", "value": 20,
        "currency": "EUR", "email": "Ana.Pop+deals@example.com"}),
    )
    .await;
    assert_eq!(own["referral"]["status"], "blocked");
    assert_eq!(signals(&own), [pair("self_referral", "block")]);
    let (_, throwaway) = convert(
        json!({"code": code.to_lowercase(), "external_order_id": "A-3", "value": 20,
        "currency": "eur", "email": "x@mailinator.com"}),
    )
    .await;
    assert_eq!(throwaway["referral"]["status"], "flagged");
    assert_eq!(signals(&throwaway), [pair("disposable_email", "flag")]);
    assert!(throwaway["referral"]["review_due"].is_string());
    // A friend already referred by someone else stays theirs.
    api.customer("dan@example.com").await;
    let other = api.member(json!("dan@example.com")).await;
    let (_, other_link) = api
        .call(
            Method::POST,
            "/referrals/links",
            json!({"member": other["id"], "code": "DAN-FRIENDS"}),
        )
        .await;
    // Codes are read without case or dashes: shown as they match.
    assert_eq!(other_link["code"], "DANFRIENDS");
    let (_, taken) = convert(
        json!({"code": "dan-friends", "external_order_id": "A-4", "value": 30,
        "currency": "EUR", "email": "mihai@example.org"}),
    )
    .await;
    assert_eq!(signals(&taken), [pair("already_referred", "block")]);
    // An existing customer is not new.
    let (_, existing) = convert(
        json!({"code": code, "external_order_id": "A-5", "value": 30,
        "currency": "EUR", "email": "dan@example.com"}),
    )
    .await;
    assert_eq!(signals(&existing), [pair("existing_customer", "block")]);

    // The review queue: approve the flagged one; it waits out its hold.
    let (_, queue) = api
        .call(Method::GET, "/referrals?status=flagged", json!({}))
        .await;
    assert_eq!(queue["referrals"].as_array().unwrap().len(), 1);
    let flagged = throwaway["referral"]["id"].as_i64().unwrap();
    let (status, decided) = api
        .call(
            Method::PATCH,
            &format!("/referrals/{flagged}"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(
        decided["referral"]["status"], "pending",
        "approved, it waits out its hold"
    );
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/referrals/{flagged}"),
            json!({"decision": "block"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(
        got["points"]["lifetime"], 0,
        "nothing is paid during the hold"
    );

    // The hold ends: both pending referrals pay; a refund takes one back.
    db.execute("UPDATE referrals SET pays_at = created_at WHERE status = 'pending'")
        .await;
    assert_eq!(
        vouch_app::program::pay_due_referrals(store, chrono::Utc::now())
            .await
            .unwrap(),
        2
    );
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(got["points"]["lifetime"], 1000);
    let (status, refunded) = api
        .call(
            Method::POST,
            "/referrals/refunds",
            json!({"external_order_id": "A-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refunded}");
    assert_eq!(refunded["referral"]["status"], "reversed");
    let (_, got) = api
        .call(Method::GET, &format!("/program/members/{m}"), json!({}))
        .await;
    assert_eq!(
        got["points"]["lifetime"], 500,
        "the refund reversed the reward"
    );
    // The paid referral's order feeds the KPIs' referral revenue.
    let (_, referrals) = api
        .call(Method::GET, "/referrals?status=approved", json!({}))
        .await;
    let paid: i64 = referrals["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value_cents"].as_i64().unwrap())
        .sum();
    assert!(paid > 0, "{referrals}");
    let (_, kpis) = api.call(Method::GET, "/metrics/kpis", json!({})).await;
    assert_eq!(
        kpis["referral_revenue"],
        json!([{"currency": "EUR", "cents": paid}]),
        "{kpis}"
    );

    // Attribution: a click 91 days old is outside the 90-day window.
    let second = follow("").await;
    let location = second.headers()["location"].to_str().unwrap().to_owned();
    let old_click = location.rsplit("click=").next().unwrap().to_owned();
    let (status, inside) = convert(
        json!({"click": old_click, "external_order_id": "B-1", "value": 10,
        "currency": "EUR", "email": "ioana@example.net"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{inside}");
    let third = follow("").await;
    let location = third.headers()["location"].to_str().unwrap().to_owned();
    let stale = location.rsplit("click=").next().unwrap().to_owned();
    let moved = if db.url.starts_with("sqlite") {
        format!(
            "UPDATE referral_clicks SET at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-91 days') WHERE click_key = '{stale}'"
        )
    } else {
        format!(
            "UPDATE referral_clicks SET at = now() - interval '91 days' WHERE click_key = '{stale}'"
        )
    };
    db.execute(&moved).await;
    let (status, outside) = convert(
        json!({"click": stale, "external_order_id": "B-2", "value": 10,
        "currency": "EUR", "email": "elena@example.net"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outside}");
    assert_eq!(outside["error"]["code"], "outside_window");
}

/// A member signs in to the portal by the link emailed to them (aiosmtpd),
/// completes a challenge whose last stage a manager approves, redeems a
/// reward and sees it all in the ledger, in English and in Romanian.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signs_in_by_emailed_link_completes_a_challenge_redeems_and_sees_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = super::surveys::smtp_sink(dir.path()) else {
        return;
    };
    let Some(browser) = super::Browser::start().await else {
        return;
    };
    let store =
        vouch_store::Store::open(&format!("sqlite://{}", dir.path().join("v.db").display()))
            .await
            .unwrap();
    let server = super::start_with(
        store.clone(),
        vouch_domain::ContactPolicy::default(),
        Some(sink.url.clone()),
    )
    .await;
    let reward = store
        .add_reward(
            &vouch_store::NewReward {
                name: "Vouch mug".into(),
                kind: vouch_domain::program::RewardKind::Swag,
                points: 250,
                stock: Some(10),
                min_tier: None,
                per_member_limit: None,
                fulfilment: vouch_domain::program::Fulfilment::Auto,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let challenge = store
        .add_challenge(
            &serde_json::from_value(json!({
                "name": "Tell us your story",
                "stages": [
                    {"kind": "answer", "title": "What changed for you?", "questions": ["What did Vouch change for your team?"], "points": 50},
                    {"kind": "approval", "title": "We read it", "points": 200}
                ]
            }))
            .unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let staff = super::token(&store, Role::Manager).await;
    let page = &browser.client;
    let mut outcomes = Vec::new();
    for (n, (language, delivered, spent)) in
        [("en", "Delivered", "Spent"), ("ro", "Livrată", "Cheltuite")]
            .into_iter()
            .enumerate()
    {
        let email = format!("member-{language}@example.com");
        let mut profile = vouch_domain::CustomerProfile::new(
            vouch_domain::Locale::parse(language).unwrap(),
            chrono::Utc::now(),
        );
        profile.email = Some(vouch_domain::Email::parse(&email).unwrap());
        profile.name = Some(format!("Member {language}"));
        let customer = store.insert_customers(&[profile]).await.unwrap()[0];
        let (member, _) = store
            .add_member(
                customer,
                vouch_domain::program::JoinedBy::Invitation,
                Some("2026-12"),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        vouch_app::program::award(
            &store,
            &vouch_app::program::Award {
                member: member.id,
                amount: 600,
                reason: "Spoke at a webinar".into(),
                idempotency_key: format!("webinar-{language}"),
                source: "test".into(),
                actor: "test".into(),
            },
        )
        .await
        .unwrap()
        .unwrap();
        let outcome = async {
            use fantoccini::Locator;
            page.goto(&format!("{}/portal", server.base)).await?;
            page.find(Locator::Id("email"))
                .await?
                .send_keys(&email)
                .await?;
            page.find(Locator::Css("button[type=submit]"))
                .await?
                .click()
                .await?;
            page.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Id("message"))
                .await?;
            let mails = super::surveys::wait_for_mails(&sink.maildir, n + 1).await;
            let mail = super::surveys::mail_to(&mails, &email)
                .first()
                .map(|m| (*m).clone())
                .expect("the sign-in link was mailed");
            let at = mail.find("/portal/in/").expect("a link in the mail");
            let token: String = mail[at + 11..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            assert_eq!(token.len(), 64, "{mail}");
            page.goto(&format!("{}/portal/in/{token}", server.base))
                .await?;
            page.find(Locator::Css("button[type=submit]"))
                .await?
                .click()
                .await?;
            let spendable = page
                .wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Id("spendable"))
                .await?
                .text()
                .await?;
            assert_eq!(spendable, "600");
            let lang = page.find(Locator::Css("html")).await?.attr("lang").await?;
            assert_eq!(lang.as_deref(), Some(language));
            // The challenge: an answer (paid at once), then a stage a person approves.
            let form = format!("#challenge-{} form", challenge.id);
            page.find(Locator::Css(&format!("{form} textarea")))
                .await?
                .send_keys("We answer detractors the same day now.")
                .await?;
            page.find(Locator::Css(&format!("{form} button")))
                .await?
                .click()
                .await?;
            page.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Css("p[role=status]"))
                .await?;
            assert_eq!(
                page.find(Locator::Id("spendable")).await?.text().await?,
                "650"
            );
            page.find(Locator::Css(&format!("{form} button")))
                .await?
                .click()
                .await?;
            page.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Css(&format!(
                    "#challenge-{} .waiting",
                    challenge.id
                )))
                .await?;
            // A manager approves the waiting stage through the API.
            let queue: Value = server
                .client
                .get(format!(
                    "{}/api/v1/program/submissions?state=submitted",
                    server.base
                ))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let waiting = queue["submissions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["member_id"] == member.id)
                .expect("the stage waits for approval")["id"]
                .clone();
            let approved = server
                .client
                .patch(format!(
                    "{}/api/v1/program/submissions/{waiting}",
                    server.base
                ))
                .bearer_auth(&staff)
                .json(&json!({"decision": "approve", "note": "Lovely, thank you"}))
                .send()
                .await
                .unwrap();
            assert_eq!(approved.status(), StatusCode::OK);
            page.refresh().await?;
            page.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Css(&format!("#challenge-{} .done", challenge.id)))
                .await?;
            assert_eq!(
                page.find(Locator::Id("spendable")).await?.text().await?,
                "850"
            );
            page.find(Locator::Css(&format!(
                "form[action='/portal/redeem'] input[value='{}'] ~ button",
                reward.id
            )))
            .await?
            .click()
            .await?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !page
                .current_url()
                .await?
                .as_str()
                .ends_with("done=redeemed")
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the redemption never came back"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(
                page.find(Locator::Id("spendable")).await?.text().await?,
                "600"
            );
            let redemptions = page.find(Locator::Id("redemptions")).await?.text().await?;
            assert!(
                redemptions.contains("Vouch mug") && redemptions.contains(delivered),
                "{redemptions}"
            );
            let ledger = page.find(Locator::Id("ledger")).await?.text().await?;
            for line in [
                "-250",
                "+600",
                "+50",
                "+200",
                "Tell us your story: We read it",
            ] {
                assert!(
                    ledger.contains(spent) && ledger.contains(line),
                    "{line}: {ledger}"
                );
            }
            // The signed-in portal, at a phone's width too, under axe-core.
            for (width, height) in [(1366, 900), (390, 844)] {
                page.set_window_size(width, height).await?;
                if let Some(found) = browser.axe().await {
                    assert!(
                        found.is_empty(),
                        "axe-core on the signed-in portal ({language}, {width}px): {found:?}"
                    );
                }
            }
            if let Ok(dir) = std::env::var("VOUCH_TEST_SCREENSHOT_DIR") {
                std::fs::write(
                    format!("{dir}/portal-{language}.png"),
                    page.screenshot().await?,
                )
                .unwrap();
            }
            // The link worked once.
            page.find(Locator::Css("form[action='/portal/logout'] button"))
                .await?
                .click()
                .await?;
            // Signed out: the sign-in form again.
            page.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Id("email"))
                .await?;
            page.goto(&format!("{}/portal/in/{token}", server.base))
                .await?;
            let confirm = page
                .wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Id("message"))
                .await?
                .text()
                .await?;
            page.find(Locator::Css("button[type=submit]"))
                .await?
                .click()
                .await?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let gone = loop {
                if let Ok(h1) = page.find(Locator::Id("message")).await
                    && let Ok(text) = h1.text().await
                    && text != confirm
                {
                    break text;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no answer to a spent link"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            Ok::<_, fantoccini::error::CmdError>(gone)
        }
        .await;
        outcomes.push(outcome);
    }
    browser.close().await;
    // The open join page: a known customer gets a link; joining so is untrusted.
    let mut profile = vouch_domain::CustomerProfile::new(
        vouch_domain::Locale::parse("en").unwrap(),
        chrono::Utc::now(),
    );
    profile.email = Some(vouch_domain::Email::parse("joiner@example.com").unwrap());
    let joiner = store.insert_customers(&[profile]).await.unwrap()[0];
    let asked = server
        .client
        .post(format!("{}/portal/join", server.base))
        .header("origin", &server.base)
        .form(&[("email", "joiner@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::OK);
    let mails = super::surveys::wait_for_mails(&sink.maildir, 3).await;
    let mail = super::surveys::mail_to(&mails, "joiner@example.com")[0].replace("=\n", "");
    let at = mail.find("/portal/join/").expect("a join link");
    let token: String = mail[at + 13..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let joined = server
        .client
        .post(format!("{}/portal/join/{token}", server.base))
        .header("origin", &server.base)
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let member = store.member_of_customer(joiner).await.unwrap().unwrap();
    assert!(!member.trusted, "an open sign-up is untrusted");
    assert_eq!(
        member.joined_by,
        vouch_domain::program::JoinedBy::OpenSignUp
    );
    assert_eq!(member.terms_version.as_deref(), Some("2026-12"));
    let gone: Vec<String> = outcomes
        .into_iter()
        .map(|o| o.expect("the browser steps"))
        .collect();
    assert_eq!(
        gone,
        // Signed out, a page speaks the browser's language (English here).
        ["This link no longer works", "This link no longer works"],
        "a spent link does not sign in again"
    );
    drop(sink);
}

async fn unspent_points_expire_oldest_first_once_a_month(db: &TestDb) {
    use vouch_domain::program::EntryKind;
    let store = &db.store;
    vouch_app::program::save_settings(
        store,
        &vouch_app::program::ProgramSettings {
            expire_months: Some(12),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut p = vouch_domain::CustomerProfile::new(
        vouch_domain::Locale::parse("en").unwrap(),
        chrono::Utc::now(),
    );
    p.email = Some(vouch_domain::Email::parse("old@example.com").unwrap());
    let customer = store.insert_customers(&[p]).await.unwrap()[0];
    let (m, _) = store
        .add_member(
            customer,
            vouch_domain::program::JoinedBy::Staff,
            None,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let entry = |kind, amount, key: &str| vouch_store::NewEntry {
        member_id: m.id,
        kind,
        amount,
        reason: "test".into(),
        source: "test".into(),
        actor: "test".into(),
        idempotency_key: key.into(),
        redemption_id: None,
        reverses: None,
    };
    store
        .add_entry(
            &entry(EntryKind::Earn, 500, "old"),
            now - chrono::Duration::days(400),
        )
        .await
        .unwrap()
        .unwrap();
    store
        .add_entry(
            &entry(EntryKind::Adjust, -200, "used"),
            now - chrono::Duration::days(100),
        )
        .await
        .unwrap()
        .unwrap();
    store
        .add_entry(&entry(EntryKind::Earn, 100, "new"), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        vouch_app::program::expire_points(store, now).await.unwrap(),
        1
    );
    let b = store.balance(m.id).await.unwrap();
    assert_eq!(
        (b.spendable, b.lifetime),
        (100, 400),
        "the 300 old unspent points went; lifetime keeps them"
    );
    assert_eq!(
        vouch_app::program::expire_points(store, now).await.unwrap(),
        0,
        "once a month"
    );
}

/// A gift-code reward's stock is its codes: each is sealed, loaded once,
/// and handed out once, to a fulfilled redemption or (as the friend's
/// side of the referral reward) to a referred friend.
async fn gift_codes_are_handed_out_once_to_redemptions_and_referred_friends(db: &TestDb) {
    let store = &db.store;
    let api = Api::start(db).await;
    let (status, refused) = api
        .call(
            Method::POST,
            "/program/rewards",
            json!({"name": "Shop voucher", "points": 100, "stock": 5, "fulfilment": "auto", "kind": "gift_code"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "stock");
    let (status, voucher) = api
        .call(
            Method::POST,
            "/program/rewards",
            json!({"name": "Shop voucher", "points": 100, "fulfilment": "auto", "kind": "gift_code"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{voucher}");
    assert_eq!(voucher["stock"], 0);
    let v = voucher["id"].as_i64().unwrap();
    let codes = json!({"codes": ["VCH-AAAA-1111", "VCH-BBBB-2222", "VCH-AAAA-1111", " "]});
    let (status, added) = api
        .call(
            Method::POST,
            &format!("/program/rewards/{v}/codes"),
            codes.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(
        (added["added"].as_u64(), added["reward"]["stock"].as_i64()),
        (Some(2), Some(2))
    );
    let (_, again) = api
        .call(Method::POST, &format!("/program/rewards/{v}/codes"), codes)
        .await;
    assert_eq!(
        (again["added"].as_u64(), again["reward"]["stock"].as_i64()),
        (Some(0), Some(2)),
        "a re-upload adds nothing"
    );
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/program/rewards/{v}"),
            json!({"add_stock": 3}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "its stock is its codes"
    );
    if store.seals_secrets() {
        let stored = db.everything_stored().await;
        assert!(
            !stored.contains("VCH-AAAA-1111") && !stored.contains("VCH-BBBB-2222"),
            "sealed at rest"
        );
    }

    // A trusted member redeems it three times: two codes, then a backorder.
    api.customer("ana@example.com").await;
    let m = api.member(json!("ana@example.com")).await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = api
        .call(
            Method::POST,
            "/program/points",
            json!({"member": m, "amount": 500, "reason": "talk", "idempotency_key": "gift-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut states = Vec::new();
    for _ in 0..3 {
        let (status, r) = api
            .call(
                Method::POST,
                "/program/redemptions",
                json!({"member": m, "reward": v}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        states.push(r["state"].as_str().unwrap().to_owned());
    }
    assert_eq!(states, ["fulfilled", "fulfilled", "backordered"]);
    let handed = store.redemption_codes(m).await.unwrap();
    let mut got: Vec<&str> = handed.values().map(String::as_str).collect();
    got.sort();
    assert_eq!(got, ["VCH-AAAA-1111", "VCH-BBBB-2222"], "each code once");

    // The friend's side of the referral reward comes from another pool.
    let (_, friends) = api
        .call(
            Method::POST,
            "/program/rewards",
            json!({"name": "10% off a first order", "points": 1, "fulfilment": "manual", "kind": "gift_code"}),
        )
        .await;
    let f = friends["id"].as_i64().unwrap();
    api.call(
        Method::POST,
        &format!("/program/rewards/{f}/codes"),
        json!({"codes": ["WELCOME-1", "WELCOME-2"]}),
    )
    .await;
    api.call(
        Method::PATCH,
        &format!("/program/rewards/{f}"),
        json!({"active": false}),
    )
    .await;
    let (_, mut settings) = api.call(Method::GET, "/program/settings", json!({})).await;
    settings["friend_reward_id"] = json!(f);
    let (status, saved) = api.call(Method::PUT, "/program/settings", settings).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, link) = api
        .call(Method::POST, "/referrals/links", json!({"member": m}))
        .await;
    let order = |id: &str, email: &str| json!({"code": link["code"], "external_order_id": id, "value": 80.0, "currency": "EUR", "email": email});
    let (status, first) = api
        .call(
            Method::POST,
            "/referrals/conversions",
            order("o-1", "dan.new@example.org"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["referral"]["status"], "pending", "{first}");
    let code = first["friend_reward"]["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("WELCOME-"), "{first}");
    let (status, retry) = api
        .call(
            Method::POST,
            "/referrals/conversions",
            order("o-1", "dan.new@example.org"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        retry["friend_reward"]["code"],
        code.as_str(),
        "the same code on a retry"
    );
    // A self-referral is blocked: the friend gets nothing.
    let (_, blocked) = api
        .call(
            Method::POST,
            "/referrals/conversions",
            order("o-2", "ana@example.com"),
        )
        .await;
    assert_eq!(blocked["referral"]["status"], "blocked", "{blocked}");
    assert!(blocked.get("friend_reward").is_none(), "{blocked}");
    let pool = store.reward(f).await.unwrap().unwrap();
    assert_eq!(pool.stock, Some(1), "one friend code handed out");

    // A friend who is a customer is marked as referred by the advocate, so
    // the referral rate among new customers counts them.
    let (_, mut settings) = api.call(Method::GET, "/program/settings", json!({})).await;
    settings["referral"]["new_customers_only"] = json!(false);
    api.call(Method::PUT, "/program/settings", settings).await;
    let ana = store.member(m).await.unwrap().unwrap().customer_id.unwrap();
    let ioana = api.customer("ioana.friend@example.org").await;
    let (status, known) = api
        .call(
            Method::POST,
            "/referrals/conversions",
            order("o-3", "ioana.friend@example.org"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{known}");
    assert_eq!(known["referral"]["status"], "pending", "{known}");
    let (_, friend) = api
        .call(Method::GET, &format!("/customers/{ioana}"), json!({}))
        .await;
    assert_eq!(friend["referred_by"], ana, "{friend}");
}

/// A join code lets people join (untrusted, counted), until it is used up;
/// with open sign-ups off, the join page asks for one.
async fn join_codes_let_people_join_until_used_up_and_can_be_required(db: &TestDb) {
    let store = &db.store;
    let api = Api::start(db).await;
    let (status, code) = api
        .call(
            Method::POST,
            "/program/join-codes",
            json!({"code": "spring-26", "max_uses": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{code}");
    assert_eq!(code["code"], "SPRING-26");
    let (status, taken) = api
        .call(
            Method::POST,
            "/program/join-codes",
            json!({"code": "Spring-26"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{taken}");
    assert_eq!(taken["error"]["field"], "code");
    for bad in [json!({"code": ""}), json!({"code": " SPRING-27"})] {
        let (status, refused) = api.call(Method::POST, "/program/join-codes", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    }
    let (status, array) = api
        .call(Method::POST, "/program/join-codes", json!([null, null]))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a body is an object: {array}"
    );
    let (status, drawn) = api
        .call(Method::POST, "/program/join-codes", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{drawn}");
    assert_eq!(drawn["code"].as_str().unwrap().len(), 8, "{drawn}");

    let (_, mut settings) = api.call(Method::GET, "/program/settings", json!({})).await;
    settings["open_sign_up"] = json!(false);
    let (status, _) = api.call(Method::PUT, "/program/settings", settings).await;
    assert_eq!(status, StatusCode::OK);
    let base = &api.server.base;
    let ask = |form: Vec<(&'static str, &'static str)>| {
        api.server
            .client
            .post(format!("{base}/portal/join"))
            .header("origin", base.as_str())
            .form(&form)
            .send()
    };
    let page = ask(vec![("email", "ioana@example.com")]).await.unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().await.unwrap().contains("needs a join code"));
    let page = ask(vec![("email", "ioana@example.com"), ("code", "NOPE-1234")])
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().await.unwrap().contains("does not work"));
    let page = ask(vec![
        ("email", "ioana@example.com"),
        ("code", " spring-26 "),
    ])
    .await
    .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "a valid code, in any case");

    // Two people got links with the code; it takes one, so the second
    // joins as an open sign-up (both untrusted).
    let mut joined = Vec::new();
    for email in ["ioana@example.com", "mihai@example.com"] {
        let id = api.customer(email).await;
        let link = vouch_app::portal::join_link(
            store,
            vouch_domain::CustomerId(id),
            vouch_domain::program::JoinedBy::OpenSignUp,
            Some("SPRING-26"),
            base,
        )
        .await
        .unwrap();
        let done = api
            .server
            .client
            .post(&link)
            .header("origin", base.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let member = store
            .member_of_customer(vouch_domain::CustomerId(id))
            .await
            .unwrap()
            .unwrap();
        joined.push((member.joined_by.as_str().to_owned(), member.trusted));
    }
    assert_eq!(
        joined,
        [
            ("join_code".to_owned(), false),
            ("open_sign_up".to_owned(), false)
        ]
    );
    let (_, codes) = api
        .call(Method::GET, "/program/join-codes", json!({}))
        .await;
    let spring = codes["join_codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "SPRING-26")
        .unwrap()
        .clone();
    assert_eq!(spring["uses"], 1, "{spring}");
    let page = ask(vec![("email", "x@example.com"), ("code", "SPRING-26")])
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY, "used up");
    let (status, off) = api
        .call(
            Method::PATCH,
            &format!("/program/join-codes/{}", drawn["code"].as_str().unwrap()),
            json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(off["active"], false);
}
