//! The advocate program's use cases: joining, points, rewards and their
//! redemptions, referral links, clicks and conversions (attribution, the
//! fraud rules, the reward rule), refunds, and the leaderboard. The rules
//! are vouch-domain's (`program`, `program::referrals`); the store keeps
//! the ledger append-only and spends under the member's lock.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use vouch_domain::program::referrals::{
    self, ClickSeen, FraudPolicy, ReferralFacts, ReferralStatus, RewardRule,
};
use vouch_domain::program::{
    self as rules, EntryKind, Fulfilment, JoinedBy, MemberStatus, Period, RedemptionRefusal,
    RedemptionState, Tier,
};
use vouch_domain::{CustomerId, Email};
use vouch_store::{
    LedgerEntry, LedgerRefusal, Member, NewClick, NewEntry, NewReferral, Redemption, Referral,
    ReferralClick, ReferralLink, Settlement, Store, StoreError,
};

use crate::{AppError, Result};

/// The program's settings, kept in the database (`program.*` settings) so
/// every instance and the demo read the same ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramSettings {
    pub tiers: Vec<Tier>,
    pub referral: RewardRule,
    /// Where a referral link sends the friend (`?ref=CODE&click=ID` is added).
    pub landing_url: String,
    /// Hosts a link's `to` may send the friend to; the landing URL's host
    /// always may. Nothing else: `/r/` is not an open redirect.
    #[serde(default)]
    pub redirect_hosts: Vec<String>,
    /// Days a flagged referral may wait in review.
    pub review_days: u32,
    /// The terms members accept, by version.
    pub terms_version: String,
    /// Unspent points expire this many months after they were earned
    /// (the oldest first); none: they never do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_months: Option<u32>,
    /// Whether anyone may ask to join on the open join page; when not,
    /// joining there needs a join code.
    #[serde(default = "yes")]
    pub open_sign_up: bool,
    /// A gift-code reward whose codes go to referred friends (the other
    /// side of a double-sided reward): one per referral that is not
    /// blocked or flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friend_reward_id: Option<i64>,
}

fn yes() -> bool {
    true
}

impl Default for ProgramSettings {
    fn default() -> Self {
        ProgramSettings {
            tiers: rules::default_tiers(),
            referral: RewardRule::default(),
            landing_url: "https://example.com/".into(),
            redirect_hosts: Vec::new(),
            review_days: 7,
            terms_version: "2026-12".into(),
            expire_months: None,
            open_sign_up: true,
            friend_reward_id: None,
        }
    }
}

const SETTINGS_KEY: &str = "program.settings";

/// The program's settings, or the defaults.
pub async fn settings(store: &Store) -> Result<ProgramSettings> {
    Ok(store
        .settings()
        .await?
        .get(SETTINGS_KEY)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default())
}

/// Saves the program's settings after checking them.
pub async fn save_settings(store: &Store, settings: &ProgramSettings) -> Result<()> {
    if settings.tiers.is_empty() {
        return Err(AppError::Refused(
            "a program needs at least one tier".into(),
        ));
    }
    if settings
        .tiers
        .windows(2)
        .any(|w| w[1].min_points < w[0].min_points)
    {
        return Err(AppError::Refused(
            "tiers go from the fewest points to the most".into(),
        ));
    }
    if !(settings.landing_url.starts_with("https://")
        || settings.landing_url.starts_with("http://"))
    {
        return Err(AppError::Refused(
            "the landing URL is an http(s) address".into(),
        ));
    }
    if settings
        .tiers
        .iter()
        .any(|t| t.name.trim().is_empty() || t.name.chars().count() > 100)
        || settings.tiers.len() > 20
    {
        return Err(AppError::Refused(
            "1 to 20 tiers, each named in 1 to 100 characters".into(),
        ));
    }
    if settings.landing_url.len() > 2_000
        || settings.redirect_hosts.len() > 50
        || settings
            .redirect_hosts
            .iter()
            .any(|h| h.is_empty() || h.len() > 253 || h.contains(['/', ':', '@', ' ']))
    {
        return Err(AppError::Refused(
            "the landing URL is at most 2000 characters; redirect hosts are up to 50 bare host names".into(),
        ));
    }
    let rule = &settings.referral;
    if !(0..=1_000_000).contains(&rule.advocate_points)
        || rule.window_days == 0
        || rule.window_days > 3_650
        || rule.hold_days > 365
        || rule.allowance_days > 3_650
        || !rule.min_order_value.is_finite()
        || rule.min_order_value < 0.0
        || !rule.allowance_value.is_finite()
        || rule.allowance_value < 0.0
        || settings.review_days > 365
        || settings.expire_months.is_some_and(|m| m > 120)
    {
        return Err(AppError::Refused(
            "a referral rule within bounds: 0 to 1000000 points, a window of 1 to 3650 days, a hold of at most 365, amounts ≥ 0; review within 365 days; expiry within 120 months".into(),
        ));
    }
    let json = serde_json::to_string(settings).expect("settings serialise");
    store.set_setting(SETTINGS_KEY, &json).await?;
    Ok(())
}

/// A member with what the program derives for them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    #[serde(flatten)]
    pub member: Member,
    pub tier: Option<String>,
    /// The next tier and the points still needed; none at the top.
    pub next_tier: Option<NextTier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NextTier {
    pub name: String,
    pub points_needed: i64,
}

/// `member` as the API and the portal show them.
pub fn view(settings: &ProgramSettings, member: Member) -> MemberView {
    let (lifetime, badges) = (member.points.lifetime, member.badges);
    MemberView {
        tier: rules::tier_for(&settings.tiers, lifetime, badges).map(|t| t.name.clone()),
        next_tier: rules::next_tier(&settings.tiers, lifetime, badges).map(|(t, n)| NextTier {
            name: t.name.clone(),
            points_needed: n,
        }),
        member,
    }
}

/// Adds a customer (by id, email or external id) to the program, or
/// finds them there: `(member, true)` when they joined now.
pub async fn join(
    store: &Store,
    customer: &str,
    by: JoinedBy,
    accepted_terms: bool,
) -> Result<(Member, bool)> {
    let customer = store.find_customer(customer).await?;
    let terms = if accepted_terms {
        Some(settings(store).await?.terms_version)
    } else {
        None
    };
    Ok(store
        .add_member(customer.id, by, terms.as_deref(), Utc::now())
        .await?)
}

/// Points to award or correct by hand or through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Award {
    pub member: i64,
    pub amount: i64,
    pub reason: String,
    pub idempotency_key: String,
    pub source: String,
    pub actor: String,
}

