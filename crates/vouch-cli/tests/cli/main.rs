//! End-to-end tests of the `vouch` binary: real processes, real databases.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use vouch_testing::PostgresSchema;

mod connectors;
mod faults;
mod serve;

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
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vouch-store/migrations/sqlite");
    let latest = std::fs::read_dir(migrations).unwrap().count();
    assert!(out.contains(&format!("schema version {latest}")), "{out}");
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

/// A demo database shared by the read-only tests below.
fn demo_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    stdout(&vouch(&db, DEMO));
    (dir, db)
}

fn responses(v: &Value) -> u64 {
    v["responses"].as_u64().unwrap()
}

#[test]
fn nps_by_period_follows_the_json_contract() {
    let (_dir, db) = demo_db();
    let total = json(&vouch(&db, &["nps", "--json"]));
    for by in ["month", "week", "day", "quarter"] {
        let out = json(&vouch(&db, &["nps", "--by", by, "--json"]));
        let periods = out["periods"].as_array().unwrap();
        assert!(periods.len() >= 2, "{by}: {out}");
        let keys: Vec<&str> = periods
            .iter()
            .map(|p| p["period"].as_str().unwrap())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{by}: periods in time order");
        assert_eq!(
            periods.iter().map(responses).sum::<u64>(),
            responses(&total),
            "{by}: periods add up"
        );
        for p in periods {
            for field in [
                "nps",
                "ci_low",
                "ci_high",
                "responses",
                "promoters",
                "passives",
                "detractors",
                "change",
            ] {
                assert!(p.get(field).is_some(), "{by}: {field} missing in {p}");
            }
            if let Some(change) = p["change"].as_object() {
                assert!(
                    change["delta"].is_number()
                        && change["p_value"].is_number()
                        && change["significant"].is_boolean()
                );
            }
        }
    }
    let months = json(&vouch(&db, &["nps", "--by", "month", "--json"]));
    assert_eq!(
        months["periods"][0]["period"], "2026-04",
        "six months up to 2026-10-01"
    );
    assert!(months["periods"][1]["change"]["delta"].is_number());
    let zoned = json(&vouch(
        &db,
        &["nps", "--by", "month", "--tz", "Europe/Bucharest", "--json"],
    ));
    assert_eq!(
        zoned["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(responses)
            .sum::<u64>(),
        responses(&total)
    );
    let rolling = json(&vouch(
        &db,
        &["nps", "--by", "month", "--rolling", "90d", "--json"],
    ));
    let last = rolling["periods"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        responses(&last)
            > responses(
                &months["periods"]
                    .as_array()
                    .unwrap()
                    .last()
                    .unwrap()
                    .clone()
            ),
        "a 90-day window holds more than a month"
    );
    let readable = stdout(&vouch(&db, &["nps", "--by", "month"]));
    assert!(
        readable.contains("2026-05") && readable.contains("significant"),
        "{readable}"
    );
}

#[test]
fn nps_segments_and_filters_agree() {
    let (_dir, db) = demo_db();
    let total = responses(&json(&vouch(&db, &["nps", "--json"])));
    let segment = |by: &str| {
        json(&vouch(&db, &["nps", "--by", by, "--json"]))["segments"]
            .as_array()
            .unwrap()
            .clone()
    };
    for by in ["survey", "channel", "lang", "attr:plan", "attr:region"] {
        let segments = segment(by);
        assert_eq!(segments.iter().map(responses).sum::<u64>(), total, "{by}");
        assert!(
            segments
                .iter()
                .all(|s| s["segment"].is_string() && s["ci_low"].is_number()),
            "{by}"
        );
    }
    let plans = segment("attr:plan");
    let pro = plans.iter().find(|s| s["segment"] == "pro").unwrap();
    let filtered = json(&vouch(&db, &["nps", "--where", "plan=pro", "--json"]));
    for field in ["nps", "ci_low", "ci_high", "responses", "promoters"] {
        assert_eq!(filtered[field], pro[field], "{field}");
    }
    let languages = segment("lang");
    let ro = languages.iter().find(|s| s["segment"] == "ro").unwrap();
    assert_eq!(
        json(&vouch(&db, &["nps", "--lang", "ro", "--json"]))["responses"],
        ro["responses"]
    );
    let channels = segment("channel");
    let email = channels.iter().find(|s| s["segment"] == "email").unwrap();
    assert_eq!(
        json(&vouch(&db, &["nps", "--channel", "email", "--json"]))["responses"],
        email["responses"]
    );
    assert_eq!(
        responses(&json(&vouch(
            &db,
            &["nps", "--survey", "Relationship NPS", "--json"]
        ))),
        total
    );
    assert_eq!(
        responses(&json(&vouch(&db, &["nps", "--survey", "Nope", "--json"]))),
        0
    );
    let combined = json(&vouch(
        &db,
        &[
            "nps", "--by", "month", "--where", "plan=pro", "--lang", "ro", "--json",
        ],
    ));
    assert!(
        combined["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(responses)
            .sum::<u64>()
            > 0
    );
    let bad = vouch(&db, &["nps", "--by", "planet"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("attr:NAME"));
}

#[test]
fn transitions_follow_the_json_contract() {
    let (_dir, db) = demo_db();
    let out = json(&vouch(
        &db,
        &[
            "transitions",
            "--from",
            "2026-06-01",
            "--to",
            "2026-10-01",
            "--json",
        ],
    ));
    let matrix = out["matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 16);
    let names = ["promoter", "passive", "detractor", "none"];
    for (i, cell) in matrix.iter().enumerate() {
        assert_eq!(cell["from"], names[i / 4]);
        assert_eq!(cell["to"], names[i % 4]);
        assert!(cell["customers"].is_u64() && cell["share"].is_f64());
    }
    assert_eq!(
        matrix
            .iter()
            .map(|c| c["customers"].as_u64().unwrap())
            .sum::<u64>(),
        400,
        "every customer counted once"
    );
    for row in matrix.chunks(4) {
        let shares: f64 = row.iter().map(|c| c["share"].as_f64().unwrap()).sum();
        let customers: u64 = row.iter().map(|c| c["customers"].as_u64().unwrap()).sum();
        assert!(customers == 0 || (shares - 1.0).abs() < 1e-9, "{row:?}");
    }
    let moved: u64 = matrix
        .iter()
        .filter(|c| c["from"] != c["to"] && c["from"] != "none")
        .map(|c| c["customers"].as_u64().unwrap())
        .sum();
    assert!(moved > 0, "some customers moved between categories");
    let table = stdout(&vouch(
        &db,
        &["transitions", "--from", "2026-06-01", "--to", "2026-10-01"],
    ));
    assert!(table.contains("promoter") && table.contains('%'), "{table}");
}

#[test]
fn kpis_follow_the_json_contract() {
    let (_dir, db) = demo_db();
    let out = json(&vouch(
        &db,
        &[
            "kpis",
            "--from",
            "2026-07-01",
            "--to",
            "2026-10-01",
            "--json",
        ],
    ));
    assert!(out["nps"]["nps"].is_number() && out["nps"]["ci_low"].is_number());
    assert!(out["previous_nps"]["responses"].as_u64().unwrap() > 0);
    assert!(out["nps_change"]["p_value"].is_number());
    assert!(out["csat"]["csat"].is_number() && out["ces"]["ces"].is_number());
    assert!(out["response_rate"].is_null(), "no invitations yet");
    let retention = out["retention"]["rate"].as_f64().unwrap();
    assert!((0.8..=1.0).contains(&retention), "{retention}");
    assert!(out["referral"]["rate"].is_number());
    let c = &out["categories"];
    let customers: u64 = ["promoters", "passives", "detractors", "none"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum();
    assert_eq!(customers, 400);
    assert!(out["reviews"].is_array() && out["social"].is_array());
    let period = json(&vouch(
        &db,
        &[
            "nps",
            "--from",
            "2026-07-01",
            "--to",
            "2026-10-01",
            "--json",
        ],
    ));
    assert_eq!(out["nps"], period, "kpis reuse the nps report");
    let table = stdout(&vouch(
        &db,
        &["kpis", "--from", "2026-07-01", "--to", "2026-10-01"],
    ));
    assert!(
        table.contains("Retention") && table.contains("NPS change"),
        "{table}"
    );
}

#[test]
fn postgres_gives_the_same_analytics_as_sqlite() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(schema) = runtime.block_on(PostgresSchema::create()) else {
        return;
    };
    let (_dir, sqlite) = demo_db();
    stdout(&vouch(&schema.url, DEMO));
    for args in [
        &["nps", "--by", "month", "--json"][..],
        &[
            "nps",
            "--by",
            "week",
            "--tz",
            "Europe/Bucharest",
            "--rolling",
            "28d",
            "--json",
        ],
        &["nps", "--by", "attr:plan", "--lang", "ro", "--json"],
        &[
            "nps",
            "--by",
            "survey",
            "--where",
            "region=Romania",
            "--json",
        ],
        &[
            "transitions",
            "--from",
            "2026-06-01",
            "--to",
            "2026-10-01",
            "--json",
        ],
        &[
            "kpis",
            "--from",
            "2026-07-01",
            "--to",
            "2026-10-01",
            "--json",
        ],
    ] {
        assert_eq!(
            stdout(&vouch(&sqlite, args)),
            stdout(&vouch(&schema.url, args)),
            "{args:?}"
        );
    }
    runtime.block_on(schema.drop_schema());
}

#[test]
fn text_score_follows_the_json_contract_and_needs_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let one = json(&vouch(
        &db,
        &[
            "text",
            "score",
            "--json",
            "Delivery was slow but support was great",
        ],
    ));
    assert_eq!(one["language"], "en");
    for field in ["compound", "positive", "neutral", "negative"] {
        assert!(one[field].is_f64(), "{field} in {one}");
    }
    assert_eq!(one["label"], "positive");
    let topics = one["topics"].as_array().unwrap();
    let sentiment = |name: &str| {
        topics.iter().find(|t| t["topic"] == name).unwrap()["sentiment"]
            .as_f64()
            .unwrap()
    };
    assert!(
        sentiment("delivery") < 0.0 && sentiment("support") > 0.0,
        "{one}"
    );
    // The reference scorer, reachable: vaderSentiment 3.3.2 gives 0.0772
    // (it knows neither "slow" nor "buggy"); the default does not.
    let text = "The app is slow and buggy, I want a refund.";
    let compound = |analyzer: &str| {
        json(&vouch(
            &db,
            &["text", "score", "--json", "--analyzer", analyzer, text],
        ))["compound"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(compound("vader"), 0.0772);
    assert!(compound("feedback") < 0.0);
    assert!(
        !dir.path().join("vouch.db").exists(),
        "text commands must not create a database"
    );

    let input = dir.path().join("texts.txt");
    std::fs::write(
        &input,
        "I love it\n\nLivrarea a fost rapidă, recomand!\n<b>awful</b> \"; DROP TABLE x; --\n",
    )
    .unwrap();
    let lines: Vec<Value> = stdout(&vouch(
        &db,
        &[
            "text",
            "score",
            "--input",
            input.to_str().unwrap(),
            "--json",
        ],
    ))
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(lines.len(), 4, "one object per input line, in order");
    assert_eq!(
        lines[0]["compound"], 0.6369,
        "VADER's own score for 'I love it'"
    );
    assert!(lines[1]["language"].is_null());
    assert_eq!(
        (lines[2]["language"].as_str(), lines[2]["label"].as_str()),
        (Some("ro"), Some("positive"))
    );
    assert_eq!(lines[3]["label"], "negative");
    let forced = json(&vouch(
        &db,
        &["text", "score", "--lang", "ro", "--json", "I love it"],
    ));
    assert_eq!(forced["language"], "ro");
    let readable = stdout(&vouch(
        &db,
        &["text", "score", "Delivery was slow but support was great"],
    ));
    assert!(
        readable.contains("delivery") && readable.contains("positive"),
        "{readable}"
    );
    assert_fails_cleanly(&vouch(&db, &["text", "score"]), "give a text");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[topic]]\nname = \"x\"\n").unwrap();
    assert_fails_cleanly(
        &vouch(
            &db,
            &["text", "score", "--taxonomy", bad.to_str().unwrap(), "hi"],
        ),
        "bad.toml",
    );
}

#[test]
fn learning_from_ratings_and_retagging_fill_the_analysis_of_stored_feedback() {
    let (dir, db) = demo_db();
    let trained = stdout(&vouch(&db, &["text", "train", "--min-per-class", "1"]));
    assert!(trained.contains("model stored"), "{trained}");
    let retagged = stdout(&vouch(&db, &["text", "retag"]));
    assert!(retagged.starts_with("Re-tagged "), "{retagged}");
    // Every customer's feedback now carries a language and a sentiment, and some have topics.
    let mut with_topics = 0;
    for id in 1..=60 {
        let shown = json(&vouch(
            &db,
            &["customers", "show", &id.to_string(), "--json"],
        ));
        for item in shown["feedback"].as_array().unwrap() {
            assert!(
                item["language"].is_string() && item["sentiment"].is_number(),
                "{item}"
            );
            with_topics += usize::from(!item["topics"].as_array().unwrap().is_empty());
        }
    }
    assert!(with_topics > 0);

    let file = dir.path().join("rated.jsonl");
    std::fs::write(
        &file,
        "{\"text\": \"great\", \"stars\": 5}\n{\"text\": \"bad\", \"stars\": 9}\n",
    )
    .unwrap();
    assert_fails_cleanly(
        &vouch(
            &db,
            &[
                "text",
                "train",
                "--input",
                file.to_str().unwrap(),
                "--lang",
                "en",
            ],
        ),
        "rated.jsonl:2: stars: 9 is outside 1-5",
    );

    let taxonomy = dir.path().join("topics.toml");
    std::fs::write(
        &taxonomy,
        "[[topic]]\nname = \"courier\"\nen = [\"courier\"]\nro = [\"curier\"]\n",
    )
    .unwrap();
    assert!(
        stdout(&vouch(&db, &["topics", "set", taxonomy.to_str().unwrap()])).contains("1 topics")
    );
    assert!(stdout(&vouch(&db, &["topics", "list"])).contains("courier"));
    std::fs::write(&taxonomy, "not [ toml").unwrap();
    assert_fails_cleanly(
        &vouch(&db, &["topics", "set", taxonomy.to_str().unwrap()]),
        "topics.toml",
    );
    let suggestions = json(&vouch(
        &db,
        &["topics", "suggest", "--days", "2000", "--json"],
    ));
    let list = suggestions["suggestions"].as_array().unwrap();
    assert!(
        !list.is_empty()
            && list
                .iter()
                .all(|s| s["phrase"].is_string() && s["texts"].as_u64().unwrap() >= 3),
        "{suggestions}"
    );
}

#[test]
fn hostile_customer_text_reaches_the_terminal_escaped() {
    let (_dir, db) = demo_db();
    // Store a review whose text tries to clear the screen, via the store API the importers will use.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = vouch_store::Store::open(&db).await.unwrap();
        let mut item = vouch_domain::Feedback::new(
            vouch_domain::Source::Google,
            "hostile-1",
            "\u{1b}[2J<script>alert('x')</script>",
            chrono::Utc::now(),
        )
        .unwrap();
        item.customer_id = Some(vouch_domain::CustomerId(1));
        store.insert_feedback(&[item]).await.unwrap();
        store.close().await;
    });
    let shown = stdout(&vouch(&db, &["customers", "show", "1"]));
    assert!(
        !shown.contains('\u{1b}'),
        "escape sequences must not reach the terminal"
    );
    assert!(shown.contains("\\u{1b}[2J<script>"), "{shown}");
    let json = json(&vouch(&db, &["customers", "show", "1", "--json"]));
    let bodies: Vec<&str> = json["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["body"].as_str())
        .collect();
    assert!(
        bodies.contains(&"\u{1b}[2J<script>alert('x')</script>"),
        "JSON keeps the text intact"
    );
}

const YELP_FIXTURE: &str = concat!(
    r#"{"review_id":"r1","user_id":"u1","business_id":"b1","stars":5,"useful":1,"funny":0,"cool":0,"text":"Fast delivery, great support","date":"2026-01-05 10:00:00"}"#,
    "\n",
    r#"{"review_id":"r2","user_id":"u2","business_id":"b1","stars":9,"useful":0,"funny":0,"cool":0,"text":"??","date":"2026-01-05 10:00:00"}"#,
    "\n",
    r#"{"review_id":"r3","user_id":"u3","business_id":"b1","stars":1,"useful":0,"funny":0,"cool":0,"text":"Billing charged me twice","date":"2026-01-06 11:00:00"}"#,
    "\n",
    "not json at all\n",
    r#"{"review_id":"r4","user_id":"u4","business_id":"b1","stars":3,"useful":0,"funny":0,"cool":0,"text":"It was fine","date":"not a date"}"#,
    "\n",
    r#"{"review_id":"r5","user_id":"u5","business_id":"b1","stars":4,"useful":0,"funny":0,"cool":0,"text":"Good value for the price","date":"2026-01-07 12:00:00"}"#,
    "\n",
);

/// On a terminal an import draws a bar with its records, rate and ETA;
/// piped, it prints nothing but the summary. util-linux's `script` gives the
/// import a pseudo-terminal: `VOUCH_TEST_SCRIPT` names it (`.ci/run` sets it).
#[test]
fn import_shows_its_rate_and_eta_on_a_terminal_only() {
    let Ok(script) = std::env::var("VOUCH_TEST_SCRIPT") else {
        vouch_testing::say_skipping(
            "the terminal progress test, because VOUCH_TEST_SCRIPT (path to util-linux's script) is not set",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("reviews.jsonl");
    std::fs::write(&file, YELP_FIXTURE).unwrap();
    let command = format!(
        "'{}' --db '{db}' import '{}'",
        env!("CARGO_BIN_EXE_vouch"),
        file.display()
    );
    let on_terminal = Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .env_remove("VOUCH_DATABASE_URL")
        .output()
        .expect("run script");
    let transcript = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        transcript.contains("Importing 0 records, 0/s") && transcript.contains("%, ETA "),
        "no progress bar on the terminal: {transcript:?}"
    );
    assert!(transcript.contains("imported"), "{transcript:?}");
    let piped = vouch(&db, &["import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("ETA"),
        "a bar drawn into a pipe: {stderr:?}"
    );
}

#[test]
fn more_unreadable_lines_than_a_batch_holds_do_not_end_the_import() {
    // Imports read 4,000 lines a batch; a batch with no readable line once
    // ended the import there, silently dropping the good rows after it.
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("reviews.jsonl");
    let review = |id: &str| {
        format!(
            r#"{{"review_id":"{id}","user_id":"u1","business_id":"b1","stars":5,"text":"Great food","date":"2026-01-05 10:00:00"}}"#
        )
    };
    let mut bytes = format!("{}\n", review("first")).into_bytes();
    for _ in 0..8_000 {
        bytes.extend_from_slice(b"\xff not UTF-8 \xfe\n");
    }
    bytes.extend_from_slice(format!("{}\n", review("last")).as_bytes());
    std::fs::write(&file, bytes).unwrap();
    let out = vouch(&db, &["import", file.to_str().unwrap(), "--json"]);
    assert_some_rejected(&out, 2, 8_000);
}

#[test]
fn a_truncated_gz_ends_the_import_once_and_keeps_the_batches_before_it() {
    // A truncated .gz once reported the same "incomplete deflate stream"
    // reject for ever, writing the rejects file until the disk was full.
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..20_000 {
        writeln!(
            gz,
            r#"{{"review_id":"r{i}","user_id":"u{i}","business_id":"b1","stars":4,"text":"Review number {i} of a long file, with words {}","date":"2026-01-05 10:00:00"}}"#,
            i * 7919 % 10_007
        )
        .unwrap();
    }
    let bytes = gz.finish().unwrap();
    let file = dir.path().join("reviews.jsonl.gz");
    std::fs::write(&file, &bytes[..bytes.len() * 3 / 5]).unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["--db", &db, "import", file.to_str().unwrap(), "--rejects"])
        .arg(&rejects)
        .env_remove("VOUCH_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A guard against the old endless loop, not a timing assertion.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the import of a truncated .gz did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_fails_cleanly(&out, "cannot be read past line");
    assert!(
        std::fs::metadata(&rejects).unwrap().len() < 10_000,
        "no flood of rejects"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let imported: u64 = stderr
        .split("records before it were kept (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr}"));
    assert!((4_000..20_000).contains(&imported), "{stderr}");
}

/// An import that exited 1 (some rows rejected) with these `--json` counts.
fn assert_some_rejected(out: &Output, imported: u64, rejected: u64) {
    assert_eq!(out.status.code(), Some(1), "some rows were rejected");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["rejected"].as_u64()),
        (Some(imported), Some(rejected)),
        "{summary}"
    );
}

#[test]
fn import_keeps_good_rows_reports_bad_ones_and_adds_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("reviews.jsonl");
    std::fs::write(&file, YELP_FIXTURE).unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let args = [
        "import",
        file.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
        "--json",
    ];
    assert_some_rejected(&vouch(&db, &args), 3, 3);
    let rejected: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 5]);
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("stars")
            && rejected[2]["reason"].as_str().unwrap().contains("date")
    );
    assert_eq!(rejected[1]["raw"], "not json at all", "the raw row is kept");

    let again: Value = serde_json::from_slice(&vouch(&db, &args).stdout).unwrap();
    assert_eq!(
        (again["imported"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(3)),
        "re-import adds nothing"
    );

    let edited = YELP_FIXTURE.replace("Good value for the price", "Good value, but slow delivery");
    std::fs::write(&file, edited).unwrap();
    let changed: Value = serde_json::from_slice(&vouch(&db, &args).stdout).unwrap();
    assert_eq!(
        (changed["updated"].as_u64(), changed["unchanged"].as_u64()),
        (Some(1), Some(2)),
        "{changed}"
    );

    let strict = dir.path().join("strict.jsonl");
    std::fs::write(
        &strict,
        YELP_FIXTURE.replace(r#""review_id":"r"#, r#""review_id":"s"#),
    )
    .unwrap();
    assert_fails_cleanly(
        &vouch(&db, &["import", strict.to_str().unwrap(), "--strict"]),
        "line 2: field `stars`",
    );
    let dry = vouch(
        &db,
        &["import", strict.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&dry.stdout).unwrap()["imported"],
        3
    );
    let total = String::from_utf8(vouch(&db, &["import", file.to_str().unwrap()]).stdout).unwrap();
    assert!(
        total.contains("3 unchanged"),
        "strict and dry runs wrote nothing: {total}"
    );
    assert_fails_cleanly(
        &vouch(
            &db,
            &["import", dir.path().join("missing.jsonl").to_str().unwrap()],
        ),
        "missing.jsonl",
    );
}

#[test]
fn imported_feedback_is_tagged_as_it_lands() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("reviews.jsonl");
    std::fs::write(&file, YELP_FIXTURE).unwrap();
    vouch(&db, &["import", file.to_str().unwrap()]);
    let texts = with_store(&db, async |store| {
        store.feedback_texts(None, 10).await.unwrap()
    });
    assert_eq!(texts.len(), 3);
    assert!(
        texts.iter().all(|t| t.language.as_deref() == Some("en")),
        "{texts:?}"
    );
}

