//! Realistic, deterministic demo data for Vouch.
//!
//! Customers on four plans in English and Romanian, with a hidden loyalty
//! "mood" that drifts month by month; monthly NPS waves in which they move
//! between categories; comments, reviews, social mentions and support
//! tickets whose tone matches that mood; churn that follows unhappiness;
//! and new customers brought in by referrals.
//!
//! Each customer is generated from `(seed, index)` alone, so the data is the
//! same however it is batched or parallelised.

mod names;
mod phrases;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Months, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_domain::{
    Author, Channel, CustomerProfile, Email, Engagement, Feedback, Locale, Rating, Score, Source,
    SurveyKind,
};

pub use phrases::Tone;
use phrases::{OPENERS_EN, OPENERS_RO, TITLES_EN, TITLES_RO, TOPICS};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    pub customers: u64,
    /// Months of survey waves, ending at `until`.
    pub months: u32,
    pub seed: u64,
    pub until: DateTime<Utc>,
}

impl DemoConfig {
    /// When the first survey wave starts.
    pub fn start(&self) -> DateTime<Utc> {
        self.until
            .checked_sub_months(Months::new(self.months))
            .unwrap_or(self.until)
    }
}

/// The surveys the demo answers, by kind, with their names.
pub const SURVEYS: [(SurveyKind, &str); 3] = [
    (SurveyKind::Nps, "Relationship NPS"),
    (SurveyKind::Csat, "Support CSAT"),
    (SurveyKind::Ces, "Onboarding CES"),
];

/// One generated answer; the caller resolves the survey and customer ids.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoAnswer {
    pub score: Score,
    pub comment: Option<String>,
    pub channel: Channel,
    pub answered_at: DateTime<Utc>,
}

/// A customer with everything they will say.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCustomer {
    /// `referred_by` is left empty: see `referred_by_index`.
    pub profile: CustomerProfile,
    /// The index of the customer whose referral brought this one in.
    pub referred_by_index: Option<u64>,
    pub answers: Vec<DemoAnswer>,
    /// Reviews, mentions and tickets; `customer_id` is left for the caller.
    pub feedback: Vec<Feedback>,
}

const PLANS: [(&str, f64, f64); 4] = [
    ("free", 6.6, 0.35),
    ("starter", 7.3, 0.30),
    ("pro", 7.9, 0.25),
    ("enterprise", 8.3, 0.10),
];
const REGIONS_EN: [&str; 3] = ["North America", "Europe", "Asia-Pacific"];

