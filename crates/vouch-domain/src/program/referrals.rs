//! Referrals: codes people can read aloud, which click a conversion is
//! attributed to, the fraud rules that block or flag it, and the reward
//! rules that decide what each side gets. Pure: randomness comes in as
//! bytes, the store keeps clicks and referrals.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::names::named_enum;

/// The characters a code is made of: digits and capitals without the
/// look-alikes 0/O and 1/I/L.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A generated code's length: 31^8 ≈ 8.5 × 10^11 codes.
pub const CODE_LENGTH: usize = 8;

/// A code from random bytes (the OS generator's, in vouch-app), by
/// rejection so every character is equally likely; `None` when the bytes
/// ran out first (ask for more).
pub fn code_from_random(bytes: &[u8]) -> Option<String> {
    // 248 = 8 × 31: bytes at or above it would favour the first letters.
    let limit = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;
    let code: String = bytes
        .iter()
        .filter(|b| **b < limit)
        .take(CODE_LENGTH)
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect();
    (code.len() == CODE_LENGTH).then_some(code)
}

/// A code as typed or linked: upper-cased, without spaces or dashes.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// Why a vanity code cannot be used, or `Ok`: 4 to 32 letters, digits or
/// dashes (look-alikes are allowed in a code a person chose).
pub fn check_vanity(code: &str) -> Result<(), String> {
    let n = code.chars().count();
    if !(4..=32).contains(&n) {
        return Err("a vanity code has 4 to 32 characters".into());
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("a vanity code has only letters, digits and dashes".into());
    }
    Ok(())
}

named_enum! {
    /// Which click earns the credit when a friend clicked more than one link.
    pub enum Attribution as "attribution model" {
        FirstClick = "first_click",
        LastClick = "last_click",
    }
}

/// The default attribution window.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// A click, as attribution reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickSeen {
    pub id: i64,
    pub link_id: i64,
    pub at: DateTime<Utc>,
}

/// The click a conversion at `at` is attributed to: among the clicks in
/// the window before it, the first or the last; none when every click is
/// older than the window (or later than the conversion).
pub fn attribute(
    clicks: &[ClickSeen],
    at: DateTime<Utc>,
    window: Duration,
    model: Attribution,
) -> Option<&ClickSeen> {
    let inside = clicks.iter().filter(|c| c.at <= at && at - c.at <= window);
    match model {
        Attribution::FirstClick => inside.min_by_key(|c| (c.at, c.id)),
        Attribution::LastClick => inside.max_by_key(|c| (c.at, c.id)),
    }
}

named_enum! {
    /// The fraud rules.
    pub enum FraudRule as "fraud rule" {
        /// The friend is the advocate: the same or a near-identical email,
        /// or the same customer.
        SelfReferral = "self_referral",
        /// The friend was a customer before the click.
        ExistingCustomer = "existing_customer",
        /// Someone else referred the friend first (they keep the credit).
        AlreadyReferred = "already_referred",
        /// The click came from the advocate's own cookie, or their IP and browser.
        SameDevice = "same_device",
        /// The friend's address is at a throwaway-mail domain.
        DisposableEmail = "disposable_email",
        /// The click came from a coupon or deal site.
        CouponSite = "coupon_site",
        /// Too many conversions on one link in a short time.
        Velocity = "velocity",
    }
}

named_enum! {
    /// What a rule does when it fires.
    pub enum FraudAction as "fraud action" {
        /// The referral earns nothing.
        Block = "block",
        /// The referral waits in the review queue until a person decides.
        Flag = "flag",
    }
}

/// A rule that fired, and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signal {
    pub rule: FraudRule,
    pub action: FraudAction,
    pub detail: String,
}

/// What each rule does, and the velocity limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudPolicy {
    pub actions: Vec<(FraudRule, FraudAction)>,
    /// More than this many conversions on one link within `velocity_window` is a burst.
    pub velocity_limit: u32,
    pub velocity_window: Duration,
}

impl Default for FraudPolicy {
    /// Certain abuse blocks; what an honest friend could also look like flags.
    fn default() -> Self {
        use FraudAction::*;
        use FraudRule::*;
        FraudPolicy {
            actions: vec![
                (SelfReferral, Block),
                (ExistingCustomer, Block),
                (AlreadyReferred, Block),
                (SameDevice, Flag),
                (DisposableEmail, Flag),
                (CouponSite, Flag),
                (Velocity, Flag),
            ],
            velocity_limit: 5,
            velocity_window: Duration::hours(1),
        }
    }
}

