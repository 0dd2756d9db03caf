//! The advocate program's public side: `/r/{code}`, the referral link a
//! friend follows (the click is recorded as hashes, the redirect goes only
//! where the program allows).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::cookie;
use crate::client::ClientAddress;
use crate::error::PageError;

/// The visitor cookie: a random id that lets a later conversion find
/// the friend's clicks, and the same-device check see an advocate's own.
pub const VISITOR_COOKIE: &str = "vouch_visitor";

/// The visitor cookie lasts 400 days, the most browsers keep one.
const VISITOR_MAX_AGE: i64 = 400 * 24 * 3600;

#[derive(Deserialize, Default)]
pub struct FollowQuery {
    /// A page to land on instead of the landing URL (allowed hosts only).
    to: Option<String>,
}

/// The visitor's cookie, or a new one to set.
pub fn visitor(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, VISITOR_COOKIE)
        .filter(|c| c.len() == 64 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    {
        Some(c) => (c, false),
        None => (vouch_app::secrets::new_secret(), true),
    }
}

/// `GET /r/{code}`: records the click and redirects (303) to the
/// company's landing URL with the code and click id.
pub async fn follow(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ClientAddress(ip): ClientAddress,
    headers: HeaderMap,
    Query(q): Query<FollowQuery>,
) -> Response {
    let (visitor_id, new) = visitor(&headers);
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(500).collect::<String>())
    };
    let visit = vouch_app::program::Visit {
        ip: Some(ip),
        user_agent: text(header::USER_AGENT),
        cookie: Some(visitor_id.clone()),
        referer: text(header::REFERER),
        to: q.to,
    };
    let followed = match vouch_app::program::follow(&state.store, &code, &visit).await {
        Ok(Some(f)) => f,
        Ok(None) => return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, followed.redirect),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    if new {
        set_cookie(
            &state,
            &mut response,
            VISITOR_COOKIE,
            &visitor_id,
            VISITOR_MAX_AGE,
        );
    }
    response
}

/// The portal's session cookie: apart from staff sessions, so a member's
/// cookie opens nothing on the staff side.
pub const PORTAL_COOKIE: &str = "vouch_portal";

fn portal_cookie(state: &AppState) -> &'static str {
    if state.web.https {
        "__Host-vouch_portal"
    } else {
        PORTAL_COOKIE
    }
}

struct RewardRow {
    id: i64,
    name: String,
    points: i64,
    min_tier: Option<String>,
    affordable: bool,
}

struct RedemptionRow {
    name: String,
    state_key: &'static str,
    reason: Option<String>,
    date: String,
    /// The gift code it was fulfilled with.
    code: Option<String>,
}

struct EntryRow {
    date: String,
    kind_key: &'static str,
    reason: String,
    amount: String,
}

struct LinkRow {
    url: String,
    clicks: i64,
    conversions: i64,
}

/// A challenge's next step, as its form shows it.
struct StepRow {
    number: usize,
    title: String,
    kind: &'static str,
    points: i64,
    url: Option<String>,
    questions: Vec<String>,
    wants_answer: bool,
    wants_url: bool,
    wants_file: bool,
    /// The member's words become a testimonial of someone who earns points.
    disclosed: bool,
}

enum ChallengeState {
    Next(StepRow),
    /// The stage waiting for approval.
    Waiting(String),
    Done,
}

struct ChallengeRow {
    id: i64,
    name: String,
    description: String,
    points: i64,
    stages: usize,
    note: Option<String>,
    state: ChallengeState,
}

#[derive(askama::Template)]
#[template(path = "portal.html")]
struct PortalPage {
    challenges: Vec<ChallengeRow>,
    /// Name, description, since.
    badges: Vec<(String, String, String)>,
    /// Message, author, date.
    recognitions: Vec<(String, String, String)>,
    /// Public thanks to any member: (message, member's short name, date).
    wall: Vec<(String, String, String)>,
    lang: &'static str,
    ui: crate::locale::Ui,
    company: String,
    logo: Option<String>,
    name: Option<String>,
    csrf: String,
    message: Option<&'static str>,
    spendable: i64,
    lifetime: i64,
    tier: String,
    /// The next tier, the points still needed, and the way there in percent.
    next: Option<(String, i64, i64)>,
    rewards: Vec<RewardRow>,
    redemptions: Vec<RedemptionRow>,
    links: Vec<LinkRow>,
    ledger: Vec<EntryRow>,
}

