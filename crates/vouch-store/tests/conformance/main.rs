//! The store conformance suite: every test runs against SQLite and, when
//! VOUCH_TEST_POSTGRES_URL is set, PostgreSQL, each in a fresh database.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use vouch_domain::analytics::NpsTally;
use vouch_domain::{
    Answer, Channel, CustomerId, CustomerProfile, Email, Feedback, Locale, Rating, Score,
    SignalKind, Source, SurveyKind,
};
use vouch_store::{ResponseFilter, Segment, StoreError, UpsertSummary};
use vouch_testing::{TestDb, on_both_backends};

mod program;

on_both_backends!(
    migrations_are_current_and_idempotent,
    imported_answers_move_categories_as_a_fresh_read_places_them,
    tasks_escalate_and_go_overdue_once_and_a_step_finishes_once,
    webhook_and_totp_secrets_are_sealed_at_rest,
    customers_round_trip_with_attributes_and_handles,
    customers_are_found_by_id_email_or_external_id,
    customers_page_by_id,
    surveys_are_created_once,
    answers_keep_their_fields_and_comments_become_feedback,
    nps_tally_counts_categories_within_dates,
    feedback_round_trips_and_source_ids_are_unique,
    category_signals_combine_answers_and_reviews,
    hostile_text_is_stored_verbatim,
    nps_rollup_matches_the_answers_through_inserts_updates_and_deletes,
    nps_filters_and_segments,
    csat_and_ces_score_counts,
    customer_flow_and_public_feedback_counts,
    all_category_signals_cover_every_customer,
    text_models_taxonomy_and_feedback_analyses_round_trip,
    feedback_upserts_are_idempotent_and_update_what_changed,
    imported_answers_upsert_by_key_and_customers_are_looked_up,
    jobs_are_claimed_once_retried_and_end_done_or_dead,
    first_answers_are_stored_once_with_their_tags_and_jobs,
    concurrent_read_then_write_transactions_wait_for_each_other,
    a_bulk_writer_writes_batch_after_batch_and_leaves_an_empty_wal,
    concurrent_upserts_of_the_same_new_items_store_each_once,
    the_audit_log_is_append_only_and_attempts_count_in_their_window,
    retention_deletes_only_what_is_older_than_its_period,
    every_write_appends_its_events_in_its_own_transaction,
    consumers_resume_where_they_stopped_and_retention_waits_for_them,
    schedules_fire_once_per_slot_across_instances,
    consent_suppressions_and_the_contact_budget,
    thresholds_in_sql_agree_with_the_domain,
    inbox_search_folds_diacritics_and_triage_changes_once,
    the_search_index_fills_behind_the_writes_and_forgets_deleted_items,
);

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 30, 15).unwrap() + Duration::days(day)
}

fn profile(n: u32) -> CustomerProfile {
    let mut p = CustomerProfile::new(
        Locale::parse(if n.is_multiple_of(2) { "en" } else { "ro-RO" }).unwrap(),
        at(i64::from(n)),
    );
    p.email = Some(Email::parse(&format!("person{n}@example.com")).unwrap());
    p.external_id = Some(format!("CRM-{n}"));
    p.name = Some(format!("Person {n}"));
    p.attributes = BTreeMap::from([
        (
            "plan".into(),
            if n.is_multiple_of(3) { "pro" } else { "free" }.into(),
        ),
        ("region".into(), "EU".into()),
    ]);
    p
}

fn answer(
    survey: vouch_domain::SurveyId,
    customer: Option<CustomerId>,
    score: i64,
    day: i64,
    comment: Option<&str>,
) -> Answer {
    Answer {
        survey_id: survey,
        customer_id: customer,
        score: Score::nps(score).unwrap(),
        comment: comment.map(str::to_owned),
        channel: Channel::Email,
        locale: Some(Locale::parse("ro").unwrap()),
        answered_at: at(day),
        metadata: BTreeMap::from([("wave".into(), "1".into())]),
    }
}

async fn migrations_are_current_and_idempotent(db: &TestDb) {
    let store = &db.store;
    assert_eq!(
        store.schema_version().await.unwrap(),
        store.binary_schema_version()
    );
    store.migrate().await.unwrap();
    // A second process opening the same database migrates nothing and works.
    let again = vouch_store::Store::open(&db.url).await.unwrap();
    assert_eq!(
        again.schema_version().await.unwrap(),
        store.binary_schema_version()
    );
    again.close().await;
}

async fn customers_round_trip_with_attributes_and_handles(db: &TestDb) {
    let store = &db.store;
    let mut with_handles = profile(1);
    with_handles
        .handles
        .insert("twitter".into(), "@person1".into());
    with_handles.churned_at = Some(at(40));
    let ids = store
        .insert_customers(&[profile(0), with_handles.clone(), profile(2)])
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    assert!(
        ids[0] < ids[1] && ids[1] < ids[2],
        "ids follow input order: {ids:?}"
    );
    let stored = store.customer(ids[1]).await.unwrap().unwrap();
    assert_eq!(stored.id, ids[1]);
    assert_eq!(stored.profile, with_handles);
    assert_eq!(store.count_customers().await.unwrap(), 3);
    assert!(store.customer(CustomerId(999_999)).await.unwrap().is_none());

    let mut referred = profile(3);
    referred.referred_by = Some(ids[0]);
    let id = store.insert_customers(&[referred]).await.unwrap()[0];
    assert!(
        store
            .customer(id)
            .await
            .unwrap()
            .unwrap()
            .profile
            .acquired_via_referral()
    );
}

async fn customers_are_found_by_id_email_or_external_id(db: &TestDb) {
    let store = &db.store;
    let ids = store
        .insert_customers(&[profile(0), profile(1)])
        .await
        .unwrap();
    assert_eq!(
        store.find_customer(&ids[1].to_string()).await.unwrap().id,
        ids[1]
    );
    assert_eq!(
        store.find_customer("person1@EXAMPLE.com").await.unwrap().id,
        ids[1]
    );
    assert_eq!(store.find_customer("CRM-0").await.unwrap().id, ids[0]);
    assert!(matches!(
        store.find_customer("nobody@example.com").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn customers_page_by_id(db: &TestDb) {
    let store = &db.store;
    let profiles: Vec<_> = (0..25).map(profile).collect();
    store.insert_customers(&profiles).await.unwrap();
    let first = store
        .customers(&Default::default(), None, 10)
        .await
        .unwrap();
    let second = store
        .customers(&Default::default(), Some(first[9].id), 10)
        .await
        .unwrap();
    let third = store
        .customers(&Default::default(), Some(second[9].id), 10)
        .await
        .unwrap();
    assert_eq!((first.len(), second.len(), third.len()), (10, 10, 5));
    assert!(first[9].id < second[0].id);
    assert_eq!(third[4].profile, profiles[24]);
    assert_eq!(third[4].profile.attributes["plan"], "pro");
}

async fn surveys_are_created_once(db: &TestDb) {
    let store = &db.store;
    let a = store
        .ensure_survey(SurveyKind::Nps, "Relationship", at(0))
        .await
        .unwrap();
    let b = store
        .ensure_survey(SurveyKind::Nps, "Relationship", at(5))
        .await
        .unwrap();
    assert_eq!(a, b);
    assert!(
        store
            .ensure_survey(SurveyKind::Csat, "Relationship", at(0))
            .await
            .is_err()
    );
    store
        .ensure_survey(SurveyKind::Ces, "Effort", at(0))
        .await
        .unwrap();
    assert_eq!(store.surveys().await.unwrap().len(), 2);
}

async fn answers_keep_their_fields_and_comments_become_feedback(db: &TestDb) {
    let store = &db.store;
    let customer = store.insert_customers(&[profile(0)]).await.unwrap()[0];
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    let answers = vec![
        answer(
            survey,
            Some(customer),
            10,
            3,
            Some("Livrare rapidă, mulțumesc!"),
        ),
        answer(survey, Some(customer), 4, 1, None),
        answer(survey, None, 8, 2, Some("   ")),
    ];
    let ids = store.insert_answers(&answers).await.unwrap();
    assert_eq!(ids.len(), 3);
    let responses = store.responses_of(customer).await.unwrap();
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].answer, answers[1], "oldest first");
    assert_eq!(responses[1].answer, answers[0]);
    assert_eq!(responses[1].id, ids[0]);
    let feedback = store.feedback_of(customer).await.unwrap();
    assert_eq!(feedback.len(), 1, "only non-blank comments become feedback");
    let f = &feedback[0].feedback;
    assert_eq!(
        (f.source, f.source_id.as_str()),
        (Source::Survey, format!("response:{}", ids[0].0).as_str())
    );
    assert_eq!(
        (f.body.as_str(), f.language.as_deref()),
        ("Livrare rapidă, mulțumesc!", Some("ro"))
    );
    assert_eq!(store.count_responses().await.unwrap(), 3);
}

async fn nps_tally_counts_categories_within_dates(db: &TestDb) {
    let store = &db.store;
    let nps = survey(store, SurveyKind::Nps, "Relationship").await;
    let csat = survey(store, SurveyKind::Csat, "Support").await;
    let scores = [10, 9, 9, 8, 7, 6, 3, 0, 10, 5, 9];
    let answers: Vec<Answer> = scores
        .iter()
        .enumerate()
        .map(|(day, s)| answer(nps, None, *s, day as i64, None))
        .collect();
    store.insert_answers(&answers).await.unwrap();
    let mut csat_answer = answer(csat, None, 0, 1, None);
    csat_answer.score = Score::new(SurveyKind::Csat, 5).unwrap();
    store.insert_answers(&[csat_answer]).await.unwrap();

    let all = store.nps_tally(&ResponseFilter::default()).await.unwrap();
    assert_eq!(all, NpsTally::from_scores(scores.iter().map(|s| *s as u8)));
    assert_eq!(all, NpsTally::new(5, 2, 4));
    let window = ResponseFilter {
        from: Some(at(2)),
        to: Some(at(6)),
        ..Default::default()
    };
    assert_eq!(
        store.nps_tally(&window).await.unwrap(),
        NpsTally::from_scores([9, 8, 7, 6])
    );
    let empty = ResponseFilter {
        from: Some(at(100)),
        ..Default::default()
    };
    assert_eq!(store.nps_tally(&empty).await.unwrap(), NpsTally::default());
}

async fn feedback_round_trips_and_source_ids_are_unique(db: &TestDb) {
    let store = &db.store;
    let customer = store.insert_customers(&[profile(0)]).await.unwrap()[0];
    let mut review = Feedback::new(
        Source::Trustpilot,
        "tp-1",
        "Great value, fast delivery.",
        at(3),
    )
    .unwrap();
    review.customer_id = Some(customer);
    review.rating = Some(Rating::stars(4.0).unwrap());
    review.title = Some("Good".into());
    review.author.name = Some("Ana P.".into());
    review.url = Some("https://example.com/r/1".into());
    review.engagement.likes = 7;
    review.language = Some("en".into());
    review.sentiment = Some(0.7);
    review.topics = vec![vouch_domain::TopicMention {
        topic: "delivery".into(),
        sentiment: 0.5,
    }];
    let ids = store
        .insert_feedback(std::slice::from_ref(&review))
        .await
        .unwrap();
    let stored = store.feedback_of(customer).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, ids[0]);
    assert_eq!(stored[0].feedback, review);
    assert!(
        store.insert_feedback(&[review]).await.is_err(),
        "the same source id twice"
    );
    let counts = store.feedback_counts_by_source().await.unwrap();
    assert_eq!(counts, vec![(Source::Trustpilot, 1)]);
}

