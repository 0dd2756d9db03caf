//! The advocate program's ledger on both backends: one entry per
//! idempotency key under concurrency, redemptions that never spend the
//! same points twice, a ledger the database itself keeps append-only, and
//! balances that are always the sum of their entries.

use std::sync::Arc;

use chrono::Utc;
use proptest::strategy::{Strategy, ValueTree};
use vouch_domain::program::{
    EntryKind, Fulfilment, JoinedBy, MemberStatus, RedemptionState, RewardKind,
};
use vouch_domain::{CustomerId, CustomerProfile, Email, Locale};
use vouch_store::{NewEntry, NewReward, Store};
use vouch_testing::{TestDb, on_both_backends};

on_both_backends!(
    fifty_concurrent_awards_with_one_key_make_one_entry,
    twenty_concurrent_redemptions_against_five_succeed_five_times,
    the_ledger_refuses_update_and_delete,
    balances_always_equal_the_sum_of_their_entries,
    banning_a_member_voids_their_pending_redemptions,
);

async fn member(store: &Store, n: u32) -> i64 {
    let mut p = CustomerProfile::new(Locale::parse("en").unwrap(), Utc::now());
    p.email = Some(Email::parse(&format!("member{n}@example.com")).unwrap());
    let id = store.insert_customers(&[p]).await.unwrap()[0];
    let (m, joined) = store
        .add_member(id, JoinedBy::Invitation, Some("2026-12"), Utc::now())
        .await
        .unwrap();
    assert!(joined && m.trusted);
    // Joining again finds the member.
    let (again, joined) = store
        .add_member(id, JoinedBy::OpenSignUp, None, Utc::now())
        .await
        .unwrap();
    assert!(!joined);
    assert_eq!(again.id, m.id);
    m.id
}

fn earn(member: i64, amount: i64, key: &str) -> NewEntry {
    NewEntry {
        member_id: member,
        kind: EntryKind::Earn,
        amount,
        reason: "a test".into(),
        source: "test".into(),
        actor: "test".into(),
        idempotency_key: key.into(),
        redemption_id: None,
        reverses: None,
    }
}

async fn fifty_concurrent_awards_with_one_key_make_one_entry(db: &TestDb) {
    let store = Arc::new(db.store.clone());
    let m = member(&store, 1).await;
    let mut handles = Vec::new();
    for _ in 0..50 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store
                .add_entry(&earn(m, 100, "award:launch-week"), Utc::now())
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut new = 0;
    let mut ids = std::collections::BTreeSet::new();
    for h in handles {
        let (entry, created) = h.await.unwrap();
        new += usize::from(created);
        ids.insert(entry.id);
    }
    assert_eq!(new, 1, "exactly one call wrote the entry");
    assert_eq!(ids.len(), 1, "every call answers the same entry");
    assert_eq!(store.ledger(m, None, 100).await.unwrap().len(), 1);
    assert_eq!(store.balance(m).await.unwrap().spendable, 100);
}

