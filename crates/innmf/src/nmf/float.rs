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
    /// Whether the hot loops flush subnormals to zero (FTZ/DAZ) in this precision: on for f32,
    /// where products of tiny factor entries would otherwise fall into slow subnormal
    /// arithmetic; off for f64, which stays bit-faithful to the references.
    const FLUSH_SUBNORMALS: bool;
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
    /// The slice as `f32` when `Self` is `f32` (the fused KL path), else `None`.
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// The slice as mutable `f32` when `Self` is `f32`, else `None`.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
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
    ($t:ty, $name:literal, $gemm:path, $ftz:literal, $as32:expr, $as32mut:expr) => {
        impl Float for $t {
            const FLUSH_SUBNORMALS: bool = $ftz;
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
            #[inline(always)]
            fn as_f32(s: &[Self]) -> Option<&[f32]> {
                $as32(s)
            }
            #[inline(always)]
            fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]> {
                $as32mut(s)
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

impl_float!(f32, "float32", gemm, true, Some, Some);
impl_float!(f64, "float64", gemm64, false, |_| None, |_| None);

/// Sets flush-to-zero and denormals-are-zero on the current thread while alive (x86-64 only;
/// a no-op elsewhere or when `on` is false), restoring the previous mode on drop.
pub(crate) struct FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    saved: Option<u32>,
}

impl FlushSubnormals {
    #[inline]
    pub(crate) fn new(on: bool) -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if !on {
                return FlushSubnormals { saved: None };
            }
            // SAFETY: reading and writing MXCSR only changes this thread's SSE rounding modes;
            // the FTZ (bit 15) and DAZ (bit 6) flags are supported by every x86-64 CPU.
            #[allow(deprecated)]
            unsafe {
                use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
                let saved = _mm_getcsr();
                _mm_setcsr(saved | 0x8040);
                FlushSubnormals { saved: Some(saved) }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = on;
            FlushSubnormals {}
        }
    }
}

impl Drop for FlushSubnormals {
    #[inline]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if let Some(saved) = self.saved {
            // SAFETY: restores the mode read in `new` on the same thread.
            #[allow(deprecated)]
            unsafe {
                std::arch::x86_64::_mm_setcsr(saved)
            };
        }
    }
}
