//! The AVX2+FMA register tile of the networks' products, in assembly.
//!
//! The generic tile of [`super`] compiled for AVX2 runs near the multiply-add peak when
//! the whole crate is built for a recent CPU (LLVM's znver3 tuning keeps the row addresses in
//! registers and unrolls the inner loop), but a portable build (baseline x86-64 with the kernels
//! dispatched at run time) gets the generic tuning, which spills and runs the networks' products
//! of `innmf bench stft-fit` about 10 % slower. This tile is the same loop written out: 6 rows ×
//! 16 columns of accumulators in `ymm0`–`ymm11`, the row of B in `ymm12`–`ymm13`, the broadcast
//! element of A in `ymm14`/`ymm15`, the inner loop unrolled by two. Its code is then the same
//! whatever the build's target CPU.
//!
//! The arithmetic is the generic tile's: each element of C starts from C, the bias or 0 and takes
//! one fused multiply-add `A(r, p)·B[p, j] + C` per inner index `p`, in order (`vfmadd231ps`
//! rounds once, as `f32::mul_add`), so the bits equal every other level's (tested in
//! `kernels.rs`).

use core::arch::asm;

/// One inner index: the row of B (16 columns), then per row of A a broadcast and two FMAs.
/// `$b` is the address of B's row; `$a0`…`$a5` those of the six elements of A.
macro_rules! step {
    ($b:literal, $a0:literal, $a1:literal, $a2:literal, $a3:literal, $a4:literal, $a5:literal) => {
        concat!(
            "vmovups ymm12, ymmword ptr [",
            $b,
            "]\n",
            "vmovups ymm13, ymmword ptr [",
            $b,
            " + 32]\n",
            "vbroadcastss ymm14, dword ptr [",
            $a0,
            "]\n",
            "vfmadd231ps ymm0, ymm14, ymm12\n",
            "vfmadd231ps ymm1, ymm14, ymm13\n",
            "vbroadcastss ymm15, dword ptr [",
            $a1,
            "]\n",
            "vfmadd231ps ymm2, ymm15, ymm12\n",
            "vfmadd231ps ymm3, ymm15, ymm13\n",
            "vbroadcastss ymm14, dword ptr [",
            $a2,
            "]\n",
            "vfmadd231ps ymm4, ymm14, ymm12\n",
            "vfmadd231ps ymm5, ymm14, ymm13\n",
            "vbroadcastss ymm15, dword ptr [",
            $a3,
            "]\n",
            "vfmadd231ps ymm6, ymm15, ymm12\n",
            "vfmadd231ps ymm7, ymm15, ymm13\n",
            "vbroadcastss ymm14, dword ptr [",
            $a4,
            "]\n",
            "vfmadd231ps ymm8, ymm14, ymm12\n",
            "vfmadd231ps ymm9, ymm14, ymm13\n",
            "vbroadcastss ymm15, dword ptr [",
            $a5,
            "]\n",
            "vfmadd231ps ymm10, ymm15, ymm12\n",
            "vfmadd231ps ymm11, ymm15, ymm13\n",
        )
    };
}

/// The accumulators from the six rows of C (`{c0}`, `{c3}` = rows 0 and 3, `{ldc}` bytes apart).
macro_rules! load_c {
    () => {
        concat!(
            "vmovups ymm0, ymmword ptr [{c0}]\n",
            "vmovups ymm1, ymmword ptr [{c0} + 32]\n",
            "vmovups ymm2, ymmword ptr [{c0} + {ldc}]\n",
            "vmovups ymm3, ymmword ptr [{c0} + {ldc} + 32]\n",
            "vmovups ymm4, ymmword ptr [{c0} + 2*{ldc}]\n",
            "vmovups ymm5, ymmword ptr [{c0} + 2*{ldc} + 32]\n",
            "vmovups ymm6, ymmword ptr [{c3}]\n",
            "vmovups ymm7, ymmword ptr [{c3} + 32]\n",
            "vmovups ymm8, ymmword ptr [{c3} + {ldc}]\n",
            "vmovups ymm9, ymmword ptr [{c3} + {ldc} + 32]\n",
            "vmovups ymm10, ymmword ptr [{c3} + 2*{ldc}]\n",
            "vmovups ymm11, ymmword ptr [{c3} + 2*{ldc} + 32]\n",
        )
    };
}

/// Every row's accumulators from the bias row at `{bias}`.
macro_rules! load_bias {
    () => {
        concat!(
            "vmovups ymm0, ymmword ptr [{bias}]\n",
            "vmovups ymm1, ymmword ptr [{bias} + 32]\n",
            "vmovaps ymm2, ymm0\n",
            "vmovaps ymm3, ymm1\n",
            "vmovaps ymm4, ymm0\n",
            "vmovaps ymm5, ymm1\n",
            "vmovaps ymm6, ymm0\n",
            "vmovaps ymm7, ymm1\n",
            "vmovaps ymm8, ymm0\n",
            "vmovaps ymm9, ymm1\n",
            "vmovaps ymm10, ymm0\n",
            "vmovaps ymm11, ymm1\n",
        )
    };
}

