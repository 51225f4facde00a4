//! Initial `W` (F×K) and `H` (K×T) for multiplicative updates, computed in f64.
//!
//! NNDSVD (Boutsidis & Gallopoulos 2008) takes the K leading singular triplets `(σ_j, u_j, v_j)`
//! of `X`; the first gives `W_0 = √σ_0·|u_0|`, `H_0 = √σ_0·|v_0|`; each later one keeps the
//! larger of its positive part `(u⁺, v⁺)` and negative part `(u⁻, v⁻)` (larger `‖u‖·‖v‖`),
//! normalised and scaled by `√(σ_j·‖u‖·‖v‖)`. Entries below 1e-6 become 0; NNDSVDa fills those
//! with `mean(X)`, NNDSVDar with `|mean(X)·N(0,1)|/100`. The choice is invariant to the sign
//! ambiguity of singular vectors, so an exact thin SVD (faer) reproduces scikit-learn's
//! randomized SVD wherever that one is exact.

use super::params::Init;
use crate::error::{Error, Result};
use faer::MatRef;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Most values `W` and `H` together may hold (`K·(F + T)`): 2^28, 2 GiB of f64. A rank typed
/// with three zeros too many is refused before the factors are allocated.
pub const MAX_FACTOR_VALUES: u128 = 1 << 28;

