//! The HTML of every staff page, from fixed data (the demo with a fixed
//! seed and end date), as insta snapshots: a diff shows what a change to
//! a template or a page's numbers moved. What changes from run to run is
//! replaced before comparing: the CSRF token and form keys, dates and
//! times (tasks and runs are dated when the test runs), task countdowns
//! and the server's address.

use vouch_domain::Role;

use super::pages::{get, staff};
use super::start;

/// The page with what varies between runs replaced by a placeholder.
fn stable(html: &str, base: &str) -> String {
    let rules = [
        (
            r#"name="(csrf|key)" value="[^"]*""#,
            r#"name="$1" value="[secret]""#,
        ),
        (
            r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?( UTC)?)?",
            "[date]",
        ),
        (
            r"(due in|overdue by|în|întârziată cu) \d+ (d|h|min)( \d+ (h|min))?",
            "$1 [span]",
        ),
        (r"[+-]?\d+ (d|h|min)\b", "[span]"),
    ];
    let mut out = html.replace(base, "[base]");
    for (pattern, with) in rules {
        out = regex::Regex::new(pattern)
            .expect("a valid pattern")
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_page_matches_its_snapshot_on_fixed_data() {
    let db = vouch_testing::TestDb::sqlite().await;
    let store = &db.store;
    let config = vouch_demo::DemoConfig {
        customers: 60,
        months: 6,
        seed: 11,
        until: chrono::DateTime::parse_from_rfc3339("2026-06-30T00:00:00Z")
            .unwrap()
            .to_utc(),
    };
    vouch_app::demo::load(store, &config, |_| {}).await.unwrap();
    vouch_app::text::retag(store, |_, _| {}).await.unwrap();
    let server = start(store.clone()).await;
    let admin = staff(&server, store, "admin@acme.example", Role::Admin).await;
    let pages = [
        ("dashboard", "/?from=2026-01-01&to=2026-06-29"),
        ("inbox", "/feedback?from=2026-01-01&to=2026-06-30"),
        ("inbox_search", "/feedback?q=delivery"),
        ("feedback_item", "/feedback/1"),
        ("customers", "/customers"),
        ("customer", "/customers/1"),
        ("surveys", "/surveys"),
        ("survey_edit", "/surveys/1"),
        ("survey_send", "/surveys/1/send"),
        ("tasks", "/tasks"),
        ("playbooks", "/playbooks"),
        ("settings_users", "/settings/users"),
        ("settings_tokens", "/settings/tokens"),
        ("settings_webhooks", "/settings/webhooks"),
        ("settings_branding", "/settings/branding"),
        ("settings_languages", "/settings/languages"),
        ("not_found", "/surveys/999999"),
    ];
    for (name, path) in pages {
        let (status, html) = get(&server, &admin, path).await;
        assert!(
            status.is_success() || name == "not_found",
            "{path}: {status}"
        );
        insta::assert_snapshot!(name, stable(&html, &server.base));
    }
    db.cleanup().await;
}