/// Every accumulator +0.0.
macro_rules! load_zero {
    () => {
        concat!(
            "vxorps xmm0, xmm0, xmm0\n",
            "vxorps xmm1, xmm1, xmm1\n",
            "vxorps xmm2, xmm2, xmm2\n",
            "vxorps xmm3, xmm3, xmm3\n",
            "vxorps xmm4, xmm4, xmm4\n",
            "vxorps xmm5, xmm5, xmm5\n",
            "vxorps xmm6, xmm6, xmm6\n",
            "vxorps xmm7, xmm7, xmm7\n",
            "vxorps xmm8, xmm8, xmm8\n",
            "vxorps xmm9, xmm9, xmm9\n",
            "vxorps xmm10, xmm10, xmm10\n",
            "vxorps xmm11, xmm11, xmm11\n",
        )
    };
}

/// The accumulators into the six rows of C.
macro_rules! store_c {
    () => {
        concat!(
            "vmovups ymmword ptr [{c0}], ymm0\n",
            "vmovups ymmword ptr [{c0} + 32], ymm1\n",
            "vmovups ymmword ptr [{c0} + {ldc}], ymm2\n",
            "vmovups ymmword ptr [{c0} + {ldc} + 32], ymm3\n",
            "vmovups ymmword ptr [{c0} + 2*{ldc}], ymm4\n",
            "vmovups ymmword ptr [{c0} + 2*{ldc} + 32], ymm5\n",
            "vmovups ymmword ptr [{c3}], ymm6\n",
            "vmovups ymmword ptr [{c3} + 32], ymm7\n",
            "vmovups ymmword ptr [{c3} + {ldc}], ymm8\n",
            "vmovups ymmword ptr [{c3} + {ldc} + 32], ymm9\n",
            "vmovups ymmword ptr [{c3} + 2*{ldc}], ymm10\n",
            "vmovups ymmword ptr [{c3} + 2*{ldc} + 32], ymm11\n",
        )
    };
}

/// The loop over the inner index, unrolled by two, for a row-major A: the six rows' elements at
/// `{a0}`, `{a0} + {lda}`, `{a0} + 2·{lda}`, `{a3}`, … (bytes), advancing by 4 bytes per step.
macro_rules! loop_rows {
    () => {
        concat!(
            "mov {pairs}, {k}\n",
            "shr {pairs}, 1\n",
            "jz 3f\n",
            ".p2align 4\n",
            "2:\n",
            step!(
                "{b}",
                "{a0}",
                "{a0} + {lda}",
                "{a0} + 2*{lda}",
                "{a3}",
                "{a3} + {lda}",
                "{a3} + 2*{lda}"
            ),
            step!(
                "{b} + {ldb}",
                "{a0} + 4",
                "{a0} + {lda} + 4",
                "{a0} + 2*{lda} + 4",
                "{a3} + 4",
                "{a3} + {lda} + 4",
                "{a3} + 2*{lda} + 4"
            ),
            "add {a0}, 8\n",
            "add {a3}, 8\n",
            "lea {b}, [{b} + 2*{ldb}]\n",
            "dec {pairs}\n",
            "jnz 2b\n",
            "3:\n",
            "test {k}, 1\n",
            "jz 4f\n",
            step!(
                "{b}",
                "{a0}",
                "{a0} + {lda}",
                "{a0} + 2*{lda}",
                "{a3}",
                "{a3} + {lda}",
                "{a3} + 2*{lda}"
            ),
            "4:\n",
        )
    };
}

/// The same loop for a transposed A: the six rows' elements side by side at `{a0}`, advancing by
/// `{lda}` bytes per step.
macro_rules! loop_trans {
    () => {
        concat!(
            "mov {pairs}, {k}\n",
            "shr {pairs}, 1\n",
            "jz 3f\n",
            ".p2align 4\n",
            "2:\n",
            step!(
                "{b}",
                "{a0}",
                "{a0} + 4",
                "{a0} + 8",
                "{a0} + 12",
                "{a0} + 16",
                "{a0} + 20"
            ),
            step!(
                "{b} + {ldb}",
                "{a0} + {lda}",
                "{a0} + {lda} + 4",
                "{a0} + {lda} + 8",
                "{a0} + {lda} + 12",
                "{a0} + {lda} + 16",
                "{a0} + {lda} + 20"
            ),
            "lea {a0}, [{a0} + 2*{lda}]\n",
            "lea {b}, [{b} + 2*{ldb}]\n",
            "dec {pairs}\n",
            "jnz 2b\n",
            "3:\n",
            "test {k}, 1\n",
            "jz 4f\n",
            step!(
                "{b}",
                "{a0}",
                "{a0} + 4",
                "{a0} + 8",
                "{a0} + 12",
                "{a0} + 16",
                "{a0} + 20"
            ),
            "4:\n",
        )
    };
}

