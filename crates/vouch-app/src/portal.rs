//! The member portal's use cases: a sign-in link by email (single use, 15
//! minutes, only its hash kept), the portal's own sessions, and what a
//! member sees. Asking for a link says nothing about whether the address
//! belongs to a member.

use chrono::{DateTime, Duration, Utc};
use vouch_domain::program::MemberStatus;
use vouch_domain::{CustomerId, Email};
use vouch_store::{LedgerEntry, Member, Redemption, ReferralLink, Reward, Store};

use crate::Result;
use crate::jobs::Task;
use crate::program::{MemberView, ProgramSettings};
use crate::secrets::{new_secret, secret_hash};

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 15;

/// How long a portal session lasts.
pub const SESSION_DAYS: i64 = 30;

/// Queues a sign-in link for the member with `email`, if there is one who
/// may sign in; nothing otherwise, and the caller cannot tell which.
pub async fn request_link(store: &Store, email: &str) -> Result<()> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let Ok(customer) = store.find_customer(email.as_str()).await else {
        return Ok(());
    };
    let Some(member) = store.member_of_customer(customer.id).await? else {
        return Ok(());
    };
    if matches!(member.status, MemberStatus::Banned | MemberStatus::Left) {
        return Ok(());
    }
    store
        .enqueue_jobs(
            &[Task::PortalLink {
                member_id: member.id,
            }
            .job(Utc::now())],
            Utc::now(),
        )
        .await?;
    Ok(())
}

/// A sign-in link cleared to go.
#[derive(Debug, Clone)]
pub struct LinkEmail {
    pub to: Email,
    pub link: String,
    pub language: String,
    pub name: Option<String>,
    pub company: String,
}

/// Makes a member's sign-in link when its email is sent (so no job holds
/// a token): none when the member cannot sign in or their address is
/// suppressed for everything (a bounce).
pub async fn prepare_link(
    store: &Store,
    member: i64,
    public_url: &str,
) -> Result<Option<LinkEmail>> {
    let Some(m) = store.member(member).await? else {
        return Ok(None);
    };
    if matches!(m.status, MemberStatus::Banned | MemberStatus::Left) {
        return Ok(None);
    }
    let Some(customer) = (match m.customer_id {
        Some(c) => store.customer(CustomerId(c)).await?,
        None => None,
    }) else {
        return Ok(None);
    };
    let Some(to) = reachable(store, &customer).await? else {
        return Ok(None);
    };
    let token = new_secret();
    let now = Utc::now();
    store
        .add_portal_link(
            &secret_hash(&token),
            member,
            now + Duration::minutes(LINK_MINUTES),
            now,
        )
        .await?;
    let branding = crate::surveys::branding(store).await?;
    Ok(Some(LinkEmail {
        to,
        link: format!("{}/portal/in/{token}", public_url.trim_end_matches('/')),
        language: customer.profile.locale.language().to_owned(),
        name: customer.profile.name.clone(),
        company: branding.company_name,
    }))
}

/// The customer's address, unless they have none or it is suppressed
/// for everything (a bounce): a link they asked for is a service message.
async fn reachable(store: &Store, customer: &vouch_domain::Customer) -> Result<Option<Email>> {
    let Some(to) = customer.profile.email.clone() else {
        return Ok(None);
    };
    let suppressed = store
        .suppressed_emails(&[to.match_key()], vouch_domain::Purpose::Service)
        .await?;
    Ok(suppressed.is_empty().then_some(to))
}

/// A new portal session: the cookie's token (kept only as its hash) and
/// the session's CSRF token.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub token: String,
    pub csrf: String,
    pub member: i64,
    pub expires_at: DateTime<Utc>,
}

/// Signs in with a link's token: a session, or none when the link is
/// unknown, used or expired.
pub async fn sign_in(store: &Store, token: &str) -> Result<Option<PortalSession>> {
    let now = Utc::now();
    let Some(member) = store.use_portal_link(&secret_hash(token), now).await? else {
        return Ok(None);
    };
    Ok(Some(open_session(store, member, now).await?))
}

/// A new portal session for `member` (its cookie's token kept as a hash).
async fn open_session(store: &Store, member: i64, now: DateTime<Utc>) -> Result<PortalSession> {
    let session = PortalSession {
        token: new_secret(),
        csrf: new_secret(),
        member,
        expires_at: now + Duration::days(SESSION_DAYS),
    };
    store
        .add_portal_session(
            &secret_hash(&session.token),
            member,
            &session.csrf,
            session.expires_at,
            now,
        )
        .await?;
    Ok(session)
}

