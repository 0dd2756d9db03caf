//! The advocate program's records: members, the append-only points ledger
//! (the database refuses UPDATE and DELETE on it), rewards and their
//! redemptions, and referral links, clicks and conversions. Every change
//! is an event in the same transaction. A member's row is the lock that
//! keeps concurrent redemptions from spending the same points twice.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vouch_domain::program::referrals::{ReferralStatus, Signal};
use vouch_domain::program::{
    Balance, EntryKind, Fulfilment, JoinedBy, MemberStatus, RedemptionState, RewardKind,
};
use vouch_domain::{CustomerId, DomainEvent};

use crate::codes::claim_code;
use crate::events::append_events;
use crate::store::{BeginWrite, on_backend};
use crate::{Result, Store, StoreError};

/// A program member as kept, with the balance derived from their ledger.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub status: MemberStatus,
    pub joined_by: JoinedBy,
    pub trusted: bool,
    pub terms_version: Option<String>,
    pub terms_accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub points: Balance,
    /// Badges held (some tiers are reached by badges).
    pub badges: u32,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    customer_id: Option<i64>,
    status: String,
    joined_by: String,
    trusted: bool,
    terms_version: Option<String>,
    terms_accepted_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    badges: i64,
}

const MEMBER_COLUMNS: &str = "id, customer_id, status, joined_by, trusted, terms_version, terms_accepted_at, created_at, \
    (SELECT COUNT(*) FROM member_badges b WHERE b.member_id = program_members.id) AS badges";

impl MemberRow {
    fn into_member(self, points: Balance) -> Result<Member> {
        Ok(Member {
            id: self.id,
            customer_id: self.customer_id,
            status: self
                .status
                .parse()
                .map_err(|e| StoreError::corrupt("member status", e))?,
            joined_by: self
                .joined_by
                .parse()
                .map_err(|e| StoreError::corrupt("member's way of joining", e))?,
            trusted: self.trusted,
            terms_version: self.terms_version,
            terms_accepted_at: self.terms_accepted_at,
            created_at: self.created_at,
            points,
            badges: self.badges as u32,
        })
    }
}

/// An entry to write to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub member_id: i64,
    pub kind: EntryKind,
    pub amount: i64,
    pub reason: String,
    /// What it came from: `api`, `playbook`, `referral`, `redemption`, `staff`…
    pub source: String,
    /// Who wrote it: a staff email, a token's name, `vouch`.
    pub actor: String,
    /// Unique: a second entry with the key is the first one, returned.
    pub idempotency_key: String,
    pub redemption_id: Option<i64>,
    pub reverses: Option<i64>,
}

/// A ledger entry as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: i64,
    pub member_id: i64,
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub source: String,
    pub actor: String,
    pub idempotency_key: String,
    pub redemption_id: Option<i64>,
    pub reverses: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const ENTRY_COLUMNS: &str = "id, member_id, kind, amount, reason, source, actor, idempotency_key, redemption_id, reverses, created_at";

/// Why the ledger did not take an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerRefusal {
    #[error("a {kind} entry cannot have the amount {amount}")]
    WrongSign { kind: EntryKind, amount: i64 },
    #[error("{needed} points are needed and {spendable} are spendable")]
    InsufficientPoints { needed: i64, spendable: i64 },
    #[error("no member {0}")]
    NoMember(i64),
}

/// A reward in the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Reward {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub points: i64,
    /// None: unlimited.
    pub stock: Option<i64>,
    pub min_tier: Option<String>,
    pub per_member_limit: Option<i32>,
    pub fulfilment: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

const REWARD_COLUMNS: &str =
    "id, name, kind, points, stock, min_tier, per_member_limit, fulfilment, active, created_at";

/// A reward to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReward {
    pub name: String,
    pub kind: RewardKind,
    pub points: i64,
    pub stock: Option<i64>,
    pub min_tier: Option<String>,
    pub per_member_limit: Option<i32>,
    pub fulfilment: Fulfilment,
}

/// A redemption as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Redemption {
    pub id: i64,
    pub member_id: i64,
    pub reward_id: i64,
    pub points: i64,
    pub state: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const REDEMPTION_COLUMNS: &str =
    "id, member_id, reward_id, points, state, reason, decided_by, created_at, updated_at";

/// What the store knows when a member asks for a reward: the use case
/// (vouch-app) decides with it, inside the member's lock.
#[derive(Debug, Clone, PartialEq)]
pub struct RedemptionCheck {
    pub member: Member,
    pub reward: Reward,
    /// The member's redemptions of this reward not refused or cancelled.
    pub had: u32,
}

/// A referral link.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ReferralLink {
    pub id: i64,
    pub member_id: i64,
    pub code: String,
    pub vanity: bool,
    pub click_cap: Option<i64>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

const LINK_COLUMNS: &str = "id, member_id, code, vanity, click_cap, disabled, created_at";

/// A click to record: hashes only.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewClick {
    pub click_key: String,
    pub ip_hash: Option<String>,
    pub agent_hash: Option<String>,
    pub cookie_hash: Option<String>,
    pub referring_domain: Option<String>,
}

/// A click as kept.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ReferralClick {
    pub id: i64,
    pub link_id: i64,
    pub click_key: String,
    #[serde(skip)]
    pub ip_hash: Option<String>,
    #[serde(skip)]
    pub agent_hash: Option<String>,
    #[serde(skip)]
    pub cookie_hash: Option<String>,
    pub referring_domain: Option<String>,
    pub at: DateTime<Utc>,
}

const CLICK_COLUMNS: &str =
    "id, link_id, click_key, ip_hash, agent_hash, cookie_hash, referring_domain, at";

/// A conversion to record, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReferral {
    pub link_id: i64,
    pub member_id: i64,
    pub click_id: Option<i64>,
    pub external_order_id: String,
    pub value_cents: i64,
    pub currency: String,
    pub friend_email: Option<String>,
    pub friend_key: Option<String>,
    pub friend_customer_id: Option<CustomerId>,
    pub status: ReferralStatus,
    pub signals: Vec<Signal>,
    /// Why a clean referral earns nothing (under the minimum, allowance used).
    pub withheld: Option<String>,
    pub review_due: Option<DateTime<Utc>>,
    pub pays_at: Option<DateTime<Utc>>,
    /// Points to earn now (an approved, rewarded referral).
    pub earn: Option<i64>,
}

/// A referral as kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Referral {
    pub id: i64,
    pub link_id: i64,
    pub member_id: i64,
    pub click_id: Option<i64>,
    pub external_order_id: String,
    pub value_cents: i64,
    pub currency: String,
    #[serde(skip)]
    pub friend_email: Option<String>,
    pub friend_customer_id: Option<i64>,
    pub status: String,
    pub signals: Vec<Signal>,
    pub withheld: Option<String>,
    pub review_due: Option<DateTime<Utc>>,
    pub pays_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReferralRow {
    id: i64,
    link_id: i64,
    member_id: i64,
    click_id: Option<i64>,
    external_order_id: String,
    value_cents: i64,
    currency: String,
    friend_email: Option<String>,
    friend_customer_id: Option<i64>,
    status: String,
    signals: String,
    withheld: Option<String>,
    review_due: Option<DateTime<Utc>>,
    pays_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    created_at: DateTime<Utc>,
}

impl ReferralRow {
    fn into_referral(self) -> Result<Referral> {
        Ok(Referral {
            signals: serde_json::from_str(&self.signals)
                .map_err(|e| StoreError::corrupt("referral signals", e))?,
            id: self.id,
            link_id: self.link_id,
            member_id: self.member_id,
            click_id: self.click_id,
            external_order_id: self.external_order_id,
            value_cents: self.value_cents,
            currency: self.currency,
            friend_email: self.friend_email,
            friend_customer_id: self.friend_customer_id,
            status: self.status,
            withheld: self.withheld,
            review_due: self.review_due,
            pays_at: self.pays_at,
            decided_by: self.decided_by,
            created_at: self.created_at,
        })
    }
}

