//! Advocate propensity: how likely a customer is to become an active
//! advocate, from the signals Vouch holds about them, explained. A logistic
//! score over a handful of features, each with a weight that is shown,
//! editable and learnable (`fit`) from who actually became an advocate,
//! validated by its AUC on held-out customers (`auc`).

use serde::{Deserialize, Serialize};

/// What is known about one customer, as of one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PropensitySignals {
    /// Their latest NPS score and how many days ago they gave it.
    pub latest_nps: Option<(u8, f64)>,
    /// Reviews they wrote, and their mean stars (1–5).
    pub reviews: u32,
    pub mean_stars: Option<f64>,
    /// Likes, shares and comments on their social mentions of the company.
    pub social_engagement: u64,
    /// Earning entries in the program's points ledger (actions done).
    pub program_actions: u32,
    /// Customers who came by their referral.
    pub referrals: u32,
    /// Purchase signals from their attributes (`orders`, `revenue`).
    pub orders: Option<f64>,
    pub revenue: Option<f64>,
}

crate::names::named_enum! {
    /// The features of the score.
    pub enum Feature as "propensity feature" {
        /// The latest NPS score, −1 (0) … +1 (10).
        NpsLevel = "nps_level",
        /// How recent that answer is: 1 today, ½ at 180 days.
        NpsRecency = "nps_recency",
        /// Mean review stars, −1 (1★) … +1 (5★).
        ReviewRating = "review_rating",
        /// ln(1 + reviews written).
        ReviewCount = "review_count",
        /// ln(1 + social engagement) / 5.
        SocialEngagement = "social_engagement",
        /// ln(1 + program actions).
        ProgramActivity = "program_activity",
        /// ln(1 + referrals).
        Referrals = "referrals",
        /// ln(1 + orders) / 3.
        Orders = "orders",
        /// ln(1 + revenue) / 10.
        Revenue = "revenue",
    }
}

impl PropensitySignals {
    /// The features, in `Feature::ALL`'s order.
    pub fn features(&self) -> [f64; 9] {
        let ln1p = |x: f64| x.max(0.0).ln_1p();
        [
            self.latest_nps
                .map_or(0.0, |(score, _)| (f64::from(score) - 5.0) / 5.0),
            self.latest_nps
                .map_or(0.0, |(_, days)| 0.5f64.powf(days.max(0.0) / 180.0)),
            self.mean_stars.map_or(0.0, |s| (s - 3.0) / 2.0),
            ln1p(f64::from(self.reviews)),
            ln1p(self.social_engagement as f64) / 5.0,
            ln1p(f64::from(self.program_actions)),
            ln1p(f64::from(self.referrals)),
            self.orders.map_or(0.0, |o| ln1p(o) / 3.0),
            self.revenue.map_or(0.0, |r| ln1p(r) / 10.0),
        ]
    }
}

/// The weights of the score: an intercept and one per feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Weights {
    pub intercept: f64,
    /// In `Feature::ALL`'s order.
    pub features: [f64; 9],
}

impl Default for Weights {
    /// Our prior before any learning: a promoter who answered lately, wrote
    /// good reviews, refers and acts in the program is the likeliest.
    fn default() -> Weights {
        Weights {
            intercept: -2.0,
            features: [1.6, 0.6, 0.9, 0.4, 0.3, 0.7, 0.8, 0.3, 0.2],
        }
    }
}

/// One reason behind a score: a feature and what it added (in log-odds).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    pub feature: Feature,
    pub contribution: f64,
}

/// A customer's propensity: 0–100, and the reasons that raised it most.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Propensity {
    pub score: f64,
    /// The features that added most, largest first (at most three, each positive).
    pub reasons: Vec<Reason>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Weights {
    fn logit(&self, x: &[f64; 9]) -> f64 {
        self.intercept + self.features.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }

    /// The probability the weights give, 0–1.
    pub fn probability(&self, signals: &PropensitySignals) -> f64 {
        sigmoid(self.logit(&signals.features()))
    }

    /// The score (0–100, one decimal) and its reasons.
    pub fn propensity(&self, signals: &PropensitySignals) -> Propensity {
        let x = signals.features();
        let mut reasons: Vec<Reason> = Feature::ALL
            .iter()
            .zip(self.features.iter().zip(&x))
            .map(|(f, (w, v))| Reason {
                feature: *f,
                contribution: (w * v * 1000.0).round() / 1000.0,
            })
            .filter(|r| r.contribution > 0.0)
            .collect();
        reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        reasons.truncate(3);
        Propensity {
            score: (sigmoid(self.logit(&x)) * 1000.0).round() / 10.0,
            reasons,
        }
    }
}

