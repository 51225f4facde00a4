//! Evaluating a factor on a uniform grid and interpolating it to scattered coordinates.
//!
//! Constant-Q, NSGT and wavelet point sets give every band its own hop, so the union of their
//! frame times has tens of thousands of distinct values (every sample of a 2 s excerpt for a
//! wavelet transform whose finest scale has hop 1), and evaluating `H_k` once per distinct time
//! (arXiv 2404.04439, §3: the networks are queried at each point's coordinates) costs as much as
//! a network pass per sample. But `H_k` is a smooth function whose bandwidth is set by its
//! architecture, not by the data: its highest Fourier feature `cos(π·2^{J−1}·u + b)` has period
//! `2^{2−J}` in the normalized coordinate `u`, and the sine layers widen that by a small factor.
//! So the network is evaluated on a uniform grid of step `Δ` (a fixed number of samples per
//! period of that feature) and interpolated to the data's coordinates with `p`-point Lagrange
//! polynomials centred on each coordinate:
//!
//! ```text
//! H_k(x) ≈ Σ_{j=0}^{p−1} ℓ_j(τ)·H_k(g_{i−p/2+1+j}),   x = g_i + τ·Δ, τ ∈ [0, 1)
//! ```
//!
//! which is a fixed sparse linear map `S` (p weights per coordinate): the values are `S·H_grid`
//! and the gradient with respect to the grid values is `Sᵀ·∂L/∂H` (the weights do not depend on
//! the parameters), so the network's forward and backward passes run over the grid only. The
//! error of the interpolation falls as `Δ^p` times the p-th derivative; [`Resampler::max_error`]
//! measures it against the exact network, and the trainer checks it as it goes
//! ([`crate::model::Sampling`]).
//!
//! (Plain multiplies and adds, not `mul_add`: this code is compiled for the baseline target, where
//! a fused multiply-add is a library call; the results are the same at every SIMD level.)

use crate::error::{Error, Num, Result};
use rayon::prelude::*;

/// A uniform grid and the interpolation weights from it to a sorted set of coordinates.
#[derive(Debug, Clone)]
pub struct Resampler {
    grid: Vec<f64>,
    step: f64,
    order: usize,
    /// Per target coordinate, the first grid index of its stencil.
    start: Vec<u32>,
    /// Per target coordinate, `order` Lagrange weights.
    weights: Vec<f32>,
}

impl Resampler {
    /// Grid of spacing `step` covering `targets` (sorted, finite) with a margin of `order/2`
    /// nodes on each side; `order` is even, 2 (linear) to 16.
    pub fn new(targets: &[f64], step: f64, order: usize) -> Result<Self> {
        if targets.is_empty() {
            return Err(Error::Empty {
                what: "resampler coordinates",
            });
        }
        if !((2..=16).contains(&order) && order.is_multiple_of(2)) {
            return Err(Error::param(
                "interpolation order",
                order,
                "an even number of points from 2 to 16",
            ));
        }
        let (lo, hi) = (targets[0], targets[targets.len() - 1]);
        let span = hi - lo;
        if !(step.is_finite() && step > 0.0) {
            return Err(Error::param("grid step", step, "a finite value > 0"));
        }
        let cells = (span / step).ceil();
        if !(cells.is_finite() && cells < u32::MAX as f64 / 2.0) {
            return Err(Error::param(
                "grid step",
                step,
                format!("at most 2^31 grid points over a span of {}", Num(span)),
            ));
        }
        let half = order / 2;
        let n_grid = cells as usize + order + 1;
        let g0 = lo - half as f64 * step;
        let grid: Vec<f64> = (0..n_grid).map(|i| g0 + i as f64 * step).collect();
        let mut start = Vec::with_capacity(targets.len());
        let mut weights = Vec::with_capacity(targets.len() * order);
        let mut w = vec![0.0f64; order];
        for &x in targets {
            let s = (x - g0) / step;
            let i = (s.floor() as usize).clamp(half, n_grid - half - 1);
            let tau = s - i as f64;
            lagrange_weights(tau, order, &mut w);
            start.push((i + 1 - half) as u32);
            weights.extend(w.iter().map(|&v| v as f32));
        }
        Ok(Resampler {
            grid,
            step,
            order,
            start,
            weights,
        })
    }