async fn twenty_concurrent_redemptions_against_five_succeed_five_times(db: &TestDb) {
    let store = Arc::new(db.store.clone());
    let m = member(&store, 2).await;
    store
        .add_entry(&earn(m, 500, "seed"), Utc::now())
        .await
        .unwrap()
        .unwrap();
    let reward = store
        .add_reward(
            &NewReward {
                name: "Sticker pack".into(),
                kind: RewardKind::Swag,
                points: 100,
                stock: None,
                min_tier: None,
                per_member_limit: None,
                fulfilment: Fulfilment::Manual,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store
                .request_redemption(
                    m,
                    reward.id,
                    |check| {
                        if check.member.points.spendable < check.reward.points {
                            Err("insufficient_points")
                        } else {
                            Ok(RedemptionState::PendingApproval)
                        }
                    },
                    Utc::now(),
                )
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut granted = 0;
    for h in handles {
        if h.await.unwrap().is_ok() {
            granted += 1;
        }
    }
    assert_eq!(granted, 5);
    let balance = store.balance(m).await.unwrap();
    assert_eq!((balance.spendable, balance.lifetime), (0, 500));
    // Never negative along the way: every prefix of the ledger is ≥ 0.
    let mut entries = store.ledger(m, None, 100).await.unwrap();
    entries.reverse();
    let mut running = 0;
    for e in &entries {
        running += e.amount;
        assert!(running >= 0, "{entries:?}");
    }
}

async fn the_ledger_refuses_update_and_delete(db: &TestDb) {
    let m = member(&db.store, 3).await;
    db.store
        .add_entry(&earn(m, 50, "k"), Utc::now())
        .await
        .unwrap()
        .unwrap();
    for sql in [
        "UPDATE points_ledger SET amount = 5000",
        "DELETE FROM points_ledger",
    ] {
        let refused = super::execute_raw(db, sql).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
    assert_eq!(db.store.balance(m).await.unwrap().spendable, 50);
    // A correction is a new entry; a wrong sign is refused before the database.
    let refused = db
        .store
        .add_entry(
            &NewEntry {
                kind: EntryKind::Hold,
                ..earn(m, 10, "bad")
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(refused.is_err());
    let overdraw = db
        .store
        .add_entry(
            &NewEntry {
                kind: EntryKind::Adjust,
                ..earn(m, -80, "overdraw")
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(matches!(
        overdraw,
        Err(vouch_store::LedgerRefusal::InsufficientPoints { .. })
    ));
}

async fn balances_always_equal_the_sum_of_their_entries(db: &TestDb) {
    let kinds = proptest::sample::select(vec![
        EntryKind::Earn,
        EntryKind::Adjust,
        EntryKind::Reverse,
        EntryKind::Hold,
        EntryKind::Release,
        EntryKind::Expire,
    ]);
    let strategy = proptest::collection::vec((kinds, 1i64..1_000, proptest::bool::ANY), 1..30);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for case in 0..12 {
        let entries = strategy.new_tree(&mut runner).unwrap().current();
        let m = member(&db.store, 100 + case).await;
        for (i, (kind, size, negative)) in entries.into_iter().enumerate() {
            let amount = match kind {
                EntryKind::Earn | EntryKind::Release => size,
                EntryKind::Hold | EntryKind::Expire => -size,
                _ if negative => -size,
                _ => size,
            };
            let entry = NewEntry {
                kind,
                ..earn(m, amount, &format!("case{case}:{i}"))
            };
            // Refusals (an overdraw) write nothing, which the sums must show too.
            let _ = db.store.add_entry(&entry, Utc::now()).await.unwrap();
        }
        let ledger = db.store.ledger(m, None, 1_000).await.unwrap();
        let balance = db.store.balance(m).await.unwrap();
        assert_eq!(
            balance.spendable,
            ledger.iter().map(|e| e.amount).sum::<i64>()
        );
        let lifetime: i64 = ledger
            .iter()
            .filter(|e| e.kind.parse::<EntryKind>().unwrap().counts_for_lifetime())
            .map(|e| e.amount)
            .sum();
        assert_eq!(balance.lifetime, lifetime);
        if ledger.iter().all(|e| e.kind != "reverse") {
            assert!(balance.spendable >= 0, "only a reversal may overdraw");
        }
        let listed = db.store.members(None, None, 500).await.unwrap();
        assert_eq!(listed.iter().find(|x| x.id == m).unwrap().points, balance);
    }
}

async fn banning_a_member_voids_their_pending_redemptions(db: &TestDb) {
    let store = &db.store;
    let m = member(store, 4).await;
    store
        .add_entry(&earn(m, 300, "seed"), Utc::now())
        .await
        .unwrap()
        .unwrap();
    let reward = store
        .add_reward(
            &NewReward {
                name: "Hoodie".into(),
                kind: RewardKind::Swag,
                points: 200,
                stock: Some(1),
                min_tier: None,
                per_member_limit: None,
                fulfilment: Fulfilment::Manual,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let r = store
        .request_redemption::<()>(
            m,
            reward.id,
            |_| Ok(RedemptionState::PendingApproval),
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        store.reward(reward.id).await.unwrap().unwrap().stock,
        Some(0)
    );
    assert_eq!(store.balance(m).await.unwrap().spendable, 100);
    let banned = store
        .set_member_status(m, MemberStatus::Banned, "staff@acme.example", Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(banned.status, MemberStatus::Banned);
    let after = store.redemption(r.id).await.unwrap().unwrap();
    assert_eq!(after.state, "refused");
    assert_eq!(
        store.balance(m).await.unwrap().spendable,
        300,
        "the hold is released"
    );
    assert_eq!(
        store.reward(reward.id).await.unwrap().unwrap().stock,
        Some(1),
        "the stock comes back"
    );
    // A fulfilled redemption spends: release + redeem.
    store
        .set_member_status(m, MemberStatus::Active, "staff@acme.example", Utc::now())
        .await
        .unwrap();
    let r = store
        .request_redemption::<()>(m, reward.id, |_| Ok(RedemptionState::Approved), Utc::now())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let done = store
        .move_redemption(
            r.id,
            RedemptionState::Fulfilled,
            None,
            "staff@acme.example",
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(done.state, "fulfilled");
    let b = store.balance(m).await.unwrap();
    assert_eq!((b.spendable, b.lifetime), (100, 300));
    // Fulfilled is final.
    assert!(
        store
            .move_redemption(r.id, RedemptionState::Cancelled, None, "x", Utc::now())
            .await
            .unwrap()
            .unwrap()
            .is_err()
    );
    let _ = CustomerId(0);
}
