//! The networks' kernels: small matrix products and the fused element-wise passes of the sine
//! layers, written once and compiled per SIMD [`Level`](crate::simd::Level).
//!
//! The networks are narrow (h = 16…64) and evaluated over blocks of [`ROWS`] coordinates, so the
//! products are `[ROWS × in]·[in × h]` with the weights in L1: register-tiled loops run them near
//! the multiply-add peak without packing, and the bias, sine, cosine and output-layer passes
//! follow on data still in cache. At the AVX2 level the 6 × 16 tile is written in assembly
//! ([`x86`]), so that a portable build (baseline x86-64, the level chosen at run time) runs the
//! same code as one built for the CPU it runs on; at the AVX-512 level the tiles are intrinsics
//! (`x86::avx512`: 6 rows × 64 columns, or 12 × 32 for a transposed A, whose rows then stream
//! less of B past L1; 12 × 16 and a masked last vector for the rest).
//!
//! Every output element of a product is accumulated in the order of the inner dimension with
//! fused multiply-adds, and every dot product over 16 fixed lanes combined in a fixed tree, so the
//! bits do not depend on the tile shape or the vector width: the scalar level is an exact twin of
//! the vector ones (tested).
//!
//! Subnormal operands and results are flushed to zero (FTZ/DAZ) for the duration of each
//! product, on every level alike: on x86 a subnormal costs a microcode assist per operation,
//! and an activation refit whose `W·H` products underflowed (templates near 1e-29 times small
//! activations) ran 20× slower in them.

use crate::fastmath::sin_cos_checked;
use crate::simd::{simd_fn, Level};

#[cfg(target_arch = "x86_64")]
#[path = "kernels_x86.rs"]
mod x86;

/// Coordinates per block of the row-blocked forward and backward passes.
pub(crate) const ROWS: usize = 96;

/// Rows of the register tile.
const MR: usize = 6;

/// `C[r, 0..NC] (=|+=) Σ_p A(r, p)·B[p, 0..NC]` for `MR2` rows, with `A(r, p) = a[p·lda + r]`
/// when `TRANS` (the tile's rows side by side for each `p`: a transposed A as stored) and
/// `A(r, p) = a[r·lda + p]` otherwise. Each element starts from C (`acc`), from `bias[j]` (when
/// `bias` is not null) or from 0, then takes one fused multiply-add per `p`, in order.
///
/// # Safety
/// Every index touched must be in bounds (checked by [`gemm_tiles`]).
#[inline(always)]
unsafe fn tile<const MR2: usize, const NC: usize, const TRANS: bool>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
    bias: *const f32,
) {
    let mut t = [[0.0f32; NC]; MR2];
    if acc {
        for (r, row) in t.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = *c.add(r * ldc + j);
            }
        }
    } else if !bias.is_null() {
        for row in t.iter_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = *bias.add(j);
            }
        }
    }
    // one pointer per row (base + index addressing) for a row-major A
    let rows: [*const f32; MR2] = std::array::from_fn(|r| a.add(r * lda));
    let mut bp = b;
    for p in 0..k {
        let mut bv = [0.0f32; NC];
        for (j, v) in bv.iter_mut().enumerate() {
            *v = *bp.add(j);
        }
        for (r, row) in t.iter_mut().enumerate() {
            let av = if TRANS {
                *a.add(p * lda + r)
            } else {
                *rows[r].add(p)
            };
            for (v, &bj) in row.iter_mut().zip(&bv) {
                *v = av.mul_add(bj, *v);
            }
        }
        bp = bp.add(ldb);
    }
    for (r, row) in t.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            *c.add(r * ldc + j) = v;
        }
    }
}