const REFERRAL_COLUMNS: &str = "id, link_id, member_id, click_id, external_order_id, value_cents, currency, friend_email, friend_customer_id, status, signals, withheld, review_due, pays_at, decided_by, created_at";

/// A referral's move: from one of `from` to `to`, paying `earn` points,
/// or taking back what it paid (`reverse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub from: Vec<ReferralStatus>,
    pub to: ReferralStatus,
    pub earn: Option<i64>,
    pub reverse: bool,
}

/// Which referrals to list.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub status: Option<ReferralStatus>,
    pub member: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// Locks member `$id`'s row for the rest of transaction `$tx` (PostgreSQL
/// takes a row lock; SQLite's write transaction already holds the
/// database): concurrent spends of one member's points run one by one.
/// Yields whether the member exists.
macro_rules! lock_member {
    ($tx:expr, $id:expr) => {
        async {
            let n = sqlx::query("UPDATE program_members SET updated_at = updated_at WHERE id = $1")
                .bind($id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            Ok::<bool, $crate::StoreError>(n == 1)
        }
    };
}

/// A member's sums by entry kind; `balance_of` makes them a balance.
const BALANCE_SQL: &str = "SELECT kind, CAST(SUM(amount) AS BIGINT) FROM points_ledger WHERE member_id = $1 GROUP BY kind";

fn balance_of(sums: Vec<(String, i64)>) -> Balance {
    Balance::of(
        sums.into_iter()
            .filter_map(|(k, a)| k.parse::<EntryKind>().ok().map(|k| (k, a))),
    )
}

/// Member `$id`'s balance, read inside `$tx`.
macro_rules! balance_in {
    ($tx:expr, $id:expr) => {
        async {
            let rows: Vec<(String, i64)> = sqlx::query_as(BALANCE_SQL)
                .bind($id)
                .fetch_all(&mut *$tx)
                .await?;
            Ok::<Balance, $crate::StoreError>(balance_of(rows))
        }
    };
}

/// Writes `$entry` inside `$tx` unless its key is taken; yields the entry
/// (new or the one with the key) and whether it is new, and queues its
/// event in `$events`.
macro_rules! insert_entry {
    ($tx:expr, $entry:expr, $customer:expr, $now:expr, $events:expr) => {
        async {
            let e: &NewEntry = $entry;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO points_ledger (member_id, kind, amount, reason, source, actor, idempotency_key, redemption_id, reverses, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(e.member_id)
            .bind(e.kind.as_str())
            .bind(e.amount)
            .bind(&e.reason)
            .bind(&e.source)
            .bind(&e.actor)
            .bind(&e.idempotency_key)
            .bind(e.redemption_id)
            .bind(e.reverses)
            .bind($now)
            .fetch_optional(&mut *$tx)
            .await?;
            let entry: LedgerEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ENTRY_COLUMNS} FROM points_ledger WHERE idempotency_key = $1"
            )))
            .bind(&e.idempotency_key)
            .fetch_one(&mut *$tx)
            .await?;
            if id.is_some() {
                $events.push(DomainEvent::PointsChanged {
                    member_id: e.member_id,
                    customer_id: $customer,
                    entry_id: entry.id,
                    kind: e.kind.as_str().to_owned(),
                    amount: e.amount,
                    reason: e.reason.clone(),
                });
            }
            Ok::<(LedgerEntry, bool), $crate::StoreError>((entry, id.is_some()))
        }
    };
}

/// Member `$id`'s customer, inside `$tx` (for the events).
macro_rules! customer_of_member {
    ($tx:expr, $id:expr) => {
        async {
            let c: Option<Option<i64>> =
                sqlx::query_scalar("SELECT customer_id FROM program_members WHERE id = $1")
                    .bind($id)
                    .fetch_optional(&mut *$tx)
                    .await?;
            Ok::<Option<CustomerId>, $crate::StoreError>(c.flatten().map(CustomerId))
        }
    };
}

/// Ends redemption `$r` in `$tx` as `$next` (fulfilled, refused or
/// cancelled): the hold is released, a fulfilment redeems the points,
/// and an ending that is not a fulfilment gives back the stock set aside.
macro_rules! end_redemption {
    ($tx:expr, $r:expr, $next:expr, $reason:expr, $actor:expr, $customer:expr, $now:expr, $events:expr) => {
        async {
            let r: &Redemption = $r;
            let next: RedemptionState = $next;
            sqlx::query("UPDATE redemptions SET state = $2, reason = COALESCE($3, reason), decided_by = $4, updated_at = $5 WHERE id = $1")
                .bind(r.id).bind(next.as_str()).bind($reason).bind($actor).bind($now).execute(&mut *$tx).await?;
            if next != RedemptionState::Fulfilled {
                sqlx::query("UPDATE rewards SET stock = stock + 1 WHERE stock IS NOT NULL AND id = $1 AND \
                    EXISTS (SELECT 1 FROM redemptions WHERE id = $2 AND stock_reserved = TRUE)")
                    .bind(r.reward_id).bind(r.id).execute(&mut *$tx).await?;
            }
            $events.push(DomainEvent::RedemptionChanged {
                redemption_id: r.id,
                member_id: r.member_id,
                customer_id: $customer,
                reward_id: r.reward_id,
                state: next.as_str().to_owned(),
            });
            let release = NewEntry {
                member_id: r.member_id,
                kind: EntryKind::Release,
                amount: r.points,
                reason: format!("hold of redemption {} released", r.id),
                source: "redemption".into(),
                actor: $actor.to_owned(),
                idempotency_key: format!("redemption:{}:release", r.id),
                redemption_id: Some(r.id),
                reverses: None,
            };
            insert_entry!($tx, &release, $customer, $now, $events).await?;
            if next == RedemptionState::Fulfilled {
                let redeem = NewEntry {
                    member_id: r.member_id,
                    kind: EntryKind::Redeem,
                    amount: -r.points,
                    reason: format!("redemption {}", r.id),
                    source: "redemption".into(),
                    actor: $actor.to_owned(),
                    idempotency_key: format!("redemption:{}:redeem", r.id),
                    redemption_id: Some(r.id),
                    reverses: None,
                };
                insert_entry!($tx, &redeem, $customer, $now, $events).await?;
            }
            Ok::<(), $crate::StoreError>(())
        }
    };
}

