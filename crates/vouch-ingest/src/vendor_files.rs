//! The files vendors really give, written by us from their documentation
//! (`fixtures/`): each is recognised without flags and read whole.

use vouch_domain::Feedback;

use crate::{FileSource, Format};

fn read(name: &str) -> (Format, Vec<Feedback>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let mut source = FileSource::new(file, None).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let format = source.format();
    let items = source
        .by_ref()
        .map(|r| r.unwrap_or_else(|e| panic!("{name}: line {}: {}", e.line, e.reason)))
        .collect();
    assert_eq!(source.records().broken(), None, "{name}");
    (format, items)
}

/// Each item as (id, rating value, UTC time, author name, body).
type Seen = (String, Option<f64>, String, Option<String>, String);

fn seen(items: &[Feedback]) -> Vec<Seen> {
    items
        .iter()
        .map(|f| {
            (
                f.source_id.clone(),
                f.rating.map(|r| r.value()),
                f.posted_at.to_rfc3339(),
                f.author.name.clone(),
                f.body.clone(),
            )
        })
        .collect()
}

fn item(id: &str, rating: Option<f64>, at: &str, author: Option<&str>, body: &str) -> Seen {
    (
        id.to_owned(),
        rating,
        at.to_owned(),
        author.map(str::to_owned),
        body.to_owned(),
    )
}

#[test]
fn whole_json_documents_from_vendor_apis_and_archives() {
    let (format, items) = read("trustpilot_api_reviews_page.json");
    assert_eq!(format, Format::Trustpilot);
    assert_eq!(
        seen(&items),
        vec![
            item(
                "5f1a2b3c4d5e6f7a8b9c0d1e",
                Some(5.0),
                "2024-03-01T10:15:00+00:00",
                Some("Ana Popescu"),
                "Support answered in ten minutes and fixed my invoice."
            ),
            item(
                "5f1a2b3c4d5e6f7a8b9c0d1f",
                Some(2.0),
                "2024-03-02T06:00:00+00:00",
                Some("Mihai I."),
                "Coletul a ajuns după două săptămâni."
            ),
        ]
    );
    assert_eq!(items[0].author.external_id.as_deref(), Some("order-1001"));
    assert_eq!(items[1].language.as_deref(), Some("ro"));

    let (format, items) = read("google_business_takeout_reviews.json");
    assert_eq!(format, Format::GoogleBusiness);
    assert_eq!(
        seen(&items),
        vec![
            item(
                "AbFvOqlx1Zk2",
                Some(4.0),
                "2024-03-01T12:30:00.123456+00:00",
                Some("Ioana Marin"),
                "Good coffee, slow service at lunch."
            ),
            // Star-only and anonymous.
            item(
                "AbFvOqlx1Zk3",
                Some(5.0),
                "2024-03-03T18:05:00+00:00",
                None,
                ""
            ),
        ]
    );

    let (format, items) = read("app_store_customer_reviews.json");
    assert_eq!(format, Format::AppStore);
    assert_eq!(
        seen(&items)
            .into_iter()
            .map(|(id, r, at, who, _)| (id, r, at, who))
            .collect::<Vec<_>>(),
        vec![
            (
                "00000066-1b2c-3d4e-5f60-718293a4b5c6".to_owned(),
                Some(1.0),
                "2024-03-04T15:45:00+00:00".to_owned(),
                Some("dan_r".to_owned())
            ),
            (
                "00000066-1b2c-3d4e-5f60-718293a4b5c7".to_owned(),
                Some(5.0),
                "2024-03-05T08:00:00+00:00".to_owned(),
                Some("maria.k".to_owned())
            ),
        ]
    );

    let (format, items) = read("zendesk_incremental_tickets.json");
    assert_eq!(format, Format::Zendesk);
    assert_eq!(
        items
            .iter()
            .map(|f| (
                f.source_id.as_str(),
                f.rating.map(|r| r.value()),
                f.author.handle.as_deref()
            ))
            .collect::<Vec<_>>(),
        vec![
            ("zendesk:35436", None, Some("20978392")),
            // The ticket's rating is its own item: the one the
            // satisfaction-ratings export gives, so the two count once.
            ("zendesk:rating:62", Some(1.0), Some("20978392")),
            ("zendesk:35437", None, Some("20978393"))
        ]
    );
    let (_, ratings) = read("zendesk_satisfaction_ratings.json");
    let rating = items
        .iter()
        .find(|f| f.source_id == "zendesk:rating:62")
        .unwrap();
    let exported = ratings
        .iter()
        .find(|f| f.source_id == "zendesk:rating:62")
        .unwrap();
    assert_eq!(
        (rating.body.as_str(), rating.rating, rating.url.as_deref()),
        (
            exported.body.as_str(),
            exported.rating,
            exported.url.as_deref()
        )
    );

    let (format, items) = read("x_api_v2_recent_search.json");
    assert_eq!(format, Format::Twitter);
    assert_eq!(
        items
            .iter()
            .map(|f| (
                f.source_id.as_str(),
                f.posted_at.to_rfc3339(),
                f.engagement.likes
            ))
            .collect::<Vec<_>>(),
        vec![
            (
                "1763900000000000001",
                "2024-03-02T10:00:00+00:00".to_owned(),
                7
            ),
            (
                "1763900000000000002",
                "2024-03-02T11:30:00+00:00".to_owned(),
                1
            ),
        ]
    );

    let (format, items) = read("x_archive_tweets.js");
    assert_eq!(format, Format::Twitter);
    assert_eq!(
        items
            .iter()
            .map(|f| (
                f.source_id.as_str(),
                f.posted_at.to_rfc3339(),
                f.engagement.likes,
                f.engagement.shares
            ))
            .collect::<Vec<_>>(),
        vec![
            (
                "1764000000000000001",
                "2024-03-02T10:00:00+00:00".to_owned(),
                4,
                2
            ),
            (
                "1764000000000000002",
                "2024-03-03T08:30:00+00:00".to_owned(),
                0,
                0
            ),
        ]
    );
    assert_eq!(
        items[1].body,
        "@ana_p sorry about the delay, a fix is on its way"
    );
}