#[test]
fn the_public_review_samples_import_with_the_expected_counts() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/reviews");
    if !vouch_testing::data_present(&samples, "review samples") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    for (file, expected) in [
        ("yelp_review.sample.jsonl", 500),
        ("amazon_mcauley_musical_instruments.sample.jsonl", 50),
        ("tripadvisor_hotel_reviews.sample.csv", 109),
    ] {
        let path = samples.join(file);
        let first: Value = json(&vouch(&db, &["import", path.to_str().unwrap(), "--json"]));
        assert_eq!(
            (first["imported"].as_u64(), first["rejected"].as_u64()),
            (Some(expected), Some(0)),
            "{file}"
        );
        let second: Value = json(&vouch(&db, &["import", path.to_str().unwrap(), "--json"]));
        assert_eq!(
            second["unchanged"].as_u64(),
            Some(expected),
            "{file}: re-import adds nothing"
        );
    }
}

#[test]
fn kill_9_during_an_import_leaves_a_consistent_database_and_a_rerun_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("big.jsonl");
    let total = 60_000;
    let lines: Vec<String> = (0..total)
        .map(|i| format!(r#"{{"review_id":"k{i}","user_id":"u","business_id":"b","stars":4,"useful":0,"funny":0,"cool":0,"text":"Good service {i}","date":"2026-01-05 10:00:00"}}"#))
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();

    let count = |db: &str| -> i64 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(db).await.unwrap();
            let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(integrity, "ok");
            // One statement, one snapshot: the import is still writing while we count.
            let (n, distinct): (i64, i64) =
                sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT source_id) FROM feedback_items")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(n, distinct, "no duplicates");
            pool.close().await;
            n
        })
    };
    stdout(&vouch(&db, &["migrate"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["--db", &db, "import", file.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches are committed, then kill without warning (SIGKILL).
    let started = std::time::Instant::now();
    while count(&db) == 0 && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = count(&db);
    assert!(
        after_kill > 0 && after_kill < total,
        "killed mid-import: {after_kill} of {total}"
    );
    assert_eq!(after_kill % 2_000, 0, "whole batches only: {after_kill}");

    let rerun = json(&vouch(&db, &["import", file.to_str().unwrap(), "--json"]));
    assert_eq!(count(&db), total, "the re-run completed the import");
    assert_eq!(
        rerun["unchanged"].as_i64().unwrap() + rerun["imported"].as_i64().unwrap(),
        total
    );
    assert_eq!(
        rerun["unchanged"].as_i64().unwrap(),
        after_kill,
        "what survived the kill was kept, not duplicated"
    );
}

fn with_store<T>(db: &str, f: impl AsyncFnOnce(&vouch_store::Store) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = vouch_store::Store::open(db).await.unwrap();
        let out = f(&store).await;
        store.close().await;
        out
    })
}

/// A Google Forms export: a timestamp, the respondent's email, the two questions, a plan.
const FORMS_EXPORT: &str = "\
Timestamp,Email Address,How likely is it that you would recommend Vouch to a friend or colleague?,What is the main reason for your score?,Plan
3/5/2026 14:07:09,ana@example.com,10,\"Fast, friendly <b>support</b>\",pro
3/6/2026 9:00:00,bob@example.com,4,too slow,basic
3/6/2026 9:30:00,bob@example.com,eleven,?,basic
3/7/2026 18:00:00,,8,,
";

#[test]
fn survey_answers_import_creates_and_matches_customers_and_reimports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("forms.csv");
    let rejects = dir.path().join("rejects.jsonl");
    std::fs::write(&file, FORMS_EXPORT).unwrap();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "import",
            file.to_str().unwrap(),
            "--survey",
            "NPS 2026",
            "--kind",
            "nps",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        vouch(&db, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let first = run(&["--rejects", rejects.to_str().unwrap()]);
    assert_eq!(first.status.code(), Some(1), "some rows were rejected");
    let summary: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["rejected"].as_u64()),
        (Some(3), Some(1))
    );
    let rejected: Value =
        serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().trim()).unwrap();
    assert_eq!(rejected["line"], 4);
    assert!(
        rejected["reason"].as_str().unwrap().contains("eleven"),
        "{rejected}"
    );

    let nps = json(&vouch(
        &db,
        &[
            "nps",
            "--json",
            "--from",
            "2026-03-01",
            "--to",
            "2026-04-01",
        ],
    ));
    assert_eq!(nps["responses"], 3, "{nps}");
    let ana = json(&vouch(
        &db,
        &["customers", "show", "ana@example.com", "--json"],
    ));
    assert_eq!(ana["customer"]["attributes"]["Plan"], "pro", "{ana}");
    let comments = with_store(&db, async |store| {
        let id = store.find_customer("ana@example.com").await.unwrap().id;
        store.feedback_of(id).await.unwrap()
    });
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].feedback.body, "Fast, friendly <b>support</b>");
    assert!(
        comments[0].feedback.sentiment.is_some(),
        "comments are tagged"
    );

    let again: Value = serde_json::from_slice(&run(&[]).stdout).unwrap();
    assert_eq!(
        (again["imported"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(3)),
        "re-import adds nothing"
    );
    std::fs::write(&file, FORMS_EXPORT.replace(",4,too slow", ",6,too slow")).unwrap();
    let changed: Value = serde_json::from_slice(&run(&[]).stdout).unwrap();
    assert_eq!(changed["updated"], 1, "{changed}");
    let nps = json(&vouch(
        &db,
        &[
            "nps",
            "--json",
            "--from",
            "2026-03-01",
            "--to",
            "2026-04-01",
        ],
    ));
    assert_eq!(nps["responses"], 3, "{nps}");

    let unmapped = vouch(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--survey",
            "NPS 2026",
            "--map",
            "score=Rating",
        ],
    );
    assert_fails_cleanly(&unmapped, "no column \"Rating\"");
}

