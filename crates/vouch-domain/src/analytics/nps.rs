//! The Net Promoter Score, always with its uncertainty.

use serde::Serialize;

use super::stats::{normal_critical, normal_upper_tail};
use crate::LoyaltyCategory;

/// How many promoters, passives and detractors answered. The input to every
/// NPS figure; tallies add up, which is what makes pre-aggregation exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NpsTally {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl NpsTally {
    pub fn new(promoters: u64, passives: u64, detractors: u64) -> Self {
        NpsTally {
            promoters,
            passives,
            detractors,
        }
    }

    /// Counts one answer (0–10).
    pub fn record(&mut self, score: u8) {
        match LoyaltyCategory::from_nps(score) {
            LoyaltyCategory::Promoter => self.promoters += 1,
            LoyaltyCategory::Passive => self.passives += 1,
            LoyaltyCategory::Detractor => self.detractors += 1,
        }
    }

    pub fn from_scores(scores: impl IntoIterator<Item = u8>) -> Self {
        let mut tally = NpsTally::default();
        scores.into_iter().for_each(|s| tally.record(s));
        tally
    }

    pub fn responses(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// NPS on −100..100, or `None` when nobody answered.
    pub fn nps(&self) -> Option<f64> {
        let n = self.responses();
        (n > 0).then(|| 100.0 * (self.promoters as f64 - self.detractors as f64) / n as f64)
    }

    /// The adjusted-Wald estimate: (NPS as a proportion difference, its variance).
    ///
    /// Rocks, "Interval Estimation for the Net Promoter Score", The American
    /// Statistician 70(4), 2016: add 3 to n and ¾ to both the promoter and the
    /// detractor count, then take the variance of the difference of the two
    /// proportions of one multinomial sample, (p + d − (p − d)²) / n.
    pub(crate) fn adjusted_wald(&self) -> (f64, f64) {
        let n = self.responses() as f64 + 3.0;
        let p = (self.promoters as f64 + 0.75) / n;
        let d = (self.detractors as f64 + 0.75) / n;
        let diff = p - d;
        (diff, (p + d - diff * diff) / n)
    }

    /// The NPS with its interval at `level` (e.g. 0.95); `None` when n = 0.
    pub fn estimate(&self, level: f64) -> Option<NpsEstimate> {
        let nps = self.nps()?;
        let (ci_low, ci_high) = self.interval(normal_critical(level));
        Some(NpsEstimate {
            nps,
            ci_low,
            ci_high,
            level,
            tally: *self,
        })
    }

    /// The adjusted-Wald interval in points for the two-sided critical value `z`.
    fn interval(&self, z: f64) -> (f64, f64) {
        let (centre, variance) = self.adjusted_wald();
        let half = z * variance.sqrt();
        (
            (100.0 * (centre - half)).max(-100.0),
            (100.0 * (centre + half)).min(100.0),
        )
    }
}

impl std::ops::Add for NpsTally {
    type Output = NpsTally;
    fn add(self, o: NpsTally) -> NpsTally {
        NpsTally::new(
            self.promoters + o.promoters,
            self.passives + o.passives,
            self.detractors + o.detractors,
        )
    }
}

impl std::ops::AddAssign for NpsTally {
    fn add_assign(&mut self, o: NpsTally) {
        *self = *self + o;
    }
}

impl std::iter::Sum for NpsTally {
    fn sum<I: Iterator<Item = NpsTally>>(iter: I) -> NpsTally {
        iter.fold(NpsTally::default(), |a, b| a + b)
    }
}

/// An NPS with its confidence interval (adjusted-Wald, clipped to −100..100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NpsEstimate {
    pub nps: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub level: f64,
    pub tally: NpsTally,
}

/// How an NPS moved between two periods, and whether the move is more than noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NpsChange {
    /// Later NPS minus earlier NPS, in points.
    pub delta: f64,
    /// Standard error of the difference, in points.
    pub standard_error: f64,
    /// Two-sided p-value of a z-test for "no change".
    pub p_value: f64,
    /// `p_value < 1 − level`.
    pub significant: bool,
}

/// Compares two independent periods: the difference of the NPSs, with the
/// standard error from both periods' adjusted-Wald variances and a z-test.
/// `None` when either period has no answers.
pub fn compare(earlier: &NpsTally, later: &NpsTally, level: f64) -> Option<NpsChange> {
    let delta = later.nps()? - earlier.nps()?;
    let standard_error = 100.0 * (earlier.adjusted_wald().1 + later.adjusted_wald().1).sqrt();
    let p_value = (2.0 * normal_upper_tail((delta / standard_error).abs())).min(1.0);
    Some(NpsChange {
        delta,
        standard_error,
        p_value,
        significant: p_value < 1.0 - level,
    })
}