/// Initial factors `(W, H)` of an F×T matrix `x` (row-major, validated non-negative).
///
/// `Init::Custom` is not handled here (the caller supplies the factors).
pub fn initialize(
    x: &[f64],
    f: usize,
    t: usize,
    rank: usize,
    init: Init,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let k = rank;
    let values = k as u128 * (f as u128 + t as u128);
    if values > MAX_FACTOR_VALUES {
        return Err(Error::param(
            "rank",
            k,
            format!(
                "factors of at most {MAX_FACTOR_VALUES} values: rank {k} of a {f}×{t} matrix \
                 asks for {values} in W and H"
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match init {
        Init::Random => {
            let avg = (mean(x) / k as f64).sqrt();
            let h = random_abs(&mut rng, k * t, avg);
            let w = random_abs(&mut rng, f * k, avg);
            Ok((w, h))
        }
        Init::Paper => {
            let w = paper(&mut rng, f * k);
            let h = paper(&mut rng, k * t);
            Ok((w, h))
        }
        Init::Nndsvd | Init::Nndsvda | Init::Nndsvdar => {
            let (mut w, mut h) = nndsvd(x, f, t, k)?;
            let avg = mean(x);
            match init {
                Init::Nndsvda => {
                    for v in w.iter_mut().chain(h.iter_mut()).filter(|v| **v == 0.0) {
                        *v = avg;
                    }
                }
                Init::Nndsvdar => {
                    for v in w.iter_mut().chain(h.iter_mut()).filter(|v| **v == 0.0) {
                        let z: f64 = rng.sample(StandardNormal);
                        *v = (avg * z / 100.0).abs();
                    }
                }
                _ => {}
            }
            Ok((w, h))
        }
        Init::Custom => Err(Error::param(
            "init",
            "custom",
            "random, paper or nndsvd* here; pass W and H to fit_from for a custom start",
        )),
    }
}

/// The free factor's start when the other factor is fixed: `sqrt(mean(X)/K)` everywhere
/// (scikit-learn's `'mu'` transform), or the paper's `10 + N(0,1)` for [`Init::Paper`], or
/// scikit-learn's random draw for [`Init::Random`].
pub fn initialize_free(x: &[f64], n: usize, rank: usize, init: Init, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let avg = (mean(x) / rank as f64).sqrt();
    match init {
        Init::Random => random_abs(&mut rng, n, avg),
        Init::Paper => paper(&mut rng, n),
        _ => vec![avg; n],
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn random_abs(rng: &mut ChaCha8Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|_| (scale * rng.sample::<f64, _>(StandardNormal)).abs())
        .collect()
}

fn paper(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (10.0 + rng.sample::<f64, _>(StandardNormal)).max(1e-6))
        .collect()
}

/// Plain NNDSVD (zeros kept), see the module docs.
pub fn nndsvd(x: &[f64], f: usize, t: usize, k: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if k > f.min(t) {
        return Err(Error::param(
            "rank",
            k,
            format!("<= min(F, T) = {} for an NNDSVD initialisation", f.min(t)),
        ));
    }
    let svd = MatRef::from_row_major_slice(x, f, t)
        .thin_svd()
        .map_err(|e| Error::Shape(format!("SVD of the {f}x{t} data did not converge: {e:?}")))?;
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let mut w = vec![0.0; f * k];
    let mut h = vec![0.0; k * t];
    let norm = |it: &mut dyn Iterator<Item = f64>| it.map(|a| a * a).sum::<f64>().sqrt();
    for j in 0..k {
        let sj = s[j].max(0.0);
        if j == 0 {
            let r = sj.sqrt();
            for i in 0..f {
                w[i * k] = r * u[(i, 0)].abs();
            }
            for i in 0..t {
                h[i] = r * v[(i, 0)].abs();
            }
            continue;
        }
        let xp = norm(&mut (0..f).map(|i| u[(i, j)].max(0.0)));
        let xn = norm(&mut (0..f).map(|i| (-u[(i, j)]).max(0.0)));
        let yp = norm(&mut (0..t).map(|i| v[(i, j)].max(0.0)));
        let yn = norm(&mut (0..t).map(|i| (-v[(i, j)]).max(0.0)));
        let (mp, mn) = (xp * yp, xn * yn);
        let (sign, xnrm, ynrm, sigma) = if mp > mn {
            (1.0, xp, yp, mp)
        } else {
            (-1.0, xn, yn, mn)
        };
        if sigma == 0.0 {
            continue; // both parts empty: leave the zeros (filled later by the a/ar variants)
        }
        let lbd = (sj * sigma).sqrt();
        for i in 0..f {
            w[i * k + j] = lbd * (sign * u[(i, j)]).max(0.0) / xnrm;
        }
        for i in 0..t {
            h[j * t + i] = lbd * (sign * v[(i, j)]).max(0.0) / ynrm;
        }
    }
    for a in w.iter_mut().chain(h.iter_mut()) {
        if *a < 1e-6 {
            *a = 0.0;
        }
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(f: usize, t: usize) -> Vec<f64> {
        (0..f * t)
            .map(|i| ((i * 7919 % 97) as f64 / 97.0).powi(2) + 0.01)
            .collect()
    }

    #[test]
    fn inits_are_nonnegative_finite_and_seeded() {
        let (f, t, k) = (9, 7, 3);
        let x = data(f, t);
        for init in [
            Init::Random,
            Init::Paper,
            Init::Nndsvd,
            Init::Nndsvda,
            Init::Nndsvdar,
        ] {
            let (w, h) = initialize(&x, f, t, k, init, 3).unwrap();
            assert_eq!((w.len(), h.len()), (f * k, k * t));
            assert!(
                w.iter().chain(&h).all(|v| v.is_finite() && *v >= 0.0),
                "{init:?}"
            );
            assert_eq!(
                (w.clone(), h.clone()),
                initialize(&x, f, t, k, init, 3).unwrap()
            );
            if init != Init::Nndsvd {
                assert!(w.iter().chain(&h).all(|v| *v > 0.0), "{init:?}");
            }
        }
        let (w1, _) = initialize(&x, f, t, k, Init::Random, 1).unwrap();
        let (w2, _) = initialize(&x, f, t, k, Init::Random, 2).unwrap();
        assert_ne!(w1, w2);
    }

    #[test]
    fn nndsvd_of_a_rank_one_matrix_is_exact() {
        let (f, t) = (5, 4);
        let a = [1.0, 2.0, 0.5, 3.0, 1.5];
        let b = [2.0, 0.1, 1.0, 4.0];
        let x: Vec<f64> = (0..f * t).map(|i| a[i / t] * b[i % t]).collect();
        let (w, h) = nndsvd(&x, f, t, 1).unwrap();
        for i in 0..f {
            for j in 0..t {
                assert!((w[i] * h[j] - x[i * t + j]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn nndsvd_rejects_too_large_rank() {
        let x = data(3, 5);
        assert!(matches!(
            initialize(&x, 3, 5, 4, Init::Nndsvda, 0),
            Err(Error::InvalidParameter { name: "rank", .. })
        ));
    }
}
