//! Loading the demo data set into a store.

use std::collections::HashMap;

use vouch_demo::{DemoConfig, SURVEYS, demo_customer};
use vouch_domain::{Answer, CustomerId, SurveyId, SurveyKind};
use vouch_store::Store;

use crate::{AppError, Result};

/// How many customers are generated and written per transaction.
const BATCH: u64 = 1_000;

/// What a demo load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DemoSummary {
    pub customers: u64,
    pub responses: u64,
    pub feedback_items: u64,
}

/// Fills an empty store with demo data, calling `progress` with the number
/// of customers written so far after each batch. Refuses a store that
/// already holds customers, so demo data never mixes with real data.
pub async fn load(
    store: &Store,
    config: &DemoConfig,
    mut progress: impl FnMut(u64),
) -> Result<DemoSummary> {
    if store.count_customers().await? > 0 {
        return Err(AppError::Refused(format!(
            "{} already holds customers; demo data only goes into an empty database (choose another with --db)",
            store.describe()
        )));
    }
    let mut surveys: HashMap<SurveyKind, SurveyId> = HashMap::new();
    for (kind, name) in SURVEYS {
        surveys.insert(
            kind,
            store.ensure_survey(kind, name, config.start()).await?.id,
        );
    }

    let mut ids: Vec<CustomerId> = Vec::with_capacity(config.customers as usize);
    let mut summary = DemoSummary::default();
    let mut first = 0;
    while first < config.customers {
        let last = (first + BATCH).min(config.customers);
        let mut batch: Vec<_> = (first..last).map(|i| demo_customer(config, i)).collect();
        // Referrers from earlier batches have ids already; those in this one are linked after insert.
        let mut same_batch_referrals = Vec::new();
        for (offset, customer) in batch.iter_mut().enumerate() {
            if let Some(referrer) = customer.referred_by_index {
                match ids.get(referrer as usize) {
                    Some(id) => customer.profile.referred_by = Some(*id),
                    None => same_batch_referrals.push((offset, referrer)),
                }
            }
        }
        let profiles: Vec<_> = batch.iter().map(|c| c.profile.clone()).collect();
        let new_ids = store.insert_customers(&profiles).await?;
        ids.extend(&new_ids);
        for (offset, referrer) in same_batch_referrals {
            store
                .set_referrer(new_ids[offset], ids[referrer as usize])
                .await?;
        }

        let mut answers = Vec::new();
        let mut feedback = Vec::new();
        for (customer, id) in batch.into_iter().zip(&new_ids) {
            for a in customer.answers {
                answers.push(Answer {
                    survey_id: surveys[&a.score.kind()],
                    customer_id: Some(*id),
                    score: a.score,
                    comment: a.comment,
                    channel: a.channel,
                    locale: Some(customer.profile.locale.clone()),
                    answered_at: a.answered_at,
                    metadata: Default::default(),
                });
            }
            for mut f in customer.feedback {
                f.customer_id = Some(*id);
                feedback.push(f);
            }
        }
        summary.responses += store.insert_answers(&answers).await?.len() as u64;
        store.insert_feedback(&feedback).await?;
        summary.customers += new_ids.len() as u64;
        progress(summary.customers);
        first = last;
    }
    demo_sources(store, config).await?;
    demo_goals(store, config).await?;
    // The demo is searched at once: its items are indexed before it ends.
    crate::search::catch_up(store, None, |_| {}).await?;
    // Survey comments became feedback items inside the store: count, don't re-derive.
    summary.feedback_items = store.count_feedback().await?;
    Ok(summary)
}

