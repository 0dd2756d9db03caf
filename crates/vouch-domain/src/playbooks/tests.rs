use super::*;

fn spec(json: &str) -> PlaybookSpec {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn rules(spec: &PlaybookSpec) -> Vec<Rule> {
    check_playbook(spec).into_iter().map(|d| d.rule).collect()
}

const REVIEW: &str = r#"{"action": "request_review", "platform": "google", "url": "https://g.page/r/EXAMPLE/review"}"#;

#[test]
fn the_contract_example_reads_and_is_denied_by_r1() {
    let gated = spec(
        r#"{"name": "Ask promoters for a review",
       "trigger": {"event": "customer.category_changed", "to": "promoter"},
       "conditions": [{"field": "score", "op": ">=", "value": 9}],
       "steps": [{"action": "request_review", "platform": "google", "url": "https://g.page/r/EXAMPLE/review"}],
       "holdout_percent": 10}"#,
    );
    assert!(gated.enabled);
    assert_eq!(gated.trigger.to, Some(LoyaltyCategory::Promoter));
    assert_eq!(gated.check_shape(), Ok(()));
    let denials = check_playbook(&gated);
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(denials[0].rule, Rule::R1);
    assert_eq!(denials[0].step, Some(0));
    // It writes back as it was read.
    let again: PlaybookSpec =
        serde_json::from_value(serde_json::to_value(&gated).unwrap()).unwrap();
    assert_eq!(again, gated);
}

#[test]
fn r1_allows_asking_everyone_every_nth_or_a_random_share_and_denies_any_satisfaction_condition() {
    for audience in [
        "",
        r#", "audience": "everyone""#,
        r#", "audience": {"every_nth": 3}"#,
        r#", "audience": {"random_percent": 20}"#,
    ] {
        let review = REVIEW.replace("}", &format!("{audience}}}"));
        let ok = spec(&format!(
            r#"{{"name": "Ask everyone who answers", "trigger": {{"event": "response.created"}},
                "conditions": [{{"field": "locale", "op": "=", "value": "ro"}}], "steps": [{review}]}}"#
        ));
        assert_eq!(rules(&ok), vec![], "{audience}");
    }
    for field in [
        "score",
        "rating",
        "sentiment",
        "category",
        "previous_category",
    ] {
        let gated = spec(&format!(
            r#"{{"name": "g", "trigger": {{"event": "response.created"}},
                "conditions": [{{"field": "{field}", "op": ">", "value": 0}}], "steps": [{REVIEW}]}}"#
        ));
        assert_eq!(rules(&gated), vec![Rule::R1], "{field}");
    }
    // A category trigger is a condition on category.
    let by_trigger = spec(&format!(
        r#"{{"name": "g", "trigger": {{"event": "customer.category_changed"}}, "steps": [{REVIEW}]}}"#
    ));
    assert_eq!(rules(&by_trigger), vec![Rule::R1]);
}

#[test]
fn r2_denies_an_incentive_for_a_review_that_depends_on_how_happy_the_customer_is() {
    let on_rating = spec(
        r#"{"name": "Thank good reviewers", "trigger": {"event": "feedback.created"},
            "conditions": [{"field": "rating", "op": ">=", "value": 4}],
            "steps": [{"action": "award_points", "points": 50, "reason": "review"}]}"#,
    );
    assert_eq!(rules(&on_rating), vec![Rule::R2]);
    let any_review = spec(
        r#"{"name": "Thank every reviewer", "trigger": {"event": "feedback.created"},
            "conditions": [{"field": "source", "op": "=", "value": "review"}],
            "steps": [{"action": "award_points", "points": 50, "reason": "review"}]}"#,
    );
    assert_eq!(rules(&any_review), vec![]);
}