/// Writes an award (positive: `earn`; negative: an `adjust` that may not
/// overdraw), once per idempotency key: `(entry, true)` when new.
pub async fn award(
    store: &Store,
    award: &Award,
) -> Result<std::result::Result<(LedgerEntry, bool), LedgerRefusal>> {
    let kind = if award.amount > 0 {
        EntryKind::Earn
    } else {
        EntryKind::Adjust
    };
    if let Some(m) = store.member(award.member).await?
        && award.amount > 0
        && m.status != MemberStatus::Active
    {
        return Err(AppError::Refused(format!(
            "member {} is {}: they earn nothing now",
            m.id, m.status
        )));
    }
    let written = store
        .add_entry(
            &NewEntry {
                member_id: award.member,
                kind,
                amount: award.amount,
                reason: award.reason.clone(),
                source: award.source.clone(),
                actor: award.actor.clone(),
                idempotency_key: award.idempotency_key.clone(),
                redemption_id: None,
                reverses: None,
            },
            Utc::now(),
        )
        .await?;
    if matches!(written, Ok((_, true))) {
        refresh_badges(store, award.member).await?;
    }
    Ok(written)
}

/// Gives a member the automatic badges they have earned and lack (by
/// count of earning entries from a source, or by lifetime points); the
/// names of those given now.
pub async fn refresh_badges(store: &Store, member: i64) -> Result<Vec<String>> {
    let Some(m) = store.member(member).await? else {
        return Ok(Vec::new());
    };
    let held: Vec<i64> = store
        .member_badges(member)
        .await?
        .into_iter()
        .map(|(b, _)| b.id)
        .collect();
    let counts = store.earning_counts(member).await?;
    let count = |source: &str| {
        counts
            .iter()
            .find(|(s, _)| s == source)
            .map_or(0, |(_, n)| *n as u32)
    };
    let mut given = Vec::new();
    for badge in store.badges().await? {
        if !held.contains(&badge.id)
            && badge.rule.earned(m.points.lifetime, count)
            && store
                .award_badge(member, &badge, "vouch", Utc::now())
                .await?
        {
            given.push(badge.name);
        }
    }
    Ok(given)
}

/// A member asks for a reward: refused by the rules (points, status,
/// tier, the member's limit, a withdrawn reward), or requested with its
/// points held. An automatic reward for a trusted member is fulfilled at
/// once; everything else waits for a person. None: no such member or reward.
pub async fn redeem(
    store: &Store,
    member: i64,
    reward: i64,
) -> Result<Option<std::result::Result<Redemption, RedemptionRefusal>>> {
    let settings = settings(store).await?;
    let decided = store
        .request_redemption(
            member,
            reward,
            |check| {
                let (m, r) = (&check.member, &check.reward);
                if m.status != MemberStatus::Active {
                    return Err(RedemptionRefusal::NotActive(m.status));
                }
                if !r.active {
                    return Err(RedemptionRefusal::Withdrawn);
                }
                let tier = rules::tier_for(&settings.tiers, m.points.lifetime, m.badges);
                if !rules::tier_allows(
                    &settings.tiers,
                    tier.map(|t| t.name.as_str()),
                    r.min_tier.as_deref(),
                ) {
                    return Err(RedemptionRefusal::TierTooLow(
                        r.min_tier.clone().unwrap_or_default(),
                    ));
                }
                if let Some(limit) = r.per_member_limit
                    && check.had >= limit as u32
                {
                    return Err(RedemptionRefusal::LimitReached(check.had));
                }
                if m.points.spendable < r.points {
                    return Err(RedemptionRefusal::InsufficientPoints {
                        needed: r.points,
                        spendable: m.points.spendable,
                    });
                }
                let fulfilment: Fulfilment = r.fulfilment.parse().unwrap_or(Fulfilment::Manual);
                Ok(rules::first_state(
                    fulfilment,
                    m.trusted,
                    r.stock.is_none_or(|s| s > 0),
                ))
            },
            Utc::now(),
        )
        .await?;
    let Some(Ok(redemption)) = decided else {
        return Ok(decided);
    };
    let reward = store.reward(redemption.reward_id).await?;
    if redemption.state == RedemptionState::Approved.as_str()
        && reward.is_some_and(|r| r.fulfilment == Fulfilment::Auto.as_str())
    {
        let fulfilled = store
            .move_redemption(
                redemption.id,
                RedemptionState::Fulfilled,
                Some("fulfilled automatically"),
                "vouch",
                Utc::now(),
            )
            .await?;
        if let Some(Ok(done)) = fulfilled {
            return Ok(Some(Ok(done)));
        }
    }
    Ok(Some(Ok(redemption)))
}

/// Draws a referral code from the OS random generator.
pub fn new_code() -> String {
    loop {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the OS random generator works");
        if let Some(code) = referrals::code_from_random(&bytes) {
            return code;
        }
    }
}