/// Two goals set two months before the demo's end and measured every week
/// since, so the goals list and each goal's history have data.
async fn demo_goals(store: &Store, config: &DemoConfig) -> Result<()> {
    use crate::goals::{GoalSegment, NewGoal};
    use vouch_domain::goals::{Cadence, GoalKpi};
    let today = config.until.date_naive();
    let start = today - chrono::Duration::days(63);
    let settings = crate::playbooks::RunSettings::default();
    let goals = [
        (
            GoalKpi::Nps,
            10.0,
            "Maria Ionescu",
            "Raise NPS by ten points across all customers",
            "Promoters refer; detractors churn",
        ),
        (
            GoalKpi::Csat,
            5.0,
            "Andrei Pop",
            "Five more points of satisfied support answers",
            "Support is where detractors are made",
        ),
    ];
    for (kpi, rise, owner, specific, relevant) in goals {
        let Some(baseline) =
            crate::goals::measure(store, &settings, kpi, None, &GoalSegment::default(), start)
                .await?
        else {
            continue;
        };
        let new = NewGoal {
            kpi,
            platform: None,
            segment: GoalSegment::default(),
            target: (baseline.value + rise).min(100.0).round(),
            direction: None,
            start: Some(start),
            deadline: today + chrono::Duration::days(120),
            owner: owner.to_owned(),
            cadence: Some(Cadence::Weekly),
            specific: specific.to_owned(),
            relevant: relevant.to_owned(),
        };
        crate::goals::set_goal(store, &settings, &new, start).await?;
    }
    let mut day = start + chrono::Duration::days(7);
    while day <= today {
        crate::goals::check_in(store, &settings, day).await?;
        day += chrono::Duration::days(7);
    }
    // A maturity self-assessment made when the goals were set.
    use vouch_domain::maturity::Dimension::*;
    let assessment = crate::maturity::NewAssessment {
        answers: [
            (CustomerKnowledge, 2),
            (FeedbackCatalogue, 3),
            (Analysis, 2),
            (Roles, 2),
            (CloseTheLoop, 2),
            (AdvocateProgram, 1),
            (Measurement, 2),
        ]
        .into_iter()
        .collect(),
        targets: [(AdvocateProgram, 3), (Measurement, 3)]
            .into_iter()
            .collect(),
    };
    let at = chrono::TimeZone::from_utc_datetime(
        &chrono::Utc,
        &start.and_time(chrono::NaiveTime::from_hms_opt(10, 0, 0).expect("a time")),
    );
    crate::maturity::assess(store, &assessment, "maria.ionescu@vouch.demo", at).await?;
    Ok(())
}

/// Two connectors as they look after a while in use, so the sources page
/// has something to show: one that synced, one whose key was refused.
/// Their credentials are placeholders and their next syncs a week away
/// (no demo reaches a vendor unless someone asks it to).
async fn demo_sources(store: &Store, config: &DemoConfig) -> Result<()> {
    let at = config.until;
    let sources = [
        (
            "Trustpilot (main site)",
            "trustpilot",
            "https://api.trustpilot.com",
            "507f191e810c19729de860ea",
            1_240,
            None,
        ),
        (
            "Google Play app",
            "google-play",
            "https://androidpublisher.googleapis.com",
            "com.example.vouchdemo",
            310,
            Some(
                "google-play refused the credentials (HTTP 401): add the source again with new ones",
            ),
        ),
    ];
    for (name, kind, base_url, account, pulled, error) in sources {
        let source = vouch_store::NewSource {
            name: name.to_owned(),
            kind: kind.to_owned(),
            base_url: base_url.to_owned(),
            account: account.to_owned(),
            credentials: "demo-placeholder".to_owned(),
            every_minutes: 10_080,
        };
        let Some(id) = store.add_source(&source, at).await? else {
            continue;
        };
        store.advance_source(id, None, pulled).await?;
        store
            .finish_source_sync(id, at, at + chrono::Duration::days(7), error)
            .await?;
    }
    Ok(())
}

