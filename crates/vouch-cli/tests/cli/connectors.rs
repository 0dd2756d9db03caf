//! Connectors, each against a local HTTP server that answers as the
//! vendor's API documents: paging, rate limits (429 with `Retry-After`),
//! refused or expired credentials, a page that fails halfway; a re-sync
//! adds nothing and an interrupted sync resumes from its cursor.

use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self, KeyPair};
use serde_json::Value;

use super::{json, vouch, with_store};

/// A request as the local vendor API saw it.
struct Request {
    method: String,
    /// The path with its query.
    target: String,
    /// Lower-cased names.
    headers: HashMap<String, String>,
    body: String,
}

/// A local HTTP server that answers as a vendor's API documents: each
/// request goes to `answer`, which gives the status, extra headers and body.
fn vendor_api(
    answer: impl Fn(&Request) -> (u16, Vec<(&'static str, String)>, String) + Send + 'static,
) -> String {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut parts = request_line.split(' ');
            let method = parts.next().unwrap_or("GET").to_owned();
            let target = parts.next().unwrap_or("/").to_owned();
            let mut headers = HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_lowercase(), v.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let request = Request {
                method,
                target,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, extra, body) = answer(&request);
            let mut out = stream;
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(body.as_bytes());
        }
    });
    base
}

