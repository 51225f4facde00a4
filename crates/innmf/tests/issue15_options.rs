//! The training options added for issue 15 (why iN-NMF trailed NMF).

use innmf::optim::OptimizerConfig;
use innmf::{fit, FactorKind, FitConfig, ModelSpec, TfPoints};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random cloud: `n` points on `nf` distinct frequencies and `nt` distinct times, magnitudes
/// in [0, `scale`).
fn cloud(n: usize, nf: usize, nt: usize, scale: f64, seed: u64) -> TfPoints {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let fs: Vec<f64> = (0..nf).map(|i| 50.0 + 37.0 * i as f64).collect();
    let ts: Vec<f64> = (0..nt).map(|i| 0.01 * i as f64).collect();
    let (mut t, mut f, mut m) = (vec![], vec![], vec![]);
    for _ in 0..n {
        f.push(fs[r.random_range(0..nf)]);
        t.push(ts[r.random_range(0..nt)]);
        m.push(r.random_range(0.0..scale));
    }
    TfPoints::new(t, f, m).unwrap()
}

#[test]
fn h_optimizer_drives_h_and_the_other_drives_w() {
    // Rprop's first step moves every parameter with a non-zero gradient by exactly its lr
    let pts = cloud(300, 10, 15, 1.0, 7);
    let mut spec = ModelSpec::new(2);
    spec.w = FactorKind::Explicit;
    spec.h = FactorKind::Explicit;
    let model0 = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
    let mut model = model0.clone();
    let cfg = FitConfig {
        steps: 1,
        optimizer: OptimizerConfig::rprop(1e-3),
        h_optimizer: Some(OptimizerConfig::rprop(0.25)),
        ..FitConfig::default()
    };
    fit(&mut model, &pts, &cfg, None, None).unwrap();
    let moved = |a: &[f32], b: &[f32]| -> Vec<f32> {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .filter(|d| *d > 0.0)
            .collect()
    };
    let dw = moved(model.w.params(), model0.w.params());
    let dh = moved(model.h.params(), model0.h.params());
    assert!(!dw.is_empty() && !dh.is_empty());
    assert!(dw.iter().all(|d| (d - 1e-3).abs() < 1e-6), "{dw:?}");
    assert!(dh.iter().all(|d| (d - 0.25).abs() < 1e-6), "{dh:?}");
    let bad = FitConfig {
        h_optimizer: Some(OptimizerConfig::rprop(-1.0)),
        ..FitConfig::default()
    };
    assert!(fit(&mut model, &pts, &bad, None, None).is_err());
}