/// One cell of a coverage check: how often the interval holds the truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CoverageCell {
    pub promoter_share: f64,
    pub detractor_share: f64,
    pub n: u64,
    pub coverage: f64,
}

impl CoverageCell {
    pub fn passive_share(&self) -> f64 {
        (1.0 - self.promoter_share - self.detractor_share).max(0.0)
    }
}

/// Whether the interval for critical value `z` contains the true NPS (in points).
fn covers(tally: &NpsTally, truth: f64, z: f64) -> bool {
    let (low, high) = tally.interval(z);
    // A hair of tolerance so a truth exactly on a bound counts, as in exact arithmetic.
    low <= truth + 1e-9 && truth - 1e-9 <= high
}

/// The exact probability that the interval at `level` contains the true NPS,
/// summing the multinomial probability of every possible sample of `n`.
pub fn exact_coverage(
    promoter_share: f64,
    detractor_share: f64,
    n: u64,
    level: f64,
) -> CoverageCell {
    let passive_share = 1.0 - promoter_share - detractor_share;
    let truth = 100.0 * (promoter_share - detractor_share);
    let ln_share = |share: f64, count: u64| {
        if count == 0 {
            0.0
        } else {
            count as f64 * share.ln()
        }
    };
    let ln_factorial: Vec<f64> = (0..=n)
        .map(|k| super::stats::ln_gamma(k as f64 + 1.0))
        .collect();
    let ln_factorial = |k: u64| ln_factorial[k as usize];
    let z = normal_critical(level);
    let mut coverage = 0.0;
    for promoters in 0..=n {
        for detractors in 0..=n - promoters {
            let passives = n - promoters - detractors;
            if passive_share < 1e-12 && passives > 0 {
                continue;
            }
            let tally = NpsTally::new(promoters, passives, detractors);
            if covers(&tally, truth, z) {
                coverage += (ln_factorial(n)
                    - ln_factorial(promoters)
                    - ln_factorial(detractors)
                    - ln_factorial(passives)
                    + ln_share(promoter_share, promoters)
                    + ln_share(detractor_share, detractors)
                    + ln_share(passive_share, passives))
                .exp();
            }
        }
    }
    CoverageCell {
        promoter_share,
        detractor_share,
        n,
        coverage,
    }
}

/// Draws `samples` samples of `n` answers from a population with the given
/// true shares and returns the share of intervals that contain the true NPS.
/// `uniform` yields numbers in [0, 1): the caller owns the randomness, so this
/// stays pure and reproducible.
pub fn simulated_coverage(
    promoter_share: f64,
    detractor_share: f64,
    n: u64,
    samples: u64,
    level: f64,
    uniform: &mut impl FnMut() -> f64,
) -> CoverageCell {
    let truth = 100.0 * (promoter_share - detractor_share);
    let z = normal_critical(level);
    let mut covered = 0u64;
    for _ in 0..samples {
        let mut tally = NpsTally::default();
        for _ in 0..n {
            let u = uniform();
            if u < promoter_share {
                tally.promoters += 1;
            } else if u < promoter_share + detractor_share {
                tally.detractors += 1;
            } else {
                tally.passives += 1;
            }
        }
        covered += u64::from(covers(&tally, truth, z));
    }
    CoverageCell {
        promoter_share,
        detractor_share,
        n,
        coverage: covered as f64 / samples as f64,
    }
}

