//! The per-cell losses of [`Trainer`](super::Trainer)'s passes and their sums: the fused KL
//! kernel (16 f32 lanes, the same bits at every SIMD level), its split into per-cell terms and an
//! in-order sum for the row-block pass, and the general β-divergence path.

use crate::divergence::Divergence;
use crate::fastmath::ln_pos;

/// A loss sum running over a chunk of cells that is passed in pieces (the row-block pass's
/// blocks, [`Trainer::dense_rows_pass`](super::Trainer::dense_rows_pass)): the f64 total, [`kl_block`]'s 16 lanes and the lane
/// groups added since their last flush. Every piece but the chunk's last is whole lane groups
/// (a multiple of 16 cells), so the chunk's sum has the bits of one pass over the whole chunk.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LossCarry {
    acc: f64,
    lanes: [f32; 16],
    groups: usize,
}

impl LossCarry {
    /// The sum so far (the chunk's whole sum after its last piece).
    pub(crate) fn sum(&self) -> f64 {
        self.acc
    }
}

/// KL over a block: Σ [x·ln(x+ε) − x]·WITH_CONST − x·ln(y+ε) + y, and (if `grads`) the gradient
/// (1 − x/(y+ε))·inv written over `y`. 16 independent lanes so the sum vectorizes (a single
/// running f32 sum would force strict in-order addition) and gives the same bits at every SIMD
/// level; lanes are flushed to f64 every 1024 values. The sum continues `carry` (a fresh one for
/// a whole chunk); a piece that is not its chunk's `last` must be whole lane groups, and leaves
/// its lanes in `carry` for the next piece. Returns the sum so far.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kl_block<const WITH_CONST: bool, X: Copy + Into<f64>>(
    x: &[X],
    y: &mut [f32],
    eps: f32,
    inv: f32,
    grads: bool,
    to32: impl Fn(X) -> f32,
    carry: &mut LossCarry,
    last: bool,
) -> f64 {
    const L: usize = 16;
    let term = |xi: f32, yi: f32| kl_term::<WITH_CONST>(xi, yi, eps);
    let LossCarry {
        mut acc,
        mut lanes,
        mut groups,
    } = *carry;
    let n_full = x.len() / L * L;
    assert!(
        last || n_full == x.len(),
        "a piece of a chunk ({} cells) is whole lane groups",
        x.len()
    );
    for (xb, yb) in x[..n_full]
        .chunks_exact(L)
        .zip(y[..n_full].chunks_exact_mut(L))
    {
        for j in 0..L {
            let xi = to32(xb[j]);
            lanes[j] += term(xi, yb[j]);
            if grads {
                yb[j] = (1.0 - xi / (yb[j] + eps)) * inv;
            }
        }
        groups += 1;
        if groups % 64 == 0 {
            acc += lanes.iter().map(|&v| v as f64).sum::<f64>();
            lanes = [0.0; L];
        }
    }
    if last {
        acc += lanes.iter().map(|&v| v as f64).sum::<f64>();
        lanes = [0.0; L];
        for j in n_full..x.len() {
            let xi = to32(x[j]);
            acc += term(xi, y[j]) as f64;
            if grads {
                y[j] = (1.0 - xi / (y[j] + eps)) * inv;
            }
        }
    }
    *carry = LossCarry { acc, lanes, groups };
    acc
}

/// One cell's term of [`kl_block`]'s sum.
#[inline(always)]
fn kl_term<const WITH_CONST: bool>(xi: f32, yi: f32, eps: f32) -> f32 {
    let c = if WITH_CONST {
        xi * ln_pos(xi + eps) - xi
    } else {
        0.0
    };
    c - xi * ln_pos(yi + eps) + yi
}

crate::simd::simd_fn! {
    /// [`kl_dense`] without its sum: each cell's term into `terms` and its gradient over `y`
    /// (cells independent, so any cut of a chunk can run on any thread); [`kl_sum_terms`] then
    /// adds the terms as [`kl_block`] does, to its bits.
    pub(super) fn kl_dense_terms(x: &[f32], y: &mut [f32], eps: f32, inv: f32, terms: &mut [f32]) {
        for ((&xi, yi), t) in x.iter().zip(y.iter_mut()).zip(terms.iter_mut()) {
            *t = kl_term::<false>(xi, *yi, eps);
            *yi = (1.0 - xi / (*yi + eps)) * inv;
        }
    }
}

