//! The advocate program: members and how they joined, the points ledger's
//! entry kinds and the balances derived from them, tiers, leaderboards and
//! the life of a redemption. Pure: the store keeps the ledger (append-only,
//! by trigger), vouch-app runs the use cases. Referrals have their own
//! module.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::names::named_enum;

pub mod challenges;
pub mod referrals;

named_enum! {
    /// Where a member is in the program.
    pub enum MemberStatus as "member status" {
        Active = "active",
        /// Earns nothing for now; keeps what they have.
        Paused = "paused",
        /// Left of their own accord.
        Left = "left",
        /// Removed; their pending rewards are void.
        Banned = "banned",
    }
}

named_enum! {
    /// How a customer became a member, which decides whether they are trusted.
    pub enum JoinedBy as "way of joining" {
        /// Through the program's own emailed invitation (a playbook's or staff's).
        Invitation = "invitation",
        /// Added by a staff member.
        Staff = "staff",
        /// With a join code anyone holding it can use.
        JoinCode = "join_code",
        /// Through the open join link.
        OpenSignUp = "open_sign_up",
    }
}

impl JoinedBy {
    /// Invited by the program's own email (or added by staff): the address
    /// is known to be theirs. A code or an open sign-up proves nothing.
    pub fn trusted(self) -> bool {
        matches!(self, JoinedBy::Invitation | JoinedBy::Staff)
    }
}

named_enum! {
    /// What a ledger entry records. Amounts are signed: `earn` and
    /// `release` add, `hold`, `redeem` and `expire` take away, `reverse`
    /// offsets an earlier entry, `adjust` goes either way.
    pub enum EntryKind as "ledger entry kind" {
        Earn = "earn",
        /// Points set aside for a requested reward: not spendable, not spent.
        Hold = "hold",
        /// A hold given back (the reward was refused or cancelled, or redeemed).
        Release = "release",
        /// Points spent on a reward.
        Redeem = "redeem",
        /// Undoes an earlier entry (a refund, a voided submission).
        Reverse = "reverse",
        /// A correction by staff.
        Adjust = "adjust",
        /// Unspent points past their time.
        Expire = "expire",
    }
}

impl EntryKind {
    /// Whether the entry counts towards lifetime points (levels and
    /// leaderboards): what was earned, less what was reversed or
    /// corrected. Spending, holding and expiry do not lower it.
    pub fn counts_for_lifetime(self) -> bool {
        matches!(
            self,
            EntryKind::Earn | EntryKind::Reverse | EntryKind::Adjust
        )
    }

    /// Whether `amount` has the sign this kind needs.
    pub fn sign_fits(self, amount: i64) -> bool {
        match self {
            EntryKind::Earn | EntryKind::Release => amount > 0,
            EntryKind::Hold | EntryKind::Redeem | EntryKind::Expire => amount < 0,
            EntryKind::Reverse | EntryKind::Adjust => amount != 0,
        }
    }
}

/// A member's points, both derived from the ledger and nothing else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Balance {
    /// Everything earned, net of reversals and corrections.
    pub lifetime: i64,
    /// What can be spent now: every entry's amount summed.
    pub spendable: i64,
}

impl Balance {
    /// The balance of a ledger, from its entries' kinds and amounts.
    pub fn of(entries: impl IntoIterator<Item = (EntryKind, i64)>) -> Balance {
        entries
            .into_iter()
            .fold(Balance::default(), |mut b, (kind, amount)| {
                b.spendable += amount;
                if kind.counts_for_lifetime() {
                    b.lifetime += amount;
                }
                b
            })
    }
}

/// How many points expire for a member whose points earned before the
/// cut-off come to `earned_before`, who has used `used` points in all
/// (spent, expired, corrected or reversed away), and who can spend
/// `spendable` now: the oldest points go first, so what was used counts
/// against the oldest, and no more than is spendable expires.
pub fn expiring(earned_before: i64, used: i64, spendable: i64) -> i64 {
    (earned_before - used.max(0)).clamp(0, spendable.max(0))
}