/// A member's referral link: their generated one (made on first ask), or
/// a new vanity code with an optional click cap.
pub async fn referral_link(
    store: &Store,
    member: i64,
    vanity: Option<&str>,
    click_cap: Option<i64>,
) -> Result<(ReferralLink, bool)> {
    let Some(m) = store.member(member).await? else {
        return Err(StoreError::NotFound {
            what: "member",
            key: member.to_string(),
        }
        .into());
    };
    if m.status != MemberStatus::Active {
        return Err(AppError::Refused(format!(
            "member {member} is {}",
            m.status
        )));
    }
    let now = Utc::now();
    if let Some(vanity) = vanity {
        let code = referrals::normalise_code(vanity);
        referrals::check_vanity(&code).map_err(AppError::Refused)?;
        return match store
            .add_referral_link(member, &code, true, click_cap, now)
            .await
        {
            Ok(link) => Ok((link, true)),
            Err(e) if e.is_unique_violation() => match store.referral_link(&code).await? {
                Some(link) if link.member_id == member => Ok((link, false)),
                _ => Err(AppError::Conflict(format!("the code {code} is taken"))),
            },
            Err(e) => Err(e.into()),
        };
    }
    if let Some(link) = store
        .referral_links_of(member)
        .await?
        .into_iter()
        .find(|l| !l.vanity)
    {
        return Ok((link, false));
    }
    loop {
        match store
            .add_referral_link(member, &new_code(), false, click_cap, now)
            .await
        {
            Ok(link) => return Ok((link, true)),
            // 31^8 codes: a clash is rare; draw again.
            Err(e) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The public address of a link.
pub fn link_url(public_url: &str, code: &str) -> String {
    format!("{}/r/{code}", public_url.trim_end_matches('/'))
}

/// A visitor following a referral link, as the server saw them.
#[derive(Debug, Clone, Default)]
pub struct Visit {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    /// The visitor cookie (set by `/r/` and the portal).
    pub cookie: Option<String>,
    /// The `Referer` header.
    pub referer: Option<String>,
    /// Where the link asks to go (`?to=`), if anywhere.
    pub to: Option<String>,
}

/// Where a click sends the friend, and the click recorded.
#[derive(Debug, Clone)]
pub struct Followed {
    pub click: Option<ReferralClick>,
    pub redirect: String,
}

/// A key of this instance's for hashing what identifies a visitor
/// (sealed at rest like the other secrets).
async fn visitor_key(store: &Store) -> Result<String> {
    Ok(store
        .keep_secret_setting("visitor_key", &crate::secrets::new_secret())
        .await?)
}

fn keyed_hash(key: &str, what: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(what.as_bytes());
    mac.update(b"\0");
    mac.update(value.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An address truncated before it is hashed: IPv4 to its /24, IPv6 to its /48.
pub fn truncated_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// The hashes a visit leaves: `(ip, user agent, cookie)`.
pub async fn visit_hashes(
    store: &Store,
    visit: &Visit,
) -> Result<(Option<String>, Option<String>, Option<String>)> {
    let key = visitor_key(store).await?;
    Ok((
        visit.ip.map(|ip| keyed_hash(&key, "ip", &truncated_ip(ip))),
        visit
            .user_agent
            .as_deref()
            .map(|ua| keyed_hash(&key, "agent", ua)),
        visit
            .cookie
            .as_deref()
            .map(|c| keyed_hash(&key, "cookie", c)),
    ))
}

/// The host of an http(s) URL, lower-cased.
fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest
        .split(['/', '?', '#'])
        .next()?
        .rsplit('@')
        .next()?
        .split(':')
        .next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Where a link may send the friend: `to` when its host is allowed, else
/// the landing URL; the code and click id are added for the shop to pass back.
pub fn redirect_for(
    settings: &ProgramSettings,
    to: Option<&str>,
    code: &str,
    click: Option<&str>,
) -> String {
    let landing_host = host_of(&settings.landing_url);
    let target = to
        .filter(|t| {
            host_of(t).is_some_and(|h| {
                Some(&h) == landing_host.as_ref()
                    || settings
                        .redirect_hosts
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(&h))
            })
        })
        .unwrap_or(&settings.landing_url);
    let mut query = vec![("ref", code)];
    if let Some(click) = click {
        query.push(("click", click));
    }
    let joiner = if target.contains('?') { '&' } else { '?' };
    format!(
        "{target}{joiner}{}",
        serde_urlencoded::to_string(query).unwrap_or_default()
    )
}

/// Follows `/r/{code}`: records the click (hashes only) unless the link
/// is off or capped, and says where to send the friend. None: no such code.
pub async fn follow(store: &Store, code: &str, visit: &Visit) -> Result<Option<Followed>> {
    let settings = settings(store).await?;
    let Some(link) = store
        .referral_link(&referrals::normalise_code(code))
        .await?
    else {
        return Ok(None);
    };
    let (ip_hash, agent_hash, cookie_hash) = visit_hashes(store, visit).await?;
    let referring_domain = visit.referer.as_deref().and_then(host_of);
    let click = store
        .record_click(
            &link,
            &NewClick {
                click_key: crate::secrets::new_secret()[..20].to_owned(),
                ip_hash,
                agent_hash,
                cookie_hash,
                referring_domain,
            },
            Utc::now(),
        )
        .await?;
    Ok(Some(Followed {
        redirect: redirect_for(
            &settings,
            visit.to.as_deref(),
            &link.code,
            click.as_ref().map(|c| c.click_key.as_str()),
        ),
        click,
    }))
}

/// A conversion reported by the shop (the API or a CSV import).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversion {
    pub code: Option<String>,
    pub click: Option<String>,
    pub external_order_id: String,
    /// In hundredths of the currency.
    pub value_cents: i64,
    pub currency: String,
    pub email: Option<String>,
    pub customer: Option<String>,
}

/// Why a conversion was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionRefusal {
    #[error("no referral link has the code {0}")]
    UnknownCode(String),
    #[error("no click has the id {0}")]
    UnknownClick(String),
    #[error("no click on a referral link within the {0}-day attribution window")]
    OutsideWindow(u32),
    #[error("a conversion names a code or a click")]
    NoCodeOrClick,
}

/// A conversion as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub referral: Referral,
    /// False: the order was reported before and nothing was written.
    pub new: bool,
    /// The friend's side of the reward: a gift code from the program's
    /// friend reward, for a referral that is neither blocked nor flagged.
    pub friend_code: Option<String>,
}

/// Records a conversion: attributes it (a click id → the visitor's
/// clicks in the window, first or last; a code → that link), runs the
/// fraud rules, decides its status and its reward, and writes it once
/// per external order id (`new: false` for a retry, with the same friend
/// code).
pub async fn convert(
    store: &Store,
    c: &Conversion,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Converted, ConversionRefusal>> {
    let settings = settings(store).await?;
    if let Some(existing) = store.referral_by_order(&c.external_order_id).await? {
        let friend_code = friend_code(store, &settings, &existing, now).await?;
        return Ok(Ok(Converted {
            referral: existing,
            new: false,
            friend_code,
        }));
    }
    let rule = &settings.referral;
    let window = Duration::days(i64::from(rule.window_days));
    let (link, click) = match (&c.click, &c.code) {
        (Some(key), _) => {
            let Some(clicked) = store.click_by_key(key).await? else {
                return Ok(Err(ConversionRefusal::UnknownClick(key.clone())));
            };
            // The visitor's clicks on any link, when their cookie is known.
            let mut clicks = match &clicked.cookie_hash {
                Some(cookie) => store.clicks_by_cookie(cookie).await?,
                None => vec![clicked.clone()],
            };
            if clicks.is_empty() {
                clicks.push(clicked.clone());
            }
            let seen: Vec<ClickSeen> = clicks
                .iter()
                .map(|k| ClickSeen {
                    id: k.id,
                    link_id: k.link_id,
                    at: k.at,
                })
                .collect();
            let Some(chosen) = referrals::attribute(&seen, now, window, rule.attribution) else {
                return Ok(Err(ConversionRefusal::OutsideWindow(rule.window_days)));
            };
            let click = clicks
                .into_iter()
                .find(|k| k.id == chosen.id)
                .expect("chosen from them");
            let link = store
                .referral_link_by_id(click.link_id)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "referral link",
                    key: click.link_id.to_string(),
                })?;
            (link, Some(click))
        }
        (None, Some(code)) => {
            let code = referrals::normalise_code(code);
            match store.referral_link(&code).await? {
                Some(link) => (link, None),
                None => return Ok(Err(ConversionRefusal::UnknownCode(code))),
            }
        }
        (None, None) => return Ok(Err(ConversionRefusal::NoCodeOrClick)),
    };
    let advocate = store
        .member(link.member_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "member",
            key: link.member_id.to_string(),
        })?;
    let advocate_customer = match advocate.customer_id {
        Some(id) => store.customer(CustomerId(id)).await?,
        None => None,
    };
    let friend_email = c
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .map(|e| e.as_str().to_owned());
    let friend = match (&c.customer, &friend_email) {
        (Some(key), _) => store.find_customer(key).await.ok(),
        (None, Some(email)) => store.find_customer(email).await.ok(),
        _ => None,
    };
    let friend_key = friend_email
        .as_deref()
        .map(referrals::person_key)
        .or_else(|| friend.as_ref().map(|f| format!("customer:{}", f.id)));
    let since = click.as_ref().map_or(now, |k| k.at);
    let (same_cookie, same_ip_and_agent) = match &click {
        Some(k) => store.seen_on_member_device(advocate.id, k).await?,
        None => (false, false),
    };
    let facts = ReferralFacts {
        advocate_email: advocate_customer
            .as_ref()
            .and_then(|a| a.profile.email.as_ref())
            .map(|e| e.as_str().to_owned()),
        advocate_customer: advocate.customer_id,
        friend_email: friend_email.clone(),
        friend_customer: friend.as_ref().map(|f| f.id.0),
        friend_existed_before: rule.new_customers_only
            && friend
                .as_ref()
                .is_some_and(|f| f.profile.created_at < since),
        referred_before_by: match &friend_key {
            Some(k) => store.first_referrer_of(k, advocate.id).await?,
            None => None,
        },
        same_cookie,
        same_ip_and_agent,
        referring_domain: click.as_ref().and_then(|k| k.referring_domain.clone()),
        recent_conversions: store
            .conversions_since(link.id, now - FraudPolicy::default().velocity_window)
            .await?
            + 1,
    };
    let signals = referrals::check(&facts, &FraudPolicy::default());
    let hold = Duration::days(i64::from(rule.hold_days));
    let status = referrals::status_of(&signals, hold);
    let (rewarded, rewarded_value) = store
        .rewarded_since(
            advocate.id,
            now - Duration::days(i64::from(rule.allowance_days)),
        )
        .await?;
    let withheld = matches!(status, ReferralStatus::Pending | ReferralStatus::Approved)
        .then(|| {
            referrals::reward_withheld(
                rule,
                c.value_cents as f64 / 100.0,
                rewarded,
                rewarded_value as f64 / 100.0,
            )
        })
        .flatten();
    let earn = (status == ReferralStatus::Approved && withheld.is_none())
        .then_some(rule.advocate_points)
        .filter(|p| *p > 0);
    let referral = NewReferral {
        link_id: link.id,
        member_id: advocate.id,
        click_id: click.as_ref().map(|k| k.id),
        external_order_id: c.external_order_id.clone(),
        value_cents: c.value_cents,
        currency: c.currency.to_ascii_uppercase(),
        friend_email,
        friend_key,
        friend_customer_id: friend.as_ref().map(|f| f.id),
        status,
        signals,
        withheld,
        review_due: (status == ReferralStatus::Flagged)
            .then(|| now + Duration::days(i64::from(settings.review_days))),
        // A flagged referral approved in review still waits out the hold.
        pays_at: matches!(status, ReferralStatus::Pending | ReferralStatus::Flagged)
            .then(|| now + hold),
        earn,
    };
    let (referral, new) = store.add_referral(&referral, now).await?;
    // A referral that is not blocked names who brought the friend, so the
    // referral rate among new customers counts them.
    if new
        && referral.status != ReferralStatus::Blocked.as_str()
        && let (Some(friend), Some(advocate)) = (&friend, advocate.customer_id)
        && friend.profile.referred_by.is_none()
        && friend.id.0 != advocate
    {
        store.set_referrer(friend.id, CustomerId(advocate)).await?;
    }
    let friend_code = friend_code(store, &settings, &referral, now).await?;
    Ok(Ok(Converted {
        referral,
        new,
        friend_code,
    }))
}