#[test]
fn r3_denies_incentives_where_the_platform_forbids_them_and_wants_a_disclosure_elsewhere() {
    let with = |platform: &str, disclosure: &str| {
        spec(&format!(
            r#"{{"name": "r", "trigger": {{"event": "response.created"}},
                "steps": [{{"action": "request_review", "platform": "{platform}", "url": "https://x.example/r",
                           "incentive": "a 10% voucher"{disclosure}}}]}}"#
        ))
    };
    for platform in ["google", "trustpilot", "amazon"] {
        assert_eq!(rules(&with(platform, "")), vec![Rule::R3], "{platform}");
        assert_eq!(
            rules(&with(platform, r#", "disclosure": "You get a voucher""#)),
            vec![Rule::R3],
            "no disclosure makes it allowed on {platform}"
        );
    }
    assert_eq!(rules(&with("g2", "")), vec![Rule::R3], "no disclosure");
    assert_eq!(
        rules(&with(
            "g2",
            r#", "disclosure": "You get a voucher whatever you write""#
        )),
        vec![]
    );
    let points_with_google = spec(&format!(
        r#"{{"name": "r", "trigger": {{"event": "response.created"}},
            "steps": [{REVIEW}, {{"action": "award_points", "points": 5, "reason": "asked"}}]}}"#
    ));
    assert_eq!(rules(&points_with_google), vec![Rule::R3]);
}

#[test]
fn r4_keeps_insiders_out_of_review_requests_unless_disclosed() {
    let Step { action, .. } = spec(&format!(
        r#"{{"name": "r", "trigger": {{"event": "response.created"}}, "steps": [{REVIEW}]}}"#
    ))
    .steps
    .remove(0);
    let mut facts = Facts {
        consents: vec![Purpose::Advocacy],
        ..Facts::default()
    };
    assert_eq!(check_step(&action, &facts), Ok(()));
    facts.insider = true;
    assert_eq!(check_step(&action, &facts).unwrap_err().rule, Rule::R4);
    let disclosed = match action {
        Action::RequestReview {
            platform,
            url,
            audience,
            message,
            incentive,
            ..
        } => Action::RequestReview {
            platform,
            url,
            audience,
            message,
            incentive,
            disclosure: Some("I work at Acme".into()),
        },
        _ => unreachable!(),
    };
    assert_eq!(check_step(&disclosed, &facts), Ok(()));
}

#[test]
fn r5_lints_review_request_copy_in_english_and_romanian() {
    let with = |message: &str| {
        spec(&format!(
            r#"{{"name": "r", "trigger": {{"event": "response.created"}},
                "steps": [{{"action": "request_review", "platform": "google", "url": "https://g.page/r",
                           "message": {}}}]}}"#,
            serde_json::to_string(message).unwrap()
        ))
    };
    for bad in [
        "Leave us 5 stars!",
        "Would you give us a five-star review?",
        "We'd love a positive review",
        "If you were happy, review us; otherwise contact us.",
        "Lăsați-ne 5 stele",
        "O recenzie pozitivă ne ajută",
        "Dacă ați fost mulțumit, scrieți o recenzie",
        "Daca ati fost multumit, scrieti o recenzie",
    ] {
        assert_eq!(rules(&with(bad)), vec![Rule::R5], "{bad}");
    }
    for fine in [
        "Would you tell others about your experience? Every honest review helps.",
        "Ne-ar ajuta o recenzie sinceră despre experiența dumneavoastră.",
    ] {
        assert_eq!(rules(&with(fine)), vec![], "{fine}");
    }
}

#[test]
fn r6_wants_consent_for_marketing_referral_and_advocacy_but_not_for_service() {
    let facts = Facts::default();
    let referral = Action::AskForReferral { message: None };
    assert_eq!(check_step(&referral, &facts).unwrap_err().rule, Rule::R6);
    let with_consent = Facts {
        consents: vec![Purpose::Referral],
        ..Facts::default()
    };
    assert_eq!(check_step(&referral, &with_consent), Ok(()));
    let service = Action::SendEmail {
        purpose: Purpose::Service,
        subject: "Your ticket".into(),
        body: "Hello".into(),
    };
    assert_eq!(check_step(&service, &facts), Ok(()));
    let marketing = Action::SendEmail {
        purpose: Purpose::Marketing,
        subject: "News".into(),
        body: "Hello".into(),
    };
    assert_eq!(check_step(&marketing, &facts).unwrap_err().rule, Rule::R6);
}

