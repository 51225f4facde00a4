//! Evaluation metrics for source separation and reconstruction.
//!
//! | metric | module | matches |
//! |---|---|---|
//! | SDR / SIR / SAR (BSS Eval v3, 512-tap filters, permutation) | [`bss_eval`] | `mir_eval.separation.bss_eval_sources` (0.7/0.8) to 0.01 dB |
//! | framewise SDR / SIR / SAR | [`bss_eval`] | `mir_eval.separation.bss_eval_sources_framewise` |
//! | SI-SDR, SI-SIR, SI-SAR | [`mod@si_sdr`] | Le Roux et al. 2019; `fast_bss_eval.si_bss_eval_sources` |
//! | STOI, extended STOI | [`mod@stoi`] | `pystoi.stoi(x, y, fs, extended)` (0.4) to 1e-3 |
//! | NMSE, spectral SDR, KL, Itakura–Saito on magnitudes | [`spectral`] | the iN-NMF paper's code |
//!
//! [`evaluate`] is the one scoring path of a separation (BSS Eval + SI-SDR + STOI/eSTOI with one
//! permutation), used by `innmf eval`, `innmf separate` and the experiments.
//!
//! ## Conventions
//! - Signals are `f64` slices, one per source; references first, estimates second (the
//!   bss_eval order). Every source of a call has the same length.
//! - Ratios are in dB (`10·log10` of energy ratios); a zero denominator gives `+∞`, as
//!   mir_eval's `_safe_db` does.
//! - A permutation `perm` says which estimate goes with which reference:
//!   `perm[j]` is the estimate matched to reference `j`, and `sdr[j]` etc. are the scores of that
//!   pair (mir_eval's `popt`).

pub mod bss_eval;
mod evaluate;
pub mod si_sdr;
pub mod spectral;
pub mod stoi;
mod toeplitz;

pub use bss_eval::{
    bench_bss_eval, bss_eval_sources, bss_eval_sources_framewise, BssEvalBench, BssEvalSources,
    FramewiseBssEval, BSS_EVAL_FILTER_LEN, MAX_PERMUTED_SOURCES, MAX_SOURCES,
};
pub use evaluate::{evaluate, EvalOptions, MeanScores, SeparationScores, SourceScores};
pub use si_sdr::{si_bss_eval_sources, si_sdr};
pub use spectral::{
    itakura_saito, itakura_saito_paper, kl_compressed, nmse, spectral_sdr, SPECTRAL_EPS,
};
pub use stoi::{estoi, resample_oct, stoi, STOI_FS};

use crate::error::{check_finite, Error, Result};

/// Largest sample magnitude a scored signal may have: energies (sums of up to 2^30 squares) and
/// their products stay finite in f64 below it. Audio is near 1; a larger value is a corrupt
/// float file.
pub const MAX_AMPLITUDE: f64 = 1e50;

/// Rejects a signal whose peak magnitude exceeds [`MAX_AMPLITUDE`]: energies (sums of squares
/// over up to 2^30 samples) and their products must stay finite, beyond which the scores come
/// out NaN. `label` prefixes the value in the message (`"#2, "` for a source index, or `""`).
pub(crate) fn check_amplitude(what: &'static str, label: &str, x: &[f64]) -> Result<()> {
    let p = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if p > MAX_AMPLITUDE {
        return Err(Error::param(
            what,
            format!("{label}peak |x| = {p:e}"),
            format!(
                "samples of magnitude at most {MAX_AMPLITUDE:e} (energies and their \
                 products must stay finite in f64)"
            ),
        ));
    }
    Ok(())
}

/// Rejects a permutation search over more than [`MAX_PERMUTED_SOURCES`] sources (n! candidates).
pub(crate) fn check_permutable(nsrc: usize, compute_permutation: bool) -> Result<()> {
    if compute_permutation && nsrc > MAX_PERMUTED_SOURCES {
        return Err(Error::param(
            "number of sources",
            nsrc,
            format!("at most {MAX_PERMUTED_SOURCES} with permutation search (n! candidates)"),
        ));
    }
    Ok(())
}

/// `10·log10(num/den)` in dB, `+∞` when `den == 0` (mir_eval's `_safe_db`).
pub fn safe_db(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (num / den).log10()
    }
}

