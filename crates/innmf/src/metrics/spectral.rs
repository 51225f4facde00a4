//! Reconstruction metrics on magnitude spectrograms, as the iN-NMF authors' code computes them
//! (arXiv 2404.04439, its reconstruction experiment).
//!
//! Notation: `X = |STFT|` is the reference magnitude, `V = X^0.5` its compressed version (what the
//! models are trained on), `V̂` the model output, `X̂ = V̂²`, and `eps = 1e-6`
//! ([`SPECTRAL_EPS`]). Means run over all time-frequency cells.
//!
//! ```text
//! NMSE          = mean |X̂ − X|² / mean |X + eps|²                    (msen_freq)
//! spectral SDR  = 20·log10( mean|X| / mean|X̂ − X + eps| )  dB        (sdr_freq)
//! KL            = mean( V·log(V/(V̂ + eps)) − (V − V̂) )               (kld_freq)
//! IS            = mean( V/(V̂ + eps) − log(V/(V̂ + eps)) − 1 )
//! IS (paper)    = mean( V/(V̂ + eps) − log(V/(V̂ + eps)) + 1 ) = IS + 2 (is_freq, a sign bug)
//! ```
//!
//! Means are NumPy `nanmean`s, as in the authors' notebook: a cell whose term is NaN is left out
//! (for KL, cells with `V = 0`, where `0·log 0` is NaN in IEEE arithmetic). For IS a cell with
//! `V = 0` gives `+∞` (IS is undefined for zero power), again as NumPy does.
//!
//! [`itakura_saito`] is the divergence; [`itakura_saito_paper`] reproduces the published numbers
//! and should be used for nothing else.

use crate::error::{check_finite, Error, Result};

/// The `eps` of the authors' metric code.
pub const SPECTRAL_EPS: f64 = 1e-6;

/// Checks equal, non-zero lengths and finite, non-negative values.
fn check(reference: &[f64], model: &[f64]) -> Result<()> {
    if reference.len() != model.len() {
        return Err(Error::LengthMismatch {
            what: "model vs. reference magnitudes".into(),
            expected: reference.len(),
            got: model.len(),
        });
    }
    if reference.is_empty() {
        return Err(Error::Empty {
            what: "reference magnitudes",
        });
    }
    check_finite("reference magnitudes", reference)?;
    check_finite("model magnitudes", model)?;
    for v in [reference, model] {
        if let Some(index) = v.iter().position(|&m| m < 0.0) {
            return Err(Error::NegativeMagnitude {
                index,
                value: v[index],
            });
        }
    }
    Ok(())
}

/// Mean over the non-NaN values (`np.nanmean`); NaN when all are NaN.
fn nanmean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for v in values.filter(|v| !v.is_nan()) {
        s += v;
        n += 1;
    }
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// Normalised MSE `mean|X̂ − X|² / mean|X + eps|²` on linear magnitudes `x` (reference) and
/// `x_hat` (model).
///
/// # Errors
/// Different lengths, empty, non-finite or negative input.
pub fn nmse(x: &[f64], x_hat: &[f64]) -> Result<f64> {
    check(x, x_hat)?;
    let num = nanmean(x.iter().zip(x_hat).map(|(a, b)| (b - a) * (b - a)));
    let den = nanmean(x.iter().map(|a| (a + SPECTRAL_EPS) * (a + SPECTRAL_EPS)));
    Ok(num / den)
}

/// Spectral SDR `20·log10(mean|X| / mean|X̂ − X + eps|)` (dB) on linear magnitudes.
///
/// # Errors
/// Different lengths, empty, non-finite or negative input.
pub fn spectral_sdr(x: &[f64], x_hat: &[f64]) -> Result<f64> {
    check(x, x_hat)?;
    let num = nanmean(x.iter().map(|a| a.abs()));
    let den = nanmean(
        x.iter()
            .zip(x_hat)
            .map(|(a, b)| (b - a + SPECTRAL_EPS).abs()),
    );
    Ok(20.0 * (num / den).log10())
}

/// Generalised KL `mean(V·log(V/(V̂ + eps)) − (V − V̂))` on compressed magnitudes `v = X^0.5`
/// (reference) and `v_hat` (model); cells with `V = 0` are left out (nanmean).
///
/// # Errors
/// Different lengths, empty, non-finite or negative input.
pub fn kl_compressed(v: &[f64], v_hat: &[f64]) -> Result<f64> {
    check(v, v_hat)?;
    Ok(nanmean(
        v.iter()
            .zip(v_hat)
            .map(|(a, b)| a * (a / (b + SPECTRAL_EPS)).ln() - (a - b)),
    ))
}