#[test]
fn feedback_is_matched_to_customers_by_email_external_id_and_handle() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let ids = with_store(&db, async |store| {
        let at = chrono::Utc::now();
        let mut ana =
            vouch_domain::CustomerProfile::new(vouch_domain::Locale::parse("ro").unwrap(), at);
        ana.email = Some(vouch_domain::Email::parse("ana@example.com").unwrap());
        let mut bob =
            vouch_domain::CustomerProfile::new(vouch_domain::Locale::parse("en").unwrap(), at);
        bob.external_id = Some("ORD-2".to_owned());
        let mut cid =
            vouch_domain::CustomerProfile::new(vouch_domain::Locale::parse("en").unwrap(), at);
        cid.handles.insert("twitter".to_owned(), "42".to_owned());
        store.insert_customers(&[ana, bob, cid]).await.unwrap()
    });
    let trustpilot = dir.path().join("trustpilot.csv");
    std::fs::write(
        &trustpilot,
        "Review ID,Review Created (UTC),Review Title,Review Content,Review Stars,Consumer Name,Consumer Email,Reference Id\n\
         t1,2026-02-03 10:11:12,Great,Quick delivery,5,Ana,ana@EXAMPLE.COM,\n\
         t2,2026-02-04 10:11:12,Meh,Slow refund,2,Bob,,ORD-2\n\
         t3,2026-02-05 10:11:12,Ok,Fine,4,Someone,,\n",
    )
    .unwrap();
    let tweets = dir.path().join("tweets.jsonl");
    std::fs::write(
        &tweets,
        r#"{"id":"1","text":"love it","author_id":"42","created_at":"2026-04-01T12:00:00.000Z","public_metrics":{"like_count":1}}"#,
    )
    .unwrap();
    for file in [&trustpilot, &tweets] {
        assert!(
            vouch(&db, &["import", file.to_str().unwrap()])
                .status
                .success()
        );
    }
    let (owners, anonymous) = with_store(&db, async |store| {
        let mut owners = Vec::new();
        for id in &ids {
            owners.push(store.feedback_of(*id).await.unwrap().len());
        }
        let all = store.feedback_texts(None, 10).await.unwrap();
        (owners, all.len())
    });
    assert_eq!(
        owners,
        [1, 1, 1],
        "email (domain in any case), external id, handle"
    );
    assert_eq!(anonymous, 4, "the unmatched review is kept, anonymous");
}

