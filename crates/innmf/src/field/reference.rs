//! Slow, plain f64 reference of the implicit factor, layer by layer.
//!
//! Each layer is a pair of functions (forward, backward) written from the formulas with plain
//! loops, no batching and no fast math. Tests check every backward against finite differences in
//! f64, then check the fast f32 path ([`super::MlpWorkspace`]) against this reference.

use super::Mlp;

/// `y[n, o] = Σ_i x[n, i]·w[i, o] + b[o]`.
pub fn linear_forward(x: &[f64], w: &[f64], b: &[f64], n: usize, fan_in: usize) -> Vec<f64> {
    let fan_out = b.len();
    let mut y = vec![0.0; n * fan_out];
    for r in 0..n {
        for o in 0..fan_out {
            let mut acc = b[o];
            for i in 0..fan_in {
                acc += x[r * fan_in + i] * w[i * fan_out + o];
            }
            y[r * fan_out + o] = acc;
        }
    }
    y
}

/// Backward of [`linear_forward`]: returns `(dx, dw, db)`.
pub fn linear_backward(
    x: &[f64],
    w: &[f64],
    dy: &[f64],
    n: usize,
    fan_in: usize,
    fan_out: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; n * fan_in];
    let mut dw = vec![0.0; fan_in * fan_out];
    let mut db = vec![0.0; fan_out];
    for r in 0..n {
        for o in 0..fan_out {
            let g = dy[r * fan_out + o];
            db[o] += g;
            for i in 0..fan_in {
                dw[i * fan_out + o] += x[r * fan_in + i] * g;
                dx[r * fan_in + i] += w[i * fan_out + o] * g;
            }
        }
    }
    (dx, dw, db)
}

/// `y = sin(ω·x)`.
pub fn sine_forward(x: &[f64], omega: f64) -> Vec<f64> {
    x.iter().map(|&v| (omega * v).sin()).collect()
}

/// Backward of [`sine_forward`]: `dx = dy·ω·cos(ω·x)`.
pub fn sine_backward(x: &[f64], dy: &[f64], omega: f64) -> Vec<f64> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| g * omega * (omega * v).cos())
        .collect()
}

/// `y = ln(1 + eˣ)` (threshold 20 as in PyTorch).
pub fn softplus_forward(x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| if v > 20.0 { v } else { v.exp().ln_1p() })
        .collect()
}

/// Backward of [`softplus_forward`].
pub fn softplus_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| if v > 20.0 { g } else { g / (1.0 + (-v).exp()) })
        .collect()
}

/// `y = exp(x)` ([`super::OutputMap::Exp`], clamped at its maximum).
pub fn exp_forward(x: &[f64]) -> Vec<f64> {
    let m = super::mlp::EXP_MAX as f64;
    x.iter().map(|&v| v.min(m).exp()).collect()
}

/// Backward of [`exp_forward`].
pub fn exp_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    let m = super::mlp::EXP_MAX as f64;
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| if v > m { 0.0 } else { g * v.exp() })
        .collect()
}

/// Fourier features of one component in f64 (`[N, 2J]`, cosines then sines).
pub fn fourier_features(u: &[f64], bias: &[f64]) -> Vec<f64> {
    let j = bias.len();
    let mut out = vec![0.0; u.len() * 2 * j];
    for (r, &x) in u.iter().enumerate() {
        for l in 0..j {
            let arg = std::f64::consts::PI * (1u64 << l) as f64 * x + bias[l];
            out[r * 2 * j + l] = arg.cos();
            out[r * 2 * j + j + l] = arg.sin();
        }
    }
    out
}