#[derive(askama::Template)]
#[template(path = "portal_signin.html")]
struct SignInPage {
    lang: &'static str,
    ui: crate::locale::Ui,
    company: String,
    logo: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PortalQuery {
    done: Option<String>,
}

/// A portal message page in the reader's language, in the company's colours.
async fn notice(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    keys: (&str, &str),
    form: Option<(String, &str)>,
) -> Response {
    crate::survey_pages::message(
        status,
        crate::locale::texts(headers),
        crate::survey_pages::brand(state).await,
        keys,
        form,
    )
}

/// Into the portal with a new session: its cookie, then `/portal`.
fn into_portal(state: &AppState, session: &vouch_app::portal::PortalSession) -> Response {
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds();
    let mut response = axum::response::Redirect::to("/portal").into_response();
    set_cookie(
        state,
        &mut response,
        portal_cookie(state),
        &session.token,
        max_age,
    );
    response
}

/// Adds a `Set-Cookie` for the whole site (HttpOnly, SameSite=Lax).
fn set_cookie(state: &AppState, response: &mut Response, name: &str, value: &str, max_age: i64) {
    if let Ok(value) = state.web.cookie(name, value, "Lax", Some(max_age)).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The signed-in member and their session's CSRF token, if any.
async fn portal_member(state: &AppState, headers: &HeaderMap) -> Option<(i64, String)> {
    let token = cookie(headers, portal_cookie(state))?;
    vouch_app::portal::session(&state.store, &token)
        .await
        .ok()
        .flatten()
}

/// `GET /portal`: the sign-in form, or the member's portal.
pub async fn portal(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddress(ip): ClientAddress,
    Query(q): Query<PortalQuery>,
) -> Response {
    let brand = crate::survey_pages::brand(&state).await;
    let Some((member, csrf)) = portal_member(&state, &headers).await else {
        let (lang, t) = crate::locale::texts(&headers);
        return crate::survey_pages::html(
            StatusCode::OK,
            SignInPage {
                lang,
                ui: crate::locale::Ui(t),
                company: brand.company_name,
                logo: brand.logo_url,
            },
        );
    };
    let Ok(Some(m)) = state.store.member(member).await else {
        return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response();
    };
    // Where the member is seen: the same-device check reads it.
    let (visitor_id, _) = visitor(&headers);
    let visit = vouch_app::program::Visit {
        ip: Some(ip),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(500).collect()),
        cookie: cookie(&headers, VISITOR_COOKIE).map(|_| visitor_id),
        ..Default::default()
    };
    if let Ok((ip_hash, agent_hash, cookie_hash)) =
        vouch_app::program::visit_hashes(&state.store, &visit).await
    {
        let _ = state
            .store
            .add_member_device(
                member,
                cookie_hash.as_deref(),
                ip_hash.as_deref(),
                agent_hash.as_deref(),
                chrono::Utc::now(),
            )
            .await;
    }
    let view = match vouch_app::portal::view(&state.store, m).await {
        Ok(v) => v,
        Err(e) => return PageError::from(e).into_response(),
    };
    let (lang, t) =
        crate::locale::texts_for(&view.language).unwrap_or_else(|| crate::locale::texts(&headers));
    let ui = crate::locale::Ui(t);
    let points = view.member.member.points;
    let tiers = &view.settings.tiers;
    let next = view.member.next_tier.as_ref().map(|n| {
        let from = tiers
            .iter()
            .find(|t| Some(&t.name) == view.member.tier.as_ref())
            .map_or(0, |t| t.min_points);
        let to = tiers
            .iter()
            .find(|t| t.name == n.name)
            .map_or(1, |t| t.min_points);
        let percent = ((points.lifetime - from) * 100 / (to - from).max(1)).clamp(0, 100);
        (n.name.clone(), n.points_needed, percent)
    });
    let date = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    let challenges = view
        .challenges
        .iter()
        .map(|cv| {
            use vouch_app::program::Progress;
            use vouch_domain::program::challenges::StageKind;
            let spec = &cv.challenge.spec;
            let state = match &cv.progress {
                Progress::Done => ChallengeState::Done,
                Progress::Waiting { stage, .. } => ChallengeState::Waiting(
                    spec.stages
                        .get(*stage)
                        .map(|s| s.title.clone())
                        .unwrap_or_default(),
                ),
                Progress::Next { stage, .. } => {
                    let s = &spec.stages[*stage];
                    ChallengeState::Next(StepRow {
                        number: stage + 1,
                        title: s.title.clone(),
                        kind: s.kind.as_str(),
                        points: s.points,
                        url: s.url.clone(),
                        questions: s.questions.clone(),
                        wants_answer: matches!(s.kind, StageKind::Answer | StageKind::Approval),
                        wants_url: matches!(
                            s.kind,
                            StageKind::ShareLink | StageKind::Action | StageKind::Review
                        ),
                        wants_file: s.kind == StageKind::Upload,
                        disclosed: spec.points() > 0
                            && matches!(s.kind, StageKind::Answer | StageKind::Review),
                    })
                }
            };
            ChallengeRow {
                id: cv.challenge.id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                points: spec.points(),
                stages: spec.stages.len(),
                note: cv.note.clone(),
                state,
            }
        })
        .collect();
    let page = PortalPage {
        badges: view
            .badges
            .iter()
            .map(|(b, at)| (b.name.clone(), b.description.clone(), date(*at)))
            .collect(),
        recognitions: view
            .recognitions
            .iter()
            .map(|r| (r.message.clone(), r.author.clone(), date(r.created_at)))
            .collect(),
        challenges,
        lang,
        company: brand.company_name,
        logo: brand.logo_url,
        name: view.name.clone(),
        csrf,
        message: match q.done.as_deref() {
            Some("redeemed") => Some(ui.t("portal_redeemed")),
            Some("refused") => Some(ui.t("portal_refused")),
            Some("link") => Some(ui.t("portal_link_made")),
            Some("submitted") => Some(ui.t("portal_submitted")),
            Some("not_taken") => Some(ui.t("portal_not_taken")),
            _ => None,
        },
        spendable: points.spendable,
        lifetime: points.lifetime,
        tier: view.member.tier.clone().unwrap_or_default(),
        next,
        rewards: view
            .rewards
            .iter()
            .map(|r| RewardRow {
                id: r.id,
                name: r.name.clone(),
                points: r.points,
                min_tier: r.min_tier.clone(),
                affordable: r.points <= points.spendable && r.stock.is_none_or(|s| s > 0),
            })
            .collect(),
        redemptions: view
            .redemptions
            .iter()
            .map(|(r, name)| RedemptionRow {
                name: name.clone(),
                state_key: redemption_key(&r.state),
                reason: r.reason.clone(),
                date: date(r.created_at),
                code: view.gift_codes.get(&r.id).cloned(),
            })
            .collect(),
        wall: view
            .wall
            .iter()
            .map(|(r, name)| (r.message.clone(), name.clone(), date(r.created_at)))
            .collect(),
        links: view
            .links
            .iter()
            .map(|l| LinkRow {
                url: vouch_app::program::link_url(&state.web.public_url, &l.link.code),
                clicks: l.clicks,
                conversions: l.conversions,
            })
            .collect(),
        ledger: view
            .ledger
            .iter()
            .map(|e| EntryRow {
                date: date(e.created_at),
                kind_key: entry_key(&e.kind),
                reason: e.reason.clone(),
                amount: format!("{:+}", e.amount),
            })
            .collect(),
        ui,
    };
    let mut response = crate::survey_pages::html(StatusCode::OK, page);
    if cookie(&headers, VISITOR_COOKIE).is_none() {
        let id = visitor(&headers).0;
        set_cookie(&state, &mut response, VISITOR_COOKIE, &id, VISITOR_MAX_AGE);
    }
    response
}

fn redemption_key(state: &str) -> &'static str {
    match state {
        "requested" => "redemption_requested",
        "pending_approval" => "redemption_pending_approval",
        "backordered" => "redemption_backordered",
        "approved" => "redemption_approved",
        "fulfilled" => "redemption_fulfilled",
        "refused" => "redemption_refused",
        _ => "redemption_cancelled",
    }
}

