//! The element types classical NMF runs in: f32 (fast path) and f64 (references, fixtures).

use crate::linalg::{gemm, gemm64};
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Sub};

/// A floating-point element type for [`crate::nmf`]: implemented for `f32` and `f64` only.
///
/// Carries the few operations the multiplicative updates need plus a row-major GEMM
/// (`crate::linalg::gemm` / `gemm64`).
pub trait Float:
    Copy
    + Send
    + Sync
    + Debug
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
    + MulAssign
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Name as NumPy spells it (`"float32"`, `"float64"`).
    const NAME: &'static str;
    /// Conversion from f64 (rounding for f32).
    fn from_f64(v: f64) -> Self;
    /// Exact widening to f64.
    fn to_f64(self) -> f64;
    /// `self^e`.
    fn powf(self, e: Self) -> Self;
    /// Is neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// `C (m×n) ← [C +] op(A)·op(B)`, row-major, as [`crate::linalg::gemm`].
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        c: &mut [Self],
        a: &[Self],
        b: &[Self],
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
        acc: bool,
    );
}

macro_rules! impl_float {
    ($t:ty, $name:literal, $gemm:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            fn gemm(
                c: &mut [Self],
                a: &[Self],
                b: &[Self],
                m: usize,
                k: usize,
                n: usize,
                ta: bool,
                tb: bool,
                acc: bool,
            ) {
                $gemm(c, a, b, m, k, n, ta, tb, acc)
            }
        }
    };
}

impl_float!(f32, "float32", gemm);
impl_float!(f64, "float64", gemm64);
