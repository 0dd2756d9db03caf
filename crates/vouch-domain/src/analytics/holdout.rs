//! Does a nurturing path work? Treated customers against the held-out
//! ones: a difference of shares (Newcombe's hybrid score interval, from
//! two Wilson intervals) or of NPS (adjusted Wald), each with its interval
//! and a two-sided p-value, and nothing until both groups are big enough.

use serde::Serialize;

use super::NpsTally;
use super::stats::{normal_critical, normal_upper_tail};

/// The fewest customers in each group before an outcome is compared.
pub const MIN_GROUP: u64 = 20;

/// An outcome compared between treated and held-out customers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Effect {
    /// The treated group's value (a share 0–1, or an NPS).
    pub treated: f64,
    pub held_out: f64,
    /// `treated − held_out`.
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
}

/// Wilson's score interval for `k` of `n` at critical value `z`.
pub(crate) fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The share `treated.0` of `treated.1` against `held.0` of `held.1`;
/// `None` ("not enough data yet") while a group is under `MIN_GROUP`.
pub fn compare_shares(treated: (u64, u64), held: (u64, u64), level: f64) -> Option<Effect> {
    let ((k1, n1), (k2, n2)) = (treated, held);
    if n1 < MIN_GROUP || n2 < MIN_GROUP || k1 > n1 || k2 > n2 {
        return None;
    }
    let z = normal_critical(level);
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let (l1, u1) = wilson(k1, n1, z);
    let (l2, u2) = wilson(k2, n2, z);
    let d = p1 - p2;
    let ci_low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let ci_high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    // The pooled z-test of "no difference".
    let pooled = (k1 + k2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    let p_value = if se > 0.0 {
        (2.0 * normal_upper_tail((d / se).abs())).min(1.0)
    } else {
        1.0
    };
    Some(Effect {
        treated: p1,
        held_out: p2,
        difference: d,
        ci_low,
        ci_high,
        p_value,
    })
}

/// The NPS of the treated group's next answers against the held-out
/// group's, in points; `None` while a group has under `MIN_GROUP` answers.
pub fn compare_nps(treated: &NpsTally, held: &NpsTally, level: f64) -> Option<Effect> {
    if treated.responses() < MIN_GROUP || held.responses() < MIN_GROUP {
        return None;
    }
    let z = normal_critical(level);
    let ((a, va), (b, vb)) = (treated.adjusted_wald(), held.adjusted_wald());
    let se = (va + vb).sqrt();
    let centre = a - b;
    let difference = treated.nps()? - held.nps()?;
    let p_value = (2.0 * normal_upper_tail((centre / se).abs())).min(1.0);
    Some(Effect {
        treated: treated.nps()?,
        held_out: held.nps()?,
        difference,
        ci_low: (100.0 * (centre - z * se)).max(-200.0),
        ci_high: (100.0 * (centre + z * se)).min(200.0),
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn small_groups_are_not_enough_data() {
        assert_eq!(compare_shares((5, 19), (3, 40), 0.95), None);
        assert_eq!(compare_shares((5, 40), (3, 19), 0.95), None);
        let e = compare_shares((30, 60), (10, 40), 0.95).unwrap();
        assert!((e.difference - 0.25).abs() < 1e-12);
        assert!(
            e.ci_low < 0.25 && 0.25 < e.ci_high && e.ci_low > 0.0,
            "{e:?}"
        );
        assert!(e.p_value < 0.05, "{e:?}");
        let none = compare_shares((20, 40), (20, 40), 0.95).unwrap();
        assert!((none.p_value - 1.0).abs() < 1e-9 && none.ci_low < 0.0 && none.ci_high > 0.0);
        let all = compare_shares((40, 40), (40, 40), 0.95).unwrap();
        assert_eq!(all.p_value, 1.0);
    }

    fn binomial(rng: &mut ChaCha8Rng, n: u64, p: f64) -> u64 {
        (0..n).filter(|_| rng.random::<f64>() < p).count() as u64
    }

    /// Held-out groups are small (10%): the simulation uses such sizes.
    #[test]
    fn share_intervals_cover_the_true_effect_in_at_least_94_percent_of_experiments() {
        let mut rng = ChaCha8Rng::seed_from_u64(20261204);
        for (p1, p2) in [(0.3, 0.3), (0.5, 0.35), (0.2, 0.1), (0.7, 0.6), (0.9, 0.8)] {
            for (n1, n2) in [(180, 20), (300, 40), (900, 100)] {
                let runs = 2_000;
                let covered = (0..runs)
                    .filter(|_| {
                        let e = compare_shares(
                            (binomial(&mut rng, n1, p1), n1),
                            (binomial(&mut rng, n2, p2), n2),
                            0.95,
                        )
                        .unwrap();
                        e.ci_low <= p1 - p2 && p1 - p2 <= e.ci_high
                    })
                    .count();
                let coverage = covered as f64 / runs as f64;
                assert!(coverage >= 0.94, "{p1} vs {p2}, n {n1}/{n2}: {coverage}");
            }
        }
    }

    #[test]
    fn nps_intervals_cover_the_true_effect_in_at_least_94_percent_of_experiments() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // (promoter, detractor) shares of each group.
        for ((a_p, a_d), (b_p, b_d)) in [
            ((0.5, 0.2), (0.4, 0.25)),
            ((0.3, 0.3), (0.3, 0.3)),
            ((0.7, 0.1), (0.5, 0.2)),
        ] {
            for (n1, n2) in [(180, 20), (450, 50)] {
                let truth = 100.0 * ((a_p - a_d) - (b_p - b_d));
                let tally = |rng: &mut ChaCha8Rng, n, p: f64, d: f64| {
                    let mut t = NpsTally::default();
                    for _ in 0..n {
                        let u: f64 = rng.random();
                        t.record(if u < p {
                            10
                        } else if u < p + d {
                            3
                        } else {
                            8
                        });
                    }
                    t
                };
                let runs = 2_000;
                let covered = (0..runs)
                    .filter(|_| {
                        let a = tally(&mut rng, n1, a_p, a_d);
                        let b = tally(&mut rng, n2, b_p, b_d);
                        let e = compare_nps(&a, &b, 0.95).unwrap();
                        e.ci_low <= truth && truth <= e.ci_high
                    })
                    .count();
                let coverage = covered as f64 / runs as f64;
                assert!(coverage >= 0.94, "{truth} at n {n1}/{n2}: {coverage}");
            }
        }
    }
}
