//! Property tests that feed every parser hostile input (random text, broken
//! JSON and CSV built from real records, control characters, huge fields):
//! each must answer with items or rejections, never panic or hang. Cases
//! proptest finds are kept in `proptest-regressions/` and replayed first.

use proptest::prelude::*;

use crate::{FORMAT_NAMES, FileSource, Format, ReadOptions, ResponseSource, parse_time};

/// One real-looking record per format, to mutate.
const SEEDS: &[&str] = &[
    r#"{"review_id":"r1","user_id":"u1","business_id":"b1","stars":4,"text":"Good food","date":"2026-01-05 10:00:00"}"#,
    r#"{"reviewerID":"A1","asin":"B1","overall":5.0,"reviewText":"Works","summary":"Ok","unixReviewTime":1700000000}"#,
    r#"{"reviewId":"g1","reviewer":{"displayName":"Ana"},"starRating":"FOUR","comment":"Nice","createTime":"2026-01-05T10:00:00Z"}"#,
    r#"{"id":"t1","text":"Love it @acme","author_id":"42","created_at":"2026-01-05T10:00:00.000Z","lang":"en"}"#,
    r#"{"id":7,"subject":"Broken","description":"It broke","created_at":"2026-01-05T10:00:00Z","satisfaction_rating":{"score":"bad"}}"#,
    r#"{"id":"a1","attributes":{"rating":5,"title":"Yes","body":"Great","reviewerNickname":"x","createdDate":"2026-01-05T10:00:00-07:00"}}"#,
    "Review ID,Review Created (UTC),Review Title,Review Content,Review Stars\nx1,2026-01-05 10:00:00,Nice,\"Good, fast\",5",
    "Review,Rating\n\"Clean room, friendly staff\",5",
];

fn formats() -> Vec<Format> {
    FORMAT_NAMES.iter().filter_map(|n| n.parse().ok()).collect()
}

/// Reads everything `text` holds in `format` (or detected), to the end.
fn read_all(text: &str, format: Option<Format>) {
    let options = ReadOptions {
        source: Some(vouch_domain::Source::Other),
        ..ReadOptions::default()
    };
    if let Ok(source) = FileSource::with_options(text.as_bytes(), format, options.clone()) {
        for item in source.take(10_000).flatten() {
            assert!(item.body.chars().count() <= vouch_domain::text::MAX_TEXT_CHARS);
            assert!(!item.body.contains('\0'));
        }
    }
    for kind in vouch_domain::SurveyKind::ALL {
        if let Ok(rows) = ResponseSource::new(text.as_bytes(), *kind, options.clone()) {
            rows.take(10_000).for_each(drop);
        }
    }
}

/// `seed` with a random stretch replaced by `insert`.
fn mutated(seed: &str, at: usize, len: usize, insert: &str) -> String {
    let chars: Vec<char> = seed.chars().collect();
    let at = at % (chars.len() + 1);
    let end = (at + len).min(chars.len());
    chars[..at]
        .iter()
        .chain(insert.chars().collect::<Vec<_>>().iter())
        .chain(chars[end..].iter())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_in_any_format_is_read_without_a_panic(text in "\\PC{0,400}|[\\x00-\\x7f]{0,400}", which in 0usize..32) {
        let formats = formats();
        read_all(&text, formats.get(which % (formats.len() + 1)).copied());
    }

    #[test]
    fn mutated_records_are_items_or_rejections(
        seed in 0usize..SEEDS.len(),
        at in 0usize..400,
        len in 0usize..40,
        insert in "[\\x00-\\x1f\"{}\\[\\],:\\\\a-z0-9\u{202e}\u{feff}]{0,30}",
    ) {
        let text = mutated(SEEDS[seed], at, len, &insert);
        read_all(&text, None);
        for format in formats() {
            read_all(&text, Some(format));
        }
    }

    #[test]
    fn dates_in_any_shape_parse_or_fail(text in "\\PC{0,40}|[0-9:T+ .Z/-]{0,30}") {
        let _ = parse_time(&text, None);
        let _ = parse_time(&text, Some("%d/%m/%Y %H:%M"));
    }
}

#[test]
fn a_huge_field_is_rejected_not_kept() {
    let body = "word ".repeat(10_000);
    let line = format!(r#"{{"id":"h1","text":"{body}","date":"2026-01-05"}}"#);
    let source = FileSource::with_options(
        line.as_bytes(),
        Some("jsonl".parse().unwrap()),
        ReadOptions::default(),
    )
    .unwrap();
    let results: Vec<_> = source.collect();
    assert!(
        results[0]
            .as_ref()
            .is_err_and(|r| r.reason.contains("the limit is 20000")),
        "{:?}",
        results[0].as_ref().err()
    );
}