#[test]
fn trustpilot_api_reviews_as_json_lines_read_as_json() {
    let line = r#"{"id": "5f1a", "consumer": {"id": "c1", "displayName": "Ana"}, "stars": 4, "text": "Good", "createdAt": "2024-03-01T10:15:00Z"}"#;
    let text = format!("{line}\n{line}\n");
    let mut source = FileSource::new(text.as_bytes(), None).unwrap();
    assert_eq!(source.format(), Format::Trustpilot);
    let item = source.next().unwrap().unwrap();
    assert_eq!(
        (item.source_id.as_str(), item.author.name.as_deref()),
        ("5f1a", Some("Ana"))
    );
}

#[test]
fn zendesk_satisfaction_ratings_are_csat_signals_on_their_ticket() {
    let (format, items) = read("zendesk_satisfaction_ratings.json");
    assert_eq!(format, Format::Zendesk);
    assert_eq!(
        items
            .iter()
            .map(|f| (
                f.source_id.as_str(),
                f.rating.map(|r| (r.value(), r.max())),
                f.author.handle.as_deref(),
                f.url.as_deref(),
                f.body.as_str()
            ))
            .collect::<Vec<_>>(),
        vec![
            (
                "zendesk:rating:62",
                Some((1.0, 1.0)),
                Some("20978392"),
                Some("https://example.zendesk.com/agent/tickets/35436"),
                "Quick and clear, thanks."
            ),
            (
                "zendesk:rating:63",
                Some((0.0, 1.0)),
                Some("20978393"),
                Some("https://example.zendesk.com/agent/tickets/35437"),
                ""
            ),
        ]
    );
    let offered = r#"{"satisfaction_ratings": [{"id": 64, "ticket_id": 1, "requester_id": 2, "score": "offered", "created_at": "2024-03-03T11:30:00Z"}]}"#;
    let refused: Vec<_> = FileSource::new(offered.as_bytes(), None).unwrap().collect();
    assert!(
        refused[0]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("\"offered\" is not a rating given")
    );
}

#[test]
fn vendor_csv_quirks_keep_authors_ids_and_star_only_ratings() {
    let (format, items) = read("trustpilot_older_headers.csv");
    assert_eq!(format, Format::Trustpilot);
    assert_eq!(
        items
            .iter()
            .map(|f| (
                f.author.name.as_deref(),
                f.author.email.as_deref(),
                f.rating.map(|r| r.value()),
                f.body.as_str()
            ))
            .collect::<Vec<_>>(),
        vec![
            (
                Some("Ana Popescu"),
                Some("ana@example.com"),
                Some(5.0),
                "They fixed it the same day."
            ),
            (
                Some("Mihai Ionescu"),
                Some("mihai@example.com"),
                Some(3.0),
                ""
            ),
        ]
    );

    let (format, items) = read("google_play_older_links.csv");
    assert_eq!(format, Format::GooglePlay);
    assert_eq!(
        items
            .iter()
            .map(|f| (
                f.source_id.as_str(),
                f.rating.map(|r| r.value()),
                f.body.as_str()
            ))
            .collect::<Vec<_>>(),
        vec![
            ("gp:AOqpTOH1aBcDeFgHiJk", Some(2.0), "Keeps logging me out."),
            ("gp:AOqpTOH2xYz", Some(5.0), ""),
        ]
    );

    let (format, items) = read("tripadvisor_identical_guests.csv");
    assert_eq!(format, Format::Tripadvisor);
    let ids: Vec<&str> = items.iter().map(|f| f.source_id.as_str()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], format!("{}-2", ids[0]), "two guests, two reviews");
    assert_ne!(ids[2], ids[0]);
    let (_, again) = read("tripadvisor_identical_guests.csv");
    assert_eq!(
        again
            .iter()
            .map(|f| f.source_id.as_str())
            .collect::<Vec<_>>(),
        ids,
        "the same ids on every read"
    );
}