/// The full tile `tile::<MR2, NC, TRANS>`, or with `ASM` (only where the CPU has AVX2 and FMA)
/// its assembly twin where there is one (6 × 16), which gives the same bits.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn full_tile<const MR2: usize, const NC: usize, const TRANS: bool, const ASM: bool>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    acc: bool,
    bias: *const f32,
) {
    #[cfg(target_arch = "x86_64")]
    if ASM && MR2 == 6 && NC == 16 {
        // SAFETY: `ASM` is set only by the AVX2+FMA entry (`gemm_dispatch`), and the tile's
        // bounds are the caller's (MR2 = 6 rows, NC = 16 columns).
        return unsafe { x86::tile_6x16::<TRANS>(k, a, lda, b, ldb, c, ldc, acc, bias) };
    }
    tile::<MR2, NC, TRANS>(k, a, lda, b, ldb, c, ldc, acc, bias)
}

/// All column panels of one group of `MR2` rows: panels of `NC` columns, then 8, 4 and 1.
#[inline(always)]
unsafe fn row_group<const MR2: usize, const NC: usize, const TRANS: bool, const ASM: bool>(
    n: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    acc: bool,
    bias: *const f32,
) {
    let col = |j: usize| {
        if bias.is_null() {
            bias
        } else {
            bias.add(j)
        }
    };
    let mut j = 0;
    while j + NC <= n {
        full_tile::<MR2, NC, TRANS, ASM>(k, a, lda, b.add(j), n, c.add(j), n, acc, col(j));
        j += NC;
    }
    if NC > 8 && j + 8 <= n {
        tile::<MR2, 8, TRANS>(k, a, lda, b.add(j), n, c.add(j), n, acc, col(j));
        j += 8;
    }
    if NC > 4 && j + 4 <= n {
        tile::<MR2, 4, TRANS>(k, a, lda, b.add(j), n, c.add(j), n, acc, col(j));
        j += 4;
    }
    while j < n {
        tile::<MR2, 1, TRANS>(k, a, lda, b.add(j), n, c.add(j), n, acc, col(j));
        j += 1;
    }
}

/// Every group of rows of `C (m×n) (=|+=) A·B`.
#[inline(always)]
unsafe fn row_groups<const NC: usize, const TRANS: bool, const ASM: bool>(
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    acc: bool,
    bias: *const f32,
) {
    // A(i, p) at a[p·m + i] (TRANS, stored k×m) or a[i·k + p]
    let (lda, row_step) = if TRANS { (m, 1) } else { (k, k) };
    let mut i = 0;
    while i + MR <= m {
        row_group::<MR, NC, TRANS, ASM>(n, k, a.add(i * row_step), lda, b, c.add(i * n), acc, bias);
        i += MR;
    }
    let (a, c) = (a.add(i * row_step), c.add(i * n));
    match m - i {
        0 => {}
        1 => row_group::<1, NC, TRANS, ASM>(n, k, a, lda, b, c, acc, bias),
        2 => row_group::<2, NC, TRANS, ASM>(n, k, a, lda, b, c, acc, bias),
        3 => row_group::<3, NC, TRANS, ASM>(n, k, a, lda, b, c, acc, bias),
        4 => row_group::<4, NC, TRANS, ASM>(n, k, a, lda, b, c, acc, bias),
        _ => row_group::<5, NC, TRANS, ASM>(n, k, a, lda, b, c, acc, bias),
    }
}

/// The raw pointers of a product's operands once their lengths are checked against the shape
/// (`None`: nothing to compute), shared by every level's entry.
///
/// # Panics
/// When a slice is shorter than the shape says.
#[inline(always)]
#[track_caller]
#[allow(clippy::type_complexity)]
fn checked(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    bias: Option<&[f32]>,
) -> Option<(*const f32, *const f32, *mut f32, *const f32)> {
    if m == 0 || n == 0 {
        return None;
    }
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    assert!(bias.is_none_or(|v| v.len() >= n));
    let bias = bias.map_or(std::ptr::null(), |v| v.as_ptr());
    Some((a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), bias))
}