#[test]
fn generic_files_gzip_stdin_and_utf16_exports_import() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let csv = dir.path().join("mentions.csv");
    std::fs::write(&csv, "Posted,Body,Who\n05.03.2026 10:00,Vouch support fixed it fast,@ana\n06.03.2026 11:00,,@bob\n").unwrap();
    let out = vouch(
        &db,
        &[
            "import",
            csv.to_str().unwrap(),
            "--format",
            "csv",
            "--source",
            "reddit",
            "--map",
            "text=Body",
            "--map",
            "date=Posted",
            "--map",
            "handle=Who",
            "--date-format",
            "%d.%m.%Y %H:%M",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(1))
    );

    let gz = dir.path().join("reviews.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(YELP_FIXTURE.as_bytes()).unwrap();
    encoder.finish().unwrap();
    let from_gz = vouch(&db, &["import", gz.to_str().unwrap(), "--json"]);
    let imported = serde_json::from_slice::<Value>(&from_gz.stdout).unwrap()["imported"].as_u64();
    assert!(
        imported > Some(0),
        "{}",
        String::from_utf8_lossy(&from_gz.stderr)
    );

    let play = "Package Name,Reviewer Language,Review Submit Date and Time,Star Rating,Review Title,Review Text,Review Link\n\
                com.example,ro,2026-01-05T12:34:56Z,5,,Aplicația e foarte bună,https://play.google.com/x?reviewId=r1\n";
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(play.encode_utf16().flat_map(u16::to_le_bytes));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["--db", &db, "import", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&utf16).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["imported"],
        1
    );
    let texts = with_store(&db, async |store| {
        store.feedback_texts(None, 100).await.unwrap()
    });
    assert!(
        texts
            .iter()
            .any(|t| t.body == "Aplicația e foarte bună" && t.language.as_deref() == Some("ro"))
    );

    let wrong = vouch(
        &db,
        &[
            "import",
            csv.to_str().unwrap(),
            "--format",
            "csv",
            "--map",
            "text=Nope",
        ],
    );
    assert_fails_cleanly(&wrong, "no column \"Nope\"");
    let wrong = vouch(
        &db,
        &[
            "import",
            csv.to_str().unwrap(),
            "--format",
            "csv",
            "--source",
            "myspace",
        ],
    );
    assert_fails_cleanly(&wrong, "not a source");
}

