//! How likely a sample is to catch a cheat, and how large a sample must be.
//!
//! An operator falsified `m` of `N` committed results; the verifier challenges `S` distinct
//! indices drawn uniformly (without replacement). The sample misses every falsified result
//! with probability `C(N − m, S) / C(N, S) = Π_{i<S} (N − m − i) / (N − i)`, so it catches at
//! least one with probability `1 − Π_{i<S} (1 − m / (N − i))`. The product is summed in log
//! space (`ln_1p`, then `expm1`), which neither overflows nor loses the small terms.
//!
//! A cheating fraction `F` means `m = ⌈F·N⌉` falsified results (at least one): the fewest that
//! make up the fraction. `F·N` is rounded up after subtracting `10⁻⁹`, so that a product such as
//! `0.07 × 100 = 7.000000000000001` counts as 7.

use crate::error::AuditError;

/// The cheating fractions `audit verify` reports detection probabilities for.
pub const REPORTED_FRACTIONS: [f64; 3] = [0.01, 0.05, 0.10];

/// Detection probabilities per cheating fraction as `audit verify --json` prints them:
/// `{"0.01": p, "0.05": p, "0.10": p}` (the fraction with two decimals as the key).
pub fn detection_json(detection: &[(f64, f64)]) -> serde_json::Value {
    let fields = detection
        .iter()
        .map(|(fraction, p)| (format!("{fraction:.2}"), serde_json::json!(p)))
        .collect();
    serde_json::Value::Object(fields)
}

/// Checks that `fraction` is in `(0, 1]`.
fn check_fraction(fraction: f64) -> Result<(), AuditError> {
    if fraction.is_finite() && fraction > 0.0 && fraction <= 1.0 {
        Ok(())
    } else {
        Err(AuditError::Parameter(format!(
            "the cheating fraction {fraction} is not in (0, 1]"
        )))
    }
}

/// The number of falsified results a cheating `fraction` of `count` means: `⌈F·N⌉`, at least
/// 1 (see the module documentation).
pub fn falsified(count: usize, fraction: f64) -> Result<usize, AuditError> {
    check_fraction(fraction)?;
    if count == 0 {
        return Err(AuditError::Parameter("the batch is empty".into()));
    }
    let m = (fraction * count as f64 - 1e-9).ceil();
    Ok((m.max(1.0) as usize).min(count))
}

/// The probability that `samples` distinct indices drawn uniformly from `count` include at
/// least one of `falsified` falsified results.
pub fn detection_probability(count: usize, falsified: usize, samples: usize) -> f64 {
    if falsified == 0 || samples == 0 {
        return 0.0;
    }
    if samples > count.saturating_sub(falsified) {
        return 1.0;
    }
    let m = falsified as f64;
    let log_miss: f64 = (0..samples)
        .map(|i| (-m / (count - i) as f64).ln_1p())
        .sum();
    -log_miss.exp_m1()
}

/// The smallest sample size that catches a cheating `fraction` of `count` results with
/// probability at least `confidence` (in `(0, 1]`; `1` takes every honest-looking slot plus one).
pub fn min_samples(count: usize, fraction: f64, confidence: f64) -> Result<usize, AuditError> {
    if !(confidence.is_finite() && confidence > 0.0 && confidence <= 1.0) {
        return Err(AuditError::Parameter(format!(
            "the confidence {confidence} is not in (0, 1]"
        )));
    }
    let m = falsified(count, fraction)?;
    let certain = count - m + 1;
    if confidence >= 1.0 {
        return Ok(certain);
    }
    // Add one term of the product at a time until the miss probability is low enough.
    let target = (1.0 - confidence).ln();
    let mut log_miss = 0.0;
    for s in 1..certain {
        log_miss += (-(m as f64) / (count - (s - 1)) as f64).ln_1p();
        if log_miss <= target {
            return Ok(s);
        }
    }
    Ok(certain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C(n, k) exactly (small arguments).
    fn binomial(n: u128, k: u128) -> u128 {
        (0..k).fold(1, |acc, i| acc * (n - i) / (i + 1))
    }

    #[test]
    fn matches_the_exact_ratio_of_binomials() {
        for (n, m, s) in [
            (100, 1, 10),
            (100, 5, 20),
            (60, 6, 30),
            (200, 10, 20),
            (50, 49, 1),
        ] {
            let exact = 1.0 - binomial(n - m, s) as f64 / binomial(n, s) as f64;
            let p = detection_probability(n as usize, m as usize, s as usize);
            assert!((p - exact).abs() < 1e-12, "{n} {m} {s}: {p} vs {exact}");
        }
        assert_eq!(detection_probability(10, 3, 8), 1.0);
        assert_eq!(detection_probability(10, 0, 8), 0.0);
    }

    #[test]
    fn rounding_of_the_falsified_count() {
        assert_eq!(falsified(100, 0.07).unwrap(), 7);
        assert_eq!(falsified(1000, 0.01).unwrap(), 10);
        assert_eq!(falsified(1000, 0.0105).unwrap(), 11);
        assert_eq!(falsified(10, 0.01).unwrap(), 1);
        assert_eq!(falsified(10, 1.0).unwrap(), 10);
        assert!(falsified(10, 0.0).is_err());
        assert!(falsified(10, 1.5).is_err());
        assert!(falsified(10, f64::NAN).is_err());
        assert!(falsified(0, 0.5).is_err());
    }

    #[test]
    fn the_minimal_sample_is_minimal() {
        for (n, f, c) in [
            (1000, 0.01, 0.99),
            (1000, 0.05, 0.95),
            (10_000, 0.001, 0.9),
            (20, 0.5, 0.999),
        ] {
            let s = min_samples(n, f, c).unwrap();
            let m = falsified(n, f).unwrap();
            assert!(detection_probability(n, m, s) >= c, "{n} {f} {c}: {s}");
            assert!(
                s == 1 || detection_probability(n, m, s - 1) < c,
                "{n} {f} {c}: {s}"
            );
        }
        // With replacement it would be ln(0.01)/ln(0.99) ≈ 458.2; without, fewer.
        assert_eq!(min_samples(1000, 0.01, 0.99).unwrap(), 368);
        assert_eq!(min_samples(10, 0.1, 1.0).unwrap(), 10);
        assert!(min_samples(10, 0.1, 0.0).is_err());
        assert!(min_samples(10, 0.1, 1.1).is_err());
    }
}