/// Checks a reference/estimate set the way `mir_eval.separation.validate` does and returns
/// `(nsrc, nsampl)`.
///
/// Errors: no sources or no samples ([`Error::Empty`]), different source counts or lengths
/// ([`Error::LengthMismatch`]), non-finite samples ([`Error::NonFinite`]), more than
/// [`MAX_SOURCES`] sources, and an all-zero reference or estimate ([`Error::InvalidParameter`];
/// mir_eval raises `ValueError` for both: a silent reference makes the decomposition ambiguous, a
/// silent estimate makes the projection system underdetermined).
pub(crate) fn validate_sources<R: AsRef<[f64]>, E: AsRef<[f64]>>(
    reference: &[R],
    estimate: &[E],
) -> Result<(usize, usize)> {
    if reference.is_empty() {
        return Err(Error::Empty {
            what: "reference sources",
        });
    }
    if estimate.len() != reference.len() {
        return Err(Error::LengthMismatch {
            what: "number of estimated sources vs. reference sources".into(),
            expected: reference.len(),
            got: estimate.len(),
        });
    }
    if reference.len() > MAX_SOURCES {
        return Err(Error::param(
            "number of sources",
            reference.len(),
            format!("at most {MAX_SOURCES} (mir_eval's MAX_SOURCES)"),
        ));
    }
    let n = reference[0].as_ref().len();
    for (j, r) in reference.iter().enumerate() {
        if r.as_ref().len() != n {
            return Err(Error::LengthMismatch {
                what: format!("samples in reference source {j} vs. reference source 0"),
                expected: n,
                got: r.as_ref().len(),
            });
        }
    }
    for (j, e) in estimate.iter().enumerate() {
        if e.as_ref().len() != n {
            return Err(Error::LengthMismatch {
                what: format!("samples in estimated source {j} vs. reference sources"),
                expected: n,
                got: e.as_ref().len(),
            });
        }
    }
    if n == 0 {
        return Err(Error::Empty {
            what: "reference sources (no samples)",
        });
    }
    for r in reference {
        check_finite("reference source", r.as_ref())?;
    }
    for e in estimate {
        check_finite("estimated source", e.as_ref())?;
    }
    for (j, r) in reference.iter().enumerate() {
        check_amplitude("reference source", &format!("#{j}, "), r.as_ref())?;
    }
    for (j, e) in estimate.iter().enumerate() {
        check_amplitude("estimated source", &format!("#{j}, "), e.as_ref())?;
    }
    if let Some(j) = reference
        .iter()
        .position(|r| r.as_ref().iter().all(|&v| v == 0.0))
    {
        return Err(Error::param(
            "reference source",
            format!("#{j}, all samples zero"),
            "non-silent reference sources (a silent reference makes the evaluation ambiguous)",
        ));
    }
    if let Some(j) = estimate
        .iter()
        .position(|e| e.as_ref().iter().all(|&v| v == 0.0))
    {
        return Err(Error::param(
            "estimated source",
            format!("#{j}, all samples zero"),
            "non-silent estimated sources (a silent estimate gives an underdetermined system)",
        ));
    }
    Ok((reference.len(), n))
}

/// The permutation maximising the mean of `score[perm[j]][j]` over `j` (`score[est][ref]`), searched
/// in `itertools.permutations` (lexicographic) order; ties keep the first, like `np.argmax`.
pub(crate) fn best_permutation(score: &[Vec<f64>]) -> Vec<usize> {
    let n = score.len();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut best = perm.clone();
    let mean =
        |p: &[usize]| p.iter().enumerate().map(|(j, &e)| score[e][j]).sum::<f64>() / n as f64;
    let mut best_val = mean(&perm);
    while next_permutation(&mut perm) {
        let v = mean(&perm);
        // np.argmax: the first maximum wins; NaN counts as the maximum (argmax returns it first)
        if v > best_val || (v.is_nan() && !best_val.is_nan()) {
            best_val = v;
            best.copy_from_slice(&perm);
        }
    }
    best
}

/// Next permutation in lexicographic order; false after the last one.
fn next_permutation(p: &mut [usize]) -> bool {
    let n = p.len();
    if n < 2 {
        return false;
    }
    let mut i = n - 1;
    while i > 0 && p[i - 1] >= p[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = n - 1;
    while p[j] <= p[i - 1] {
        j -= 1;
    }
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}

#[cfg(test)]
pub(crate) mod tests {
    /// Deterministic xorshift noise in [−0.5, 0.5) for the metrics' tests.
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    use super::*;

    #[test]
    fn permutations_are_lexicographic_and_complete() {
        let mut p = vec![0, 1, 2];
        let mut all = vec![p.clone()];
        while next_permutation(&mut p) {
            all.push(p.clone());
        }
        assert_eq!(
            all,
            vec![
                vec![0, 1, 2],
                vec![0, 2, 1],
                vec![1, 0, 2],
                vec![1, 2, 0],
                vec![2, 0, 1],
                vec![2, 1, 0]
            ]
        );
    }

    #[test]
    fn best_permutation_picks_max_mean_and_first_tie() {
        // score[est][ref]
        let s = vec![vec![0.0, 5.0], vec![7.0, 1.0]];
        assert_eq!(best_permutation(&s), vec![1, 0]);
        let tie = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(best_permutation(&tie), vec![0, 1]);
    }

    #[test]
    fn validation_errors_carry_values() {
        let r = vec![vec![1.0, 2.0], vec![0.5, 0.1]];
        assert!(matches!(
            validate_sources(&r, &r[..1]),
            Err(Error::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let short = vec![vec![1.0], vec![1.0]];
        assert!(matches!(
            validate_sources(&r, &short),
            Err(Error::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let silent = vec![vec![1.0, 2.0], vec![0.0, 0.0]];
        let e = validate_sources(&silent, &r).unwrap_err().to_string();
        assert!(e.contains("#1"), "{e}");
        assert!(validate_sources(&r, &silent).is_err());
        // finite samples whose energies overflow (a float file of 1e100): scores came out NaN
        let loud = vec![vec![1.0, 2.0], vec![0.5, 1e100]];
        let e = validate_sources(&r, &loud).unwrap_err().to_string();
        assert!(
            e.contains("estimated source") && e.contains("#1") && e.contains("1e100"),
            "{e}"
        );
        let none: Vec<Vec<f64>> = vec![];
        assert!(matches!(
            validate_sources(&none, &none),
            Err(Error::Empty { .. })
        ));
        let empty = vec![Vec::<f64>::new()];
        assert!(matches!(
            validate_sources(&empty, &empty),
            Err(Error::Empty { .. })
        ));
        let nan = vec![vec![1.0, f64::NAN], vec![0.5, 0.1]];
        assert!(matches!(
            validate_sources(&nan, &r),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert_eq!(validate_sources(&r, &r).unwrap(), (2, 2));
    }
}