/// The friend's gift code of `referral` (handed out once, then the same):
/// none without a friend reward, for a blocked or flagged referral, or
/// when the friend reward has no code left.
async fn friend_code(
    store: &Store,
    settings: &ProgramSettings,
    referral: &Referral,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Some(reward) = settings.friend_reward_id else {
        return Ok(None);
    };
    let earns = [ReferralStatus::Pending, ReferralStatus::Approved]
        .iter()
        .any(|s| s.as_str() == referral.status);
    if !earns {
        return Ok(None);
    }
    Ok(store.friend_code(reward, referral.id, now).await?)
}

/// A staff decision on a flagged referral: approve (it pays, or waits out
/// its hold) or block. False when it is not in the review queue.
pub async fn decide(store: &Store, id: i64, approve: bool, actor: &str) -> Result<bool> {
    let settings = settings(store).await?;
    let Some(r) = store.referral(id).await? else {
        return Ok(false);
    };
    let now = Utc::now();
    let paid_now = approve && r.pays_at.is_none_or(|at| at <= now);
    let settlement = Settlement {
        from: vec![ReferralStatus::Flagged],
        to: match (approve, paid_now) {
            (false, _) => ReferralStatus::Blocked,
            (true, true) => ReferralStatus::Approved,
            (true, false) => ReferralStatus::Pending,
        },
        earn: (paid_now && r.withheld.is_none()).then_some(settings.referral.advocate_points),
        reverse: false,
    };
    let settled = store.settle_referral(id, &settlement, actor, now).await?;
    if settled {
        refresh_badges(store, r.member_id).await?;
    }
    Ok(settled)
}

/// A refund of a referred order: the referral is reversed and the points
/// it paid are taken back (a new offsetting entry). False: no such order.
pub async fn refund(store: &Store, external_order_id: &str, actor: &str) -> Result<bool> {
    let Some(r) = store.referral_by_order(external_order_id).await? else {
        return Ok(false);
    };
    let settlement = Settlement {
        from: vec![
            ReferralStatus::Pending,
            ReferralStatus::Approved,
            ReferralStatus::Flagged,
        ],
        to: ReferralStatus::Reversed,
        earn: None,
        reverse: true,
    };
    store
        .settle_referral(r.id, &settlement, actor, Utc::now())
        .await?;
    Ok(true)
}