/// A sync that stops on `reason`: exit 1, with its report.
fn sync_stops(db: &str, name: &str, reason: &str) -> Value {
    let out = vouch(db, &["sources", "sync", name, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["error"].as_str().unwrap().contains(reason),
        "{report}"
    );
    report
}

/// `vouch sources add` went through.
fn added(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn trustpilot_review(n: usize) -> Value {
    serde_json::json!({
        "links": [],
        "id": format!("{n:024x}"),
        "consumer": {"id": format!("c{n}"), "displayName": format!("Customer {n}")},
        "stars": 1 + n % 5,
        "title": "Review",
        "text": format!("Review number {n}: delivery was fine"),
        "language": "en",
        "createdAt": format!("2024-03-01T10:{:02}:{:02}Z", n / 60 % 60, n % 60),
    })
}

#[test]
fn connectors_page_back_off_resume_and_keep_credentials_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("vouch.db");
    let db = format!("sqlite://{}", db_path.display());

    // Trustpilot: 130 reviews in pages of 100, one 429 on the way, and a
    // key that can expire.
    let limited = Arc::new(AtomicBool::new(false));
    let key = Arc::new(std::sync::Mutex::new("tp-key-0001".to_owned()));
    let (limited_in, key_in) = (limited.clone(), key.clone());
    let base = vendor_api(move |request| {
        let (target, headers) = (&request.target, &request.headers);
        if headers.get("apikey") != Some(&*key_in.lock().unwrap()) {
            return (401, vec![], r#"{"message": "Unauthorized"}"#.to_owned());
        }
        assert!(
            target.starts_with("/v1/business-units/bu-1/reviews?"),
            "{target}"
        );
        assert!(target.contains("orderBy=createdat.asc"), "{target}");
        let page: usize = target.split("page=").nth(1).unwrap()[..1].parse().unwrap();
        if page == 2 && !limited_in.swap(true, Ordering::SeqCst) {
            return (429, vec![("retry-after", "1".to_owned())], "{}".to_owned());
        }
        let reviews: Vec<Value> = match page {
            1 => (0..100).map(trustpilot_review).collect(),
            2 => (100..130).map(trustpilot_review).collect(),
            _ => vec![],
        };
        (
            200,
            vec![],
            serde_json::json!({"links": [], "reviews": reviews}).to_string(),
        )
    });
    let add = |name: &str, kind: &str, account: &str, var: &str, value: &str, base: &str| {
        Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args([
                "--db",
                &db,
                "sources",
                "add",
                name,
                "--kind",
                kind,
                "--account",
                account,
            ])
            .args(["--credentials-env", var, "--base-url", base])
            .env(var, value)
            .output()
            .unwrap()
    };
    let out = add("tp", "trustpilot", "bu-1", "TP_KEY", "tp-key-0001", &base);
    added(&out);
    let first = json(&vouch(&db, &["sources", "sync", "tp", "--json"]));
    assert_eq!(
        (
            first["pages"].as_u64(),
            first["imported"].as_u64(),
            first["waits"].as_u64()
        ),
        (Some(2), Some(130), Some(1)),
        "{first}"
    );
    let again = json(&vouch(&db, &["sources", "sync", "tp", "--json"]));
    assert_eq!(
        (again["imported"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(30)),
        "a re-sync reads the last page again and adds nothing: {again}"
    );
    // The key expires: the sync stops with the reason, and the list shows it.
    *key.lock().unwrap() = "tp-key-0002".to_owned();
    let refused = vouch(&db, &["sources", "sync", "tp"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("refused the credentials (HTTP 401)"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );

    // Zendesk: a cursor export whose second page fails once.
    let failed_once = Arc::new(AtomicU32::new(0));
    let failed_in = failed_once.clone();
    let zendesk = vendor_api(move |request| {
        let (target, headers) = (&request.target, &request.headers);
        let expected = format!(
            "Basic {}",
            STANDARD.encode("agent@example.com/token:zd-token-0001")
        );
        if headers.get("authorization") != Some(&expected) {
            return (401, vec![], "{}".to_owned());
        }
        let ticket = |id: u64| {
            serde_json::json!({"id": id, "created_at": "2024-03-01T08:15:00Z", "subject": "Help",
                "description": format!("Ticket {id}: the export button does nothing"), "requester_id": 7})
        };
        if target.contains("start_time=0") {
            let page = serde_json::json!({"tickets": [ticket(1), ticket(2)], "after_cursor": "c1", "end_of_stream": false});
            return (200, vec![], page.to_string());
        }
        assert!(target.contains("cursor=c1"), "{target}");
        if failed_in.fetch_add(1, Ordering::SeqCst) == 0 {
            return (500, vec![], "{}".to_owned());
        }
        let page = serde_json::json!({"tickets": [ticket(3)], "after_cursor": "c2", "end_of_stream": true});
        (200, vec![], page.to_string())
    });
    let out = add(
        "support",
        "zendesk",
        "agent@example.com@example",
        "ZD_TOKEN",
        "zd-token-0001",
        &zendesk,
    );
    added(&out);
    let broken = sync_stops(&db, "support", "HTTP 500");
    assert_eq!(broken["imported"].as_u64(), Some(2), "{broken}");
    let resumed = json(&vouch(&db, &["sources", "sync", "support", "--json"]));
    assert_eq!(
        (resumed["pages"].as_u64(), resumed["imported"].as_u64()),
        (Some(1), Some(1)),
        "the interrupted sync resumes from its cursor: {resumed}"
    );

    let list = json(&vouch(&db, &["sources", "list", "--json"]));
    let text = list.to_string();
    assert!(!text.contains("tp-key-0001") && !text.contains("zd-token-0001"));
    assert_eq!(list[0]["name"], "support");
    assert_eq!(list[0]["cursor"], "c2");
    assert_eq!(list[0]["items_pulled"].as_u64(), Some(3));
    assert!(
        list[1]["last_error"].as_str().unwrap().contains("HTTP 401"),
        "{list}"
    );
    // Sealed at rest: the database file holds neither credential in clear.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("vouch.db") && !path.to_string_lossy().ends_with(".key")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(!bytes.is_empty());
    for secret in ["tp-key-0001", "zd-token-0001"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear"
        );
    }
    assert!(vouch(&db, &["sources", "remove", "tp"]).status.success());
}

/// `vouch sources add` with the credentials in a file.
fn add_with_file(
    db: &str,
    name: &str,
    kind: &str,
    account: &str,
    credentials: &str,
    base: &str,
) -> Output {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), credentials).unwrap();
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "--db",
            db,
            "sources",
            "add",
            name,
            "--kind",
            kind,
            "--account",
            account,
        ])
        .args(["--credentials-file", &file.path().display().to_string()])
        .args(["--base-url", base])
        .output()
        .unwrap()
}

/// The form fields of a `application/x-www-form-urlencoded` body.
fn form(body: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// A JSON Web Token's claims, once its signature verifies with `key`.
fn verified_claims(token: &str, key: &signature::UnparsedPublicKey<Vec<u8>>) -> Option<Value> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signed] = parts[..] else {
        return None;
    };
    key.verify(
        format!("{header}.{claims}").as_bytes(),
        &URL_SAFE_NO_PAD.decode(signed).ok()?,
    )
    .ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()
}