async fn category_signals_combine_answers_and_reviews(db: &TestDb) {
    let store = &db.store;
    let customer = store.insert_customers(&[profile(0)]).await.unwrap()[0];
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    store
        .insert_answers(&[answer(survey, Some(customer), 3, 10, None)])
        .await
        .unwrap();
    let mut review = Feedback::new(Source::Google, "g-1", "Five stars", at(5)).unwrap();
    review.customer_id = Some(customer);
    review.rating = Some(Rating::stars(5.0).unwrap());
    let mut ticket = Feedback::new(Source::Support, "t-1", "Help", at(6)).unwrap();
    ticket.customer_id = Some(customer);
    ticket.rating = Some(Rating::stars(1.0).unwrap());
    store.insert_feedback(&[review, ticket]).await.unwrap();
    let signals = store.category_signals(customer).await.unwrap();
    assert_eq!(
        signals.len(),
        2,
        "support ratings are not reviews: {signals:?}"
    );
    assert!(matches!(signals[0].kind, SignalKind::Review { .. }));
    assert_eq!(signals[1].kind, SignalKind::NpsAnswer { score: 3 });
}

async fn hostile_text_is_stored_verbatim(db: &TestDb) {
    let store = &db.store;
    let survey = store
        .ensure_survey(SurveyKind::Nps, "x'); DROP TABLE customers; --", at(0))
        .await
        .unwrap();
    let hostile = "<script>alert('x')</script> \"; DROP TABLE responses; -- $1 ? \u{0} é";
    let mut p = profile(0);
    p.name = Some(hostile.replace('\u{0}', ""));
    let customer = store.insert_customers(&[p.clone()]).await.unwrap()[0];
    let comment = hostile.replace('\u{0}', "");
    store
        .insert_answers(&[answer(survey.id, Some(customer), 9, 1, Some(&comment))])
        .await
        .unwrap();
    assert_eq!(
        store
            .customer(customer)
            .await
            .unwrap()
            .unwrap()
            .profile
            .name,
        p.name
    );
    assert_eq!(
        store.responses_of(customer).await.unwrap()[0]
            .answer
            .comment
            .as_deref(),
        Some(comment.as_str())
    );
    assert_eq!(store.count_customers().await.unwrap(), 1);
}