impl Store {
    /// Adds `customer` to the program, or finds them there: `(member,
    /// true)` when they joined now (`program.member_joined`).
    pub async fn add_member(
        &self,
        customer: CustomerId,
        joined_by: JoinedBy,
        terms_version: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Member, bool)> {
        let joined = on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO program_members (customer_id, status, joined_by, trusted, terms_version, terms_accepted_at, created_at, updated_at) \
                 VALUES ($1, 'active', $2, $3, $4, $5, $6, $6) ON CONFLICT (customer_id) DO NOTHING RETURNING id",
            )
            .bind(customer.0).bind(joined_by.as_str()).bind(joined_by.trusted()).bind(terms_version)
            .bind(terms_version.map(|_| now)).bind(now)
            .fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                let event = DomainEvent::MemberJoined {
                    member_id: id,
                    customer_id: customer,
                    joined_by: joined_by.as_str().to_owned(),
                    trusted: joined_by.trusted(),
                };
                append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            }
            tx.commit().await?;
            id.is_some()
        });
        let member =
            self.member_of_customer(customer)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "member",
                    key: customer.to_string(),
                })?;
        Ok((member, joined))
    }

    pub async fn member(&self, id: i64) -> Result<Option<Member>> {
        self.member_where("id", id).await
    }

    pub async fn member_of_customer(&self, customer: CustomerId) -> Result<Option<Member>> {
        self.member_where("customer_id", customer.0).await
    }

    /// The member whose `column` (a name written here) is `value`, with their balance.
    async fn member_where(&self, column: &'static str, value: i64) -> Result<Option<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM program_members WHERE {column} = $1");
        let row: Option<MemberRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(pool).await)?;
        match row {
            Some(row) => {
                let points = self.balance(row.id).await?;
                Ok(Some(row.into_member(points)?))
            }
            None => Ok(None),
        }
    }

    /// Members, newest first, paged by id; optionally of one status.
    pub async fn members(
        &self,
        status: Option<MemberStatus>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Member>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM program_members WHERE id < $1 AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3"
        );
        let rows: Vec<MemberRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(before.unwrap_or(i64::MAX)).bind(status.map(|s| s.as_str())).bind(i64::from(limit))
            .fetch_all(pool).await)?;
        let balances = self
            .balances(&rows.iter().map(|r| r.id).collect::<Vec<_>>())
            .await?;
        rows.into_iter()
            .map(|r| {
                let points = balances.get(&r.id).copied().unwrap_or_default();
                r.into_member(points)
            })
            .collect()
    }

    /// How many members there are in each status.
    pub async fn count_members(&self) -> Result<Vec<(String, i64)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT status, COUNT(*) FROM program_members GROUP BY status ORDER BY status")
            .fetch_all(pool).await)?)
    }

    /// Records that the member accepted terms `version` now.
    pub async fn accept_terms(
        &self,
        member: i64,
        version: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_backend!(self, pool => sqlx::query(
            "UPDATE program_members SET terms_version = $2, terms_accepted_at = $3, updated_at = $3 WHERE id = $1")
            .bind(member).bind(version).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Changes a member's status (`program.member_changed`). Banning voids
    /// their pending redemptions: each is refused and its hold released,
    /// in the same transaction. None: no such member.
    pub async fn set_member_status(
        &self,
        member: i64,
        status: MemberStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Member>> {
        let found = on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !lock_member!(tx, member).await? {
                tx.rollback().await?;
                return Ok(None);
            }
            let customer = customer_of_member!(tx, member).await?;
            sqlx::query("UPDATE program_members SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(member).bind(status.as_str()).bind(now).execute(&mut *tx).await?;
            let mut events = vec![DomainEvent::MemberChanged {
                member_id: member,
                customer_id: customer,
                status: status.as_str().to_owned(),
            }];
            if status == MemberStatus::Banned {
                let pending: Vec<Redemption> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {REDEMPTION_COLUMNS} FROM redemptions WHERE member_id = $1 AND state NOT IN ('fulfilled', 'refused', 'cancelled')")))
                    .bind(member).fetch_all(&mut *tx).await?;
                for r in pending {
                    end_redemption!(tx, &r, RedemptionState::Refused, Some("the member was banned"), actor, customer, now, events).await?;
                }
            }
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            true
        });
        if found {
            self.member(member).await
        } else {
            Ok(None)
        }
    }

    /// A member's balance, from the ledger.
    pub async fn balance(&self, member: i64) -> Result<Balance> {
        let rows: Vec<(String, i64)> = on_backend!(self, pool =>
            sqlx::query_as(BALANCE_SQL).bind(member).fetch_all(pool).await)?;
        Ok(balance_of(rows))
    }

    /// Several members' balances at once.
    pub async fn balances(
        &self,
        members: &[i64],
    ) -> Result<std::collections::HashMap<i64, Balance>> {
        let mut out: std::collections::HashMap<i64, Vec<(EntryKind, i64)>> = Default::default();
        for chunk in members.chunks(500) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            // Ids are integers formatted here, never text from outside.
            let sql = format!(
                "SELECT member_id, kind, CAST(SUM(amount) AS BIGINT) FROM points_ledger WHERE member_id IN ({list}) GROUP BY member_id, kind"
            );
            let rows: Vec<(i64, String, i64)> = on_backend!(self, pool =>
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
            for (m, k, a) in rows {
                if let Ok(k) = k.parse() {
                    out.entry(m).or_default().push((k, a));
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(m, entries)| (m, Balance::of(entries)))
            .collect())
    }

    /// Writes a ledger entry, once per idempotency key: `Ok((entry, true))`
    /// for a new one, `(the existing entry, false)` when the key was seen.
    /// An entry that takes points away (other than a reversal) may not
    /// make the spendable balance negative.
    pub async fn add_entry(
        &self,
        entry: &NewEntry,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(LedgerEntry, bool), LedgerRefusal>> {
        if !entry.kind.sign_fits(entry.amount) {
            return Ok(Err(LedgerRefusal::WrongSign {
                kind: entry.kind,
                amount: entry.amount,
            }));
        }
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !lock_member!(tx, entry.member_id).await? {
                tx.rollback().await?;
                return Ok(Err(LedgerRefusal::NoMember(entry.member_id)));
            }
            let existing: Option<LedgerEntry> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ENTRY_COLUMNS} FROM points_ledger WHERE idempotency_key = $1")))
                .bind(&entry.idempotency_key).fetch_optional(&mut *tx).await?;
            if let Some(existing) = existing {
                tx.rollback().await?;
                return Ok(Ok((existing, false)));
            }
            if entry.amount < 0 && entry.kind != EntryKind::Reverse {
                let balance = balance_in!(tx, entry.member_id).await?;
                if balance.spendable + entry.amount < 0 {
                    tx.rollback().await?;
                    return Ok(Err(LedgerRefusal::InsufficientPoints {
                        needed: -entry.amount,
                        spendable: balance.spendable,
                    }));
                }
            }
            let customer = customer_of_member!(tx, entry.member_id).await?;
            let mut events = Vec::new();
            let written = insert_entry!(tx, entry, customer, now, events).await?;
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(Ok(written))
        })
    }

    /// For point expiry, per member with points: `(member, earned before
    /// the cut-off, used in all)`; used is what left the ledger for good
    /// (redeemed, expired, negative corrections and reversals).
    pub async fn expiry_inputs(&self, cutoff: DateTime<Utc>) -> Result<Vec<(i64, i64, i64)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT member_id, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'earn' AND created_at < $1 THEN amount ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(-SUM(CASE WHEN kind IN ('redeem', 'expire') OR (kind IN ('adjust', 'reverse') AND amount < 0) THEN amount ELSE 0 END), 0) AS BIGINT) \
             FROM points_ledger GROUP BY member_id")
            .bind(cutoff).fetch_all(pool).await)?)
    }

    /// The entry with `key`, if any.
    pub async fn entry_by_key(&self, key: &str) -> Result<Option<LedgerEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM points_ledger WHERE idempotency_key = $1");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(pool).await)?)
    }

    /// A member's ledger, newest first, paged by id.
    pub async fn ledger(
        &self,
        member: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM points_ledger WHERE member_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(member).bind(before.unwrap_or(i64::MAX)).bind(i64::from(limit)).fetch_all(pool).await)?,
        )
    }

    /// Points earned per member since `from` (all time: none), for
    /// leaderboards: `(member, points, last earning entry's time)`.
    pub async fn standings(
        &self,
        from: Option<DateTime<Utc>>,
    ) -> Result<Vec<(i64, i64, DateTime<Utc>)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT l.member_id, CAST(SUM(l.amount) AS BIGINT), MAX(l.created_at) FROM points_ledger l \
             JOIN program_members m ON m.id = l.member_id AND m.status = 'active' \
             WHERE l.kind IN ('earn', 'reverse', 'adjust') AND ($1 IS NULL OR l.created_at >= $1) GROUP BY l.member_id")
            .bind(from).fetch_all(pool).await)?)
    }

    pub async fn add_reward(&self, reward: &NewReward, now: DateTime<Utc>) -> Result<Reward> {
        let sql = format!(
            "INSERT INTO rewards (name, kind, points, stock, min_tier, per_member_limit, fulfilment, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {REWARD_COLUMNS}"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&reward.name).bind(reward.kind.as_str()).bind(reward.points).bind(reward.stock)
            .bind(reward.min_tier.as_deref()).bind(reward.per_member_limit).bind(reward.fulfilment.as_str())
            .bind(true).bind(now).fetch_one(pool).await)?,
        )
    }

    pub async fn reward(&self, id: i64) -> Result<Option<Reward>> {
        let sql = format!("SELECT {REWARD_COLUMNS} FROM rewards WHERE id = $1");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?)
    }

    /// The catalogue, cheapest first.
    pub async fn rewards(&self, active_only: bool) -> Result<Vec<Reward>> {
        let sql = format!(
            "SELECT {REWARD_COLUMNS} FROM rewards WHERE ($1 = FALSE OR active = TRUE) ORDER BY points, id"
        );
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(active_only).fetch_all(pool).await)?)
    }

    /// Withdraws a reward from the catalogue, or offers it again; adds stock.
    pub async fn change_reward(
        &self,
        id: i64,
        active: Option<bool>,
        add_stock: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reward>> {
        on_backend!(self, pool => sqlx::query(
            "UPDATE rewards SET active = COALESCE($2, active), stock = CASE WHEN stock IS NULL OR $3 IS NULL THEN stock ELSE stock + $3 END, updated_at = $4 WHERE id = $1")
            .bind(id).bind(active).bind(add_stock).bind(now).execute(pool).await.map(|_| ()))?;
        self.reward(id).await
    }

    /// A member's request for a reward: `decide` (the use case's rules)
    /// reads what the store knows under the member's lock and answers
    /// the first state, or a refusal. On a state, the redemption is
    /// written, its points held and a unit of stock set aside (when there
    /// is one), all in one transaction.
    pub async fn request_redemption<R>(
        &self,
        member: i64,
        reward: i64,
        decide: impl FnOnce(&RedemptionCheck) -> std::result::Result<RedemptionState, R> + Send,
        now: DateTime<Utc>,
    ) -> Result<Option<std::result::Result<Redemption, R>>>
    where
        R: Send,
    {
        let member_sql = format!("SELECT {MEMBER_COLUMNS} FROM program_members WHERE id = $1");
        let reward_sql = format!("SELECT {REWARD_COLUMNS} FROM rewards WHERE id = $1");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !lock_member!(tx, member).await? {
                tx.rollback().await?;
                return Ok(None);
            }
            let row: MemberRow = sqlx::query_as(sqlx::AssertSqlSafe(member_sql)).bind(member).fetch_one(&mut *tx).await?;
            let Some(reward_row): Option<Reward> = sqlx::query_as(sqlx::AssertSqlSafe(reward_sql)).bind(reward).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Ok(None);
            };
            let points = balance_in!(tx, member).await?;
            let had: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM redemptions WHERE member_id = $1 AND reward_id = $2 AND state NOT IN ('refused', 'cancelled')")
                .bind(member).bind(reward).fetch_one(&mut *tx).await?;
            let check = RedemptionCheck { member: row.into_member(points)?, reward: reward_row, had: had as u32 };
            let state = match decide(&check) {
                Ok(state) => state,
                Err(refusal) => {
                    tx.rollback().await?;
                    return Ok(Some(Err(refusal)));
                }
            };
            let reserved = match check.reward.stock {
                None => false,
                Some(_) => sqlx::query("UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0")
                    .bind(reward).execute(&mut *tx).await?.rows_affected() == 1,
            };
            let sql = format!("INSERT INTO redemptions (member_id, reward_id, points, state, stock_reserved, created_at, updated_at) \
                VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {REDEMPTION_COLUMNS}");
            let redemption: Redemption = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(member).bind(reward).bind(check.reward.points).bind(state.as_str()).bind(reserved).bind(now)
                .fetch_one(&mut *tx).await?;
            let customer = check.member.customer_id.map(CustomerId);
            let mut events = vec![DomainEvent::RedemptionChanged {
                redemption_id: redemption.id,
                member_id: member,
                customer_id: customer,
                reward_id: reward,
                state: state.as_str().to_owned(),
            }];
            let hold = NewEntry {
                member_id: member,
                kind: EntryKind::Hold,
                amount: -check.reward.points,
                reason: format!("held for {}", check.reward.name),
                source: "redemption".into(),
                actor: "vouch".into(),
                idempotency_key: format!("redemption:{}:hold", redemption.id),
                redemption_id: Some(redemption.id),
                reverses: None,
            };
            insert_entry!(tx, &hold, customer, now, events).await?;
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(Some(Ok(redemption)))
        })
    }

    pub async fn redemption(&self, id: i64) -> Result<Option<Redemption>> {
        let sql = format!("SELECT {REDEMPTION_COLUMNS} FROM redemptions WHERE id = $1");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?)
    }

    /// Redemptions, newest first, paged by id: one member's, or in one state.
    pub async fn redemptions(
        &self,
        member: Option<i64>,
        state: Option<RedemptionState>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Redemption>> {
        let sql = format!(
            "SELECT {REDEMPTION_COLUMNS} FROM redemptions WHERE id < $1 AND ($2 IS NULL OR member_id = $2) AND ($3 IS NULL OR state = $3) ORDER BY id DESC LIMIT $4"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(before.unwrap_or(i64::MAX)).bind(member).bind(state.map(|s| s.as_str())).bind(i64::from(limit))
            .fetch_all(pool).await)?,
        )
    }

    /// Moves a redemption on. Fulfilment redeems the held points (a
    /// release and a redemption entry); a refusal or cancellation
    /// releases them and gives back the stock it set aside. `Err` with
    /// the state it is in when the move is not allowed; None: no such
    /// redemption.
    pub async fn move_redemption(
        &self,
        id: i64,
        next: RedemptionState,
        reason: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<std::result::Result<Redemption, RedemptionState>>> {
        let sql = format!("SELECT {REDEMPTION_COLUMNS} FROM redemptions WHERE id = $1");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(r): Option<Redemption> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Ok(None);
            };
            lock_member!(tx, r.member_id).await?;
            let state: RedemptionState = r.state.parse().map_err(|e| StoreError::corrupt("redemption state", e))?;
            if state == next {
                tx.rollback().await?;
                return Ok(Some(Ok(r)));
            }
            if !state.can_become(next) {
                tx.rollback().await?;
                return Ok(Some(Err(state)));
            }
            if next == RedemptionState::Fulfilled {
                // A gift code's redemption is fulfilled with one of its codes, or not at all.
                let kind: String = sqlx::query_scalar("SELECT kind FROM rewards WHERE id = $1").bind(r.reward_id).fetch_one(&mut *tx).await?;
                if kind == RewardKind::GiftCode.as_str() {
                    if claim_code!(tx, r.reward_id, "redemption_id", id, now).await?.is_none() {
                        tx.rollback().await?;
                        return Ok(Some(Err(state)));
                    }
                    // Its stock is its free codes: one unit was set aside, or is taken now.
                    sqlx::query("UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0 AND \
                        EXISTS (SELECT 1 FROM redemptions WHERE id = $2 AND stock_reserved = FALSE)")
                        .bind(r.reward_id).bind(id).execute(&mut *tx).await?;
                    sqlx::query("UPDATE redemptions SET stock_reserved = TRUE WHERE id = $1").bind(id).execute(&mut *tx).await?;
                }
            }
            let customer = customer_of_member!(tx, r.member_id).await?;
            let mut events = Vec::new();
            if next.is_final() {
                end_redemption!(tx, &r, next, reason, actor, customer, now, events).await?;
            } else {
                if next == RedemptionState::Approved && state == RedemptionState::Backordered {
                    // Out of stock when asked for: take a unit now, if one came in.
                    sqlx::query("UPDATE redemptions SET stock_reserved = TRUE WHERE id = $1 AND stock_reserved = FALSE AND \
                        EXISTS (SELECT 1 FROM rewards WHERE id = $2 AND (stock IS NULL OR stock > 0))")
                        .bind(id).bind(r.reward_id).execute(&mut *tx).await?;
                    sqlx::query("UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0").bind(r.reward_id).execute(&mut *tx).await?;
                }
                sqlx::query("UPDATE redemptions SET state = $2, reason = COALESCE($3, reason), decided_by = $4, updated_at = $5 WHERE id = $1")
                    .bind(id).bind(next.as_str()).bind(reason).bind(actor).bind(now).execute(&mut *tx).await?;
                events.push(DomainEvent::RedemptionChanged {
                    redemption_id: id,
                    member_id: r.member_id,
                    customer_id: customer,
                    reward_id: r.reward_id,
                    state: next.as_str().to_owned(),
                });
            }
            append_events!(self.backend(), tx, &events).await?;
            let after: Redemption = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(Ok(after)))
        })
    }

    /// Adds a referral link; a taken code is a unique violation (the use
    /// case draws another).
    pub async fn add_referral_link(
        &self,
        member: i64,
        code: &str,
        vanity: bool,
        click_cap: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ReferralLink> {
        let sql = format!(
            "INSERT INTO referral_links (member_id, code, vanity, click_cap, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {LINK_COLUMNS}"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(member).bind(code).bind(vanity).bind(click_cap).bind(false).bind(now).fetch_one(pool).await)?,
        )
    }

    pub async fn referral_link(&self, code: &str) -> Result<Option<ReferralLink>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM referral_links WHERE code = $1");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(pool).await)?)
    }

    pub async fn referral_link_by_id(&self, id: i64) -> Result<Option<ReferralLink>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM referral_links WHERE id = $1");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?)
    }

    /// How many times members earned points (advocacy actions rewarded).
    pub async fn count_earning_entries(&self) -> Result<i64> {
        Ok(on_backend!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM points_ledger WHERE kind = 'earn'").fetch_one(pool).await)?)
    }

    pub async fn referral_links_of(&self, member: i64) -> Result<Vec<ReferralLink>> {
        let sql =
            format!("SELECT {LINK_COLUMNS} FROM referral_links WHERE member_id = $1 ORDER BY id");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(member).fetch_all(pool).await)?)
    }

    /// Turns a link off or on, or changes its click cap.
    pub async fn change_referral_link(
        &self,
        id: i64,
        disabled: Option<bool>,
        click_cap: Option<Option<i64>>,
    ) -> Result<bool> {
        let n = on_backend!(self, pool => sqlx::query(
            "UPDATE referral_links SET disabled = COALESCE($2, disabled), click_cap = CASE WHEN $3 THEN $4 ELSE click_cap END WHERE id = $1")
            .bind(id).bind(disabled).bind(click_cap.is_some()).bind(click_cap.flatten()).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records a click on `link`, unless the link is off or its cap is
    /// reached: the click, or None.
    pub async fn record_click(
        &self,
        link: &ReferralLink,
        click: &NewClick,
        now: DateTime<Utc>,
    ) -> Result<Option<ReferralClick>> {
        if link.disabled {
            return Ok(None);
        }
        let sql = format!(
            "INSERT INTO referral_clicks (link_id, click_key, ip_hash, agent_hash, cookie_hash, referring_domain, at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $8 IS NULL OR (SELECT COUNT(*) FROM referral_clicks WHERE link_id = $1) < $8 \
             RETURNING {CLICK_COLUMNS}"
        );
        Ok(on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let click: Option<ReferralClick> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(link.id).bind(&click.click_key).bind(click.ip_hash.as_deref()).bind(click.agent_hash.as_deref())
                .bind(click.cookie_hash.as_deref()).bind(click.referring_domain.as_deref()).bind(now).bind(link.click_cap)
                .fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            click
        }))
    }

    pub async fn click_by_key(&self, key: &str) -> Result<Option<ReferralClick>> {
        let sql = format!("SELECT {CLICK_COLUMNS} FROM referral_clicks WHERE click_key = $1");
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(pool).await)?)
    }

    /// Every click a visitor cookie made, on any link.
    pub async fn clicks_by_cookie(&self, cookie_hash: &str) -> Result<Vec<ReferralClick>> {
        let sql = format!(
            "SELECT {CLICK_COLUMNS} FROM referral_clicks WHERE cookie_hash = $1 ORDER BY at, id"
        );
        Ok(on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cookie_hash).fetch_all(pool).await)?)
    }

    /// Clicks and conversions per link of a member: `(link, clicks, conversions)`.
    pub async fn link_counts(&self, member: i64) -> Result<Vec<(i64, i64, i64)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT l.id, (SELECT COUNT(*) FROM referral_clicks c WHERE c.link_id = l.id), \
             (SELECT COUNT(*) FROM referrals r WHERE r.link_id = l.id AND r.status <> 'blocked') \
             FROM referral_links l WHERE l.member_id = $1 ORDER BY l.id")
            .bind(member).fetch_all(pool).await)?)
    }

    /// Records where a member was seen (the portal), for the same-device check.
    pub async fn add_member_device(
        &self,
        member: i64,
        cookie_hash: Option<&str>,
        ip_hash: Option<&str>,
        agent_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO member_devices (member_id, cookie_hash, ip_hash, agent_hash, seen_at) \
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM member_devices WHERE member_id = $1 \
             AND COALESCE(cookie_hash, '') = COALESCE($2, '') AND COALESCE(ip_hash, '') = COALESCE($3, '') AND COALESCE(agent_hash, '') = COALESCE($4, ''))")
            .bind(member).bind(cookie_hash).bind(ip_hash).bind(agent_hash).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Whether the click was made on one of the member's own devices:
    /// `(same cookie, same IP and user agent)`.
    pub async fn seen_on_member_device(
        &self,
        member: i64,
        click: &ReferralClick,
    ) -> Result<(bool, bool)> {
        let (cookie, ip_agent): (i64, i64) = on_backend!(self, pool => sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM member_devices WHERE member_id = $1 AND cookie_hash IS NOT NULL AND cookie_hash = $2), \
             (SELECT COUNT(*) FROM member_devices WHERE member_id = $1 AND ip_hash IS NOT NULL AND ip_hash = $3 AND agent_hash = $4)")
            .bind(member).bind(click.cookie_hash.as_deref()).bind(click.ip_hash.as_deref()).bind(click.agent_hash.as_deref())
            .fetch_one(pool).await)?;
        Ok((cookie > 0, ip_agent > 0))
    }

    /// The first member who referred the person `friend_key`, other than
    /// `member`, with a referral not blocked.
    pub async fn first_referrer_of(&self, friend_key: &str, member: i64) -> Result<Option<i64>> {
        Ok(on_backend!(self, pool => sqlx::query_scalar(
            "SELECT member_id FROM referrals WHERE friend_key = $1 AND member_id <> $2 AND status <> 'blocked' ORDER BY created_at, id LIMIT 1")
            .bind(friend_key).bind(member).fetch_optional(pool).await)?)
    }

    /// Conversions on a link since `from`.
    pub async fn conversions_since(&self, link: i64, from: DateTime<Utc>) -> Result<u32> {
        let n: i64 = on_backend!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM referrals WHERE link_id = $1 AND created_at >= $2")
            .bind(link).bind(from).fetch_one(pool).await)?;
        Ok(n as u32)
    }

    /// A member's rewarded referrals since `from`: how many, and their value in cents.
    pub async fn rewarded_since(&self, member: i64, from: DateTime<Utc>) -> Result<(u32, i64)> {
        let (n, v): (i64, Option<i64>) = on_backend!(self, pool => sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(value_cents) AS BIGINT) FROM referrals WHERE member_id = $1 AND created_at >= $2 \
             AND status IN ('pending', 'approved') AND withheld IS NULL")
            .bind(member).bind(from).fetch_one(pool).await)?;
        Ok((n as u32, v.unwrap_or(0)))
    }

    /// Records a conversion once per external order id: `(referral,
    /// true)` when new (`referral.converted`, and its points when it
    /// earns now), `(the existing one, false)` for a retry.
    pub async fn add_referral(
        &self,
        r: &NewReferral,
        now: DateTime<Utc>,
    ) -> Result<(Referral, bool)> {
        let signals = serde_json::to_string(&r.signals).unwrap_or_else(|_| "[]".into());
        let created = on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO referrals (link_id, member_id, click_id, external_order_id, value_cents, currency, friend_email, friend_key, friend_customer_id, status, signals, withheld, review_due, pays_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) ON CONFLICT (external_order_id) DO NOTHING RETURNING id")
                .bind(r.link_id).bind(r.member_id).bind(r.click_id).bind(&r.external_order_id).bind(r.value_cents).bind(&r.currency)
                .bind(r.friend_email.as_deref()).bind(r.friend_key.as_deref()).bind(r.friend_customer_id.map(|c| c.0))
                .bind(r.status.as_str()).bind(&signals).bind(r.withheld.as_deref()).bind(r.review_due).bind(r.pays_at).bind(now)
                .fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                lock_member!(tx, r.member_id).await?;
                let customer = customer_of_member!(tx, r.member_id).await?;
                let mut events = vec![DomainEvent::ReferralConverted {
                    referral_id: id,
                    member_id: r.member_id,
                    customer_id: customer,
                    status: r.status.as_str().to_owned(),
                    value_cents: r.value_cents,
                    currency: r.currency.clone(),
                }];
                if let Some(points) = r.earn {
                    let entry = referral_earning(id, r.member_id, points);
                    insert_entry!(tx, &entry, customer, now, events).await?;
                }
                append_events!(self.backend(), tx, &events).await?;
            }
            tx.commit().await?;
            id.is_some()
        });
        let referral = self
            .referral_by_order(&r.external_order_id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "referral",
                key: r.external_order_id.clone(),
            })?;
        Ok((referral, created))
    }

    pub async fn referral(&self, id: i64) -> Result<Option<Referral>> {
        let sql = format!("SELECT {REFERRAL_COLUMNS} FROM referrals WHERE id = $1");
        let row: Option<ReferralRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        row.map(ReferralRow::into_referral).transpose()
    }

    pub async fn referral_by_order(&self, external_order_id: &str) -> Result<Option<Referral>> {
        let sql = format!("SELECT {REFERRAL_COLUMNS} FROM referrals WHERE external_order_id = $1");
        let row: Option<ReferralRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(external_order_id).fetch_optional(pool).await)?;
        row.map(ReferralRow::into_referral).transpose()
    }

    /// Referrals, newest first, paged by id.
    pub async fn referrals(&self, f: &ReferralFilter) -> Result<Vec<Referral>> {
        let sql = format!(
            "SELECT {REFERRAL_COLUMNS} FROM referrals WHERE id < $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR member_id = $3) ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<ReferralRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(f.before.unwrap_or(i64::MAX)).bind(f.status.map(|s| s.as_str())).bind(f.member).bind(i64::from(f.limit.max(1)))
            .fetch_all(pool).await)?;
        rows.into_iter().map(ReferralRow::into_referral).collect()
    }

    /// Moves a referral to `status` (a review's decision, the end of its
    /// hold, a refund), writing its points: `earn` pays the advocate,
    /// `reverse` takes back what it paid. Only from `from`; false when it
    /// was not in one of them.
    pub async fn settle_referral(
        &self,
        id: i64,
        settlement: &Settlement,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Settlement {
            from,
            to: status,
            earn,
            reverse,
        } = settlement;
        let (status, earn, reverse) = (*status, *earn, *reverse);
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<(i64, String)> = sqlx::query_as("SELECT member_id, status FROM referrals WHERE id = $1")
                .bind(id).fetch_optional(&mut *tx).await?;
            let Some((member, current)) = row else {
                tx.rollback().await?;
                return Ok(false);
            };
            if !from.contains(&current.as_str()) {
                tx.rollback().await?;
                return Ok(false);
            }
            lock_member!(tx, member).await?;
            let customer = customer_of_member!(tx, member).await?;
            sqlx::query("UPDATE referrals SET status = $2, decided_by = $3, updated_at = $4 WHERE id = $1")
                .bind(id).bind(status.as_str()).bind(actor).bind(now).execute(&mut *tx).await?;
            let mut events = vec![DomainEvent::ReferralChanged {
                referral_id: id,
                member_id: member,
                customer_id: customer,
                status: status.as_str().to_owned(),
            }];
            if let Some(points) = earn {
                let entry = referral_earning(id, member, points);
                insert_entry!(tx, &entry, customer, now, events).await?;
            }
            if reverse {
                let paid: Option<(i64, i64)> = sqlx::query_as("SELECT id, amount FROM points_ledger WHERE idempotency_key = $1")
                    .bind(format!("referral:{id}:earn")).fetch_optional(&mut *tx).await?;
                if let Some((entry_id, amount)) = paid {
                    let entry = NewEntry {
                        member_id: member,
                        kind: EntryKind::Reverse,
                        amount: -amount,
                        reason: format!("referral {id} refunded"),
                        source: "referral".into(),
                        actor: actor.to_owned(),
                        idempotency_key: format!("referral:{id}:reverse"),
                        redemption_id: None,
                        reverses: Some(entry_id),
                    };
                    insert_entry!(tx, &entry, customer, now, events).await?;
                }
            }
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Pending referrals whose hold ended by `now`.
    pub async fn referrals_due(&self, now: DateTime<Utc>) -> Result<Vec<Referral>> {
        let sql = format!(
            "SELECT {REFERRAL_COLUMNS} FROM referrals WHERE status = 'pending' AND pays_at <= $1 ORDER BY id LIMIT 500"
        );
        let rows: Vec<ReferralRow> = on_backend!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).fetch_all(pool).await)?;
        rows.into_iter().map(ReferralRow::into_referral).collect()
    }

    /// Counts for the program's KPIs: `(members active, referrals not
    /// blocked, approved referrals' value in cents, clicks)`.
    /// The value of approved referred orders placed in `[from, to)`, by
    /// currency (in hundredths).
    pub async fn referral_revenue(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT currency, CAST(SUM(value_cents) AS BIGINT) FROM referrals WHERE status = 'approved' \
             AND created_at >= $1 AND created_at < $2 GROUP BY currency ORDER BY currency")
            .bind(from).bind(to).fetch_all(pool).await)?)
    }

    pub async fn program_counts(&self) -> Result<(i64, i64, i64, i64)> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM program_members WHERE status = 'active'), \
             (SELECT COUNT(*) FROM referrals WHERE status <> 'blocked'), \
             (SELECT CAST(COALESCE(SUM(value_cents), 0) AS BIGINT) FROM referrals WHERE status = 'approved'), \
             (SELECT COUNT(*) FROM referral_clicks)")
            .fetch_one(pool).await)?)
    }
}

