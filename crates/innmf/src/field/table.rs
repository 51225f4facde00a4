//! The explicit factor: a table of K values per coordinate, made non-negative by softplus.
//!
//! `W_k(x_n) = softplus(θ_{k,n})` at the table's own coordinates `x_n` (the unique frequencies
//! or times it was created for). This is classical NMF's matrix, parameterized so that gradient
//! training keeps it non-negative (the paper's explicit H: θ ~ U[0, 1), used as softplus(θ)).
//! Between its coordinates the table is sampled by linear interpolation (clamped at the ends).

use crate::error::{Error, Result};
use crate::fastmath::{softplus, softplus_grad, softplus_inv};
use rand::Rng;

/// An explicit factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Number of components K.
    pub components: usize,
    /// The sorted coordinates the table is defined at (Hz or s).
    pub coords: Vec<f64>,
    /// Raw parameters θ, `[K, N]` row-major.
    pub params: Vec<f32>,
}

impl Table {
    /// A table with θ ~ U[0, 1) (softplus values in [0.69, 1.31)), as the paper initializes H.
    pub fn new(components: usize, coords: Vec<f64>, rng: &mut impl Rng) -> Result<Self> {
        Self::check(components, &coords)?;
        let params = (0..components * coords.len())
            .map(|_| rng.random::<f32>())
            .collect();
        Ok(Table {
            components,
            coords,
            params,
        })
    }

    /// A table holding the given non-negative values `[K, N]` (θ = softplus⁻¹(value); values
    /// below 1e-12 are floored there).
    pub fn from_values(components: usize, coords: Vec<f64>, values: &[f64]) -> Result<Self> {
        Self::check(components, &coords)?;
        if values.len() != components * coords.len() {
            return Err(Error::Shape(format!(
                "table values: expected K·N = {}, got {}",
                components * coords.len(),
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::param(
                "table value",
                values[i],
                "finite and non-negative",
            ));
        }
        let params = values
            .iter()
            .map(|&v| softplus_inv(v.max(1e-12)) as f32)
            .collect();
        Ok(Table {
            components,
            coords,
            params,
        })
    }

    fn check(components: usize, coords: &[f64]) -> Result<()> {
        if components == 0 {
            return Err(Error::param("rank", 0, "at least 1 component"));
        }
        if coords.is_empty() {
            return Err(Error::Empty {
                what: "table coordinates",
            });
        }
        if coords.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::param(
                "table coordinates",
                "unsorted",
                "strictly increasing coordinates",
            ));
        }
        Ok(())
    }

    /// Values `[K, N]` at the table's own coordinates.
    pub fn values(&self) -> Vec<f32> {
        self.params.iter().map(|&p| softplus(p)).collect()
    }

    /// Writes the values at the table's own coordinates into `out` (`[K, N]`).
    #[track_caller]
    pub fn values_into(&self, out: &mut [f32]) {
        for (o, &p) in out.iter_mut().zip(&self.params) {
            *o = softplus(p);
        }
    }

    /// ∂loss/∂θ from ∂loss/∂value (`[K, N]` each).
    #[track_caller]
    pub fn backward(&self, dvalues: &[f32], grad: &mut [f32]) {
        for ((g, &d), &p) in grad.iter_mut().zip(dvalues).zip(&self.params) {
            *g = d * softplus_grad(p);
        }
    }

    /// Values `[K, M]` at arbitrary coordinates by linear interpolation, constant beyond the ends.
    pub fn evaluate(&self, coords: &[f64]) -> Vec<f32> {
        let vals = self.values();
        let n = self.coords.len();
        let mut out = vec![0.0f32; self.components * coords.len()];
        for (j, &x) in coords.iter().enumerate() {
            let (i0, i1, w) = if x <= self.coords[0] {
                (0, 0, 0.0)
            } else if x >= self.coords[n - 1] {
                (n - 1, n - 1, 0.0)
            } else {
                let i1 = self.coords.partition_point(|&c| c <= x);
                let i0 = i1 - 1;
                let w = (x - self.coords[i0]) / (self.coords[i1] - self.coords[i0]);
                (i0, i1, w)
            };
            for k in 0..self.components {
                let a = vals[k * n + i0] as f64;
                let b = vals[k * n + i1] as f64;
                out[k * coords.len() + j] = (a + w * (b - a)) as f32;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn values_interpolate_and_round_trip() {
        let t = Table::from_values(1, vec![0.0, 1.0, 3.0], &[1.0, 2.0, 4.0]).unwrap();
        let v = t.values();
        assert!((v[1] - 2.0).abs() < 1e-5);
        let e = t.evaluate(&[-1.0, 0.5, 2.0, 9.0]);
        let want = [1.0, 1.5, 3.0, 4.0];
        for (a, b) in e.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert!(Table::from_values(1, vec![0.0], &[-1.0]).is_err());
        assert!(Table::from_values(1, vec![1.0, 0.0], &[1.0, 1.0]).is_err());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let r = Table::new(2, vec![0.0, 1.0], &mut rng).unwrap();
        assert!(r.params.iter().all(|&p| (0.0..1.0).contains(&p)));
    }
}
