//! Classical NMF by multiplicative updates for the β-divergence family (the paper's baseline).
//!
//! Factorizes a dense non-negative F×T matrix `X` (row-major; a spectrogram is bins × frames)
//! as `X ≈ W·H`, `W` F×K (templates), `H` K×T (activations), by minimising
//!
//! ```text
//! D_β(X‖WH) + T·α_W·ρ·‖W‖₁ + ½T·α_W·(1−ρ)‖W‖²_F + F·α_H·ρ·‖H‖₁ + ½F·α_H·(1−ρ)‖H‖²_F
//! ```
//!
//! with the heuristic-free MM updates of Févotte & Idier (2011) (exponent γ(β), see
//! [`NmfParams::gamma`]). The updates reproduce scikit-learn's `solver='mu'`
//! (`_multiplicative_update_w/_h`, including its ε handling: [`mu`]), so fixtures from
//! scikit-learn agree to rounding; the paper's own `nmf_models.py` baseline is
//! `Init::Paper` + [`UpdateOrder::HThenW`].
//!
//! Losses in the [`NmfReport`] are the mean of [`crate::Divergence::value`] over all entries,
//! the very quantity the gradient engine minimises ([`objective_mean`]); the stopping rule is
//! scikit-learn's: every `check_every` (10) iterations, stop when
//! `(e_prev − e)/e_0 < tol` with `e = √(2·Σ d)`.
//!
//! Entry points, all on [`NmfParams`] and generic over [`Float`] (`f32`, `f64`):
//! [`fit`](NmfParams::fit) (both factors), [`fit_from`](NmfParams::fit_from) (custom start),
//! [`fit_h`](NmfParams::fit_h) (fixed W: supervised separation), [`fit_w`](NmfParams::fit_w)
//! (fixed H), [`fit_partial`](NmfParams::fit_partial) (some W columns fixed), and the in-place
//! [`solve`](NmfParams::solve) under all of them.

pub mod float;
pub mod init;
mod kl;
pub mod mu;
pub mod params;

pub use float::Float;
pub use init::initialize;
pub use mu::{LossPoint, NmfReport, EPSILON};
pub use params::{gamma, Init, NmfEngine, NmfParams, Precision, UpdateOrder, MAX_ALPHA};

use crate::divergence::Divergence;
use crate::error::{Error, Result};
use crate::fit::Progress;

/// Checks an `rows×cols` row-major matrix: length, finite, non-negative.
fn check_matrix<T: Float>(what: &'static str, m: &[T], rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::Empty { what });
    }
    if m.len() != rows * cols {
        return Err(Error::LengthMismatch {
            what: format!("{what} ({rows}x{cols}, row-major)"),
            expected: rows * cols,
            got: m.len(),
        });
    }
    for (index, &v) in m.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFinite {
                what,
                index,
                value: v.to_f64(),
            });
        }
        if v < T::ZERO {
            return Err(Error::NegativeMagnitude {
                index,
                value: v.to_f64(),
            });
        }
    }
    Ok(())
}

fn to_f64<T: Float>(v: &[T]) -> Vec<f64> {
    v.iter().map(|a| a.to_f64()).collect()
}

fn from_f64<T: Float>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&a| T::from_f64(a)).collect()
}