/// `C (m×n) (=|+=) A·B` (row-major C and B) with A row-major `m×k` (`ta = false`) or stored
/// `k×m` (`ta = true`). Without `acc`, C starts from `bias` (one row of n) when given. `ASM`
/// (the assembly tile) only where the CPU has AVX2 and FMA.
///
/// # Safety
/// With `ASM`, the CPU must have AVX2 and FMA (the bounds are checked here, by [`checked`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_tiles<const NC: usize, const ASM: bool>(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: bool,
    b: &[f32],
    c: &mut [f32],
    acc: bool,
    bias: Option<&[f32]>,
) {
    let Some((ap, bp, cp, bias)) = checked(m, n, k, a, b, c, bias) else {
        return;
    };
    // SAFETY: `checked` bounds every index the tiles touch: rows < m, columns < n, inner
    // index < k.
    unsafe {
        if ta {
            row_groups::<NC, true, ASM>(m, n, k, ap, bp, cp, acc, bias)
        } else {
            row_groups::<NC, false, ASM>(m, n, k, ap, bp, cp, acc, bias)
        }
    }
}

/// `C (m×n) (=|+=) A·B`: A row-major `m×k` (`ta = false`) or stored `k×m` (`ta = true`), B
/// row-major `k×n`, C row-major `m×n`. Each element of C is accumulated in order of the inner index
/// with fused multiply-adds (bit-identical at every level).
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub(crate) fn gemm(
    level: Level,
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    acc: bool,
) {
    gemm_dispatch(level, c, a, b, None, m, k, n, ta, acc);
}

/// `C (m×n) = bias + A·B` with A row-major `m×k` and `bias` one row of `n` (a linear layer).
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub(crate) fn gemm_bias(
    level: Level,
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    m: usize,
    k: usize,
    n: usize,
) {
    gemm_dispatch(level, c, a, b, Some(bias), m, k, n, false, false);
}

#[allow(clippy::too_many_arguments)]
fn gemm_dispatch(
    level: Level,
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    acc: bool,
) {
    // subnormals flushed on every level (module docs): a subnormal costs an assist per operation
    let _ftz = crate::nmf::float::FlushSubnormals::new(true);
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn v3(
        c: &mut [f32],
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        acc: bool,
    ) {
        // SAFETY: this function runs only where the CPU has AVX2 and FMA.
        unsafe { gemm_tiles::<16, true>(m, n, k, a, ta, b, c, acc, bias) }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn v4(
        c: &mut [f32],
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        acc: bool,
    ) {
        let Some((ap, bp, cp, bias)) = checked(m, n, k, a, b, c, bias) else {
            return;
        };
        // SAFETY: this function runs only where the CPU has AVX-512, and `checked` bounds every
        // index the tiles touch.
        unsafe {
            if ta {
                x86::avx512::gemm::<true>(m, n, k, ap, bp, cp, acc, bias)
            } else {
                x86::avx512::gemm::<false>(m, n, k, ap, bp, cp, acc, bias)
            }
        }
    }
    match crate::simd::clamp(level) {
        // SAFETY: `clamp` never returns a level the CPU lacks.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { v4(c, a, b, bias, m, k, n, ta, acc) },
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { v3(c, a, b, bias, m, k, n, ta, acc) },
        // SAFETY: the portable tile only (`ASM` false).
        _ => unsafe { gemm_tiles::<16, false>(m, n, k, a, ta, b, c, acc, bias) },
    }
}

simd_fn! {
    /// Sine activation in place: `x ← sin(ω·x)`, `c ← cos(ω·x)` (the bias is already in `x`).
    /// Returns true when some argument left the polynomial's range (training has diverged; the
    /// caller marks the values NaN).
    pub(crate) fn sine(x: &mut [f32], c: &mut [f32], omega: f32) -> bool {
        let mut bad = 0u32;
        if omega == 1.0 {
            for (xi, ci) in x.iter_mut().zip(c.iter_mut()) {
                let (s, co, oor) = sin_cos_checked(*xi);
                *xi = s;
                *ci = co;
                bad |= oor;
            }
        } else {
            for (xi, ci) in x.iter_mut().zip(c.iter_mut()) {
                let (s, co, oor) = sin_cos_checked(*xi * omega);
                *xi = s;
                *ci = co;
                bad |= oor;
            }
        }
        bad != 0
    }
}

/// `Σ_o a[o]·w[o]` over 16 fixed lanes (lane `o mod 16`) combined pairwise: the same bits
/// whatever the vector width.
#[inline(always)]
fn dot16(a: &[f32], w: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cw = w.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cw) {
        for j in 0..16 {
            lanes[j] = x[j].mul_add(y[j], lanes[j]);
        }
    }
    for (j, (x, y)) in ca.remainder().iter().zip(cw.remainder()).enumerate() {
        lanes[j] = x.mul_add(*y, lanes[j]);
    }
    let mut s = 8;
    while s > 0 {
        for j in 0..s {
            lanes[j] += lanes[j + s];
        }
        s /= 2;
    }
    lanes[0]
}

