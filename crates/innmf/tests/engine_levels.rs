//! The engine's run-time choices do not change results: every SIMD level gives the same bytes,
//! so do 1 and 2 threads, and the gridded evaluation of a time network ([`Sampling::Auto`])
//! matches the exact one to its stated tolerance.

use innmf::divergence::Divergence;
use innmf::optim::{Optimizer, OptimizerConfig};
use innmf::simd::Level;
use innmf::{fit, FactorKind, FitConfig, Model, ModelSpec, Sampling, TfPoints, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Points of three "bands" with their own hops (1, 3 and 7 samples at 16 kHz) over one second,
/// as a constant-Q transform lays them out: 16,000 distinct times.
fn banded_cloud(seed: u64) -> TfPoints {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let (mut t, mut f, mut m) = (vec![], vec![], vec![]);
    for (band, hop) in [(0, 7usize), (1, 3), (2, 1)] {
        for i in (0..16_000).step_by(hop) {
            let tv = i as f64 / 16_000.0;
            for fv in [200.0 * (band + 1) as f64, 330.0 * (band + 1) as f64] {
                t.push(tv);
                f.push(fv);
                // a smooth envelope with noise, ≥ 0
                let env = 1.0 + (6.0 * tv + band as f64).sin();
                m.push(env * r.random_range(0.5..1.5));
            }
        }
    }
    TfPoints::new(t, f, m).unwrap()
}

fn grid_points(seed: u64) -> TfPoints {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let freqs: Vec<f64> = (0..41).map(|i| i as f64 * 25.0).collect();
    let times: Vec<f64> = (0..37).map(|i| i as f64 * 0.03).collect();
    let mag: Vec<f64> = (0..41 * 37).map(|_| r.random_range(0.0..2.0)).collect();
    TfPoints::from_grid(&freqs, &times, &mag).unwrap()
}

fn model_for(points: &TfPoints, h: FactorKind, seed: u64) -> Model {
    let mut spec = ModelSpec::new(3);
    spec.width = 12;
    spec.h = h;
    spec.build(points, &mut ChaCha8Rng::seed_from_u64(seed))
        .unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Losses and parameter bits of `steps` Rprop steps with every kernel at `level`.
fn train_at(points: &TfPoints, model: &Model, level: Level, subset: bool) -> (Vec<u64>, Vec<u32>) {
    let mut model = model.clone();
    let mut tr =
        Trainer::with_sampling(&model, points, Divergence::kl(), None, Sampling::Auto).unwrap();
    tr.set_level(level);
    let mut ow = Optimizer::new(OptimizerConfig::rprop(1e-3), model.w.params().len()).unwrap();
    let mut oh = Optimizer::new(OptimizerConfig::rprop(1e-3), model.h.params().len()).unwrap();
    let sel: Vec<u32> = (0..points.len() as u32).step_by(2).collect();
    let mut losses = vec![];
    for _ in 0..12 {
        let l = tr.loss_and_grad(&model, subset.then_some(&sel[..]), true);
        losses.push(l.to_bits());
        ow.step(model.w.params_mut(), &tr.grad_w);
        oh.step(model.h.params_mut(), &tr.grad_h);
    }
    let mut p = bits(model.w.params());
    p.extend(bits(model.h.params()));
    (losses, p)
}

#[test]
fn every_simd_level_trains_to_the_same_bits() {
    let grid = grid_points(1);
    let cloud = banded_cloud(2);
    for (points, h, subset) in [
        (&grid, FactorKind::Explicit, false),  // dense path
        (&grid, FactorKind::Implicit, true),   // gather on a row-major grid
        (&cloud, FactorKind::Implicit, false), // gather, H on a grid
    ] {
        let model = model_for(points, h, 5);
        let want = train_at(points, &model, Level::Scalar, subset);
        for level in Level::available() {
            assert!(
                train_at(points, &model, level, subset) == want,
                "{level} differs from scalar ({h:?}, subset {subset})"
            );
        }
    }
}

#[test]
fn one_and_two_threads_give_the_same_fit() {
    let grid = grid_points(3);
    let cloud = banded_cloud(4);
    for (points, h, fraction, sampling) in [
        (&grid, FactorKind::Explicit, 1.0, Sampling::Exact),
        (&grid, FactorKind::Implicit, 0.5, Sampling::Exact),
        (&cloud, FactorKind::Implicit, 1.0, Sampling::Exact),
        (&cloud, FactorKind::Implicit, 1.0, Sampling::Auto),
    ] {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut model = model_for(points, h, 6);
                let cfg = FitConfig {
                    steps: 15,
                    fraction,
                    seed: 9,
                    sampling,
                    ..Default::default()
                };
                let rep = fit(&mut model, points, &cfg, None, None).unwrap();
                (model, rep.loss_history, rep.final_loss)
            })
        };
        let (m1, l1, f1) = run(1);
        let (m2, l2, f2) = run(2);
        assert_eq!(bits(m1.w.params()), bits(m2.w.params()));
        assert_eq!(bits(m1.h.params()), bits(m2.h.params()));
        assert_eq!(l1, l2);
        assert_eq!(f1.to_bits(), f2.to_bits());
    }
}