/// Pays the pending referrals whose hold has ended; how many.
pub async fn pay_due_referrals(store: &Store, now: DateTime<Utc>) -> Result<usize> {
    let settings = settings(store).await?;
    let mut paid = 0;
    for r in store.referrals_due(now).await? {
        let settlement = Settlement {
            from: vec![ReferralStatus::Pending],
            to: ReferralStatus::Approved,
            earn: r
                .withheld
                .is_none()
                .then_some(settings.referral.advocate_points)
                .filter(|p| *p > 0),
            reverse: false,
        };
        if store
            .settle_referral(r.id, &settlement, "vouch", now)
            .await?
        {
            refresh_badges(store, r.member_id).await?;
            paid += 1;
        }
    }
    Ok(paid)
}

/// Expires unspent points older than the program's `expire_months` (the
/// oldest first), once per member and month (`expire:MEMBER:YYYY-MM`);
/// how many members lost points.
pub async fn expire_points(store: &Store, now: DateTime<Utc>) -> Result<usize> {
    let Some(months) = settings(store).await?.expire_months.filter(|m| *m > 0) else {
        return Ok(0);
    };
    let cutoff = now
        .checked_sub_months(chrono::Months::new(months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut expired = 0;
    for (member, earned_before, used) in store.expiry_inputs(cutoff).await? {
        let spendable = store.balance(member).await?.spendable;
        let amount = rules::expiring(earned_before, used, spendable);
        if amount == 0 {
            continue;
        }
        let entry = NewEntry {
            member_id: member,
            kind: EntryKind::Expire,
            amount: -amount,
            reason: format!("unspent points older than {months} months"),
            source: "expiry".into(),
            actor: "vouch".into(),
            idempotency_key: format!("expire:{member}:{}", now.format("%Y-%m")),
            redemption_id: None,
            reverses: None,
        };
        if matches!(store.add_entry(&entry, now).await?, Ok((_, true))) {
            expired += 1;
        }
    }
    Ok(expired)
}

/// One row of a leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Place {
    pub rank: u32,
    pub member_id: i64,
    pub customer_id: Option<i64>,
    /// The member's name as the board shows it (first name and initial).
    pub name: String,
    pub points: i64,
}

/// The leaderboard for the period holding `now`: active members by points
/// earned in it, ties to whoever got there first. `exclude` leaves out
/// members whose customer has one of these `attribute=value` pairs
/// (staff accounts, a test segment); `only` keeps just those with it.
pub async fn leaderboard(
    store: &Store,
    period: Period,
    only: Option<(&str, &str)>,
    exclude: Option<(&str, &str)>,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Place>> {
    let standings = store.standings(period.start(now)).await?;
    let mut kept = Vec::new();
    for (member_id, points, reached_at) in standings {
        let Some(m) = store.member(member_id).await? else {
            continue;
        };
        let customer = match m.customer_id {
            Some(c) => store.customer(CustomerId(c)).await?,
            None => None,
        };
        let has = |(k, v): (&str, &str)| {
            customer
                .as_ref()
                .is_some_and(|c| c.profile.attributes.get(k).is_some_and(|x| x == v))
        };
        if only.is_some_and(|o| !has(o)) || exclude.is_some_and(has) {
            continue;
        }
        kept.push((
            rules::Standing {
                member_id,
                points,
                reached_at,
            },
            m.customer_id,
            customer
                .and_then(|c| c.profile.name)
                .map(|n| short_name(&n)),
        ));
    }
    let names: std::collections::HashMap<i64, (Option<i64>, Option<String>)> = kept
        .iter()
        .map(|(s, c, n)| (s.member_id, (*c, n.clone())))
        .collect();
    Ok(
        rules::leaderboard(kept.into_iter().map(|(s, _, _)| s).collect())
            .into_iter()
            .take(limit)
            .map(|(rank, s)| {
                let (customer_id, name) = names.get(&s.member_id).cloned().unwrap_or_default();
                Place {
                    rank,
                    member_id: s.member_id,
                    customer_id,
                    name: name.unwrap_or_else(|| format!("Member {}", s.member_id)),
                    points: s.points,
                }
            })
            .collect(),
    )
}

/// "Ana Popescu" → "Ana P.": a board shows no full names.
pub fn short_name(name: &str) -> String {
    let mut parts = name.split_whitespace();
    match (parts.next(), parts.last()) {
        (Some(first), Some(last)) => {
            format!("{first} {}.", last.chars().next().unwrap_or(' '))
        }
        (Some(first), None) => first.to_owned(),
        _ => String::new(),
    }
}

/// The customers who are promoters at `now`: their latest signal in the
/// category window says so.
pub async fn promoters_now(
    store: &Store,
    lookback: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<CustomerId>> {
    let mut promoters: Vec<CustomerId> = categories_now(store, lookback, now)
        .await?
        .into_iter()
        .filter(|(_, c)| *c == vouch_domain::LoyaltyCategory::Promoter)
        .map(|(id, _)| id)
        .collect();
    promoters.sort_unstable();
    Ok(promoters)
}

/// Every customer with a category now (their signals in `lookback` decide).
pub async fn categories_now(
    store: &Store,
    lookback: Duration,
    now: DateTime<Utc>,
) -> Result<std::collections::HashMap<CustomerId, vouch_domain::LoyaltyCategory>> {
    let signals = store.all_category_signals(now - lookback, now).await?;
    let mut out = std::collections::HashMap::new();
    for group in signals.chunk_by(|a, b| a.0 == b.0) {
        let own: Vec<_> = group.iter().map(|(_, s)| *s).collect();
        if let Some(a) = vouch_domain::category_at(&own, now, lookback) {
            out.insert(group[0].0, a.category);
        }
    }
    Ok(out)
}

/// The program's KPIs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProgramKpis {
    pub active_advocates: i64,
    /// Of the customers who are promoters now, the share enrolled.
    pub promoters_enrolled_share: Option<f64>,
    /// Earning entries per active advocate (all time).
    pub actions_per_advocate: Option<f64>,
    /// Conversions not blocked per click.
    pub referral_conversion_rate: Option<f64>,
    /// Approved referral revenue, in hundredths, by currency mixed (one currency assumed).
    pub referral_revenue_cents: i64,
    /// Approved referral revenue per earning entry.
    pub value_per_action_cents: Option<f64>,
}

/// The program's KPIs now; `promoters` is the set of customers who are
/// promoters (the caller reads it from the category signals).
pub async fn kpis(store: &Store, promoters: &[CustomerId]) -> Result<ProgramKpis> {
    let (active, referrals, revenue, clicks) = store.program_counts().await?;
    let members = store
        .members(Some(MemberStatus::Active), None, 100_000)
        .await?;
    let enrolled: std::collections::HashSet<i64> =
        members.iter().filter_map(|m| m.customer_id).collect();
    let promoters_enrolled = promoters.iter().filter(|p| enrolled.contains(&p.0)).count();
    let actions = store.count_earning_entries().await?;
    let share = |n: f64, d: f64| (d > 0.0).then(|| n / d);
    Ok(ProgramKpis {
        active_advocates: active,
        promoters_enrolled_share: share(promoters_enrolled as f64, promoters.len() as f64),
        actions_per_advocate: share(actions as f64, active as f64),
        referral_conversion_rate: share(referrals as f64, clicks as f64),
        referral_revenue_cents: revenue,
        value_per_action_cents: share(revenue as f64, actions as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hundred_thousand_codes_are_unique_and_have_no_look_alikes() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let code = new_code();
            assert_eq!(code.len(), referrals::CODE_LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L', 'l']), "{code}");
            assert!(seen.insert(code.clone()), "{code} drawn twice");
        }
    }

    #[test]
    fn redirects_go_only_to_the_landing_host_or_an_allowed_one() {
        let settings = ProgramSettings {
            landing_url: "https://shop.example/welcome".into(),
            redirect_hosts: vec!["blog.shop.example".into()],
            ..ProgramSettings::default()
        };
        let go = |to| redirect_for(&settings, to, "ABC23456", Some("k1"));
        assert_eq!(
            go(None),
            "https://shop.example/welcome?ref=ABC23456&click=k1"
        );
        assert_eq!(
            go(Some("https://blog.shop.example/post?x=1")),
            "https://blog.shop.example/post?x=1&ref=ABC23456&click=k1"
        );
        for evil in [
            "https://evil.example/",
            "https://shop.example.evil.example/",
            "https://shop.example@evil.example/",
            "//evil.example/",
            "javascript:alert(1)",
        ] {
            assert!(
                go(Some(evil)).starts_with("https://shop.example/welcome?"),
                "{evil}"
            );
        }
    }

    #[test]
    fn addresses_are_truncated_before_hashing() {
        assert_eq!(
            truncated_ip("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            truncated_ip("2001:db8:abcd:12::1".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(short_name("Ana Maria Popescu"), "Ana P.");
    }
}

/// What a member hands in for a stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageInput {
    pub answer: Option<String>,
    pub url: Option<String>,
    /// `(name, bytes)`: the type is read from the bytes.
    pub file: Option<(String, Vec<u8>)>,
}

/// Why a submission was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionRefusal {
    #[error("the challenge is closed (paused, outside its dates, or full)")]
    Closed,
    #[error("this challenge is not for this member")]
    NotTargeted,
    #[error("the member is not active in the program")]
    NotActive,
    #[error("the previous stage is waiting for approval")]
    Waiting,
    #[error("the member has completed this challenge as often as it allows")]
    Done,
    #[error("{0}")]
    Invalid(String),
}

/// Where a member is in a challenge: the round and the stage to do next
/// (none while one waits for approval, or when all rounds are done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Next { round: i32, stage: usize },
    Waiting { round: i32, stage: usize },
    Done,
}

/// A member's progress through `challenge` from their submissions.
pub fn progress(
    spec: &vouch_domain::program::challenges::ChallengeSpec,
    submissions: &[vouch_store::Submission],
) -> Progress {
    let round = submissions.iter().map(|s| s.round).max().unwrap_or(1);
    let here: Vec<_> = submissions.iter().filter(|s| s.round == round).collect();
    if let Some(waiting) = here.iter().find(|s| s.state == "submitted") {
        return Progress::Waiting {
            round,
            stage: waiting.stage as usize,
        };
    }
    let approved = (0..spec.stages.len())
        .take_while(|i| {
            here.iter()
                .any(|s| s.stage as usize == *i && s.state == "approved")
        })
        .count();
    if approved < spec.stages.len() {
        return Progress::Next {
            round,
            stage: approved,
        };
    }
    if (round as u32) < spec.per_member_limit {
        Progress::Next {
            round: round + 1,
            stage: 0,
        }
    } else {
        Progress::Done
    }
}

/// A member hands in the next stage of a challenge: checked (open,
/// targeted, in order, the stage's input), then approved at once and paid,
/// or left for a person (reviews, uploads, approval stages). A review or
/// answer from a member who earns points carries the disclosure.
pub async fn submit(
    store: &Store,
    member: i64,
    challenge: i64,
    input: StageInput,
) -> Result<Option<std::result::Result<vouch_store::Submission, SubmissionRefusal>>> {
    use vouch_domain::program::challenges::{self, StageKind};
    let (Some(m), Some(c)) = (
        store.member(member).await?,
        store.challenge(challenge).await?,
    ) else {
        return Ok(None);
    };
    let refuse = |r| Ok(Some(Err(r)));
    if m.status != MemberStatus::Active {
        return refuse(SubmissionRefusal::NotActive);
    }
    let spec = &c.spec;
    let last = spec.stages.len() as i32 - 1;
    if !c.active || !spec.open_at(Utc::now()) {
        return refuse(SubmissionRefusal::Closed);
    }
    if let Some(total) = spec.total_limit
        && store.challenge_completions(c.id, last).await? >= i64::from(total)
    {
        return refuse(SubmissionRefusal::Closed);
    }
    let settings = settings(store).await?;
    let customer = match m.customer_id {
        Some(id) => store.customer(CustomerId(id)).await?,
        None => None,
    };
    let tier =
        rules::tier_for(&settings.tiers, m.points.lifetime, m.badges).map(|t| t.name.clone());
    let category = match m.customer_id {
        Some(id) => {
            let signals = store.category_signals(CustomerId(id)).await?;
            vouch_domain::category_at(
                &signals,
                Utc::now(),
                Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS),
            )
            .map(|a| a.category)
        }
        None => None,
    };
    let attributes = customer
        .as_ref()
        .map(|c| c.profile.attributes.clone())
        .unwrap_or_default();
    if !spec.targets(tier.as_deref(), category, &attributes) {
        return refuse(SubmissionRefusal::NotTargeted);
    }
    let (round, index) = match progress(spec, &store.submissions_of(member, c.id).await?) {
        Progress::Next { round, stage } => (round, stage),
        Progress::Waiting { .. } => return refuse(SubmissionRefusal::Waiting),
        Progress::Done => return refuse(SubmissionRefusal::Done),
    };
    let stage = &spec.stages[index];
    let invalid = |why: &str| Ok(Some(Err(SubmissionRefusal::Invalid(why.to_owned()))));
    let text = |t: &Option<String>| {
        t.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let answer = text(&input.answer);
    let url = text(&input.url);
    if answer.as_ref().is_some_and(|a| a.chars().count() > 5_000) {
        return invalid("an answer has at most 5000 characters");
    }
    if url.as_ref().is_some_and(|u| {
        u.len() > 2_000 || !(u.starts_with("https://") || u.starts_with("http://"))
    }) {
        return invalid("the link is an http(s) address");
    }
    let mut file = None;
    match stage.kind {
        StageKind::Answer if answer.is_none() => return invalid("this stage needs an answer"),
        StageKind::ShareLink | StageKind::Action | StageKind::Review if url.is_none() => {
            return invalid("this stage needs the link to what you did");
        }
        StageKind::Upload => {
            let Some((name, bytes)) = &input.file else {
                return invalid("this stage needs a file");
            };
            if bytes.len() > challenges::MAX_UPLOAD_BYTES {
                return invalid("files are at most 5 MB");
            }
            let Some(kind) = challenges::sniff_upload(bytes) else {
                return invalid("files are PNG, JPEG, WebP or PDF");
            };
            let name: String = name
                .chars()
                .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                .take(200)
                .collect();
            file = Some((name, kind.to_owned(), bytes.clone()));
        }
        StageKind::ShareReferral => {
            // The member's own link is what they share.
            referral_link(store, member, None, None).await?;
        }
        _ => {}
    }
    let earns = spec.points() > 0;
    let testimonial = matches!(stage.kind, StageKind::Review | StageKind::Answer);
    let new = vouch_store::NewSubmission {
        challenge_id: c.id,
        member_id: member,
        round,
        stage: index as i32,
        approved: !stage.kind.needs_review(),
        answer,
        url,
        file,
        disclosure: (earns && testimonial).then(|| challenges::DISCLOSURE.to_owned()),
        points: stage.points,
        reason: format!("{}: {}", spec.name, stage.title),
    };
    match store.add_submission(&new, Utc::now()).await? {
        Some(s) => {
            refresh_badges(store, member).await?;
            Ok(Some(Ok(s)))
        }
        None => refuse(SubmissionRefusal::Waiting),
    }
}

/// A person decides a waiting submission: `approve` pays the stage's
/// points, `resubmit` sends it back, `reject` ends it. None: not waiting.
pub async fn decide_submission(
    store: &Store,
    id: i64,
    to: vouch_domain::program::challenges::SubmissionState,
    note: Option<&str>,
    actor: &str,
) -> Result<Option<vouch_store::Submission>> {
    let Some(s) = store.submission(id).await? else {
        return Ok(None);
    };
    let Some(c) = store.challenge(s.challenge_id).await? else {
        return Ok(None);
    };
    let Some(stage) = c.spec.stages.get(s.stage as usize) else {
        return Ok(None);
    };
    let reason = format!("{}: {}", c.spec.name, stage.title);
    let decided = store
        .decide_submission(id, to, note, (stage.points, &reason), actor, Utc::now())
        .await?;
    if decided.is_some() {
        refresh_badges(store, s.member_id).await?;
    }
    Ok(decided)
}

/// What a conversions import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConversionImport {
    /// New referrals by status.
    pub new: std::collections::BTreeMap<String, u64>,
    /// Orders reported before (nothing written).
    pub seen: u64,
    /// Rows not taken: `(line, reason)`.
    pub refused: Vec<(u64, String)>,
}

/// Records the conversions of a shop's CSV export (vouch-ingest reads it):
/// each row as `POST /api/v1/referrals/conversions` would, once per order.
pub async fn import_conversions(
    store: &Store,
    rows: Vec<std::result::Result<vouch_ingest::ConversionRow, vouch_ingest::Rejection>>,
) -> Result<ConversionImport> {
    let mut summary = ConversionImport::default();
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(r) => {
                summary.refused.push((r.line, r.reason));
                continue;
            }
        };
        let conversion = Conversion {
            code: row.code,
            click: row.click,
            external_order_id: row.external_order_id,
            value_cents: row.value_cents,
            currency: row.currency,
            email: row.email.filter(|e| Email::parse(e).is_ok()),
            customer: row.customer,
        };
        match convert(store, &conversion, Utc::now()).await? {
            Ok(Converted {
                referral,
                new: true,
                ..
            }) => *summary.new.entry(referral.status).or_default() += 1,
            Ok(Converted { new: false, .. }) => summary.seen += 1,
            Err(refusal) => summary.refused.push((row.line, refusal.to_string())),
        }
    }
    Ok(summary)
}