impl NmfParams {
    /// Fits both factors from the configured initialisation. Returns `(W, H, report)`.
    pub fn fit<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
    ) -> Result<(Vec<T>, Vec<T>, NmfReport)> {
        self.fit_observed(x, f, t, None)
    }

    /// [`fit`](Self::fit) with a progress callback, as [`solve_observed`](Self::solve_observed).
    pub fn fit_observed<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        progress: Option<Progress<'_>>,
    ) -> Result<(Vec<T>, Vec<T>, NmfReport)> {
        self.check()?;
        check_matrix("data", x, f, t)?;
        // before the initialisation's f64 copy of the data and its SVD's working copy
        check_memory(f, t, self.rank, std::mem::size_of::<T>(), 16)?;
        let (w0, h0) = initialize(&to_f64(x), f, t, self.rank, self.init, self.seed)?;
        let (mut w, mut h) = (from_f64(&w0), from_f64(&h0));
        let report = self.solve_observed(x, f, t, &mut w, &mut h, &[], true, progress)?;
        Ok((w, h, report))
    }

    /// Fits both factors from the given `W` (F×K) and `H` (K×T) (scikit-learn's `'custom'`).
    pub fn fit_from<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        mut w: Vec<T>,
        mut h: Vec<T>,
    ) -> Result<(Vec<T>, Vec<T>, NmfReport)> {
        let report = self.solve(x, f, t, &mut w, &mut h, &[], true)?;
        Ok((w, h, report))
    }

    /// Fixed `W` (F×K), fits `H` (supervised separation; scikit-learn's `transform` with roles
    /// swapped). H starts as [`init::initialize_free`] gives for the configured init.
    pub fn fit_h<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        w: &[T],
    ) -> Result<(Vec<T>, NmfReport)> {
        self.check()?;
        check_matrix("data", x, f, t)?;
        check_matrix("W", w, f, self.rank)?;
        let mut h = from_f64(&init::initialize_free(
            &to_f64(x),
            self.rank * t,
            self.rank,
            self.init,
            self.seed,
        ));
        let mut w = w.to_vec();
        let all: Vec<usize> = (0..self.rank).collect();
        let report = self.solve(x, f, t, &mut w, &mut h, &all, true)?;
        Ok((h, report))
    }

    /// Fixed `H` (K×T), fits `W` (scikit-learn's `update_H=False`).
    pub fn fit_w<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        h: &[T],
    ) -> Result<(Vec<T>, NmfReport)> {
        self.check()?;
        check_matrix("data", x, f, t)?;
        check_matrix("H", h, self.rank, t)?;
        let mut w = from_f64(&init::initialize_free(
            &to_f64(x),
            f * self.rank,
            self.rank,
            self.init,
            self.seed,
        ));
        let mut h = h.to_vec();
        let report = self.solve(x, f, t, &mut w, &mut h, &[], false)?;
        Ok((w, report))
    }

    /// Partially fixed `W`: its first `n_fixed = w_fixed.len()/F` columns are `w_fixed`
    /// (F×n_fixed, row-major) and stay so; the other `rank − n_fixed` columns and all of `H` are
    /// fitted, starting from [`init::initialize_free`]. Returns the full `(W, H, report)`.
    pub fn fit_partial<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        w_fixed: &[T],
    ) -> Result<(Vec<T>, Vec<T>, NmfReport)> {
        self.check()?;
        check_matrix("data", x, f, t)?;
        let k = self.rank;
        if !w_fixed.len().is_multiple_of(f) || w_fixed.len() / f > k {
            return Err(Error::Shape(format!(
                "fixed W columns: {} values is not F x n_fixed with F = {f} and n_fixed <= rank = {k}",
                w_fixed.len()
            )));
        }
        let nf = w_fixed.len() / f;
        if nf > 0 {
            check_matrix("fixed W", w_fixed, f, nf)?;
        }
        let x64 = to_f64(x);
        let free = init::initialize_free(&x64, f * k, k, self.init, self.seed);
        let mut w: Vec<T> = from_f64(&free);
        for i in 0..f {
            w[i * k..i * k + nf].copy_from_slice(&w_fixed[i * nf..(i + 1) * nf]);
        }
        let mut h = from_f64(&init::initialize_free(
            &x64,
            k * t,
            k,
            self.init,
            self.seed.wrapping_add(1),
        ));
        let fixed: Vec<usize> = (0..nf).collect();
        let report = self.solve(x, f, t, &mut w, &mut h, &fixed, true)?;
        Ok((w, h, report))
    }

    /// [`fit`](Self::fit) of f64 data in `precision` (see [`Precision`]); the factors in f64.
    pub fn fit_as(
        &self,
        precision: Precision,
        x: &[f64],
        f: usize,
        t: usize,
    ) -> Result<(Vec<f64>, Vec<f64>, NmfReport)> {
        self.fit_observed_as(precision, x, f, t, None)
    }

    /// [`fit_as`](Self::fit_as) with a progress callback, as [`fit_observed`](Self::fit_observed).
    pub fn fit_observed_as(
        &self,
        precision: Precision,
        x: &[f64],
        f: usize,
        t: usize,
        progress: Option<Progress<'_>>,
    ) -> Result<(Vec<f64>, Vec<f64>, NmfReport)> {
        match precision {
            Precision::F64 => self.fit_observed(x, f, t, progress),
            Precision::F32 => {
                let (w, h, report) = self.fit_observed::<f32>(&from_f64(x), f, t, progress)?;
                Ok((to_f64(&w), to_f64(&h), report))
            }
        }
    }

    /// [`fit_h`](Self::fit_h) of f64 data in `precision` (see [`Precision`]); H in f64.
    pub fn fit_h_as(
        &self,
        precision: Precision,
        x: &[f64],
        f: usize,
        t: usize,
        w: &[f64],
    ) -> Result<(Vec<f64>, NmfReport)> {
        match precision {
            Precision::F64 => self.fit_h(x, f, t, w),
            Precision::F32 => {
                let (h, report) = self.fit_h::<f32>(&from_f64(x), f, t, &from_f64(w))?;
                Ok((to_f64(&h), report))
            }
        }
    }

    /// [`fit_partial`](Self::fit_partial) of f64 data in `precision` (see [`Precision`]); the
    /// factors in f64 (the fixed columns of W as given, rounded to f32 in `F32`).
    pub fn fit_partial_as(
        &self,
        precision: Precision,
        x: &[f64],
        f: usize,
        t: usize,
        w_fixed: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>, NmfReport)> {
        match precision {
            Precision::F64 => self.fit_partial(x, f, t, w_fixed),
            Precision::F32 => {
                let (w, h, report) =
                    self.fit_partial::<f32>(&from_f64(x), f, t, &from_f64(w_fixed))?;
                Ok((to_f64(&w), to_f64(&h), report))
            }
        }
    }

    /// The engine under every `fit*`: iterates in place on `w` (F×K) and `h` (K×T), keeping the
    /// columns of `W` listed in `fixed_w_cols` and, unless `update_h`, all of `H` unchanged.
    #[allow(clippy::too_many_arguments)]
    pub fn solve<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        w: &mut [T],
        h: &mut [T],
        fixed_w_cols: &[usize],
        update_h: bool,
    ) -> Result<NmfReport> {
        self.solve_observed(x, f, t, w, h, fixed_w_cols, update_h, None)
    }

    /// [`solve`](Self::solve) with a progress callback: `(iteration, max_iter, mean loss at the
    /// last check)` after every iteration; returning [`std::ops::ControlFlow::Break`] stops the
    /// fit with [`Error::Interrupted`] (a user's Ctrl-C), `w` and `h` as after that iteration.
    #[allow(clippy::too_many_arguments)]
    pub fn solve_observed<T: Float>(
        &self,
        x: &[T],
        f: usize,
        t: usize,
        w: &mut [T],
        h: &mut [T],
        fixed_w_cols: &[usize],
        update_h: bool,
        progress: Option<Progress<'_>>,
    ) -> Result<NmfReport> {
        self.check()?;
        check_matrix("data", x, f, t)?;
        check_matrix("W", w, f, self.rank)?;
        check_matrix("H", h, self.rank, t)?;
        check_memory(f, t, self.rank, std::mem::size_of::<T>(), 0)?;
        if self.beta < 0.0 {
            if let Some(index) = x.iter().position(|&v| v == T::ZERO) {
                return Err(Error::param(
                    "beta",
                    self.beta,
                    format!(
                        "beta >= 0 for data with zeros (first at index {index}): d(0|y) is infinite for beta < 0; floor the data first"
                    ),
                ));
            }
        }
        let mut free = vec![true; self.rank];
        for &j in fixed_w_cols {
            if j >= self.rank {
                return Err(Error::param(
                    "fixed W column",
                    j,
                    format!("an index < rank = {}", self.rank),
                ));
            }
            free[j] = false;
        }
        mu::run(self, x, f, t, w, h, free, update_h, progress)
    }
}

