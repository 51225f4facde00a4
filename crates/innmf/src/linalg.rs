//! Thin wrappers over faer's matrix product for row-major f32 slices.
//!
//! faer picks its AVX2/AVX-512 kernels at run time; its assembly leaves the upper halves of the
//! vector registers dirty, and in a build for the baseline x86-64 the SSE-encoded code that runs
//! next would pay a state-transition penalty on every vector instruction (DESIGN.md measured
//! 3.5× on such code), so every product ends with a `vzeroupper` ([`crate::simd::zero_upper`]).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// `C (m×n) ← [C +] op(A)·op(B)` with every matrix a row-major slice.
///
/// `A` is stored `m×k` (or `k×m` when `ta`), `B` is stored `k×n` (or `n×k` when `tb`).
/// Runs on the calling thread: callers parallelize over independent products.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn gemm(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    let a = if ta {
        MatRef::from_row_major_slice(&a[..m * k], k, m).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..m * k], m, k)
    };
    let b = if tb {
        MatRef::from_row_major_slice(&b[..k * n], n, k).transpose()
    } else {
        MatRef::from_row_major_slice(&b[..k * n], k, n)
    };
    let c = MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    matmul(c, accum, a, b, 1.0f32, Par::Seq);
    crate::simd::zero_upper();
}

/// f64 version of [`gemm`] (used by references and classical NMF).
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn gemm64(
    c: &mut [f64],
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    let a = if ta {
        MatRef::from_row_major_slice(&a[..m * k], k, m).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..m * k], m, k)
    };
    let b = if tb {
        MatRef::from_row_major_slice(&b[..k * n], n, k).transpose()
    } else {
        MatRef::from_row_major_slice(&b[..k * n], k, n)
    };
    let c = MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    matmul(c, accum, a, b, 1.0f64, Par::Seq);
    crate::simd::zero_upper();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    let av = if ta { a[l * m + i] } else { a[i * k + l] };
                    let bv = if tb { b[j * k + l] } else { b[l * n + j] };
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_naive() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 11) as f64) - 5.0).collect();
        let b: Vec<f64> = (0..k * n)
            .map(|i| ((i * 17 % 7) as f64) * 0.5 - 1.0)
            .collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let want = naive(&a, &b, m, k, n, ta, tb);
                let mut c = vec![1.0; m * n];
                gemm64(&mut c, &a, &b, m, k, n, ta, tb, true);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - (y + 1.0)).abs() < 1e-12);
                }
                let af: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                let bf: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                let mut cf = vec![0.0f32; m * n];
                gemm(&mut cf, &af, &bf, m, k, n, ta, tb, false);
                for (x, y) in cf.iter().zip(&want) {
                    assert!((*x as f64 - y).abs() < 1e-4);
                }
            }
        }
    }
}