/// The member a session cookie belongs to, and its CSRF token.
pub async fn session(store: &Store, token: &str) -> Result<Option<(i64, String)>> {
    Ok(store
        .portal_session(&secret_hash(token), Utc::now())
        .await?)
}

pub async fn sign_out(store: &Store, token: &str) -> Result<()> {
    Ok(store.end_portal_session(&secret_hash(token)).await?)
}

/// A referral link with its numbers.
#[derive(Debug, Clone)]
pub struct LinkStats {
    pub link: ReferralLink,
    pub clicks: i64,
    pub conversions: i64,
}

/// Everything a member's portal shows.
#[derive(Debug, Clone)]
pub struct PortalView {
    pub member: MemberView,
    pub name: Option<String>,
    pub language: String,
    pub settings: ProgramSettings,
    pub ledger: Vec<LedgerEntry>,
    pub rewards: Vec<Reward>,
    pub redemptions: Vec<(Redemption, String)>,
    pub links: Vec<LinkStats>,
    /// The open challenges meant for the member, with where they are in each.
    pub challenges: Vec<ChallengeView>,
    pub badges: Vec<(vouch_store::Badge, DateTime<Utc>)>,
    pub recognitions: Vec<vouch_store::Recognition>,
    /// The gift codes handed out for the member's redemptions, by redemption.
    pub gift_codes: std::collections::HashMap<i64, String>,
    /// The wall: the newest public thanks to any member, with a short
    /// name ("Ana P.").
    pub wall: Vec<(vouch_store::Recognition, String)>,
}

/// How many public thanks the portal's wall shows.
pub const WALL_SIZE: u32 = 10;

/// A challenge as the member sees it.
#[derive(Debug, Clone)]
pub struct ChallengeView {
    pub challenge: vouch_store::Challenge,
    pub progress: crate::program::Progress,
    /// The note on the member's last submission that was sent back.
    pub note: Option<String>,
}

pub async fn view(store: &Store, member: Member) -> Result<PortalView> {
    let settings = crate::program::settings(store).await?;
    let customer = match member.customer_id {
        Some(c) => store.customer(CustomerId(c)).await?,
        None => None,
    };
    let ledger = store.ledger(member.id, None, 50).await?;
    let rewards = store.rewards(true).await?;
    let names: std::collections::HashMap<i64, String> = store
        .rewards(false)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let redemptions = store
        .redemptions(Some(member.id), None, None, 50)
        .await?
        .into_iter()
        .map(|r| {
            let name = names.get(&r.reward_id).cloned().unwrap_or_default();
            (r, name)
        })
        .collect();
    let counts = store.link_counts(member.id).await?;
    let links = store
        .referral_links_of(member.id)
        .await?
        .into_iter()
        .map(|link| {
            let (_, clicks, conversions) = counts
                .iter()
                .find(|(id, _, _)| *id == link.id)
                .copied()
                .unwrap_or((link.id, 0, 0));
            LinkStats {
                link,
                clicks,
                conversions,
            }
        })
        .collect();
    let tier = crate::program::view(&settings, member.clone()).tier;
    let attributes = customer
        .as_ref()
        .map(|c| c.profile.attributes.clone())
        .unwrap_or_default();
    let category = match member.customer_id {
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
    let mut challenges = Vec::new();
    for c in store.challenges(true).await? {
        if !c.spec.open_at(Utc::now()) || !c.spec.targets(tier.as_deref(), category, &attributes) {
            continue;
        }
        let submissions = store.submissions_of(member.id, c.id).await?;
        let note = submissions
            .iter()
            .rev()
            .find(|s| s.state == "resubmit" || s.state == "rejected")
            .and_then(|s| s.note.clone());
        challenges.push(ChallengeView {
            progress: crate::program::progress(&c.spec, &submissions),
            challenge: c,
            note,
        });
    }
    let badges = store.member_badges(member.id).await?;
    let recognitions = store.recognitions(member.id).await?;
    let wall = store
        .public_recognitions(WALL_SIZE)
        .await?
        .into_iter()
        .map(|(r, name)| (r, crate::program::short_name(name.as_deref().unwrap_or(""))))
        .collect();
    Ok(PortalView {
        gift_codes: store.redemption_codes(member.id).await?,
        wall,
        badges,
        recognitions,
        challenges,
        member: crate::program::view(&settings, member),
        name: customer.as_ref().and_then(|c| c.profile.name.clone()),
        language: customer
            .as_ref()
            .map_or("en".to_owned(), |c| c.profile.locale.language().to_owned()),
        settings,
        ledger,
        rewards,
        redemptions,
        links,
    })
}

/// How long a join link in the program's invitation works.
pub const INVITATION_DAYS: i64 = 30;

/// Makes a join link for `customer`: by the program's invitation
/// (trusted, 30 days) or asked for on the open join page (untrusted, as
/// long as a sign-in link).
pub async fn join_link(
    store: &Store,
    customer: CustomerId,
    by: vouch_domain::program::JoinedBy,
    join_code: Option<&str>,
    public_url: &str,
) -> Result<String> {
    let token = new_secret();
    let now = Utc::now();
    let life = match by {
        vouch_domain::program::JoinedBy::Invitation => Duration::days(INVITATION_DAYS),
        _ => Duration::minutes(LINK_MINUTES),
    };
    store
        .add_join_link(
            &secret_hash(&token),
            customer,
            by,
            join_code,
            now + life,
            now,
        )
        .await?;
    Ok(format!(
        "{}/portal/join/{token}",
        public_url.trim_end_matches('/')
    ))
}

/// Spends a join link: the customer joins (or is found a member) having
/// accepted the current terms, and is signed in. None: the link is
/// unknown, used or expired.
pub async fn join(store: &Store, token: &str) -> Result<Option<PortalSession>> {
    let now = Utc::now();
    let Some((customer, mut by, code)) = store.use_join_link(&secret_hash(token), now).await?
    else {
        return Ok(None);
    };
    // A join code counts a use when someone joins with it; one used up
    // meanwhile leaves an open sign-up (both are untrusted).
    if let Some(code) = code
        && store.member_of_customer(customer).await?.is_none()
        && store.spend_join_code(&code, now).await?
    {
        by = vouch_domain::program::JoinedBy::JoinCode;
    }
    let terms = crate::program::settings(store).await?.terms_version;
    let (member, _) = store.add_member(customer, by, Some(&terms), now).await?;
    if matches!(member.status, MemberStatus::Banned | MemberStatus::Left) {
        return Ok(None);
    }
    store.accept_terms(member.id, &terms, now).await?;
    Ok(Some(open_session(store, member.id, now).await?))
}

/// Why the join page did not take a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinRefusal {
    #[error("this join code is unknown, used up, expired or switched off")]
    BadCode,
    #[error("joining needs a join code")]
    CodeNeeded,
}