/// One component of an [`Mlp`] in f64: forward values at `coords` and, given ∂loss/∂values,
/// the gradient of its parameter block. `params` is the component's block (same layout as the
/// fast path).
pub fn component_forward_backward(
    mlp: &Mlp,
    k: usize,
    params: &[f64],
    coords: &[f64],
    dvalues: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let cfg = &mlp.config;
    let n = coords.len();
    let u: Vec<f64> = coords.iter().map(|&c| cfg.axis.map(c)).collect();
    let j = cfg.n_features;
    let bias: Vec<f64> = mlp.fourier_bias[k * j..(k + 1) * j]
        .iter()
        .map(|&b| b as f64)
        .collect();
    let omega = cfg.omega as f64;
    let shapes = cfg.layer_shapes();
    let mut offs = Vec::new();
    let mut off = 0;
    for &(i, o) in &shapes {
        offs.push((off, off + i * o));
        off += i * o + o;
    }
    let wb = |l: usize| {
        let (w, b) = offs[l];
        let (_, o) = shapes[l];
        (&params[w..b], &params[b..b + o])
    };
    // forward, keeping every layer's input and pre-activation
    let mut inputs = vec![fourier_features(&u, &bias)];
    let mut pre = Vec::new();
    let (w0, b0) = wb(0);
    let z0 = linear_forward(&inputs[0], w0, b0, n, shapes[0].0);
    inputs.push(z0);
    for l in 1..=cfg.depth {
        let (w, b) = wb(l);
        let z = linear_forward(&inputs[l], w, b, n, shapes[l].0);
        inputs.push(sine_forward(&z, omega));
        pre.push(z);
    }
    let last = cfg.depth + 1;
    let (wo, bo) = wb(last);
    let g = linear_forward(&inputs[last], wo, bo, n, shapes[last].0);
    let (values, dg) = match cfg.output {
        super::OutputMap::Softplus => (softplus_forward(&g), softplus_backward(&g, dvalues)),
        super::OutputMap::Exp => (exp_forward(&g), exp_backward(&g, dvalues)),
    };
    // backward
    let mut grad = vec![0.0; params.len()];
    let (mut da, dw, db) = linear_backward(&inputs[last], wo, &dg, n, shapes[last].0, 1);
    let put = |grad: &mut Vec<f64>, l: usize, dw: &[f64], db: &[f64]| {
        let (w, b) = offs[l];
        grad[w..b].copy_from_slice(dw);
        grad[b..b + db.len()].copy_from_slice(db);
    };
    put(&mut grad, last, &dw, &db);
    for l in (1..=cfg.depth).rev() {
        let dz = sine_backward(&pre[l - 1], &da, omega);
        let (w, _) = wb(l);
        let (dx, dw, db) = linear_backward(&inputs[l], w, &dz, n, shapes[l].0, shapes[l].1);
        put(&mut grad, l, &dw, &db);
        da = dx;
    }
    let (_, dw, db) = linear_backward(&inputs[0], w0, &da, n, shapes[0].0, shapes[0].1);
    put(&mut grad, 0, &dw, &db);
    (values, grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Axis, MlpConfig};
    use rand::SeedableRng;

    fn rand_vec(n: usize, seed: u64) -> Vec<f64> {
        use rand::Rng;
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-1.0..1.0)).collect()
    }

    /// Central differences of `f` along every input, dotted with `dy`.
    fn numeric_grad(x: &[f64], dy: &[f64], f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
        let h = 1e-6;
        (0..x.len())
            .map(|i| {
                let mut xp = x.to_vec();
                let mut xm = x.to_vec();
                xp[i] += h;
                xm[i] -= h;
                let (yp, ym) = (f(&xp), f(&xm));
                yp.iter()
                    .zip(&ym)
                    .zip(dy)
                    .map(|((a, b), g)| (a - b) / (2.0 * h) * g)
                    .sum()
            })
            .collect()
    }

    fn assert_close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "index {i}: analytic {x} vs numeric {y}"
            );
        }
    }

    #[test]
    fn linear_layer_gradients_match_finite_differences() {
        let (n, fi, fo) = (4, 3, 5);
        let x = rand_vec(n * fi, 1);
        let w = rand_vec(fi * fo, 2);
        let b = rand_vec(fo, 3);
        let dy = rand_vec(n * fo, 4);
        let (dx, dw, db) = linear_backward(&x, &w, &dy, n, fi, fo);
        assert_close(
            &dx,
            &numeric_grad(&x, &dy, |x| linear_forward(x, &w, &b, n, fi)),
            1e-7,
        );
        assert_close(
            &dw,
            &numeric_grad(&w, &dy, |w| linear_forward(&x, w, &b, n, fi)),
            1e-7,
        );
        assert_close(
            &db,
            &numeric_grad(&b, &dy, |b| linear_forward(&x, &w, b, n, fi)),
            1e-7,
        );
    }

    #[test]
    fn sine_and_softplus_gradients_match_finite_differences() {
        let x: Vec<f64> = rand_vec(50, 5).iter().map(|v| v * 30.0).collect();
        let dy = rand_vec(50, 6);
        for omega in [1.0, 30.0] {
            let an = sine_backward(&x, &dy, omega);
            assert_close(
                &an,
                &numeric_grad(&x, &dy, |x| sine_forward(x, omega)),
                1e-5,
            );
        }
        let an = softplus_backward(&x, &dy);
        assert_close(&an, &numeric_grad(&x, &dy, softplus_forward), 1e-7);
        let x: Vec<f64> = rand_vec(50, 9).iter().map(|v| v * 5.0).collect();
        let an = exp_backward(&x, &dy);
        assert_close(&an, &numeric_grad(&x, &dy, exp_forward), 1e-7);
    }

    #[test]
    fn whole_network_gradient_matches_finite_differences() {
        for output in [
            super::super::OutputMap::Softplus,
            super::super::OutputMap::Exp,
        ] {
            whole_network_gradient(output);
        }
    }

    fn whole_network_gradient(output: super::super::OutputMap) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let cfg = MlpConfig {
            components: 2,
            width: 6,
            depth: 2,
            n_features: 3,
            omega: 2.0,
            init: Default::default(),
            axis: Axis::linear(0.0, 100.0).unwrap(),
            output,
        };
        let mlp = Mlp::new(cfg, &mut rng).unwrap();
        let per = mlp.config.params_per_component();
        let coords = [3.0, 40.0, 77.5, 100.0];
        let dv = rand_vec(coords.len(), 8);
        for k in 0..2 {
            let p: Vec<f64> = mlp.params[k * per..(k + 1) * per]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let (_, g) = component_forward_backward(&mlp, k, &p, &coords, &dv);
            let num = numeric_grad(&p, &dv, |p| {
                component_forward_backward(&mlp, k, p, &coords, &dv).0
            });
            assert_close(&g, &num, 1e-6);
        }
    }
}