/// A field that was not accepted, and what it needs (the API answers 422
/// with it; a page shows it beside the form).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldRefusal {
    pub field: &'static str,
    pub message: String,
}

fn refuse<T>(
    field: &'static str,
    message: impl Into<String>,
) -> Result<std::result::Result<T, FieldRefusal>> {
    Ok(Err(FieldRefusal {
        field,
        message: message.into(),
    }))
}

/// A reward as staff describe it, on the page or through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardDraft {
    pub name: String,
    pub kind: vouch_domain::program::RewardKind,
    pub points: i64,
    /// None: unlimited. A gift-code reward's stock is its codes.
    pub stock: Option<i64>,
    pub min_tier: Option<String>,
    pub per_member_limit: Option<i64>,
    pub fulfilment: Fulfilment,
}

/// Adds a reward to the catalogue after checking it. A gift-code reward
/// starts with no stock: its codes are its stock (`add_gift_codes`).
pub async fn add_reward(
    store: &Store,
    draft: RewardDraft,
) -> Result<std::result::Result<vouch_store::Reward, FieldRefusal>> {
    use vouch_domain::program::RewardKind;
    let name = draft.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return refuse("name", "a name of 1 to 200 characters");
    }
    if !(1..=10_000_000).contains(&draft.points) {
        return refuse("points", "1 to 10000000 points");
    }
    if draft
        .stock
        .is_some_and(|s| !(0..=1_000_000_000).contains(&s))
    {
        return refuse("stock", "0 to 1000000000 units");
    }
    let stock = match draft.kind {
        RewardKind::GiftCode if draft.stock.is_some_and(|s| s > 0) => {
            return refuse(
                "stock",
                "a gift-code reward's stock is its codes: add the codes to it once it exists",
            );
        }
        RewardKind::GiftCode => Some(0),
        _ => draft.stock,
    };
    if draft
        .per_member_limit
        .is_some_and(|l| !(1..=1000).contains(&l))
    {
        return refuse("per_member_limit", "1 to 1000");
    }
    let tiers = settings(store).await?.tiers;
    let min_tier = draft.min_tier.filter(|t| !t.trim().is_empty());
    if let Some(tier) = &min_tier
        && !tiers.iter().any(|t| &t.name == tier)
    {
        let names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
        return refuse(
            "min_tier",
            format!("one of the tiers: {}", names.join(", ")),
        );
    }
    let reward = vouch_store::NewReward {
        name: name.to_owned(),
        kind: draft.kind,
        points: draft.points,
        stock,
        min_tier,
        per_member_limit: draft.per_member_limit.map(|l| l as i32),
        fulfilment: draft.fulfilment,
    };
    Ok(Ok(store.add_reward(&reward, Utc::now()).await?))
}

