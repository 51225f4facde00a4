//! Fourier feature encoding of a scalar coordinate.
//!
//! For input `u` and component `k`, with octave frequencies `2^j` and a fixed random phase
//! `b_{k,j} ~ N(0, 1)` (the paper's "random Fourier feature", frozen):
//!
//! ```text
//! γ_k(u) = [cos(π·2^0·u + b_{k,0}), …, cos(π·2^{J−1}·u + b_{k,J−1}),
//!           sin(π·2^0·u + b_{k,0}), …, sin(π·2^{J−1}·u + b_{k,J−1})]
//! ```
//!
//! cosines first, then sines, `2J` values. The features of fixed coordinates never change during
//! a fit, so they are computed once per workspace; they need no backward pass.

/// Writes `γ_k(u_n)` for every component and coordinate into `out`, laid out `[K, N, 2J]`.
///
/// `bias` is `[K, J]`. Computed in f64 and rounded, so large `2^j·u` lose no accuracy.
#[track_caller]
pub fn encode(u: &[f64], bias: &[f32], n_features: usize, out: &mut [f32]) {
    let n = u.len();
    let k = bias.len() / n_features;
    assert_eq!(out.len(), k * n * 2 * n_features);
    for c in 0..k {
        let b = &bias[c * n_features..(c + 1) * n_features];
        for (i, &x) in u.iter().enumerate() {
            let row = &mut out[(c * n + i) * 2 * n_features..(c * n + i + 1) * 2 * n_features];
            for j in 0..n_features {
                let arg = std::f64::consts::PI * (1u64 << j) as f64 * x + b[j] as f64;
                row[j] = arg.cos() as f32;
                row[n_features + j] = arg.sin() as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_cosines_then_sines_per_component() {
        let u = [0.25, -0.5];
        let bias = [0.1f32, -0.2, 0.3, 0.7, 0.0, 1.0]; // K = 2, J = 3
        let mut out = vec![0.0f32; 2 * 2 * 6];
        encode(&u, &bias, 3, &mut out);
        let pi = std::f64::consts::PI;
        // component 1, coordinate 1, feature j = 2: sin(π·4·(−0.5) + 1.0)
        let want = (pi * 4.0 * -0.5 + 1.0f64).sin();
        assert!((out[(2 + 1) * 6 + 3 + 2] as f64 - want).abs() < 1e-6);
        let want_c = (pi * 1.0 * 0.25 + 0.1f64).cos();
        assert!((out[0] as f64 - want_c).abs() < 1e-6);
    }
}
