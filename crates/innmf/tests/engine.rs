//! Engine invariants: fast path vs the f64 reference, dense vs gather, whole-model finite
//! differences, model files, and fits that must reach a loss bound.

use innmf::divergence::Divergence;
use innmf::field::reference::component_forward_backward;
use innmf::field::{Axis, Factor, Mlp, MlpConfig, MlpInit, Table};
use innmf::{fit, FactorKind, FitConfig, Model, ModelSpec, TfPoints, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
        let scale_v = vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in ws.component_values(k).iter().zip(&vals) {
            assert!((*a as f64 - b).abs() < 1e-5 * scale_v, "value {a} vs {b}");
        }
        let scale_g = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in grad[k * per..(k + 1) * per].iter().zip(&g) {
            assert!((*a as f64 - b).abs() < 1e-4 * scale_g, "grad {a} vs {b}");
        }
    }
}

#[test]
fn dense_and_gather_paths_agree() {
    let mut r = ChaCha8Rng::seed_from_u64(5);
    let freqs: Vec<f64> = (0..33).map(|i| i as f64 * 10.0).collect();
    let times: Vec<f64> = (0..21).map(|i| i as f64 * 0.02).collect();
    let mag: Vec<f64> = (0..33 * 21).map(|_| r.random_range(0.0..3.0)).collect();
    let grid = TfPoints::from_grid(&freqs, &times, &mag).unwrap();
    // the same points in a shuffled order plus one duplicate point is not a grid
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
            let mut dense = Trainer::new(&model, &grid, div, None).unwrap();
            let ld = dense.loss_and_grad(&model, None, true);
            let mut gather = Trainer::new(&model, &grid, div, None).unwrap();
            let all: Vec<u32> = (0..grid.len() as u32).collect();
            let lg = gather.loss_and_grad(&model, Some(&all), true);
            assert!((ld - lg).abs() <= 1e-5 * ld.abs(), "{ld} vs {lg}");
            for (a, b) in [
                (&dense.grad_w, &gather.grad_w),
                (&dense.grad_h, &gather.grad_h),
            ] {
                let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (x, y) in a.iter().zip(b.iter()) {
                    assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
                }
            }
        }
    }
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
    for (fast, slow) in [(&tr.grad_w, &gw), (&tr.grad_h, &gh)] {
        let scale = slow.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in fast.iter().zip(slow.iter()) {
            assert!((*a as f64 - b).abs() < 1e-4 * scale, "{a} vs {b}");
        }
    }
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