/// The most gift codes one upload takes.
pub const MAX_CODES_PER_UPLOAD: usize = 100_000;

/// Loads gift codes into a gift-code reward, one per line (blank lines
/// skipped, codes it holds already skipped); its stock grows by as many
/// as are new. How many were new.
pub async fn add_gift_codes(
    store: &Store,
    reward: i64,
    codes: &[String],
) -> Result<std::result::Result<usize, FieldRefusal>> {
    let Some(found) = store.reward(reward).await? else {
        return Err(StoreError::NotFound {
            what: "reward",
            key: reward.to_string(),
        }
        .into());
    };
    if found.kind != vouch_domain::program::RewardKind::GiftCode.as_str() {
        return refuse("codes", "only a gift-code reward takes codes");
    }
    let mut clean: Vec<String> = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let code = code.trim();
        if code.is_empty() {
            continue;
        }
        if code.chars().count() > 200 || code.chars().any(char::is_control) {
            return refuse(
                "codes",
                format!(
                    "code {} is over 200 characters or holds a control character",
                    i + 1
                ),
            );
        }
        if !clean.iter().any(|c| c == code) {
            clean.push(code.to_owned());
        }
    }
    if clean.is_empty() || clean.len() > MAX_CODES_PER_UPLOAD {
        return refuse(
            "codes",
            format!("1 to {MAX_CODES_PER_UPLOAD} codes, one per line"),
        );
    }
    Ok(Ok(store
        .add_reward_codes(reward, &clean, Utc::now())
        .await?))
}