fn is_terms(v: &[f64], v_hat: &[f64], constant: f64) -> f64 {
    // a cell with V = 0 has an infinite term (−log 0); it is left out like KL's 0·log 0
    nanmean(v.iter().zip(v_hat).map(|(a, b)| {
        if *a == 0.0 {
            return f64::NAN;
        }
        let r = a / (b + SPECTRAL_EPS);
        r - r.ln() + constant
    }))
}

/// Itakura–Saito divergence `mean(V/(V̂ + eps) − log(V/(V̂ + eps)) − 1)` on compressed magnitudes
/// (zero for a perfect model, up to eps); cells with `V = 0` (an infinite term) are left out.
///
/// # Errors
/// Different lengths, empty, non-finite or negative input.
pub fn itakura_saito(v: &[f64], v_hat: &[f64]) -> Result<f64> {
    check(v, v_hat)?;
    Ok(is_terms(v, v_hat, -1.0))
}

/// The authors' `is_freq` with its `+1` sign bug: exactly [`itakura_saito`] + 2. Only for
/// reproducing the published tables (their "IS ≈ 2.05" is a true IS of about 0.05).
///
/// # Errors
/// Different lengths, empty, non-finite or negative input.
pub fn itakura_saito_paper(v: &[f64], v_hat: &[f64]) -> Result<f64> {
    check(v, v_hat)?;
    Ok(is_terms(v, v_hat, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_model_scores() {
        let x = [0.5, 1.0, 2.0, 0.25];
        assert!(nmse(&x, &x).unwrap() == 0.0);
        // mean|X| / eps
        let sdr = spectral_sdr(&x, &x).unwrap();
        assert!(
            (sdr - 20.0 * (0.9375f64 / 1e-6).log10()).abs() < 1e-9,
            "{sdr}"
        );
        assert!(kl_compressed(&x, &x).unwrap().abs() < 1e-5);
        assert!(itakura_saito(&x, &x).unwrap().abs() < 1e-9);
        assert!((itakura_saito_paper(&x, &x).unwrap() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn hand_computed_values() {
        let v = [1.0, 4.0];
        let vh = [2.0, 4.0];
        let e = SPECTRAL_EPS;
        let kl = ((1.0 * (1.0 / (2.0 + e)).ln() + 1.0) + (4.0 * (4.0 / (4.0 + e)).ln())) / 2.0;
        assert!((kl_compressed(&v, &vh).unwrap() - kl).abs() < 1e-12);
        let r = [1.0 / (2.0 + e), 4.0 / (4.0 + e)];
        let is = ((r[0] - r[0].ln() - 1.0) + (r[1] - r[1].ln() - 1.0)) / 2.0;
        assert!((itakura_saito(&v, &vh).unwrap() - is).abs() < 1e-12);
        assert!((itakura_saito_paper(&v, &vh).unwrap() - is - 2.0).abs() < 1e-12);
        let nm = (1.0 + 0.0) / 2.0 / (((1.0 + e) * (1.0 + e) + (4.0 + e) * (4.0 + e)) / 2.0);
        assert!((nmse(&v, &vh).unwrap() - nm).abs() < 1e-15);
        // KL and IS leave V = 0 cells out (KL: 0·log 0 is NaN; IS: −log 0 is infinite)
        assert!(
            (kl_compressed(&[0.0, 1.0], &[3.0, 2.0]).unwrap()
                - (1.0 * (1.0 / (2.0 + e)).ln() + 1.0))
                .abs()
                < 1e-12
        );
        let r = 1.0 / (2.0 + e);
        assert!(
            (itakura_saito(&[0.0, 1.0], &[3.0, 2.0]).unwrap() - (r - r.ln() - 1.0)).abs() < 1e-12
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            nmse(&[1.0], &[1.0, 2.0]),
            Err(Error::LengthMismatch {
                expected: 1,
                got: 2,
                ..
            })
        ));
        assert!(matches!(nmse(&[], &[]), Err(Error::Empty { .. })));
        assert!(matches!(
            kl_compressed(&[1.0, -2.0], &[1.0, 1.0]),
            Err(Error::NegativeMagnitude { index: 1, .. })
        ));
        assert!(matches!(
            itakura_saito(&[1.0], &[f64::NAN]),
            Err(Error::NonFinite { .. })
        ));
    }
}
