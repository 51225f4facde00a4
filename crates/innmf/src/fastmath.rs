//! Branch-free f32 sine/cosine and logarithm that the compiler vectorizes.
//!
//! The sine layers of the coordinate networks evaluate millions of sines per training step; the
//! standard library's scalar `sin` costs about 4 ns each, as much as all the matrix products.
//! Here the argument is reduced to `r = x − q·π/2` with two fused multiply-adds (π/2 split into
//! the f32 nearest to it and the rest; the first step is exact, see [`sin_cos_checked`]) and
//! minimax polynomials of the Cephes `sinf`/`cosf` kind are evaluated on |r| ≤ π/4, with the
//! quadrant chosen by selects and sign-bit flips. Maximum absolute error against f64 is below
//! 1.5e-7 on |x| ≤ [`FAST_RANGE`] (tested). Beyond it [`sin_cos_slice`] falls back to the
//! standard library, and the layer operations mark their output NaN (such pre-activations mean
//! training diverged; the fit loop reports it), so accuracy never silently degrades.
//!
//! Every function here is `#[inline(always)]` arithmetic on `f32` with fused multiply-adds
//! written out, so a kernel that calls it computes the same bits at every SIMD level
//! ([`crate::simd`]).

/// Largest |x| handled by the polynomial path (the quadrant index stays below 2¹²); beyond it
/// the slice functions use `std`.
pub const FAST_RANGE: f32 = 6400.0;

const FRAC_2_PI: f32 = std::f32::consts::FRAC_2_PI;
// π/2 = PIO2_HI + PIO2_LO + 1.8e-15: the f32 nearest to π/2 and the f32 nearest to the rest.
const PIO2_HI: f32 = f32::from_bits(0x3fc9_0fdb);
const PIO2_LO: f32 = f32::from_bits(0xb33b_bd2e);
const S1: f32 = -1.666_665_5e-1;
const S2: f32 = 8.332_161e-3;
const S3: f32 = -1.951_529_6e-4;
const C1: f32 = 4.166_664_6e-2;
const C2: f32 = -1.388_731_6e-3;
const C3: f32 = 2.443_315_7e-5;
// Adding and subtracting 1.5·2^23 rounds to the nearest integer for |v| < 2^22.
const ROUND_MAGIC: f32 = 12_582_912.0;
// |q| < 4096 (|x| < 6433) is the range the callers accept.
const Q_LIMIT: i32 = 4096;

