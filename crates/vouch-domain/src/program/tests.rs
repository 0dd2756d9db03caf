use super::*;
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = EntryKind> {
    prop::sample::select(EntryKind::ALL.to_vec())
}

proptest! {
    #[test]
    fn balances_are_sums_of_their_entries(entries in prop::collection::vec((kind(), -10_000i64..10_000), 0..200)) {
        let b = Balance::of(entries.iter().copied());
        prop_assert_eq!(b.spendable, entries.iter().map(|(_, a)| a).sum::<i64>());
        prop_assert_eq!(
            b.lifetime,
            entries.iter().filter(|(k, _)| k.counts_for_lifetime()).map(|(_, a)| a).sum::<i64>()
        );
        // Entries in any order give the same balance.
        let mut reversed = entries.clone();
        reversed.reverse();
        prop_assert_eq!(Balance::of(reversed), b);
    }
}

#[test]
fn a_hold_then_a_redemption_spends_once_and_a_release_gives_back() {
    let earned = [(EntryKind::Earn, 300)];
    let held = [&earned[..], &[(EntryKind::Hold, -100)]].concat();
    assert_eq!(
        Balance::of(held.iter().copied()),
        Balance {
            lifetime: 300,
            spendable: 200
        }
    );
    // Redeemed: the hold goes back and the spend is recorded.
    let redeemed = [
        &held[..],
        &[(EntryKind::Release, 100), (EntryKind::Redeem, -100)],
    ]
    .concat();
    assert_eq!(Balance::of(redeemed).spendable, 200);
    let refused = [&held[..], &[(EntryKind::Release, 100)]].concat();
    assert_eq!(Balance::of(refused).spendable, 300);
    assert!(!EntryKind::Earn.sign_fits(-1));
    assert!(!EntryKind::Hold.sign_fits(5));
    assert!(EntryKind::Reverse.sign_fits(-5));
}

#[test]
fn tiers_are_reached_by_points_or_badges_and_say_what_is_next() {
    let tiers = default_tiers();
    assert_eq!(tier_for(&tiers, 0, 0).unwrap().name, "Fan");
    assert_eq!(tier_for(&tiers, 499, 0).unwrap().name, "Fan");
    assert_eq!(tier_for(&tiers, 500, 0).unwrap().name, "Advocate");
    assert_eq!(tier_for(&tiers, 100, 6).unwrap().name, "Evangelist");
    assert_eq!(
        tier_for(&tiers, 9_999, 0).unwrap().name,
        "Most Valued Advocate"
    );
    let (next, short) = next_tier(&tiers, 1_200, 0).unwrap();
    assert_eq!((next.name.as_str(), short), ("Evangelist", 800));
    assert!(next_tier(&tiers, 5_000, 0).is_none());
    assert!(tier_allows(&tiers, Some("Evangelist"), Some("Advocate")));
    assert!(!tier_allows(&tiers, Some("Fan"), Some("Advocate")));
    assert!(tier_allows(&tiers, None, None));
}

#[test]
fn leaderboards_share_ranks_and_break_ties_by_who_got_there_first() {
    let at = |h| Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
    use chrono::TimeZone;
    let s = |member_id, points, h| Standing {
        member_id,
        points,
        reached_at: at(h),
    };
    let ranked = leaderboard(vec![
        s(1, 50, 9),
        s(2, 80, 10),
        s(3, 50, 8),
        s(4, 50, 8),
        s(5, 10, 1),
    ]);
    let order: Vec<(u32, i64)> = ranked.iter().map(|(r, s)| (*r, s.member_id)).collect();
    assert_eq!(order, [(1, 2), (2, 3), (2, 4), (2, 1), (5, 5)]);
}

#[test]
fn periods_start_on_monday_the_first_and_the_quarter() {
    use chrono::TimeZone;
    let now = Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap();
    let day = |p: Period| p.start(now).map(|d| d.date_naive().to_string());
    assert_eq!(day(Period::Week).as_deref(), Some("2026-11-16"));
    assert_eq!(day(Period::Month).as_deref(), Some("2026-11-01"));
    assert_eq!(day(Period::Quarter).as_deref(), Some("2026-10-01"));
    assert_eq!(day(Period::AllTime), None);
}

#[test]
fn redemptions_move_forward_only_and_only_trusted_auto_skips_approval() {
    use RedemptionState::*;
    assert!(Requested.can_become(Approved));
    assert!(Approved.can_become(Fulfilled));
    assert!(Backordered.can_become(Cancelled));
    assert!(!Fulfilled.can_become(Cancelled));
    assert!(!Approved.can_become(PendingApproval));
    assert!(!Refused.can_become(Approved));
    assert_eq!(first_state(Fulfilment::Auto, true, true), Approved);
    assert_eq!(first_state(Fulfilment::Auto, false, true), PendingApproval);
    assert_eq!(first_state(Fulfilment::Manual, true, true), PendingApproval);
    assert_eq!(first_state(Fulfilment::Auto, true, false), Backordered);
    assert!(JoinedBy::Invitation.trusted() && JoinedBy::Staff.trusted());
    assert!(!JoinedBy::JoinCode.trusted() && !JoinedBy::OpenSignUp.trusted());
}

#[test]
fn badges_come_by_count_or_points_and_manual_ones_only_by_hand() {
    let referrals = BadgeRule::Count {
        source: "referral".into(),
        at_least: 3,
    };
    let count = |n: u32| move |source: &str| if source == "referral" { n } else { 0 };
    assert!(!referrals.earned(0, count(2)));
    assert!(referrals.earned(0, count(3)));
    assert!(BadgeRule::Points { at_least: 1_000 }.earned(1_000, count(0)));
    assert!(!BadgeRule::Manual.earned(1_000_000, count(100)));
    let read: BadgeRule =
        serde_json::from_str(r#"{"kind": "count", "source": "challenge", "at_least": 2}"#).unwrap();
    assert_eq!(
        read,
        BadgeRule::Count {
            source: "challenge".into(),
            at_least: 2
        }
    );
}

#[test]
fn the_oldest_unspent_points_expire_first_and_never_more_than_spendable() {
    // 500 earned long ago, 200 spent since: 300 of the old ones are left.
    assert_eq!(expiring(500, 200, 900), 300);
    // Spent more than the old points: nothing old is left.
    assert_eq!(expiring(500, 800, 100), 0);
    // Held points are not spendable: they do not expire.
    assert_eq!(expiring(500, 0, 120), 120);
    assert_eq!(expiring(0, 0, 50), 0);
}
