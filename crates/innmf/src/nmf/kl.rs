//! The fast path of the multiplicative updates: Kullback–Leibler (β = 1) in f32, fused and
//! panel-blocked, with identical bytes for any thread count.
//!
//! One KL update of `H` with `W` fixed (scikit-learn's `_multiplicative_update_h`, the
//! baseline of arXiv 2404.04439, §4) is
//!
//! ```text
//! H ← H ⊙ ( Wᵀ·(X ⊘ max(W·H, ε)) ) ⊘ ( Wᵀ·1 + l1_H + l2_H·H )
//! ```
//!
//! and the update of `W` is the same on the transposed problem `Xᵀ ≈ Hᵀ·Wᵀ`.
//!
//! **Fusion.** `W·H` is never formed. The columns of `H` and `X` are cut into panels of
//! [`PANEL`] = 16 (stored panel-major, zero-padded); one rayon task owns two adjacent panels.
//! It walks the rows of `W` six at a time: the 6×16 tile of `W·H` (AVX2, portable; with AVX-512
//! 6×32 over both panels, so each broadcast of `W` feeds two vectors) is accumulated in
//! registers, divided into the tile of `X` (the ratio stays in registers), and multiplied at once
//! by the same rows of `W` into the panel's K×16 numerator; then the task applies the update to
//! its own panels of `H`. The denominators `Wᵀ·1` (column sums of `W`) and `H·1` (row sums of `H`) are
//! kept as K-vectors. Two products per half-update, each read of `X` streamed once, nothing
//! larger than a panel written.
//!
//! **Determinism.** Every numerator entry is one sum over rows in ascending order, and panels
//! do not depend on the pool size, so the factors are the same bytes for 1 or 64 threads. The
//! AVX-512 kernel, the AVX2+FMA kernel and the portable kernel ([`ratio_panel_portable`], also
//! the fallback on other CPUs) perform the same fused multiply-adds in the same order, so they
//! agree bit for bit (tested).
//!
//! Subnormals are flushed (FTZ/DAZ) inside each task, restored after it.

use super::float::FlushSubnormals;
use super::mu::{Solver, EPSILON};
use super::params::NmfParams;
use crate::divergence::Divergence;
use crate::error::Result;
use crate::simd::Level;
use rayon::prelude::*;

/// Columns per panel: two AVX2 vectors of f32.
pub(crate) const PANEL: usize = 16;

/// Rows per register tile of the AVX2 kernel (12 accumulators + 3 temporaries of 16 registers).
const MR: usize = 6;

/// Rows per register tile of the AVX-512 kernel (one 16-lane vector per row: 12 accumulators;
/// `ratio_panel` dispatches the last rows to tiles of 1 to 11).
const MR512: usize = 12;
const _: () = assert!(MR512 <= 12);

/// Which fused kernel runs: the portable twin or one written for an instruction set. All three
/// give the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kern {
    /// [`ratio_panel_portable`] (any CPU).
    Portable,
    /// AVX2 and FMA: 6 rows × two 8-lane vectors.
    Avx2,
    /// AVX-512: 12 rows × one 16-lane vector.
    Avx512,
}

impl Kern {
    /// The kernel for `level`, clamped to what this CPU supports.
    pub(crate) fn for_level(level: Level) -> Kern {
        if !cfg!(target_arch = "x86_64") {
            return Kern::Portable;
        }
        match crate::simd::clamp(level) {
            Level::Avx512 => Kern::Avx512,
            Level::Avx2 => Kern::Avx2,
            Level::Scalar => Kern::Portable,
        }
    }

    /// Every kernel this CPU can run, the portable one first.
    #[cfg(test)]
    fn available() -> Vec<Kern> {
        let mut v: Vec<Kern> = Level::available()
            .into_iter()
            .map(Kern::for_level)
            .collect();
        v.dedup();
        v
    }
}

/// `num[k][j] += Σ_r a[r,k] · x[r][j] / max(Σ_κ a[r,κ]·b[κ][j], eps)` for `r < rows`, in
/// ascending `r`: the fused core of one half-update. `a` is `rows×k` row-major, `b` is a
/// `k×PANEL` panel, `x` a `rows×PANEL` panel, `num` a `k×PANEL` panel.
///
/// The portable twin of the AVX2 kernel: same operations, same order, same bytes.
pub(crate) fn ratio_panel_portable(
    a: &[f32],
    k: usize,
    b: &[f32],
    x: &[f32],
    rows: usize,
    eps: f32,
    num: &mut [f32],
) {
    for r in 0..rows {
        let ar = &a[r * k..(r + 1) * k];
        let mut acc = [0.0f32; PANEL];
        for (kk, &av) in ar.iter().enumerate() {
            let br = &b[kk * PANEL..(kk + 1) * PANEL];
            for j in 0..PANEL {
                acc[j] = av.mul_add(br[j], acc[j]);
            }
        }
        let xr = &x[r * PANEL..(r + 1) * PANEL];
        for j in 0..PANEL {
            let d = if acc[j] > eps { acc[j] } else { eps };
            acc[j] = xr[j] / d;
        }
        for (kk, &av) in ar.iter().enumerate() {
            let nr = &mut num[kk * PANEL..(kk + 1) * PANEL];
            for j in 0..PANEL {
                nr[j] = av.mul_add(acc[j], nr[j]);
            }
        }
    }
}