/// Withdraws a reward or offers it again, and adds stock (not to a
/// gift-code reward, whose stock is its codes). None: no such reward.
pub async fn change_reward(
    store: &Store,
    id: i64,
    active: Option<bool>,
    add_stock: Option<i64>,
) -> Result<std::result::Result<Option<vouch_store::Reward>, FieldRefusal>> {
    let Some(found) = store.reward(id).await? else {
        return Ok(Ok(None));
    };
    if let Some(n) = add_stock {
        if found.kind == vouch_domain::program::RewardKind::GiftCode.as_str() {
            return refuse(
                "add_stock",
                "a gift-code reward's stock is its codes: add codes",
            );
        }
        if !(1..=1_000_000_000).contains(&n) {
            return refuse("add_stock", "1 to 1000000000 units");
        }
    }
    Ok(Ok(store
        .change_reward(id, active, add_stock, Utc::now())
        .await?))
}

/// Adds a challenge after the shape and the compliance guard (R3 for a
/// review stage that pays where the platform forbids incentives).
pub async fn add_challenge(
    store: &Store,
    spec: &vouch_domain::program::challenges::ChallengeSpec,
) -> Result<
    std::result::Result<
        vouch_store::Challenge,
        vouch_domain::program::challenges::ChallengeRefusal,
    >,
> {
    if let Err(refusal) = spec.check() {
        return Ok(Err(refusal));
    }
    Ok(Ok(store.add_challenge(spec, Utc::now()).await?))
}

/// Pauses a challenge or opens it again; false: no such challenge.
pub async fn set_challenge_active(store: &Store, id: i64, active: bool) -> Result<bool> {
    Ok(store.set_challenge_active(id, active, Utc::now()).await?)
}

/// Adds a join code: the one given (4 to 40 letters, digits or dashes,
/// kept in capitals; an empty one is refused) or, with none, one drawn like
/// a referral code; used at most `max_uses` times until `expires_at`.
pub async fn add_join_code(
    store: &Store,
    code: Option<&str>,
    max_uses: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<std::result::Result<vouch_store::JoinCode, FieldRefusal>> {
    // A code given is taken as written (then kept in capitals): nothing
    // is trimmed or dropped, so what staff typed is what people type.
    let code = match code {
        Some(c) => c.to_uppercase(),
        None => new_code(),
    };
    if !(4..=40).contains(&code.len())
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return refuse("code", "4 to 40 letters, digits or dashes");
    }
    if max_uses.is_some_and(|m| !(1..=10_000_000).contains(&m)) {
        return refuse("max_uses", "1 to 10000000 uses");
    }
    let now = Utc::now();
    if expires_at.is_some_and(|at| at <= now) {
        return refuse("expires_at", "a time in the future");
    }
    match store.add_join_code(&code, max_uses, expires_at, now).await {
        Ok(added) => Ok(Ok(added)),
        Err(e) if e.is_unique_violation() => refuse("code", format!("{code} exists already")),
        Err(e) => Err(e.into()),
    }
}

/// Moves a member to `status` (banning voids their pending rewards); none:
/// no such member.
pub async fn set_status(
    store: &Store,
    member: i64,
    status: MemberStatus,
    actor: &str,
) -> Result<Option<Member>> {
    Ok(store
        .set_member_status(member, status, actor, Utc::now())
        .await?)
}

/// Staff thank a member, publicly (the portal's wall) or privately; none:
/// no such member.
pub async fn recognize(
    store: &Store,
    member: i64,
    message: &str,
    public: bool,
    author: &str,
) -> Result<std::result::Result<Option<vouch_store::Recognition>, FieldRefusal>> {
    let message = message.trim();
    if message.is_empty() || message.chars().count() > 1000 {
        return refuse("message", "a message of 1 to 1000 characters");
    }
    Ok(Ok(store
        .add_recognition(member, message, public, author, Utc::now())
        .await?))
}
