//! The multiplicative-update engine: preallocated, row-block parallel, allocation-free per
//! iteration.
//!
//! With `Λ = W·H`, `Λ_ε = max(Λ, ε_s)` (ε_s = f32 machine epsilon, as scikit-learn's `EPSILON`)
//! and γ = γ(β), one update of `W` is
//!
//! ```text
//! A = X ⊙ Λ'^(β−2)        Λ' = Λ_ε if β < 2 else Λ
//! B = Λ''^(β−1)           Λ'' = Λ_ε if β < 1 else Λ        (β = 1: B·Hᵀ = 1·Hᵀ, a row sum of H)
//! W ← W ⊙ ( A·Hᵀ ⊘ (B·Hᵀ + l1_W + l2_W·W) )^γ             (a zero denominator becomes ε_s)
//! ```
//!
//! and symmetrically `H ← H ⊙ ( Wᵀ·A ⊘ (Wᵀ·B + l1_H + l2_H·H) )^γ` (β = 1: `Wᵀ·1` is a column
//! sum of W, zeros replaced by 1). After the update, β < 1 sets entries of W below f64's machine
//! epsilon to 0, and β ≤ 1 does the same for H: scikit-learn's `_multiplicative_update_w/_h`
//! exactly.
//!
//! **Parallel layout.** The F rows are cut into blocks. For the `W` update each block computes
//! its slice of Λ, A, B and then `A_b·Hᵀ` for its own rows of W: no communication. For the `H`
//! update each block forms its partial `W_bᵀ·A_b` (K×T); a second pass sums the partials in a
//! fixed order and applies the update. The blocks do not depend on the pool size, so the results
//! are identical bytes for any number of threads.
//!
//! **Two engines.** KL (β = 1) in f32 runs on the fused engine of `nmf::kl` (`W·H` never
//! formed) unless [`NmfEngine::Reference`] is asked for; everything else, and every f64 fit,
//! runs on the general `Engine` here, which stays the reference the fused one is tested
//! against.

use super::float::{Float, FlushSubnormals};
use super::params::{NmfEngine, NmfParams, UpdateOrder};
use crate::divergence::Divergence;
use crate::error::{Error, Result};
use crate::fit::Progress;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Rows of `X` per block of the engine (fixed, so that results do not depend on the number of
/// threads).
const ROWS_PER_BLOCK: usize = 128;

/// scikit-learn's `EPSILON = np.finfo(np.float32).eps`, used for both precisions.
pub const EPSILON: f64 = f32::EPSILON as f64;

/// One loss check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Iterations done when the loss was measured (0: the start).
    pub iter: usize,
    /// Mean β-divergence `mean(d(X‖W·H))` ([`crate::Divergence::mean`]).
    pub loss: f64,
}

/// What a fit did: iterations, losses, convergence, time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NmfReport {
    /// β of the fit.
    pub beta: f64,
    /// The divergence in which every loss below is measured (mean over entries).
    pub divergence: Divergence,
    /// Element type of the computation (`float32`, `float64`).
    pub dtype: String,
    /// Iterations done.
    pub n_iter: usize,
    /// The iteration limit.
    pub max_iter: usize,
    /// The tolerance used (0: no early stopping).
    pub tol: f64,
    /// True when the relative-decrease test stopped the fit.
    pub converged: bool,
    /// Loss of the initial factors.
    pub initial_loss: f64,
    /// Loss of the returned factors.
    pub final_loss: f64,
    /// The loss at every check (every `check_every` iterations, plus start and end).
    pub loss_history: Vec<LossPoint>,
    /// Wall-clock seconds of the iterations (initialisation excluded).
    pub elapsed_s: f64,
}

impl NmfReport {
    /// True when early stopping was on (`tol > 0`) but the iteration limit came first.
    pub fn hit_max_iter(&self) -> bool {
        self.tol > 0.0 && !self.converged && self.n_iter >= self.max_iter
    }