impl FraudPolicy {
    fn action(&self, rule: FraudRule) -> FraudAction {
        self.actions
            .iter()
            .find(|(r, _)| *r == rule)
            .map_or(FraudAction::Flag, |(_, a)| *a)
    }
}

/// Whether `domain` (or a domain it is under) is a throwaway-mail domain
/// on the list Vouch ships (`disposable_domains.txt` names its source
/// and licence).
pub fn is_disposable_domain(domain: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("disposable_domains.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let mut rest = domain.as_str();
    loop {
        if list.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return false,
        }
    }
}

/// Coupon and deal sites whose traffic is not a friend's recommendation.
pub fn is_coupon_site(domain: &str) -> bool {
    let domain = domain.trim().to_ascii_lowercase();
    COUPON_SITES
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

const COUPON_SITES: &[&str] = &[
    "retailmenot.com",
    "groupon.com",
    "honey.com",
    "joinhoney.com",
    "coupons.com",
    "couponcabin.com",
    "slickdeals.net",
    "dealabs.com",
    "vouchercodes.co.uk",
    "vouchercloud.com",
    "hotukdeals.com",
    "mydealz.de",
    "cuponation.com",
    "wethrift.com",
    "knoji.com",
    "dontpayfull.com",
    "promocodes.com",
    "couponfollow.com",
    "savings.com",
    "cupoane.ro",
    "reduceri.ro",
];

/// An address reduced to the person: lower-cased, without a `+tag`, and
/// without dots in the local part for the mail services that ignore them.
pub fn person_key(email: &str) -> String {
    let email = email.trim().to_ascii_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    let local = local.split('+').next().unwrap_or(local);
    let domain = match domain {
        "googlemail.com" => "gmail.com",
        d => d,
    };
    let local = if domain == "gmail.com" {
        local.replace('.', "")
    } else {
        local.to_owned()
    };
    format!("{local}@{domain}")
}

/// Whether two addresses are one person's, or one typo apart at the same
/// domain (`ana.pop@x.ro` and `anapop1@x.ro` are not; `anapop@` and
/// `anapopp@` are).
pub fn near_identical(a: &str, b: &str) -> bool {
    let (a, b) = (person_key(a), person_key(b));
    if a == b {
        return true;
    }
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) if da == db && la.len().min(lb.len()) >= 5 => {
            edit_distance(la, lb) <= 1
        }
        _ => false,
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// What the fraud rules read about one conversion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferralFacts {
    pub advocate_email: Option<String>,
    pub advocate_customer: Option<i64>,
    pub friend_email: Option<String>,
    /// The friend's customer record, when they have one.
    pub friend_customer: Option<i64>,
    /// The friend was a customer before the click.
    pub friend_existed_before: bool,
    /// Another advocate's referral of this friend came first.
    pub referred_before_by: Option<i64>,
    /// The click's cookie is one the advocate's own visits carried.
    pub same_cookie: bool,
    /// The click's IP and browser hashes are the advocate's own.
    pub same_ip_and_agent: bool,
    pub referring_domain: Option<String>,
    /// Conversions on the link within the velocity window, this one included.
    pub recent_conversions: u32,
}

/// Every rule the conversion breaks, each with its action.
pub fn check(facts: &ReferralFacts, policy: &FraudPolicy) -> Vec<Signal> {
    let mut signals = Vec::new();
    let mut fire = |rule: FraudRule, detail: String| {
        signals.push(Signal {
            rule,
            action: policy.action(rule),
            detail,
        })
    };
    let same_customer =
        facts.advocate_customer.is_some() && facts.advocate_customer == facts.friend_customer;
    let same_email = match (&facts.advocate_email, &facts.friend_email) {
        (Some(a), Some(f)) => near_identical(a, f),
        _ => false,
    };
    if same_customer || same_email {
        fire(
            FraudRule::SelfReferral,
            if same_customer {
                "the friend is the advocate's own customer record".into()
            } else {
                "the friend's email is the advocate's, or one character from it".into()
            },
        );
    }
    if let Some(first) = facts.referred_before_by {
        fire(
            FraudRule::AlreadyReferred,
            format!("member {first} referred this friend first and keeps the credit"),
        );
    } else if facts.friend_existed_before && !same_customer {
        fire(
            FraudRule::ExistingCustomer,
            "the friend was already a customer".into(),
        );
    }
    if facts.same_cookie || facts.same_ip_and_agent {
        fire(
            FraudRule::SameDevice,
            if facts.same_cookie {
                "the click carried the advocate's own cookie".into()
            } else {
                "the click came from the advocate's IP and browser".into()
            },
        );
    }
    if let Some(domain) = facts
        .friend_email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d)
        .filter(|d| is_disposable_domain(d))
    {
        fire(
            FraudRule::DisposableEmail,
            format!("{domain} is a disposable-mail domain"),
        );
    }
    if let Some(domain) = facts
        .referring_domain
        .as_deref()
        .filter(|d| is_coupon_site(d))
    {
        fire(
            FraudRule::CouponSite,
            format!("the click came from {domain}"),
        );
    }
    if facts.recent_conversions > policy.velocity_limit {
        fire(
            FraudRule::Velocity,
            format!(
                "{} conversions on this link within {} min (limit {})",
                facts.recent_conversions,
                policy.velocity_window.num_minutes(),
                policy.velocity_limit
            ),
        );
    }
    signals
}

