//! Topic drivers: which topics go with a lower or higher NPS. For each
//! topic, the NPS of the commented answers that mention it against those
//! that do not (`compare_nps`: adjusted-Wald difference with its interval
//! and a z-test), and the mean sentiment of its mentions. An association,
//! not a cause: unhappy customers write more, and about more topics.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Effect, NpsEstimate, NpsTally, compare_nps};
use crate::TopicMention;

/// One commented NPS answer: its score and the topics its comment mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentedAnswer {
    pub score: u8,
    pub topics: Vec<TopicMention>,
}

/// One topic's place among the drivers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopicDriver {
    pub topic: String,
    /// Commented answers that mention it.
    pub mentions: u64,
    /// The NPS of those answers, with its interval.
    #[schema(value_type = Option<Object>)]
    pub nps: Option<NpsEstimate>,
    /// The mean sentiment of its mentions, −1..1.
    pub mean_sentiment: f64,
    /// NPS with the topic minus NPS without it, in points, with its
    /// interval and p-value; `None` while either side has fewer than
    /// `MIN_GROUP` answers.
    pub effect: Option<Effect>,
    /// The interval excludes 0 at the level asked for.
    pub significant: bool,
}

/// The drivers of every topic mentioned, the ones that pull the NPS down
/// the most first (topics without an effect yet last, by mentions).
pub fn topic_drivers(answers: &[CommentedAnswer], level: f64) -> Vec<TopicDriver> {
    let mut topics: BTreeMap<&str, (NpsTally, NpsTally, f64, u64)> = BTreeMap::new();
    for answer in answers {
        for mention in &answer.topics {
            topics.entry(mention.topic.as_str()).or_default();
        }
    }
    for answer in answers {
        for (topic, (with, without, sentiment, mentions)) in topics.iter_mut() {
            let found: Vec<&TopicMention> =
                answer.topics.iter().filter(|m| m.topic == *topic).collect();
            if found.is_empty() {
                without.record(answer.score);
            } else {
                with.record(answer.score);
                for m in found {
                    *sentiment += m.sentiment;
                    *mentions += 1;
                }
            }
        }
    }
    let mut drivers: Vec<TopicDriver> = topics
        .into_iter()
        .map(|(topic, (with, without, sentiment, mentions))| {
            let effect = compare_nps(&with, &without, level);
            TopicDriver {
                topic: topic.to_owned(),
                mentions: with.responses(),
                nps: with.estimate(level),
                mean_sentiment: if mentions == 0 {
                    0.0
                } else {
                    sentiment / mentions as f64
                },
                significant: effect.is_some_and(|e| e.ci_low > 0.0 || e.ci_high < 0.0),
                effect,
            }
        })
        .collect();
    drivers.sort_by(|a, b| match (&a.effect, &b.effect) {
        (Some(x), Some(y)) => x.difference.total_cmp(&y.difference),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.mentions.cmp(&a.mentions),
    });
    drivers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(score: u8, topics: &[(&str, f64)]) -> CommentedAnswer {
        CommentedAnswer {
            score,
            topics: topics
                .iter()
                .map(|(t, s)| TopicMention {
                    topic: (*t).to_owned(),
                    sentiment: *s,
                })
                .collect(),
        }
    }

    #[test]
    fn a_topic_that_detractors_mention_pulls_the_nps_down_significantly() {
        let mut answers = Vec::new();
        // Billing: 30 answers, 25 detractors. No billing: 60 answers, mostly promoters.
        answers.extend((0..25).map(|_| answer(2, &[("billing", -0.6)])));
        answers.extend((0..5).map(|_| answer(9, &[("billing", 0.2), ("support", 0.5)])));
        answers.extend((0..50).map(|_| answer(10, &[("support", 0.6)])));
        answers.extend((0..10).map(|_| answer(7, &[])));
        let drivers = topic_drivers(&answers, 0.95);
        assert_eq!(drivers[0].topic, "billing", "the worst first");
        let billing = &drivers[0];
        assert_eq!(billing.mentions, 30);
        let nps = billing.nps.unwrap();
        assert!((nps.nps - (5.0 - 25.0) / 30.0 * 100.0).abs() < 1e-9);
        let effect = billing.effect.unwrap();
        // Without billing: 50 promoters, 10 passives of 60 → +83.3.
        assert!((effect.held_out - 50.0 / 60.0 * 100.0).abs() < 1e-9);
        assert!((effect.difference - (nps.nps - effect.held_out)).abs() < 1e-9);
        assert!(effect.ci_high < 0.0 && billing.significant);
        assert!((billing.mean_sentiment - (25.0 * -0.6 + 5.0 * 0.2) / 30.0).abs() < 1e-9);
        let support = &drivers[1];
        assert_eq!(support.topic, "support");
        assert!(support.effect.unwrap().difference > 0.0 && support.significant);
    }

    #[test]
    fn small_topics_have_no_effect_yet_and_a_topic_twice_in_one_answer_counts_one_answer() {
        let mut answers: Vec<CommentedAnswer> =
            (0..40).map(|i| answer((i % 11) as u8, &[])).collect();
        answers.push(answer(3, &[("delivery", -0.5), ("delivery", -0.1)]));
        let drivers = topic_drivers(&answers, 0.95);
        assert_eq!(drivers.len(), 1);
        assert_eq!(drivers[0].mentions, 1);
        assert_eq!(drivers[0].effect, None);
        assert!(!drivers[0].significant);
        assert!((drivers[0].mean_sentiment + 0.3).abs() < 1e-9);
        assert!(topic_drivers(&[], 0.95).is_empty());
    }
}