/// The sample sizes and true shares the interval is checked on: n = 30, 50,
/// 100, 500 and every pair of promoter share {0.1, 0.3, 0.5, 0.7, 0.9} and
/// detractor share {0.05, 0.1, 0.3, 0.5} that sums to at most 1.
pub fn coverage_grid() -> Vec<(f64, f64, u64)> {
    let mut grid = Vec::new();
    for n in [30, 50, 100, 500] {
        for promoter_share in [0.1, 0.3, 0.5, 0.7, 0.9] {
            for detractor_share in [0.05, 0.1, 0.3, 0.5] {
                if promoter_share + detractor_share <= 1.0 + 1e-9 {
                    grid.push((promoter_share, detractor_share, n));
                }
            }
        }
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn exact_grid() -> Vec<CoverageCell> {
        coverage_grid()
            .into_iter()
            .map(|(p, d, n)| exact_coverage(p, d, n, 0.95))
            .collect()
    }

    #[test]
    fn adjusted_wald_interval_covers_the_true_nps() {
        let cells = exact_grid();
        let mean = cells.iter().map(|c| c.coverage).sum::<f64>() / cells.len() as f64;
        assert!((0.945..=0.96).contains(&mean), "mean coverage {mean}");
        for c in &cells {
            // The one known shortfall (docs/METRICS.md): with no passives at all the NPS is a
            // binomial, and at n = 30 the interval's coverage dips to 92.98%.
            let floor = if c.passive_share() < 1e-9 {
                0.929
            } else {
                0.93
            };
            assert!(c.coverage >= floor, "{c:?}");
        }
    }

    #[test]
    fn simulation_agrees_with_exact_coverage() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2016);
        let samples = 2_000;
        for exact in exact_grid() {
            let simulated = simulated_coverage(
                exact.promoter_share,
                exact.detractor_share,
                exact.n,
                samples,
                0.95,
                &mut || rng.random::<f64>(),
            );
            // Five standard errors of a binomial proportion: a wrong interval would miss by far more.
            let tolerance = 5.0 * (exact.coverage * (1.0 - exact.coverage) / samples as f64).sqrt();
            assert!(
                (simulated.coverage - exact.coverage).abs() <= tolerance,
                "{simulated:?} vs {exact:?}"
            );
        }
    }

    #[test]
    fn nps_is_promoters_minus_detractors() {
        let tally = NpsTally::from_scores([10, 9, 8, 7, 6, 0, 10, 10]);
        assert_eq!(tally, NpsTally::new(4, 2, 2));
        assert_eq!(tally.nps(), Some(25.0));
        assert_eq!(NpsTally::default().nps(), None);
        assert!(NpsTally::default().estimate(0.95).is_none());
    }

    #[test]
    fn interval_matches_a_hand_computation() {
        // n = 100: 50 promoters, 30 passives, 20 detractors.
        // n' = 103, p' = 50.75/103, d' = 20.75/103, centre = 30/103.
        let e = NpsTally::new(50, 30, 20).estimate(0.95).unwrap();
        let (p, d) = (50.75 / 103.0, 20.75 / 103.0);
        let se: f64 = ((p + d - (p - d) * (p - d)) / 103.0_f64).sqrt();
        assert!((e.ci_low - 100.0 * (p - d - 1.959_964 * se)).abs() < 1e-3);
        assert!((e.ci_high - 100.0 * (p - d + 1.959_964 * se)).abs() < 1e-3);
        assert_eq!(e.nps, 30.0);
    }

    #[test]
    fn extreme_samples_are_clipped() {
        let e = NpsTally::new(5, 0, 0).estimate(0.95).unwrap();
        assert_eq!(e.nps, 100.0);
        assert!(e.ci_high <= 100.0 && e.ci_low < 100.0);
    }

    #[test]
    fn a_big_move_on_big_samples_is_significant_and_noise_is_not() {
        let before = NpsTally::new(300, 400, 300);
        let after = NpsTally::new(400, 400, 200);
        let c = compare(&before, &after, 0.95).unwrap();
        assert_eq!(c.delta, 20.0);
        assert!(c.significant && c.p_value < 1e-6);
        let c = compare(&NpsTally::new(5, 3, 2), &NpsTally::new(6, 2, 2), 0.95).unwrap();
        assert!(!c.significant && c.p_value > 0.5);
        assert!(compare(&NpsTally::default(), &after, 0.95).is_none());
    }

    proptest! {
        #[test]
        fn estimates_stay_in_range(p in 0u64..5000, pa in 0u64..5000, d in 0u64..5000, level in 0.5f64..0.999) {
            let tally = NpsTally::new(p, pa, d);
            prop_assume!(tally.responses() > 0);
            let e = tally.estimate(level).unwrap();
            prop_assert!((-100.0..=100.0).contains(&e.nps));
            prop_assert!(-100.0 <= e.ci_low && e.ci_low <= e.ci_high && e.ci_high <= 100.0);
        }

        #[test]
        fn tallies_add_like_their_scores(a in proptest::collection::vec(0u8..=10, 0..200), b in proptest::collection::vec(0u8..=10, 0..200)) {
            let joined = NpsTally::from_scores(a.iter().chain(b.iter()).copied());
            prop_assert_eq!(NpsTally::from_scores(a) + NpsTally::from_scores(b), joined);
        }

        #[test]
        fn change_p_values_are_probabilities(p1 in 0u64..500, d1 in 0u64..500, p2 in 0u64..500, d2 in 0u64..500) {
            if let Some(c) = compare(&NpsTally::new(p1, 10, d1), &NpsTally::new(p2, 10, d2), 0.95) {
                prop_assert!((0.0..=1.0).contains(&c.p_value));
            }
        }
    }
}