impl Store {
    /// Keeps a portal sign-in link's token hash, usable once until `expires_at`.
    pub async fn add_portal_link(
        &self,
        token_hash: &str,
        member: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO portal_links (token_hash, member_id, expires_at, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash).bind(member).bind(expires_at).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Uses a sign-in link: its member when the token is known, unused and
    /// unexpired; the link is spent either way it was found.
    pub async fn use_portal_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        Ok(on_backend!(self, pool => sqlx::query_scalar(
            "UPDATE portal_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING member_id")
            .bind(token_hash).bind(now).fetch_optional(pool).await)?)
    }

    pub async fn add_portal_session(
        &self,
        token_hash: &str,
        member: i64,
        csrf: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO portal_sessions (token_hash, member_id, csrf, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash).bind(member).bind(csrf).bind(expires_at).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A live portal session: `(member, csrf token)`.
    pub async fn portal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(i64, String)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT s.member_id, s.csrf FROM portal_sessions s JOIN program_members m ON m.id = s.member_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND m.status IN ('active', 'paused')")
            .bind(token_hash).bind(now).fetch_optional(pool).await)?)
    }

    /// Keeps a join link's token hash for `customer`.
    pub async fn add_join_link(
        &self,
        token_hash: &str,
        customer: CustomerId,
        by: JoinedBy,
        join_code: Option<&str>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO program_joins (token_hash, customer_id, joined_by, join_code, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash).bind(customer.0).bind(by.as_str()).bind(join_code).bind(expires_at).bind(now).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Spends a join link: its customer, how they join and the join code
    /// it was asked for with, when it is known, unused and unexpired.
    pub async fn use_join_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(CustomerId, JoinedBy, Option<String>)>> {
        let row: Option<(i64, String, Option<String>)> = on_backend!(self, pool => sqlx::query_as(
            "UPDATE program_joins SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING customer_id, joined_by, join_code")
            .bind(token_hash).bind(now).fetch_optional(pool).await)?;
        row.map(|(c, by, code)| {
            Ok((
                CustomerId(c),
                by.parse()
                    .map_err(|e| StoreError::corrupt("join link", e))?,
                code,
            ))
        })
        .transpose()
    }

    pub async fn end_portal_session(&self, token_hash: &str) -> Result<()> {
        on_backend!(self, pool => sqlx::query("DELETE FROM portal_sessions WHERE token_hash = $1")
            .bind(token_hash).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}

/// A challenge as kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Challenge {
    pub id: i64,
    /// The challenge as written (`POST /api/v1/program/challenges`).
    pub spec: vouch_domain::program::challenges::ChallengeSpec,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    id: i64,
    spec: String,
    active: bool,
    created_at: DateTime<Utc>,
}

impl ChallengeRow {
    fn into_challenge(self) -> Result<Challenge> {
        Ok(Challenge {
            spec: serde_json::from_str(&self.spec)
                .map_err(|e| StoreError::corrupt("challenge", e))?,
            id: self.id,
            active: self.active,
            created_at: self.created_at,
        })
    }
}

/// A stage's submission as kept (the file itself is read on its own).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Submission {
    pub id: i64,
    pub challenge_id: i64,
    pub member_id: i64,
    pub round: i32,
    pub stage: i32,
    pub state: String,
    pub answer: Option<String>,
    pub url: Option<String>,
    pub file_name: Option<String>,
    pub file_type: Option<String>,
    pub disclosure: Option<String>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

const SUBMISSION_COLUMNS: &str = "id, challenge_id, member_id, round, stage, state, answer, url, file_name, file_type, disclosure, note, decided_by, created_at";

/// A submission to record; `points` are paid now when it is approved at once.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubmission {
    pub challenge_id: i64,
    pub member_id: i64,
    pub round: i32,
    pub stage: i32,
    pub approved: bool,
    pub answer: Option<String>,
    pub url: Option<String>,
    pub file: Option<(String, String, Vec<u8>)>,
    pub disclosure: Option<String>,
    pub points: i64,
    pub reason: String,
}