/// Installs the default playbooks and runs them over the last `events` of
/// the demo history (steps due now run here; messages wait for a server
/// with SMTP), then works some of the tasks they opened, so the tasks
/// page, the SLA report and the playbook reports have data. Returns the
/// runs started and the tasks opened.
pub async fn run_playbooks(
    store: &Store,
    settings: &crate::playbooks::RunSettings,
    events: i64,
) -> Result<(u64, u64)> {
    use vouch_domain::playbooks::{Resolution, TaskState};
    crate::playbooks::install_defaults(store).await?;
    for (team, members) in [
        ("finance", ["irina@vouch.demo", "matei@vouch.demo"]),
        ("support", ["elena@vouch.demo", "andrei@vouch.demo"]),
        ("product", ["sofia@vouch.demo", "radu@vouch.demo"]),
        ("operations", ["vlad@vouch.demo", "ioana@vouch.demo"]),
        ("cx", ["admin@vouch.demo", "maria@vouch.demo"]),
    ] {
        let members: Vec<String> = members.iter().map(|m| (*m).to_owned()).collect();
        store.set_team(team, &members).await?;
    }
    let last = store.last_event_seq().await?;
    let position = store
        .consumer_position(crate::playbooks::CONSUMER, 0)
        .await?;
    store
        .advance_consumer(
            crate::playbooks::CONSUMER,
            position,
            (last - events).max(0),
            &[],
        )
        .await?;
    while crate::playbooks::run_new_events(store, settings).await? > 0 {}
    // Steps queue the next: run until none is due.
    // (the detractor path's 10 minutes for the comment pass at once).
    let soon = chrono::Duration::minutes(15);
    while crate::playbooks::run_due_steps(store, settings, soon).await? > 0 {}
    let runs = store.playbook_runs(None, None, 1_000_000).await?.len() as u64;
    let tasks = store
        .tasks(&vouch_store::TaskFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await?;
    let now = chrono::Utc::now();
    // Two in three answered, one in three closed; a few reopened for later.
    for (i, task) in tasks.iter().enumerate() {
        let change = match i % 3 {
            0 => vouch_store::TaskChange {
                state: Some(TaskState::Closed),
                resolution: Some(Resolution::Resolved.as_str().to_owned()),
                note: Some("Called the customer; the fix is confirmed.".into()),
                responded: true,
                ..Default::default()
            },
            1 => vouch_store::TaskChange {
                state: Some(TaskState::InProgress),
                responded: true,
                ..Default::default()
            },
            _ => continue,
        };
        store.change_task(task.id, &change, now).await?;
    }
    Ok((runs, tasks.len() as u64))
}

/// What the demo program holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgramSummary {
    pub members: u64,
    pub submissions: u64,
    pub redemptions: u64,
    pub referrals: u64,
    pub flagged: u64,
}

/// How the demo decides who becomes an advocate: the log-odds of joining
/// (and so of becoming an active advocate, since every demo member acts)
/// are −4.5 + 2.5 × NPS level + 0.5 × NPS recency + 1.0 × review rating +
/// 0.5 × review count + 1.5 × referrals + 0.3 × revenue, over the features
/// of `vouch_domain::propensity` (docs/METRICS.md); non-promoters join at a
/// fifth of that chance.
pub const DEMO_ADVOCACY: vouch_domain::propensity::Weights = vouch_domain::propensity::Weights {
    intercept: -4.5,
    features: [2.5, 0.5, 1.0, 0.5, 0.0, 0.0, 1.5, 0.0, 0.3],
};