/// [`kl_block`]'s sum over terms already computed ([`kl_dense_terms`]): the same 16 lanes, the
/// same flush every 64 lane groups and the same tail, continuing `carry` (`last`: the terms end
/// their chunk; otherwise they must be whole lane groups). Returns the sum so far. It repeats
/// `kl_block`'s lane loop on purpose: both written as one loop taking the terms from a closure
/// (one for each) gave the same bits but made `hybrid-fit` 0.86× and `stft-fit` 0.95× as fast
/// (2026-12-01, alternated), the fused loop no longer vectorized as well.
pub(super) fn kl_sum_terms(terms: &[f32], carry: &mut LossCarry, last: bool) -> f64 {
    const L: usize = 16;
    let LossCarry {
        mut acc,
        mut lanes,
        mut groups,
    } = *carry;
    let n_full = terms.len() / L * L;
    assert!(
        last || n_full == terms.len(),
        "a piece of a chunk ({} cells) is whole lane groups",
        terms.len()
    );
    for tb in terms[..n_full].chunks_exact(L) {
        for j in 0..L {
            lanes[j] += tb[j];
        }
        groups += 1;
        if groups % 64 == 0 {
            acc += lanes.iter().map(|&v| v as f64).sum::<f64>();
            lanes = [0.0; L];
        }
    }
    if last {
        acc += lanes.iter().map(|&v| v as f64).sum::<f64>();
        lanes = [0.0; L];
        for &t in &terms[n_full..] {
            acc += t as f64;
        }
    }
    *carry = LossCarry { acc, lanes, groups };
    acc
}

crate::simd::simd_fn! {
    /// [`kl_block`] on the dense path's targets, without the constant terms.
    pub(super) fn kl_dense(
        x: &[f32],
        y: &mut [f32],
        eps: f32,
        inv: f32,
        grads: bool,
        carry: &mut LossCarry,
        last: bool,
    ) -> f64 {
        kl_block::<false, f32>(x, y, eps, inv, grads, |v| v, carry, last)
    }
}

crate::simd::simd_fn! {
    /// [`kl_block`] on f32 targets (the gather path), with the constant terms.
    fn kl_gather(x: &[f32], y: &mut [f32], eps: f32, inv: f32, grads: bool) -> f64 {
        kl_block::<true, f32>(x, y, eps, inv, grads, |v| v, &mut LossCarry::default(), true)
    }
}

/// True when the vectorized KL path applies.
pub(super) fn kl_fast(div: &Divergence, weighted: bool) -> bool {
    div.beta == 1.0 && !weighted && div.eps >= 1e-30
}

/// Loss sum over a block of the dense path (targets `x`, estimates `y`) and, if `grads`,
/// the per-cell gradient of the normalized loss written over `y`. With `skip_const` the KL terms
/// x·ln(x+ε) − x, which do not depend on the model, are left out (the caller adds their sum).
/// The sum continues `carry` (see [`LossCarry`]; `last`: the block ends its chunk) and is
/// returned so far.
#[allow(clippy::too_many_arguments)]
pub(super) fn pointwise(
    level: crate::simd::Level,
    div: &Divergence,
    x: &[f32],
    y: &mut [f32],
    w: Option<&[f32]>,
    norm: f64,
    grads: bool,
    skip_const: bool,
    carry: &mut LossCarry,
    last: bool,
) -> f64 {
    let inv = 1.0 / norm;
    if kl_fast(div, w.is_some()) && skip_const {
        return kl_dense(level, x, y, div.eps as f32, inv as f32, grads, carry, last);
    }
    let mut acc = carry.acc;
    for (j, (xi, yi)) in x.iter().zip(y.iter_mut()).enumerate() {
        let wgt = w.map_or(1.0, |w| w[j] as f64);
        let (xv, yv) = (*xi as f64, *yi as f64);
        acc += wgt * div.value(xv, yv);
        if grads {
            *yi = (wgt * div.grad(xv, yv) * inv) as f32;
        }
    }
    carry.acc = acc;
    acc
}

/// [`pointwise`] for the gather path (f32 targets, all KL terms included).
pub(super) fn pointwise_f32(
    level: crate::simd::Level,
    div: &Divergence,
    x: &[f32],
    y: &mut [f32],
    w: Option<&[f32]>,
    norm: f64,
    grads: bool,
) -> f64 {
    let inv = 1.0 / norm;
    if kl_fast(div, w.is_some()) {
        return kl_gather(level, x, y, div.eps as f32, inv as f32, grads);
    }
    let mut acc = 0.0f64;
    for (j, (xi, yi)) in x.iter().zip(y.iter_mut()).enumerate() {
        let wgt = w.map_or(1.0, |w| w[j] as f64);
        let (xv, yv) = (*xi as f64, *yi as f64);
        acc += wgt * div.value(xv, yv);
        if grads {
            *yi = (wgt * div.grad(xv, yv) * inv) as f32;
        }
    }
    acc
}