fn challenge_earning(s: &Submission, points: i64, reason: &str, actor: &str) -> NewEntry {
    NewEntry {
        member_id: s.member_id,
        kind: EntryKind::Earn,
        amount: points,
        reason: reason.to_owned(),
        source: "challenge".into(),
        actor: actor.to_owned(),
        idempotency_key: format!(
            "challenge:{}:{}:{}:{}",
            s.challenge_id, s.member_id, s.round, s.stage
        ),
        redemption_id: None,
        reverses: None,
    }
}

impl Store {
    pub async fn add_challenge(
        &self,
        spec: &vouch_domain::program::challenges::ChallengeSpec,
        now: DateTime<Utc>,
    ) -> Result<Challenge> {
        let json = serde_json::to_string(spec).map_err(|e| StoreError::corrupt("challenge", e))?;
        let id: i64 = on_backend!(self, pool => sqlx::query_scalar(
            "INSERT INTO challenges (name, spec, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id")
            .bind(spec.name.trim()).bind(&json).bind(true).bind(now).fetch_one(pool).await)?;
        self.challenge(id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "challenge",
                key: id.to_string(),
            })
    }

    pub async fn challenge(&self, id: i64) -> Result<Option<Challenge>> {
        let row: Option<ChallengeRow> = on_backend!(self, pool => sqlx::query_as(
            "SELECT id, spec, active, created_at FROM challenges WHERE id = $1").bind(id).fetch_optional(pool).await)?;
        row.map(ChallengeRow::into_challenge).transpose()
    }

    pub async fn challenges(&self, active_only: bool) -> Result<Vec<Challenge>> {
        let rows: Vec<ChallengeRow> = on_backend!(self, pool => sqlx::query_as(
            "SELECT id, spec, active, created_at FROM challenges WHERE ($1 = FALSE OR active = TRUE) ORDER BY id")
            .bind(active_only).fetch_all(pool).await)?;
        rows.into_iter().map(ChallengeRow::into_challenge).collect()
    }

    pub async fn set_challenge_active(
        &self,
        id: i64,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_backend!(self, pool => sqlx::query("UPDATE challenges SET active = $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(active).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// A member's submissions to a challenge, in order.
    pub async fn submissions_of(&self, member: i64, challenge: i64) -> Result<Vec<Submission>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions WHERE member_id = $1 AND challenge_id = $2 ORDER BY round, stage, id"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(member).bind(challenge).fetch_all(pool).await)?,
        )
    }

    /// Members who went through a challenge's last stage (approved), counted by round.
    pub async fn challenge_completions(&self, challenge: i64, last_stage: i32) -> Result<i64> {
        Ok(on_backend!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM challenge_submissions WHERE challenge_id = $1 AND stage = $2 AND state = 'approved'")
            .bind(challenge).bind(last_stage).fetch_one(pool).await)?)
    }

    /// Records a submission unless one for the same round and stage is
    /// waiting or approved (a double click, a retry): None then. An
    /// approved one pays its points in the same transaction.
    pub async fn add_submission(
        &self,
        s: &NewSubmission,
        now: DateTime<Utc>,
    ) -> Result<Option<Submission>> {
        let (file_name, file_type, file_data) = match &s.file {
            Some((n, t, d)) => (Some(n.as_str()), Some(t.as_str()), Some(d.as_slice())),
            None => (None, None, None),
        };
        let state = if s.approved { "approved" } else { "submitted" };
        let insert = format!(
            "INSERT INTO challenge_submissions (challenge_id, member_id, round, stage, state, answer, url, file_name, file_type, file_data, disclosure, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {SUBMISSION_COLUMNS}"
        );
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !lock_member!(tx, s.member_id).await? {
                tx.rollback().await?;
                return Ok(None);
            }
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM challenge_submissions WHERE challenge_id = $1 AND member_id = $2 \
                AND round = $3 AND stage = $4 AND state IN ('submitted', 'approved')")
                .bind(s.challenge_id).bind(s.member_id).bind(s.round).bind(s.stage).fetch_one(&mut *tx).await?;
            if taken > 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            let row: Submission = sqlx::query_as(sqlx::AssertSqlSafe(insert))
                .bind(s.challenge_id).bind(s.member_id).bind(s.round).bind(s.stage).bind(state)
                .bind(s.answer.as_deref()).bind(s.url.as_deref()).bind(file_name).bind(file_type).bind(file_data)
                .bind(s.disclosure.as_deref()).bind(now).fetch_one(&mut *tx).await?;
            let mut events = Vec::new();
            if s.approved && s.points > 0 {
                let customer = customer_of_member!(tx, s.member_id).await?;
                let entry = challenge_earning(&row, s.points, &s.reason, "vouch");
                insert_entry!(tx, &entry, customer, now, events).await?;
            }
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(Some(row))
        })
    }

    pub async fn submission(&self, id: i64) -> Result<Option<Submission>> {
        let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions WHERE id = $1");
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?,
        )
    }

    /// A submission's file: `(name, type, bytes)`.
    pub async fn submission_file(&self, id: i64) -> Result<Option<(String, String, Vec<u8>)>> {
        type FileRow = (Option<String>, Option<String>, Option<Vec<u8>>);
        let row: Option<FileRow> = on_backend!(self, pool => sqlx::query_as(
            "SELECT file_name, file_type, file_data FROM challenge_submissions WHERE id = $1").bind(id).fetch_optional(pool).await)?;
        Ok(match row {
            Some((Some(n), Some(t), Some(d))) => Some((n, t, d)),
            _ => None,
        })
    }

    /// Submissions, newest first, paged by id; optionally in one state (the approval queue).
    pub async fn submissions(
        &self,
        state: Option<vouch_domain::program::challenges::SubmissionState>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Submission>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions WHERE id < $1 AND ($2 IS NULL OR state = $2) ORDER BY id DESC LIMIT $3"
        );
        Ok(
            on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(before.unwrap_or(i64::MAX)).bind(state.map(|s| s.as_str())).bind(i64::from(limit)).fetch_all(pool).await)?,
        )
    }

    /// A person's decision on a waiting submission: approved (its points,
    /// with their reason, are paid once), sent back or rejected. None:
    /// not waiting.
    pub async fn decide_submission(
        &self,
        id: i64,
        to: vouch_domain::program::challenges::SubmissionState,
        note: Option<&str>,
        (points, reason): (i64, &str),
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Submission>> {
        let select =
            format!("SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions WHERE id = $1");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let Some(before): Option<Submission> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone())).bind(id).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Ok(None);
            };
            if before.state != "submitted" {
                tx.rollback().await?;
                return Ok(None);
            }
            lock_member!(tx, before.member_id).await?;
            sqlx::query("UPDATE challenge_submissions SET state = $2, note = $3, decided_by = $4, updated_at = $5 WHERE id = $1")
                .bind(id).bind(to.as_str()).bind(note).bind(actor).bind(now).execute(&mut *tx).await?;
            let mut events = Vec::new();
            if to == vouch_domain::program::challenges::SubmissionState::Approved && points > 0 {
                let customer = customer_of_member!(tx, before.member_id).await?;
                let entry = challenge_earning(&before, points, reason, actor);
                insert_entry!(tx, &entry, customer, now, events).await?;
            }
            append_events!(self.backend(), tx, &events).await?;
            let after: Submission = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(after))
        })
    }
}