simd_fn! {
    /// Output layer: `g[n] = Σ_o a[n, o]·w[o] + b` for every row of `a` (rows of `w.len()`).
    pub(crate) fn output_rows(a: &[f32], w: &[f32], b: f32, g: &mut [f32]) {
        for (row, gn) in a.chunks_exact(w.len()).zip(g.iter_mut()) {
            *gn = dot16(row, w) + b;
        }
    }
}

/// [`output_backward_rows`] over columns `j..j + C` with `gw`'s and `gb`'s running sums in
/// registers across the rows (through memory, each row waited for the previous row's store).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_backward_cols<const C: usize>(
    a: &[f32],
    cos: &[f32],
    dg: &[f32],
    w: &[f32],
    omega: f32,
    gw: &mut [f32],
    gb: &mut [f32],
    dz: &mut [f32],
    j: usize,
) {
    let h = w.len();
    let cols = j..j + C;
    let wj: [f32; C] = w[cols.clone()].try_into().expect("C columns");
    let mut sw: [f32; C] = gw[cols.clone()].try_into().expect("C columns");
    let mut sb: [f32; C] = gb[cols.clone()].try_into().expect("C columns");
    for (n, &d) in dg.iter().enumerate() {
        let r = n * h + j..n * h + j + C;
        let (ar, zr) = (&a[r.clone()], &mut dz[r.clone()]);
        for i in 0..C {
            sw[i] = ar[i].mul_add(d, sw[i]);
        }
        if cos.is_empty() {
            for i in 0..C {
                zr[i] = d * wj[i];
                sb[i] += zr[i];
            }
        } else {
            let cr = &cos[r];
            for i in 0..C {
                zr[i] = (d * wj[i]) * (omega * cr[i]);
                sb[i] += zr[i];
            }
        }
    }
    gw[cols.clone()].copy_from_slice(&sw);
    gb[cols].copy_from_slice(&sb);
}

simd_fn! {
    /// Backward of the output layer and of the last sine layer, for one block of rows:
    /// `gw[o] += a[n, o]·dg[n]`, `dz[n, o] = (dg[n]·w[o])·(ω·cos[n, o])` (or `dg[n]·w[o]` when
    /// `cos` is empty: no sine layer), `gb[o] += dz[n, o]`; rows in order (64, 16 then 1
    /// columns at a time).
    pub(crate) fn output_backward_rows(
        a: &[f32],
        cos: &[f32],
        dg: &[f32],
        w: &[f32],
        omega: f32,
        gw: &mut [f32],
        gb: &mut [f32],
        dz: &mut [f32],
    ) {
        let h = w.len();
        let mut j = 0;
        while j + 64 <= h {
            output_backward_cols::<64>(a, cos, dg, w, omega, gw, gb, dz, j);
            j += 64;
        }
        while j + 16 <= h {
            output_backward_cols::<16>(a, cos, dg, w, omega, gw, gb, dz, j);
            j += 16;
        }
        while j < h {
            output_backward_cols::<1>(a, cos, dg, w, omega, gw, gb, dz, j);
            j += 1;
        }
    }
}

/// [`cos_scale_rows`] over columns `j..j + C`, `gb`'s running sums in registers across rows.
#[inline(always)]
fn cos_scale_cols<const C: usize>(
    dz: &mut [f32],
    cos: &[f32],
    omega: f32,
    gb: &mut [f32],
    j: usize,
) {
    let h = gb.len();
    let mut sb: [f32; C] = gb[j..j + C].try_into().expect("C columns");
    for (zr, cr) in dz.chunks_exact_mut(h).zip(cos.chunks_exact(h)) {
        let (zr, cr) = (&mut zr[j..j + C], &cr[j..j + C]);
        for i in 0..C {
            zr[i] *= omega * cr[i];
            sb[i] += zr[i];
        }
    }
    gb[j..j + C].copy_from_slice(&sb);
}