    /// The grid coordinates.
    pub fn grid(&self) -> &[f64] {
        &self.grid
    }

    /// Grid spacing.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// Points per stencil.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Number of target coordinates.
    pub fn n_targets(&self) -> usize {
        self.start.len()
    }

    /// `out[k, t] = Σ_j w[t, j]·grid_values[k, start[t] + j]` for every component (`[K, G]` in,
    /// `[K, T]` out).
    #[track_caller]
    pub fn forward(&self, grid_values: &[f32], out: &mut [f32]) {
        let (g, t) = (self.grid.len(), self.n_targets());
        assert!(grid_values.len().is_multiple_of(g) && out.len() == grid_values.len() / g * t);
        let p = self.order;
        out.par_chunks_mut(t)
            .zip(grid_values.par_chunks(g))
            .for_each(|(o, v)| {
                for ((ov, &s), w) in o.iter_mut().zip(&self.start).zip(self.weights.chunks(p)) {
                    let v = &v[s as usize..s as usize + p];
                    *ov = v.iter().zip(w).fold(0.0f32, |acc, (a, b)| acc + a * b);
                }
            });
    }

    /// The transpose: `d_grid[k, start[t] + j] += w[t, j]·d_out[k, t]`, overwriting `d_grid`
    /// (`[K, T]` in, `[K, G]` out). Targets are visited in order, so the sums are deterministic.
    #[track_caller]
    pub fn backward(&self, d_out: &[f32], d_grid: &mut [f32]) {
        let (g, t) = (self.grid.len(), self.n_targets());
        assert!(d_out.len().is_multiple_of(t) && d_grid.len() == d_out.len() / t * g);
        let p = self.order;
        d_grid
            .par_chunks_mut(g)
            .zip(d_out.par_chunks(t))
            .for_each(|(dg, d)| {
                dg.fill(0.0);
                for ((&dv, &s), w) in d.iter().zip(&self.start).zip(self.weights.chunks(p)) {
                    for (x, &wj) in dg[s as usize..s as usize + p].iter_mut().zip(w) {
                        *x += wj * dv;
                    }
                }
            });
    }

    /// Largest interpolation error of the values `[K, G]` against the exact values `[K, T]`,
    /// relative to each component's largest exact value (plus 1e-30).
    #[track_caller]
    pub fn max_error(&self, grid_values: &[f32], exact: &[f32]) -> f64 {
        let mut approx = vec![0.0f32; exact.len()];
        self.forward(grid_values, &mut approx);
        let t = self.n_targets();
        approx
            .chunks(t)
            .zip(exact.chunks(t))
            .map(|(a, e)| {
                let scale = e.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs())) + 1e-30;
                a.iter()
                    .zip(e)
                    .map(|(&x, &y)| (x as f64 - y as f64).abs())
                    .fold(0.0f64, f64::max)
                    / scale
            })
            .fold(0.0f64, f64::max)
    }
}