/// SQLite-only failure modes: what a user sees when the file is wrong.
mod sqlite_files {
    use vouch_store::{Store, StoreError};

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(&path, "these are not the tables you are looking for").unwrap();
        let err = Store::open(path.to_str().unwrap())
            .await
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(err.to_string().contains("notes.db"));
    }

    #[tokio::test]
    async fn an_unwritable_path_is_named() {
        let err = Store::open("sqlite:///nonexistent-dir/vouch.db")
            .await
            .err()
            .expect("must fail");
        assert!(matches!(err, StoreError::CannotOpen { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent-dir/vouch.db"));
    }

    #[tokio::test]
    async fn a_schema_newer_than_the_binary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("v.db").display());
        Store::open(&url).await.unwrap().close().await;
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', TRUE, X'00', 0)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let err = Store::open(&url).await.err().expect("must fail");
        assert!(
            matches!(err, StoreError::SchemaTooNew { database: 9999, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade vouch"));
    }
}

/// A filter that the rollup cannot answer (a bound off the hour), so the raw
/// answers are counted: the reference the rollup must match.
fn raw(filter: &ResponseFilter) -> ResponseFilter {
    ResponseFilter {
        from: Some(filter.from.unwrap_or(at(-1000)) + Duration::seconds(1)),
        ..filter.clone()
    }
}

async fn seed_answers(db: &TestDb) -> Vec<vouch_domain::ResponseId> {
    let store = &db.store;
    let customers = store
        .insert_customers(&(0..6).map(profile).collect::<Vec<_>>())
        .await
        .unwrap();
    let nps = survey(store, SurveyKind::Nps, "Relationship").await;
    let other = survey(store, SurveyKind::Nps, "Onboarding").await;
    let mut answers = Vec::new();
    for i in 0..60i64 {
        let mut a = answer(
            if i % 4 == 0 { other } else { nps },
            Some(customers[(i % 6) as usize]),
            (i * 7) % 11,
            i / 3,
            None,
        );
        a.answered_at += Duration::minutes(i * 37);
        a.channel = if i % 3 == 0 {
            Channel::Link
        } else {
            Channel::Email
        };
        a.locale = Some(Locale::parse(if i % 2 == 0 { "en-GB" } else { "ro" }).unwrap());
        answers.push(a);
    }
    store.insert_answers(&answers).await.unwrap()
}

async fn nps_rollup_matches_the_answers_through_inserts_updates_and_deletes(db: &TestDb) {
    let store = &db.store;
    let ids = seed_answers(db).await;
    let check = |label: &'static str| async move {
        let all = ResponseFilter::default();
        assert_eq!(
            store.nps_tally(&all).await.unwrap(),
            store.nps_tally(&raw(&all)).await.unwrap(),
            "{label}"
        );
        for hours in [1, 24] {
            let rolled = store.nps_by_time(&all, hours).await.unwrap();
            assert_eq!(
                rolled,
                store.nps_by_time(&raw(&all), hours).await.unwrap(),
                "{label}, {hours}h"
            );
            assert_eq!(
                rolled.iter().map(|b| b.1).sum::<NpsTally>(),
                store.nps_tally(&all).await.unwrap()
            );
        }
        for segment in [Segment::Survey, Segment::Channel, Segment::Language] {
            assert_eq!(
                store.nps_by_segment(&all, &segment).await.unwrap(),
                store.nps_by_segment(&raw(&all), &segment).await.unwrap(),
                "{label}, {segment:?}"
            );
        }
    };
    check("after inserts").await;
    store
        .update_answer(ids[3], Score::nps(10).unwrap(), Some("changed my mind"))
        .await
        .unwrap();
    store
        .update_answer(ids[7], Score::nps(0).unwrap(), None)
        .await
        .unwrap();
    check("after updates").await;
    store.delete_answer(ids[5]).await.unwrap();
    assert!(matches!(
        store.delete_answer(ids[5]).await,
        Err(StoreError::NotFound { .. })
    ));
    check("after a delete").await;
    let before = store
        .nps_by_time(&ResponseFilter::default(), 1)
        .await
        .unwrap();
    store.rebuild_nps_rollups().await.unwrap();
    assert_eq!(
        store
            .nps_by_time(&ResponseFilter::default(), 1)
            .await
            .unwrap(),
        before,
        "rebuild changes nothing"
    );
    assert_eq!(
        store
            .nps_tally(&ResponseFilter::default())
            .await
            .unwrap()
            .responses(),
        59
    );
}

/// The id of a survey created (once) at the start of the test period.
async fn survey(
    store: &vouch_store::Store,
    kind: SurveyKind,
    name: &str,
) -> vouch_domain::SurveyId {
    store.ensure_survey(kind, name, at(0)).await.unwrap().id
}

/// Answers per segment value, in value order.
async fn segment_sizes(db: &TestDb, segment: Segment) -> Vec<(String, u64)> {
    let segments = db
        .store
        .nps_by_segment(&ResponseFilter::default(), &segment)
        .await
        .unwrap();
    segments
        .into_iter()
        .map(|(name, tally)| (name, tally.responses()))
        .collect()
}

async fn nps_filters_and_segments(db: &TestDb) {
    let store = &db.store;
    seed_answers(db).await;
    let all = store.nps_tally(&ResponseFilter::default()).await.unwrap();
    let by_survey = store
        .nps_by_segment(&ResponseFilter::default(), &Segment::Survey)
        .await
        .unwrap();
    assert_eq!(
        by_survey.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["Onboarding", "Relationship"]
    );
    assert_eq!(by_survey.iter().map(|s| s.1).sum::<NpsTally>(), all);
    assert_eq!(by_survey[0].1.responses(), 15);
    assert_eq!(
        segment_sizes(db, Segment::Language).await,
        [("en".to_owned(), 30), ("ro".to_owned(), 30)]
    );
    assert_eq!(
        segment_sizes(db, Segment::Attribute("plan".into())).await,
        [("free".to_owned(), 40), ("pro".to_owned(), 20)]
    );
    let missing = store
        .nps_by_segment(
            &ResponseFilter::default(),
            &Segment::Attribute("nope".into()),
        )
        .await
        .unwrap();
    assert_eq!(missing, vec![(String::new(), all)]);

    let only = |f: ResponseFilter| async move { store.nps_tally(&f).await.unwrap().responses() };
    assert_eq!(
        only(ResponseFilter {
            surveys: vec!["Onboarding".into()],
            ..Default::default()
        })
        .await,
        15
    );
    assert_eq!(
        only(ResponseFilter {
            channels: vec![Channel::Link],
            ..Default::default()
        })
        .await,
        20
    );
    assert_eq!(
        only(ResponseFilter {
            languages: vec!["ro".into()],
            ..Default::default()
        })
        .await,
        30
    );
    assert_eq!(
        only(ResponseFilter {
            attributes: vec![("plan".into(), "pro".into())],
            ..Default::default()
        })
        .await,
        20
    );
    assert_eq!(
        only(ResponseFilter {
            attributes: vec![
                ("plan".into(), "pro".into()),
                ("region".into(), "EU".into())
            ],
            ..Default::default()
        })
        .await,
        20
    );
    assert_eq!(
        only(ResponseFilter {
            attributes: vec![("plan".into(), "x' OR '1'='1".into())],
            ..Default::default()
        })
        .await,
        0
    );
    let combined = ResponseFilter {
        from: Some(at(5)),
        to: Some(at(15)),
        languages: vec!["en".into()],
        channels: vec![Channel::Email],
        ..Default::default()
    };
    assert_eq!(
        store.nps_tally(&combined).await.unwrap(),
        store.nps_tally(&raw(&combined)).await.unwrap()
    );
}

async fn csat_and_ces_score_counts(db: &TestDb) {
    let store = &db.store;
    let csat = survey(store, SurveyKind::Csat, "Support").await;
    let ces = survey(store, SurveyKind::Ces, "Effort").await;
    let mut answers = Vec::new();
    for (i, score) in [5, 4, 4, 2, 1].iter().enumerate() {
        let mut a = answer(csat, None, 0, i as i64, None);
        a.score = Score::new(SurveyKind::Csat, *score).unwrap();
        answers.push(a);
    }
    for (i, score) in [7, 5, 3].iter().enumerate() {
        let mut a = answer(ces, None, 0, i as i64, None);
        a.score = Score::new(SurveyKind::Ces, *score).unwrap();
        answers.push(a);
    }
    store.insert_answers(&answers).await.unwrap();
    let counts = store
        .score_counts(SurveyKind::Csat, None, None)
        .await
        .unwrap();
    assert_eq!(counts.responses(), 5);
    assert_eq!(counts.csat(0.95).unwrap().csat, 60.0);
    let counts = store
        .score_counts(SurveyKind::Ces, Some(at(1)), None)
        .await
        .unwrap();
    assert_eq!(counts.ces(0.95).unwrap().ces, 4.0);
    assert_eq!(
        store.nps_tally(&ResponseFilter::default()).await.unwrap(),
        NpsTally::default(),
        "CSAT and CES are not NPS"
    );
}

async fn customer_flow_and_public_feedback_counts(db: &TestDb) {
    let store = &db.store;
    let mut profiles: Vec<CustomerProfile> = (0..10).map(profile).collect(); // created on days 0..9
    profiles[1].churned_at = Some(at(3)); // churned before the period
    profiles[2].churned_at = Some(at(12)); // churned during it
    let ids = store.insert_customers(&profiles).await.unwrap();
    store.set_referrer(ids[8], ids[0]).await.unwrap();
    let flow = store.customer_flow(at(5), at(15)).await.unwrap();
    // Before day 5: customers 0..=4, minus 1 (churned on day 3) = 4 present; 2 churns by day 15 → 3 retained.
    assert_eq!(
        (
            flow.present_at_start,
            flow.retained,
            flow.new,
            flow.new_referred,
            flow.present_at_end
        ),
        (4, 3, 5, 1, 10)
    );

    let mut items = Vec::new();
    for (i, (source, stars)) in [
        (Source::Trustpilot, 5.0),
        (Source::Trustpilot, 2.0),
        (Source::Google, 4.0),
        (Source::Google, 4.0),
    ]
    .iter()
    .enumerate()
    {
        let mut f = Feedback::new(*source, format!("r{i}"), "review", at(6)).unwrap();
        f.rating = Some(Rating::stars(*stars).unwrap());
        items.push(f);
    }
    let mut old = Feedback::new(Source::Google, "old", "review", at(1)).unwrap();
    old.rating = Some(Rating::stars(1.0).unwrap());
    items.push(old);
    let mut tweet = Feedback::new(Source::Twitter, "t1", "@vouch nice", at(7)).unwrap();
    tweet.engagement = vouch_domain::Engagement {
        likes: 10,
        shares: 2,
        comments: 1,
    };
    items.push(tweet);
    store.insert_feedback(&items).await.unwrap();
    let reviews = store.review_stats(at(5), at(15)).await.unwrap();
    assert_eq!(
        reviews
            .iter()
            .map(|r| (r.source, r.reviews))
            .collect::<Vec<_>>(),
        [(Source::Google, 2), (Source::Trustpilot, 2)]
    );
    assert!((reviews[1].mean_stars - 3.5).abs() < 1e-9);
    let social = store.social_stats(at(5), at(15)).await.unwrap();
    assert_eq!(
        (
            social[0].source,
            social[0].mentions,
            social[0].likes,
            social[0].shares
        ),
        (Source::Twitter, 1, 10, 2)
    );
}

async fn all_category_signals_cover_every_customer(db: &TestDb) {
    let store = &db.store;
    let ids = store
        .insert_customers(&[profile(0), profile(1)])
        .await
        .unwrap();
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    store
        .insert_answers(&[
            answer(survey, Some(ids[0]), 9, 10, None),
            answer(survey, Some(ids[1]), 2, 20, None),
            answer(survey, None, 5, 20, None),
        ])
        .await
        .unwrap();
    let mut review = Feedback::new(Source::Amazon, "a1", "ok", at(15)).unwrap();
    review.customer_id = Some(ids[1]);
    review.rating = Some(Rating::new(3.0, 1.0, 5.0).unwrap());
    store.insert_feedback(&[review]).await.unwrap();
    let signals = store.all_category_signals(at(0), at(30)).await.unwrap();
    assert_eq!(signals.len(), 3, "anonymous answers have no customer");
    assert_eq!(
        signals.iter().map(|s| s.0).collect::<Vec<_>>(),
        [ids[0], ids[1], ids[1]]
    );
    assert!(matches!(signals[1].1.kind, SignalKind::Review { .. }));
    assert_eq!(
        store
            .all_category_signals(at(15), at(30))
            .await
            .unwrap()
            .len(),
        1,
        "the window is (after, until]"
    );
}

async fn text_models_taxonomy_and_feedback_analyses_round_trip(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.taxonomy().await.unwrap(), None);
    store
        .save_taxonomy("[[topic]]\nname = \"x\"\nen = [\"y\"]\n", at(0))
        .await
        .unwrap();
    store
        .save_taxonomy("[[topic]]\nname = \"z\"\nen = [\"w\"]\n", at(1))
        .await
        .unwrap();
    assert!(
        store.taxonomy().await.unwrap().unwrap().contains("\"z\""),
        "the second save replaces the first"
    );
    store
        .save_sentiment_model("ro", "{\"a\":1}", 10, at(0))
        .await
        .unwrap();
    store
        .save_sentiment_model("ro", "{\"a\":2}", 20, at(1))
        .await
        .unwrap();
    store
        .save_sentiment_model("en", "{}", 5, at(1))
        .await
        .unwrap();
    assert_eq!(
        store.sentiment_models().await.unwrap(),
        [
            ("en".to_owned(), "{}".to_owned()),
            ("ro".to_owned(), "{\"a\":2}".to_owned())
        ]
    );

    let mut items = Vec::new();
    for i in 0..7 {
        let mut f = Feedback::new(
            Source::Google,
            format!("g{i}"),
            format!("review {i}"),
            at(i),
        )
        .unwrap();
        if i % 2 == 0 {
            f.rating = Some(Rating::stars(if i < 4 { 5.0 } else { 1.0 }).unwrap());
        }
        f.title = (i == 3).then(|| "Title".to_owned());
        items.push(f);
    }
    let ids = store.insert_feedback(&items).await.unwrap();
    let first = store.feedback_texts(None, 4).await.unwrap();
    let rest = store.feedback_texts(Some(first[3].id), 4).await.unwrap();
    assert_eq!((first.len(), rest.len()), (4, 3));
    assert_eq!(first[3].title.as_deref(), Some("Title"));
    assert_eq!(
        store
            .rated_feedback_texts()
            .await
            .unwrap()
            .iter()
            .map(|t| t.rating)
            .collect::<Vec<_>>(),
        [Some(1.0), Some(1.0), Some(0.0), Some(0.0)]
    );
    assert_eq!(
        store
            .recent_feedback_texts(at(5), 10)
            .await
            .unwrap()
            .iter()
            .map(|t| t.body.as_str())
            .collect::<Vec<_>>(),
        ["review 6", "review 5"]
    );

    let topics = vec![vouch_domain::TopicMention {
        topic: "delivery".into(),
        sentiment: -0.5,
    }];
    store
        .save_feedback_analyses(&[vouch_store::FeedbackAnalysis {
            id: ids[2],
            tags: vouch_store::TextTags {
                language: Some("en".into()),
                sentiment: 0.25,
                topics: topics.clone(),
            },
        }])
        .await
        .unwrap();
    let customer = store.insert_customers(&[profile(0)]).await.unwrap()[0];
    assert!(store.feedback_of(customer).await.unwrap().is_empty());
    let stored = store.feedback_texts(Some(ids[1]), 1).await.unwrap();
    assert_eq!(stored[0].language.as_deref(), Some("en"));
    assert_eq!(store.count_feedback().await.unwrap(), 7);
}

async fn feedback_upserts_are_idempotent_and_update_what_changed(db: &TestDb) {
    let store = &db.store;
    let review = |i: usize, body: &str, stars: f64| {
        let mut f = Feedback::new(Source::Yelp, format!("y{i}"), body, at(i as i64)).unwrap();
        f.rating = Some(Rating::stars(stars).unwrap());
        f
    };
    let batch: Vec<Feedback> = (0..1_200)
        .map(|i| review(i, &format!("review {i}"), 4.0))
        .collect();
    let summary = |imported, updated, unchanged| UpsertSummary {
        imported,
        updated,
        unchanged,
    };
    assert_eq!(
        store.upsert_feedback(&batch).await.unwrap(),
        summary(1_200, 0, 0)
    );
    assert_eq!(
        store.upsert_feedback(&batch).await.unwrap(),
        summary(0, 0, 1_200),
        "a re-import adds nothing"
    );
    assert_eq!(store.count_feedback().await.unwrap(), 1_200);

    let mut changed = batch[..3].to_vec();
    changed[0].body = "review 0, edited".into();
    changed[1].rating = Some(Rating::stars(1.0).unwrap());
    changed[2].engagement.likes = 50; // not a change of text or rating
    let mut tripadvisor =
        Feedback::new(Source::Tripadvisor, "pending", "quiet rooms", at(3)).unwrap();
    tripadvisor.source_id = tripadvisor.content_id();
    changed.push(tripadvisor.clone());
    changed.push(tripadvisor.clone()); // twice in one batch: counted once
    assert_eq!(
        store.upsert_feedback(&changed).await.unwrap(),
        summary(1, 2, 1)
    );
    assert_eq!(
        store.upsert_feedback(&[tripadvisor]).await.unwrap(),
        summary(0, 0, 1)
    );

    let stored = store.feedback_texts(None, 2).await.unwrap();
    assert_eq!(stored[0].body, "review 0, edited");
    assert_eq!(
        stored[1].rating,
        Some(0.0),
        "the 1-star rating replaced the 4-star one"
    );
    assert_eq!(store.count_feedback().await.unwrap(), 1_201);
}

async fn imported_answers_upsert_by_key_and_customers_are_looked_up(db: &TestDb) {
    let store = &db.store;
    let ids = store
        .insert_customers(&[profile(1), profile(2)])
        .await
        .unwrap();
    let by_email = store
        .customer_ids_by(
            vouch_store::CustomerKey::Email,
            &["person2@example.com", "nobody@example.com"],
        )
        .await
        .unwrap();
    assert_eq!(by_email.get("person2@example.com"), Some(&ids[1]));
    assert_eq!(by_email.len(), 1);
    let by_external = store
        .customer_ids_by(vouch_store::CustomerKey::ExternalId, &["CRM-1"])
        .await
        .unwrap();
    assert_eq!(by_external.get("CRM-1"), Some(&ids[0]));
    store
        .set_customer_attributes(&[
            (ids[0], "plan".to_owned(), "enterprise".to_owned()),
            (ids[0], "seats".to_owned(), "40".to_owned()),
        ])
        .await
        .unwrap();
    let customer = store.customer(ids[0]).await.unwrap().unwrap();
    assert_eq!(customer.profile.attributes["plan"], "enterprise");
    assert_eq!(customer.profile.attributes["seats"], "40");

    let survey = survey(store, SurveyKind::Nps, "Imported").await;
    let first = vec![
        (
            "k1".to_owned(),
            answer(survey, Some(ids[0]), 9, 1, Some("good")),
        ),
        ("k2".to_owned(), answer(survey, None, 3, 2, None)),
    ];
    let written = store.upsert_answers(&first).await.unwrap();
    assert_eq!((written.imported, written.unchanged), (2, 0));
    let again = store.upsert_answers(&first).await.unwrap();
    assert_eq!((again.imported, again.unchanged), (0, 2));
    let changed = vec![
        (
            "k1".to_owned(),
            answer(survey, Some(ids[0]), 6, 1, Some("worse now")),
        ),
        ("k2".to_owned(), answer(survey, None, 3, 2, None)),
    ];
    let updated = store.upsert_answers(&changed).await.unwrap();
    assert_eq!((updated.updated, updated.unchanged), (1, 1));
    assert_eq!(store.count_responses().await.unwrap(), 2);
    let feedback = store.feedback_of(ids[0]).await.unwrap();
    assert_eq!(feedback.len(), 1);
    assert_eq!(
        feedback[0].feedback.body, "worse now",
        "the comment follows its answer"
    );
    let tally = store
        .nps_tally(&vouch_store::ResponseFilter::default())
        .await
        .unwrap();
    assert_eq!(tally.detractors, 2, "the rollup follows the update");
}

async fn jobs_are_claimed_once_retried_and_end_done_or_dead(db: &TestDb) {
    let store = &db.store;
    let now = at(0);
    let job = |n: i64, attempts: i32| vouch_store::NewJob {
        kind: vouch_domain::JobKind::WebhookDelivery,
        payload: serde_json::json!({ "n": n }),
        run_at: now,
        max_attempts: attempts,
        dedupe_key: None,
    };
    store
        .enqueue_jobs(&[job(1, 2), job(2, 1)], now)
        .await
        .unwrap();
    let lease = Duration::minutes(5);
    let first = store.claim_job("a", now, lease).await.unwrap().unwrap();
    let second = store.claim_job("b", now, lease).await.unwrap().unwrap();
    assert_ne!(first.id, second.id, "one job, one worker");
    assert!(store.claim_job("c", now, lease).await.unwrap().is_none());
    assert_eq!((first.attempts, first.payload["n"].as_i64()), (1, Some(1)));

    // Job 1 fails and is retried later; job 2 fails on its only attempt: dead.
    assert!(
        store
            .fail_job(
                first.id,
                "a",
                "HTTP 500",
                Some(now + Duration::seconds(10)),
                now
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .fail_job(second.id, "b", "HTTP 500", None, now)
            .await
            .unwrap()
    );
    assert!(
        store.claim_job("a", now, lease).await.unwrap().is_none(),
        "not due yet"
    );
    let retry = store
        .claim_job("a", now + Duration::seconds(10), lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((retry.id, retry.attempts), (first.id, 2));
    assert!(
        !store
            .finish_job(retry.id, "someone else", now)
            .await
            .unwrap(),
        "only its worker"
    );
    assert!(store.finish_job(retry.id, "a", now).await.unwrap());
    let counts: BTreeMap<String, u64> = store
        .job_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([("dead".into(), 1), ("done".into(), 1)])
    );
    let dead = store
        .jobs(Some(vouch_domain::JobState::Dead), 10)
        .await
        .unwrap();
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 500"));

    // A worker that dies leaves its job running until the lease ends; then another takes it.
    store.enqueue_jobs(&[job(3, 3)], now).await.unwrap();
    let taken = store.claim_job("dies", now, lease).await.unwrap().unwrap();
    assert!(
        store
            .claim_job("x", now + Duration::minutes(4), lease)
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .claim_job("x", now + Duration::minutes(6), lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.id, again.attempts, again.locked_by.as_deref()),
        (taken.id, 2, Some("x"))
    );
}

async fn first_answers_are_stored_once_with_their_tags_and_jobs(db: &TestDb) {
    use vouch_store::{FirstAnswer, NewInvitation, TextTags};
    let store = &db.store;
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    let customers = store
        .insert_customers(&[profile(0), profile(1), profile(2)])
        .await
        .unwrap();
    let invitations = store
        .add_invitations(
            &customers
                .iter()
                .map(|c| NewInvitation {
                    survey_id: survey,
                    customer_id: *c,
                    token_hash: format!("hash-{}", c.0),
                    locale: Locale::parse("ro").unwrap(),
                })
                .collect::<Vec<_>>(),
            at(0),
        )
        .await
        .unwrap();
    let first = |n: usize, survey_id| FirstAnswer {
        invitation: invitations[n % 3],
        answer: Answer {
            survey_id,
            ..answer(survey, Some(customers[n % 3]), 9, 1, Some("Livrare rapidă"))
        },
        comment_tags: Some(TextTags {
            language: Some("ro".into()),
            sentiment: 0.5,
            topics: Vec::new(),
        }),
    };
    // Each invitation answered twice at once, and one answer that cannot be
    // stored (no such survey): whether or not they share a transaction, the
    // bad one fails alone and every invitation keeps exactly one answer.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..6 {
        let (store, first) = (store.clone(), first(n, survey));
        tasks.spawn(async move { store.answer_invitation_once(first).await });
    }
    let bad = {
        let store = store.clone();
        let first = first(0, vouch_domain::SurveyId(999_999));
        tokio::spawn(async move { store.answer_invitation_once(first).await })
    };
    let outcomes: Vec<_> = tasks.join_all().await;
    let bad = bad.await.unwrap();
    let stored: Vec<_> = outcomes
        .into_iter()
        .map(|o| o.unwrap())
        .chain(bad.iter().copied())
        .flatten()
        .collect();
    assert_eq!(stored.len(), 3, "one answer per invitation");
    for (invitation, customer) in invitations.iter().zip(&customers) {
        let linked = store.invitation(*invitation).await.unwrap().unwrap();
        let response = linked.response_id.expect("linked to its answer");
        assert!(stored.contains(&response));
        let feedback = store.feedback_of(*customer).await.unwrap();
        assert_eq!(feedback.len(), 1);
        assert_eq!(feedback[0].feedback.sentiment, Some(0.5), "stored tagged");
    }
    assert_eq!(store.count_responses().await.unwrap(), 3);
    let events = store
        .events_after(0, &[vouch_domain::EventKind::ResponseCreated], 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 3, "one response.created per stored answer");
    for event in events {
        assert!(stored.iter().any(|id| event.data["id"] == id.0));
    }
}

/// Each upsert reads what is stored and then writes, in one transaction. On
/// SQLite a deferred transaction doing that fails with SQLITE_BUSY, without
/// waiting, when another connection wrote in between (a server pushing
/// feedback while its job workers write met it); write transactions must
/// queue for the lock instead.
async fn concurrent_read_then_write_transactions_wait_for_each_other(db: &TestDb) {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 12;
    on_concurrent_tasks(db, WRITERS, |store, writer| async move {
        for round in 0..ROUNDS {
            let id = format!("w{writer}-r{round}");
            let mut item = Feedback::new(Source::Yelp, id, "first text", at(1)).unwrap();
            store.upsert_feedback(std::slice::from_ref(&item)).await?;
            item.body = "second text".into();
            store.upsert_feedback(&[item]).await?;
        }
        Ok(())
    })
    .await;
    assert_eq!(
        db.store.count_feedback().await.unwrap(),
        (WRITERS * ROUNDS) as u64
    );
}

/// The import's writer: its own SQLite connection, set up for big batches;
/// `finish` checkpoints so no large WAL file is left behind.
async fn a_bulk_writer_writes_batch_after_batch_and_leaves_an_empty_wal(db: &TestDb) {
    let mut writer = db.store.bulk_feedback_writer().await.unwrap();
    for batch in 0..3 {
        let items: Vec<Feedback> = (0..500)
            .map(|i| {
                let id = format!("b{batch}-{i}");
                Feedback::new(Source::Yelp, id, "a review", at(i)).unwrap()
            })
            .collect();
        let written = writer.upsert(&items).await.unwrap();
        assert_eq!(written.imported, 500);
    }
    writer.finish().await.unwrap();
    assert_eq!(db.store.count_feedback().await.unwrap(), 1_500);
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let wal = std::path::PathBuf::from(format!("{path}-wal"));
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert_eq!(size, 0, "{} holds {size} bytes", wal.display());
    }
}