/// Imports and the demo write their events with their batches, and
/// `vouch events tail` reads them.
#[test]
fn imports_and_the_demo_write_events_that_events_tail_shows() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("reviews.jsonl");
    let review = |id: &str, text: &str| {
        format!(
            r#"{{"review_id":"{id}","user_id":"u1","business_id":"b1","stars":5,"text":"{text}","date":"2026-01-05 10:00:00"}}"#
        )
    };
    let lines = [
        review("a", "Great food"),
        review("b", "Nice staff"),
        review("c", "Slow"),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    stdout(&vouch(&db, &["import", file.to_str().unwrap()]));
    let created = stdout(&vouch(
        &db,
        &["events", "tail", "--type", "feedback.created", "--json"],
    ));
    let created: Vec<Value> = created
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(created.len(), 3, "{created:?}");
    assert!(created.iter().all(|e| e["type"] == "feedback.created"
        && e["id"].as_str().unwrap().starts_with("evt_")
        && e["version"] == 1));
    assert_eq!(created[0]["data"]["body"], "Great food");
    // Re-importing with one text changed writes one feedback.updated.
    let changed = [
        review("a", "Great food"),
        review("b", "Nice staff, now rude"),
        review("c", "Slow"),
    ];
    std::fs::write(&file, changed.join("\n")).unwrap();
    stdout(&vouch(&db, &["import", file.to_str().unwrap()]));
    let table = stdout(&vouch(&db, &["events", "tail"]));
    assert_eq!(table.lines().count(), 1 + 4, "{table}");
    assert!(table.lines().next().unwrap().contains("type"), "{table}");
    assert!(
        table.lines().last().unwrap().contains("feedback.updated"),
        "{table}"
    );
    // Resuming from a cursor.
    let first = created[0]["seq"].as_i64().unwrap().to_string();
    let rest = stdout(&vouch(
        &db,
        &["events", "tail", "--after", &first, "--json"],
    ));
    assert_eq!(rest.lines().count(), 3, "{rest}");
    let unknown = vouch(&db, &["events", "tail", "--type", "feedback.deleted"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("feedback.created"));

    let demo_dir = tempfile::tempdir().unwrap();
    let demo = sqlite_url(demo_dir.path());
    stdout(&vouch(&demo, DEMO));
    let customers = stdout(&vouch(
        &demo,
        &[
            "events",
            "tail",
            "--type",
            "customer.created",
            "--limit",
            "10000",
            "--json",
        ],
    ));
    assert_eq!(
        customers.lines().count(),
        400,
        "one customer.created per demo customer"
    );
    let answers = stdout(&vouch(
        &demo,
        &[
            "events",
            "tail",
            "--type",
            "response.created,customer.category_changed",
            "--limit",
            "5",
        ],
    ));
    assert_eq!(answers.lines().count(), 6, "{answers}");
}

/// Consent per purpose from a survey-answer import's `consent_*` columns
/// and from the CLI; `customers show` and `customers contacts` tell it.
#[test]
fn consent_comes_from_import_columns_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("answers.csv");
    std::fs::write(
        &file,
        "Timestamp,Email Address,Score,Plan,consent_marketing\n\
         3/5/2026 14:07:09,ana@example.com,10,pro,yes\n\
         3/6/2026 9:00:00,bob@example.com,4,basic,no\n",
    )
    .unwrap();
    let import = [
        "import",
        file.to_str().unwrap(),
        "--survey",
        "NPS",
        "--kind",
        "nps",
    ];
    stdout(&vouch(&db, &import));
    let ana = json(&vouch(
        &db,
        &["customers", "show", "ana@example.com", "--json"],
    ));
    assert_eq!(ana["consents"][0]["purpose"], "marketing");
    assert_eq!(ana["consents"][0]["granted"], true);
    assert_eq!(ana["consents"][0]["source"], "import");
    assert!(
        ana["customer"]["attributes"]
            .get("consent_marketing")
            .is_none(),
        "not an attribute"
    );
    assert_eq!(ana["customer"]["attributes"]["Plan"], "pro");
    // Importing the same file again changes nothing.
    stdout(&vouch(&db, &import));
    let changed = stdout(&vouch(
        &db,
        &["events", "tail", "--type", "consent.changed", "--json"],
    ));
    assert_eq!(changed.lines().count(), 2, "{changed}");

    let said = stdout(&vouch(
        &db,
        &[
            "customers",
            "consent",
            "ana@example.com",
            "marketing",
            "--withdraw",
            "--source",
            "phone call",
        ],
    ));
    assert!(said.contains("withdrew from marketing"), "{said}");
    let shown = stdout(&vouch(&db, &["customers", "show", "ana@example.com"]));
    assert!(
        shown.contains("marketing consent") && shown.contains("withdrawn"),
        "{shown}"
    );
    assert_fails_cleanly(
        &vouch(
            &db,
            &[
                "customers",
                "consent",
                "ana@example.com",
                "service",
                "--grant",
            ],
        ),
        "service messages need no consent",
    );
    let contacts = stdout(&vouch(&db, &["customers", "contacts", "ana@example.com"]));
    assert!(
        contacts.contains("No messages") && contacts.contains("2 per 30d"),
        "{contacts}"
    );
}