/// Generates customer `index` (0-based) of `config`.
pub fn demo_customer(config: &DemoConfig, index: u64) -> DemoCustomer {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    rng.set_stream(index);
    let rng = &mut rng;
    let start = config.start();

    let romanian = rng.random_bool(0.3);
    let locale = Locale::parse(if romanian { "ro" } else { "en" }).expect("constant locale");
    let (first, last) = if romanian {
        (pick(rng, names::FIRST_RO), pick(rng, names::LAST_RO))
    } else {
        (pick(rng, names::FIRST_EN), pick(rng, names::LAST_EN))
    };
    let domain = if romanian {
        "example.ro"
    } else {
        pick(rng, &["example.com", "example.org", "example.net"])
    };
    let email = Email::parse(&format!(
        "{}.{}.{index}@{domain}",
        ascii_fold(first),
        ascii_fold(last)
    ))
    .expect("generated emails are valid");

    // Customers join evenly from two years before the first wave until the last.
    let history_start = start.checked_sub_months(Months::new(24)).unwrap_or(start);
    let span = (config.until - history_start).num_seconds().max(1);
    let position = (index as f64 + rng.random::<f64>()) / config.customers.max(1) as f64;
    let created_at = history_start + Duration::seconds((position * span as f64) as i64);

    let plan_roll = rng.random::<f64>();
    let mut cumulative = 0.0;
    let (plan, plan_mood, _) = *PLANS
        .iter()
        .find(|(_, _, share)| {
            cumulative += share;
            plan_roll < cumulative
        })
        .unwrap_or(&PLANS[0]);
    let region = if romanian {
        "Romania"
    } else {
        pick(rng, &REGIONS_EN)
    };
    let segment = match plan {
        "enterprise" => "Enterprise",
        "pro" => "Mid-market",
        _ => "SMB",
    };
    let revenue = match plan {
        "free" => 0,
        "starter" => 29 * 12,
        "pro" => 99 * 12,
        _ => 1_000 * rng.random_range(12..120),
    };

    let mut profile = CustomerProfile::new(locale.clone(), created_at);
    profile.external_id = Some(format!("CRM-{:07}", index + 1));
    profile.email = Some(email);
    profile.name = Some(format!("{first} {last}"));
    profile.attributes = BTreeMap::from([
        ("plan".to_owned(), plan.to_owned()),
        ("region".to_owned(), region.to_owned()),
        ("segment".to_owned(), segment.to_owned()),
        ("revenue".to_owned(), revenue.to_string()),
    ]);
    let joined_during_waves = created_at >= start;
    let referred_by_index = (joined_during_waves && index > 0 && rng.random_bool(0.25))
        .then(|| rng.random_range(0..index));

    let mut customer = DemoCustomer {
        profile,
        referred_by_index,
        answers: Vec::new(),
        feedback: Vec::new(),
    };
    let base_mood = plan_mood + normal(rng) * 1.6;
    let mut mood = base_mood + normal(rng);
    let mut item = 0u32;
    let mut next_source_id = |source: Source| {
        item += 1;
        format!("demo-{}-{index}-{item}", source.as_str())
    };

    if joined_during_waves && rng.random_bool(0.5) {
        let at = created_at + Duration::days(14) + Duration::minutes(rng.random_range(0..24 * 60));
        if at <= config.until {
            let ces = (1.0 + mood * 0.6 + normal(rng)).round().clamp(1.0, 7.0) as i64;
            customer.answers.push(DemoAnswer {
                score: Score::new(SurveyKind::Ces, ces).expect("clamped to 1..=7"),
                comment: None,
                channel: Channel::InApp,
                answered_at: at,
            });
        }
    }

    for month in 0..config.months {
        let month_start = start
            .checked_add_months(Months::new(month))
            .unwrap_or(start);
        let month_end = month_start
            .checked_add_months(Months::new(1))
            .unwrap_or(config.until)
            .min(config.until);
        // Moods revert towards the customer's base, drift, and improve slowly as the product does.
        mood = base_mood
            + 0.7 * (mood - base_mood)
            + 0.9 * normal(rng)
            + 0.04 * f64::from(month) * 0.3;
        if created_at >= month_end {
            continue;
        }
        let at = random_between(rng, month_start.max(created_at), month_end);
        let tone = tone_of(mood);

        if rng.random_bool(0.3) && rng.random_bool(if mood < 6.5 { 0.4 } else { 0.5 }) {
            let score = (mood + 0.8 * normal(rng)).round().clamp(0.0, 10.0) as i64;
            let tone = tone_of(score as f64);
            let comment = rng
                .random_bool(0.55)
                .then(|| comment(rng, romanian, tone, &[]));
            let channel = *pick(
                rng,
                &[
                    Channel::Email,
                    Channel::Email,
                    Channel::Email,
                    Channel::Link,
                    Channel::InApp,
                ],
            );
            customer.answers.push(DemoAnswer {
                score: Score::nps(score).expect("clamped to 0..=10"),
                comment,
                channel,
                answered_at: at,
            });
        }

        if rng.random_bool(0.04) {
            let tone = if rng.random_bool(0.6) {
                Tone::Negative
            } else {
                Tone::Neutral
            };
            let topic = *pick(
                rng,
                &["support", "billing", "delivery", "quality", "usability"],
            );
            let body = comment(rng, romanian, tone, &[topic]);
            let mut ticket =
                Feedback::new(Source::Support, next_source_id(Source::Support), body, at)
                    .expect("id is set");
            ticket.title = Some(format!(
                "{} #{}",
                if romanian { "Tichet" } else { "Ticket" },
                10_000 + index * 10 + u64::from(month)
            ));
            ticket.language = Some(locale.language().to_owned());
            customer.feedback.push(ticket);
            if rng.random_bool(0.5) {
                let csat = (mood / 2.0 + 0.7 * normal(rng)).round().clamp(1.0, 5.0) as i64;
                customer.answers.push(DemoAnswer {
                    score: Score::new(SurveyKind::Csat, csat).expect("clamped to 1..=5"),
                    comment: None,
                    channel: Channel::Email,
                    answered_at: at + Duration::hours(rng.random_range(1..48)).min(month_end - at),
                });
            }
        }

        if rng.random_bool(0.008) {
            let stars = stars_of(mood + 0.7 * normal(rng));
            let platforms: &[Source] = if romanian {
                &[Source::Google, Source::Trustpilot, Source::AppStore]
            } else {
                &[
                    Source::Trustpilot,
                    Source::Google,
                    Source::AppStore,
                    Source::Amazon,
                ]
            };
            let source = *pick(rng, platforms);
            let tone = match stars {
                5 => Tone::Positive,
                4 => {
                    if rng.random_bool(0.6) {
                        Tone::Positive
                    } else {
                        Tone::Neutral
                    }
                }
                3 => Tone::Neutral,
                _ => Tone::Negative,
            };
            let body = comment(rng, romanian, tone, &[]);
            let mut review =
                Feedback::new(source, next_source_id(source), body, at).expect("id is set");
            review.rating = Some(Rating::stars(f64::from(stars)).expect("1..=5"));
            review.title = Some(
                pick(
                    rng,
                    if romanian {
                        TITLES_RO[tone as usize]
                    } else {
                        TITLES_EN[tone as usize]
                    },
                )
                .to_string(),
            );
            review.author = Author {
                name: Some(format!("{first} {}.", last.chars().next().unwrap_or('X'))),
                handle: None,
                ..Author::default()
            };
            review.language = Some(locale.language().to_owned());
            customer.feedback.push(review);
        }

        if rng.random_bool(0.006) {
            let source = *pick(
                rng,
                &[
                    Source::Twitter,
                    Source::Twitter,
                    Source::Facebook,
                    Source::Linkedin,
                    Source::Reddit,
                    Source::Instagram,
                ],
            );
            let handle = format!("@{}_{}{index}", ascii_fold(first), ascii_fold(last));
            customer
                .profile
                .handles
                .insert(source.as_str().to_owned(), handle.clone());
            let mut mention = Feedback::new(
                source,
                next_source_id(source),
                comment(rng, romanian, tone, &[]),
                at,
            )
            .expect("id is set");
            mention.author = Author {
                name: customer.profile.name.clone(),
                handle: Some(handle),
                ..Author::default()
            };
            mention.language = Some(locale.language().to_owned());
            let reach = (-rng.random::<f64>().max(1e-9).ln() * 20.0) as u64;
            mention.engagement = Engagement {
                likes: reach,
                shares: reach / 5,
                comments: reach / 8,
            };
            customer.feedback.push(mention);
        }

        let churn = if mood < 5.5 { 0.035 } else { 0.003 };
        if rng.random_bool(churn) {
            customer.profile.churned_at = Some(random_between(rng, at, month_end));
            break;
        }
    }
    customer
}