/// A lively advocate program over the demo's promoters: members (most
/// invited, some from the open link), points for the actions advocates
/// take across the last months, a catalogue with redemptions in every
/// state, a paused and a banned member, and referral links with clicks
/// and conversions, some blocked or flagged by the fraud rules.
/// Deterministic: the same demo gives the same program.
pub async fn run_program(store: &Store, seed: u64) -> Result<ProgramSummary> {
    use crate::program::{self, Conversion, ProgramSettings, Visit};
    use chrono::{Duration, Utc};
    use vouch_domain::program::{Fulfilment, JoinedBy, MemberStatus, RedemptionState, RewardKind};
    use vouch_store::{NewEntry, NewReward};

    program::save_settings(
        store,
        &ProgramSettings {
            landing_url: "https://shop.vouch.demo/welcome".into(),
            redirect_hosts: vec!["blog.vouch.demo".into()],
            ..ProgramSettings::default()
        },
    )
    .await?;
    let now = Utc::now();
    // A small deterministic generator: the demo must not change between runs.
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut draw = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n.max(1)
    };
    let catalogue = [
        (
            "Sticker pack",
            RewardKind::Swag,
            100,
            Some(500),
            None,
            Fulfilment::Auto,
        ),
        (
            "Vouch mug",
            RewardKind::Swag,
            300,
            Some(40),
            None,
            Fulfilment::Auto,
        ),
        (
            "A tree planted in your name",
            RewardKind::Donation,
            400,
            None,
            None,
            Fulfilment::Auto,
        ),
        (
            "Hoodie",
            RewardKind::Swag,
            1_200,
            Some(2),
            None,
            Fulfilment::Manual,
        ),
        (
            "25 EUR account credit",
            RewardKind::AccountCredit,
            2_500,
            None,
            Some("Advocate"),
            Fulfilment::Auto,
        ),
        (
            "Lunch with the product team",
            RewardKind::Experience,
            4_000,
            Some(4),
            Some("Evangelist"),
            Fulfilment::Manual,
        ),
    ];
    let mut rewards = Vec::new();
    for (name, kind, points, stock, min_tier, fulfilment) in catalogue {
        rewards.push(
            store
                .add_reward(
                    &NewReward {
                        name: name.into(),
                        kind,
                        points,
                        stock,
                        min_tier: min_tier.map(str::to_owned),
                        per_member_limit: (kind == RewardKind::Experience).then_some(1),
                        fulfilment,
                    },
                    now - Duration::days(200),
                )
                .await?,
        );
    }
    // Gift codes: a voucher members redeem (a code each), and the friend's
    // side of the referral reward (withdrawn from the catalogue, handed to
    // referred friends). Join codes for a meetup and for partners.
    let gift_code = |name: &str, points| NewReward {
        name: name.into(),
        kind: RewardKind::GiftCode,
        points,
        stock: Some(0),
        min_tier: None,
        per_member_limit: None,
        fulfilment: Fulfilment::Auto,
    };
    let voucher = store
        .add_reward(
            &gift_code("10 EUR shop voucher", 250),
            now - Duration::days(200),
        )
        .await?;
    let codes: Vec<String> = (1..=40).map(|i| format!("DEMO-VCH-{i:04}")).collect();
    store.add_reward_codes(voucher.id, &codes, now).await?;
    rewards.push(voucher);
    let welcome = store
        .add_reward(
            &gift_code("15% off a first order (for referred friends)", 1),
            now - Duration::days(200),
        )
        .await?;
    let codes: Vec<String> = (1..=200).map(|i| format!("DEMO-WELCOME-{i:04}")).collect();
    store.add_reward_codes(welcome.id, &codes, now).await?;
    store
        .change_reward(welcome.id, Some(false), None, now)
        .await?;
    program::save_settings(
        store,
        &ProgramSettings {
            friend_reward_id: Some(welcome.id),
            ..program::settings(store).await?
        },
    )
    .await?;
    store
        .add_join_code("MEETUP-2026", Some(50), Some(now + Duration::days(60)), now)
        .await?;
    store.add_join_code("PARTNERS", None, None, now).await?;

    use vouch_domain::program::BadgeRule;
    for (name, description, rule) in [
        (
            "First steps",
            "Earned your first 100 points",
            BadgeRule::Points { at_least: 100 },
        ),
        (
            "Storyteller",
            "Completed a challenge stage",
            BadgeRule::Count {
                source: "challenge".into(),
                at_least: 1,
            },
        ),
        (
            "Connector",
            "Three friends joined through you",
            BadgeRule::Count {
                source: "referral".into(),
                at_least: 3,
            },
        ),
        (
            "Thousand club",
            "1,000 points and counting",
            BadgeRule::Points { at_least: 1_000 },
        ),
        (
            "Community helper",
            "Answers peers in the forum",
            BadgeRule::Manual,
        ),
    ] {
        store
            .add_badge(name, description, &rule, now - Duration::days(200))
            .await?;
    }
    let promoters = program::promoters_now(
        store,
        Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS),
        now,
    )
    .await?;
    let actions = [
        ("Wrote a review on G2", 300),
        ("Answered the product survey", 50),
        ("Shared a case study", 800),
        ("Spoke at a customer webinar", 1_000),
        ("Joined a beta", 200),
        ("Posted about us on LinkedIn", 150),
        ("Took a reference call", 500),
    ];
    let mut summary = ProgramSummary::default();
    let mut members = Vec::new();
    // Who joins depends on their signals, as `DEMO_ADVOCACY` says (a
    // logistic on the propensity features), so the propensity model has
    // something real to learn and its AUC on the demo means something.
    let categories: std::collections::HashSet<CustomerId> = promoters.iter().copied().collect();
    let mut joiners = Vec::new();
    for row in store.propensity_rows(None, now).await? {
        let p = DEMO_ADVOCACY.probability(&row.signals);
        let promoter = categories.contains(&row.customer);
        // The program invites promoters; others join by open sign-up, rarely.
        let p = if promoter { p } else { p * 0.2 };
        if (draw(1_000_000) as f64) < p * 1_000_000.0 {
            joiners.push(row.customer);
        }
    }
    for (i, customer) in joiners.iter().take(300).enumerate() {
        let by = if i % 3 == 2 {
            JoinedBy::OpenSignUp
        } else {
            JoinedBy::Invitation
        };
        let joined = now - Duration::days(20 + draw(300) as i64);
        let (member, _) = store
            .add_member(*customer, by, Some("2026-12"), joined)
            .await?;
        summary.members += 1;
        // A few very active advocates, many occasional ones.
        let n = if i % 10 == 0 {
            8 + draw(6)
        } else {
            1 + draw(4)
        };
        for k in 0..n {
            let (reason, points) = actions[draw(actions.len() as u64) as usize];
            let at = now - Duration::days(draw(180) as i64) - Duration::hours(draw(24) as i64);
            let entry = NewEntry {
                member_id: member.id,
                kind: vouch_domain::program::EntryKind::Earn,
                amount: points,
                reason: reason.into(),
                source: "demo".into(),
                actor: "admin@vouch.demo".into(),
                idempotency_key: format!("demo:{}:{k}", member.id),
                redemption_id: None,
                reverses: None,
            };
            let _ = store.add_entry(&entry, at).await?;
        }
        members.push(member);
    }
    // Redemptions: what each can afford, in every state.
    for (i, member) in members.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let reward = &rewards[i % 4];
        if let Some(Ok(r)) = program::redeem(store, member.id, reward.id).await? {
            summary.redemptions += 1;
            let next = match i % 8 {
                0 if r.state == "pending_approval" => Some(RedemptionState::Approved),
                4 if r.state == "approved" => Some(RedemptionState::Fulfilled),
                6 if r.state == "pending_approval" => Some(RedemptionState::Refused),
                _ => None,
            };
            if let Some(next) = next {
                let reason = (next == RedemptionState::Refused)
                    .then_some("Out of this size; please pick another reward");
                store
                    .move_redemption(r.id, next, reason, "admin@vouch.demo", now)
                    .await?;
            }
        }
    }
    let helper = store
        .badges()
        .await?
        .into_iter()
        .find(|b| b.name == "Community helper");
    for (i, member) in members.iter().take(12).enumerate() {
        program::refresh_badges(store, member.id).await?;
        if i % 3 == 0 {
            if let Some(helper) = &helper {
                store
                    .award_badge(member.id, helper, "admin@vouch.demo", now)
                    .await?;
            }
            store
                .add_recognition(
                    member.id,
                    "Thank you for speaking at our customer webinar: three teams signed up after your talk.",
                    true,
                    "maria@vouch.demo",
                    now - Duration::days(3),
                )
                .await?;
        }
    }
    // The last two are paused and banned below: the rest act.
    let active_ones = 40.min(members.len().saturating_sub(2));
    if let [.., paused, banned] = members.as_slice() {
        store
            .set_member_status(paused.id, MemberStatus::Paused, "admin@vouch.demo", now)
            .await?;
        store
            .set_member_status(banned.id, MemberStatus::Banned, "admin@vouch.demo", now)
            .await?;
    }
    // Challenges: one done by many (paid at once), one with stages waiting
    // for a person, so the approval queue has work.
    let story: vouch_domain::program::challenges::ChallengeSpec = serde_json::from_value(serde_json::json!({
        "name": "Tell us your story",
        "description": "Two questions and a quick check by our team: your words may become a case study.",
        "stages": [
            {"kind": "answer", "title": "What changed for you?", "questions": ["What did our product change for your team?", "What would you tell a peer who is unsure?"], "points": 150},
            {"kind": "approval", "title": "Our team reads it", "points": 350}
        ]
    }))
    .map_err(|e| AppError::Refused(e.to_string()))?;
    let review: vouch_domain::program::challenges::ChallengeSpec = serde_json::from_value(serde_json::json!({
        "name": "Review us on G2",
        "description": "An honest review, whatever you think: points come once we see it is published, never for its rating.",
        "stages": [
            {"kind": "review", "title": "Write a review on G2", "platform": "g2", "url": "https://www.g2.com/products/vouch-demo/reviews", "points": 300}
        ]
    }))
    .map_err(|e| AppError::Refused(e.to_string()))?;
    let story = store
        .add_challenge(&story, now - Duration::days(60))
        .await?;
    let review = store
        .add_challenge(&review, now - Duration::days(30))
        .await?;
    for (i, member) in members.iter().take(active_ones).enumerate() {
        let input = program::StageInput {
            answer: Some(
                "We hear every unhappy customer within a day now, and half of them come back."
                    .into(),
            ),
            ..Default::default()
        };
        if let Some(Ok(first)) = program::submit(store, member.id, story.id, input).await? {
            summary.submissions += 1;
            let next = program::StageInput {
                answer: Some("Happy for you to quote me.".into()),
                ..Default::default()
            };
            if let Some(Ok(waiting)) = program::submit(store, member.id, story.id, next).await?
                && i % 3 == 0
            {
                program::decide_submission(
                    store,
                    waiting.id,
                    vouch_domain::program::challenges::SubmissionState::Approved,
                    Some("Thank you, lovely story"),
                    "admin@vouch.demo",
                )
                .await?;
            }
            let _ = first;
        }
        if i % 4 == 1 {
            let input = program::StageInput {
                url: Some(format!(
                    "https://www.g2.com/products/vouch-demo/reviews/{}",
                    1000 + i
                )),
                ..Default::default()
            };
            if let Some(Ok(_)) = program::submit(store, member.id, review.id, input).await? {
                summary.submissions += 1;
            }
        }
    }
    // Referrals: links for the keenest, friends who click and buy.
    let others: Vec<String> = store
        .customers(&vouch_store::CustomerFilter::default(), None, 50)
        .await?
        .into_iter()
        .filter_map(|c| c.profile.email.map(|e| e.as_str().to_owned()))
        .collect();
    for (i, member) in members.iter().take(active_ones).enumerate() {
        let (link, _) = program::referral_link(store, member.id, None, None).await?;
        let advocate_email = match member.customer_id {
            Some(c) => store
                .customer(CustomerId(c))
                .await?
                .and_then(|c| c.profile.email)
                .map(|e| e.as_str().to_owned()),
            None => None,
        };
        for f in 0..(1 + draw(5)) {
            let referer = [
                "https://www.linkedin.com/feed/",
                "https://twitter.com/",
                "https://www.retailmenot.com/view/vouch.demo",
                "",
            ][draw(4) as usize];
            let visit = Visit {
                ip: Some(std::net::IpAddr::from([
                    198,
                    51,
                    100,
                    (i * 5 + f as usize) as u8,
                ])),
                user_agent: Some("Mozilla/5.0 (demo)".into()),
                cookie: Some(format!("demo-friend-{i}-{f}")),
                referer: (!referer.is_empty()).then(|| referer.to_owned()),
                to: None,
            };
            let Some(followed) = program::follow(store, &link.code, &visit).await? else {
                continue;
            };
            if draw(3) == 0 {
                continue; // Clicked, did not buy.
            }
            let email = match draw(12) {
                0 => advocate_email
                    .clone()
                    .map(|e| e.replacen('@', "+friend@", 1)),
                1 => Some(format!("friend{i}x{f}@mailinator.com")),
                2 => others.get(draw(others.len() as u64) as usize).cloned(),
                _ => Some(format!("friend{i}x{f}@example.net")),
            };
            let conversion = Conversion {
                click: followed.click.map(|c| c.click_key),
                external_order_id: format!("DEMO-{}-{f}", link.code),
                value_cents: 1_500 + draw(20_000) as i64,
                currency: "EUR".into(),
                email,
                ..Conversion::default()
            };
            if let Ok(done) = program::convert(store, &conversion, Utc::now()).await? {
                summary.referrals += 1;
                if done.referral.status == "flagged" {
                    summary.flagged += 1;
                }
            }
        }
    }
    // The demo's history runs to today: referrals older than their hold
    // have paid (the shop's refund window is past).
    program::pay_due_referrals(store, now + Duration::days(15)).await?;
    Ok(summary)
}
