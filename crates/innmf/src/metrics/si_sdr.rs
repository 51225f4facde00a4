//! Scale-invariant SDR (Le Roux, Wisdom, Erdogan, Hershey, "SDR — half-baked or well done?",
//! ICASSP 2019) and its SIR/SAR companions.
//!
//! ## Definitions
//! For a reference `s` and an estimate `ŝ` (optionally both made zero-mean first):
//!
//! ```text
//! α       = ⟨ŝ, s⟩ / ‖s‖²,   e_target = α s
//! SI-SDR  = 10·log10 ‖e_target‖² / ‖ŝ − e_target‖²
//! ```
//!
//! so the estimate may be rescaled freely but not filtered. In cosine form, with
//! `ρ² = ⟨ŝ, s⟩² / (‖ŝ‖²‖s‖²)`, SI-SDR `= 10·log10 ρ²/(1 − ρ²)`.
//!
//! SI-SIR and SI-SAR are BSS Eval with one-tap filters (fast_bss_eval's `si_bss_eval_sources`):
//! with `P_j` the projection of `ŝ` onto reference `j` alone and `P_all` its projection onto the
//! span of all references,
//!
//! ```text
//! SI-SIR = 10·log10 ‖P_j‖² / ‖P_all − P_j‖²
//! SI-SAR = 10·log10 ‖P_all‖² / ‖ŝ − P_all‖²
//! ```
//!
//! (and SI-SDR is `10·log10 ‖P_j‖² / ‖ŝ − P_j‖²`, the same number as above).
//!
//! ## Zero mean
//! Le Roux et al. subtract the mean of both signals; fast_bss_eval's default (`zero_mean=False`)
//! and mir_eval do not. Both are offered: with `zero_mean = true` a DC offset in the estimate
//! counts neither as target nor as distortion. The paper's recipe (and torchmetrics'
//! `scale_invariant_signal_distortion_ratio(zero_mean=True)`) uses `true`.
//!
//! fast_bss_eval divides by `max(‖x‖, 1e-6)`; here silent signals are rejected instead, so the
//! numbers agree for every signal both accept.