/// Learns weights from examples (signals, became an active advocate) by
/// L2-regularised logistic regression, full-batch gradient descent from
/// the default weights: the same data give the same weights.
pub fn fit(examples: &[(PropensitySignals, bool)]) -> Weights {
    let mut w = Weights::default();
    if examples.is_empty() {
        return w;
    }
    let xs: Vec<([f64; 9], f64)> = examples
        .iter()
        .map(|(s, y)| (s.features(), f64::from(u8::from(*y))))
        .collect();
    let n = xs.len() as f64;
    let (rate, l2) = (0.5, 1e-3);
    for _ in 0..800 {
        let mut grad_b = 0.0;
        let mut grad = [0.0; 9];
        for (x, y) in &xs {
            let err = sigmoid(w.logit(x)) - y;
            grad_b += err;
            for (g, v) in grad.iter_mut().zip(x) {
                *g += err * v;
            }
        }
        w.intercept -= rate * grad_b / n;
        for (wi, g) in w.features.iter_mut().zip(grad) {
            *wi -= rate * (g / n + l2 * *wi);
        }
    }
    w
}

/// The area under the ROC curve of `scores` against `labels`: the chance
/// that a random advocate scores above a random non-advocate (ties count
/// half). `None` without both kinds.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = sorted.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = sorted.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Rank-sum (Mann–Whitney), with tied scores sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * sorted[i..j].iter().filter(|(_, y)| *y).count() as f64;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn promoter() -> PropensitySignals {
        PropensitySignals {
            latest_nps: Some((10, 10.0)),
            reviews: 2,
            mean_stars: Some(5.0),
            referrals: 1,
            ..PropensitySignals::default()
        }
    }

    #[test]
    fn a_recent_promoter_who_reviews_and_refers_scores_high_and_says_why() {
        let w = Weights::default();
        let high = w.propensity(&promoter());
        let detractor = w.propensity(&PropensitySignals {
            latest_nps: Some((2, 10.0)),
            ..PropensitySignals::default()
        });
        let unknown = w.propensity(&PropensitySignals::default());
        assert!(high.score > 70.0, "{high:?}");
        assert!(detractor.score < unknown.score && unknown.score < high.score);
        assert_eq!(high.reasons[0].feature, Feature::NpsLevel, "{high:?}");
        assert!(high.reasons.len() <= 3);
        assert!(
            high.reasons
                .windows(2)
                .all(|r| r[0].contribution >= r[1].contribution)
        );
        assert!(
            detractor
                .reasons
                .iter()
                .all(|r| r.feature != Feature::NpsLevel)
        );
    }

    #[test]
    fn auc_is_the_chance_an_advocate_outranks_a_non_advocate() {
        assert_eq!(auc(&[(0.9, true), (0.1, false)]), Some(1.0));
        assert_eq!(auc(&[(0.1, true), (0.9, false)]), Some(0.0));
        assert_eq!(auc(&[(0.5, true), (0.5, false)]), Some(0.5));
        assert_eq!(auc(&[(0.2, true), (0.8, true), (0.5, false)]), Some(0.5));
        assert_eq!(auc(&[(0.5, true)]), None);
    }

    /// Data drawn from known weights: the fit finds a model that ranks
    /// held-out customers about as well as the truth does.
    #[test]
    fn fitting_recovers_a_ranking_from_who_became_advocates() {
        let truth = Weights {
            intercept: -3.0,
            features: [2.5, 0.5, 1.0, 0.5, 0.0, 0.0, 1.5, 0.0, 0.0],
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut draw = |n: usize| -> Vec<(PropensitySignals, bool)> {
            (0..n)
                .map(|_| {
                    let s = PropensitySignals {
                        latest_nps: rng
                            .random_bool(0.7)
                            .then(|| (rng.random_range(0..=10), rng.random_range(0.0..365.0))),
                        reviews: rng.random_range(0..3),
                        mean_stars: rng.random_bool(0.3).then(|| rng.random_range(1.0..=5.0)),
                        referrals: if rng.random_bool(0.2) {
                            rng.random_range(1..4)
                        } else {
                            0
                        },
                        ..PropensitySignals::default()
                    };
                    let y = rng.random_bool(truth.probability(&s));
                    (s, y)
                })
                .collect()
        };
        let (train, test) = (draw(4000), draw(1000));
        let learnt = fit(&train);
        let auc_of = |w: &Weights| {
            auc(&test
                .iter()
                .map(|(s, y)| (w.probability(s), *y))
                .collect::<Vec<_>>())
            .unwrap()
        };
        let (learnt_auc, true_auc) = (auc_of(&learnt), auc_of(&truth));
        assert!(
            learnt_auc > true_auc - 0.02,
            "learnt {learnt_auc:.3}, truth {true_auc:.3}"
        );
        assert!(learnt_auc > 0.75, "{learnt_auc}");
    }
}