#[test]
fn conversions_import_from_csv_once_per_order_naming_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    stdout(&vouch(&db, &["migrate"]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = vouch_store::Store::open(&db).await.unwrap();
        let mut p = vouch_domain::CustomerProfile::new(
            vouch_domain::Locale::parse("en").unwrap(),
            chrono::Utc::now(),
        );
        p.email = Some(vouch_domain::Email::parse("ana@example.com").unwrap());
        let customer = store.insert_customers(&[p]).await.unwrap()[0];
        let (member, _) = store
            .add_member(
                customer,
                vouch_domain::program::JoinedBy::Staff,
                None,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        store
            .add_referral_link(member.id, "ANAFRIENDS", true, None, chrono::Utc::now())
            .await
            .unwrap();
        store.close().await;
    });
    let file = dir.path().join("orders.csv");
    std::fs::write(
        &file,
        "order_id,code,value,currency,email\n\
         O-1,anafriends,20.00,EUR,friend@example.net\n\
         O-2,ANAFRIENDS,twenty,EUR,other@example.net\n\
         O-1,ANAFRIENDS,20.00,EUR,friend@example.net\n\
         O-3,NOSUCHCODE,5,EUR,\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = stdout(&vouch(&db, &["program", "import-conversions", path]));
    assert!(
        out.contains("1 new referrals (1 pending), 1 seen before, 2 rows refused"),
        "{out}"
    );
    assert!(out.contains("orders.csv:3: value"), "{out}");
    assert!(
        out.contains("orders.csv:5: no referral link has the code NOSUCHCODE"),
        "{out}"
    );
    let again = stdout(&vouch(&db, &["program", "import-conversions", path]));
    assert!(again.contains("0 new referrals, 2 seen before"), "{again}");
    let missing = vouch(
        &db,
        &["program", "import-conversions", "/no/such/orders.csv"],
    );
    assert_fails_cleanly(&missing, "/no/such/orders.csv");
}

#[test]
fn vendor_files_import_without_flags_and_reimport_adds_nothing() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vouch-ingest/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    // (file, items new, items already there): a ticket's satisfaction
    // rating is the item the ratings export gives for it, so the export
    // adds only the other rating; nothing counts twice.
    for (file, items, already) in [
        ("trustpilot_api_reviews_page.json", 2, 0),
        ("google_business_takeout_reviews.json", 2, 0),
        ("app_store_customer_reviews.json", 2, 0),
        ("zendesk_incremental_tickets.json", 3, 0),
        ("zendesk_satisfaction_ratings.json", 1, 1),
        ("x_api_v2_recent_search.json", 2, 0),
        ("x_archive_tweets.js", 2, 0),
        ("trustpilot_older_headers.csv", 2, 0),
        ("google_play_older_links.csv", 2, 0),
        ("tripadvisor_identical_guests.csv", 3, 0),
    ] {
        let path = fixtures.join(file);
        let first = vouch(&db, &["import", path.to_str().unwrap(), "--json"]);
        assert_eq!(first.status.code(), Some(0), "{file}: {}", stdout(&first));
        let first = json(&first);
        assert_eq!(
            (
                first["imported"].as_u64(),
                first["unchanged"].as_u64(),
                first["rejected"].as_u64()
            ),
            (Some(items), Some(already), Some(0)),
            "{file}"
        );
        let again = json(&vouch(&db, &["import", path.to_str().unwrap(), "--json"]));
        assert_eq!(
            (again["imported"].as_u64(), again["unchanged"].as_u64()),
            (Some(0), Some(items + already)),
            "{file}: a re-import adds nothing"
        );
    }
    let support_ratings = with_store(&db, async |store| {
        let filter = vouch_store::FeedbackFilter {
            sources: vec![vouch_domain::Source::Support],
            ..Default::default()
        };
        let items = store.feedback(&filter, None, 500).await.unwrap();
        items.iter().filter(|f| f.feedback.rating.is_some()).count()
    });
    assert_eq!(
        support_ratings, 2,
        "one CSAT signal per rating, not per file"
    );
    // Star-only reviews count as ratings and stay out of text analytics.
    let star_only = with_store(&db, async |store| {
        store
            .feedback(&vouch_store::FeedbackFilter::default(), None, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|f| f.feedback.body.is_empty())
            .map(|f| (f.feedback.rating.is_some(), f.feedback.sentiment))
            .collect::<Vec<_>>()
    });
    assert_eq!(star_only.len(), 4, "{star_only:?}");
    assert!(
        star_only
            .iter()
            .all(|(rated, sentiment)| *rated && sentiment.is_none())
    );
}