simd_fn! {
    /// `dz[n, o] *= ω·cos[n, o]` and `gb[o] += dz[n, o]` (rows in order; 64, 16 then 1
    /// columns at a time).
    pub(crate) fn cos_scale_rows(dz: &mut [f32], cos: &[f32], omega: f32, gb: &mut [f32]) {
        let h = gb.len();
        let mut j = 0;
        while j + 64 <= h {
            cos_scale_cols::<64>(dz, cos, omega, gb, j);
            j += 64;
        }
        while j + 16 <= h {
            cos_scale_cols::<16>(dz, cos, omega, gb, j);
            j += 16;
        }
        while j < h {
            cos_scale_cols::<1>(dz, cos, omega, gb, j);
            j += 1;
        }
    }
}

simd_fn! {
    /// `x[n, o] += bias[o]` over rows of `bias.len()`.
    #[cfg(test)]
    pub(crate) fn add_bias_rows(x: &mut [f32], bias: &[f32]) {
        for row in x.chunks_exact_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-1.0f32..1.0)).collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn products_flush_subnormals_at_every_level() {
        // 1e-20 · 1e-20 = 1e-40 is subnormal in f32: flushed to 0; a subnormal operand counts as
        // 0 (DAZ); normal products are untouched
        let (m, k, n) = (3, 2, 17);
        let mut a = vec![1e-20f32; m * k];
        a[k] = 1.0; // row 1: 1·b
        a[2 * k] = f32::from_bits(1); // row 2: the smallest subnormal times 1e-20, plus 1e-20·b
        let b = vec![1e-20f32; k * n];
        for level in Level::available() {
            let mut c = vec![f32::NAN; m * n];
            gemm(level, &mut c, &a, &b, m, k, n, false, false);
            assert!(c[..n].iter().all(|&v| v == 0.0), "{level}: {:?}", &c[..n]);
            assert!(
                c[n..2 * n].iter().all(|&v| v == 1e-20),
                "{level}: {:?}",
                &c[n..2 * n]
            );
            assert!(
                c[2 * n..].iter().all(|&v| v == 0.0),
                "{level}: {:?}",
                &c[2 * n..]
            );
        }
        // and the caller's mode is restored
        #[cfg(target_arch = "x86_64")]
        {
            #[allow(deprecated)]
            // SAFETY: reads this thread's MXCSR.
            let csr = unsafe { std::arch::x86_64::_mm_getcsr() };
            assert_eq!(csr & 0x8040, 0, "FTZ/DAZ left on");
        }
    }

    #[test]
    fn products_match_f64_and_are_identical_at_every_level() {
        // sizes at and around the tile and panel edges
        for &(m, k, n) in &[
            (1, 1, 1),
            (6, 64, 64),
            (7, 20, 16),
            (13, 5, 33),
            (96, 64, 64),
            (101, 17, 10),
            (64, 101, 64),
            (7, 300, 9),
            // the 6 × 16 assembly tile: k = 0, 1 and odd (the unrolled loop's tail), ragged
            // rows and columns around whole tiles
            (6, 1, 16),
            (12, 0, 32),
            (19, 3, 50),
            (25, 2, 80),
            (18, 9, 47),
            // the AVX-512 tiles: 64-, 32- and 16-column panels and a masked rest, 6- and
            // 12-row groups and their ragged ends
            (25, 7, 127),
            (13, 3, 113),
            (23, 5, 48),
            (1, 4, 200),
            (30, 2, 15),
        ] {
            for ta in [false, true] {
                for acc in [false, true] {
                    let a = rand_vec(m * k, 1);
                    let b = rand_vec(k * n, 2);
                    let c0 = rand_vec(m * n, 3);
                    let mut want = vec![0.0f64; m * n];
                    for i in 0..m {
                        for j in 0..n {
                            let mut s = if acc { c0[i * n + j] as f64 } else { 0.0 };
                            for p in 0..k {
                                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                                s += av as f64 * b[p * n + j] as f64;
                            }
                            want[i * n + j] = s;
                        }
                    }
                    let mut scalar = c0.clone();
                    gemm(Level::Scalar, &mut scalar, &a, &b, m, k, n, ta, acc);
                    for (g, w) in scalar.iter().zip(&want) {
                        // k terms of magnitude ≤ 1, f32 rounding per step
                        assert!(
                            (*g as f64 - w).abs() <= 1e-6 * (k as f64 + 1.0),
                            "{g} vs {w}"
                        );
                    }
                    for l in Level::available() {
                        let mut c = c0.clone();
                        gemm(l, &mut c, &a, &b, m, k, n, ta, acc);
                        assert_eq!(bits(&c), bits(&scalar), "{l} {m}x{k}x{n} ta={ta}");
                    }
                    if !ta && !acc {
                        // bias + A·B: the bias is where each sum starts
                        let bias = rand_vec(n, 4);
                        let mut want_b = c0.clone();
                        gemm(Level::Scalar, &mut want_b, &a, &b, m, k, n, false, false);
                        let mut cb = c0.clone();
                        gemm_bias(Level::Scalar, &mut cb, &a, &b, &bias, m, k, n);
                        for (i, (g, w)) in cb.iter().zip(&want_b).enumerate() {
                            let w = *w as f64 + bias[i % n] as f64;
                            assert!((*g as f64 - w).abs() <= 1e-6 * (k as f64 + 2.0));
                        }
                        for l in Level::available() {
                            let mut c = c0.clone();
                            gemm_bias(l, &mut c, &a, &b, &bias, m, k, n);
                            assert_eq!(bits(&c), bits(&cb), "bias {l} {m}x{k}x{n}");
                        }
                    }
                }
            }
        }
    }

    /// GFLOP/s of the networks' product shapes at every level (`cargo test --release -p innmf
    /// gemm_shape_rates -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn gemm_shape_rates() {
        for &(name, m, k, n, ta, acc) in &[
            ("forward 96x64x64", 96, 64, 64, false, false),
            ("weight grad 64x96x64 (A^T)", 64, 96, 64, true, true),
            ("features grad 28x96x64 (A^T)", 28, 96, 64, true, true),
            ("hybrid forward 96x16x16", 96, 16, 16, false, false),
            ("hybrid weight grad 16x96x16", 16, 96, 16, true, true),
        ] {
            let a = rand_vec(m * k, 1);
            let b = rand_vec(k * n, 2);
            let mut c = rand_vec(m * n, 3);
            for l in Level::available() {
                let reps = 200_000_000 / (2 * m * k * n);
                let t = std::time::Instant::now();
                for _ in 0..reps {
                    gemm(l, &mut c, &a, &b, m, k, n, ta, acc);
                    std::hint::black_box(&mut c);
                }
                let s = t.elapsed().as_secs_f64();
                println!(
                    "{name:32} {l:7} {:7.1} GFLOP/s",
                    (2 * m * k * n * reps) as f64 / s / 1e9
                );
            }
        }
    }

    #[test]
    fn fused_passes_are_identical_at_every_level() {
        let (rows, h) = (37, 24);
        let bias = rand_vec(h, 4);
        let w = rand_vec(h, 5);
        let x0: Vec<f32> = rand_vec(rows * h, 6).iter().map(|v| v * 20.0).collect();
        let dg = rand_vec(rows, 7);
        let run = |l: Level| {
            let mut x = x0.clone();
            add_bias_rows(l, &mut x, &bias);
            let mut c = vec![0.0; rows * h];
            assert!(!sine(l, &mut x, &mut c, 1.5));
            let mut g = vec![0.0; rows];
            output_rows(l, &x, &w, 0.25, &mut g);
            let (mut gw, mut gb, mut dz) = (vec![0.1; h], vec![0.2; h], vec![0.0; rows * h]);
            output_backward_rows(l, &x, &c, &dg, &w, 1.5, &mut gw, &mut gb, &mut dz);
            cos_scale_rows(l, &mut dz, &c, 1.5, &mut gb);
            add_bias_rows(l, &mut dz, &bias);
            [x, c, g, gw, gb, dz].map(|v| bits(&v))
        };
        let want = run(Level::Scalar);
        for l in Level::available() {
            assert_eq!(run(l), want, "{l}");
        }
        // and the scalar level computes what it says
        let mut x = x0.clone();
        add_bias_rows(Level::Scalar, &mut x, &bias);
        let mut c = vec![0.0; rows * h];
        sine(Level::Scalar, &mut x, &mut c, 1.5);
        for i in 0..rows * h {
            // the argument as the kernel rounds it, then the polynomial's own error (< 1.5e-7)
            let v = ((x0[i] + bias[i % h]) * 1.5) as f64;
            assert!((x[i] as f64 - v.sin()).abs() < 2e-7 && (c[i] as f64 - v.cos()).abs() < 2e-7);
        }
        let mut g = vec![0.0; rows];
        output_rows(Level::Scalar, &x, &w, 0.25, &mut g);
        for n in 0..rows {
            let want: f64 = (0..h)
                .map(|o| x[n * h + o] as f64 * w[o] as f64)
                .sum::<f64>()
                + 0.25;
            assert!((g[n] as f64 - want).abs() < 1e-5);
        }
    }

    /// The column-blocked backward kernels give the bits of the plain row-by-row loops, on
    /// widths that take every column path (64, 16 and single columns), with and without cos.
    #[test]
    fn column_blocked_backward_kernels_match_the_row_loops() {
        for (rows, h) in [(37, 24), (9, 83), (5, 64), (3, 7)] {
            let a = rand_vec(rows * h, 11);
            let cos = rand_vec(rows * h, 12);
            let dg = rand_vec(rows, 13);
            let w = rand_vec(h, 14);
            let omega = 1.5f32;
            for with_cos in [true, false] {
                let c: &[f32] = if with_cos { &cos } else { &[] };
                // the row loops
                let (mut gw, mut gb, mut dz) =
                    (rand_vec(h, 15), rand_vec(h, 16), vec![0.0; rows * h]);
                for n in 0..rows {
                    for o in 0..h {
                        gw[o] = a[n * h + o].mul_add(dg[n], gw[o]);
                        let z = if with_cos {
                            (dg[n] * w[o]) * (omega * c[n * h + o])
                        } else {
                            dg[n] * w[o]
                        };
                        dz[n * h + o] = z;
                        gb[o] += z;
                    }
                }
                let mut dz2 = dz.clone();
                let mut gb2 = gb.clone();
                for n in 0..rows {
                    for o in 0..h {
                        dz2[n * h + o] *= omega * cos[n * h + o];
                        gb2[o] += dz2[n * h + o];
                    }
                }
                for l in Level::available() {
                    let (mut lgw, mut lgb, mut ldz) =
                        (rand_vec(h, 15), rand_vec(h, 16), vec![0.0; rows * h]);
                    output_backward_rows(l, &a, c, &dg, &w, omega, &mut lgw, &mut lgb, &mut ldz);
                    assert_eq!(
                        (bits(&lgw), bits(&lgb), bits(&ldz)),
                        (bits(&gw), bits(&gb), bits(&dz)),
                        "{l} h {h}"
                    );
                    cos_scale_rows(l, &mut ldz, &cos, omega, &mut lgb);
                    assert_eq!(
                        (bits(&ldz), bits(&lgb)),
                        (bits(&dz2), bits(&gb2)),
                        "{l} h {h}"
                    );
                }
            }
        }
    }

    #[test]
    fn out_of_range_preactivations_are_reported() {
        let mut x = vec![0.5f32, 1e5];
        let mut c = vec![0.0f32; 2];
        for l in Level::available() {
            assert!(sine(l, &mut x.clone(), &mut c, 1.0));
            assert!(sine(l, &mut x.clone(), &mut c, 0.5));
        }
        x[1] = 3.0;
        assert!(!sine(Level::Scalar, &mut x, &mut c, 1.0));
    }
}
