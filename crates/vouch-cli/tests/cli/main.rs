//! End-to-end tests of the `vouch` binary: real processes, real databases.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use vouch_testing::PostgresSchema;

/// Small demo settings so each test takes a moment; fixed `--until` makes the data reproducible.
const DEMO: &[&str] = &[
    "demo",
    "--customers",
    "400",
    "--months",
    "6",
    "--seed",
    "3",
    "--until",
    "2026-10-01",
];

fn vouch(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("VOUCH_DATABASE_URL")
        .output()
        .expect("run vouch")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "vouch failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).expect("JSON output")
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("vouch.db").display())
}

/// Exit code 2, one line on stderr that contains `needle`, no panic.
fn assert_fails_cleanly(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn demo_then_nps_json_gives_a_plausible_score_whose_counts_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let summary = stdout(&vouch(&db, DEMO));
    assert!(summary.contains("400 customers"), "{summary}");
    let nps = json(&vouch(&db, &["nps", "--json"]));
    let count = |k: &str| nps[k].as_u64().unwrap_or_else(|| panic!("{k} in {nps}"));
    let (p, pa, d, n) = (
        count("promoters"),
        count("passives"),
        count("detractors"),
        count("responses"),
    );
    assert_eq!(p + pa + d, n);
    assert!(n > 300, "{n} responses");
    let score = nps["nps"].as_f64().unwrap();
    let expected = ((100.0 * (p as f64 - d as f64) / n as f64) * 10.0).round() / 10.0;
    assert_eq!(score, expected);
    assert!((-50.0..=60.0).contains(&score), "plausible NPS: {score}");
    let (low, high) = (
        nps["ci_low"].as_f64().unwrap(),
        nps["ci_high"].as_f64().unwrap(),
    );
    assert!(
        low < score && score < high && high - low < 30.0,
        "{low} {score} {high}"
    );

    let readable = stdout(&vouch(&db, &["nps"]));
    assert!(
        readable.contains(&format!("{score:+.1}")) && readable.contains("95% interval"),
        "{readable}"
    );
}

#[test]
fn demo_data_is_deterministic_and_only_goes_into_an_empty_database() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db_a, db_b) = (sqlite_url(a.path()), sqlite_url(b.path()));
    stdout(&vouch(&db_a, DEMO));
    stdout(&vouch(&db_b, DEMO));
    for args in [
        &["nps", "--json"][..],
        &["customers", "list", "--limit", "50", "--json"],
    ] {
        assert_eq!(
            stdout(&vouch(&db_a, args)),
            stdout(&vouch(&db_b, args)),
            "{args:?}"
        );
    }
    assert_fails_cleanly(&vouch(&db_a, DEMO), "already holds customers");
}

#[test]
fn nps_filters_by_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    stdout(&vouch(&db, DEMO));
    let all = json(&vouch(&db, &["nps", "--json"]))["responses"]
        .as_u64()
        .unwrap();
    let first = json(&vouch(&db, &["nps", "--json", "--to", "2026-07-01"]))["responses"]
        .as_u64()
        .unwrap();
    let rest = json(&vouch(&db, &["nps", "--json", "--from", "2026-07-01"]))["responses"]
        .as_u64()
        .unwrap();
    assert!(first > 0 && rest > 0);
    assert_eq!(first + rest, all);
    let none = json(&vouch(&db, &["nps", "--json", "--from", "2030-01-01"]));
    assert_eq!(
        (none["responses"].as_u64(), none["nps"].is_null()),
        (Some(0), true)
    );
}

#[test]
fn customers_list_pages_and_show_finds_by_email_or_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    stdout(&vouch(&db, DEMO));
    let page = stdout(&vouch(&db, &["customers", "list", "--limit", "3"]));
    assert_eq!(
        page.lines().count(),
        5,
        "header, 3 rows, next-page hint: {page}"
    );
    assert!(page.contains("--after 3"), "{page}");
    let lines: Vec<Value> = stdout(&vouch(
        &db,
        &["customers", "list", "--limit", "400", "--json"],
    ))
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(lines.len(), 400);
    assert!(
        lines.iter().any(|c| c["locale"] == "ro")
            && lines.iter().any(|c| c["attributes"]["plan"] == "pro")
    );
    let email = lines[10]["email"].as_str().unwrap();
    let shown = json(&vouch(&db, &["customers", "show", email, "--json"]));
    assert_eq!(shown["customer"]["id"], lines[10]["id"]);
    let by_id = stdout(&vouch(&db, &["customers", "show", "11"]));
    assert!(
        by_id.contains(email) && by_id.contains("Loyalty category"),
        "{by_id}"
    );
    assert_fails_cleanly(
        &vouch(&db, &["customers", "show", "nobody@example.com"]),
        "not found",
    );
}

#[test]
fn customers_show_lists_the_category_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    stdout(&vouch(&db, DEMO));
    // Somebody with at least two NPS answers in different categories has a history of two or more entries.
    let found = (1..=400).any(|id| {
        let shown = json(&vouch(
            &db,
            &["customers", "show", &id.to_string(), "--json"],
        ));
        shown["category_history"]
            .as_array()
            .is_some_and(|h| h.len() >= 2)
    });
    assert!(found, "no customer moved between categories");
}

#[test]
fn bad_databases_get_one_clear_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_cleanly(
        &vouch("mysql://root:secret@localhost/vouch", &["nps"]),
        "unknown scheme",
    );
    assert!(
        !String::from_utf8_lossy(&vouch("mysql://root:secret@localhost/x", &["nps"]).stderr)
            .contains("secret")
    );
    let unwritable = format!("sqlite://{}/missing/dir/vouch.db", dir.path().display());
    assert_fails_cleanly(&vouch(&unwritable, &["nps"]), "cannot open SQLite database");
    let not_a_db = dir.path().join("notes.txt");
    std::fs::write(
        &not_a_db,
        "just some notes, definitely not SQLite, long enough to be checked",
    )
    .unwrap();
    assert_fails_cleanly(
        &vouch(not_a_db.to_str().unwrap(), &["nps"]),
        "is not a Vouch database",
    );
}

#[test]
fn migrate_reports_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&vouch(&sqlite_url(dir.path()), &["migrate"]));
    assert!(out.contains("schema version 2"), "{out}");
}

#[test]
fn help_teaches() {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["demo", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Example:")
            && help.contains("--customers")
            && help.contains("[default: 5000]"),
        "{help}"
    );
}

#[test]
fn postgres_gives_the_same_numbers_as_sqlite() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(schema) = runtime.block_on(PostgresSchema::create()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_url(dir.path());
    stdout(&vouch(&sqlite, DEMO));
    stdout(&vouch(&schema.url, DEMO));
    for args in [
        &["nps", "--json"][..],
        &["nps", "--json", "--from", "2026-05-01"],
        &["customers", "show", "42", "--json"],
    ] {
        assert_eq!(
            stdout(&vouch(&sqlite, args)),
            stdout(&vouch(&schema.url, args)),
            "{args:?}"
        );
    }
    runtime.block_on(schema.drop_schema());
}