    /// A message for the user when [`NmfReport::hit_max_iter`] (scikit-learn's
    /// `ConvergenceWarning`), else `None`.
    pub fn warning(&self) -> Option<String> {
        self.hit_max_iter().then(|| {
            format!(
                "maximum number of iterations ({}) reached before the relative decrease fell \
                 below tol = {}; consider a larger --iters (final loss {:.6e})",
                self.max_iter, self.tol, self.final_loss
            )
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Euclid,
    Kl,
    Is,
    General,
}

/// Everything one solve needs, allocated once.
pub(crate) struct Engine<'a, T: Float> {
    x: &'a [T],
    t: usize,
    k: usize,
    kind: Kind,
    beta: T,
    gamma: T,
    eps: T,
    tiny: T,
    reg: (T, T, T, T),
    rows: usize,
    nb: usize,
    wh: Vec<T>,
    b: Vec<T>,
    nw: Vec<T>,
    dw: Vec<T>,
    pn: Vec<T>,
    pd: Vec<T>,
    hsum: Vec<T>,
    wsum: Vec<T>,
    part: Vec<f64>,
    free_w: Vec<bool>,
    all_free: bool,
    div: Divergence,
}

impl<'a, T: Float> Engine<'a, T> {
    pub(crate) fn new(
        params: &NmfParams,
        x: &'a [T],
        f: usize,
        t: usize,
        free_w: Vec<bool>,
    ) -> Result<Self> {
        let k = params.rank;
        let beta = params.beta;
        let kind = if beta == 2.0 {
            Kind::Euclid
        } else if beta == 1.0 {
            Kind::Kl
        } else if beta == 0.0 {
            Kind::Is
        } else {
            Kind::General
        };
        // Fixed blocks of rows, whatever the pool size: the partial sums of the H update and of
        // the loss are then the same sums in the same order for any thread count (identical
        // bytes); 128 rows keep a block of Λ in L2 and give a 1001-bin spectrogram 8 blocks.
        let rows = ROWS_PER_BLOCK.min(f).max(1);
        let nb = f.div_ceil(rows);
        let (l1w, l1h, l2w, l2h) = params.regularization(f, t);
        let c = T::from_f64;
        Ok(Engine {
            x,
            t,
            k,
            kind,
            beta: c(beta),
            gamma: c(params.gamma()),
            eps: c(EPSILON),
            tiny: c(f64::EPSILON),
            reg: (c(l1w), c(l1h), c(l2w), c(l2h)),
            rows,
            nb,
            wh: vec![T::ZERO; f * t],
            b: vec![T::ZERO; f * t],
            nw: vec![T::ZERO; f * k],
            dw: vec![T::ZERO; f * k],
            pn: vec![T::ZERO; nb * k * t],
            pd: vec![T::ZERO; nb * k * t],
            hsum: vec![T::ZERO; k],
            wsum: vec![T::ZERO; k],
            part: vec![0.0; nb],
            all_free: free_w.iter().all(|&b| b),
            free_w,
            div: Divergence::new(beta, params.loss_eps)?,
        })
    }

    /// Overwrites `wh` (Λ on entry) with A and `b` with B, as in the module docs.
    #[inline(never)]
    fn elementwise(kind: Kind, beta: T, eps: T, x: &[T], wh: &mut [T], b: &mut [T]) {
        let two = T::from_f64(2.0);
        let max = |v: T| if v < eps { eps } else { v };
        match kind {
            Kind::Kl => {
                for (a, &xv) in wh.iter_mut().zip(x) {
                    *a = xv / max(*a);
                }
            }
            Kind::Euclid => {
                for ((a, bb), &xv) in wh.iter_mut().zip(b.iter_mut()).zip(x) {
                    *bb = *a;
                    *a = xv;
                }
            }
            Kind::Is => {
                for ((a, bb), &xv) in wh.iter_mut().zip(b.iter_mut()).zip(x) {
                    let inv = T::ONE / max(*a);
                    *bb = inv;
                    *a = inv * inv * xv;
                }
            }
            Kind::General => {
                let (e2, e1) = (beta - two, beta - T::ONE);
                let clamp2 = beta < two;
                let clamp1 = beta < T::ONE;
                for ((a, bb), &xv) in wh.iter_mut().zip(b.iter_mut()).zip(x) {
                    let l = *a;
                    let l2 = if clamp2 { max(l) } else { l };
                    let l1 = if clamp1 { max(l) } else { l };
                    *bb = l1.powf(e1);
                    *a = xv * l2.powf(e2);
                }
            }
        }
    }

    /// `h_sum[j] = Σ_t H[j, t]`.
    fn row_sums(h: &[T], t: usize, out: &mut [T]) {
        for (o, row) in out.iter_mut().zip(h.chunks_exact(t)) {
            let mut s = T::ZERO;
            for &v in row {
                s += v;
            }
            *o = s;
        }
    }

    /// `w_sum[j] = Σ_f W[f, j]`.
    fn col_sums(w: &[T], k: usize, out: &mut [T]) {
        out.iter_mut().for_each(|o| *o = T::ZERO);
        for row in w.chunks_exact(k) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }

    #[inline]
    fn apply(&self, v: &mut T, num: T, den: T, l1: T, l2: T, floor: bool) {
        let mut d = den + l1 + l2 * *v;
        if d == T::ZERO {
            d = self.eps;
        }
        let mut delta = num / d;
        if self.gamma != T::ONE {
            delta = delta.powf(self.gamma);
        }
        *v *= delta;
        if floor && *v < self.tiny {
            *v = T::ZERO;
        }
    }

    /// [`Engine::apply`] over slices, written branch-free so that it vectorizes.
    #[inline(never)]
    fn apply_slice(&self, v: &mut [T], num: &[T], den: &[T], l1: T, l2: T, floor: bool) {
        let (eps, tiny) = (self.eps, self.tiny);
        if self.gamma == T::ONE {
            for ((v, &n), &d) in v.iter_mut().zip(num).zip(den) {
                let d = d + l1 + l2 * *v;
                let d = if d == T::ZERO { eps } else { d };
                let nv = *v * (n / d);
                *v = if floor && nv < tiny { T::ZERO } else { nv };
            }
        } else {
            for ((v, &n), &d) in v.iter_mut().zip(num).zip(den) {
                self.apply(v, n, d, l1, l2, floor);
            }
        }
    }

    /// One multiplicative update of `W` (free columns only).
    pub(crate) fn update_w(&mut self, w: &mut [T], h: &[T]) {
        let (t, k, rows) = (self.t, self.k, self.rows);
        if self.kind == Kind::Kl {
            Self::row_sums(h, t, &mut self.hsum);
        }
        let floor = self.beta < T::ONE;
        let (l1, l2) = (self.reg.0, self.reg.2);
        // Move the scratch buffers out (no allocation) so `this` can be shared across threads.
        let mut wh = std::mem::take(&mut self.wh);
        let mut b = std::mem::take(&mut self.b);
        let mut nw = std::mem::take(&mut self.nw);
        let mut dw = std::mem::take(&mut self.dw);
        let this = &*self;
        w.par_chunks_mut(rows * k)
            .zip(wh.par_chunks_mut(rows * t))
            .zip(b.par_chunks_mut(rows * t))
            .zip(nw.par_chunks_mut(rows * k))
            .zip(dw.par_chunks_mut(rows * k))
            .zip(this.x.par_chunks(rows * t))
            .for_each(|(((((wb, whb), bb), nwb), dwb), xb)| {
                let _ftz = FlushSubnormals::new(T::FLUSH_SUBNORMALS);
                let m = wb.len() / k;
                T::gemm(whb, wb, h, m, k, t, false, false, false);
                Self::elementwise(this.kind, this.beta, this.eps, xb, whb, bb);
                T::gemm(nwb, whb, h, m, t, k, false, true, false);
                if this.kind == Kind::Kl {
                    for row in dwb.chunks_exact_mut(k) {
                        row.copy_from_slice(&this.hsum);
                    }
                } else {
                    T::gemm(dwb, bb, h, m, t, k, false, true, false);
                }
                if this.all_free {
                    this.apply_slice(wb, nwb, dwb, l1, l2, floor);
                } else {
                    for ((wr, nr), dr) in wb
                        .chunks_exact_mut(k)
                        .zip(nwb.chunks_exact(k))
                        .zip(dwb.chunks_exact(k))
                    {
                        for j in 0..k {
                            if this.free_w[j] {
                                this.apply(&mut wr[j], nr[j], dr[j], l1, l2, floor);
                            }
                        }
                    }
                }
            });
        self.wh = wh;
        self.b = b;
        self.nw = nw;
        self.dw = dw;
    }

    /// One multiplicative update of `H`.
    pub(crate) fn update_h(&mut self, w: &[T], h: &mut [T]) {
        let (t, k, rows) = (self.t, self.k, self.rows);
        let kl = self.kind == Kind::Kl;
        if kl {
            Self::col_sums(w, k, &mut self.wsum);
            for s in self.wsum.iter_mut() {
                if *s == T::ZERO {
                    *s = T::ONE;
                }
            }
        }
        let floor = self.beta <= T::ONE;
        let (l1, l2) = (self.reg.1, self.reg.3);
        let mut wh = std::mem::take(&mut self.wh);
        let mut b = std::mem::take(&mut self.b);
        let mut pn = std::mem::take(&mut self.pn);
        let mut pd = std::mem::take(&mut self.pd);
        let this = &*self;
        {
            let hr: &[T] = h;
            w.par_chunks(rows * k)
                .zip(wh.par_chunks_mut(rows * t))
                .zip(b.par_chunks_mut(rows * t))
                .zip(pn.par_chunks_mut(k * t))
                .zip(pd.par_chunks_mut(k * t))
                .zip(this.x.par_chunks(rows * t))
                .for_each(|(((((wb, whb), bb), pnb), pdb), xb)| {
                    let _ftz = FlushSubnormals::new(T::FLUSH_SUBNORMALS);
                    let m = wb.len() / k;
                    T::gemm(whb, wb, hr, m, k, t, false, false, false);
                    Self::elementwise(this.kind, this.beta, this.eps, xb, whb, bb);
                    T::gemm(pnb, wb, whb, k, m, t, true, false, false);
                    if !kl {
                        T::gemm(pdb, wb, bb, k, m, t, true, false, false);
                    }
                });
        }
        // Reduce the partials in a fixed order and apply, in parallel over chunks of H.
        let (nb, kt) = (this.nb, k * t);
        const CH: usize = 512;
        let (pnr, pdr): (&[T], &[T]) = (&pn, &pd);
        h.par_chunks_mut(CH).enumerate().for_each(|(c, hc)| {
            let _ftz = FlushSubnormals::new(T::FLUSH_SUBNORMALS);
            let base = c * CH;
            let n = hc.len();
            let mut num = [T::ZERO; CH];
            let mut den = [T::ZERO; CH];
            let (num, den) = (&mut num[..n], &mut den[..n]);
            num.copy_from_slice(&pnr[base..base + n]);
            for blk in 1..nb {
                for (a, &p) in num
                    .iter_mut()
                    .zip(&pnr[blk * kt + base..blk * kt + base + n])
                {
                    *a += p;
                }
            }
            if kl {
                for (o, d) in den.iter_mut().enumerate() {
                    *d = this.wsum[(base + o) / t];
                }
            } else {
                den.copy_from_slice(&pdr[base..base + n]);
                for blk in 1..nb {
                    for (a, &p) in den
                        .iter_mut()
                        .zip(&pdr[blk * kt + base..blk * kt + base + n])
                    {
                        *a += p;
                    }
                }
            }
            this.apply_slice(hc, num, den, l1, l2, floor);
        });
        self.wh = wh;
        self.b = b;
        self.pn = pn;
        self.pd = pd;
    }

    /// `Σ d(X‖W·H)` in f64 with the report's [`Divergence`], in a fixed summation order.
    pub(crate) fn loss_sum(&mut self, w: &[T], h: &[T]) -> f64 {
        let (t, k, rows) = (self.t, self.k, self.rows);
        let div = self.div;
        let x = self.x;
        let wh = &mut self.wh;
        wh.par_chunks_mut(rows * t)
            .zip(w.par_chunks(rows * k))
            .zip(x.par_chunks(rows * t))
            .zip(self.part.par_iter_mut())
            .for_each(|(((whb, wb), xb), p)| {
                let m = wb.len() / k;
                T::gemm(whb, wb, h, m, k, t, false, false, false);
                *p = xb
                    .iter()
                    .zip(whb.iter())
                    .map(|(&a, &y)| div.value(a.to_f64(), y.to_f64()))
                    .sum();
            });
        self.part.iter().sum()
    }
}

/// One half-update each and the loss: what the iteration driver [`drive`] needs of an engine.
pub(crate) trait Solver {
    /// One multiplicative update of the free columns of `W`.
    fn update_w(&mut self);
    /// One multiplicative update of `H`.
    fn update_h(&mut self);
    /// `Σ d(X‖W·H)` in f64, in a fixed summation order.
    fn loss_sum(&mut self) -> f64;
}

/// The general `Engine` bound to the factors it updates.
struct Bound<'e, 'a, T: Float> {
    eng: &'e mut Engine<'a, T>,
    w: &'e mut [T],
    h: &'e mut [T],
}

impl<T: Float> Solver for Bound<'_, '_, T> {
    fn update_w(&mut self) {
        self.eng.update_w(self.w, self.h);
    }
    fn update_h(&mut self) {
        self.eng.update_h(self.w, self.h);
    }
    fn loss_sum(&mut self) -> f64 {
        self.eng.loss_sum(self.w, self.h)
    }
}

/// Runs the iterations in place. `free_w[j]` says whether column j of W is updated; `update_h`
/// whether H is. Inputs are validated by the caller. KL in f32 takes the fused engine
/// (`nmf::kl`) unless `params.engine` is [`NmfEngine::Reference`]; everything else the
/// general `Engine`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<T: Float>(
    params: &NmfParams,
    x: &[T],
    f: usize,
    t: usize,
    w: &mut [T],
    h: &mut [T],
    free_w: Vec<bool>,
    update_h: bool,
    progress: Option<Progress<'_>>,
) -> Result<NmfReport> {
    let start = Instant::now();
    let any_w = free_w.iter().any(|&b| b);
    if params.beta == 1.0 && params.engine == NmfEngine::Auto {
        if let (Some(x), Some(w), Some(h)) = (T::as_f32(x), T::as_f32_mut(w), T::as_f32_mut(h)) {
            let level = crate::simd::level();
            let mut eng = super::kl::KlEngine::new(params, x, f, t, w, h, free_w, level)?;
            let div = eng.divergence();
            let r = drive(params, f * t, any_w, update_h, progress, &mut eng);
            // the factors as the last iteration left them, also on an error (interrupted)
            eng.write_back(w, h);
            return r.map(|d| d.report(params, div, T::NAME, start));
        }
    }
    let mut eng = Engine::new(params, x, f, t, free_w)?;
    let div = eng.div;
    let r = drive(
        params,
        f * t,
        any_w,
        update_h,
        progress,
        &mut Bound {
            eng: &mut eng,
            w,
            h,
        },
    )?;
    Ok(r.report(params, div, T::NAME, start))
}

/// What [`drive`] measured.
pub(crate) struct Driven {
    n_iter: usize,
    converged: bool,
    initial_loss: f64,
    final_loss: f64,
    history: Vec<LossPoint>,
}

impl Driven {
    fn report(self, params: &NmfParams, div: Divergence, dtype: &str, start: Instant) -> NmfReport {
        NmfReport {
            beta: params.beta,
            divergence: div,
            dtype: dtype.to_string(),
            n_iter: self.n_iter,
            max_iter: params.max_iter,
            tol: params.tol,
            converged: self.converged,
            initial_loss: self.initial_loss,
            final_loss: self.final_loss,
            loss_history: self.history,
            elapsed_s: start.elapsed().as_secs_f64(),
        }
    }
}

/// The iterations, the loss checks, the progress callback and scikit-learn's stopping rule, on
/// any [`Solver`].
pub(crate) fn drive(
    params: &NmfParams,
    n_entries: usize,
    any_w: bool,
    update_h: bool,
    mut progress: Option<Progress<'_>>,
    eng: &mut impl Solver,
) -> Result<Driven> {
    let n = n_entries as f64;
    let sum0 = eng.loss_sum();
    check_loss(0, sum0 / n)?;
    let err0 = (2.0 * sum0.max(0.0)).sqrt();
    let mut prev = err0;
    let mut history = vec![LossPoint {
        iter: 0,
        loss: sum0 / n,
    }];
    let mut converged = false;
    let mut n_iter = 0;
    let mut last_sum = sum0;
    for it in 1..=params.max_iter {
        match params.order {
            UpdateOrder::WThenH => {
                if any_w {
                    eng.update_w();
                }
                if update_h {
                    eng.update_h();
                }
            }
            UpdateOrder::HThenW => {
                if update_h {
                    eng.update_h();
                }
                if any_w {
                    eng.update_w();
                }
            }
        }
        n_iter = it;
        if it % params.check_every == 0 {
            let s = eng.loss_sum();
            check_loss(it, s / n)?;
            history.push(LossPoint {
                iter: it,
                loss: s / n,
            });
            last_sum = s;
            if params.tol > 0.0 {
                let err = (2.0 * s.max(0.0)).sqrt();
                if err0 == 0.0 || (prev - err) / err0 < params.tol {
                    converged = true;
                    break;
                }
                prev = err;
            }
        }
        if let Some(p) = progress.as_mut() {
            if p(it, params.max_iter, last_sum / n).is_break() {
                return Err(Error::Interrupted { step: it });
            }
        }
    }
    if history.last().map(|p| p.iter) != Some(n_iter) {
        last_sum = eng.loss_sum();
        check_loss(n_iter, last_sum / n)?;
        history.push(LossPoint {
            iter: n_iter,
            loss: last_sum / n,
        });
    }
    Ok(Driven {
        n_iter,
        converged,
        initial_loss: sum0 / n,
        final_loss: last_sum / n,
        history,
    })
}

fn check_loss(step: usize, loss: f64) -> Result<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(Error::Diverged { step, loss })
    }
}