/// One asm block: initial accumulators, the loop, the stores. Every vector register it uses is
/// declared clobbered; it touches no stack.
macro_rules! tile_asm {
    ($init:expr, $loop:expr, $($operands:tt)*) => {
        asm!(
            $init,
            $loop,
            store_c!(),
            $($operands)*
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm12") _, out("ymm13") _, out("ymm14") _, out("ymm15") _,
            options(nostack),
        )
    };
}

/// `C[r, 0..16] (=|+=) Σ_p A(r, p)·B[p, 0..16]` for 6 rows: the AVX2 twin of
/// `kernels::tile::<6, 16, TRANS>` (same arguments, same bits).
///
/// # Safety
/// The CPU must have AVX2 and FMA, and every index touched must be in bounds: A(r, p) for
/// r < 6, p < k (`a[p·lda + r]` when `TRANS`, else `a[r·lda + p]`), `b[p·ldb + j]`,
/// `c[r·ldc + j]` and `bias[j]` (when not null and not `acc`) for j < 16.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn tile_6x16<const TRANS: bool>(
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
    const F: usize = size_of::<f32>();
    let (lda, ldb, ldc) = (lda * F, ldb * F, ldc * F);
    let c3 = c.wrapping_byte_add(3 * ldc);
    // SAFETY: the caller's bounds; the addresses below are those of A(r, p), B[p, j], C[r, j] and
    // bias[j] for the indices it names.
    unsafe {
        if TRANS {
            macro_rules! run {
                ($init:expr; $($extra:tt)*) => {
                    tile_asm!(
                        $init,
                        loop_trans!(),
                        a0 = inout(reg) a => _,
                        lda = in(reg) lda,
                        b = inout(reg) b => _,
                        ldb = in(reg) ldb,
                        k = in(reg) k,
                        pairs = out(reg) _,
                        c0 = in(reg) c,
                        c3 = in(reg) c3,
                        ldc = in(reg) ldc,
                        $($extra)*
                    )
                };
            }
            if acc {
                run!(load_c!();)
            } else if !bias.is_null() {
                run!(load_bias!(); bias = in(reg) bias,)
            } else {
                run!(load_zero!();)
            }
        } else {
            let a3 = a.wrapping_byte_add(3 * lda);
            macro_rules! run {
                ($init:expr; $($extra:tt)*) => {
                    tile_asm!(
                        $init,
                        loop_rows!(),
                        a0 = inout(reg) a => _,
                        a3 = inout(reg) a3 => _,
                        lda = in(reg) lda,
                        b = inout(reg) b => _,
                        ldb = in(reg) ldb,
                        k = in(reg) k,
                        pairs = out(reg) _,
                        c0 = in(reg) c,
                        c3 = in(reg) c3,
                        ldc = in(reg) ldc,
                        $($extra)*
                    )
                };
            }
            if acc {
                run!(load_c!();)
            } else if !bias.is_null() {
                run!(load_bias!(); bias = in(reg) bias,)
            } else {
                run!(load_zero!();)
            }
        }
    }
}

/// The AVX-512 products: register tiles of 16-wide vectors with masked edges, in intrinsics.
///
/// Panels of 64 columns run as 6 rows × 4 vectors (24 accumulators), the rest as 12 rows × 2
/// vectors, 12 × 1, and a last masked vector for the columns left over, so narrow layers (16
/// wide) use every register rather than the generic tile's half-empty 8-wide tails. With a
/// transposed A (the weight gradients `aᵀ·∂z`, where B is a block of 96 rows streamed once per
/// group of rows) every panel is 12 × 32: half as many passes over B, each over half its columns,
/// which stays in L1 (the 64 × 96 × 64 gradient went from about 120 to 158 GFLOP/s on one core
/// of an AVX-512 Xeon; `cargo test --release -p innmf gemm_shape_rates -- --ignored --nocapture`). The
/// arithmetic is the generic tile's: each element of C starts from C, the bias or 0 and takes
/// one fused multiply-add per inner index, in order, so the bits equal every other level's.
pub(super) mod avx512 {
    use std::arch::x86_64::*;