#[test]
fn conditions_read_the_customer_and_the_event() {
    let facts = Facts {
        category: Some(LoyaltyCategory::Detractor),
        previous_category: Some(LoyaltyCategory::Passive),
        score: Some(3),
        sentiment: Some(-0.4),
        topics: vec!["billing".into(), "support".into()],
        source: Some("survey".into()),
        locale: Some("ro".into()),
        consents: vec![Purpose::Feedback],
        attributes: [
            ("plan".to_owned(), "pro".to_owned()),
            ("seats".to_owned(), "12".to_owned()),
        ]
        .into(),
        ..Facts::default()
    };
    let check = |json: &str| {
        let c: Condition = serde_json::from_str(json).unwrap();
        facts.check(std::slice::from_ref(&c))[0].matched
    };
    assert!(check(r#"{"field": "score", "op": "<=", "value": 6}"#));
    assert!(!check(r#"{"field": "score", "op": ">=", "value": 9}"#));
    assert!(check(
        r#"{"field": "sentiment", "op": "<", "value": -0.05}"#
    ));
    assert!(check(
        r#"{"field": "topic", "op": "=", "value": "billing"}"#
    ));
    assert!(check(
        r#"{"field": "topic", "op": "in", "value": ["delivery", "support"]}"#
    ));
    assert!(!check(
        r#"{"field": "topic", "op": "=", "value": "delivery"}"#
    ));
    assert!(check(
        r#"{"field": "category", "op": "=", "value": "detractor"}"#
    ));
    assert!(check(
        r#"{"field": "previous_category", "op": "=", "value": "passive"}"#
    ));
    assert!(check(
        r#"{"field": "locale", "op": "in", "value": ["ro", "en"]}"#
    ));
    assert!(check(
        r#"{"field": "consent.feedback", "op": "=", "value": true}"#
    ));
    assert!(check(
        r#"{"field": "consent.marketing", "op": "=", "value": false}"#
    ));
    assert!(check(
        r#"{"field": "attributes.plan", "op": "=", "value": "PRO"}"#
    ));
    assert!(check(
        r#"{"field": "attributes.seats", "op": ">", "value": 10}"#
    ));
    assert!(check(r#"{"field": "insider", "op": "=", "value": false}"#));
    // A field the event does not have never matches.
    assert!(!check(r#"{"field": "rating", "op": ">", "value": 0}"#));
    assert!(!check(
        r#"{"field": "attributes.region", "op": "=", "value": "eu"}"#
    ));
    let log = facts
        .check(&[serde_json::from_str(r#"{"field": "score", "op": "<=", "value": 6}"#).unwrap()]);
    assert_eq!(log[0].condition, "score <= 6");
    assert_eq!(log[0].actual.as_deref(), Some("3"));
    for bad in [
        r#"{"field": "mood", "op": "=", "value": 1}"#,
        r#"{"field": "consent.spam", "op": "=", "value": true}"#,
        r#"{"field": "score", "op": "~", "value": 1}"#,
    ] {
        assert!(serde_json::from_str::<Condition>(bad).is_err(), "{bad}");
    }
}

#[test]
fn shapes_that_cannot_run_are_refused_naming_the_field() {
    let base = format!(r#""trigger": {{"event": "response.created"}}, "steps": [{REVIEW}]"#);
    assert_eq!(
        spec(&format!(r#"{{"name": " ", {base}}}"#))
            .check_shape()
            .unwrap_err()
            .0,
        "name"
    );
    assert_eq!(
        spec(r#"{"name": "n", "trigger": {"event": "response.created"}, "steps": []}"#)
            .check_shape()
            .unwrap_err()
            .0,
        "steps"
    );
    assert_eq!(
        spec(&format!(
            r#"{{"name": "n", {base}, "holdout_percent": 80}}"#
        ))
        .check_shape()
        .unwrap_err()
        .0,
        "holdout_percent"
    );
    assert_eq!(
        spec(r#"{"name": "n", "trigger": {"event": "response.created", "to": "promoter"}, "steps": [{"action": "wait", "hours": 1}]}"#)
            .check_shape()
            .unwrap_err()
            .0,
        "trigger"
    );
    assert_eq!(
        spec(r#"{"name": "n", "trigger": {"event": "response.created"}, "steps": [{"action": "call_webhook", "url": "file:///etc/passwd"}]}"#)
            .check_shape()
            .unwrap_err()
            .0,
        "steps"
    );
    assert!(
        serde_json::from_str::<PlaybookSpec>(&format!(r#"{{"name": "n", {base}, "colour": 1}}"#))
            .is_err(),
        "unknown fields are refused"
    );
}

#[test]
fn hold_outs_are_seeded_per_run_and_near_their_share() {
    let key = run_key(1, 1, "customer:7", "evt_1");
    assert_eq!(run_seed(&key), run_seed(&key), "recorded, repeatable");
    let held = (0..20_000)
        .filter(|i| {
            held_out(
                run_seed(&run_key(1, 1, &format!("customer:{i}"), "evt")),
                10,
            )
        })
        .count();
    // 10% of 20,000 is 2,000; the binomial sd is 42.
    assert!((1_800..2_200).contains(&held), "{held}");
    assert!(!held_out(run_seed(&key), 0));
    let asked = (0..20_000u64)
        .filter(|i| in_audience(Audience::RandomPercent(25), *i, run_seed(&i.to_string())))
        .count();
    assert!((4_700..5_300).contains(&asked), "{asked}");
    let nth: Vec<bool> = (0..6)
        .map(|i| in_audience(Audience::EveryNth(3), i, 0))
        .collect();
    assert_eq!(nth, [true, false, false, true, false, false]);
}

#[test]
fn tasks_move_between_open_states_and_closed_only_reopens() {
    use TaskState::*;
    assert!(Open.can_become(InProgress));
    assert!(InProgress.can_become(Snoozed));
    assert!(Snoozed.can_become(Closed));
    assert!(Closed.can_become(Open));
    assert!(!Closed.can_become(InProgress));
    assert!(!Open.can_become(Open));
}

#[test]
fn a_schedule_names_one_slot_per_period_from_its_hour() {
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let daily = Schedule {
        every: Every::Day,
        hour: 9,
    };
    assert_eq!(daily.slot(at("2026-12-04 09:00")), "day:2026-12-04");
    assert_eq!(daily.slot(at("2026-12-04 23:59")), "day:2026-12-04");
    assert_eq!(daily.slot(at("2026-12-04 08:59")), "day:2026-12-03");
    let weekly = Schedule {
        every: Every::Week,
        hour: 9,
    };
    // 2026-12-07 is a Monday.
    assert_eq!(weekly.slot(at("2026-12-07 10:00")), "week:2026-12-07");
    assert_eq!(weekly.slot(at("2026-12-13 23:00")), "week:2026-12-07");
    assert_eq!(weekly.slot(at("2026-12-07 08:00")), "week:2026-11-30");
    let monthly = Schedule {
        every: Every::Month,
        hour: 0,
    };
    assert_eq!(monthly.slot(at("2026-12-31 12:00")), "month:2026-12-01");
    let early = Schedule {
        every: Every::Month,
        hour: 6,
    };
    assert_eq!(early.slot(at("2027-01-01 05:00")), "month:2026-12-01");
}

#[test]
fn a_trigger_is_an_event_or_a_schedule_never_both_or_neither() {
    let step = r#""steps": [{"action": "tag", "tag": "x"}]"#;
    let scheduled = spec(&format!(
        r#"{{"name": "n", "trigger": {{"schedule": {{"every": "week"}}}}, {step}}}"#
    ));
    assert!(scheduled.check_shape().is_ok());
    assert_eq!(scheduled.trigger.schedule.unwrap().hour, 9);
    assert_eq!(scheduled.trigger.to_string(), "every week at 09:00");
    for bad in [
        r#"{}"#,
        r#"{"event": "response.created", "schedule": {"every": "day"}}"#,
        r#"{"schedule": {"every": "day", "hour": 24}}"#,
        r#"{"schedule": {"every": "day"}, "to": "promoter"}"#,
    ] {
        let s = spec(&format!(r#"{{"name": "n", "trigger": {bad}, {step}}}"#));
        assert_eq!(s.check_shape().unwrap_err().0, "trigger", "{bad}");
    }
}
