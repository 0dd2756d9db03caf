//! The few distributions the metrics need, written out so the domain crate
//! stays dependency-free. Accuracy (~1e-7) is far beyond what a survey needs.

/// Upper tail of the standard normal distribution, P(Z > x).
pub fn normal_upper_tail(x: f64) -> f64 {
    0.5 * erfc(x / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit with fractional error below
/// 1.2e-7 everywhere (Press et al., Numerical Recipes, 2nd ed., §6.2).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The z with P(Z ≤ z) = p, for 0 < p < 1, by bisection on the CDF.
pub fn normal_quantile(p: f64) -> f64 {
    bisect(|z| 1.0 - normal_upper_tail(z), p, -40.0, 40.0)
}

/// The two-sided critical value for a confidence level (1.959964 for 0.95).
pub fn normal_critical(level: f64) -> f64 {
    normal_quantile(0.5 + level / 2.0)
}

/// The two-sided critical value of Student's t with `df` degrees of freedom.
pub fn student_t_critical(level: f64, df: f64) -> f64 {
    bisect(|t| student_t_cdf(t, df), 0.5 + level / 2.0, -1e6, 1e6)
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom, through the
/// regularised incomplete beta function.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Finds x in [lo, hi] with f(x) = target for an increasing f.
fn bisect(f: impl Fn(f64) -> f64, target: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < target { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// ln Γ(x) for x > 0, Lanczos approximation (g = 7, 9 terms).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Regularised incomplete beta I_x(a, b), by its continued fraction
/// (modified Lentz), using the symmetry relation where it converges faster.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + numerator / c;
            if c.abs() < TINY {
                c = TINY;
            }
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() < tol
    }

    #[test]
    fn normal_values_match_tables() {
        assert!(close(normal_critical(0.95), 1.959_964, 1e-5));
        assert!(close(normal_critical(0.90), 1.644_854, 1e-5));
        assert!(close(normal_upper_tail(0.0), 0.5, 1e-7));
        assert!(close(normal_upper_tail(1.96), 0.024_998, 1e-6));
    }

    #[test]
    fn student_t_values_match_tables() {
        assert!(close(student_t_critical(0.95, 1.0), 12.706_2, 1e-3));
        assert!(close(student_t_critical(0.95, 10.0), 2.228_1, 1e-4));
        assert!(close(student_t_critical(0.95, 100.0), 1.984_0, 1e-4));
        assert!(close(student_t_critical(0.95, 1e6), 1.96, 1e-3));
    }
}