/// `n` items, newest first, each changed a minute before the one above it.
fn minutes_before(n: usize) -> String {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").unwrap()
        - chrono::Duration::minutes(n as i64);
    at.with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn google_and_app_store_connectors_walk_back_to_what_they_saw() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("vouch.db").display());

    // Google Business Profile, with a user's refresh token: reviews newest
    // change first, 50 a page, a 429 on the way.
    let newest = Arc::new(AtomicU32::new(0));
    let limited = Arc::new(AtomicBool::new(false));
    let refresh = Arc::new(Mutex::new("rt-0001".to_owned()));
    // The next answer to page 1: 0 as usual, 500 (a failure), 400 (an expired token).
    let page_one = Arc::new(AtomicU32::new(0));
    let (newest_in, limited_in, refresh_in) = (newest.clone(), limited.clone(), refresh.clone());
    let page_one_in = page_one.clone();
    let gbp = vendor_api(move |request| {
        if request.method == "POST" && request.target == "/token" {
            let fields = form(&request.body);
            if fields.get("grant_type").map(String::as_str) != Some("refresh_token")
                || fields.get("client_id").map(String::as_str) != Some("client-1")
                || fields.get("refresh_token") != Some(&*refresh_in.lock().unwrap())
            {
                return (400, vec![], r#"{"error": "invalid_grant"}"#.to_owned());
            }
            let token =
                r#"{"access_token": "ya29.gbp", "expires_in": 3599, "token_type": "Bearer"}"#;
            return (200, vec![], token.to_owned());
        }
        if request.headers.get("authorization").map(String::as_str) != Some("Bearer ya29.gbp") {
            return (401, vec![], "{}".to_owned());
        }
        let target = &request.target;
        assert!(
            target.starts_with("/v4/accounts/111/locations/222/reviews?pageSize=50"),
            "{target}"
        );
        // `newest` reviews were added since the first 120.
        let added = newest_in.load(Ordering::SeqCst) as usize;
        let all: Vec<usize> = (0..added).map(|n| 1000 + added - n).chain(0..120).collect();
        let page = match target.split("pageToken=").nth(1) {
            None => 0,
            Some(token) => token.parse::<usize>().unwrap(),
        };
        if page == 1 && !limited_in.swap(true, Ordering::SeqCst) {
            return (429, vec![("retry-after", "1".to_owned())], "{}".to_owned());
        }
        if page == 1 {
            match page_one_in.swap(0, Ordering::SeqCst) {
                0 => {}
                status => {
                    return (
                        status as u16,
                        vec![],
                        r#"{"error": {"status": "INVALID_ARGUMENT"}}"#.to_owned(),
                    );
                }
            }
        }
        let reviews: Vec<Value> = all
            .iter()
            .skip(page * 50)
            .take(50)
            .map(|&n| {
                // New reviews are later than every old one.
                let at = if n >= 1000 { minutes_before(0).replace("12:00", &format!("12:{:02}", n - 1000)) } else { minutes_before(n) };
                let stars = ["ONE", "TWO", "THREE", "FOUR", "FIVE"][n % 5];
                serde_json::json!({
                    "name": format!("accounts/111/locations/222/reviews/r{n}"),
                    "reviewId": format!("r{n}"),
                    "reviewer": {"displayName": format!("Guest {n}"), "isAnonymous": false},
                    "starRating": stars,
                    "comment": if n.is_multiple_of(4) { String::new() } else { format!("Visit {n}: friendly staff") },
                    "createTime": at, "updateTime": at,
                })
            })
            .collect();
        let mut body = serde_json::json!({"reviews": reviews, "averageRating": 3.1, "totalReviewCount": all.len()});
        if (page + 1) * 50 < all.len() {
            body["nextPageToken"] = Value::from((page + 1).to_string());
        }
        (200, vec![], body.to_string())
    });
    let user = serde_json::json!({"type": "authorized_user", "client_id": "client-1",
        "client_secret": "secret-1", "refresh_token": "rt-0001", "token_uri": format!("{gbp}/token")});
    let out = add_with_file(
        &db,
        "maps",
        "google-business",
        "accounts/111/locations/222",
        &user.to_string(),
        &gbp,
    );
    added(&out);
    let first = json(&vouch(&db, &["sources", "sync", "maps", "--json"]));
    assert_eq!(
        (
            first["pages"].as_u64(),
            first["imported"].as_u64(),
            first["waits"].as_u64()
        ),
        (Some(3), Some(120), Some(1)),
        "{first}"
    );
    newest.store(2, Ordering::SeqCst);
    let second = json(&vouch(&db, &["sources", "sync", "maps", "--json"]));
    assert_eq!(
        (
            second["pages"].as_u64(),
            second["imported"].as_u64(),
            second["unchanged"].as_u64()
        ),
        (Some(1), Some(2), Some(48)),
        "the next sync reads back to what the last one saw, and stops there: {second}"
    );
    let third = json(&vouch(&db, &["sources", "sync", "maps", "--json"]));
    assert_eq!(third["imported"].as_u64(), Some(0), "{third}");
    // 50 more reviews; the walk breaks on its second page, and by the next
    // sync Google no longer takes its page token: it starts again from the
    // newest page and loses nothing.
    newest.store(52, Ordering::SeqCst);
    page_one.store(500, Ordering::SeqCst);
    let broken = sync_stops(&db, "maps", "HTTP 500");
    assert_eq!(broken["imported"].as_u64(), Some(50), "{broken}");
    page_one.store(400, Ordering::SeqCst);
    let restarted = json(&vouch(&db, &["sources", "sync", "maps", "--json"]));
    assert_eq!(
        (
            restarted["pages"].as_u64(),
            restarted["imported"].as_u64(),
            restarted["unchanged"].as_u64(),
            restarted["error"].as_str()
        ),
        (Some(2), Some(0), Some(100), None),
        "{restarted}"
    );
    // Star-only reviews are ratings without text.
    let google = with_store(&db, async |store| {
        let filter = vouch_store::FeedbackFilter {
            sources: vec![vouch_domain::Source::Google],
            ..Default::default()
        };
        store.feedback(&filter, None, 500).await.unwrap()
    });
    assert_eq!(google.len(), 172);
    assert!(
        google
            .iter()
            .any(|i| i.feedback.body.is_empty() && i.feedback.rating.is_some()),
        "star-only reviews are ratings without text"
    );
    // The refresh token is revoked: the sync says so.
    *refresh.lock().unwrap() = "rt-0002".to_owned();
    let revoked = vouch(&db, &["sources", "sync", "maps"]);
    assert_eq!(revoked.status.code(), Some(1));
    let said = String::from_utf8_lossy(&revoked.stdout);
    assert!(
        said.contains("Google refused the credentials (HTTP 400 invalid_grant)"),
        "{said}"
    );
    assert!(
        !said.contains("rt-0001") && !said.contains("secret-1"),
        "{said}"
    );

    // Google Play, with a service account: 250 reviews, 100 a page, the
    // second page failing once.
    let rsa = ring::signature::RsaKeyPair::from_pkcs8(
        &STANDARD
            .decode(
                include_str!("test-only-rsa-key.pem")
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap(),
    )
    .unwrap();
    let rsa_public = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        rsa.public_key().as_ref().to_vec(),
    );
    let play_base = Arc::new(OnceLock::<String>::new());
    let failed = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (play_base_in, failed_in, seen_in) = (play_base.clone(), failed.clone(), seen.clone());
    let play = vendor_api(move |request| {
        if request.method == "POST" && request.target == "/token" {
            let fields = form(&request.body);
            let claims = fields
                .get("assertion")
                .and_then(|a| verified_claims(a, &rsa_public));
            let expected_aud = format!("{}/token", play_base_in.get().unwrap());
            let good = fields.get("grant_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
                && claims.as_ref().is_some_and(|c| {
                    c["iss"] == "reviews@example.iam.gserviceaccount.com"
                        && c["scope"] == "https://www.googleapis.com/auth/androidpublisher"
                        && c["aud"] == expected_aud.as_str()
                });
            if !good {
                return (400, vec![], r#"{"error": "invalid_grant"}"#.to_owned());
            }
            return (
                200,
                vec![],
                r#"{"access_token": "ya29.play", "expires_in": 3599}"#.to_owned(),
            );
        }
        if request.headers.get("authorization").map(String::as_str) != Some("Bearer ya29.play") {
            return (401, vec![], "{}".to_owned());
        }
        let target = &request.target;
        seen_in.lock().unwrap().push(target.clone());
        assert!(
            target.starts_with(
                "/androidpublisher/v3/applications/com.example.app/reviews?maxResults=100"
            ),
            "{target}"
        );
        let page = match target.split("token=").nth(1) {
            None => 0,
            Some(token) => token.trim_start_matches('t').parse::<usize>().unwrap(),
        };
        if page == 1 && failed_in.fetch_add(1, Ordering::SeqCst) == 0 {
            return (500, vec![], "{}".to_owned());
        }
        let reviews: Vec<Value> = (page * 100..(page * 100 + 100).min(250))
            .map(|n| {
                let seconds = 1_767_600_000 - n as i64 * 60;
                serde_json::json!({"reviewId": format!("gp:AOqpTO{n}"), "authorName": format!("User {n}"),
                    "comments": [{"userComment": {"text": format!("Crashes on start {n}"),
                        "lastModified": {"seconds": seconds.to_string(), "nanos": 0},
                        "starRating": 1 + n % 5, "reviewerLanguage": "en_US"}}]})
            })
            .collect();
        let mut body = serde_json::json!({"reviews": reviews, "pageInfo": {"resultPerPage": 100}});
        if (page + 1) * 100 < 250 {
            body["tokenPagination"] =
                serde_json::json!({"nextPageToken": format!("t{}", page + 1)});
        }
        (200, vec![], body.to_string())
    });
    play_base.set(play.clone()).unwrap();
    let service_account = serde_json::json!({"type": "service_account", "project_id": "p",
        "private_key_id": "k1", "private_key": include_str!("test-only-rsa-key.pem"),
        "client_email": "reviews@example.iam.gserviceaccount.com", "token_uri": format!("{play}/token")});
    let out = add_with_file(
        &db,
        "play",
        "google-play",
        "com.example.app",
        &service_account.to_string(),
        &play,
    );
    added(&out);
    let broken = sync_stops(&db, "play", "HTTP 500");
    assert_eq!(broken["imported"].as_u64(), Some(100), "{broken}");
    let resumed = json(&vouch(&db, &["sources", "sync", "play", "--json"]));
    assert_eq!(
        (resumed["pages"].as_u64(), resumed["imported"].as_u64()),
        (Some(2), Some(150)),
        "{resumed}"
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .filter(|t| !t.contains("token="))
            .count()
            == 1,
        "the interrupted sync resumed at its page token, not at the top: {:?}",
        seen.lock().unwrap()
    );
    let again = json(&vouch(&db, &["sources", "sync", "play", "--json"]));
    assert_eq!(
        (again["pages"].as_u64(), again["imported"].as_u64()),
        (Some(1), Some(0)),
        "{again}"
    );

    // App Store Connect, with an ES256 key: Apple's next page is a whole
    // address; a rotated key is refused.
    let rng = ring::rand::SystemRandom::new();
    let p256 = |pkcs8: &[u8]| {
        signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &rng,
        )
        .unwrap()
    };
    let pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
    let apple_public = Arc::new(Mutex::new(signature::UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        p256(pkcs8.as_ref()).public_key().as_ref().to_vec(),
    )));
    let apple_base = Arc::new(OnceLock::<String>::new());
    let (apple_public_in, apple_base_in) = (apple_public.clone(), apple_base.clone());
    let apple = vendor_api(move |request| {
        let token = request
            .headers
            .get("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or_default();
        let claims = verified_claims(token, &apple_public_in.lock().unwrap());
        if !claims.is_some_and(|c| c["aud"] == "appstoreconnect-v1" && c["iss"] == "issuer-1") {
            return (
                401,
                vec![],
                r#"{"errors": [{"status": "401", "code": "NOT_AUTHORIZED"}]}"#.to_owned(),
            );
        }
        let target = &request.target;
        let page = if target
            .starts_with("/v1/apps/1234567890/customerReviews?sort=-createdDate&limit=200")
        {
            0
        } else {
            assert!(
                target.starts_with("/v1/apps/1234567890/customerReviews?cursor="),
                "{target}"
            );
            1
        };
        let data: Vec<Value> = (page * 200..(page * 200 + 200).min(230))
            .map(|n| serde_json::json!({"type": "customerReviews", "id": format!("asc-{n}"),
                "attributes": {"rating": 1 + n % 5, "title": "Title", "body": format!("Review {n}: sync is slow"),
                    "reviewerNickname": format!("nick{n}"), "createdDate": minutes_before(n).replace('Z', "-07:00"), "territory": "USA"},
                "links": {"self": "…"}}))
            .collect();
        let mut links =
            serde_json::json!({"self": format!("{}{target}", apple_base_in.get().unwrap())});
        if page == 0 {
            links["next"] = Value::from(format!(
                "{}/v1/apps/1234567890/customerReviews?cursor=Mg.AAA&limit=200&sort=-createdDate",
                apple_base_in.get().unwrap()
            ));
        }
        let body = serde_json::json!({"data": data, "links": links, "meta": {"paging": {"total": 230, "limit": 200}}});
        (200, vec![], body.to_string())
    });
    apple_base.set(apple.clone()).unwrap();
    let pem = |der: &[u8]| {
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der)
        )
    };
    let key = serde_json::json!({"issuer_id": "issuer-1", "key_id": "ABC123", "private_key": pem(pkcs8.as_ref())});
    let bad = add_with_file(
        &db,
        "ios",
        "app-store",
        "../../admin",
        &key.to_string(),
        &apple,
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an account that would leave the API's path is refused"
    );
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("the app's Apple ID"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let out = add_with_file(
        &db,
        "ios",
        "app-store",
        "1234567890",
        &key.to_string(),
        &apple,
    );
    added(&out);
    let first = json(&vouch(&db, &["sources", "sync", "ios", "--json"]));
    assert_eq!(
        (first["pages"].as_u64(), first["imported"].as_u64()),
        (Some(2), Some(230)),
        "{first}"
    );
    let again = json(&vouch(&db, &["sources", "sync", "ios", "--json"]));
    assert_eq!(
        (
            again["pages"].as_u64(),
            again["imported"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(1), Some(0), Some(200)),
        "{again}"
    );
    // The key is revoked in App Store Connect.
    let other =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
    *apple_public.lock().unwrap() = signature::UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        p256(other.as_ref()).public_key().as_ref().to_vec(),
    );
    let refused = vouch(&db, &["sources", "sync", "ios"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stdout)
            .contains("app-store refused the credentials (HTTP 401)")
    );

    // Nothing secret is shown, and none of it is in the database in clear.
    let list = json(&vouch(&db, &["sources", "list", "--json"])).to_string();
    for secret in ["rt-0001", "secret-1", "BEGIN PRIVATE KEY", "ya29"] {
        assert!(!list.contains(secret), "{secret} shown");
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("vouch.db") && !path.to_string_lossy().ends_with(".key")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    for secret in ["rt-0001", "secret-1", "PRIVATE KEY", "issuer-1"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear"
        );
    }
}