#[test]
fn survey_exports_with_header_rows_give_the_true_nps_and_ambiguity_stops() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vouch-ingest/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    for (file, survey, imported) in [
        ("qualtrics_nps_export.csv", "Qualtrics NPS", 4),
        ("surveymonkey_nps_export.csv", "SurveyMonkey NPS", 3),
    ] {
        let path = fixtures.join(file);
        let out = vouch(
            &db,
            &[
                "import",
                path.to_str().unwrap(),
                "--survey",
                survey,
                "--json",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: header rows are not rejects"
        );
        let summary = json(&out);
        assert_eq!(
            (summary["imported"].as_u64(), summary["rejected"].as_u64()),
            (Some(imported), Some(0)),
            "{file}"
        );
    }
    // Qualtrics: 10, 3, 8, 9 is NPS +25 (the group codes 3, 1, 2, 3 would say -100).
    let nps = json(&vouch(&db, &["nps", "--survey", "Qualtrics NPS", "--json"]));
    assert_eq!(nps["nps"].as_f64(), Some(25.0), "{nps}");

    let ambiguous = dir.path().join("two_scores.csv");
    std::fs::write(
        &ambiguous,
        "email,date,How likely are you to recommend us?,Overall satisfaction rating\na@example.com,2024-03-01,9,4\n",
    )
    .unwrap();
    let out = vouch(
        &db,
        &[
            "import",
            ambiguous.to_str().unwrap(),
            "--survey",
            "Two",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 columns could be the score") && err.contains("Overall satisfaction rating"),
        "{err}"
    );
}

#[test]
fn directories_and_zip_archives_import_file_by_file() {
    use std::io::Write;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vouch-ingest/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());

    // An X archive as a folder: data/tweets.js beside files that are not feedback.
    let archive = dir.path().join("twitter-archive");
    std::fs::create_dir_all(archive.join("data")).unwrap();
    std::fs::copy(
        fixtures.join("x_archive_tweets.js"),
        archive.join("data/tweets.js"),
    )
    .unwrap();
    std::fs::write(
        archive.join("data/account.js"),
        "window.YTD.account.part0 = [{\"account\": {\"username\": \"example\"}}]",
    )
    .unwrap();
    std::fs::write(archive.join("Your archive.html"), "<html></html>").unwrap();
    let out = vouch(&db, &["import", archive.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["imported"].as_u64(), Some(2), "{report}");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{report}");
    assert_eq!(files[0]["file"], "data/account.js");
    assert!(files[0]["skipped"].is_string(), "{report}");
    assert_eq!(files[1]["file"], "data/tweets.js");
    assert_eq!(files[1]["imported"].as_u64(), Some(2));

    // A Google Takeout zip, deflated, with the reviews deep inside.
    let zip_path = dir.path().join("takeout.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(
        "Takeout/Google Business Profile/account-1/location-1/reviews.json",
        options,
    )
    .unwrap();
    zip.write_all(&std::fs::read(fixtures.join("google_business_takeout_reviews.json")).unwrap())
        .unwrap();
    zip.start_file("Takeout/archive_browser.html", options)
        .unwrap();
    zip.write_all(b"<html></html>").unwrap();
    zip.finish().unwrap();
    let readable = vouch(&db, &["import", zip_path.to_str().unwrap()]);
    assert_eq!(readable.status.code(), Some(0));
    let text = stdout(&readable);
    assert!(
        text.contains(
            "Takeout/Google Business Profile/account-1/location-1/reviews.json: 2 imported"
        ) && text.contains("1 of 1 files read"),
        "{text}"
    );
    let again = json(&vouch(
        &db,
        &["import", zip_path.to_str().unwrap(), "--json"],
    ));
    assert_eq!(
        (again["imported"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
}

/// A large import leaves the inbox's search index to the background and
/// says so; `vouch text index` fills it now; a small import (or a re-import
/// with nothing new) leaves nothing waiting.
#[test]
fn a_large_import_leaves_search_indexing_to_the_background_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("reviews.jsonl");
    let lines: String = (0..6_000)
        .map(|i| {
            format!(
                "{{\"review_id\":\"r{i}\",\"user_id\":\"u{i}\",\"business_id\":\"b1\",\"stars\":4,\"date\":\"2024-03-01 10:15:00\",\"text\":\"Parking was easy, visit {i}\"}}\n"
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    let out = vouch(&db, &["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("6,000 items wait for the inbox's search index: `vouch serve` indexes them in the background, or run `vouch text index` now."),
        "{}",
        stdout(&out)
    );
    let out = vouch(&db, &["text", "index"]);
    assert!(
        stdout(&out).starts_with("Indexed 6000 feedback items for search in "),
        "{}",
        stdout(&out)
    );
    let found = with_store(&db, async |store| {
        let filter = vouch_store::FeedbackFilter {
            search: Some("parking".into()),
            ..Default::default()
        };
        (
            store.count_matching_feedback(&filter).await.unwrap(),
            store.search_backlog().await.unwrap(),
        )
    });
    assert_eq!(found, (6_000, 0));
    let again = json(&vouch(&db, &["import", file.to_str().unwrap(), "--json"]));
    assert_eq!(again["unchanged"], 6_000);
    assert_eq!(again["search_backlog"], 0);
    let out = vouch(&db, &["text", "index"]);
    assert!(
        stdout(&out).starts_with("Indexed 0 feedback items"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn times_without_a_zone_take_tz_and_the_summary_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("mentions.csv");
    std::fs::write(
        &file,
        "id,date,text\nm1,2024-03-01 10:15:00,Slow checkout again\nm2,2024-03-01T10:15:00Z,Fast delivery\n",
    )
    .unwrap();
    let out = vouch(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--format",
            "csv",
            "--tz",
            "Europe/Bucharest",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("1 times had no time zone and were read as Europe/Bucharest"),
        "{}",
        stdout(&out)
    );
    let times = with_store(&db, async |store| {
        let mut items = store
            .feedback(&vouch_store::FeedbackFilter::default(), None, 10)
            .await
            .unwrap();
        items.sort_by(|a, b| a.feedback.source_id.cmp(&b.feedback.source_id));
        items
            .into_iter()
            .map(|f| f.feedback.posted_at.to_rfc3339())
            .collect::<Vec<_>>()
    });
    assert_eq!(
        times,
        vec!["2024-03-01T08:15:00+00:00", "2024-03-01T10:15:00+00:00"],
        "Bucharest is UTC+2 in March; a time with its zone keeps it"
    );
    let bad = vouch(
        &db,
        &["import", file.to_str().unwrap(), "--tz", "Mars/Olympus"],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn customer_files_upsert_by_email_or_id_with_consent_and_insiders() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let file = dir.path().join("hubspot-contacts.csv");
    std::fs::write(
        &file,
        "Record ID,First Name,Last Name,Email,Lifecycle Stage,Contact owner,Preferred language,Plan,consent_marketing,insider\n\
         51,Ana,Popescu,ana@example.com,customer,Dan,ro,pro,yes,no\n\
         52,Dan,Staff,dan@example.com,customer,Dan,,team,no,yes\n\
         53,,,,lead,,,,,\n\
         54,Bad,Email,not-an-email,lead,,,,,\n",
    )
    .unwrap();
    let out = vouch(
        &db,
        &["import", file.to_str().unwrap(), "--customers", "--json"],
    );
    assert_eq!(out.status.code(), Some(1), "one bad row");
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            first["created"].as_u64(),
            first["rejected"].as_u64(),
            first["vendor"].as_str()
        ),
        (Some(3), Some(1), Some("HubSpot")),
        "{first}"
    );
    let again: Value = serde_json::from_slice(
        &vouch(
            &db,
            &["import", file.to_str().unwrap(), "--customers", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        (
            again["created"].as_u64(),
            again["updated"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(3)),
        "a re-import changes nothing: {again}"
    );
    // A later export moves Ana to another plan: found by email, updated.
    std::fs::write(&file, "Email,Plan\nana@example.com,enterprise\n").unwrap();
    let moved = json(&vouch(
        &db,
        &["import", file.to_str().unwrap(), "--customers", "--json"],
    ));
    assert_eq!(moved["updated"].as_u64(), Some(1), "{moved}");
    let (ana, dan) = with_store(&db, async |store| {
        let ana = store.find_customer("ana@example.com").await.unwrap();
        let dan = store.find_customer("dan@example.com").await.unwrap();
        let consents = store.consents_of(ana.id).await.unwrap();
        (
            (
                ana.profile.name.clone(),
                ana.profile.locale.as_str().to_owned(),
                ana.profile.attributes.get("Plan").cloned(),
                ana.profile.external_id.clone(),
                consents.iter().any(|c| c.granted),
            ),
            dan.profile.attributes.get("insider").cloned(),
        )
    });
    assert_eq!(
        ana,
        (
            Some("Ana Popescu".to_owned()),
            "ro".to_owned(),
            Some("enterprise".to_owned()),
            Some("51".to_owned()),
            true
        )
    );
    assert_eq!(dan.as_deref(), Some("true"));
}

/// A language's model is learnt by itself once 2,000 rated items exist,
/// validated on a held-out fifth, switched on only when it beats the
/// lexicon there, and learnt again when the rated items double.
#[test]
fn a_model_is_learnt_once_enough_ratings_exist_and_again_when_they_double() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    // Words no lexicon knows carry the sentiment: only a model can learn them.
    let write = |name: &str, from: usize, n: usize| {
        let path = dir.path().join(name);
        let lines: Vec<String> = (from..from + n)
            .map(|i| {
                let (word, stars) = if i % 2 == 0 { ("zbarnaie", 5) } else { ("scartaie", 1) };
                serde_json::json!({
                    "review_id": format!("r{i}"),
                    "user_id": format!("u{i}"),
                    "business_id": "b1",
                    "stars": stars,
                    "text": format!("Produsul acesta {word} si a ajuns la noi acasa cu curierul de ieri, numarul {i}"),
                    "date": "2026-11-01 10:00:00"
                })
                .to_string()
            })
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        path
    };
    let status = |now: bool| {
        let mut args = vec!["text", "model", "status", "--json"];
        if now {
            args.push("--now");
        }
        json(&vouch(&db, &args))
    };
    let first = write("first.jsonl", 0, 1_900);
    stdout(&vouch(&db, &["import", first.to_str().unwrap()]));
    assert_eq!(
        status(true)["models"],
        serde_json::json!([]),
        "1,900 rated: not yet"
    );
    let more = write("more.jsonl", 1_900, 600);
    stdout(&vouch(&db, &["import", more.to_str().unwrap()]));
    let report = status(true)["models"][0].clone();
    assert_eq!(report["language"], "ro", "{report}");
    assert_eq!(report["rated"], 2_500);
    assert_eq!(report["held_out"], 500);
    assert_eq!(report["switched_on"], true, "{report}");
    assert!(
        report["blended_accuracy"].as_f64().unwrap() > report["lexicon_accuracy"].as_f64().unwrap(),
        "{report}"
    );
    let again = status(true)["models"][0].clone();
    assert_eq!(
        again["trained_at"], report["trained_at"],
        "not doubled: not retrained"
    );
    let double = write("double.jsonl", 2_500, 2_600);
    stdout(&vouch(&db, &["import", double.to_str().unwrap()]));
    let retrained = status(true)["models"][0].clone();
    assert_eq!(retrained["rated"], 5_100, "{retrained}");
    let table = stdout(&vouch(&db, &["text", "model", "status"]));
    assert!(table.contains("ro") && table.contains("on"), "{table}");
    // The stored model now scores the company's own words.
    let scored = json(&vouch(
        &db,
        &[
            "text",
            "score",
            "--lang",
            "ro",
            "--json",
            "Produsul acesta zbarnaie",
        ],
    ));
    assert_eq!(
        scored["label"], "neutral",
        "text score uses no learnt model: {scored}"
    );
}