/// Each answer as (score, UTC time, email, comment).
type Answer = (u8, String, Option<String>, Option<String>);

fn answers(name: &str) -> Result<Vec<Answer>, String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let source = crate::ResponseSource::new(
        file,
        vouch_domain::SurveyKind::Nps,
        crate::ReadOptions::default(),
    )
    .map_err(|e| e.reason)?;
    Ok(source
        .map(|a| {
            let a = a.unwrap_or_else(|e| panic!("{name}: line {}: {}", e.line, e.reason));
            (
                a.score.value(),
                a.answered_at.to_rfc3339(),
                a.email.map(|e| e.as_str().to_owned()),
                a.comment,
            )
        })
        .collect())
}

#[test]
fn survey_exports_with_header_rows_read_the_score_not_the_group() {
    let qualtrics = answers("qualtrics_nps_export.csv").unwrap();
    assert_eq!(
        qualtrics.iter().map(|a| a.0).collect::<Vec<_>>(),
        vec![10, 3, 8, 9],
        "Q1, not Q1_NPS_GROUP"
    );
    // Denver is UTC-7 in March before daylight saving time.
    assert_eq!(qualtrics[0].1, "2024-03-01T15:15:00+00:00");
    assert_eq!(qualtrics[0].2.as_deref(), Some("ana@example.com"));
    assert_eq!(qualtrics[1].3.as_deref(), Some("Invoices are always wrong"));
    assert_eq!(qualtrics[2].3, None);

    // Answered when submitted: the End Date.
    let monkey = answers("surveymonkey_nps_export.csv").unwrap();
    assert_eq!(
        monkey,
        vec![
            (
                10,
                "2024-03-01T08:15:00+00:00".to_owned(),
                Some("ana@example.com".to_owned()),
                Some("Fast support".to_owned())
            ),
            (
                3,
                "2024-03-01T13:02:00+00:00".to_owned(),
                Some("mihai@example.com".to_owned()),
                Some("Invoices are always wrong".to_owned())
            ),
            (
                0,
                "2024-03-02T10:05:00+00:00".to_owned(),
                Some("ioana@example.com".to_owned()),
                None
            ),
        ]
    );
}

#[test]
fn delighted_and_google_forms_exports_need_no_flags() {
    assert_eq!(
        answers("delighted_nps_export.csv").unwrap(),
        vec![
            (
                9,
                "2024-03-01T10:15:00+00:00".to_owned(),
                Some("ana@example.com".to_owned()),
                Some("Great onboarding".to_owned())
            ),
            (
                4,
                "2024-03-02T11:00:00+00:00".to_owned(),
                Some("mihai@example.com".to_owned()),
                Some("Too slow, and support never answered".to_owned())
            ),
        ]
    );
    // The direct download keeps the form's zone: EET is UTC+2.
    assert_eq!(
        answers("google_forms_direct_download.csv").unwrap(),
        vec![
            (
                10,
                "2024-03-01T08:15:00+00:00".to_owned(),
                Some("ana@example.com".to_owned()),
                Some("Fast support".to_owned())
            ),
            (
                6,
                "2024-03-01T12:30:00+00:00".to_owned(),
                Some("mihai@example.com".to_owned()),
                None
            ),
        ]
    );
}

#[test]
fn typeform_and_formbricks_exports_need_no_flags() {
    // Typeform: `#` (the response token), question titles, hidden fields,
    // then its dates in UTC; Formbricks: a row number and ids first,
    // numbered questions, `Timestamp` in UTC.
    for file in ["typeform_nps_export.csv", "formbricks_nps_export.csv"] {
        let (first, second) = match file {
            "typeform_nps_export.csv" => (
                (9, "Setup took minutes, support is friendly"),
                (3, "The export keeps failing"),
            ),
            _ => (
                (10, "Clear reports, quick support"),
                (2, "Billing is confusing"),
            ),
        };
        assert_eq!(
            answers(file).unwrap(),
            vec![
                (
                    first.0,
                    "2024-03-01T10:15:00+00:00".to_owned(),
                    Some("ana@example.com".to_owned()),
                    Some(first.1.to_owned())
                ),
                (
                    second.0,
                    "2024-03-02T11:00:00+00:00".to_owned(),
                    Some("mihai@example.com".to_owned()),
                    Some(second.1.to_owned())
                ),
            ],
            "{file}"
        );
    }
}

#[test]
fn two_columns_that_could_be_the_score_stop_the_import_and_are_named() {
    let file = "email,date,How likely are you to recommend us?,Overall satisfaction rating\na@example.com,2024-03-01,9,4\n";
    let refused = crate::ResponseSource::new(
        file.as_bytes(),
        vouch_domain::SurveyKind::Nps,
        crate::ReadOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        refused.reason.contains("2 columns could be the score (\"How likely are you to recommend us?\", \"Overall satisfaction rating\")"),
        "{}",
        refused.reason
    );
}