#[test]
fn hubspot_contacts_become_customers_and_get_their_category_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("vouch.db").display());
    let answers = |rows: &str| {
        let file = dir.path().join("answers.csv");
        std::fs::write(
            &file,
            format!(
                "Timestamp,Email Address,How likely is it that you would recommend us to a friend?\n{rows}"
            ),
        )
        .unwrap();
        let out = vouch(
            &db,
            &[
                "import",
                file.to_str().unwrap(),
                "--survey",
                "NPS",
                "--kind",
                "nps",
                "--json",
            ],
        );
        added(&out);
    };
    answers("3/5/2026 14:07:09,c501@example.com,10\n3/6/2026 9:00:00,c502@example.com,3\n");

    // 150 contacts, 100 a page; HubSpot keeps what is written back.
    let held = Arc::new(Mutex::new(HashMap::<String, (String, String)>::new()));
    let writes = Arc::new(Mutex::new(Vec::<Value>::new()));
    let limited = Arc::new(AtomicBool::new(false));
    let (held_in, writes_in, limited_in) = (held.clone(), writes.clone(), limited.clone());
    let hubspot = vendor_api(move |request| {
        if request.headers.get("authorization").map(String::as_str) != Some("Bearer pat-na1-0001") {
            return (
                401,
                vec![],
                r#"{"status": "error", "category": "EXPIRED_AUTHENTICATION"}"#.to_owned(),
            );
        }
        if request.method == "POST" {
            assert_eq!(request.target, "/crm/v3/objects/contacts/batch/update");
            let body: Value = serde_json::from_str(&request.body).unwrap();
            let mut held = held_in.lock().unwrap();
            for input in body["inputs"].as_array().unwrap() {
                let p = &input["properties"];
                held.insert(
                    input["id"].as_str().unwrap().to_owned(),
                    (
                        p["vouch_nps_category"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        p["vouch_nps_score"].as_str().unwrap_or_default().to_owned(),
                    ),
                );
            }
            writes_in.lock().unwrap().push(body.clone());
            return (
                200,
                vec![],
                serde_json::json!({"status": "COMPLETE", "results": []}).to_string(),
            );
        }
        let target = &request.target;
        assert!(
            target.starts_with(
                "/crm/v3/objects/contacts?limit=100&archived=false&properties=email%2Cfirstname"
            ),
            "{target}"
        );
        let second = target.contains("after=601");
        if second && !limited_in.swap(true, Ordering::SeqCst) {
            return (
                429,
                vec![("retry-after", "1".to_owned())],
                r#"{"status": "error", "category": "RATE_LIMITS"}"#.to_owned(),
            );
        }
        let ids = if second { 601..651 } else { 501..601 };
        let held = held_in.lock().unwrap();
        let results: Vec<Value> = ids
            .map(|n: u32| {
                let id = n.to_string();
                let (category, score) = held.get(&id).cloned().unwrap_or_default();
                serde_json::json!({"id": id, "archived": false,
                    "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-03-01T00:00:00Z",
                    "properties": {"email": format!("c{n}@example.com"), "firstname": format!("First{n}"),
                        "lastname": "Contact", "hs_language": if n.is_multiple_of(2) { "ro" } else { "en" },
                        "hs_object_id": id, "vouch_nps_category": if category.is_empty() { Value::Null } else { Value::from(category) },
                        "vouch_nps_score": if score.is_empty() { Value::Null } else { Value::from(score) }}})
            })
            .collect();
        let mut body = serde_json::json!({"results": results});
        if !second {
            body["paging"] = serde_json::json!({"next": {"after": "601", "link": "…"}});
        }
        (200, vec![], body.to_string())
    });
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "--db",
            &db,
            "sources",
            "add",
            "crm",
            "--kind",
            "hubspot",
            "--account",
            "4242",
        ])
        .args(["--credentials-env", "HS_TOKEN", "--base-url", &hubspot])
        .env("HS_TOKEN", "pat-na1-0001")
        .output()
        .unwrap();
    added(&out);
    let first = json(&vouch(&db, &["sources", "sync", "crm", "--json"]));
    assert_eq!(
        (
            first["pages"].as_u64(),
            first["imported"].as_u64(),
            first["updated"].as_u64(),
            first["written_back"].as_u64(),
            first["waits"].as_u64()
        ),
        (Some(2), Some(148), Some(2), Some(2), Some(1)),
        "the two who answered were matched by email: {first}"
    );
    assert_eq!(
        held.lock().unwrap().get("501"),
        Some(&("promoter".to_owned(), "10".to_owned()))
    );
    assert_eq!(
        held.lock().unwrap().get("502"),
        Some(&("detractor".to_owned(), "3".to_owned()))
    );
    let again = json(&vouch(&db, &["sources", "sync", "crm", "--json"]));
    assert_eq!(
        (
            again["imported"].as_u64(),
            again["unchanged"].as_u64(),
            again["written_back"].as_u64()
        ),
        (Some(0), Some(150), Some(0)),
        "a re-sync adds and writes nothing: {again}"
    );
    // A new answer moves one contact; only that one is written.
    answers("3/7/2026 10:00:00,c503@example.com,8\n");
    let third = json(&vouch(&db, &["sources", "sync", "crm", "--json"]));
    assert_eq!(third["written_back"].as_u64(), Some(1), "{third}");
    assert_eq!(writes.lock().unwrap().len(), 2);
    assert_eq!(
        held.lock().unwrap().get("503"),
        Some(&("passive".to_owned(), "8".to_owned()))
    );
    let customer = with_store(&db, async |store| {
        store.find_customer("c600@example.com").await.unwrap()
    });
    assert_eq!(
        (
            customer.profile.external_id.as_deref(),
            customer.profile.name.as_deref(),
            customer.profile.locale.as_str()
        ),
        (Some("600"), Some("First600 Contact"), "ro")
    );
}
