//! Engine invariants: fast path vs the f64 reference, dense vs gather, whole-model finite
//! differences, model files, and fits that must reach a loss bound.

use common::model_reference;
use innmf::divergence::Divergence;
use innmf::field::reference::component_forward_backward;
use innmf::field::{Axis, Factor, Mlp, MlpConfig, MlpInit, Table};
use innmf::{fit, FactorKind, FitConfig, Model, ModelSpec, TfPoints, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

fn small_mlp(k: usize, axis: Axis, seed: u64) -> Mlp {
    let cfg = MlpConfig {
        components: k,
        width: 12,
        depth: 2,
        n_features: 4,
        omega: 1.5,
        init: MlpInit::Pytorch,
        axis,
        output: Default::default(),
    };
    Mlp::new(cfg, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

/// A random cloud: `n` points on `nf` distinct frequencies and `nt` distinct times.
fn cloud(n: usize, nf: usize, nt: usize, seed: u64) -> TfPoints {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let fs: Vec<f64> = (0..nf).map(|i| 50.0 + 37.0 * i as f64).collect();
    let ts: Vec<f64> = (0..nt).map(|i| 0.01 * i as f64).collect();
    let (mut t, mut f, mut m) = (vec![], vec![], vec![]);
    for _ in 0..n {
        f.push(fs[r.random_range(0..nf)]);
        t.push(ts[r.random_range(0..nt)]);
        m.push(r.random_range(0.0..2.0));
    }
    TfPoints::new(t, f, m).unwrap()
}

#[test]
fn fast_network_matches_the_f64_reference() {
    let mlp = small_mlp(3, Axis::linear(0.0, 1000.0).unwrap(), 1);
    let coords: Vec<f64> = (0..37).map(|i| i as f64 * 27.0).collect();
    let mut ws = innmf::field::MlpWorkspace::new(&mlp, &coords);
    ws.forward(&mlp.params);
    let mut r = ChaCha8Rng::seed_from_u64(2);
    let dv: Vec<f32> = (0..3 * coords.len())
        .map(|_| r.random_range(-1.0..1.0))
        .collect();
    let mut grad = vec![0.0f32; mlp.params.len()];
    ws.backward(&mlp.params, &dv, &mut grad);
    let per = mlp.config.params_per_component();
    for k in 0..3 {
        let p64: Vec<f64> = mlp.params[k * per..(k + 1) * per]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let dv64: Vec<f64> = dv[k * coords.len()..(k + 1) * coords.len()]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let (vals, g) = component_forward_backward(&mlp, k, &p64, &coords, &dv64);
        assert_close_f32(
            &format!("values {k}"),
            ws.component_values(k),
            &vals,
            NETWORK,
        );
        assert_close_f32(
            &format!("grad {k}"),
            &grad[k * per..(k + 1) * per],
            &g,
            NETWORK,
        );
    }
}

/// f32 fast path against the f64 reference, per element: |a − b| ≤ rel·(|b| + floor·max|B|)
/// (`common::assert_close`). The relative part covers f32 rounding through the network
/// (≈ 1e-7 per operation, amplified where a value is a sum of cancelling terms); the floor, a
/// fraction of the tensor's largest entry, is for entries that are such cancellations.
#[track_caller]
fn assert_close_f32(what: &str, fast: &[f32], slow: &[f64], tol: (f64, f64)) {
    let fast: Vec<f64> = fast.iter().map(|&v| v as f64).collect();
    common::assert_close(&fast, slow, tol, what);
}

/// For one network with random ±1 output gradients: 1e-4 relative, floor 1e-6 of the largest
/// entry (a parameter gradient sums up to 37 coordinates' terms of up to that size:
/// ε₃₂·√37·max ≈ 4e-7·max). Measured, the worst element uses about a tenth of its tolerance
/// (INNMF_TOL_REPORT=1).
const NETWORK: (f64, f64) = (1e-4, 1e-2);

/// For whole models on a grid under a divergence: 1e-5 relative, floor 1e-7 of the largest
/// entry. Measured, the worst element uses under a tenth of its tolerance (INNMF_TOL_REPORT=1).
const MODEL: (f64, f64) = (1e-5, 1e-2);

#[test]
fn dense_and_gather_paths_agree() {
    let mut r = ChaCha8Rng::seed_from_u64(5);
    let freqs: Vec<f64> = (0..33).map(|i| i as f64 * 10.0).collect();
    let times: Vec<f64> = (0..21).map(|i| i as f64 * 0.02).collect();
    let mag: Vec<f64> = (0..33 * 21).map(|_| r.random_range(0.0..3.0)).collect();
    let grid = TfPoints::from_grid(&freqs, &times, &mag).unwrap();
    // the gather path on a subset that is not a grid: the points in a seeded shuffled order
    // (Fisher–Yates), the last one replaced by a second copy of point 17 (a subset has at most
    // one entry per point)
    let mut order: Vec<u32> = (0..grid.len() as u32).collect();
    let mut rs = ChaCha8Rng::seed_from_u64(6);
    for i in (1..order.len()).rev() {
        order.swap(i, rs.random_range(0..=i));
    }
    assert_ne!(order[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let last = order.len() - 1;
    order[last] = if order[last] == 17 { order[0] } else { 17 };
    assert_eq!(order.iter().filter(|&&i| i == order[last]).count(), 2);
    let all: Vec<u32> = (0..grid.len() as u32).collect();
    let mut cases = 0;
    for spec_w in [FactorKind::Implicit, FactorKind::Explicit] {
        let mut spec = ModelSpec::new(4);
        spec.w = spec_w;
        spec.h = FactorKind::Explicit;
        spec.width = 16;
        let model = spec
            .build(&grid, &mut ChaCha8Rng::seed_from_u64(9))
            .unwrap();
        for div in [
            Divergence::kl(),
            Divergence::new(0.0, 1e-8).unwrap(),
            Divergence::new(1.5, 1e-8).unwrap(),
        ] {
            let what = format!("{spec_w:?} W, beta {}", div.beta);
            let mut dense = Trainer::new(&model, &grid, div, None).unwrap();
            let ld = dense.loss_and_grad(&model, None, true);
            let (rl_all, rgw_all, rgh_all) = model_reference(&model, &grid, div, &all);
            assert!(
                (ld - rl_all).abs() <= 1e-5 * rl_all.abs(),
                "{what}: dense {ld} vs f64 {rl_all}"
            );
            assert_close_f32(
                &format!("{what}: dense grad W"),
                &dense.grad_w,
                &rgw_all,
                MODEL,
            );
            assert_close_f32(
                &format!("{what}: dense grad H"),
                &dense.grad_h,
                &rgh_all,
                MODEL,
            );

            let mut gather = Trainer::new(&model, &grid, div, None).unwrap();
            let lg = gather.loss_and_grad(&model, Some(&order), true);
            let (rl, rgw, rgh) = model_reference(&model, &grid, div, &order);
            assert!(
                (lg - rl).abs() <= 1e-5 * rl.abs(),
                "{what}: gather {lg} vs f64 {rl}"
            );
            assert_close_f32(
                &format!("{what}: gather grad W"),
                &gather.grad_w,
                &rgw,
                MODEL,
            );
            assert_close_f32(
                &format!("{what}: gather grad H"),
                &gather.grad_h,
                &rgh,
                MODEL,
            );
            // the subset (one point left out, one repeated) is visibly not the full set at these
            // tolerances: a gather that ignored the order or the repeat would fail
            let moved = rgh
                .iter()
                .zip(&rgh_all)
                .any(|(a, b)| (a - b).abs() > 10.0 * 1e-5 * b.abs());
            assert!(
                moved,
                "{what}: one repeated point should move grad H measurably"
            );
            cases += 1;
        }
    }
    assert_eq!(cases, 6);
}

#[test]
#[should_panic(expected = "at most one entry per point")]
fn a_subset_longer_than_the_points_is_refused() {
    let pts = cloud(50, 5, 5, 1);
    let model = ModelSpec::new(2)
        .build(&pts, &mut ChaCha8Rng::seed_from_u64(0))
        .unwrap();
    let mut tr = Trainer::new(&model, &pts, Divergence::kl(), None).unwrap();
    let too_many: Vec<u32> = (0..51).map(|i| i % 50).collect();
    tr.loss_and_grad(&model, Some(&too_many), true);
}

/// Whole model in f64 through the reference: loss(θ) for W and H both implicit on a cloud.
fn reference_loss(
    w: &Mlp,
    h: &Mlp,
    pw: &[f64],
    ph: &[f64],
    pts: &TfPoints,
) -> (f64, Vec<f64>, Vec<f64>) {
    let k = w.config.components;
    let (fu, tu) = (pts.unique_freqs(), pts.unique_times());
    let (perw, perh) = (
        w.config.params_per_component(),
        h.config.params_per_component(),
    );
    let wv: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            component_forward_backward(
                w,
                c,
                &pw[c * perw..(c + 1) * perw],
                fu,
                &vec![0.0; fu.len()],
            )
            .0
        })
        .collect();
    let hv: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            component_forward_backward(
                h,
                c,
                &ph[c * perh..(c + 1) * perh],
                tu,
                &vec![0.0; tu.len()],
            )
            .0
        })
        .collect();
    let div = Divergence::kl();
    let n = pts.len() as f64;
    let mut loss = 0.0;
    let mut dw = vec![vec![0.0; fu.len()]; k];
    let mut dh = vec![vec![0.0; tu.len()]; k];
    for i in 0..pts.len() {
        let (fi, ti) = (pts.freq_index()[i] as usize, pts.time_index()[i] as usize);
        let y: f64 = (0..k).map(|c| wv[c][fi] * hv[c][ti]).sum();
        loss += div.value(pts.m()[i], y) / n;
        let g = div.grad(pts.m()[i], y) / n;
        for c in 0..k {
            dw[c][fi] += g * hv[c][ti];
            dh[c][ti] += g * wv[c][fi];
        }
    }
    let gw: Vec<f64> = (0..k)
        .flat_map(|c| component_forward_backward(w, c, &pw[c * perw..(c + 1) * perw], fu, &dw[c]).1)
        .collect();
    let gh: Vec<f64> = (0..k)
        .flat_map(|c| component_forward_backward(h, c, &ph[c * perh..(c + 1) * perh], tu, &dh[c]).1)
        .collect();
    (loss, gw, gh)
}

#[test]
fn whole_model_gradient_matches_finite_differences_and_the_fast_path() {
    let pts = cloud(120, 9, 15, 3);
    let w = small_mlp(2, Axis::linear(0.0, 400.0).unwrap(), 11);
    let h = small_mlp(2, Axis::linear(0.0, 0.15).unwrap(), 12);
    let pw: Vec<f64> = w.params.iter().map(|&v| v as f64).collect();
    let ph: Vec<f64> = h.params.iter().map(|&v| v as f64).collect();
    let (_, gw, gh) = reference_loss(&w, &h, &pw, &ph, &pts);
    let eps = 1e-6;
    for (idx, analytic) in [
        (0usize, gw[0]),
        (7, gw[7]),
        (gw.len() - 1, gw[gw.len() - 1]),
        (100, gw[100]),
    ] {
        let (mut a, mut b) = (pw.clone(), pw.clone());
        a[idx] += eps;
        b[idx] -= eps;
        let num = (reference_loss(&w, &h, &a, &ph, &pts).0
            - reference_loss(&w, &h, &b, &ph, &pts).0)
            / (2.0 * eps);
        assert!(
            (num - analytic).abs() < 1e-6 * (1.0 + num.abs()),
            "W[{idx}]: {num} vs {analytic}"
        );
    }
    for (idx, analytic) in [(3usize, gh[3]), (gh.len() - 2, gh[gh.len() - 2])] {
        let (mut a, mut b) = (ph.clone(), ph.clone());
        a[idx] += eps;
        b[idx] -= eps;
        let num = (reference_loss(&w, &h, &pw, &a, &pts).0
            - reference_loss(&w, &h, &pw, &b, &pts).0)
            / (2.0 * eps);
        assert!(
            (num - analytic).abs() < 1e-6 * (1.0 + num.abs()),
            "H[{idx}]: {num} vs {analytic}"
        );
    }
    // the fast f32 path agrees with the f64 analytic gradient
    let model = Model::new(Factor::Implicit(w), Factor::Implicit(h)).unwrap();
    let mut tr = Trainer::new(&model, &pts, Divergence::kl(), None).unwrap();
    tr.loss_and_grad(&model, None, true);
    assert_close_f32("fast grad W", &tr.grad_w, &gw, NETWORK);
    assert_close_f32("fast grad H", &tr.grad_h, &gh, NETWORK);
}

#[test]
fn model_files_round_trip_exactly() {
    let pts = cloud(200, 12, 20, 4);
    let dir = tempfile::tempdir().unwrap();
    for (wk, hk) in [
        (FactorKind::Implicit, FactorKind::Implicit),
        (FactorKind::Implicit, FactorKind::Explicit),
        (FactorKind::Explicit, FactorKind::Implicit),
        (FactorKind::Explicit, FactorKind::Explicit),
    ] {
        let mut spec = ModelSpec::new(3);
        spec.w = wk;
        spec.h = hk;
        spec.width = 8;
        let model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let path = dir.path().join("m.safetensors");
        let info = serde_json::json!({"note": "test"});
        let data = innmf::modelfile::TrainingData::PointSet {
            source: "cloud.npz".into(),
            power: 0.5,
        };
        innmf::modelfile::save(&path, &model, &data, &info).unwrap();
        let (back, cfg) = innmf::modelfile::load(&path).unwrap();
        assert_eq!(back, model);
        assert_eq!(cfg.training, info);
        assert_eq!(cfg.data, Some(data));
        assert_eq!(back.predict(&pts), model.predict(&pts));
    }
    std::fs::write(dir.path().join("junk.safetensors"), b"nope").unwrap();
    assert!(innmf::modelfile::load(&dir.path().join("junk.safetensors")).is_err());
}

#[test]
fn every_factor_combination_trains() {
    let pts = cloud(600, 20, 30, 8);
    for (wk, hk) in [
        (FactorKind::Implicit, FactorKind::Implicit),
        (FactorKind::Implicit, FactorKind::Explicit),
        (FactorKind::Explicit, FactorKind::Implicit),
        (FactorKind::Explicit, FactorKind::Explicit),
    ] {
        let mut spec = ModelSpec::new(2);
        spec.w = wk;
        spec.h = hk;
        spec.width = 16;
        let mut model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
        let cfg = FitConfig {
            steps: 60,
            ..FitConfig::default()
        };
        let rep = fit(&mut model, &pts, &cfg, None, None).unwrap();
        assert!(
            rep.final_loss < rep.loss_history[0],
            "{wk:?}/{hk:?}: {rep:?}"
        );
    }
}

#[test]
fn planted_low_rank_point_set_is_fit_below_a_bound() {
    // m(f, t) = Σ_k a_k(f)·b_k(t) with smooth non-negative factors, sampled on an irregular cloud
    let mut r = ChaCha8Rng::seed_from_u64(21);
    let n = 4000;
    let (mut t, mut f, mut m) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let fv: f64 = r.random_range(0.0..1000.0);
        let tv: f64 = r.random_range(0.0..2.0);
        let a1 = (-((fv - 200.0) / 80.0).powi(2)).exp();
        let a2 = (-((fv - 650.0) / 120.0).powi(2)).exp();
        let b1 = 0.2 + (std::f64::consts::PI * tv).sin().powi(2);
        let b2 = 0.2 + (std::f64::consts::PI * tv).cos().powi(2);
        f.push(fv);
        t.push(tv);
        m.push(a1 * b1 + a2 * b2);
    }
    let pts = TfPoints::new(t, f, m).unwrap();
    let mut spec = ModelSpec::new(2);
    spec.width = 32;
    let mut model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
    let cfg = FitConfig {
        steps: 600,
        optimizer: innmf::optim::OptimizerConfig::adam(3e-3),
        ..FitConfig::default()
    };
    let rep = fit(&mut model, &pts, &cfg, None, None).unwrap();
    // KL of the initial model is ≈ 0.3; a good fit of the planted rank-2 field is far below
    assert!(rep.final_loss < 2e-3, "final loss {}", rep.final_loss);
}