use super::{
    best_permutation, check_amplitude, check_permutable, validate_sources, BssEvalSources,
};
use crate::error::{check_finite, Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

fn remove_mean(x: &[f64]) -> Vec<f64> {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    x.iter().map(|v| v - m).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `10·log10(c/(1 − c))` for a squared cosine `c` clamped to [0, 1].
fn coherence_db(c: f64) -> f64 {
    let c = c.clamp(0.0, 1.0);
    10.0 * (c / (1.0 - c)).log10()
}

/// SI-SDR (dB) of one estimate against one reference.
///
/// # Errors
/// Different lengths ([`Error::LengthMismatch`]), empty signals, non-finite samples, samples
/// above [`super::MAX_AMPLITUDE`] (as every other metric), and a reference or estimate that is
/// all zero (after mean removal when `zero_mean`).
pub fn si_sdr(reference: &[f64], estimate: &[f64], zero_mean: bool) -> Result<f64> {
    if reference.len() != estimate.len() {
        return Err(Error::LengthMismatch {
            what: "samples in estimate vs. reference".into(),
            expected: reference.len(),
            got: estimate.len(),
        });
    }
    if reference.is_empty() {
        return Err(Error::Empty { what: "reference" });
    }
    check_finite("reference", reference)?;
    check_finite("estimate", estimate)?;
    check_amplitude("reference", "", reference)?;
    check_amplitude("estimate", "", estimate)?;
    let (s, e) = if zero_mean {
        (remove_mean(reference), remove_mean(estimate))
    } else {
        (reference.to_vec(), estimate.to_vec())
    };
    let (ss, ee) = (dot(&s, &s), dot(&e, &e));
    if ss == 0.0 {
        return Err(Error::param(
            "reference",
            "all samples zero",
            "a non-silent reference",
        ));
    }
    if ee == 0.0 {
        return Err(Error::param(
            "estimate",
            "all samples zero",
            "a non-silent estimate",
        ));
    }
    let se = dot(&s, &e);
    Ok(coherence_db(se * se / (ss * ee)))
}

/// SI-SDR, SI-SIR and SI-SAR of every source, with the permutation maximising the mean SI-SIR
/// when `compute_permutation` (as `fast_bss_eval.si_bss_eval_sources`; the result layout is that
/// of [`super::bss_eval_sources`]).
///
/// # Errors
/// Those of [`super::bss_eval_sources`] (silent signals are checked after mean removal).
pub fn si_bss_eval_sources<R: AsRef<[f64]>, E: AsRef<[f64]>>(
    reference: &[R],
    estimate: &[E],
    zero_mean: bool,
    compute_permutation: bool,
) -> Result<BssEvalSources> {
    let (nsrc, _) = validate_sources(reference, estimate)?;
    check_permutable(nsrc, compute_permutation)?;
    let prep = |x: &[f64]| {
        let v = if zero_mean {
            remove_mean(x)
        } else {
            x.to_vec()
        };
        let n = dot(&v, &v).sqrt();
        (v, n)
    };
    let refs: Vec<(Vec<f64>, f64)> = reference.iter().map(|r| prep(r.as_ref())).collect();
    let ests: Vec<(Vec<f64>, f64)> = estimate.iter().map(|e| prep(e.as_ref())).collect();
    if let Some(j) = refs.iter().position(|r| r.1 == 0.0) {
        return Err(Error::param(
            "reference source",
            format!("#{j}, zero after mean removal"),
            "a non-constant reference",
        ));
    }
    if let Some(j) = ests.iter().position(|e| e.1 == 0.0) {
        return Err(Error::param(
            "estimated source",
            format!("#{j}, zero after mean removal"),
            "a non-constant estimate",
        ));
    }
    // Unit-norm signals: Gram matrix A = R Rᵀ and correlations X[c][d] = ⟨r_c, e_d⟩.
    let a = Mat::from_fn(nsrc, nsrc, |c, d| {
        dot(&refs[c].0, &refs[d].0) / (refs[c].1 * refs[d].1)
    });
    let x = Mat::from_fn(nsrc, nsrc, |c, d| {
        dot(&refs[c].0, &ests[d].0) / (refs[c].1 * ests[d].1)
    });
    let mut sol = x.clone();
    match a.llt(Side::Lower) {
        Ok(llt) => llt.solve_in_place(&mut sol),
        Err(_) => a.partial_piv_lu().solve_in_place(&mut sol),
    }
    // coh_sar[d] = x_dᵀ A⁻¹ x_d: squared norm of the projection onto all references.
    let coh_sar: Vec<f64> = (0..nsrc)
        .map(|d| (0..nsrc).map(|c| x[(c, d)] * sol[(c, d)]).sum())
        .collect();
    // scores[est][ref]
    let score = |e: usize, j: usize| {
        let coh_sdr = x[(j, e)] * x[(j, e)];
        (
            coherence_db(coh_sdr),
            coherence_db(coh_sdr / coh_sar[e]),
            coherence_db(coh_sar[e]),
        )
    };
    let perm: Vec<usize> = if compute_permutation {
        let sir: Vec<Vec<f64>> = (0..nsrc)
            .map(|e| (0..nsrc).map(|j| score(e, j).1).collect())
            .collect();
        best_permutation(&sir)
    } else {
        (0..nsrc).collect()
    };
    let s: Vec<(f64, f64, f64)> = (0..nsrc).map(|j| score(perm[j], j)).collect();
    Ok(BssEvalSources {
        sdr: s.iter().map(|v| v.0).collect(),
        sir: s.iter().map(|v| v.1).collect(),
        sar: s.iter().map(|v| v.2).collect(),
        perm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_sdr_refuses_peaks_above_max_amplitude_like_the_other_metrics() {
        // 1e80² overflows: the score came out NaN; now the peak is refused, as bss_eval does
        let s = [1e80, -1e80, 1e80, -0.5e80];
        let e = [0.9e80, -1e80, 1.1e80, -0.4e80];
        for (r, x, peak) in [(&s, &e, "1e80"), (&e, &s, "1.1e80")] {
            let err = si_sdr(r, x, true).unwrap_err().to_string();
            assert!(
                err.contains("reference = peak |x| = ") && err.contains(peak),
                "{err}"
            );
            assert!(err.contains("at most 1e50"), "{err}");
        }
        let small = [1.0, -1.0, 0.5, 0.25];
        let err = si_sdr(&small, &s, false).unwrap_err().to_string();
        assert!(
            err.contains("estimate") && err.contains("peak |x| = 1e80"),
            "{err}"
        );
        // at the limit it is still a finite score
        let big: Vec<f64> = small.iter().map(|v| v * 1e50).collect();
        let big2: Vec<f64> = [0.9, -1.0, 0.5, 0.3].iter().map(|v| v * 1e50).collect();
        assert!(si_sdr(&big, &big2, true).unwrap().is_finite());
    }

    #[test]
    fn si_sdr_of_known_mixture() {
        // ŝ = 2s + n with n ⟂ s and ‖n‖ = ‖s‖: SI-SDR = 10 log10(4) ≈ 6.02 dB
        let s = [1.0, -1.0, 1.0, -1.0];
        let n = [1.0, 1.0, -1.0, -1.0];
        let e: Vec<f64> = s.iter().zip(&n).map(|(a, b)| 2.0 * a + b).collect();
        let v = si_sdr(&s, &e, false).unwrap();
        assert!((v - 10.0 * 4f64.log10()).abs() < 1e-12, "{v}");
        // scale invariance
        let e3: Vec<f64> = e.iter().map(|v| -3.0 * v).collect();
        assert!((si_sdr(&s, &e3, false).unwrap() - v).abs() < 1e-12);
        // zero mean ignores an offset
        let off: Vec<f64> = e.iter().map(|v| v + 5.0).collect();
        assert!((si_sdr(&s, &off, true).unwrap() - v).abs() < 1e-12);
        assert!(si_sdr(&s, &off, false).unwrap() < v - 3.0);
        assert!(si_sdr(&s, &e[..3], false).is_err());
        assert!(si_sdr(&[0.0; 4], &e, false).is_err());
        assert!(si_sdr(&[1.0; 4], &e, true).is_err());
    }

    #[test]
    fn sir_and_sar_split_the_error() {
        let s0 = [1.0, -1.0, 1.0, -1.0, 0.5, 0.2];
        let s1 = [1.0, 1.0, -1.0, -1.0, 0.1, -0.3];
        let art = [0.1, 0.0, 0.2, -0.1, 0.3, 0.0];
        let e0: Vec<f64> = (0..6).map(|t| s0[t] + 0.2 * s1[t] + art[t]).collect();
        let e1: Vec<f64> = (0..6).map(|t| s1[t] - 0.1 * s0[t]).collect();
        let r = si_bss_eval_sources(&[&s0[..], &s1[..]], &[&e1, &e0], false, true).unwrap();
        assert_eq!(r.perm, vec![1, 0]);
        assert!((r.sdr[0] - si_sdr(&s0, &e0, false).unwrap()).abs() < 1e-9);
        // e1 lies in the span of the references: no artifacts
        assert!(r.sar[1] > 100.0, "{}", r.sar[1]);
        // the SDR error energy splits into interference and artifacts
        let lin = |db: f64| 10f64.powf(-db / 10.0);
        let (sdr, sir, sar) = (lin(r.sdr[0]), lin(r.sir[0]), lin(r.sar[0]));
        // 1/SDR + 1 = (1/SIR + 1)(1/SAR + 1)
        assert!(((sdr + 1.0) - (sir + 1.0) * (sar + 1.0)).abs() < 1e-9);
    }
}
