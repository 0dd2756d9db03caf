use super::*;
use chrono::TimeZone;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap() + Duration::days(i64::from(day))
}

#[test]
fn codes_use_only_the_alphabet_without_look_alikes_and_reject_biased_bytes() {
    for c in CODE_ALPHABET {
        assert!(!b"0O1IL".contains(c), "{}", *c as char);
    }
    let all: Vec<u8> = (0..=255).collect();
    let code = code_from_random(&all).unwrap();
    assert_eq!(code.len(), CODE_LENGTH);
    assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
    // Bytes at or over 248 would favour the first letters: never used.
    assert_eq!(code_from_random(&[250; 64]), None);
    assert_eq!(code_from_random(&[1, 2, 3]), None);
    assert_eq!(normalise_code(" ab-cd 23 "), "ABCD23");
    assert!(check_vanity("ANA-2026").is_ok());
    assert!(check_vanity("a/b").is_err() && check_vanity("abc").is_err());
}

#[test]
fn attribution_takes_the_first_or_last_click_inside_the_window_only() {
    let clicks = [
        ClickSeen {
            id: 1,
            link_id: 10,
            at: at(0),
        },
        ClickSeen {
            id: 2,
            link_id: 20,
            at: at(50),
        },
        ClickSeen {
            id: 3,
            link_id: 30,
            at: at(80),
        },
    ];
    let window = Duration::days(DEFAULT_WINDOW_DAYS);
    let pick = |day, model| attribute(&clicks, at(day), window, model).map(|c| c.id);
    assert_eq!(pick(85, Attribution::FirstClick), Some(1));
    assert_eq!(pick(85, Attribution::LastClick), Some(3));
    // Day 95: the first click is 95 days old, out of the window.
    assert_eq!(pick(95, Attribution::FirstClick), Some(2));
    // Exactly 90 days is still inside.
    assert_eq!(pick(90, Attribution::FirstClick), Some(1));
    // After 200 days nothing is left; before any click nothing counts.
    assert_eq!(pick(200, Attribution::LastClick), None);
    assert_eq!(
        attribute(
            &clicks,
            at(0) - Duration::hours(1),
            window,
            Attribution::LastClick
        ),
        None
    );
}

fn fired(facts: &ReferralFacts) -> Vec<(FraudRule, FraudAction)> {
    check(facts, &FraudPolicy::default())
        .into_iter()
        .map(|s| (s.rule, s.action))
        .collect()
}

fn clean() -> ReferralFacts {
    ReferralFacts {
        advocate_email: Some("ana.pop@example.com".into()),
        advocate_customer: Some(1),
        friend_email: Some("mihai@example.org".into()),
        friend_customer: Some(2),
        recent_conversions: 1,
        referring_domain: Some("facebook.com".into()),
        ..ReferralFacts::default()
    }
}

#[test]
fn a_clean_referral_fires_nothing_and_waits_out_its_hold() {
    assert!(fired(&clean()).is_empty());
    assert_eq!(status_of(&[], Duration::days(14)), ReferralStatus::Pending);
    assert_eq!(status_of(&[], Duration::zero()), ReferralStatus::Approved);
}

#[test]
fn self_referral_by_the_same_near_identical_email_or_person_blocks() {
    use FraudAction::Block;
    use FraudRule::SelfReferral;
    for friend in [
        "ana.pop@example.com",
        "Ana.Pop+deal@example.com",
        "ana.pops@example.com",
    ] {
        let facts = ReferralFacts {
            friend_email: Some(friend.into()),
            ..clean()
        };
        assert_eq!(fired(&facts), [(SelfReferral, Block)], "{friend}");
    }
    let gmail = ReferralFacts {
        advocate_email: Some("ana.pop@gmail.com".into()),
        friend_email: Some("anapop@googlemail.com".into()),
        ..clean()
    };
    assert_eq!(fired(&gmail), [(SelfReferral, Block)]);
    let same_person = ReferralFacts {
        friend_customer: Some(1),
        ..clean()
    };
    assert_eq!(fired(&same_person), [(SelfReferral, Block)]);
    // Different people at one company are not alike.
    let colleague = ReferralFacts {
        friend_email: Some("radu@example.com".into()),
        ..clean()
    };
    assert!(fired(&colleague).is_empty());
    assert!(
        !near_identical("ana@x.ro", "ane@x.ro"),
        "short local parts differ by design"
    );
}

#[test]
fn an_existing_or_already_referred_friend_blocks_and_the_first_referrer_keeps_it() {
    let existing = ReferralFacts {
        friend_existed_before: true,
        ..clean()
    };
    assert_eq!(
        fired(&existing),
        [(FraudRule::ExistingCustomer, FraudAction::Block)]
    );
    let referred = ReferralFacts {
        referred_before_by: Some(7),
        friend_existed_before: true,
        ..clean()
    };
    let signals = check(&referred, &FraudPolicy::default());
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].rule, FraudRule::AlreadyReferred);
    assert!(signals[0].detail.contains("member 7"));
    assert_eq!(
        status_of(&signals, Duration::days(14)),
        ReferralStatus::Blocked
    );
}

#[test]
fn same_device_disposable_mail_coupon_sites_and_bursts_flag_for_review() {
    use FraudAction::Flag;
    let cases = [
        (
            ReferralFacts {
                same_cookie: true,
                ..clean()
            },
            FraudRule::SameDevice,
        ),
        (
            ReferralFacts {
                same_ip_and_agent: true,
                ..clean()
            },
            FraudRule::SameDevice,
        ),
        (
            ReferralFacts {
                friend_email: Some("x@mailinator.com".into()),
                ..clean()
            },
            FraudRule::DisposableEmail,
        ),
        (
            ReferralFacts {
                friend_email: Some("x@eu.mailinator.com".into()),
                ..clean()
            },
            FraudRule::DisposableEmail,
        ),
        (
            ReferralFacts {
                referring_domain: Some("www.retailmenot.com".into()),
                ..clean()
            },
            FraudRule::CouponSite,
        ),
        (
            ReferralFacts {
                recent_conversions: 6,
                ..clean()
            },
            FraudRule::Velocity,
        ),
    ];
    for (facts, rule) in cases {
        assert_eq!(fired(&facts), [(rule, Flag)], "{rule}");
        let signals = check(&facts, &FraudPolicy::default());
        assert_eq!(
            status_of(&signals, Duration::days(14)),
            ReferralStatus::Flagged
        );
    }
    assert!(!is_disposable_domain("example.com"));
    assert!(!is_coupon_site("facebook.com"));
    // A policy may make any rule block.
    let strict = FraudPolicy {
        actions: vec![(FraudRule::Velocity, FraudAction::Block)],
        ..FraudPolicy::default()
    };
    let burst = ReferralFacts {
        recent_conversions: 6,
        ..clean()
    };
    assert_eq!(check(&burst, &strict)[0].action, FraudAction::Block);
}

#[test]
fn reward_rules_withhold_under_the_minimum_and_past_the_allowance() {
    let rule = RewardRule {
        min_order_value: 20.0,
        allowance_count: 2,
        allowance_value: 100.0,
        ..RewardRule::default()
    };
    assert!(
        reward_withheld(&rule, 10.0, 0, 0.0)
            .unwrap()
            .contains("minimum")
    );
    assert!(
        reward_withheld(&rule, 30.0, 2, 60.0)
            .unwrap()
            .contains("2 referrals")
    );
    assert!(
        reward_withheld(&rule, 50.0, 1, 60.0)
            .unwrap()
            .contains("100.00")
    );
    assert_eq!(reward_withheld(&rule, 30.0, 1, 60.0), None);
}