/// Checks that multiplicative updates of an `f × t` matrix at rank `k` in elements of `elem`
/// bytes fit in memory ([`crate::budget`]). The peak, in bytes a matrix value: two working
/// matrices (the general engine's W·H and its ratio; the fused KL engine needs less) and the
/// 12 bytes of the data the front ends hold (the f64 matrix read or made, and its f32 copy when
/// the updates run in f32); a factor value: eight working values (the factors, their numerators,
/// denominators and per-thread partial sums). `init` adds bytes a matrix value for an
/// initialisation that runs first.
fn check_memory(f: usize, t: usize, k: usize, elem: usize, init: u128) -> Result<()> {
    let (f, t, k, elem) = (f as u128, t as u128, k as u128, elem as u128);
    crate::budget::check(
        "data",
        format!("a {f}×{t} matrix"),
        || format!("NMF of a {f}×{t} matrix at rank {k}"),
        f * t * (2 * elem + 12 + init) + 8 * elem * k * (f + t),
        "factorize a smaller matrix (a larger hop, fewer bins, a shorter signal)",
    )
}

/// `Σ d(X‖W·H)` with `div`, in f64, exactly as [`Divergence::sum`] on the f64 product.
pub fn objective_sum(
    x: &[f64],
    w: &[f64],
    h: &[f64],
    f: usize,
    t: usize,
    k: usize,
    div: &Divergence,
) -> Result<f64> {
    let wh = product(x, w, h, f, t, k)?;
    Ok(div.sum(x, &wh))
}