/// Lagrange weights of the nodes `−p/2+1, …, p/2` at `τ` (exactly 1 and 0s at a node).
fn lagrange_weights(tau: f64, order: usize, w: &mut [f64]) {
    let half = order as i64 / 2;
    let node = |j: usize| (j as i64 - half + 1) as f64;
    for (j, wj) in w.iter_mut().enumerate() {
        let xj = node(j);
        let mut v = 1.0;
        for m in 0..order {
            if m != j {
                let xm = node(m);
                v *= (tau - xm) / (xj - xm);
            }
        }
        *wj = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomials_up_to_the_order_are_reproduced() {
        let targets: Vec<f64> = (0..57).map(|i| 0.013 + i as f64 * 0.0371).collect();
        for order in [2, 4, 6, 8] {
            let r = Resampler::new(&targets, 0.05, order).unwrap();
            // degree order-1 polynomial on the grid, 2 components
            let poly = |x: f64, k: usize| -> f64 {
                (0..order)
                    .map(|d| (0.3 + k as f64) * (x - 1.0).powi(d as i32))
                    .sum()
            };
            let gv: Vec<f32> = (0..2)
                .flat_map(|k| r.grid().iter().map(move |&x| poly(x, k) as f32))
                .collect();
            let mut out = vec![0.0f32; 2 * targets.len()];
            r.forward(&gv, &mut out);
            for k in 0..2 {
                for (t, &x) in targets.iter().enumerate() {
                    let want = poly(x, k);
                    assert!(
                        (out[k * targets.len() + t] as f64 - want).abs()
                            < 2e-5 * want.abs().max(1.0),
                        "order {order}: {} vs {want}",
                        out[k * targets.len() + t]
                    );
                }
            }
        }
    }

    #[test]
    fn backward_is_the_transpose_of_forward() {
        let targets: Vec<f64> = (0..40)
            .map(|i| (i as f64 * 0.7).sin() * 3.0 + 3.0)
            .collect();
        let mut targets = targets;
        targets.sort_by(f64::total_cmp);
        targets.dedup();
        let r = Resampler::new(&targets, 0.21, 6).unwrap();
        let (g, t) = (r.grid().len(), targets.len());
        let x: Vec<f32> = (0..g).map(|i| (i as f32 * 0.37).cos()).collect();
        let y: Vec<f32> = (0..t).map(|i| (i as f32 * 1.3).sin()).collect();
        let mut sx = vec![0.0f32; t];
        r.forward(&x, &mut sx);
        let mut sty = vec![0.0f32; g];
        r.backward(&y, &mut sty);
        // <S x, y> = <x, Sᵀ y>
        let a: f64 = sx.iter().zip(&y).map(|(a, b)| *a as f64 * *b as f64).sum();
        let b: f64 = x.iter().zip(&sty).map(|(a, b)| *a as f64 * *b as f64).sum();
        assert!((a - b).abs() < 1e-5 * a.abs().max(1.0), "{a} vs {b}");
    }

    #[test]
    fn error_falls_with_the_order_for_a_smooth_function() {
        // a sinusoid sampled 8 times per period: the p-point error bound is
        // (ωΔ)^p/p!·(p/2)!²-ish; check the measured error against a loose version of it
        let targets: Vec<f64> = (0..2000).map(|i| i as f64 * 0.000_5).collect();
        let omega = 2.0 * std::f64::consts::PI * 10.0;
        let step = 1.0 / (10.0 * 8.0);
        let mut prev = f64::INFINITY;
        for order in [2, 4, 6, 8, 10] {
            let r = Resampler::new(&targets, step, order).unwrap();
            let gv: Vec<f32> = r.grid().iter().map(|&x| (omega * x).sin() as f32).collect();
            let exact: Vec<f32> = targets.iter().map(|&x| (omega * x).sin() as f32).collect();
            let e = r.max_error(&gv, &exact);
            let h = omega * step;
            let fact: f64 = (1..=order).map(|v| v as f64).product();
            let bound = h.powi(order as i32) / fact * (order as f64).powi(order as i32 / 2);
            assert!(e <= bound.max(1e-6), "order {order}: error {e} > {bound}");
            assert!(e < prev || e < 1e-6, "order {order}: {e} not below {prev}");
            prev = e;
        }
        // 10 points at 8 per period: (π/4)^10/10!·Π|τ − x_j| at τ = ½ ≈ 2.1e-5
        assert!(prev < 5e-5, "{prev}");
    }

    #[test]
    fn nodes_are_reproduced_exactly_and_bad_input_is_rejected() {
        let targets = [0.0, 0.5, 1.0, 1.25];
        let r = Resampler::new(&targets, 0.25, 4).unwrap();
        let gv: Vec<f32> = r.grid().iter().map(|&x| (x * 3.0).exp() as f32).collect();
        let mut out = vec![0.0f32; 4];
        r.forward(&gv, &mut out);
        for (o, &x) in out.iter().zip(&targets) {
            assert_eq!(*o, (x * 3.0).exp() as f32);
        }
        assert!(Resampler::new(&targets, 0.0, 4).is_err());
        assert!(Resampler::new(&targets, 0.1, 3).is_err());
        assert!(Resampler::new(&[], 0.1, 4).is_err());
        assert!(Resampler::new(&targets, 1e-12, 4).is_err());
    }
}