/// A badge.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Badge {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub rule: vouch_domain::program::BadgeRule,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct BadgeRow {
    id: i64,
    name: String,
    description: String,
    rule: String,
    created_at: DateTime<Utc>,
}

impl BadgeRow {
    fn into_badge(self) -> Result<Badge> {
        Ok(Badge {
            rule: serde_json::from_str(&self.rule).map_err(|e| StoreError::corrupt("badge", e))?,
            id: self.id,
            name: self.name,
            description: self.description,
            created_at: self.created_at,
        })
    }
}

/// A message from staff to a member.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Recognition {
    pub id: i64,
    pub member_id: i64,
    pub message: String,
    pub public: bool,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Adds a badge; a taken name is a unique violation.
    pub async fn add_badge(
        &self,
        name: &str,
        description: &str,
        rule: &vouch_domain::program::BadgeRule,
        now: DateTime<Utc>,
    ) -> Result<Badge> {
        let json = serde_json::to_string(rule).map_err(|e| StoreError::corrupt("badge", e))?;
        let row: BadgeRow = on_backend!(self, pool => sqlx::query_as(
            "INSERT INTO badges (name, description, rule, created_at) VALUES ($1, $2, $3, $4) RETURNING id, name, description, rule, created_at")
            .bind(name).bind(description).bind(&json).bind(now).fetch_one(pool).await)?;
        row.into_badge()
    }

    pub async fn badges(&self) -> Result<Vec<Badge>> {
        let rows: Vec<BadgeRow> = on_backend!(self, pool => sqlx::query_as(
            "SELECT id, name, description, rule, created_at FROM badges ORDER BY id").fetch_all(pool).await)?;
        rows.into_iter().map(BadgeRow::into_badge).collect()
    }

    /// The badges a member holds, with when each came.
    pub async fn member_badges(&self, member: i64) -> Result<Vec<(Badge, DateTime<Utc>)>> {
        let rows: Vec<(i64, DateTime<Utc>)> = on_backend!(self, pool => sqlx::query_as(
            "SELECT badge_id, awarded_at FROM member_badges WHERE member_id = $1 ORDER BY awarded_at, badge_id")
            .bind(member).fetch_all(pool).await)?;
        let all = self.badges().await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at)| all.iter().find(|b| b.id == id).map(|b| (b.clone(), at)))
            .collect())
    }

    /// Gives a member a badge, once (`program.badge_awarded`): false when
    /// they held it.
    pub async fn award_badge(
        &self,
        member: i64,
        badge: &Badge,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("INSERT INTO member_badges (member_id, badge_id, awarded_by, awarded_at) VALUES ($1, $2, $3, $4) ON CONFLICT (member_id, badge_id) DO NOTHING")
                .bind(member).bind(badge.id).bind(by).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                let customer = customer_of_member!(tx, member).await?;
                let event = DomainEvent::BadgeAwarded {
                    member_id: member,
                    customer_id: customer,
                    badge_id: badge.id,
                    badge: badge.name.clone(),
                };
                append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// A member's earning entries by source: `(source, how many)`.
    pub async fn earning_counts(&self, member: i64) -> Result<Vec<(String, i64)>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT source, COUNT(*) FROM points_ledger WHERE member_id = $1 AND kind = 'earn' GROUP BY source")
            .bind(member).fetch_all(pool).await)?)
    }

    /// Staff recognise a member (`program.recognized`).
    pub async fn add_recognition(
        &self,
        member: i64,
        message: &str,
        public: bool,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Recognition>> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !lock_member!(tx, member).await? {
                tx.rollback().await?;
                return Ok(None);
            }
            let r: Recognition = sqlx::query_as(
                "INSERT INTO recognitions (member_id, message, public, author, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id, member_id, message, public, author, created_at")
                .bind(member).bind(message).bind(public).bind(author).bind(now).fetch_one(&mut *tx).await?;
            let customer = customer_of_member!(tx, member).await?;
            let event = DomainEvent::MemberRecognized {
                recognition_id: r.id,
                member_id: member,
                customer_id: customer,
                public,
            };
            append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            tx.commit().await?;
            Ok(Some(r))
        })
    }

    /// A member's recognition, newest first.
    /// The newest public recognitions of any member, each with the
    /// member's customer name (none once erased).
    pub async fn public_recognitions(
        &self,
        limit: u32,
    ) -> Result<Vec<(Recognition, Option<String>)>> {
        type Row = (
            i64,
            i64,
            String,
            bool,
            String,
            DateTime<Utc>,
            Option<String>,
        );
        let rows: Vec<Row> = on_backend!(self, pool => sqlx::query_as(
            "SELECT r.id, r.member_id, r.message, r.public, r.author, r.created_at, c.name FROM recognitions r \
             JOIN program_members m ON m.id = r.member_id LEFT JOIN customers c ON c.id = m.customer_id \
             WHERE r.public = $1 AND m.status = 'active' ORDER BY r.id DESC LIMIT $2")
            .bind(true).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, member_id, message, public, author, created_at, name)| {
                    (
                        Recognition {
                            id,
                            member_id,
                            message,
                            public,
                            author,
                            created_at,
                        },
                        name,
                    )
                },
            )
            .collect())
    }

    pub async fn recognitions(&self, member: i64) -> Result<Vec<Recognition>> {
        Ok(on_backend!(self, pool => sqlx::query_as(
            "SELECT id, member_id, message, public, author, created_at FROM recognitions WHERE member_id = $1 ORDER BY id DESC LIMIT 100")
            .bind(member).fetch_all(pool).await)?)
    }
}

fn referral_earning(referral: i64, member: i64, points: i64) -> NewEntry {
    NewEntry {
        member_id: member,
        kind: EntryKind::Earn,
        amount: points,
        reason: format!("referral {referral}"),
        source: "referral".into(),
        actor: "vouch".into(),
        idempotency_key: format!("referral:{referral}:earn"),
        redemption_id: None,
        reverses: None,
    }
}