/// A join code as people type it: trimmed, in capitals.
pub fn normalise_join_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// The open join page: queues a join link for a known customer who is not
/// a member (nothing otherwise, and the caller cannot tell which). A join
/// code, when given, must be open now; without one the program must take
/// open sign-ups.
pub async fn request_join(
    store: &Store,
    email: &str,
    code: Option<&str>,
) -> Result<std::result::Result<(), JoinRefusal>> {
    let code = code.map(normalise_join_code).filter(|c| !c.is_empty());
    match &code {
        Some(code) => {
            let open = store
                .join_code(code)
                .await?
                .is_some_and(|c| c.open_at(Utc::now()));
            if !open {
                return Ok(Err(JoinRefusal::BadCode));
            }
        }
        None if !crate::program::settings(store).await?.open_sign_up => {
            return Ok(Err(JoinRefusal::CodeNeeded));
        }
        None => {}
    }
    let Ok(email) = Email::parse(email) else {
        return Ok(Ok(()));
    };
    let Ok(customer) = store.find_customer(email.as_str()).await else {
        return Ok(Ok(()));
    };
    if store.member_of_customer(customer.id).await?.is_some() {
        // A member signs in instead.
        return request_link(store, email.as_str()).await.map(Ok);
    }
    store
        .enqueue_jobs(
            &[Task::PortalJoin {
                customer_id: customer.id.0,
                code,
            }
            .job(Utc::now())],
            Utc::now(),
        )
        .await?;
    Ok(Ok(()))
}

/// The open join page's email, made when it is sent: none when the
/// customer is gone, has no address, is suppressed or joined meanwhile.
pub async fn prepare_join(
    store: &Store,
    customer: i64,
    code: Option<&str>,
    public_url: &str,
) -> Result<Option<LinkEmail>> {
    let Some(c) = store.customer(CustomerId(customer)).await? else {
        return Ok(None);
    };
    if store.member_of_customer(c.id).await?.is_some() {
        return Ok(None);
    }
    let Some(to) = reachable(store, &c).await? else {
        return Ok(None);
    };
    let link = join_link(
        store,
        c.id,
        vouch_domain::program::JoinedBy::OpenSignUp,
        code,
        public_url,
    )
    .await?;
    let branding = crate::surveys::branding(store).await?;
    Ok(Some(LinkEmail {
        to,
        link,
        language: c.profile.locale.language().to_owned(),
        name: c.profile.name.clone(),
        company: branding.company_name,
    }))
}