/// Two API pushes of the same new review at once: each upsert looks the
/// keys up and then inserts what is missing, so without a lock both would
/// insert and one would fail on the unique key.
async fn concurrent_upserts_of_the_same_new_items_store_each_once(db: &TestDb) {
    const ROUNDS: i64 = 10;
    let imported: Vec<u64> = on_concurrent_tasks(db, 6, |store, _| async move {
        let mut imported = 0;
        for round in 0..ROUNDS {
            let items: Vec<Feedback> = (0..20)
                .map(|i| {
                    let id = format!("same-{round}-{i}");
                    Feedback::new(Source::Trustpilot, id, "the same review", at(round)).unwrap()
                })
                .collect();
            imported += store.upsert_feedback(&items).await?.imported;
        }
        Ok(imported)
    })
    .await;
    assert_eq!(
        imported.iter().sum::<u64>(),
        200,
        "each new item counted once"
    );
    assert_eq!(db.store.count_feedback().await.unwrap(), 200);
}

/// Runs `work` on `tasks` tasks at once, each with its own handle to the
/// store and its number; every one must succeed.
async fn on_concurrent_tasks<T, F, Fut>(db: &TestDb, tasks: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(vouch_store::Store, usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let handles: Vec<_> = (0..tasks)
        .map(|task| tokio::spawn(work(db.store.clone(), task)))
        .collect();
    let mut results = Vec::with_capacity(tasks);
    for handle in handles {
        results.push(handle.await.unwrap().expect("no task fails"));
    }
    results
}

/// Runs `sql` on a connection of its own, outside the store.
async fn execute_raw(db: &TestDb, sql: &str) -> Result<u64, sqlx::Error> {
    if db.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&db.url).await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await;
        pool.close().await;
        done.map(|r| r.rows_affected())
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await;
        pool.close().await;
        done.map(|r| r.rows_affected())
    }
}

