//! The inbox over HTTP (both backends): full-text search and filters in
//! the URL with the total, actions on one item and in bulk (page and API),
//! saved views, the item page, and streamed CSV and JSON exports.

use reqwest::StatusCode;
use vouch_domain::{Feedback, Rating, Role, Source};
use vouch_testing::TestDb;

use super::pages::{get, person, staff};
use super::{json_of, start, token};

vouch_testing::on_both_backends!(
    the_inbox_searches_acts_in_bulk_saves_views_and_exports,
    a_long_search_backlog_is_said_on_the_inbox_and_indexed_by_the_job
);

/// The ids of the rows of an inbox page, in order.
fn row_ids(html: &str) -> Vec<i64> {
    html.split("<tr id=\"item-")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

async fn the_inbox_searches_acts_in_bulk_saves_views_and_exports(db: &TestDb) {
    let store = &db.store;
    let ana = store
        .insert_customers(&[person("Ana Popescu", "ana@example.ro", "pro")])
        .await
        .unwrap()[0];
    let now = chrono::Utc::now();
    let review = |id: &str, body: &str, stars: f64, hours: i64| {
        let mut f = Feedback::new(
            Source::Trustpilot,
            id,
            body,
            now - chrono::Duration::hours(hours),
        )
        .unwrap();
        f.rating = Some(Rating::stars(stars).unwrap());
        f
    };
    let mut items = vec![
        review("bad", "Factură greșită, a doua oară", 1.0, 1),
        review("good", "factura a sosit, totul bine", 5.0, 2),
        review(
            "formula",
            "=HYPERLINK(\"http://evil.example\") factura",
            3.0,
            3,
        ),
    ];
    items[0].customer_id = Some(ana);
    items.extend((0..60).map(|i| review(&format!("d{i}"), &format!("delivery {i}"), 4.0, 10 + i)));
    store.upsert_feedback(&items).await.unwrap();
    let server = start(store.clone()).await;
    let manager = staff(&server, store, "lead@acme.example", Role::Manager).await;
    let analyst = staff(&server, store, "ana.lyst@acme.example", Role::Analyst).await;

    // Search, any case and without diacritics, with the total.
    let (status, html) = get(&server, &manager, "/feedback?q=FACTURA").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(row_ids(&html).len(), 3, "{html}");
    assert!(html.contains("<b>3</b>"), "the total: {html}");
    let (_, html) = get(&server, &manager, "/feedback?q=factura&rating=1").await;
    let bad_id = row_ids(&html)[0];
    assert_eq!(row_ids(&html).len(), 1);
    let (_, all) = get(&server, &manager, "/feedback").await;
    assert_eq!(row_ids(&all).len(), 50);
    assert!(all.contains("<b>63</b>"), "the total is of every page");
    let (status, html) = get(&server, &manager, "/feedback?rating=6").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");

    // The API takes the same q and answers the total and the triage.
    let agent_token = token(store, Role::Agent).await;
    let api = |path: &str, bearer: &str| {
        server
            .client
            .get(format!("{}{path}", server.base))
            .bearer_auth(bearer)
            .send()
    };
    let (status, page) = json_of(
        api("/api/v1/feedback?q=factur%C4%83", &agent_token)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["feedback"][0]["tags"], serde_json::json!([]));
    assert_eq!(page["feedback"][0]["handled_at"], serde_json::Value::Null);

    // Bulk: assign the three; again changes nothing.
    let (_, html) = get(&server, &manager, "/feedback?q=factura").await;
    let csrf = super::csrf_field(&html);
    let ids = row_ids(&html);
    let act = |cookie: &str, fields: Vec<(String, String)>| {
        server
            .client
            .post(format!("{}/feedback/act", server.base))
            .header("cookie", cookie)
            .form(&fields)
            .send()
    };
    let mut bulk: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("action".into(), "assign".into()),
        ("assignee".into(), "lead@acme.example".into()),
        ("back".into(), "q=factura".into()),
    ];
    bulk.extend(ids.iter().map(|id| (format!("item_{id}"), "on".to_owned())));
    let done = act(&manager, bulk.clone()).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let to = done.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/feedback?q=factura&changed=3&unchanged=0&refused=0");
    let (_, html) = get(&server, &manager, &to).await;
    assert!(html.contains("role=\"status\" class=\"notice\""), "{html}");
    let again = act(&manager, bulk).await.unwrap();
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .contains("changed=0&unchanged=3")
    );
    let (_, html) = get(&server, &manager, "/feedback?assignee=lead%40acme.example").await;
    assert_eq!(row_ids(&html).len(), 3);

    // One item: handled, tagged, noted (a resent note is one note).
    let one = |action: &str, extra: &[(&str, &str)]| {
        let mut fields = vec![
            ("csrf".to_owned(), csrf.clone()),
            ("action".to_owned(), action.to_owned()),
            ("ids".to_owned(), bad_id.to_string()),
            ("back".to_owned(), format!("item:{bad_id}")),
        ];
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        act(&manager, fields)
    };
    for _ in 0..2 {
        let done = one("handled", &[]).await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        one("tag", &[("tag", "billing")]).await.unwrap();
        one(
            "note",
            &[("note", "Called <b>Ana</b> back"), ("key", "form-1")],
        )
        .await
        .unwrap();
    }
    let (status, html) = get(&server, &manager, &format!("/feedback/{bad_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html.matches("Called &#60;b&#62;Ana&#60;/b&#62; back")
            .count(),
        1,
        "{html}"
    );
    assert!(html.contains("#billing"));
    let (_, html) = get(&server, &manager, "/feedback?handled=true&tag=billing").await;
    assert_eq!(row_ids(&html), [bad_id]);
    let (_, html) = get(&server, &manager, "/feedback?handled=false&q=factura").await;
    assert_eq!(row_ids(&html).len(), 2);
    let refused = one("tag", &[("tag", "")]).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("A tag is 1 to 40 characters.")
    );

    // A task and a reply through the API: the reply rides on the item's task.
    let actions = |body: serde_json::Value, bearer: &str| {
        server
            .client
            .post(format!("{}/api/v1/feedback/actions", server.base))
            .bearer_auth(bearer)
            .json(&body)
            .send()
    };
    let (status, first) = json_of(
        actions(
            serde_json::json!({"ids": [bad_id], "action": "open_task"}),
            &agent_token,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["changed"], serde_json::json!([bad_id]));
    let task_id = first["tasks"][0]["task_id"].as_i64().unwrap();
    let (_, again) = json_of(
        actions(
            serde_json::json!({"ids": [bad_id], "action": "open_task"}),
            &agent_token,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(again["unchanged"], serde_json::json!([bad_id]));
    assert_eq!(again["tasks"][0]["task_id"], task_id, "the same task");
    let task = store.task(task_id).await.unwrap().unwrap();
    assert_eq!(task.customer_id, Some(ana.0));
    assert_eq!(task.signal_id, Some(bad_id));
    assert_eq!(task.priority, "normal");
    let anonymous = ids.iter().copied().find(|i| *i != bad_id).unwrap();
    let (status, reply) = json_of(
        actions(
            serde_json::json!({"ids": [bad_id, anonymous], "action": "reply", "subject": "Your invoice", "body": "Fixed: sorry."}),
            &agent_token,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["changed"], serde_json::json!([bad_id]));
    assert_eq!(reply["tasks"][0]["task_id"], task_id);
    assert_eq!(reply["refused"][0]["id"], anonymous);
    let (status, bad) = json_of(
        actions(serde_json::json!({"ids": [bad_id], "action": "assign", "assignee": "who@nowhere.example"}), &agent_token)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "assignee");
    let (status, _) = json_of(
        actions(
            serde_json::json!({"ids": [], "action": "handled"}),
            &agent_token,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, notes) = json_of(
        api(&format!("/api/v1/feedback/{bad_id}/notes"), &agent_token)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(notes.as_array().unwrap().len(), 1);
    let events = store
        .events_after(0, &[vouch_domain::EventKind::FeedbackTriaged], 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 3 + 1 + 1 + 1, "assign ×3, handled, tag, note");

    // Analysts read and export but do not act.
    let denied = act(
        &analyst,
        vec![
            ("csrf".into(), "x".into()),
            ("action".into(), "handled".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // Exports: the filtered view, streamed; a formula is defused.
    let csv = server
        .client
        .get(format!(
            "{}/feedback/export?q=factura&format=csv",
            server.base
        ))
        .header("cookie", &analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut reader = csv_reader(&text);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let body = header.iter().position(|h| h == "body").unwrap();
    assert!(
        rows.iter().any(|r| r[body].starts_with("'=HYPERLINK")),
        "{text}"
    );
    assert!(
        rows.iter()
            .any(|r| &r[body] == "Factură greșită, a doua oară")
    );
    let analyst_token = token(store, Role::Analyst).await;
    let json = api("/api/v1/feedback/export?format=json", &analyst_token)
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    let all: serde_json::Value = json.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 63);
    let denied = api("/api/v1/feedback/export", &agent_token).await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let bad = api("/api/v1/feedback/export?format=xml", &analyst_token)
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A saved view comes back as a link with its filters.
    let saved = server
        .client
        .post(format!("{}/feedback/views", server.base))
        .header("cookie", &manager)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Billing to do"),
            ("query", "tag=billing&handled=false&changed=3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&server, &manager, "/feedback").await;
    assert!(
        html.contains("<a href=\"/feedback?handled=false&#38;tag=billing\">Billing to do</a>"),
        "{html}"
    );

    // An unknown item is an HTML 404.
    let (status, html) = get(&server, &manager, "/feedback/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.starts_with("<!doctype html>"));
}

/// A bulk import's items (more than are indexed on the spot) are not
/// found by a search until the `search.index` job has indexed them, and
/// the inbox says how many that is, in the reader's language. Other filters
/// see them at once. PostgreSQL indexes as it writes: no notice there.
async fn a_long_search_backlog_is_said_on_the_inbox_and_indexed_by_the_job(db: &TestDb) {
    use vouch_domain::JobState;
    let store = &db.store;
    let sqlite = store.backend() == vouch_store::Backend::Sqlite;
    let server = start(store.clone()).await;
    let manager = staff(&server, store, "lead@acme.example", Role::Manager).await;
    // The schedule's first run (at start) is over before the import.
    for _ in 0..500 {
        let done = store.jobs(Some(JobState::Done), 1_000).await.unwrap();
        if done
            .iter()
            .any(|j| j.kind == vouch_domain::JobKind::SearchIndex)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let now = chrono::Utc::now();
    let waiting = vouch_app::search::INDEX_AT_ONCE + 1;
    let items: Vec<Feedback> = (0..waiting)
        .map(|i| {
            Feedback::new(
                Source::Yelp,
                format!("y{i}"),
                "the parking was impossible",
                now - chrono::Duration::minutes(i as i64),
            )
            .unwrap()
        })
        .collect();
    store.upsert_feedback(&items).await.unwrap();

    let (status, html) = get(&server, &manager, "/feedback?q=parking").await;
    assert_eq!(status, StatusCode::OK);
    let (_, all) = get(&server, &manager, "/feedback?source=yelp").await;
    assert_eq!(row_ids(&all).len(), 50, "other filters see them at once");
    if sqlite {
        assert!(row_ids(&html).is_empty(), "{html}");
        assert!(
            html.contains(&format!(
                "Items not yet searchable: <b>{waiting}</b>. They were imported"
            )),
            "{html}"
        );
        let ro = server
            .client
            .get(format!("{}/feedback?q=parking", server.base))
            .header("cookie", &manager)
            .header("accept-language", "ro")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            ro.contains(&format!(
                "Elemente încă negăsibile prin căutare: <b>{waiting}</b>."
            )),
            "{ro}"
        );
    } else {
        assert_eq!(row_ids(&html).len(), 50, "{html}");
        assert!(!html.contains("not yet searchable"), "{html}");
    }

    // What an import ends with: the backlog is too long to index on the
    // spot, so it queues the job, which the server's workers run.
    assert_eq!(
        vouch_app::search::after_writing(store).await.unwrap(),
        if sqlite { waiting } else { 0 }
    );
    let mut found = Vec::new();
    for _ in 0..1_500 {
        let (_, html) = get(&server, &manager, "/feedback?q=parking").await;
        if !html.contains("not yet searchable") && !row_ids(&html).is_empty() {
            found = row_ids(&html);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found.len(), 50, "the job indexed the backlog");
    assert_eq!(store.search_backlog().await.unwrap(), 0);
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::Reader::from_reader(text.as_bytes())
}

/// In Chromium, with the keyboard: `/` goes to the search box, a search
/// narrows the list, `j` and `e` mark the first item handled, `j`, `x`
/// and `a` tick an item and go to the assignee, and the bulk form assigns it.
#[tokio::test]
async fn a_browser_searches_the_inbox_and_works_items_by_keyboard() {
    use fantoccini::Locator;
    let Some(browser) = super::Browser::start().await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let now = chrono::Utc::now();
    let review = |id: &str, body: &str, hours: i64| {
        Feedback::new(
            Source::Google,
            id,
            body,
            now - chrono::Duration::hours(hours),
        )
        .unwrap()
    };
    store
        .upsert_feedback(&[
            review("a", "Factură greșită", 1),
            review("b", "factura dublă", 2),
            review("c", "delivery late", 3),
        ])
        .await
        .unwrap();
    let server = start(store.clone()).await;
    store
        .add_user(
            "lead@acme.example",
            Role::Manager,
            &vouch_server::hash_password("browser password 1"),
            now,
        )
        .await
        .unwrap();
    let page = &browser.client;
    let wait = std::time::Duration::from_secs(20);
    let outcome = async {
        browser
            .sign_in(
                &server.base,
                "/feedback",
                "lead@acme.example",
                "browser password 1",
            )
            .await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Css("#feedback"))
            .await?;
        page.active_element().await?.send_keys("/").await?;
        assert_eq!(
            page.active_element().await?.attr("id").await?.as_deref(),
            Some("f-q")
        );
        page.active_element()
            .await?
            .send_keys("factura\u{E007}")
            .await?;
        page.wait()
            .at_most(wait)
            .for_element(Locator::Css("#f-q[value=factura]"))
            .await?;
        let rows = page.find_all(Locator::Css("#feedback tbody tr")).await?;
        assert_eq!(rows.len(), 2, "the search narrows the list");
        let first: i64 = rows[0]
            .attr("id")
            .await?
            .unwrap()
            .trim_start_matches("item-")
            .parse()
            .unwrap();
        for key in ["j", "e"] {
            page.active_element().await?.send_keys(key).await?;
        }
        page.wait()
            .at_most(wait)
            .for_element(Locator::Css("p.notice"))
            .await?;
        let triage = store
            .triage_of(&[vouch_domain::FeedbackId(first)])
            .await
            .unwrap();
        assert!(
            triage[&vouch_domain::FeedbackId(first)]
                .handled_at
                .is_some(),
            "e marked it handled"
        );
        for key in ["j", "x", "a"] {
            page.active_element().await?.send_keys(key).await?;
        }
        assert_eq!(
            page.active_element().await?.attr("id").await?.as_deref(),
            Some("bulk-assignee")
        );
        page.active_element().await?.send_keys("lead").await?;
        page.find(Locator::Css("#bulk button[type=submit]"))
            .await?
            .send_keys("\u{E007}")
            .await?;
        // The earlier notice is on the page already: wait for the store.
        let deadline = std::time::Instant::now() + wait;
        loop {
            let triage = store
                .triage_of(&[vouch_domain::FeedbackId(first)])
                .await
                .unwrap();
            let assignee = triage[&vouch_domain::FeedbackId(first)].assignee.clone();
            if assignee.as_deref() == Some("lead@acme.example") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not assigned: {assignee:?}, {}",
                page.current_url().await?
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    outcome.expect("the browser steps");
    db.cleanup().await;
}

/// The dashboard on demo data: the response-rate, social, open and
/// overdue task tiles; flows between categories as a chart and a table
/// whose numbers are the transitions report's and whose links list those
/// customers; topic drivers in the order vouch-domain ranks them; reviews
/// by platform with the change and the share answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_flows_topic_drivers_tasks_and_reviews() {
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 300,
        months: 12,
        seed: 7,
        until: chrono::Utc::now(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    vouch_app::text::retag(store, |_, _| {}).await.unwrap();
    vouch_app::demo::run_playbooks(store, &Default::default(), 300)
        .await
        .unwrap();
    let server = start(store.clone()).await;
    let cookie = staff(&server, store, "mara@acme.example", Role::Manager).await;
    let (status, html) = get(&server, &cookie, "/?period=90d").await;
    assert_eq!(status, StatusCode::OK);
    for tile in [
        "tile-response-rate",
        "tile-social",
        "tile-open-tasks",
        "tile-overdue-tasks",
    ] {
        assert!(html.contains(&format!("id=\"{tile}\"")), "{tile}");
    }
    // Every tile leads to the list behind it.
    let tiles = html.matches("class=\"tile\"").count();
    let linked = html
        .split("class=\"tile\" id=\"")
        .skip(1)
        .filter(|t| {
            t.split_once("\">")
                .is_some_and(|(_, rest)| rest.starts_with("<a href="))
        })
        .count();
    assert_eq!((tiles, linked), (15, 15));
    let (open, overdue) = store.open_task_counts().await.unwrap();
    assert!(
        html.contains(&format!("<a href=\"/tasks\">Open tasks</a><b>{open}</b>")),
        "{html}"
    );
    assert!(html.contains("<a href=\"/tasks?overdue=true\">Overdue tasks</a>"));
    let (_, tasks) = get(&server, &cookie, "/tasks?overdue=true").await;
    assert_eq!(
        tasks.matches("<tr id=\"task-").count() as u64,
        overdue.min(200)
    );

    // Flows: the chart, and the table's cells are the report's.
    assert!(html.contains("id=\"flows\"") && html.contains("id=\"flows-narrow\""));
    let span = vouch_domain::analytics::Span::parse(
        Some("90d"),
        None,
        None,
        chrono::Utc::now().date_naive(),
    )
    .unwrap();
    let report = vouch_app::reports::transitions(
        store,
        span.from,
        span.to,
        chrono::Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS),
    )
    .await
    .unwrap();
    let table = html.split("<table id=\"flows-table\">").nth(1).unwrap();
    let table = table.split("</table>").next().unwrap();
    let promoters_to_passives = report
        .matrix
        .iter()
        .find(|c| c.from.as_str() == "promoter" && c.to.as_str() == "passive")
        .unwrap()
        .customers;
    let link = format!(
        "/customers?moved=promoter-passive&#38;from={}&#38;to={}",
        span.from.format("%Y-%m-%d"),
        span.to.format("%Y-%m-%d")
    );
    assert!(promoters_to_passives > 0, "the demo has movers");
    {
        assert!(
            table.contains(&format!("<a href=\"{link}\">{promoters_to_passives}</a>")),
            "{table}"
        );
        let (status, list) = get(&server, &cookie, &link.replace("&#38;", "&")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            list.contains(&format!(": {promoters_to_passives} customers")),
            "{list}"
        );
        assert_eq!(
            list.matches("<tr id=\"customer-").count() as u64,
            promoters_to_passives.min(50)
        );
    }
    let total: u64 = report.matrix.iter().map(|c| c.customers).sum();
    assert_eq!(total, 300, "every customer is in one flow");
    let (status, _) = get(
        &server,
        &cookie,
        "/customers?moved=promoter-nowhere&from=2026-01-01&to=2026-02-01",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The customer list by category and by last signal, 50 a page.
    let all: std::collections::BTreeSet<vouch_domain::CustomerId> =
        (1..=300).map(vouch_domain::CustomerId).collect();
    let categories = store.categories_of(&all).await.unwrap();
    let detractors = categories
        .values()
        .filter(|c| c.is_some_and(|c| c.category == vouch_domain::LoyaltyCategory::Detractor))
        .count();
    let (status, list) = get(&server, &cookie, "/customers?category=detractor").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list.matches("<tr id=\"customer-").count(),
        detractors.min(50)
    );
    assert_eq!(
        list.matches("class=\"cat detractor\"").count(),
        detractors.min(50)
    );
    let silent = categories.values().filter(|c| c.is_none()).count();
    let (_, list) = get(&server, &cookie, "/customers?signal=-365&category=").await;
    assert_eq!(list.matches("<tr id=\"customer-").count(), silent.min(50));
    let (status, _) = get(&server, &cookie, "/customers?category=fan").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Topic drivers, ranked as the domain ranks them.
    let drivers = vouch_app::reports::topic_drivers(store, span.from, span.to, 0.95)
        .await
        .unwrap();
    assert!(!drivers.is_empty(), "the demo's comments have topics");
    let section = html.split("<table id=\"drivers\">").nth(1).unwrap();
    let mut at = 0;
    for d in &drivers {
        let found = section[at..]
            .find(&format!(">{}</a></th>", d.topic))
            .unwrap_or_else(|| panic!("{} in order: {section}", d.topic));
        at += found;
    }
    assert!(html.contains("not a cause"));

    // Filters narrow the survey scores, and say so.
    let email_only = vouch_store::ResponseFilter {
        channels: vec![vouch_domain::Channel::Email],
        ..Default::default()
    };
    let filtered = vouch_app::reports::scores_of(store, &email_only, span.from, span.to, 0.95)
        .await
        .unwrap();
    let all = vouch_app::reports::scores(store, span.from, span.to, 0.95)
        .await
        .unwrap();
    assert_ne!(
        filtered.nps.responses, all.nps.responses,
        "the demo answers by several channels"
    );
    let (status, page) = get(
        &server,
        &cookie,
        "/?period=90d&channel=email&survey=&language=&attribute=",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"filtered\"") && page.contains("<option value=\"email\" selected>"));
    let nps = filtered
        .nps
        .nps
        .map_or("–".to_owned(), |v| format!("{v:.1}"));
    assert!(
        page.contains(&format!("NPS</a><b>{nps}</b>")),
        "the filtered NPS {nps}: {page}"
    );
    let (status, page) = get(&server, &cookie, "/?period=90d&channel=pigeon").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("channel:"));

    // Reviews by platform: the change against the period before and the share answered.
    assert!(html.contains("vs the period before") && html.contains("Answered (handled)"));
    db.cleanup().await;
}
