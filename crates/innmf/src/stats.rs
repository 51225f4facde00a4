//! Summary statistics: medians, quantiles, percentile-bootstrap confidence intervals, paired
//! differences (used by the studies and the figures).

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Median of the finite values (NaN when there are none); the mean of the middle two for an
/// even count (numpy's `median`).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// `q`-quantile (0..=1) of sorted finite values with linear interpolation (numpy's default).
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let (i, w) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < v.len() {
        v[i] + w * (v[i + 1] - v[i])
    } else {
        v[i]
    }
}

/// A median with its percentile-bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Median of the sample.
    pub median: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// Finite values in the sample.
    pub n: usize,
}

/// Median of `values` with a `level` (e.g. 0.95) percentile-bootstrap interval from `resamples`
/// resamples drawn with `seed`. NaN fields for an empty sample; a one-value sample gets a
/// zero-width interval.
pub fn bootstrap_median(values: &[f64], resamples: usize, level: f64, seed: u64) -> Estimate {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    let m = median(&v);
    if n == 0 || resamples == 0 {
        return Estimate {
            median: m,
            lo: if n == 0 { f64::NAN } else { m },
            hi: if n == 0 { f64::NAN } else { m },
            n,
        };
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut meds = Vec::with_capacity(resamples);
    let mut buf = vec![0.0; n];
    for _ in 0..resamples {
        for b in buf.iter_mut() {
            *b = v[rng.random_range(0..n)];
        }
        meds.push(median(&buf));
    }
    meds.sort_by(|a, b| a.total_cmp(b));
    let alpha = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Estimate {
        median: m,
        lo: quantile_sorted(&meds, alpha),
        hi: quantile_sorted(&meds, 1.0 - alpha),
        n,
    }
}

/// Paired comparison of `a` and `b` (same units in the same order): the median difference
/// `a − b` with its bootstrap interval and how often `a > b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Median of `a − b` and its interval.
    pub diff: Estimate,
    /// Pairs with `a > b`.
    pub a_wins: usize,
    /// Pairs with both values finite.
    pub n: usize,
}

/// See [`Paired`]. Pairs with a non-finite member are left out.
pub fn paired(a: &[f64], b: &[f64], resamples: usize, level: f64, seed: u64) -> Paired {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| x - y)
        .collect();
    Paired {
        diff: bootstrap_median(&d, resamples, level, seed),
        a_wins: d.iter().filter(|&&x| x > 0.0).count(),
        n: d.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_matches_numpy() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn bootstrap_interval_brackets_the_median_and_shrinks_with_n() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let small: Vec<f64> = (0..10).map(|_| rng.random::<f64>()).collect();
        let large: Vec<f64> = (0..1000).map(|_| rng.random::<f64>()).collect();
        let es = bootstrap_median(&small, 2000, 0.95, 7);
        let el = bootstrap_median(&large, 2000, 0.95, 7);
        for e in [es, el] {
            assert!(e.lo <= e.median && e.median <= e.hi, "{e:?}");
        }
        assert!(el.hi - el.lo < (es.hi - es.lo) / 3.0, "{es:?} {el:?}");
        // the median of U(0,1) is 0.5: the large-sample interval covers it
        assert!(el.lo < 0.5 && el.hi > 0.5, "{el:?}");
        // same seed, same interval
        assert_eq!(es, bootstrap_median(&small, 2000, 0.95, 7));
    }

    #[test]
    fn paired_differences() {
        let a = [1.0, 2.0, 3.0, f64::NAN];
        let b = [0.5, 2.5, 1.0, 1.0];
        let p = paired(&a, &b, 500, 0.95, 3);
        assert_eq!(p.n, 3);
        assert_eq!(p.a_wins, 2);
        assert_eq!(p.diff.median, 0.5);
    }
}