async fn the_audit_log_is_append_only_and_attempts_count_in_their_window(db: &TestDb) {
    let store = &db.store;
    store
        .audit(
            at(0),
            "ana@acme.example",
            "sign_in",
            None,
            Some("192.0.2.1"),
        )
        .await
        .unwrap();
    store
        .audit(
            at(1),
            "crm (token 3)",
            "POST /api/v1/customers",
            None,
            Some("192.0.2.2"),
        )
        .await
        .unwrap();
    let entries = store.audit_log(None, 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actor, "crm (token 3)", "newest first");
    assert_eq!(
        store
            .audit_log(Some(entries[0].id), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    for sql in [
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ] {
        let refused = execute_raw(db, sql).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 2);

    // Attempts: counted since a time, forgotten past their window, cleared.
    for minute in 0..3 {
        store
            .add_attempts(
                &["k1", "k2"],
                at(0) + Duration::minutes(minute),
                at(0) - Duration::hours(1),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .attempts_since("k1", at(0) - Duration::seconds(1))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .attempts_since("k1", at(0) + Duration::seconds(30))
            .await
            .unwrap(),
        2
    );
    store.clear_attempts("k1").await.unwrap();
    assert_eq!(store.attempts_since("k1", at(-1)).await.unwrap(), 0);
    assert_eq!(store.attempts_since("k2", at(-1)).await.unwrap(), 3);
}

async fn retention_deletes_only_what_is_older_than_its_period(db: &TestDb) {
    let store = &db.store;
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    store
        .insert_answers(&[
            answer(survey, None, 9, 0, Some("old comment")),
            answer(survey, None, 3, 100, Some("new comment")),
        ])
        .await
        .unwrap();
    let mut old = Feedback::new(Source::Trustpilot, "old", "old review", at(0)).unwrap();
    old.rating = None;
    let new = Feedback::new(Source::Trustpilot, "new", "new review", at(100)).unwrap();
    store.upsert_feedback(&[old, new]).await.unwrap();
    let job = |n: i64| vouch_store::NewJob {
        kind: vouch_domain::JobKind::WebhookDelivery,
        payload: serde_json::json!({ "n": n }),
        run_at: at(0),
        max_attempts: 1,
        dedupe_key: None,
    };
    store.enqueue_jobs(&[job(1), job(2)], at(0)).await.unwrap();
    let claimed = store
        .claim_job("w", at(0), Duration::minutes(5))
        .await
        .unwrap()
        .unwrap();
    assert!(store.finish_job(claimed.id, "w", at(1)).await.unwrap());
    let before = (
        store.count_responses().await.unwrap(),
        store.count_feedback().await.unwrap(),
    );
    assert_eq!(before, (2, 4), "two answers, two comments and two reviews");

    let nothing = store
        .purge(&vouch_domain::RetentionPolicy::default().cutoffs(at(101)))
        .await
        .unwrap();
    assert_eq!(
        nothing,
        vouch_store::Purged::default(),
        "no period keeps all"
    );
    let policy = vouch_domain::RetentionPolicy {
        feedback_days: Some(50),
        answers_days: Some(50),
        jobs_days: Some(50),
        events_days: Some(50),
    };
    let purged = store.purge(&policy.cutoffs(at(101))).await.unwrap();
    assert_eq!((purged.feedback, purged.answers, purged.jobs), (1, 1, 1));
    assert_eq!(store.count_responses().await.unwrap(), 1);
    assert_eq!(
        store.count_feedback().await.unwrap(),
        2,
        "the new review and the new comment"
    );
    let tally = store.nps_tally(&ResponseFilter::default()).await.unwrap();
    assert_eq!(
        tally,
        NpsTally::new(0, 0, 1),
        "the rollup follows the deletion"
    );
    let queued = store
        .jobs(Some(vouch_domain::JobState::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "queued jobs are never purged");
}

/// The kinds of the events after `after`, in order.
async fn event_kinds_after(store: &vouch_store::Store, after: i64) -> Vec<&'static str> {
    store
        .events_after(after, &[], 500)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect()
}

/// An answer import works out the categories after it from the signals
/// it read before, not a second read: the outcome must be what a fresh
/// read gives, ties between a review and an answer at the same instant
/// included.
async fn imported_answers_move_categories_as_a_fresh_read_places_them(db: &TestDb) {
    use vouch_domain::EventKind as K;
    let store = &db.store;
    let now = Utc::now();
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    let customers = store
        .insert_customers(&[profile(0), profile(1), profile(2)])
        .await
        .unwrap();
    let at = now - Duration::days(3);
    // The first has a 5-star review at the very instant of their answer.
    let mut review = Feedback::new(Source::Trustpilot, "tp-tie", "Lovely", at).unwrap();
    review.customer_id = Some(customers[0]);
    review.rating = Some(Rating::stars(5.0).unwrap());
    store.upsert_feedback(&[review]).await.unwrap();
    let seq = store.last_event_seq().await.unwrap();
    let answers: Vec<(String, Answer)> = [(0, 2, at), (1, 9, at), (1, 3, now), (2, 8, at)]
        .into_iter()
        .map(|(c, score, when)| {
            (
                format!("key-{c}-{score}"),
                Answer {
                    answered_at: when,
                    ..answer(survey, Some(customers[c]), score, 0, None)
                },
            )
        })
        .collect();
    store.upsert_answers(&answers).await.unwrap();
    let fresh = store
        .categories_of(&customers.iter().copied().collect())
        .await
        .unwrap();
    let moved: std::collections::BTreeMap<CustomerId, Option<String>> = store
        .events_after(seq, &[K::CustomerCategoryChanged], 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.customer_id.unwrap(),
                e.data["to"].as_str().map(str::to_owned),
            )
        })
        .collect();
    for customer in &customers {
        let now_in = fresh[customer].map(|a| a.category.as_str().to_owned());
        let before = (*customer == customers[0]).then(|| "promoter".to_owned());
        match moved.get(customer) {
            Some(to) => assert_eq!(to, &now_in, "{customer:?}"),
            None => assert_eq!(before, now_in, "{customer:?} did not move"),
        }
    }
    assert_eq!(
        fresh[&customers[1]].map(|a| a.category.as_str()),
        Some("detractor"),
        "the later answer decides"
    );
}

/// Every write path of the store appends its events in its own
/// transaction: a write that fails leaves no event, and each event names
/// its customer and carries a stable id.
async fn every_write_appends_its_events_in_its_own_transaction(db: &TestDb) {
    use vouch_domain::EventKind as K;
    let store = &db.store;
    let now = Utc::now();
    let survey = survey(store, SurveyKind::Nps, "Relationship").await;
    let customers = store
        .insert_customers(&[profile(0), profile(1)])
        .await
        .unwrap();
    let (ana, bo) = (customers[0], customers[1]);
    assert_eq!(
        event_kinds_after(store, 0).await,
        ["customer.created", "customer.created"]
    );
    let mut seq = store.last_event_seq().await.unwrap();

    // An answer: response.created, and the category it gives the customer.
    let promoter = Answer {
        answered_at: now - Duration::days(2),
        ..answer(survey, Some(ana), 10, 0, Some("Great"))
    };
    let ids = store.insert_answers(&[promoter]).await.unwrap();
    let events = store.events_after(seq, &[], 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [K::ResponseCreated, K::CustomerCategoryChanged]
    );
    assert!(events.iter().all(|e| e.customer_id == Some(ana)));
    assert!(events[0].id.starts_with("evt_") && events[0].id != events[1].id);
    assert_eq!(events[0].data["id"], ids[0].0);
    assert_eq!(events[0].data["comment"], "Great");
    let moved = &events[1].data;
    assert_eq!(
        (moved["from"].clone(), moved["to"].clone()),
        (serde_json::Value::Null, serde_json::json!("promoter"))
    );
    assert_eq!(
        moved["signal"],
        serde_json::json!({"type": "response", "id": ids[0].0})
    );
    seq = events[1].seq;

    // The answer edited to a 3: response.updated, promoter → detractor.
    store
        .update_answer(ids[0], Score::nps(3).unwrap(), Some("Not any more"))
        .await
        .unwrap();
    let events = store.events_after(seq, &[], 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [K::ResponseUpdated, K::CustomerCategoryChanged]
    );
    assert_eq!(events[0].data["score"]["value"], 3);
    assert_eq!(
        (
            events[1].data["from"].as_str(),
            events[1].data["to"].as_str()
        ),
        (Some("promoter"), Some("detractor"))
    );
    seq = events[1].seq;

    // A review of a customer with no answer: feedback.created, and the
    // category its stars imply; a re-import that changes it: feedback.updated.
    let mut review = Feedback::new(
        Source::Trustpilot,
        "tp-1",
        "Lovely shop",
        now - Duration::days(1),
    )
    .unwrap();
    review.customer_id = Some(bo);
    review.rating = Some(Rating::stars(5.0).unwrap());
    store
        .upsert_feedback(std::slice::from_ref(&review))
        .await
        .unwrap();
    review.body = "Lovely shop, slow delivery".into();
    review.rating = Some(Rating::stars(2.0).unwrap());
    store
        .upsert_feedback(std::slice::from_ref(&review))
        .await
        .unwrap();
    store
        .upsert_feedback(std::slice::from_ref(&review))
        .await
        .unwrap();
    let events = store.events_after(seq, &[], 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            K::FeedbackCreated,
            K::CustomerCategoryChanged,
            K::FeedbackUpdated,
            K::CustomerCategoryChanged
        ],
        "an unchanged re-import writes nothing"
    );
    // The events name the item; it is attached as it is now.
    assert_eq!(events[0].data["body"], "Lovely shop, slow delivery");
    let newest = store.last_events(&[K::FeedbackCreated], 1).await.unwrap();
    assert_eq!(
        newest[0].data["body"], "Lovely shop, slow delivery",
        "newest events too"
    );
    assert_eq!(events[0].data["id"], events[2].data["id"]);
    assert_eq!(
        events[2].data["body"], "Lovely shop, slow delivery",
        "both events get the record"
    );
    assert_eq!(events[3].data["signal"]["type"], "feedback");
    assert_eq!(events[3].data["to"], "detractor");
    seq = events[3].seq;

    // Customer changes, invitations, consent, erasure.
    store
        .set_customer_attributes(&[(bo, "plan".into(), "pro".into())])
        .await
        .unwrap();
    store.set_referrer(bo, ana).await.unwrap();
    store.update_customer(ana, &profile(7)).await.unwrap();
    let invitation = store
        .add_invitations(
            &[vouch_store::NewInvitation {
                survey_id: survey,
                customer_id: bo,
                token_hash: "hash".into(),
                locale: Locale::parse("en").unwrap(),
            }],
            now,
        )
        .await
        .unwrap()[0];
    store
        .mark_invitation_sent(invitation, false, "<m1@acme.example>", &[], now)
        .await
        .unwrap();
    store
        .mark_invitation_bounced(
            invitation,
            "person1@example.com",
            "<m1@acme.example>",
            "550 no such user",
            now,
        )
        .await
        .unwrap();
    store
        .mark_invitation_unsubscribed(invitation, Some("person1@example.com"), now)
        .await
        .unwrap();
    store
        .mark_invitation_unsubscribed(invitation, Some("person1@example.com"), now)
        .await
        .unwrap();
    assert_eq!(
        event_kinds_after(store, seq).await,
        [
            "customer.updated",
            "customer.updated",
            "customer.updated",
            "invitation.sent",
            "invitation.bounced",
            "consent.changed"
        ],
        "a second unsubscribe changes nothing"
    );
    let events = store.events_after(seq, &[], 10).await.unwrap();
    assert_eq!(
        events[0].data["changed"],
        serde_json::json!(["attributes.plan"])
    );
    assert_eq!(events[5].data["purpose"], "feedback");
    assert_eq!(events[5].data["granted"], false);
    seq = events[5].seq;

    // Writes that fail leave no event behind.
    assert!(
        store.insert_feedback(&[review.clone()]).await.is_err(),
        "a duplicate id"
    );
    let orphan = answer(vouch_domain::SurveyId(999_999), Some(ana), 9, 0, None);
    assert!(
        store.insert_answers(&[orphan]).await.is_err(),
        "no such survey"
    );
    assert_eq!(event_kinds_after(store, seq).await, Vec::<&str>::new());

    // Erasure removes the customer's events and says only that it happened.
    let erasure = vouch_store::Erasure {
        scrub: vec!["Person 1".into()],
        jobs: Vec::new(),
        identifier_hashes: Vec::new(),
        at: now,
    };
    assert!(store.erase_customer(bo, &erasure).await.unwrap());
    let left = store.events_after(0, &[], 500).await.unwrap();
    assert!(
        left.iter()
            .all(|e| e.customer_id != Some(bo) || e.kind == K::CustomerErased)
    );
    assert_eq!(left.last().unwrap().kind, K::CustomerErased);
    assert_eq!(
        left.last().unwrap().data,
        serde_json::json!({"customer_id": bo.0})
    );
    assert!(
        !left.iter().any(|e| e.data.to_string().contains("Person 1")),
        "no copy of their name is left in the outbox"
    );
    // A record deleted since (retention, an answer withdrawn) shows as gone.
    store.delete_answer(ids[0]).await.unwrap();
    let answered = store
        .events_after(0, &[K::ResponseCreated], 10)
        .await
        .unwrap();
    assert_eq!(
        answered[0].data,
        serde_json::json!({"id": ids[0].0, "gone": true})
    );
    // Filtering by type, and one event by id.
    let created = store
        .events_after(0, &[K::CustomerCreated], 10)
        .await
        .unwrap();
    assert_eq!(created.len(), 1, "ana's; bo's went with bo");
    assert_eq!(
        store.event(created[0].seq).await.unwrap().unwrap(),
        created[0]
    );
    assert_eq!(
        store
            .last_events(&[K::CustomerErased], 5)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A consumer reads a batch, acts, and moves its position in the same
/// transaction as what it queued. One that crashes before moving reads the
/// same batch again (same ids); a second instance racing it moves nothing.
/// Retention never prunes what a consumer has not passed.
async fn consumers_resume_where_they_stopped_and_retention_waits_for_them(db: &TestDb) {
    let store = &db.store;
    let events: Vec<vouch_domain::DomainEvent> = (1..=5)
        .map(|n| vouch_domain::DomainEvent::CustomerErased {
            customer_id: CustomerId(n),
        })
        .collect();
    store.append_events(&events).await.unwrap();
    let start = store.consumer_position("test", 0).await.unwrap();
    assert_eq!(start, 0);
    let batch = store.events_after(start, &[], 3).await.unwrap();
    // Crash: nothing moved, so the same batch comes again.
    let again = store
        .events_after(store.consumer_position("test", 0).await.unwrap(), &[], 3)
        .await
        .unwrap();
    assert_eq!(batch, again);
    let job = |event: &str| vouch_store::NewJob {
        kind: vouch_domain::JobKind::WebhookDelivery,
        payload: serde_json::json!({ "event": event }),
        run_at: at(0),
        max_attempts: 1,
        dedupe_key: Some(format!("test:{event}")),
    };
    let jobs: Vec<_> = batch.iter().map(|e| job(&e.id)).collect();
    let to = batch.last().unwrap().seq;
    assert!(
        store
            .advance_consumer("test", start, to, &jobs)
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_consumer("test", start, to, &jobs)
            .await
            .unwrap(),
        "a second instance with the same batch moves nothing"
    );
    assert_eq!(
        store.jobs(None, 10).await.unwrap().len(),
        3,
        "and queues nothing twice"
    );
    // A pending job's key cannot be queued twice, and cancels by key.
    store
        .enqueue_jobs(&[job(&batch[0].id)], at(0))
        .await
        .unwrap();
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 3);
    assert!(
        store
            .cancel_job(&format!("test:{}", batch[0].id), at(0))
            .await
            .unwrap()
    );
    assert!(!store.cancel_job("test:none", at(0)).await.unwrap());
    let rest = store.events_after(to, &[], 10).await.unwrap();
    assert_eq!(rest.len(), 2);

    // Everything is old enough to prune, but "test" has read only three.
    let cutoffs = vouch_domain::RetentionCutoffs {
        feedback: None,
        answers: None,
        jobs: None,
        events: Some(Utc::now() + Duration::days(1)),
    };
    let purged = store.purge(&cutoffs).await.unwrap();
    assert_eq!(purged.events, 3);
    assert_eq!(store.events_after(0, &[], 10).await.unwrap(), rest);
    // New events after a prune never reuse a position a consumer passed.
    store
        .advance_consumer("test", to, rest[1].seq, &[])
        .await
        .unwrap();
    store.purge(&cutoffs).await.unwrap();
    store.append_events(&events[..1]).await.unwrap();
    let next = store.events_after(rest[1].seq, &[], 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].seq > rest[1].seq);
}