/// A tier: reached by lifetime points or by a number of badges, with its perks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tier {
    pub name: String,
    pub min_points: i64,
    /// Reached with this many badges too, whatever the points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_badges: Option<u32>,
    #[serde(default)]
    pub perks: Vec<String>,
}

/// The tiers a program starts with: Fan → Advocate → Evangelist → Most
/// Valued Advocate.
pub fn default_tiers() -> Vec<Tier> {
    let tier = |name: &str, min_points, min_badges, perks: &[&str]| Tier {
        name: name.into(),
        min_points,
        min_badges,
        perks: perks.iter().map(|p| (*p).to_owned()).collect(),
    };
    vec![
        tier("Fan", 0, None, &[]),
        tier("Advocate", 500, Some(3), &["early access to new features"]),
        tier(
            "Evangelist",
            2_000,
            Some(6),
            &[
                "early access to new features",
                "invitations to customer events",
            ],
        ),
        tier(
            "Most Valued Advocate",
            5_000,
            Some(10),
            &[
                "early access to new features",
                "invitations to customer events",
                "a seat on the customer advisory board",
            ],
        ),
    ]
}

/// The highest tier `lifetime` points or `badges` reach (tiers in order,
/// lowest first); the first tier when none is reached.
pub fn tier_for(tiers: &[Tier], lifetime: i64, badges: u32) -> Option<&Tier> {
    tiers
        .iter()
        .rev()
        .find(|t| lifetime >= t.min_points || t.min_badges.is_some_and(|b| badges >= b))
        .or(tiers.first())
}

/// How far a member is from the next tier: its name and the points still
/// needed; none at the top.
pub fn next_tier(tiers: &[Tier], lifetime: i64, badges: u32) -> Option<(&Tier, i64)> {
    let current = tier_for(tiers, lifetime, badges)?;
    let at = tiers.iter().position(|t| t == current)?;
    tiers
        .get(at + 1)
        .map(|next| (next, (next.min_points - lifetime).max(0)))
}

/// How a badge is earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BadgeRule {
    /// Staff award it.
    Manual,
    /// At least `at_least` earning entries from `source` (`referral`,
    /// `challenge`, `playbook`, `api`…): the member did the thing that often.
    Count {
        source: String,
        #[schema(minimum = 1, maximum = 100000)]
        at_least: u32,
    },
    /// At least `at_least` lifetime points.
    Points {
        #[schema(minimum = 1, maximum = 100000000)]
        at_least: i64,
    },
}

impl BadgeRule {
    /// Whether a member with `lifetime` points and `count(source)` earning
    /// entries from each source has earned it (a manual badge: never by itself).
    pub fn earned(&self, lifetime: i64, count: impl Fn(&str) -> u32) -> bool {
        match self {
            BadgeRule::Manual => false,
            BadgeRule::Count { source, at_least } => count(source) >= *at_least,
            BadgeRule::Points { at_least } => lifetime >= *at_least,
        }
    }
}

named_enum! {
    /// A leaderboard's period.
    pub enum Period as "leaderboard period" {
        Week = "week",
        Month = "month",
        Quarter = "quarter",
        AllTime = "all_time",
    }
}

impl Period {
    /// When the period that holds `now` began (UTC); none for all time.
    pub fn start(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::{Datelike, NaiveDate, TimeZone};
        let day = now.date_naive();
        let first = match self {
            Period::AllTime => return None,
            Period::Week => {
                day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
            }
            Period::Month => NaiveDate::from_ymd_opt(day.year(), day.month(), 1)?,
            Period::Quarter => {
                NaiveDate::from_ymd_opt(day.year(), (day.month() - 1) / 3 * 3 + 1, 1)?
            }
        };
        Some(Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0)?))
    }
}

/// One member's points in a period, as a leaderboard reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub member_id: i64,
    pub points: i64,
    /// When they reached their total (their last earning entry in the period).
    pub reached_at: DateTime<Utc>,
}