/// Sine and cosine of `x`, and a nonzero flag when |x| is beyond the accepted range (about
/// 6433 ≥ [`FAST_RANGE`]; the values are then inaccurate). Branch-free, so loops vectorize.
///
/// Reduction: `q = round(x·2/π)`, `r₁ = x − q·PIO2_HI` in one fused multiply-add, exact: `PIO2_HI`
/// is a multiple of 2⁻²³ in [1, 2), so `q·PIO2_HI` and (for |x| ≥ 1) `x` are multiples of 2⁻²³
/// and their difference, below 1 in magnitude, has at most 23 significant bits; for |x| < 1 either
/// q = 0 or x ≥ 0.78 and the same holds with 2⁻²⁴. Then `r = r₁ − q·PIO2_LO`, whose only error is
/// its final rounding plus |q|·1.8e-15.
#[inline(always)]
pub fn sin_cos_checked(x: f32) -> (f32, f32, u32) {
    let shifted = x.mul_add(FRAC_2_PI, ROUND_MAGIC);
    let q = shifted - ROUND_MAGIC;
    // the rounded integer sits in the low mantissa bits of `shifted` (no float→int conversion,
    // whose NaN/range checks would stop vectorization)
    let qi = (shifted.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = (-q).mul_add(PIO2_HI, x);
    let r = (-q).mul_add(PIO2_LO, r);
    let z = r * r;
    let s = (r * z).mul_add(z.mul_add(z.mul_add(S3, S2), S1), r);
    let c = (z * z).mul_add(z.mul_add(z.mul_add(C3, C2), C1), (-0.5f32).mul_add(z, 1.0));
    let swap = (qi & 1) != 0;
    let sv = if swap { c } else { s };
    let cv = if swap { s } else { c };
    let sin_flip = ((qi as u32) << 30) & 0x8000_0000;
    let cos_flip = ((qi.wrapping_add(1) as u32) << 30) & 0x8000_0000;
    let out = (qi.wrapping_add(Q_LIMIT) as u32) >> 13;
    (
        f32::from_bits(sv.to_bits() ^ sin_flip),
        f32::from_bits(cv.to_bits() ^ cos_flip),
        out,
    )
}

/// Sine and cosine of `x` (accurate for |x| ≤ [`FAST_RANGE`]; see [`sin_cos_checked`]).
#[inline(always)]
pub fn sin_cos(x: f32) -> (f32, f32) {
    let (s, c, _) = sin_cos_checked(x);
    (s, c)
}

/// `s[i] = sin(x[i])`, `c[i] = cos(x[i])`.
#[track_caller]
pub fn sin_cos_slice(x: &[f32], s: &mut [f32], c: &mut [f32]) {
    assert!(s.len() == x.len() && c.len() == x.len());
    let mut out_of_range = 0u32;
    for ((xi, si), ci) in x.iter().zip(s.iter_mut()).zip(c.iter_mut()) {
        let (a, b, o) = sin_cos_checked(*xi);
        out_of_range |= o;
        *si = a;
        *ci = b;
    }
    if out_of_range != 0 || x.iter().any(|v| v.is_nan()) {
        for ((xi, si), ci) in x.iter().zip(s.iter_mut()).zip(c.iter_mut()) {
            *si = xi.sin();
            *ci = xi.cos();
        }
    }
}

/// In place: `x[i] ← sin(ω·x[i])` and `c[i] = cos(ω·x[i])`; NaN everywhere when some `ω·x[i]`
/// is beyond the accepted range.
#[track_caller]
pub fn sin_cos_inplace_scaled(x: &mut [f32], c: &mut [f32], omega: f32) {
    assert!(c.len() == x.len());
    let mut out_of_range = 0u32;
    for (xi, ci) in x.iter_mut().zip(c.iter_mut()) {
        let (a, b, o) = sin_cos_checked(*xi * omega);
        out_of_range |= o;
        *xi = a;
        *ci = b;
    }
    if out_of_range != 0 {
        mark_diverged(x, c);
    }
}

#[cold]
fn mark_diverged(x: &mut [f32], c: &mut [f32]) {
    // Mark the values as NaN so the fit reports divergence instead of
    // continuing with inaccurate sines. Such pre-activations mean training has blown up.
    x.iter_mut().for_each(|v| *v = f32::NAN);
    c.iter_mut().for_each(|v| *v = f32::NAN);
}

#[allow(clippy::excessive_precision)] // Cephes constants, kept verbatim
/// Natural logarithm for positive normal f32 inputs (Cephes `logf` polynomial, branch-free so it
/// vectorizes; max relative error ≈ 1e-7). Zero, negative, subnormal and non-finite inputs are
/// not supported: callers guarantee `x ≥ ε > 1e-30`.
#[inline(always)]
pub fn ln_pos(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    // bring m into [√½, √2)
    let big = (m > std::f32::consts::SQRT_2) as i32;
    e += big;
    let m = m * (1.0 - 0.5 * big as f32);
    let f = m - 1.0;
    let z = f * f;
    let p = ((((((((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f
        - 1.242_014_1e-1)
        * f
        + 1.424_932_3e-1)
        * f
        - 1.666_805_8e-1)
        * f
        + 2.000_071_4e-1)
        * f
        - 2.499_999_4e-1)
        * f
        + 3.333_333_1e-1)
        * f
        * z;
    let ef = e as f32;
    f + (p - 2.121_944_4e-4 * ef - 0.5 * z) + 0.693_359_4 * ef
}

// e^r on |r| ≤ ln2/2: the Cephes `expf` polynomial (with the range reduction below, about one
// ulp).
#[allow(clippy::excessive_precision)] // Cephes constants, kept verbatim
const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    5.000_000_1e-1,
];
// ln 2 = LN2_HI + LN2_LO (LN2_HI has 12 significant bits, so n·LN2_HI is exact for |n| < 2¹²).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `eˣ`, branch-free (so loops vectorize), for every f32 `x` but NaN: the argument is clamped
/// to [−104, 89] (below, the result is 0 or the nearest subnormal; above, +∞), reduced to
/// `r = x − n·ln 2` with |r| ≤ ln2/2, and the polynomial's value scaled by 2ⁿ in two normal
/// factors (so subnormal results are rounded once). Relative error below 3e-7 where the result
/// is normal (tested against f64).
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    let x = x.clamp(-104.0, 89.0);
    let shifted = x.mul_add(std::f32::consts::LOG2_E, ROUND_MAGIC);
    let n = shifted - ROUND_MAGIC;
    let ni = (shifted.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let z = r * r;
    let mut p = EXP_P[0];
    for c in &EXP_P[1..] {
        p = p.mul_add(r, *c);
    }
    let y = p.mul_add(z, r) + 1.0;
    // 2ⁿ = 2^n1 · 2^n2 with both factors normal (n ∈ [−150, 129])
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127) as u32) << 23);
    y * s1 * s2
}