/// A schedule queues its job once per slot, however many instances ask at
/// once, and again when the next slot comes.
async fn schedules_fire_once_per_slot_across_instances(db: &TestDb) {
    let store = &db.store;
    // Whole seconds: PostgreSQL keeps microseconds.
    let t0 = DateTime::from_timestamp(Utc::now().timestamp() - 60, 0).unwrap();
    let kind = vouch_domain::JobKind::RetentionSweep;
    store
        .ensure_schedule(
            "sweep",
            kind,
            &serde_json::json!({}),
            Duration::hours(1),
            t0,
        )
        .await
        .unwrap();
    // Four instances at the same moment.
    let fired = on_concurrent_tasks(db, 4, |store, _| async move {
        store.fire_due_schedules(Utc::now()).await.map(|f| f.len())
    })
    .await;
    assert_eq!(fired.iter().sum::<usize>(), 1, "{fired:?}");
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 1);
    assert!(
        store
            .fire_due_schedules(Utc::now())
            .await
            .unwrap()
            .is_empty(),
        "not before its next slot"
    );
    let next = store.schedules().await.unwrap()[0].next_at;
    assert_eq!(next, t0 + Duration::hours(1));
    // Two hours on: one more job, not one per missed slot.
    let later = t0 + Duration::minutes(150);
    assert_eq!(store.fire_due_schedules(later).await.unwrap(), ["sweep"]);
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 2);
    assert_eq!(
        store.schedules().await.unwrap()[0].next_at,
        t0 + Duration::hours(3)
    );
    assert!(store.remove_schedule("sweep").await.unwrap());
}

/// Consent per purpose is recorded with its basis and an event; the
/// suppression list has scopes; the contact budget is claimed atomically,
/// once per message, and a deferral keeps its reason.
async fn consent_suppressions_and_the_contact_budget(db: &TestDb) {
    use vouch_domain::{BudgetDecision, ConsentBasis, ConsentRecord, ContactBudget, Purpose, Rate};
    use vouch_store::ContactRequest;
    let store = &db.store;
    let now = Utc::now();
    let ana = store.insert_customers(&[profile(0)]).await.unwrap()[0];
    let record = ConsentRecord {
        purpose: Purpose::Marketing,
        granted: true,
        basis: ConsentBasis::Consent,
        source: "api".into(),
        evidence: Some("signup form v3, newsletter box ticked".into()),
        recorded_at: DateTime::from_timestamp(now.timestamp(), 0).unwrap(),
    };
    let seq = store.last_event_seq().await.unwrap();
    store.set_consent(ana, &record).await.unwrap();
    assert_eq!(
        store.consents_of(ana).await.unwrap(),
        std::slice::from_ref(&record)
    );
    let withdrawn = ConsentRecord {
        granted: false,
        source: "cli".into(),
        ..record.clone()
    };
    store.set_consent(ana, &withdrawn).await.unwrap();
    assert_eq!(store.consents_of(ana).await.unwrap(), [withdrawn]);
    let events = store.events_after(seq, &[], 10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].data["granted"], false);

    // Scopes: an unsubscribe from marketing leaves feedback alone; a bounce stops all.
    let email = "person0@example.com".to_owned();
    store
        .suppress_email(&email, Some(Purpose::Marketing), "unsubscribed", now)
        .await
        .unwrap();
    let emails = [email];
    let of = |p| store.suppressed_emails(&emails, p);
    assert_eq!(of(Purpose::Marketing).await.unwrap().len(), 1);
    assert!(of(Purpose::Feedback).await.unwrap().is_empty());
    store
        .suppress_email("person0@example.com", None, "bounced", now)
        .await
        .unwrap();
    assert_eq!(
        of(Purpose::Feedback)
            .await
            .unwrap()
            .values()
            .next()
            .map(String::as_str),
        Some("bounced")
    );

    // One message a month: the first reserves, its retry keeps the room,
    // a second message is deferred to when the first ages out.
    let budget = ContactBudget {
        total: Some(Rate { count: 1, days: 30 }),
        min_gap: None,
        quiet_hours: None,
        ..ContactBudget::default()
    };
    let request = move |n: u32| ContactRequest {
        customer_id: ana,
        purpose: Purpose::Feedback,
        what: format!("survey invitation {n}"),
        message_id: format!("<m{n}@acme.example>"),
    };
    let decisions = on_concurrent_tasks(db, 2, move |store, n| async move {
        store
            .reserve_contact(&request(n as u32 + 1), &budget, None, now)
            .await
    })
    .await;
    assert_eq!(
        decisions
            .iter()
            .filter(|d| **d == BudgetDecision::Send)
            .count(),
        1,
        "two senders at once: one gets the room {decisions:?}"
    );
    let winner = if decisions[0] == BudgetDecision::Send {
        1
    } else {
        2
    };
    assert_eq!(
        store
            .reserve_contact(&request(winner), &budget, None, now)
            .await
            .unwrap(),
        BudgetDecision::Send,
        "a retried message keeps its reservation"
    );
    let BudgetDecision::Defer { until, reason } = store
        .reserve_contact(&request(3), &budget, None, now)
        .await
        .unwrap()
    else {
        panic!("deferred")
    };
    assert!(until > now + Duration::days(29), "{until}");
    assert!(reason.contains("1 per 30d"), "{reason}");
    store
        .skip_contact(
            &request(4),
            "no consent to marketing messages on record",
            now,
        )
        .await
        .unwrap();
    let contacts = store.contacts_of(ana, 10).await.unwrap();
    let states: Vec<&str> = contacts.iter().map(|c| c.state.as_str()).collect();
    assert_eq!(
        states.iter().filter(|s| **s == "reserved").count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "deferred").count(),
        2,
        "{states:?}"
    );
    assert!(
        contacts
            .iter()
            .any(|c| c.state == "skipped" && c.reason.as_deref().unwrap().contains("consent"))
    );
    // A failed send gives the room back.
    store
        .release_contact(&format!("<m{winner}@acme.example>"), "550")
        .await
        .unwrap();
    assert_eq!(
        store
            .reserve_contact(&request(3), &budget, None, now)
            .await
            .unwrap(),
        BudgetDecision::Send
    );
}