/// Answer `index` of `count` anonymous NPS answers for benchmarks, from
/// `(seed, index)` alone: a score drawn from a realistic mix, one of two
/// surveys, three channels and two languages. Answers arrive in time order
/// across `[from, to)`, as real ones do, each within a minute of its slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticAnswer {
    pub score: Score,
    /// 0 or 1: which of two benchmark surveys.
    pub survey: usize,
    pub channel: Channel,
    pub language: &'static str,
    pub answered_at: DateTime<Utc>,
}

pub fn synthetic_answer(
    seed: u64,
    index: u64,
    count: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> SyntheticAnswer {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    // Roughly 35% promoters, 35% passives, 30% detractors.
    const WEIGHTS: [u32; 11] = [2, 1, 2, 3, 4, 6, 12, 15, 20, 17, 18];
    let mut pick_score = rng.random_range(0..WEIGHTS.iter().sum::<u32>());
    let score = WEIGHTS.iter().position(|w| {
        if pick_score < *w {
            true
        } else {
            pick_score -= w;
            false
        }
    });
    SyntheticAnswer {
        score: Score::nps(score.unwrap_or(10) as i64).expect("index of an 11-element table"),
        survey: usize::from(rng.random_bool(0.3)),
        channel: *pick(&mut rng, &[Channel::Email, Channel::Link, Channel::InApp]),
        language: pick::<&str>(&mut rng, &["en", "ro"]),
        answered_at: {
            let slot = (to - from).num_seconds() as f64 * index as f64 / count.max(1) as f64;
            (from + Duration::seconds(slot as i64 + rng.random_range(0..60)))
                .min(to - Duration::seconds(1))
        },
    }
}

fn tone_of(score: f64) -> Tone {
    if score >= 8.5 {
        Tone::Positive
    } else if score >= 6.5 {
        Tone::Neutral
    } else {
        Tone::Negative
    }
}

fn stars_of(mood: f64) -> u8 {
    match mood {
        m if m >= 8.8 => 5,
        m if m >= 7.3 => 4,
        m if m >= 6.0 => 3,
        m if m >= 4.0 => 2,
        _ => 1,
    }
}

/// A comment of the given tone: an opener and one or two topic phrases.
fn comment(rng: &mut ChaCha8Rng, romanian: bool, tone: Tone, topics: &[&str]) -> String {
    let openers = if romanian { OPENERS_RO } else { OPENERS_EN };
    let mut parts: Vec<&str> = vec![*pick(rng, openers[tone as usize])];
    let chosen: Vec<&phrases::Topic> = if topics.is_empty() {
        let first = pick(rng, TOPICS);
        let mut chosen = vec![first];
        if rng.random_bool(0.35) {
            let second = pick(rng, TOPICS);
            if second.name != first.name {
                chosen.push(second);
            }
        }
        chosen
    } else {
        TOPICS.iter().filter(|t| topics.contains(&t.name)).collect()
    };
    for topic in chosen {
        let phrases = if romanian { topic.ro } else { topic.en };
        parts.push(*pick(rng, phrases[tone as usize]));
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn random_between(rng: &mut ChaCha8Rng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = (to - from).num_seconds();
    if seconds <= 0 {
        from
    } else {
        from + Duration::seconds(rng.random_range(0..seconds))
    }
}

/// Lower-case ASCII for email addresses and handles ("Ștefan" → "stefan").
fn ascii_fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'ș' | 'ş' | 'Ș' | 'Ş' => 's',
            'ț' | 'ţ' | 'Ț' | 'Ţ' => 't',
            'ă' | 'â' | 'Ă' | 'Â' => 'a',
            'î' | 'Î' => 'i',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config() -> DemoConfig {
        DemoConfig {
            customers: 2_000,
            months: 12,
            seed: 7,
            until: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn same_seed_same_customer() {
        assert_eq!(demo_customer(&config(), 42), demo_customer(&config(), 42));
        assert_ne!(demo_customer(&config(), 42), demo_customer(&config(), 43));
    }

    #[test]
    fn data_is_realistic() {
        let config = config();
        let customers: Vec<DemoCustomer> = (0..config.customers)
            .map(|i| demo_customer(&config, i))
            .collect();
        let nps: Vec<&DemoAnswer> = customers
            .iter()
            .flat_map(|c| &c.answers)
            .filter(|a| a.score.kind() == SurveyKind::Nps)
            .collect();
        let tally =
            vouch_domain::analytics::NpsTally::from_scores(nps.iter().map(|a| a.score.value()));
        let score = tally.nps().unwrap();
        assert!(nps.len() > 2_000, "{} NPS answers", nps.len());
        assert!((-20.0..50.0).contains(&score), "NPS {score}");
        assert!(tally.promoters > 0 && tally.passives > 0 && tally.detractors > 0);
        let romanian = customers
            .iter()
            .filter(|c| c.profile.locale.language() == "ro")
            .count();
        assert!(
            (400..800).contains(&romanian),
            "{romanian} Romanian customers"
        );
        let churned = customers
            .iter()
            .filter(|c| c.profile.churned_at.is_some())
            .count();
        let referred = customers
            .iter()
            .filter(|c| c.referred_by_index.is_some())
            .count();
        assert!(
            churned > 20 && referred > 20,
            "churned {churned}, referred {referred}"
        );
        let sources: std::collections::BTreeSet<Source> = customers
            .iter()
            .flat_map(|c| &c.feedback)
            .map(|f| f.source)
            .collect();
        for s in [
            Source::Trustpilot,
            Source::Google,
            Source::Amazon,
            Source::AppStore,
            Source::Support,
            Source::Twitter,
        ] {
            assert!(sources.contains(&s), "no {s} items");
        }
        for c in &customers {
            for a in &c.answers {
                assert!(a.answered_at >= c.profile.created_at && a.answered_at <= config.until);
            }
            if let Some(r) = c.referred_by_index {
                assert!(r < config.customers);
            }
        }
    }

    #[test]
    fn comment_tone_follows_the_score() {
        let config = config();
        for c in (0..300).map(|i| demo_customer(&config, i)) {
            for a in c
                .answers
                .iter()
                .filter(|a| a.score.kind() == SurveyKind::Nps)
            {
                let Some(comment) = &a.comment else { continue };
                if a.score.value() <= 3 {
                    let positive = TOPICS
                        .iter()
                        .flat_map(|t| t.en[0].iter().chain(t.ro[0].iter()))
                        .any(|p| comment.contains(p));
                    assert!(!positive, "score {} with {comment:?}", a.score.value());
                }
            }
        }
    }
}