/// `ln(1 + e)` for `e` in [0, 1]: `ln(u)·e/(u − 1)` with `u = 1 + e` rounded (the factor undoes
/// the rounding of `u`), `e` itself where `u` rounds to 1. Relative error below 5e-7 (tested).
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let u = 1.0 + e;
    let d = u - 1.0;
    let safe_d = if d == 0.0 { 1.0 } else { d };
    let l = ln_pos(u) * (e / safe_d);
    if d == 0.0 {
        e
    } else {
        l
    }
}

/// Numerically safe softplus `ln(1 + eˣ)` with PyTorch's threshold (x > 20 returns x):
/// `max(x, 0) + ln(1 + e^−|x|)`, branch-free ([`exp_fast`], a vectorizable `ln`), so the loops
/// over a network's outputs vectorize. Relative error below 1e-6 against f64 (tested); NaN stays
/// NaN.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    let v = x.max(0.0) + ln_1p_unit(exp_fast(-x.abs()));
    if x > 20.0 || x.is_nan() {
        x
    } else {
        v
    }
}

/// Derivative of softplus: the logistic sigmoid `1/(1 + e⁻ˣ)` (1 for x > 20, matching the
/// threshold), branch-free; 0 below x ≈ −88.7, where e⁻ˣ overflows (the exact value is
/// subnormal there). Relative error below 1e-6 elsewhere (tested).
#[inline(always)]
pub fn softplus_grad(x: f32) -> f32 {
    let v = 1.0 / (1.0 + exp_fast(-x));
    if x > 20.0 {
        1.0
    } else if x.is_nan() {
        x
    } else {
        v
    }
}