    /// Rows `r < R` of `C[r, 0..16·NV]` for one tile; the last vector's columns are those of
    /// `last` (a lane mask).
    ///
    /// # Safety
    /// AVX-512F; every index the tile names is in bounds (as in the generic tile), the last
    /// vector's only for the lanes of `last`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const R: usize, const NV: usize, const TRANS: bool>(
        k: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        acc: bool,
        bias: *const f32,
        last: __mmask16,
    ) {
        let mask = |v: usize| if v + 1 == NV { last } else { 0xffff };
        // SAFETY: the caller's bounds; masked lanes are neither read nor written.
        unsafe {
            let mut t = [[_mm512_setzero_ps(); NV]; R];
            if acc {
                for (r, row) in t.iter_mut().enumerate() {
                    for (v, x) in row.iter_mut().enumerate() {
                        *x = _mm512_maskz_loadu_ps(mask(v), c.add(r * ldc + 16 * v));
                    }
                }
            } else if !bias.is_null() {
                for v in 0..NV {
                    let bv = _mm512_maskz_loadu_ps(mask(v), bias.add(16 * v));
                    for row in t.iter_mut() {
                        row[v] = bv;
                    }
                }
            }
            let rows: [*const f32; R] = std::array::from_fn(|r| a.add(r * lda));
            let mut bp = b;
            for p in 0..k {
                let bv: [__m512; NV] =
                    std::array::from_fn(|v| _mm512_maskz_loadu_ps(mask(v), bp.add(16 * v)));
                for (r, row) in t.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(if TRANS {
                        *a.add(p * lda + r)
                    } else {
                        *rows[r].add(p)
                    });
                    for (x, &bj) in row.iter_mut().zip(&bv) {
                        *x = _mm512_fmadd_ps(av, bj, *x);
                    }
                }
                bp = bp.add(ldb);
            }
            for (r, row) in t.iter().enumerate() {
                for (v, &x) in row.iter().enumerate() {
                    _mm512_mask_storeu_ps(c.add(r * ldc + 16 * v), mask(v), x);
                }
            }
        }
    }

    /// Every row of the column panel `j0 .. j0 + 16·NV` (its last vector masked by `last`):
    /// groups of `R` rows, then one group of the rows left.
    ///
    /// # Safety
    /// As [`gemm`], for the panel's columns.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel<const R: usize, const NV: usize, const TRANS: bool>(
        m: usize,
        n: usize,
        k: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        acc: bool,
        bias: *const f32,
        j0: usize,
        last: __mmask16,
    ) {
        // A(i, p) at a[p·m + i] (TRANS, stored k×m) or a[i·k + p]
        let (lda, row_step) = if TRANS { (m, 1) } else { (k, k) };
        let bias = if bias.is_null() {
            bias
        } else {
            bias.wrapping_add(j0)
        };
        // SAFETY: the caller's bounds: rows < m, columns < n (masked beyond), inner index < k.
        unsafe {
            let (b, c) = (b.add(j0), c.add(j0));
            let mut i = 0;
            while i + R <= m {
                let (ai, ci) = (a.add(i * row_step), c.add(i * n));
                tile::<R, NV, TRANS>(k, ai, lda, b, n, ci, n, acc, bias, last);
                i += R;
            }
            let (ai, ci) = (a.add(i * row_step), c.add(i * n));
            macro_rules! rest {
                ($($r:literal)*) => {
                    match m - i {
                        $($r if $r < R => tile::<$r, NV, TRANS>(k, ai, lda, b, n, ci, n, acc, bias, last),)*
                        _ => {}
                    }
                };
            }
            rest!(1 2 3 4 5 6 7 8 9 10 11);
        }
    }

    /// `C (m×n) (=|+=) A·B` as `kernels::gemm_tiles` (same arguments, same bits).
    ///
    /// # Safety
    /// AVX-512F; `a` holds `m·k` values, `b` `k·n`, `c` `m·n`, `bias` (when not null) `n`.
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(in super::super) unsafe fn gemm<const TRANS: bool>(
        m: usize,
        n: usize,
        k: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        acc: bool,
        bias: *const f32,
    ) {
        // SAFETY: the caller's bounds; each panel stays inside columns 0..n.
        unsafe {
            let mut j = 0;
            while !TRANS && j + 64 <= n {
                panel::<6, 4, TRANS>(m, n, k, a, b, c, acc, bias, j, 0xffff);
                j += 64;
            }
            while j + 32 <= n {
                panel::<12, 2, TRANS>(m, n, k, a, b, c, acc, bias, j, 0xffff);
                j += 32;
            }
            if j + 16 <= n {
                panel::<12, 1, TRANS>(m, n, k, a, b, c, acc, bias, j, 0xffff);
                j += 16;
            }
            if j < n {
                let last = ((1u32 << (n - j)) - 1) as __mmask16;
                panel::<12, 1, TRANS>(m, n, k, a, b, c, acc, bias, j, last);
            }
        }
    }
}