/// `mean d(X‖W·H)` with `div`: the gradient engine's loss ([`Divergence::mean`]) for these factors.
pub fn objective_mean(
    x: &[f64],
    w: &[f64],
    h: &[f64],
    f: usize,
    t: usize,
    k: usize,
    div: &Divergence,
) -> Result<f64> {
    Ok(objective_sum(x, w, h, f, t, k, div)? / (f * t) as f64)
}

fn product(x: &[f64], w: &[f64], h: &[f64], f: usize, t: usize, k: usize) -> Result<Vec<f64>> {
    if x.len() != f * t || w.len() != f * k || h.len() != k * t {
        return Err(Error::Shape(format!(
            "X {} / W {} / H {} values for F = {f}, T = {t}, K = {k}",
            x.len(),
            w.len(),
            h.len()
        )));
    }
    let mut wh = vec![0.0; f * t];
    crate::linalg::gemm64(&mut wh, w, h, f, k, t, false, false, false);
    Ok(wh)
}

/// scikit-learn's `_beta_divergence(X, W, H, β)` (sum; half squared Frobenius for β = 2): for
/// β ≠ 2 entries with `x ≤ EPSILON` are dropped from the data terms and `WH` is floored at
/// [`EPSILON`]. A reference for fixtures.
pub fn sklearn_beta_divergence(
    x: &[f64],
    w: &[f64],
    h: &[f64],
    f: usize,
    t: usize,
    k: usize,
    beta: f64,
) -> Result<f64> {
    let wh = product(x, w, h, f, t, k)?;
    if beta == 2.0 {
        return Ok(x
            .iter()
            .zip(&wh)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / 2.0);
    }
    let kept = || {
        x.iter()
            .zip(&wh)
            .filter(|(a, _)| **a > EPSILON)
            .map(|(&a, &b)| (a, b.max(EPSILON)))
    };
    Ok(if beta == 1.0 {
        let sum_wh: f64 = wh.iter().sum();
        kept().map(|(a, b)| a * (a / b).ln()).sum::<f64>() + sum_wh
            - kept().map(|(a, _)| a).sum::<f64>()
    } else if beta == 0.0 {
        kept().map(|(a, b)| a / b - (a / b).ln()).sum::<f64>() - (f * t) as f64
    } else {
        let sum_wh_b: f64 = wh.iter().map(|v| v.powf(beta)).sum();
        let mut r = kept().map(|(a, _)| a.powf(beta)).sum::<f64>()
            - beta * kept().map(|(a, b)| a * b.powf(beta - 1.0)).sum::<f64>();
        r += sum_wh_b * (beta - 1.0);
        r / (beta * (beta - 1.0))
    })
}

/// The w3 benchmark workload: KL multiplicative updates in f32 on `v` (F×T), `iters`
/// iterations, no early stopping, losses checked only at the start and end. Returns
/// `(seconds of the iterations, final mean KL)`.
#[allow(clippy::too_many_arguments)]
pub fn bench_nmf_kl(
    v: &[f32],
    f: usize,
    t: usize,
    rank: usize,
    iters: usize,
    init: Init,
    order: UpdateOrder,
    seed: u64,
) -> Result<(f64, f64)> {
    let p = NmfParams::new(rank)
        .beta(1.0)
        .init(init)
        .max_iter(iters)
        .tol(0.0)
        .check_every(iters.max(1))
        .order(order)
        .seed(seed);
    let (_, _, r) = p.fit(v, f, t)?;
    Ok((r.elapsed_s, r.final_loss))
}