/// Inverse of softplus, `ln(eʸ − 1)`, for y > 0.
#[inline]
pub fn softplus_inv(y: f64) -> f64 {
    if y > 20.0 {
        y
    } else {
        y.exp_m1().ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_cos_matches_f64_reference() {
        let mut worst = 0.0f64;
        let n = 400_001;
        for i in 0..n {
            let x = -6400.0 + 12800.0 * (i as f64) / (n - 1) as f64;
            let xf = x as f32;
            let (s, c) = sin_cos(xf);
            let xd = xf as f64;
            worst = worst.max((s as f64 - xd.sin()).abs());
            worst = worst.max((c as f64 - xd.cos()).abs());
        }
        assert!(worst < 1.5e-7, "max error {worst}");
    }

    #[test]
    fn ln_matches_std() {
        let mut worst = 0.0f64;
        for i in 0..100_000 {
            let x = 1e-9f32 * 1.0003f32.powi(i);
            if !x.is_finite() {
                break;
            }
            let got = ln_pos(x) as f64;
            let want = (x as f64).ln();
            worst = worst.max((got - want).abs() / want.abs().max(1.0));
        }
        assert!(worst < 3e-7, "{worst}");
    }

    #[test]
    fn huge_preactivations_become_nan_not_garbage() {
        let mut x = [1e6f32, 0.5];
        let mut c = [0.0f32; 2];
        sin_cos_inplace_scaled(&mut x, &mut c, 1.0);
        assert!(x[0].is_nan() && x[1].is_nan());
        let mut y = [0.5f32, -2.0];
        sin_cos_inplace_scaled(&mut y, &mut c, 2.0);
        assert!((y[1] - (-4.0f32).sin()).abs() < 1e-6 && (c[0] - 1.0f32.cos()).abs() < 1e-6);
    }

    #[test]
    fn slices_fall_back_outside_the_fast_range() {
        let x = [1.0e6f32, 0.5, -3.0];
        let (mut s, mut c) = ([0.0; 3], [0.0; 3]);
        sin_cos_slice(&x, &mut s, &mut c);
        for i in 0..3 {
            assert!((s[i] - x[i].sin()).abs() < 1e-6);
            assert!((c[i] - x[i].cos()).abs() < 1e-6);
        }
    }

    #[test]
    fn exp_and_softplus_match_f64() {
        let (mut e_worst, mut sp_worst, mut sg_worst) = (0.0f64, 0.0f64, 0.0f64);
        let n = 200_001;
        for i in 0..n {
            let x = (-110.0 + 140.0 * (i as f64) / (n - 1) as f64) as f32;
            let xd = x as f64;
            let want = xd.exp();
            let got = exp_fast(x) as f64;
            // normal results: relative; subnormal ones: within one subnormal step
            if want >= f32::MIN_POSITIVE as f64 && want <= f32::MAX as f64 {
                e_worst = e_worst.max((got - want).abs() / want);
            } else if want < f32::MIN_POSITIVE as f64 {
                assert!(
                    (got - want).abs() <= 1.5e-45,
                    "exp({x}) = {got}, want {want}"
                );
            }
            let want = if xd > 20.0 { xd } else { xd.exp().ln_1p() };
            let got = softplus(x) as f64;
            if want >= f32::MIN_POSITIVE as f64 {
                sp_worst = sp_worst.max((got - want).abs() / want);
            } else {
                assert!(
                    (got - want).abs() <= 1.5e-45,
                    "softplus({x}) = {got}, want {want}"
                );
            }
            let want = if xd > 20.0 {
                1.0
            } else {
                1.0 / (1.0 + (-xd).exp())
            };
            let got = softplus_grad(x) as f64;
            if want >= f32::MIN_POSITIVE as f64 {
                sg_worst = sg_worst.max((got - want).abs() / want);
            } else {
                // below the normal range: e⁻ˣ overflows (as the libm version did), giving 0
                assert!(got <= want + 1.5e-45, "softplus'({x}) = {got}, want {want}");
            }
        }
        assert!(e_worst < 3e-7, "exp: max relative error {e_worst}");
        assert!(sp_worst < 1e-6, "softplus: max relative error {sp_worst}");
        assert!(sg_worst < 1e-6, "softplus': max relative error {sg_worst}");
        assert_eq!(exp_fast(200.0), f32::INFINITY);
        assert_eq!(exp_fast(-200.0), 0.0);
        assert!(softplus(f32::NAN).is_nan() && softplus_grad(f32::NAN).is_nan());
        assert_eq!(softplus(f32::INFINITY), f32::INFINITY);
        assert_eq!(softplus(f32::NEG_INFINITY), 0.0);
        assert_eq!(softplus_grad(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn softplus_and_its_inverse() {
        for &y in &[1e-6, 0.1, 1.0, 5.0, 30.0] {
            let x = softplus_inv(y);
            assert!(((softplus(x as f32) as f64) - y).abs() < 1e-5 * y.max(1.0));
        }
        assert_eq!(softplus(25.0), 25.0);
        assert!((softplus_grad(0.0) - 0.5).abs() < 1e-7);
    }
}