fn entry_key(kind: &str) -> &'static str {
    match kind {
        "earn" => "entry_earn",
        "hold" => "entry_hold",
        "release" => "entry_release",
        "redeem" => "entry_redeem",
        "reverse" => "entry_reverse",
        "adjust" => "entry_adjust",
        _ => "entry_expire",
    }
}

/// `POST /portal/link`: queues a sign-in link; the answer is the same
/// whether or not the address is a member's.
pub async fn request_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let email = form.get("email").map_or("", String::as_str);
    if let Err(e) = vouch_app::portal::request_link(&state.store, email).await {
        return PageError::from(e).into_response();
    }
    notice(
        &state,
        &headers,
        StatusCode::OK,
        ("portal_check_mail_title", "portal_check_mail"),
        None,
    )
    .await
}

/// `GET /portal/in/{token}`: a button that signs in. A GET spends
/// nothing, so a mail scanner that opens the link leaves it working.
pub async fn confirm_sign_in(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    notice(
        &state,
        &headers,
        StatusCode::OK,
        ("portal_title", "portal_confirm"),
        Some((format!("/portal/in/{token}"), "portal_sign_in")),
    )
    .await
}

/// `POST /portal/in/{token}`: spends the link and opens a portal session.
pub async fn sign_in(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    match vouch_app::portal::sign_in(&state.store, &token).await {
        Ok(Some(session)) => into_portal(&state, &session),
        Ok(None) => {
            notice(
                &state,
                &headers,
                StatusCode::GONE,
                ("portal_link_gone_title", "portal_link_gone"),
                None,
            )
            .await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The signed-in member behind a portal form, after its CSRF token.
async fn form_member(
    state: &AppState,
    headers: &HeaderMap,
    form: &std::collections::HashMap<String, String>,
) -> Result<i64, Response> {
    let Some((member, csrf)) = portal_member(state, headers).await else {
        return Err(axum::response::Redirect::to("/portal").into_response());
    };
    let sent = form.get("csrf").map_or("", String::as_str);
    if sent.is_empty() || sent != csrf {
        return Err(PageError::new(StatusCode::FORBIDDEN, "portal_form_expired").into_response());
    }
    Ok(member)
}

/// `POST /portal/redeem`: the member asks for a reward.
pub async fn redeem(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let member = match form_member(&state, &headers, &form).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(reward) = form.get("reward").and_then(|r| r.parse::<i64>().ok()) else {
        return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused").into_response();
    };
    match vouch_app::program::redeem(&state.store, member, reward).await {
        Ok(Some(Ok(_))) => axum::response::Redirect::to("/portal?done=redeemed").into_response(),
        Ok(Some(Err(_))) => axum::response::Redirect::to("/portal?done=refused").into_response(),
        Ok(None) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `POST /portal/referral`: the member's referral link, made now.
pub async fn make_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let member = match form_member(&state, &headers, &form).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    match vouch_app::program::referral_link(&state.store, member, None, None).await {
        Ok(_) => axum::response::Redirect::to("/portal?done=link").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `POST /portal/logout`.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    if let Err(r) = form_member(&state, &headers, &form).await {
        return r;
    }
    if let Some(token) = cookie(&headers, portal_cookie(&state)) {
        let _ = vouch_app::portal::sign_out(&state.store, &token).await;
    }
    let mut response = axum::response::Redirect::to("/portal").into_response();
    set_cookie(&state, &mut response, portal_cookie(&state), "", 0);
    response
}

/// `POST /portal/challenges/{id}`: the member hands in the next stage
/// (a multipart form: the CSRF token, an answer, a link or a file).
pub async fn submit_stage(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut fields = std::collections::HashMap::new();
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return PageError::new(StatusCode::BAD_REQUEST, "error_refused").into_response();
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_owned();
            match field.bytes().await {
                Ok(bytes) if !bytes.is_empty() => file = Some((file_name, bytes.to_vec())),
                Ok(_) => {}
                Err(_) => {
                    return PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "error_refused")
                        .into_response();
                }
            }
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    let member = match form_member(&state, &headers, &fields).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let input = vouch_app::program::StageInput {
        answer: fields.get("answer").cloned(),
        url: fields.get("url").cloned(),
        file,
    };
    match vouch_app::program::submit(&state.store, member, id, input).await {
        Ok(Some(Ok(_))) => axum::response::Redirect::to("/portal?done=submitted").into_response(),
        Ok(Some(Err(_))) => axum::response::Redirect::to("/portal?done=not_taken").into_response(),
        Ok(None) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

struct SubmissionRow {
    id: i64,
    member: i64,
    challenge: String,
    url: Option<String>,
    answer: Option<String>,
    has_file: bool,
    disclosure: Option<String>,
}

struct RedemptionQueueRow {
    id: i64,
    member: i64,
    reward: String,
    points: i64,
    state: String,
}

struct FlaggedRow {
    id: i64,
    member: i64,
    order: String,
    value: String,
    signals: String,
    due: String,
    late: bool,
}

#[derive(askama::Template)]
#[template(path = "program.html")]
struct ProgramPage {
    lang: &'static str,
    ui: crate::locale::Ui,
    who: crate::auth::Who,
    csrf: String,
    can_manage: bool,
    message: Option<&'static str>,
    active: i64,
    referrals: i64,
    revenue: String,
    clicks: i64,
    /// The program KPIs, worded: share of promoters enrolled, earning
    /// actions per active advocate, conversions per click, revenue per action.
    enrolled: String,
    actions_per_advocate: String,
    conversion_rate: String,
    value_per_action: String,
    submissions: Vec<SubmissionRow>,
    redemptions: Vec<RedemptionQueueRow>,
    flagged: Vec<FlaggedRow>,
    periods: Vec<(&'static str, &'static str, bool)>,
    places: Vec<vouch_app::program::Place>,
    rewards: Vec<(String, i64, String, String)>,
    members: Vec<(i64, String, String, &'static str, String, i64, i64)>,
}

#[derive(Deserialize, Default)]
pub struct ProgramQuery {
    period: Option<String>,
    saved: Option<String>,
}

/// `GET /program`: the staff's view of the program: its numbers, the
/// queues waiting for a person (challenge stages, rewards, flagged
/// referrals), the leaderboard, the catalogue and the newest members.
pub async fn staff_program(
    State(state): State<AppState>,
    crate::auth::Page(caller, _): crate::auth::Page<crate::auth::need::ReadCustomers>,
    headers: HeaderMap,
    Query(q): Query<ProgramQuery>,
) -> Response {
    use vouch_domain::program::challenges::SubmissionState;
    use vouch_domain::program::referrals::ReferralStatus;
    use vouch_domain::program::{Period, RedemptionState};
    let (lang, t) = crate::locale::texts(&headers);
    let ui = crate::locale::Ui(t);
    let store = &state.store;
    let period: Period = q
        .period
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(Period::Month);
    let loaded = async {
        let settings = vouch_app::program::settings(store).await?;
        let counts = store.program_counts().await?;
        let challenges: std::collections::HashMap<i64, vouch_store::Challenge> = store
            .challenges(false)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let submissions = store
            .submissions(Some(SubmissionState::Submitted), None, 100)
            .await?;
        let rewards = store.rewards(false).await?;
        let mut redemptions = store
            .redemptions(None, Some(RedemptionState::PendingApproval), None, 100)
            .await?;
        redemptions.extend(
            store
                .redemptions(None, Some(RedemptionState::Backordered), None, 100)
                .await?,
        );
        let flagged = store
            .referrals(&vouch_store::ReferralFilter {
                status: Some(ReferralStatus::Flagged),
                limit: 100,
                ..Default::default()
            })
            .await?;
        let places =
            vouch_app::program::leaderboard(store, period, None, None, 10, chrono::Utc::now())
                .await?;
        let members = store.members(None, None, 20).await?;
        // Who is a promoter now reads every customer's signals: seconds over
        // a million customers, so it is counted at most every 5 minutes.
        let (lookback, owned) = (state.playbooks.lookback, store.clone());
        let promoters = state
            .promoters
            .get_or_refresh("now", crate::pages::SLOW_MAX_AGE, move || {
                let store = owned.clone();
                async move {
                    vouch_app::program::promoters_now(&store, lookback, chrono::Utc::now())
                        .await
                        .map(std::sync::Arc::new)
                }
            })
            .await?;
        let kpis = vouch_app::program::kpis(store, &promoters).await?;
        Ok::<_, vouch_app::AppError>((
            (settings, kpis),
            counts,
            challenges,
            submissions,
            rewards,
            redemptions,
            flagged,
            places,
            members,
        ))
    }
    .await;
    let (
        (settings, kpis),
        counts,
        challenges,
        submissions,
        rewards,
        redemptions,
        flagged,
        places,
        members,
    ) = match loaded {
        Ok(all) => all,
        Err(e) => return PageError::from(e).into_response(),
    };
    let now = chrono::Utc::now();
    let reward_name = |id: i64| {
        rewards
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    };
    crate::pages::render(ProgramPage {
        lang,
        can_manage: caller.may(vouch_domain::Permission::ManageProgram),
        who: crate::auth::Who {
            name: caller.name,
            role: caller.role,
        },
        csrf: caller.csrf.unwrap_or_default(),
        message: match q.saved.as_deref() {
            Some("1") => Some(ui.t("program_saved")),
            Some("0") => Some(ui.t("program_not_saved")),
            _ => None,
        },
        enrolled: kpis
            .promoters_enrolled_share
            .map_or("–".into(), |v| format!("{:.1}%", 100.0 * v)),
        actions_per_advocate: kpis
            .actions_per_advocate
            .map_or("–".into(), |v| format!("{v:.1}")),
        conversion_rate: kpis
            .referral_conversion_rate
            .map_or("–".into(), |v| format!("{:.1}%", 100.0 * v)),
        value_per_action: kpis
            .value_per_action_cents
            .map_or("–".into(), |v| format!("{:.2}", v / 100.0)),
        active: counts.0,
        referrals: counts.1,
        revenue: format!("{:.2}", counts.2 as f64 / 100.0),
        clicks: counts.3,
        submissions: submissions
            .into_iter()
            .map(|s| {
                let challenge = challenges.get(&s.challenge_id);
                SubmissionRow {
                    id: s.id,
                    member: s.member_id,
                    challenge: challenge
                        .map(|c| {
                            let stage = c
                                .spec
                                .stages
                                .get(s.stage as usize)
                                .map_or("", |st| st.title.as_str());
                            format!("{}: {} ({})", c.spec.name, stage, s.stage + 1)
                        })
                        .unwrap_or_default(),
                    url: s.url,
                    answer: s.answer,
                    has_file: s.file_name.is_some(),
                    disclosure: s.disclosure,
                }
            })
            .collect(),
        redemptions: redemptions
            .into_iter()
            .map(|r| RedemptionQueueRow {
                id: r.id,
                member: r.member_id,
                reward: reward_name(r.reward_id),
                points: r.points,
                state: r.state,
            })
            .collect(),
        flagged: flagged
            .into_iter()
            .map(|r| FlaggedRow {
                id: r.id,
                member: r.member_id,
                order: r.external_order_id,
                value: format!("{:.2} {}", r.value_cents as f64 / 100.0, r.currency),
                signals: r
                    .signals
                    .iter()
                    .map(|s| format!("{} ({}): {}", s.rule, s.action, s.detail))
                    .collect::<Vec<_>>()
                    .join("; "),
                due: r
                    .review_due
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                late: r.review_due.is_some_and(|d| d < now),
            })
            .collect(),
        periods: [
            ("week", "period_week"),
            ("month", "period_month"),
            ("quarter", "period_quarter"),
            ("all_time", "period_all_time"),
        ]
        .into_iter()
        .map(|(p, label)| (p, label, p == period.as_str()))
        .collect(),
        places,
        rewards: rewards
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.points,
                    r.stock.map_or("∞".to_owned(), |s| s.to_string()),
                    r.fulfilment.clone(),
                )
            })
            .collect(),
        members: members
            .into_iter()
            .map(|m| {
                let v = vouch_app::program::view(&settings, m);
                (
                    v.member.id,
                    v.member
                        .customer_id
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                    v.member.status.to_string(),
                    if v.member.trusted { "✓" } else { "" },
                    v.tier.unwrap_or_default(),
                    v.member.points.lifetime,
                    v.member.points.spendable,
                )
            })
            .collect(),
        ui,
    })
}

fn back(saved: bool, anchor: &str) -> Response {
    axum::response::Redirect::to(&format!(
        "/program?saved={}#{anchor}",
        if saved { 1 } else { 0 }
    ))
    .into_response()
}

/// `POST /program/submissions/{id}`: approve a challenge stage or send it back.
pub async fn decide_stage(
    State(state): State<AppState>,
    crate::auth::Page(caller, _): crate::auth::Page<crate::auth::need::ManageProgram>,
    Path(id): Path<i64>,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    use vouch_domain::program::challenges::SubmissionState;
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let to = match form.get("decision").map(String::as_str) {
        Some("approve") => SubmissionState::Approved,
        Some("resubmit") => SubmissionState::Resubmit,
        _ => {
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                .into_response();
        }
    };
    let note: Option<String> = form
        .get("note")
        .map(|n| n.trim().chars().take(1000).collect::<String>())
        .filter(|n| !n.is_empty());
    match vouch_app::program::decide_submission(&state.store, id, to, note.as_deref(), &caller.name)
        .await
    {
        Ok(done) => back(done.is_some(), "approvals"),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `POST /program/redemptions/{id}`: approve or refuse a reward.
pub async fn decide_redemption(
    State(state): State<AppState>,
    crate::auth::Page(caller, _): crate::auth::Page<crate::auth::need::ManageProgram>,
    Path(id): Path<i64>,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    use vouch_domain::program::RedemptionState;
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let to = match form.get("state").map(String::as_str) {
        Some("approved") => RedemptionState::Approved,
        Some("refused") => RedemptionState::Refused,
        _ => {
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                .into_response();
        }
    };
    let reason: Option<String> = form
        .get("reason")
        .map(|n| n.trim().chars().take(500).collect::<String>())
        .filter(|n| !n.is_empty());
    let reason = match (to, reason) {
        (RedemptionState::Refused, None) => Some("refused by the program team".to_owned()),
        (_, r) => r,
    };
    match state
        .store
        .move_redemption(id, to, reason.as_deref(), &caller.name, chrono::Utc::now())
        .await
    {
        Ok(moved) => back(matches!(moved, Some(Ok(_))), "redemptions"),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `POST /program/referrals/{id}`: approve or block a flagged referral.
pub async fn decide_referral(
    State(state): State<AppState>,
    crate::auth::Page(caller, _): crate::auth::Page<crate::auth::need::ManageProgram>,
    Path(id): Path<i64>,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(refused) = caller.form_refusal(form.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let approve = match form.get("decision").map(String::as_str) {
        Some("approve") => true,
        Some("block") => false,
        _ => {
            return PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "error_refused")
                .into_response();
        }
    };
    match vouch_app::program::decide(&state.store, id, approve, &caller.name).await {
        Ok(done) => back(done, "referrals"),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// `GET /program/submissions/{id}/file`: an uploaded file, as an
/// attachment of the type read from its bytes (never shown inline).
pub async fn submission_file(
    State(state): State<AppState>,
    crate::auth::Page(_, _): crate::auth::Page<crate::auth::need::ReadCustomers>,
    Path(id): Path<i64>,
) -> Response {
    match state.store.submission_file(id).await {
        Ok(Some((name, kind, bytes))) => {
            let safe: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{safe}\""),
                    ),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => PageError::new(StatusCode::NOT_FOUND, "not_found").into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(askama::Template)]
#[template(path = "portal_join.html")]
struct JoinPage {
    lang: &'static str,
    ui: crate::locale::Ui,
    company: String,
    logo: Option<String>,
    terms: String,
    /// Whether the page must ask for a join code.
    code_needed: bool,
    /// A code given in the link (`?code=`), filled in.
    code: String,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize, Default)]
pub struct JoinQuery {
    code: Option<String>,
}

/// `GET /portal/join`: the open join page (an address the company knows
/// gets a link; joining this way is untrusted). `?code=` fills in a join
/// code; a program closed to open sign-ups asks for one.
pub async fn join_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<JoinQuery>,
) -> Response {
    join_form(&state, &headers, q.code.as_deref(), None, StatusCode::OK).await
}

async fn join_form(
    state: &AppState,
    headers: &HeaderMap,
    code: Option<&str>,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let brand = crate::survey_pages::brand(state).await;
    let (lang, t) = crate::locale::texts(headers);
    let settings = match vouch_app::program::settings(&state.store).await {
        Ok(settings) => settings,
        Err(e) => return PageError::from(e).into_response(),
    };
    crate::survey_pages::html(
        status,
        JoinPage {
            lang,
            ui: crate::locale::Ui(t),
            company: brand.company_name,
            logo: brand.logo_url,
            terms: settings.terms_version,
            code_needed: !settings.open_sign_up,
            code: code
                .map(vouch_app::portal::normalise_join_code)
                .unwrap_or_default(),
            error,
        },
    )
}

/// `POST /portal/join`: queues a join link; the same answer whatever the address.
pub async fn request_join(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::edge::Form(form): crate::edge::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let email = form.get("email").map_or("", String::as_str);
    let code = form.get("code").map(String::as_str);
    match vouch_app::portal::request_join(&state.store, email, code).await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => {
            let key = match refusal {
                vouch_app::portal::JoinRefusal::BadCode => "portal_join_bad_code",
                vouch_app::portal::JoinRefusal::CodeNeeded => "portal_join_code_needed",
            };
            return join_form(
                &state,
                &headers,
                code,
                Some(key),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return PageError::from(e).into_response(),
    }
    notice(
        &state,
        &headers,
        StatusCode::OK,
        ("portal_check_mail_title", "portal_join_check_mail"),
        None,
    )
    .await
}

/// `GET /portal/join/{token}`: a button that joins (a GET spends nothing).
pub async fn confirm_join(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    notice(
        &state,
        &headers,
        StatusCode::OK,
        ("portal_title", "portal_join_confirm"),
        Some((format!("/portal/join/{token}"), "portal_join_button")),
    )
    .await
}

/// `POST /portal/join/{token}`: spends the link; the customer joins,
/// accepting the current terms, and is signed in to the portal.
pub async fn join(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    match vouch_app::portal::join(&state.store, &token).await {
        Ok(Some(session)) => into_portal(&state, &session),
        Ok(None) => {
            notice(
                &state,
                &headers,
                StatusCode::GONE,
                ("portal_link_gone_title", "portal_join_gone"),
                None,
            )
            .await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