#[test]
fn gridded_time_network_matches_the_exact_path() {
    let pts = banded_cloud(7);
    assert_eq!(pts.unique_times().len(), 16_000);
    let model = model_for(&pts, FactorKind::Implicit, 8);
    let mut exact =
        Trainer::with_sampling(&model, &pts, Divergence::kl(), None, Sampling::Exact).unwrap();
    let mut auto =
        Trainer::with_sampling(&model, &pts, Divergence::kl(), None, Sampling::Auto).unwrap();
    assert_eq!(exact.grids(), (None, None));
    let (g, step) = auto.grids().1.expect("H on a grid");
    // 16 samples per period of the top feature (2^-8 in u), over u ∈ [0, 1)
    assert!(
        g < 16_000 / 2 && (step - 1.0 / 4096.0).abs() < 1e-15,
        "{g} {step}"
    );
    let le = exact.loss_and_grad(&model, None, true);
    let la = auto.loss_and_grad(&model, None, true);
    // interpolation error ≤ 1e-4 of each H_k's largest value: the loss moves by less
    assert!((le - la).abs() <= 1e-4 * le, "{le} vs {la}");
    for (a, e, what) in [
        (&auto.grad_w, &exact.grad_w, "W"),
        (&auto.grad_h, &exact.grad_h, "H"),
    ] {
        let scale = e.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(e.iter())
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst <= 2e-3 * scale, "grad {what}: {worst} of {scale}");
    }
    // the loss without gradients is exact
    let lx = auto.loss_and_grad(&model, None, false);
    assert_eq!(lx, exact.loss_and_grad(&model, None, false));
    // and a fit on the grid lands where the exact fit does
    let fit_with = |sampling| {
        let mut m = model.clone();
        let cfg = FitConfig {
            steps: 60,
            sampling,
            optimizer: OptimizerConfig::adam(3e-3),
            ..Default::default()
        };
        fit(&mut m, &pts, &cfg, None, None).unwrap().final_loss
    };
    let (fe, fa) = (fit_with(Sampling::Exact), fit_with(Sampling::Auto));
    assert!((fe - fa).abs() <= 2e-3 * fe, "{fe} vs {fa}");
}

#[test]
fn a_grid_too_coarse_for_the_network_is_refined_or_dropped() {
    let pts = banded_cloud(9);
    // ω = 40: sine layers far beyond the Fourier features' bandwidth, so 16 samples per period
    // of the top feature cannot interpolate them
    let mut spec = ModelSpec::new(2);
    spec.width = 12;
    spec.omega = 40.0;
    let model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let mut auto =
        Trainer::with_sampling(&model, &pts, Divergence::kl(), None, Sampling::Auto).unwrap();
    let before = auto.grids().1;
    assert!(before.is_some());
    let mut exact =
        Trainer::with_sampling(&model, &pts, Divergence::kl(), None, Sampling::Exact).unwrap();
    let la = auto.loss_and_grad(&model, None, true);
    let le = exact.loss_and_grad(&model, None, true);
    match auto.grids().1 {
        // refined: the check passed at a finer step
        Some((g, step)) => assert!(step < before.unwrap().1 && g > before.unwrap().0),
        // or dropped for exact evaluation
        None => assert_eq!(bits(&auto.grad_h), bits(&exact.grad_h)),
    }
    assert!((la - le).abs() <= 1e-4 * le, "{la} vs {le}");
}