#[test]
fn the_same_seed_gives_the_same_fit() {
    let pts = cloud(500, 15, 25, 6);
    let run = || {
        let mut spec = ModelSpec::new(2);
        spec.width = 8;
        let mut model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        let cfg = FitConfig {
            steps: 30,
            fraction: 0.5,
            seed: 17,
            ..FitConfig::default()
        };
        let rep = fit(&mut model, &pts, &cfg, None, None).unwrap();
        (model, rep.loss_history)
    };
    let (m1, l1) = run();
    let (m2, l2) = run();
    assert_eq!(m1, m2);
    assert_eq!(l1, l2);
}

#[test]
fn explicit_factor_rejects_foreign_coordinates() {
    let pts = cloud(100, 5, 5, 1);
    let other = cloud(100, 6, 5, 2);
    let table = Table::new(
        2,
        pts.unique_freqs().to_vec(),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let h = small_mlp(2, Axis::linear(0.0, 1.0).unwrap(), 0);
    let model = Model::new(Factor::Explicit(table), Factor::Implicit(h)).unwrap();
    assert!(Trainer::new(&model, &pts, Divergence::kl(), None).is_ok());
    assert!(Trainer::new(&model, &other, Divergence::kl(), None).is_err());
    assert!(Trainer::new(&model, &pts, Divergence::kl(), Some(&[1.0])).is_err());
}