/// Ranks standings: most points first; a tie goes to whoever got there
/// first, then to the lower member id, so the order never flickers.
/// Ranks are shared by equal points ("1, 2, 2, 4").
pub fn leaderboard(mut standings: Vec<Standing>) -> Vec<(u32, Standing)> {
    standings.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then(a.reached_at.cmp(&b.reached_at))
            .then(a.member_id.cmp(&b.member_id))
    });
    let mut ranked: Vec<(u32, Standing)> = Vec::with_capacity(standings.len());
    for (i, s) in standings.into_iter().enumerate() {
        let rank = match ranked.last() {
            Some((r, prev)) if prev.points == s.points => *r,
            _ => i as u32 + 1,
        };
        ranked.push((rank, s));
    }
    ranked
}

named_enum! {
    /// What a reward is.
    pub enum RewardKind as "reward kind" {
        GiftCode = "gift_code",
        Swag = "swag",
        Donation = "donation",
        Experience = "experience",
        AccountCredit = "account_credit",
    }
}

named_enum! {
    /// Whether a person fulfils the reward or Vouch does.
    pub enum Fulfilment as "fulfilment" {
        Auto = "auto",
        Manual = "manual",
    }
}

named_enum! {
    /// Where a redemption is: `requested` → `pending_approval` →
    /// `backordered` → `approved` → `fulfilled`, or `refused` /
    /// `cancelled` with a reason.
    pub enum RedemptionState as "redemption state" {
        Requested = "requested",
        PendingApproval = "pending_approval",
        /// Approved in principle, waiting for stock.
        Backordered = "backordered",
        Approved = "approved",
        Fulfilled = "fulfilled",
        Refused = "refused",
        Cancelled = "cancelled",
    }
}

impl RedemptionState {
    /// Whether the redemption is over: its hold has been redeemed or released.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RedemptionState::Fulfilled | RedemptionState::Refused | RedemptionState::Cancelled
        )
    }

    /// Whether a redemption here may move to `next`.
    pub fn can_become(self, next: RedemptionState) -> bool {
        use RedemptionState::*;
        match (self, next) {
            (Refused | Cancelled | Fulfilled, _) => false,
            (_, Refused | Cancelled) => true,
            (Requested, PendingApproval | Backordered | Approved) => true,
            (PendingApproval, Backordered | Approved) => true,
            (Backordered, Approved) => true,
            (Approved, Fulfilled) => true,
            _ => false,
        }
    }
}

/// Why a member may not request a reward, or `Ok`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedemptionRefusal {
    #[error("{needed} points are needed and {spendable} are spendable")]
    InsufficientPoints { needed: i64, spendable: i64 },
    #[error("the member is {0}")]
    NotActive(MemberStatus),
    #[error("the reward needs the {0} tier")]
    TierTooLow(String),
    #[error("the member has had this reward {0} times, its limit")]
    LimitReached(u32),
    #[error("the reward is no longer offered")]
    Withdrawn,
}

/// The first state of a new redemption: only automatic rewards for
/// trusted members skip a person's approval; with no stock left it waits.
pub fn first_state(fulfilment: Fulfilment, trusted: bool, in_stock: bool) -> RedemptionState {
    match (fulfilment == Fulfilment::Auto && trusted, in_stock) {
        (_, false) => RedemptionState::Backordered,
        (true, true) => RedemptionState::Approved,
        (false, true) => RedemptionState::PendingApproval,
    }
}

/// Whether a tier `have` (its position among the tiers) meets a reward's
/// minimum tier `need`.
pub fn tier_allows(tiers: &[Tier], have: Option<&str>, need: Option<&str>) -> bool {
    let Some(need) = need else { return true };
    let at = |name: &str| tiers.iter().position(|t| t.name == name);
    match (have.and_then(at), at(need)) {
        (Some(h), Some(n)) => h >= n,
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

#[cfg(test)]
mod tests;