/// The SQL that sorts answers and feedback into categories and sentiment
/// labels (the rollup triggers, the raw sums, the feedback filters) agrees
/// with the domain's rules at every NPS score, at the star boundaries and
/// at ±0.05.
async fn thresholds_in_sql_agree_with_the_domain(db: &TestDb) {
    use vouch_domain::{LoyaltyCategory, SentimentLabel};
    let store = &db.store;
    let tally_of = |category: LoyaltyCategory| match category {
        LoyaltyCategory::Promoter => NpsTally {
            promoters: 1,
            passives: 0,
            detractors: 0,
        },
        LoyaltyCategory::Passive => NpsTally {
            promoters: 0,
            passives: 1,
            detractors: 0,
        },
        LoyaltyCategory::Detractor => NpsTally {
            promoters: 0,
            passives: 0,
            detractors: 1,
        },
    };
    for score in 0..=10u8 {
        let name = format!("Score {score}");
        let survey = survey(store, SurveyKind::Nps, &name).await;
        store
            .insert_answers(&[answer(survey, None, i64::from(score), 3, Some("because"))])
            .await
            .unwrap();
        let expected = tally_of(LoyaltyCategory::from_nps(score));
        let filter = ResponseFilter {
            surveys: vec![name.clone()],
            ..ResponseFilter::default()
        };
        let raw = ResponseFilter {
            skip_rollup: true,
            ..filter.clone()
        };
        assert_eq!(
            store.nps_tally(&filter).await.unwrap(),
            expected,
            "rollup, score {score}"
        );
        assert_eq!(
            store.nps_tally(&raw).await.unwrap(),
            expected,
            "answers, score {score}"
        );
    }
    // The rollup rebuilt from the answers counts the same.
    store.rebuild_nps_rollups().await.unwrap();
    let all = store.nps_tally(&ResponseFilter::default()).await.unwrap();
    assert_eq!((all.promoters, all.passives, all.detractors), (2, 2, 7));

    // Ratings at and around the star boundaries, and sentiment around ±0.05.
    let normalized = [0.0, 0.5, 0.624_999, 0.625, 0.75, 0.874_999, 0.875, 1.0];
    let sentiments = [-0.5, -0.05, -0.049_999, 0.0, 0.049_999, 0.05, 0.5, 0.9];
    let items: Vec<Feedback> = normalized
        .iter()
        .zip(sentiments)
        .enumerate()
        .map(|(i, (n, sentiment))| {
            let mut f = Feedback::new(Source::Trustpilot, format!("b-{i}"), "text", at(5)).unwrap();
            f.rating = Some(Rating::new(*n, 0.0, 1.0).unwrap());
            f.sentiment = Some(sentiment);
            f
        })
        .collect();
    store.insert_feedback(&items).await.unwrap();
    let ids_where = |filter: vouch_store::FeedbackFilter| async move {
        let mut ids: Vec<String> = store
            .feedback(&filter, None, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.feedback.source == Source::Trustpilot)
            .map(|i| i.feedback.source_id)
            .collect();
        ids.sort();
        ids
    };
    for category in [
        LoyaltyCategory::Promoter,
        LoyaltyCategory::Passive,
        LoyaltyCategory::Detractor,
    ] {
        let mut expected: Vec<String> = items
            .iter()
            .filter(|f| f.rating.unwrap().implied_category() == category)
            .map(|f| f.source_id.clone())
            .collect();
        expected.sort();
        let filter = vouch_store::FeedbackFilter {
            category: Some(category),
            ..Default::default()
        };
        assert_eq!(ids_where(filter).await, expected, "{category:?}");
    }
    for label in [
        SentimentLabel::Positive,
        SentimentLabel::Neutral,
        SentimentLabel::Negative,
    ] {
        let mut expected: Vec<String> = items
            .iter()
            .filter(|f| SentimentLabel::of(f.sentiment.unwrap()) == label)
            .map(|f| f.source_id.clone())
            .collect();
        expected.sort();
        let filter = vouch_store::FeedbackFilter {
            sentiment: Some(label),
            ..Default::default()
        };
        assert_eq!(ids_where(filter).await, expected, "{label:?}");
    }
    // Survey comments take their answer's category.
    let filter = vouch_store::FeedbackFilter {
        category: Some(LoyaltyCategory::Passive),
        sources: vec![Source::Survey],
        ..Default::default()
    };
    assert_eq!(
        store.feedback(&filter, None, 50).await.unwrap().len(),
        2,
        "scores 7 and 8"
    );
}

/// Webhook and TOTP secrets and secret settings are sealed in the database and read back
/// whole; one stored readable (before sealing) is sealed by
/// `seal_readable_secrets`. On SQLite the key is the file beside the
/// database, on PostgreSQL the `secret_key` setting.
async fn webhook_and_totp_secrets_are_sealed_at_rest(db: &TestDb) {
    use vouch_store::{Backend, SecretKey};
    let now = Utc::now();
    let store = match db.store.backend() {
        Backend::Sqlite => {
            assert!(db.store.seals_secrets(), "the key file beside the database");
            db.store.clone()
        }
        Backend::Postgres => {
            assert!(!db.store.seals_secrets(), "no secret_key, no key file");
            db.store
                .clone()
                .with_secret_key(SecretKey::parse(&SecretKey::generate()).unwrap())
        }
    };
    let events = [vouch_domain::EventKind::ResponseCreated];
    let sealed = store
        .add_webhook(
            "https://a.example/hook",
            "whsec_U2VhbGVkU2VhbGVk",
            &events,
            now,
        )
        .await
        .unwrap();
    let old = store
        .add_webhook("https://b.example/hook", "whsec_T2xkT2xkT2xk", &events, now)
        .await
        .unwrap();
    db.execute(&format!(
        "UPDATE webhooks SET secret = 'whsec_T2xkT2xkT2xk' WHERE id = {old}"
    ))
    .await;
    let user = store
        .add_user("ana@acme.example", vouch_domain::Role::Admin, "hash", now)
        .await
        .unwrap();
    store
        .set_second_factor(user, Some("746f74702d736563726574"), &[])
        .await
        .unwrap();
    // A secret setting (the erasure key): the first kept wins, sealed.
    assert_eq!(
        store
            .keep_secret_setting("erasure_key", "RXJhc3VyZUtleQ")
            .await
            .unwrap(),
        "RXJhc3VyZUtleQ"
    );
    assert_eq!(
        store
            .keep_secret_setting("erasure_key", "U2Vjb25k")
            .await
            .unwrap(),
        "RXJhc3VyZUtleQ",
        "the first writer's"
    );
    db.execute("INSERT INTO settings (name, value) VALUES ('secret.old', 'T2xkU2V0dGluZw')")
        .await;
    assert!(
        db.everything_stored().await.contains("whsec_T2xkT2xkT2xk"),
        "the readable one is readable"
    );
    assert_eq!(store.seal_readable_secrets().await.unwrap(), 2);
    assert_eq!(store.seal_readable_secrets().await.unwrap(), 0, "once");
    assert_eq!(
        store.secret_setting("old").await.unwrap().as_deref(),
        Some("T2xkU2V0dGluZw")
    );
    let stored = db.everything_stored().await;
    for secret in [
        "U2VhbGVkU2VhbGVk",
        "T2xkT2xkT2xk",
        "746f74702d736563726574",
        "RXJhc3VyZUtleQ",
        "T2xkU2V0dGluZw",
    ] {
        assert!(
            !stored.contains(secret),
            "{secret} in clear in the database"
        );
    }
    assert!(stored.contains("sealed:v1:"));
    let hooks = store.webhooks().await.unwrap();
    let secret_of = |id| hooks.iter().find(|h| h.id == id).unwrap().secret.clone();
    assert_eq!(secret_of(sealed), "whsec_U2VhbGVkU2VhbGVk");
    assert_eq!(secret_of(old), "whsec_T2xkT2xkT2xk");
    let (totp, _) = store.second_factor(user).await.unwrap().unwrap();
    assert_eq!(totp, "746f74702d736563726574");
    // Without its key a sealed secret is not read as something else.
    let keyless = match db.store.backend() {
        Backend::Sqlite => db
            .store
            .clone()
            .with_secret_key(SecretKey::parse(&SecretKey::generate()).unwrap()),
        Backend::Postgres => db.store.clone(),
    };
    let refused = keyless.webhooks().await.unwrap_err().to_string();
    assert!(refused.contains("sealed"), "{refused}");
}

/// The task sweep writes `task.escalated` (first response missed, priority
/// raised) and `task.overdue` once each; a run's step finishes once, its
/// task with it, however often it is retried.
async fn tasks_escalate_and_go_overdue_once_and_a_step_finishes_once(db: &TestDb) {
    use vouch_domain::playbooks::{PlaybookSpec, Priority, TaskType};
    use vouch_store::{LogEntry, NewRun, NewTask, StepEffects};
    let store = &db.store;
    let now = Utc::now();
    let task = |hours_ago: i64| NewTask {
        customer_id: None,
        task_type: TaskType::CloseLoop,
        reason: "a detractor".into(),
        priority: Priority::Normal,
        team: Some("cx".into()),
        owner: None,
        signal: None,
        run: None,
        sla: "close_loop".into(),
        first_response_due: now - chrono::Duration::hours(hours_ago),
        due_at: now - chrono::Duration::hours(hours_ago) + chrono::Duration::hours(2),
    };
    let late = store.add_task(&task(5), now).await.unwrap();
    let unanswered = store.add_task(&task(1), now).await.unwrap();
    let fine = store.add_task(&task(-10), now).await.unwrap();
    // 2 escalated (late, unanswered) + 1 overdue (late).
    assert_eq!(store.sweep_tasks(now).await.unwrap(), 3);
    assert_eq!(store.sweep_tasks(now).await.unwrap(), 0, "once");
    let events = store
        .events_after(
            0,
            &[
                vouch_domain::EventKind::TaskEscalated,
                vouch_domain::EventKind::TaskOverdue,
            ],
            50,
        )
        .await
        .unwrap();
    // UPDATE … RETURNING promises no order.
    let mut kinds: Vec<(&str, i64)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.data["task_id"].as_i64().unwrap()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("task.escalated", late),
            ("task.escalated", unanswered),
            ("task.overdue", late)
        ]
    );
    let record = store.task(late).await.unwrap().unwrap();
    assert!(record.overdue && record.priority == "urgent");
    assert!(!store.task(fine).await.unwrap().unwrap().overdue);

    let spec: PlaybookSpec = serde_json::from_value(serde_json::json!({
        "name": "p", "trigger": {"event": "response.created"},
        "steps": [{"action": "create_task", "type": "close_loop"}]}))
    .unwrap();
    let playbook = store
        .add_playbook(&spec, Some("k"), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.add_playbook(&spec, Some("k"), now).await.unwrap(),
        None,
        "a default installs once"
    );
    let run = NewRun {
        playbook_id: playbook,
        version: 1,
        customer_id: None,
        event_id: "evt_1".into(),
        run_key: "1:1:customer:1:evt_1".into(),
        seed: u64::MAX,
        matched: true,
        held_out: false,
    };
    let job = |run_id: i64| vouch_store::NewJob {
        kind: vouch_domain::JobKind::PlaybookStep,
        payload: serde_json::json!({"run_id": run_id, "step": 0}),
        run_at: now,
        max_attempts: 5,
        dedupe_key: Some(format!("playbook:{run_id}:0")),
    };
    let id = store
        .start_run(&run, &[], Some(&job), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.start_run(&run, &[], Some(&job), now).await.unwrap(),
        None,
        "once per key"
    );
    assert_eq!(
        store.playbook_run(id).await.unwrap().unwrap().seed as u64,
        u64::MAX,
        "the seed keeps all 64 bits"
    );
    let effects = StepEffects {
        task: Some(NewTask {
            run: Some((id, 0)),
            ..task(-1)
        }),
        finished: true,
        ..StepEffects::default()
    };
    let entry = LogEntry::new(Some(0), Some("create_task"), "done", "a task");
    assert!(
        store
            .finish_step(id, 0, &entry, &effects, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_step(id, 0, &entry, &effects, now)
            .await
            .unwrap(),
        "a retry is a no-op"
    );
    let opened = store
        .tasks(&vouch_store::TaskFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.run_id == Some(id))
        .count();
    assert_eq!(opened, 1);
    assert_eq!(store.playbook_run(id).await.unwrap().unwrap().state, "done");
}

/// Indexes every item that waits for the search index.
async fn index_everything(store: &vouch_store::Store) {
    while store.index_search_backlog(1_000).await.unwrap() > 0 {}
    assert_eq!(store.search_backlog().await.unwrap(), 0);
}

