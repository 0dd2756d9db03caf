//! CSAT and CES: the two 1–N scales, summarised with their intervals.

use serde::Serialize;

use super::stats::{normal_critical, student_t_critical};

/// How many answers gave each score, 0–10 (CSAT uses 1–5, CES 1–7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScoreCounts(pub [u64; 11]);

impl ScoreCounts {
    pub fn record(&mut self, score: u8, count: u64) {
        if let Some(slot) = self.0.get_mut(usize::from(score)) {
            *slot += count;
        }
    }

    pub fn responses(&self) -> u64 {
        self.0.iter().sum()
    }

    fn mean_and_variance(&self) -> Option<(f64, f64)> {
        let n = self.responses() as f64;
        if n == 0.0 {
            return None;
        }
        let weighted = |f: &dyn Fn(f64) -> f64| -> f64 {
            self.0
                .iter()
                .enumerate()
                .map(|(s, c)| f(s as f64) * *c as f64)
                .sum()
        };
        let mean = weighted(&|s| s) / n;
        let variance = if n > 1.0 {
            weighted(&|s| (s - mean).powi(2)) / (n - 1.0)
        } else {
            0.0
        };
        Some((mean, variance))
    }

    /// CSAT: the share answering 4 or 5 on 1–5, with a Wilson score interval
    /// (Wilson 1927), and the mean score. `None` when n = 0.
    pub fn csat(&self, level: f64) -> Option<CsatEstimate> {
        let (mean, _) = self.mean_and_variance()?;
        let n = self.responses() as f64;
        let satisfied = (self.0[4] + self.0[5]) as f64;
        let p = satisfied / n;
        let z = normal_critical(level);
        let denominator = 1.0 + z * z / n;
        let centre = (p + z * z / (2.0 * n)) / denominator;
        let half = z / denominator * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        Some(CsatEstimate {
            csat: 100.0 * p,
            ci_low: 100.0 * (centre - half).max(0.0),
            ci_high: 100.0 * (centre + half).min(1.0),
            mean,
            responses: self.responses(),
        })
    }

    /// CES: the mean on 1–7 with a Student's t interval; the interval needs
    /// at least two answers. `None` when n = 0.
    pub fn ces(&self, level: f64) -> Option<CesEstimate> {
        let (mean, variance) = self.mean_and_variance()?;
        let n = self.responses();
        let interval = (n > 1).then(|| {
            let half = student_t_critical(level, (n - 1) as f64) * (variance / n as f64).sqrt();
            ((mean - half).max(1.0), (mean + half).min(7.0))
        });
        Some(CesEstimate {
            ces: mean,
            ci_low: interval.map(|i| i.0),
            ci_high: interval.map(|i| i.1),
            responses: n,
        })
    }
}

/// Share of satisfied answers (4–5 of 5), in percent, with a Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CsatEstimate {
    pub csat: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub mean: f64,
    pub responses: u64,
}

/// Mean customer effort on 1–7, with a t interval when n ≥ 2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CesEstimate {
    pub ces: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub responses: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(u8, u64)]) -> ScoreCounts {
        let mut c = ScoreCounts::default();
        pairs.iter().for_each(|(s, n)| c.record(*s, *n));
        c
    }

    #[test]
    fn csat_share_and_wilson_interval() {
        // 80 of 100 satisfied: Wilson 95% interval is 71.1%..86.7%.
        let e = counts(&[(5, 50), (4, 30), (3, 10), (1, 10)])
            .csat(0.95)
            .unwrap();
        assert_eq!(e.csat, 80.0);
        assert!((e.ci_low - 71.14).abs() < 0.05, "{}", e.ci_low);
        assert!((e.ci_high - 86.67).abs() < 0.05, "{}", e.ci_high);
        assert!((e.mean - 4.1).abs() < 1e-9);
        assert!(ScoreCounts::default().csat(0.95).is_none());
    }

    #[test]
    fn ces_mean_and_t_interval() {
        // Scores 2, 4, 6: mean 4, sd 2, t(0.975, 2) = 4.303 → 4 ± 4.968, clipped to 1..7.
        let e = counts(&[(2, 1), (4, 1), (6, 1)]).ces(0.95).unwrap();
        assert_eq!(e.ces, 4.0);
        assert_eq!((e.ci_low, e.ci_high), (Some(1.0), Some(7.0)));
        let e = counts(&[(3, 50), (5, 50)]).ces(0.95).unwrap();
        let half = 1.984_2 * (1.0_f64 * 100.0 / 99.0 / 100.0).sqrt();
        assert!((e.ci_low.unwrap() - (4.0 - half)).abs() < 1e-3);
        let single = counts(&[(4, 1)]).ces(0.95).unwrap();
        assert_eq!(single.ci_low, None);
    }
}
