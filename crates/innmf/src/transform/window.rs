//! Analysis windows.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Window shapes. "Periodic" windows are the first N points of an (N+1)-point symmetric window,
/// as `scipy.signal.get_window` and `torch.hann_window(periodic=True)` make them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WindowKind {
    /// √(periodic Hann): its square overlap-adds to a constant at hop N/2 (the paper's STFT).
    #[default]
    SqrtHann,
    /// Periodic Hann.
    Hann,
    /// Symmetric Hann (`np.hanning`), used by the paper's constant-Q transform.
    HannSymmetric,
    /// All ones.
    Rectangular,
}

impl WindowKind {
    /// The window's `n` samples.
    pub fn samples(&self, n: usize) -> Vec<f64> {
        match self {
            WindowKind::SqrtHann => hann(n, false).into_iter().map(f64::sqrt).collect(),
            WindowKind::Hann => hann(n, false),
            WindowKind::HannSymmetric => hann(n, true),
            WindowKind::Rectangular => vec![1.0; n],
        }
    }

    /// Parses a CLI name: `sqrt-hann`, `hann`, `hann-symmetric`, `rectangular`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sqrt-hann" => Some(WindowKind::SqrtHann),
            "hann" => Some(WindowKind::Hann),
            "hann-symmetric" => Some(WindowKind::HannSymmetric),
            "rectangular" | "rect" => Some(WindowKind::Rectangular),
            _ => None,
        }
    }
}

/// Hann window, periodic or symmetric.
pub fn hann(n: usize, symmetric: bool) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    let d = if symmetric { (n - 1) as f64 } else { n as f64 };
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / d).cos())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_hann_squares_overlap_add_to_one_at_half_hop() {
        let n = 16;
        let w = WindowKind::SqrtHann.samples(n);
        for i in 0..n / 2 {
            let s = w[i] * w[i] + w[i + n / 2] * w[i + n / 2];
            assert!((s - 1.0).abs() < 1e-12);
        }
        let s = hann(5, true);
        assert_eq!(s[0], 0.0);
        assert!((s[2] - 1.0).abs() < 1e-15);
        assert_eq!(s[4], 0.0);
    }
}