/// On SQLite new and edited items wait in a backlog until indexed, in
/// batches, oldest first; an item deleted while it waits (retention,
/// erasure) leaves the backlog, and one deleted after indexing leaves the
/// index, so neither is found again. PostgreSQL indexes as it writes.
async fn the_search_index_fills_behind_the_writes_and_forgets_deleted_items(db: &TestDb) {
    use vouch_domain::RetentionCutoffs;
    use vouch_store::{Backend, FeedbackFilter};
    let store = &db.store;
    let sqlite = store.backend() == Backend::Sqlite;
    let found = |q: &'static str| async move {
        let filter = FeedbackFilter {
            search: Some(q.to_owned()),
            ..FeedbackFilter::default()
        };
        let mut ids: Vec<String> = store
            .feedback(&filter, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.feedback.source_id)
            .collect();
        ids.sort();
        ids
    };
    let item =
        |id: &str, body: &str, day: i64| Feedback::new(Source::Yelp, id, body, at(day)).unwrap();
    let old: Vec<Feedback> = (0..3)
        .map(|i| item(&format!("old{i}"), "parking was impossible", i))
        .collect();
    store.upsert_feedback(&old).await.unwrap();
    assert_eq!(
        store.search_backlog().await.unwrap(),
        if sqlite { 3 } else { 0 }
    );
    if sqlite {
        assert!(found("parking").await.is_empty(), "not indexed yet");
        // Batches, oldest first.
        assert_eq!(store.index_search_backlog(2).await.unwrap(), 2);
        assert_eq!(found("parking").await, ["old0", "old1"]);
    }
    index_everything(store).await;
    assert_eq!(found("parking").await, ["old0", "old1", "old2"]);

    // Two more wait; one indexed item is edited and waits again.
    store
        .upsert_feedback(&[
            item("old3", "parking again", 3),
            item("old4", "parking once more", 4),
            item("old0", "the valet was rude", 0),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.search_backlog().await.unwrap(),
        if sqlite { 3 } else { 0 }
    );
    assert_eq!(
        found("parking").await,
        if sqlite {
            vec!["old1", "old2"]
        } else {
            vec!["old1", "old2", "old3", "old4"]
        },
        "the edited item's old words are gone at once"
    );
    // Retention deletes them all: the waiting ones leave the backlog, the
    // indexed ones the index.
    let purged = store
        .purge(&RetentionCutoffs {
            feedback: Some(at(10)),
            answers: None,
            jobs: None,
            events: None,
        })
        .await
        .unwrap();
    assert_eq!(purged.feedback, 5);
    assert_eq!(store.search_backlog().await.unwrap(), 0);
    assert_eq!(store.index_search_backlog(100).await.unwrap(), 0);
    assert!(found("parking").await.is_empty());
    assert!(found("valet").await.is_empty());
    // The index is whole after all that: new items are found, old ones never.
    store
        .upsert_feedback(&[item("new0", "parking is easy now", 20)])
        .await
        .unwrap();
    index_everything(store).await;
    assert_eq!(found("parking").await, ["new0"]);
}

/// Full-text search finds words with or without their diacritics, in any
/// case, on both backends, and stays in step with updates and deletes;
/// filters combine with it, the count agrees with the pages, and a triage
/// change (or a note with the same key) applied twice changes things once
/// and writes one `feedback.triaged` event per item changed.
async fn inbox_search_folds_diacritics_and_triage_changes_once(db: &TestDb) {
    use vouch_domain::{EventKind, FeedbackId};
    use vouch_store::{FeedbackFilter, TriageChange};
    let store = &db.store;
    let customer = store.insert_customers(&[profile(3)]).await.unwrap()[0];
    let item = |id: &str, title: Option<&str>, body: &str, stars: f64, day: i64| {
        let mut f = Feedback::new(Source::Trustpilot, id, body, at(day)).unwrap();
        f.title = title.map(str::to_owned);
        f.rating = Some(Rating::stars(stars).unwrap());
        f
    };
    let mut items = vec![
        item(
            "t1",
            Some("Factură greșită"),
            "Factura a venit de două ori.",
            1.0,
            1,
        ),
        item("t2", None, "FACTURA corectă, livrare rapidă", 5.0, 2),
        item(
            "t3",
            None,
            "Șoferul a întârziat; livrarea a durat o săptămână",
            2.0,
            3,
        ),
        item("t4", None, "The invoice was wrong twice", 2.0, 4),
        item("t5", None, "Ştiri: ţeapă (cedilla forms)", 3.0, 5),
    ];
    items[0].customer_id = Some(customer);
    store.upsert_feedback(&items).await.unwrap();
    index_everything(store).await;
    let search = |q: &str| FeedbackFilter {
        search: Some(q.to_owned()),
        ..FeedbackFilter::default()
    };
    let found = |q: &'static str| async move {
        let mut ids: Vec<String> = store
            .feedback(&search(q), None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.feedback.source_id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(found("factura").await, ["t1", "t2"], "folded, any case");
    assert_eq!(found("factură").await, ["t1", "t2"], "the query folds too");
    assert_eq!(found("gresita").await, ["t1"], "titles are searched");
    assert_eq!(
        found("soferul intarziat").await,
        ["t3"],
        "every word must match"
    );
    assert_eq!(found("sofer").await, Vec::<String>::new(), "whole words");
    assert_eq!(
        found("știri țeapă").await,
        ["t5"],
        "comma and cedilla forms are one letter"
    );
    assert_eq!(
        found("\"invoice\" -wrong*").await,
        ["t4"],
        "punctuation is not syntax"
    );
    assert_eq!(found(" !? ").await.len(), 5, "no words: no search");
    let one_star = FeedbackFilter {
        stars: vec![1, 2],
        ..search("factura")
    };
    assert_eq!(store.feedback(&one_star, None, 50).await.unwrap().len(), 1);
    assert_eq!(
        store
            .count_matching_feedback(&search("factura"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_matching_feedback(&FeedbackFilter::default())
            .await
            .unwrap(),
        5
    );

    // An edit re-indexes the item; an erased text is no longer found.
    let mut edited = items[1].clone();
    edited.body = "Totul a mers bine".into();
    store.upsert_feedback(&[edited]).await.unwrap();
    index_everything(store).await;
    assert_eq!(found("factura").await, ["t1"]);
    assert_eq!(found("bine").await, ["t2"]);

    // Triage: once, with one event per item changed.
    let ids: Vec<FeedbackId> = store
        .feedback(&FeedbackFilter::default(), None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    let seq = store
        .events_after(0, &[], 10_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.seq);
    let now = at(10);
    let assign = TriageChange::Assign(Some("agent@example.com".into()));
    assert_eq!(
        store
            .change_triage(&ids[..2], &assign, now)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.change_triage(&ids[..3], &assign, now).await.unwrap(),
        [ids[2]]
    );
    let handled = TriageChange::Handled(true);
    assert_eq!(
        store
            .change_triage(&ids, &handled, now)
            .await
            .unwrap()
            .len(),
        5
    );
    assert!(
        store
            .change_triage(&ids, &handled, now)
            .await
            .unwrap()
            .is_empty()
    );
    let tag = TriageChange::Tag("billing".into());
    assert_eq!(
        store
            .change_triage(&ids[..1], &tag, now)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .change_triage(&ids[..1], &tag, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .change_triage(&[FeedbackId(999_999)], &tag, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .add_feedback_note(
                ids[0],
                "agent@example.com",
                "Called her <b>back</b>",
                "k1",
                now
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_feedback_note(
                ids[0],
                "agent@example.com",
                "Called her <b>back</b>",
                "k1",
                now
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_feedback_note(FeedbackId(999_999), "a", "b", "k1", now)
            .await
            .unwrap()
    );
    let events = store
        .events_after(seq, &[EventKind::FeedbackTriaged], 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 3 + 5 + 1 + 1);
    let triage = store.triage_of(&ids).await.unwrap();
    assert_eq!(
        triage[&ids[0]].assignee.as_deref(),
        Some("agent@example.com")
    );
    assert_eq!(triage[&ids[0]].tags, ["billing"]);
    assert_eq!(triage[&ids[0]].notes, 1);
    assert!(triage.values().all(|t| t.handled_at.is_some()));
    assert_eq!(
        store.feedback_notes(ids[0]).await.unwrap()[0].body,
        "Called her <b>back</b>"
    );
    let tagged = FeedbackFilter {
        tag: Some("billing".into()),
        handled: Some(true),
        assignee: Some(Some("agent@example.com".into())),
        ..FeedbackFilter::default()
    };
    assert_eq!(store.count_matching_feedback(&tagged).await.unwrap(), 1);
    let nobody = FeedbackFilter {
        assignee: Some(None),
        ..FeedbackFilter::default()
    };
    assert_eq!(store.count_matching_feedback(&nobody).await.unwrap(), 2);
    let segment = FeedbackFilter {
        attributes: vec![("plan".into(), "pro".into())],
        ..FeedbackFilter::default()
    };
    assert_eq!(
        store.count_matching_feedback(&segment).await.unwrap(),
        1,
        "profile(3) is on pro"
    );
    assert!(
        store
            .change_triage(&ids, &TriageChange::Untag("billing".into()), now)
            .await
            .unwrap()
            .len()
            == 1
    );

    // Counts stop at the cap, with or without a search.
    let many: Vec<Feedback> = (0..vouch_store::COUNT_CAP + 5)
        .map(|i| item(&format!("m{i}"), None, "many words here", 3.0, 7))
        .collect();
    store.upsert_feedback(&many).await.unwrap();
    index_everything(store).await;
    assert_eq!(
        store
            .count_matching_feedback(&FeedbackFilter::default())
            .await
            .unwrap(),
        vouch_store::COUNT_CAP
    );
    assert_eq!(
        store
            .count_matching_feedback(&search("many"))
            .await
            .unwrap(),
        vouch_store::COUNT_CAP
    );
    assert_eq!(
        store
            .count_matching_feedback(&search("factura"))
            .await
            .unwrap(),
        1,
        "exact below the cap"
    );
    // A word in many items (walked by date) pages in the same order as no search.
    let ids = |items: Vec<vouch_domain::FeedbackItem>| {
        items.into_iter().map(|i| i.id).collect::<Vec<_>>()
    };
    let newest = ids(store
        .feedback(&FeedbackFilter::default(), None, 20)
        .await
        .unwrap());
    assert_eq!(
        ids(store.feedback(&search("many"), None, 20).await.unwrap()),
        newest
    );
    let after = Some(newest[19]);
    assert_eq!(
        ids(store
            .feedback(&search("many words"), after, 20)
            .await
            .unwrap()),
        ids(store
            .feedback(&FeedbackFilter::default(), after, 20)
            .await
            .unwrap())
    );

    // Stars as Rating::as_stars rounds them: 4.5 is 5, 1.5 is 2.
    let halves = [
        item("h1", None, "half", 4.5, 6),
        item("h2", None, "half", 1.5, 6),
    ];
    store.upsert_feedback(&halves).await.unwrap();
    for (stars, expected) in [(5, vec!["t2", "h1"]), (2, vec!["t3", "t4", "h2"])] {
        let filter = FeedbackFilter {
            stars: vec![stars],
            ..FeedbackFilter::default()
        };
        let mut got: Vec<String> = store
            .feedback(&filter, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.feedback.source_id)
            .collect();
        got.sort();
        let mut expected = expected.clone();
        expected.sort();
        assert_eq!(got, expected, "{stars} stars");
    }
}