named_enum! {
    /// Where a referral stands.
    pub enum ReferralStatus as "referral status" {
        /// A rule blocked it: no reward.
        Blocked = "blocked",
        /// In the review queue until a person decides or its deadline passes.
        Flagged = "flagged",
        /// Clean, waiting out the hold period (or under the minimum).
        Pending = "pending",
        /// Rewarded.
        Approved = "approved",
        /// Refunded: its reward was reversed.
        Reversed = "reversed",
    }
}

/// The status the signals give a new conversion: a block blocks, a flag
/// flags, otherwise it is pending (a hold period) or approved at once.
pub fn status_of(signals: &[Signal], hold: Duration) -> ReferralStatus {
    if signals.iter().any(|s| s.action == FraudAction::Block) {
        ReferralStatus::Blocked
    } else if !signals.is_empty() {
        ReferralStatus::Flagged
    } else if hold > Duration::zero() {
        ReferralStatus::Pending
    } else {
        ReferralStatus::Approved
    }
}

/// What a referral earns each side, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardRule {
    /// Points for the advocate.
    pub advocate_points: i64,
    /// What the friend gets (a discount code, credit…), said in their welcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friend_reward: Option<String>,
    /// Days a clean referral waits before it pays (refunds come in this time).
    #[serde(default)]
    pub hold_days: u32,
    /// Orders under this value (in the order's currency) earn nothing.
    #[serde(default)]
    pub min_order_value: f64,
    /// Only friends new to the company count.
    #[serde(default = "yes")]
    pub new_customers_only: bool,
    /// Rewarded referrals per member in `allowance_days`; 0: no cap.
    #[serde(default)]
    pub allowance_count: u32,
    /// Rewarded order value per member in `allowance_days`; 0: no cap.
    #[serde(default)]
    pub allowance_value: f64,
    #[serde(default = "thirty")]
    pub allowance_days: u32,
    #[serde(default = "ninety")]
    pub window_days: u32,
    #[serde(default = "last_click")]
    pub attribution: Attribution,
}

fn yes() -> bool {
    true
}
fn thirty() -> u32 {
    30
}
fn ninety() -> u32 {
    90
}
fn last_click() -> Attribution {
    Attribution::LastClick
}

impl Default for RewardRule {
    fn default() -> Self {
        RewardRule {
            advocate_points: 500,
            friend_reward: Some("10% off the first order".into()),
            hold_days: 14,
            min_order_value: 0.0,
            new_customers_only: true,
            allowance_count: 10,
            allowance_value: 0.0,
            allowance_days: 30,
            window_days: DEFAULT_WINDOW_DAYS as u32,
            attribution: Attribution::LastClick,
        }
    }
}

/// Why a clean referral earns no points, or `None` when it does:
/// `rewarded` and `rewarded_value` count the member's rewarded referrals
/// in the allowance period.
pub fn reward_withheld(
    rule: &RewardRule,
    value: f64,
    rewarded: u32,
    rewarded_value: f64,
) -> Option<String> {
    if value < rule.min_order_value {
        return Some(format!(
            "the order ({value:.2}) is under the minimum ({:.2})",
            rule.min_order_value
        ));
    }
    if rule.allowance_count > 0 && rewarded >= rule.allowance_count {
        return Some(format!(
            "the member's allowance of {} referrals in {} days is used",
            rule.allowance_count, rule.allowance_days
        ));
    }
    if rule.allowance_value > 0.0 && rewarded_value + value > rule.allowance_value {
        return Some(format!(
            "the member's allowance of {:.2} in {} days would be passed",
            rule.allowance_value, rule.allowance_days
        ));
    }
    None
}

#[cfg(test)]
mod tests;