/// [`ratio_panel_portable`] through the kernel `kern` (which [`Kern::for_level`] chose, so the
/// CPU has its instructions).
///
/// # Panics
/// When a slice is shorter than its stated shape.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ratio_panel(
    kern: Kern,
    a: &[f32],
    k: usize,
    b: &[f32],
    x: &[f32],
    rows: usize,
    eps: f32,
    num: &mut [f32],
) {
    assert!(
        a.len() >= rows * k
            && b.len() >= k * PANEL
            && x.len() >= rows * PANEL
            && num.len() >= k * PANEL,
        "ratio_panel: slices shorter than rows = {rows}, k = {k}"
    );
    #[cfg(target_arch = "x86_64")]
    if kern == Kern::Avx512 {
        debug_assert_eq!(Kern::for_level(Level::Avx512), Kern::Avx512);
        let full = rows / MR512;
        let done = full * MR512;
        // SAFETY: the lengths are checked above, and `Kern::Avx512` is only chosen when the CPU
        // has AVX-512 (`Kern::for_level`).
        unsafe {
            let (ap, bp, xp, np) = (a.as_ptr(), b.as_ptr(), x.as_ptr(), num.as_mut_ptr());
            avx512::tiles::<MR512>(ap, k, bp, xp, full, eps, np);
            let (ap, xp) = (ap.add(done * k), xp.add(done * PANEL));
            macro_rules! rest {
                ($($r:literal)*) => {
                    match rows - done {
                        $($r => avx512::tiles::<$r>(ap, k, bp, xp, 1, eps, np),)*
                        _ => {}
                    }
                };
            }
            rest!(1 2 3 4 5 6 7 8 9 10 11);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if kern != Kern::Portable {
        debug_assert!(Kern::for_level(Level::Avx512) != Kern::Portable);
        let full = rows / MR;
        let done = full * MR;
        // SAFETY: the lengths are checked above, and the AVX2 kernel is only chosen when the
        // CPU has AVX2 and FMA (`Kern::for_level`).
        unsafe {
            let (ap, bp, xp, np) = (a.as_ptr(), b.as_ptr(), x.as_ptr(), num.as_mut_ptr());
            avx2::tiles::<MR>(ap, k, bp, xp, full, eps, np);
            let (ap, xp) = (ap.add(done * k), xp.add(done * PANEL));
            match rows - done {
                1 => avx2::tiles::<1>(ap, k, bp, xp, 1, eps, np),
                2 => avx2::tiles::<2>(ap, k, bp, xp, 1, eps, np),
                3 => avx2::tiles::<3>(ap, k, bp, xp, 1, eps, np),
                4 => avx2::tiles::<4>(ap, k, bp, xp, 1, eps, np),
                5 => avx2::tiles::<5>(ap, k, bp, xp, 1, eps, np),
                _ => {}
            }
        }
        return;
    }
    let _ = kern;
    ratio_panel_portable(a, k, b, x, rows, eps, num);
}

/// Rows per register tile of the AVX-512 kernel on two panels (12 accumulators).
const MR2: usize = 6;

/// [`ratio_panel`] on two adjacent panels: `b` and `num` hold panel 0 then panel 1 (`k·PANEL`
/// each), `x` holds panel 0's `rows·PANEL` then panel 1's. The AVX-512 kernel does both in
/// one pass ([`avx512::pair_tiles`]); the others do one panel after the other. The same bytes.
///
/// # Panics
/// When a slice is shorter than its stated shape.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ratio_pair(
    kern: Kern,
    a: &[f32],
    k: usize,
    b: &[f32],
    x: &[f32],
    rows: usize,
    eps: f32,
    num: &mut [f32],
) {
    let (ks, xs) = (k * PANEL, rows * PANEL);
    assert!(
        a.len() >= rows * k && b.len() >= 2 * ks && x.len() >= 2 * xs && num.len() >= 2 * ks,
        "ratio_pair: slices shorter than rows = {rows}, k = {k}"
    );
    #[cfg(target_arch = "x86_64")]
    if kern == Kern::Avx512 {
        let full = rows / MR2;
        let done = full * MR2;
        // SAFETY: the lengths are checked above, and `Kern::Avx512` is only chosen when the CPU
        // has AVX-512 (`Kern::for_level`).
        unsafe {
            let (ap, bp, xp, np) = (a.as_ptr(), b.as_ptr(), x.as_ptr(), num.as_mut_ptr());
            avx512::pair_tiles::<MR2>(ap, k, bp, xp, xs, full, eps, np);
            let (ap, xp) = (ap.add(done * k), xp.add(done * PANEL));
            match rows - done {
                1 => avx512::pair_tiles::<1>(ap, k, bp, xp, xs, 1, eps, np),
                2 => avx512::pair_tiles::<2>(ap, k, bp, xp, xs, 1, eps, np),
                3 => avx512::pair_tiles::<3>(ap, k, bp, xp, xs, 1, eps, np),
                4 => avx512::pair_tiles::<4>(ap, k, bp, xp, xs, 1, eps, np),
                5 => avx512::pair_tiles::<5>(ap, k, bp, xp, xs, 1, eps, np),
                _ => {}
            }
        }
        return;
    }
    let (n0, n1) = num.split_at_mut(ks);
    ratio_panel(kern, a, k, &b[..ks], &x[..xs], rows, eps, n0);
    ratio_panel(kern, a, k, &b[ks..2 * ks], &x[xs..2 * xs], rows, eps, n1);
}

/// `out[r][j] = Σ_κ a[r,κ]·b[κ][j]` for `r < rows ≤ MR`: rows of `W·H` for the loss, with
/// the same fused multiply-adds in the same order as [`ratio_panel`].
///
/// # Panics
/// When `rows > MR` or a slice is shorter than its stated shape.
#[track_caller]
fn wh_rows(kern: Kern, a: &[f32], k: usize, b: &[f32], rows: usize, out: &mut [f32; MR * PANEL]) {
    assert!(rows <= MR && a.len() >= rows * k && b.len() >= k * PANEL);
    #[cfg(target_arch = "x86_64")]
    if kern != Kern::Portable {
        // SAFETY: lengths checked above; a vector kernel only when AVX2 and FMA are present.
        // (The loss's W·H is one product per entry in order: the AVX2 code serves both.)
        unsafe {
            let (ap, bp, op) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
            match rows {
                1 => avx2::wh::<1>(ap, k, bp, op),
                2 => avx2::wh::<2>(ap, k, bp, op),
                3 => avx2::wh::<3>(ap, k, bp, op),
                4 => avx2::wh::<4>(ap, k, bp, op),
                5 => avx2::wh::<5>(ap, k, bp, op),
                6 => avx2::wh::<6>(ap, k, bp, op),
                _ => {}
            }
        }
        return;
    }
    let _ = kern;
    for r in 0..rows {
        let o = &mut out[r * PANEL..(r + 1) * PANEL];
        o.fill(0.0);
        for (kk, &av) in a[r * k..(r + 1) * k].iter().enumerate() {
            for j in 0..PANEL {
                o[j] = av.mul_add(b[kk * PANEL + j], o[j]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::PANEL;
    use std::arch::x86_64::*;

    /// One tile of `M` rows of `W·H` (see [`super::wh_rows`]).
    ///
    /// # Safety
    /// The CPU supports AVX2 and FMA; `a` holds `M·k` values, `b` `k·PANEL`, `out` `M·PANEL`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn wh<const M: usize>(a: *const f32, k: usize, b: *const f32, out: *mut f32) {
        let mut acc = [[_mm256_setzero_ps(); 2]; M];
        for kk in 0..k {
            let b0 = _mm256_loadu_ps(b.add(kk * PANEL));
            let b1 = _mm256_loadu_ps(b.add(kk * PANEL + 8));
            for i in 0..M {
                let av = _mm256_broadcast_ss(&*a.add(i * k + kk));
                acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
            }
        }
        for i in 0..M {
            _mm256_storeu_ps(out.add(i * PANEL), acc[i][0]);
            _mm256_storeu_ps(out.add(i * PANEL + 8), acc[i][1]);
        }
    }

    /// `tiles` consecutive tiles of `M` rows of [`super::ratio_panel_portable`].
    ///
    /// # Safety
    /// The CPU supports AVX2 and FMA; `a` holds `tiles·M·k` values, `x` `tiles·M·PANEL`,
    /// `b` and `num` `k·PANEL`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tiles<const M: usize>(
        a: *const f32,
        k: usize,
        b: *const f32,
        x: *const f32,
        tiles: usize,
        eps: f32,
        num: *mut f32,
    ) {
        let epsv = _mm256_set1_ps(eps);
        for tile in 0..tiles {
            let at = a.add(tile * M * k);
            let xt = x.add(tile * M * PANEL);
            let mut acc = [[_mm256_setzero_ps(); 2]; M];
            for kk in 0..k {
                let b0 = _mm256_loadu_ps(b.add(kk * PANEL));
                let b1 = _mm256_loadu_ps(b.add(kk * PANEL + 8));
                for i in 0..M {
                    let av = _mm256_broadcast_ss(&*at.add(i * k + kk));
                    acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
                }
            }
            for i in 0..M {
                for v in 0..2 {
                    let d = _mm256_max_ps(acc[i][v], epsv);
                    acc[i][v] = _mm256_div_ps(_mm256_loadu_ps(xt.add(i * PANEL + 8 * v)), d);
                }
            }
            // One pass over the numerator: every load and store of it is shared by M rows
            // (two or three passes, to start before the last divisions, measured slower).
            for kk in 0..k {
                let np = num.add(kk * PANEL);
                let mut n0 = _mm256_loadu_ps(np);
                let mut n1 = _mm256_loadu_ps(np.add(8));
                for i in 0..M {
                    let av = _mm256_broadcast_ss(&*at.add(i * k + kk));
                    n0 = _mm256_fmadd_ps(av, acc[i][0], n0);
                    n1 = _mm256_fmadd_ps(av, acc[i][1], n1);
                }
                _mm256_storeu_ps(np, n0);
                _mm256_storeu_ps(np.add(8), n1);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::PANEL;
    use std::arch::x86_64::*;

    /// `tiles` consecutive tiles of `M` rows of [`super::ratio_panel_portable`], one 16-lane
    /// vector (a whole panel row) per row: the AVX2 kernel's operations in the same order.
    ///
    /// Software-pipelined: the next tile's `W·H` is accumulated between this tile's divisions
    /// and its numerator pass, so the multiply-adds run while the divider works (the numerator
    /// still takes the tiles, and so the rows, in ascending order).
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `a` holds `tiles·M·k` values, `x` `tiles·M·PANEL`, `b` and
    /// `num` `k·PANEL`.
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    pub(super) unsafe fn tiles<const M: usize>(
        a: *const f32,
        k: usize,
        b: *const f32,
        x: *const f32,
        tiles: usize,
        eps: f32,
        num: *mut f32,
    ) {
        if tiles == 0 {
            return;
        }
        // SAFETY: the caller's bounds (tile `t` reads rows t·M .. (t+1)·M of `a` and `x`).
        unsafe {
            let epsv = _mm512_set1_ps(eps);
            // W·H for the M rows of tile `t`
            let product = |t: usize| {
                let at = a.add(t * M * k);
                let mut acc = [_mm512_setzero_ps(); M];
                for kk in 0..k {
                    let bv = _mm512_loadu_ps(b.add(kk * PANEL));
                    for (i, v) in acc.iter_mut().enumerate() {
                        *v = _mm512_fmadd_ps(_mm512_set1_ps(*at.add(i * k + kk)), bv, *v);
                    }
                }
                acc
            };
            let ratio = |t: usize, mut acc: [__m512; M]| {
                let xt = x.add(t * M * PANEL);
                for (i, v) in acc.iter_mut().enumerate() {
                    let d = _mm512_max_ps(*v, epsv);
                    *v = _mm512_div_ps(_mm512_loadu_ps(xt.add(i * PANEL)), d);
                }
                acc
            };
            let mut cur = ratio(0, product(0));
            for t in 0..tiles {
                let next = if t + 1 < tiles { product(t + 1) } else { cur };
                let at = a.add(t * M * k);
                // four rows of the numerator at a time: four independent chains of M
                // multiply-adds (each entry still sums its rows in ascending order)
                let mut kk = 0;
                while kk + 4 <= k {
                    let p: [*mut f32; 4] = std::array::from_fn(|q| num.add((kk + q) * PANEL));
                    let mut n: [__m512; 4] = std::array::from_fn(|q| _mm512_loadu_ps(p[q]));
                    for (i, &v) in cur.iter().enumerate() {
                        let ai = at.add(i * k + kk);
                        for (q, nq) in n.iter_mut().enumerate() {
                            *nq = _mm512_fmadd_ps(_mm512_set1_ps(*ai.add(q)), v, *nq);
                        }
                    }
                    for q in 0..4 {
                        _mm512_storeu_ps(p[q], n[q]);
                    }
                    kk += 4;
                }
                while kk < k {
                    let p0 = num.add(kk * PANEL);
                    let mut n0 = _mm512_loadu_ps(p0);
                    for (i, &v) in cur.iter().enumerate() {
                        n0 = _mm512_fmadd_ps(_mm512_set1_ps(*at.add(i * k + kk)), v, n0);
                    }
                    _mm512_storeu_ps(p0, n0);
                    kk += 1;
                }
                if t + 1 < tiles {
                    cur = ratio(t + 1, next);
                }
            }
        }
    }

    /// [`tiles`] on two adjacent panels at once: `M` rows × two 16-lane vectors (panel 0 in
    /// lane group 0, panel 1 in lane group 1), so each broadcast of `W` feeds two multiply-adds.
    /// Panel 1's `b` and `num` start `k·PANEL` after panel 0's, its `x` `xs` after. Every entry
    /// sees the same operations in the same order as in [`tiles`].
    ///
    /// The divider is the kernel's narrowest unit (a 16-lane division holds it about as long as
    /// ten cycles of multiply-adds, so a tile's `2·M` divisions take half the time of its
    /// multiply-adds). They are spread through the previous tile's numerator pass: division `j`
    /// of tile t + 1 follows the `j`-th twelfth of tile t's numerator steps (unrolled, each
    /// division in its own register), so the divider works beside the multiply-adds instead of
    /// in one burst that the numerator pass waits for.
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `a` holds `tiles·M·k` values; `x` and `x + xs` hold
    /// `tiles·M·PANEL`; `b` and `num` hold `2·k·PANEL`; `M ≤ 6`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    pub(super) unsafe fn pair_tiles<const M: usize>(
        a: *const f32,
        k: usize,
        b: *const f32,
        x: *const f32,
        xs: usize,
        tiles: usize,
        eps: f32,
        num: *mut f32,
    ) {
        const { assert!(M <= 6) };
        if tiles == 0 {
            return;
        }
        // SAFETY: the caller's bounds (tile `t` reads rows t·M .. (t+1)·M of `a` and of both
        // panels of `x`).
        unsafe {
            let epsv = _mm512_set1_ps(eps);
            let ks = k * PANEL;
            let pairs = k / 2;
            let product = |t: usize| {
                let at = a.add(t * M * k);
                let mut acc = [[_mm512_setzero_ps(); 2]; M];
                for kk in 0..k {
                    let b0 = _mm512_loadu_ps(b.add(kk * PANEL));
                    let b1 = _mm512_loadu_ps(b.add(ks + kk * PANEL));
                    for (i, v) in acc.iter_mut().enumerate() {
                        let w = _mm512_set1_ps(*at.add(i * k + kk));
                        v[0] = _mm512_fmadd_ps(w, b0, v[0]);
                        v[1] = _mm512_fmadd_ps(w, b1, v[1]);
                    }
                }
                acc
            };
            let ratio = |t: usize, mut acc: [[__m512; 2]; M]| {
                let xt = x.add(t * M * PANEL);
                for (i, v) in acc.iter_mut().enumerate() {
                    for (h, vh) in v.iter_mut().enumerate() {
                        let d = _mm512_max_ps(*vh, epsv);
                        *vh = _mm512_div_ps(_mm512_loadu_ps(xt.add(h * xs + i * PANEL)), d);
                    }
                }
                acc
            };
            let mut cur = ratio(0, product(0));
            for t in 0..tiles {
                let more = t + 1 < tiles;
                let mut next = if more { product(t + 1) } else { cur };
                let at = a.add(t * M * k);
                // tile t + 1's rows of `x` (read only when `more`)
                let xn = x.wrapping_add((t + 1) * M * PANEL);
                // numerator steps (two rows of `num` each) up to pair `end`
                let mut q = 0;
                macro_rules! steps_to {
                    ($end:expr) => {
                        while q < $end {
                            let kk = 2 * q;
                            let p: [*mut f32; 2] =
                                std::array::from_fn(|r| num.add((kk + r) * PANEL));
                            let mut n: [[__m512; 2]; 2] = std::array::from_fn(|r| {
                                [_mm512_loadu_ps(p[r]), _mm512_loadu_ps(p[r].add(ks))]
                            });
                            for (i, v) in cur.iter().enumerate() {
                                let ai = at.add(i * k + kk);
                                for (r, nr) in n.iter_mut().enumerate() {
                                    let w = _mm512_set1_ps(*ai.add(r));
                                    nr[0] = _mm512_fmadd_ps(w, v[0], nr[0]);
                                    nr[1] = _mm512_fmadd_ps(w, v[1], nr[1]);
                                }
                            }
                            for r in 0..2 {
                                _mm512_storeu_ps(p[r], n[r][0]);
                                _mm512_storeu_ps(p[r].add(ks), n[r][1]);
                            }
                            q += 1;
                        }
                    };
                }
                // division j of tile t + 1 (row j / 2, panel j % 2) after the j-th share of steps
                macro_rules! share {
                    ($($j:literal)*) => {$(
                        if $j < 2 * M {
                            steps_to!(($j + 1) * pairs / (2 * M));
                            if more {
                                if let Some(v) = next.get_mut($j / 2) {
                                    let d = _mm512_max_ps(v[$j % 2], epsv);
                                    let xv = _mm512_loadu_ps(xn.add(($j % 2) * xs + ($j / 2) * PANEL));
                                    v[$j % 2] = _mm512_div_ps(xv, d);
                                }
                            }
                        }
                    )*};
                }
                share!(0 1 2 3 4 5 6 7 8 9 10 11);
                steps_to!(pairs);
                if 2 * pairs < k {
                    let kk = 2 * pairs;
                    let p0 = num.add(kk * PANEL);
                    let mut n = [_mm512_loadu_ps(p0), _mm512_loadu_ps(p0.add(ks))];
                    for (i, v) in cur.iter().enumerate() {
                        let w = _mm512_set1_ps(*at.add(i * k + kk));
                        n[0] = _mm512_fmadd_ps(w, v[0], n[0]);
                        n[1] = _mm512_fmadd_ps(w, v[1], n[1]);
                    }
                    _mm512_storeu_ps(p0, n[0]);
                    _mm512_storeu_ps(p0.add(ks), n[1]);
                }
                if more {
                    cur = next;
                }
            }
        }
    }
}

/// `m` (`rows×cols`, row-major) as panels `[cols/PANEL][rows][PANEL]`, zero-padded.
fn to_panels(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let np = cols.div_ceil(PANEL);
    let mut out = vec![0.0f32; np * rows * PANEL];
    for r in 0..rows {
        for c in 0..cols {
            out[(c / PANEL) * rows * PANEL + r * PANEL + c % PANEL] = m[r * cols + c];
        }
    }
    out
}

/// `mᵀ` (`cols×rows` row-major) as panels `[rows/PANEL][cols][PANEL]`, zero-padded.
fn transposed_panels(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let np = rows.div_ceil(PANEL);
    let mut out = vec![0.0f32; np * cols * PANEL];
    for r in 0..rows {
        for c in 0..cols {
            out[(r / PANEL) * cols * PANEL + c * PANEL + r % PANEL] = m[r * cols + c];
        }
    }
    out
}

/// Panels `[n/PANEL][k][PANEL]` back to a row-major `k×n` matrix (`transpose == false`) or
/// its transpose `n×k` (`transpose == true`).
fn from_panels(p: &[f32], k: usize, n: usize, out: &mut [f32], transpose: bool) {
    for c in 0..n {
        let base = (c / PANEL) * k * PANEL + c % PANEL;
        for r in 0..k {
            let v = p[base + r * PANEL];
            if transpose {
                out[c * k + r] = v;
            } else {
                out[r * n + c] = v;
            }
        }
    }
}

/// A panel `p` (`k×PANEL`, its first `valid` columns real) written out transposed as `valid`
/// rows of `k` (`rows`, row-major), and the sum of each of its `k` rows over the valid
/// columns, in ascending column order (`sums`).
fn panel_out(p: &[f32], k: usize, valid: usize, rows: &mut [f32], sums: &mut [f32]) {
    for (r, s) in sums.iter_mut().enumerate().take(k) {
        let mut acc = 0.0f32;
        for (j, &v) in p[r * PANEL..r * PANEL + valid].iter().enumerate() {
            rows[j * k + r] = v;
            acc += v;
        }
        *s = acc;
    }
}

/// `out[r] = Σ_b parts[b][r]` over the panels `b` in ascending order: the row sums of a factor
/// from its per-panel partial sums (one fixed order whatever the thread count).
fn combine(parts: &[f32], k: usize, out: &mut [f32]) {
    out.fill(0.0);
    for p in parts.chunks_exact(k) {
        for (o, &v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
}

/// Per-panel partial row sums of a `k×n` matrix held as panels (as [`panel_out`] gives them).
fn panel_sums(p: &[f32], k: usize, n: usize) -> Vec<f32> {
    let np = n.div_ceil(PANEL);
    let mut parts = vec![0.0f32; np * k];
    let mut scratch = vec![0.0f32; PANEL * k];
    for (b, (pp, sums)) in p
        .chunks_exact(k * PANEL)
        .zip(parts.chunks_exact_mut(k))
        .enumerate()
    {
        let valid = (n - b * PANEL).min(PANEL);
        panel_out(pp, k, valid, &mut scratch, sums);
    }
    parts
}

/// The multiplicative step on one panel `p` (`k×PANEL`, its first `valid` columns real):
/// `v ← v·(num/(den_k + l1 + l2·v))` (a zero denominator becomes `eps`), then entries below
/// `tiny` set to 0 when `floor`; rows with `free[k] == false` are left alone. The same
/// arithmetic as the general engine's update for γ = 1.
#[allow(clippy::too_many_arguments)]
fn apply_panel(
    p: &mut [f32],
    num: &[f32],
    den: &[f32],
    free: &[bool],
    valid: usize,
    (l1, l2): (f32, f32),
    eps: f32,
    tiny: f32,
    floor: bool,
) {
    for (r, &d0) in den.iter().enumerate() {
        if !free[r] {
            continue;
        }
        let row = &mut p[r * PANEL..r * PANEL + valid];
        for (v, &n) in row.iter_mut().zip(&num[r * PANEL..r * PANEL + valid]) {
            let d = d0 + l1 + l2 * *v;
            let d = if d == 0.0 { eps } else { d };
            let nv = *v * (n / d);
            *v = if floor && nv < tiny { 0.0 } else { nv };
        }
    }
}

/// One half-update (of `W` on `Xᵀ ≈ Hᵀ·Wᵀ`, or of `H` on `X ≈ W·H`): each task takes one panel
/// of the updated factor, accumulates its numerator against the fixed factor `fixed` (row-major,
/// `inner × k`), applies the step with the denominator `den`, and writes the panel's rows and
/// row sums back.
struct Half {
    k: usize,
    /// Rows of the fixed factor (the inner dimension of the products).
    inner: usize,
    kern: Kern,
    eps: f32,
    tiny: f32,
    /// (l1, l2) of the updated factor.
    reg: (f32, f32),
    /// Set entries below `tiny` to 0 (the `H` update, as the general engine does).
    floor: bool,
}

impl Half {
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        fixed: &[f32],
        den: &[f32],
        free: &[bool],
        panels: &mut [f32],
        x_panels: &[f32],
        num: &mut [f32],
        rows: &mut [f32],
        parts: &mut [f32],
    ) {
        let k = self.k;
        // two panels per task: the AVX-512 kernel takes them in one pass (`ratio_pair`)
        panels
            .par_chunks_mut(2 * k * PANEL)
            .zip(x_panels.par_chunks(2 * self.inner * PANEL))
            .zip(num.par_chunks_mut(2 * k * PANEL))
            .zip(rows.par_chunks_mut(2 * PANEL * k))
            .zip(parts.par_chunks_mut(2 * k))
            .for_each(|((((p, xp), np), out_rows), sums)| {
                let _ftz = FlushSubnormals::new(true);
                np.fill(0.0);
                if p.len() == 2 * k * PANEL {
                    ratio_pair(self.kern, fixed, k, p, xp, self.inner, self.eps, np);
                } else {
                    ratio_panel(self.kern, fixed, k, p, xp, self.inner, self.eps, np);
                }
                for (((p, np), out_rows), sums) in p
                    .chunks_exact_mut(k * PANEL)
                    .zip(np.chunks_exact(k * PANEL))
                    .zip(out_rows.chunks_mut(PANEL * k))
                    .zip(sums.chunks_exact_mut(k))
                {
                    let valid = out_rows.len() / k;
                    apply_panel(
                        p, np, den, free, valid, self.reg, self.eps, self.tiny, self.floor,
                    );
                    panel_out(p, k, valid, out_rows, sums);
                }
            });
    }
}

/// The KL f32 engine: factors held as panels, one task per panel.
pub(crate) struct KlEngine {
    f: usize,
    t: usize,
    k: usize,
    /// `H` as panels `[T/16][K][16]`.
    hp: Vec<f32>,
    /// `X` as panels `[T/16][F][16]`.
    xp: Vec<f32>,
    /// `Wᵀ` as panels `[F/16][K][16]`.
    wtp: Vec<f32>,
    /// `Xᵀ` as panels `[F/16][T][16]`.
    xtp: Vec<f32>,
    /// `W`, F×K row-major: the broadcast operand of the H update.
    w: Vec<f32>,
    /// `Hᵀ`, T×K row-major: the broadcast operand of the W update.
    ht: Vec<f32>,
    num_h: Vec<f32>,
    num_w: Vec<f32>,
    /// Row sums of `H` (`H·1`, the W update's denominator) and column sums of `W` (`Wᵀ·1`),
    /// and their per-panel parts as the last update left them.
    hsum: Vec<f32>,
    wsum: Vec<f32>,
    hpart: Vec<f32>,
    wpart: Vec<f32>,
    free_w: Vec<bool>,
    all_rows: Vec<bool>,
    reg: (f32, f32, f32, f32),
    eps: f32,
    tiny: f32,
    kern: Kern,
    div: Divergence,
    part: Vec<f64>,
}

impl KlEngine {
    /// Copies `x` (F×T), `w` (F×K) and `h` (K×T) into panels. The kernel is the one for `level`
    /// (clamped to this CPU; [`crate::simd::level`] in a fit; [`Kern::for_level`]): the same
    /// bytes whichever it is.
    pub(crate) fn new(
        params: &NmfParams,
        x: &[f32],
        f: usize,
        t: usize,
        w: &[f32],
        h: &[f32],
        free_w: Vec<bool>,
        level: Level,
    ) -> Result<Self> {
        let k = params.rank;
        debug_assert_eq!(params.beta, 1.0);
        let (l1w, l1h, l2w, l2h) = params.regularization(f, t);
        let mut ht = vec![0.0f32; t * k];
        for r in 0..k {
            for c in 0..t {
                ht[c * k + r] = h[r * t + c];
            }
        }
        let (npt, npf) = (t.div_ceil(PANEL), f.div_ceil(PANEL));
        let (hp, wtp) = (to_panels(h, k, t), transposed_panels(w, f, k));
        Ok(KlEngine {
            f,
            t,
            k,
            hpart: panel_sums(&hp, k, t),
            wpart: panel_sums(&wtp, k, f),
            hp,
            xp: to_panels(x, f, t),
            wtp,
            xtp: transposed_panels(x, f, t),
            w: w.to_vec(),
            ht,
            num_h: vec![0.0; npt * k * PANEL],
            num_w: vec![0.0; npf * k * PANEL],
            hsum: vec![0.0; k],
            wsum: vec![0.0; k],
            free_w,
            all_rows: vec![true; k],
            reg: (l1w as f32, l1h as f32, l2w as f32, l2h as f32),
            eps: EPSILON as f32,
            tiny: f64::EPSILON as f32,
            kern: Kern::for_level(level),
            div: Divergence::new(1.0, params.loss_eps)?,
            part: vec![0.0; npt],
        })
    }

    /// The factors, written back as `W` (F×K) and `H` (K×T).
    pub(crate) fn write_back(&self, w: &mut [f32], h: &mut [f32]) {
        w.copy_from_slice(&self.w);
        from_panels(&self.hp, self.k, self.t, h, false);
    }

    /// The divergence the losses are measured in.
    pub(crate) fn divergence(&self) -> Divergence {
        self.div
    }
}

impl Solver for KlEngine {
    fn update_w(&mut self) {
        let (f, t, k) = (self.f, self.t, self.k);
        combine(&self.hpart, k, &mut self.hsum);
        let half = Half {
            k,
            inner: t,
            kern: self.kern,
            eps: self.eps,
            tiny: self.tiny,
            reg: (self.reg.0, self.reg.2),
            floor: false,
        };
        half.run(
            &self.ht,
            &self.hsum,
            &self.free_w,
            &mut self.wtp,
            &self.xtp,
            &mut self.num_w,
            &mut self.w,
            &mut self.wpart,
        );
        debug_assert_eq!(self.w.len(), f * k);
    }

    fn update_h(&mut self) {
        let (f, t, k) = (self.f, self.t, self.k);
        combine(&self.wpart, k, &mut self.wsum);
        for s in self.wsum.iter_mut() {
            if *s == 0.0 {
                *s = 1.0;
            }
        }
        let half = Half {
            k,
            inner: f,
            kern: self.kern,
            eps: self.eps,
            tiny: self.tiny,
            reg: (self.reg.1, self.reg.3),
            floor: true,
        };
        half.run(
            &self.w,
            &self.wsum,
            &self.all_rows,
            &mut self.hp,
            &self.xp,
            &mut self.num_h,
            &mut self.ht,
            &mut self.hpart,
        );
        debug_assert_eq!(self.ht.len(), t * k);
    }

    fn loss_sum(&mut self) -> f64 {
        let (f, t, k, kern) = (self.f, self.t, self.k, self.kern);
        let (w, div) = (&self.w, self.div);
        self.hp
            .par_chunks(k * PANEL)
            .zip(self.xp.par_chunks(f * PANEL))
            .zip(self.part.par_iter_mut())
            .enumerate()
            .for_each(|(blk, ((hp, xp), part))| {
                // W·H in f32 as the updates see it (subnormal products flushed, as there)
                let _ftz = FlushSubnormals::new(true);
                let valid = (t - blk * PANEL).min(PANEL);
                let mut s = 0.0f64;
                let mut wh = [0.0f32; MR * PANEL];
                for r0 in (0..f).step_by(MR) {
                    let rows = MR.min(f - r0);
                    wh_rows(kern, &w[r0 * k..], k, hp, rows, &mut wh);
                    for r in 0..rows {
                        for j in 0..valid {
                            let x = xp[(r0 + r) * PANEL + j] as f64;
                            s += div.value(x, wh[r * PANEL + j] as f64);
                        }
                    }
                }
                *part = s;
            });
        self.part.iter().sum()
    }
}

#[cfg(test)]
#[path = "kl_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "kl_timing.rs"]
mod timing;
