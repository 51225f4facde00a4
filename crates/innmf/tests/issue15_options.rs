//! The training options added for issue 15 (why iN-NMF trailed NMF): the exponential output map,
//! scale matching at initialization and a separate optimizer for H.

use innmf::field::reference::component_forward_backward;
use innmf::field::{Axis, Factor, Mlp, MlpConfig, MlpInit, MlpWorkspace, OutputMap};
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
fn exp_output_fast_path_matches_the_f64_reference() {
    let cfg = MlpConfig {
        components: 3,
        width: 12,
        depth: 2,
        n_features: 4,
        omega: 1.5,
        init: MlpInit::Pytorch,
        axis: Axis::linear(0.0, 1000.0).unwrap(),
        output: OutputMap::Exp,
    };
    let mlp = Mlp::new(cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let coords: Vec<f64> = (0..37).map(|i| i as f64 * 27.0).collect();
    let mut ws = MlpWorkspace::new(&mlp, &coords);
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
        // exp has no cancellation: every value to f32 rounding of its inputs (a few ulps of g,
        // and |g| < 10 here, so 1e-5 relative)
        for (a, b) in ws.component_values(k).iter().zip(&vals) {
            assert!(*b > 0.0);
            assert!((*a as f64 - b).abs() <= 1e-5 * b, "value {a} vs {b}");
        }
        // gradients are sums of terms of both signs over 37 coordinates in f32: relative 1e-3
        // plus a floor of 1e-5 of the largest, the f32 rounding of the largest terms
        let scale_g = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in grad[k * per..(k + 1) * per].iter().zip(&g) {
            assert!(
                (*a as f64 - b).abs() <= 1e-3 * b.abs() + 1e-5 * scale_g,
                "grad {a} vs {b}"
            );
        }
    }
}

#[test]
fn exp_output_is_positive_and_survives_a_model_file() {
    let pts = cloud(300, 12, 20, 2.0, 4);
    let mut spec = ModelSpec::new(3);
    spec.width = 8;
    spec.output = OutputMap::Exp;
    let model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let data = innmf::modelfile::TrainingData::PointSet {
        source: "cloud".into(),
        power: 1.0,
    };
    innmf::modelfile::save(&path, &model, &data, &serde_json::json!({})).unwrap();
    let (back, _) = innmf::modelfile::load(&path).unwrap();
    assert_eq!(back, model);
    match &back.w {
        Factor::Implicit(m) => assert_eq!(m.config.output, OutputMap::Exp),
        Factor::Explicit(_) => panic!("W should be implicit"),
    }
    assert!(model
        .sample_w(&[0.0, 123.0, 4000.0])
        .iter()
        .all(|&v| v > 0.0));
}

#[test]
fn exp_output_trains() {
    let pts = cloud(400, 10, 20, 2.0, 9);
    let mut spec = ModelSpec::new(2);
    spec.width = 8;
    spec.h = FactorKind::Explicit;
    spec.output = OutputMap::Exp;
    spec.match_scale = true;
    let mut model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    let cfg = FitConfig {
        steps: 150,
        ..FitConfig::default()
    };
    let rep = fit(&mut model, &pts, &cfg, None, None).unwrap();
    assert!(
        rep.final_loss < 0.8 * rep.loss_history[0],
        "{} vs {}",
        rep.final_loss,
        rep.loss_history[0]
    );
}

#[test]
fn match_scale_equates_the_mean_of_the_model_and_the_data() {
    // magnitudes of a unit-norm recording's |X|^0.5 are about 1e-2; the paper's start gives
    // K·0.7·1 ≈ 3 per point with K = 4
    let pts = cloud(500, 15, 25, 0.02, 5);
    let target = pts.m().iter().sum::<f64>() / pts.len() as f64;
    for (wk, hk) in [
        (FactorKind::Implicit, FactorKind::Explicit),
        (FactorKind::Explicit, FactorKind::Implicit),
        (FactorKind::Implicit, FactorKind::Implicit),
        (FactorKind::Explicit, FactorKind::Explicit),
    ] {
        for output in [OutputMap::Softplus, OutputMap::Exp] {
            let mut spec = ModelSpec::new(4);
            spec.w = wk;
            spec.h = hk;
            spec.width = 8;
            spec.output = output;
            let plain = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
            let before = plain.predict(&pts).iter().sum::<f64>() / pts.len() as f64;
            assert!(
                before > 50.0 * target,
                "{wk:?}/{hk:?}: {before} vs {target}"
            );
            spec.match_scale = true;
            let model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
            let mean = model.predict(&pts).iter().sum::<f64>() / pts.len() as f64;
            // tables: exact up to f32 rounding of softplus⁻¹; implicit H: 40 bisection steps
            // on a shift in [−60, 60] (resolution 1e-10) but f32 outputs
            assert!(
                (mean - target).abs() <= 1e-4 * target,
                "{wk:?}/{hk:?}/{output:?}: {mean} vs {target}"
            );
            // only the scale moved: W is untouched whenever H can carry the scale
            if hk == FactorKind::Explicit || wk == FactorKind::Implicit {
                assert_eq!(model.w, plain.w, "{wk:?}/{hk:?}");
            }
        }
    }
}

#[test]
fn match_scale_rejects_silent_data() {
    let pts = TfPoints::new(vec![0.0, 0.1], vec![100.0, 200.0], vec![0.0, 0.0]).unwrap();
    let mut spec = ModelSpec::new(2);
    spec.width = 4;
    spec.match_scale = true;
    let err = spec
        .build(&pts, &mut ChaCha8Rng::seed_from_u64(0))
        .unwrap_err();
    assert!(err.to_string().contains("scale matching"), "{err}");
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

/// Two harmonic "voices" alternating every 0.25 s, at 8 kHz.
fn two_voices(n: usize) -> Vec<f64> {
    let sr = 8000.0;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let f0 = if ((t / 0.25) as usize).is_multiple_of(2) {
                140.0
            } else {
                210.0
            };
            (1..12)
                .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                .sum::<f64>()
                * 0.1
        })
        .collect()
}

#[test]
fn nmf_warm_start_reaches_a_lower_loss_than_a_random_start() {
    use innmf::separate::{learn_templates, TemplateConfig, TrainingOptions};
    let x = two_voices(16000);
    let base = TemplateConfig {
        rank: 4,
        width: 16,
        representation: innmf::transform::Representation::Stft(innmf::transform::StftParams::new(
            512, 256,
        )),
        steps: 150,
        training: TrainingOptions {
            match_scale: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let cold = learn_templates(&x, 8000.0, &base, None).unwrap();
    let warm_cfg = TemplateConfig {
        training: TrainingOptions {
            match_scale: true,
            nmf_warm_start: 300,
            w_steps: 100,
            ..Default::default()
        },
        steps: 50,
        ..base.clone()
    };
    let warm = learn_templates(&x, 8000.0, &warm_cfg, None).unwrap();
    assert!(
        warm.report.final_loss < 0.9 * cold.report.final_loss,
        "warm {} vs cold {}",
        warm.report.final_loss,
        cold.report.final_loss
    );
    let w = &warm.training["warm_start"];
    assert_eq!(w["nmf_iters"], 300);
    assert_eq!(w["w_steps"], 100);
    assert!(w["secs"].as_f64().unwrap() > 0.0);
    assert!(warm.training.get("warm_start").is_some() && cold.training.get("warm_start").is_none());
    // the warm start's time is part of the training's
    assert!(warm.report.elapsed_s >= w["secs"].as_f64().unwrap());
}

#[test]
fn learn_templates_names_a_bad_optimizer_before_the_analysis_and_the_warm_start() {
    use innmf::separate::{learn_templates, Preset, TemplateConfig};
    let x = two_voices(4000);
    // a window longer than the signal would fail the analysis: the optimizer is named first
    let bad_window =
        innmf::transform::Representation::Stft(innmf::transform::StftParams::new(1 << 20, 1 << 19));
    for (optimizer, h_optimizer, needle) in [
        (OptimizerConfig::rprop(f32::NAN), None, "NaN"),
        (OptimizerConfig::adam(-1.0), None, "-1"),
        (
            OptimizerConfig::rprop(1e-3),
            Some(OptimizerConfig::rprop(0.0)),
            "lr = 0",
        ),
    ] {
        let mut training = Preset::Innmf.training();
        training.h_optimizer = h_optimizer;
        let cfg = TemplateConfig {
            rank: 2,
            width: 8,
            representation: bad_window.clone(),
            optimizer,
            training,
            ..Default::default()
        };
        let e = learn_templates(&x, 8000.0, &cfg, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lr") && e.contains(needle), "{e}");
    }
}

#[test]
fn a_frozen_h_main_fit_is_the_w_only_stage_and_keeps_nmfs_activations() {
    use innmf::separate::{learn_templates, TemplateConfig, TrainingOptions};
    let x = two_voices(12000);
    let base = TemplateConfig {
        rank: 3,
        width: 12,
        representation: innmf::transform::Representation::Stft(innmf::transform::StftParams::new(
            256, 128,
        )),
        steps: 40,
        ..Default::default()
    };
    let nmf_iters = 60;
    // the preset's form: no W-only stage, the main fit trains W alone
    let frozen = TemplateConfig {
        training: TrainingOptions {
            match_scale: true,
            nmf_warm_start: nmf_iters,
            freeze_h: true,
            ..Default::default()
        },
        ..base.clone()
    };
    // the same training written as the warm start's W-only stage with no main steps
    let staged = TemplateConfig {
        training: TrainingOptions {
            match_scale: true,
            nmf_warm_start: nmf_iters,
            w_steps: 40,
            ..Default::default()
        },
        steps: 0,
        ..base.clone()
    };
    // and one step of it: H is where the warm start left it
    let start = TemplateConfig {
        steps: 1,
        ..frozen.clone()
    };
    let a = learn_templates(&x, 8000.0, &frozen, None).unwrap();
    let b = learn_templates(&x, 8000.0, &staged, None).unwrap();
    let c = learn_templates(&x, 8000.0, &start, None).unwrap();
    let pts = innmf::transform::Analysis::new(&base.representation, 8000.0, 0.5, base.calibration)
        .unwrap()
        .points(&x)
        .unwrap();
    let (freqs, times) = (pts.unique_freqs().to_vec(), pts.unique_times().to_vec());
    assert_eq!(a.model.sample_w(&freqs), b.model.sample_w(&freqs));
    assert_eq!(a.model.sample_h(&times), b.model.sample_h(&times));
    assert_eq!(a.report.final_loss, b.report.final_loss);
    assert_eq!(a.report.steps, 40);
    // H stays NMF's (as the warm start left it) through the main fit; W moves and fits better
    assert_eq!(a.model.sample_h(&times), c.model.sample_h(&times));
    assert_ne!(a.model.sample_w(&freqs), c.model.sample_w(&freqs));
    assert!(
        a.report.final_loss < 0.5 * a.report.loss_history[0],
        "{} from {}",
        a.report.final_loss,
        a.report.loss_history[0]
    );
    // a frozen H needs NMF's activations to freeze
    let mut bad = frozen.clone();
    bad.training.nmf_warm_start = 0;
    let e = learn_templates(&x, 8000.0, &bad, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("freeze_h") && e.contains("nmf_warm_start"),
        "{e}"
    );
    assert!(bad.training.validate().is_err() && frozen.training.validate().is_ok());
}

#[test]
fn presets_paper_is_the_default_and_innmf_warm_starts() {
    use innmf::separate::{HSolver, Preset, TrainingOptions};
    assert_eq!(Preset::default(), Preset::Paper);
    assert_eq!(Preset::Paper.training(), TrainingOptions::default());
    assert_eq!(Preset::Paper.activations(), (HSolver::Rprop, 100));
    let t = Preset::Innmf.training();
    assert!(t.nmf_warm_start > 0 && t.freeze_h && t.match_scale && t.freq_midpoints == 1);
    assert_eq!(t.w_target, innmf::separate::WTarget::Templates);
    assert_eq!(t.nmf_precision, innmf::nmf::Precision::F32);
    assert_eq!(t.main_freeze(), innmf::Freeze::H);
    assert_eq!(Preset::Paper.training().main_freeze(), innmf::Freeze::None);
    assert_eq!(Preset::of_training(&t), Some(Preset::Innmf));
    assert_eq!(Preset::Innmf.activations().0, HSolver::Mu);
    assert_eq!("innmf".parse::<Preset>().unwrap(), Preset::Innmf);
    let e = "fast".parse::<Preset>().unwrap_err().to_string();
    assert!(e.contains("fast") && e.contains("paper, innmf"), "{e}");
}

#[test]
fn warm_start_is_a_no_op_without_nmf_iterations_and_refuses_an_implicit_h() {
    use innmf::separate::{warm_start, Preset, TrainingOptions};
    let x = two_voices(8000);
    let a = innmf::transform::Analysis::new(
        &innmf::transform::Representation::Stft(innmf::transform::StftParams::new(256, 128)),
        8000.0,
        0.5,
        innmf::transform::Calibration::Native,
    )
    .unwrap();
    let pts = a.points(&x).unwrap();
    let mut spec = ModelSpec::new(3);
    spec.width = 8;
    spec.h = FactorKind::Explicit;
    let mut model = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let before = model.clone();
    let fit_cfg = FitConfig::default();
    let v = warm_start(
        &mut model,
        &pts,
        &TrainingOptions::default(),
        1.0,
        0,
        &fit_cfg,
        None,
    )
    .unwrap();
    assert!(v.is_null());
    assert_eq!(
        model.sample_h(pts.unique_times()),
        before.sample_h(pts.unique_times())
    );
    assert_eq!(
        model.sample_w(pts.unique_freqs()),
        before.sample_w(pts.unique_freqs())
    );
    // the preset's warm start lowers the loss of the untrained model (H from NMF, W fitted to it)
    let loss = |m: &innmf::Model| m.loss(&pts, &innmf::Divergence::kl());
    let opts = Preset::Innmf.training();
    // a progress callback that lets it run sees step 0 of the main fit and changes nothing
    let mut observed = model.clone();
    let mut calls = 0usize;
    let mut cb = |step: usize, steps: usize, loss: f64| {
        assert_eq!((step, steps), (0, fit_cfg.steps));
        assert!(loss.is_finite());
        calls += 1;
        std::ops::ControlFlow::Continue(())
    };
    warm_start(&mut observed, &pts, &opts, 1.0, 0, &fit_cfg, Some(&mut cb)).unwrap();
    assert!(calls >= opts.nmf_warm_start, "{calls} calls");
    // ... and one that asks to stop interrupts it (a user's Ctrl-C)
    let mut stopped = model.clone();
    let mut stop = |_: usize, _: usize, _: f64| std::ops::ControlFlow::Break(());
    let e = warm_start(&mut stopped, &pts, &opts, 1.0, 0, &fit_cfg, Some(&mut stop)).unwrap_err();
    assert!(matches!(e, innmf::Error::Interrupted { .. }), "{e}");
    let v = warm_start(&mut model, &pts, &opts, 1.0, 0, &fit_cfg, None).unwrap();
    assert_eq!(v["nmf_iters"], opts.nmf_warm_start);
    assert_eq!(
        model.sample_w(pts.unique_freqs()),
        observed.sample_w(pts.unique_freqs())
    );
    assert_eq!(
        model.sample_h(pts.unique_times()),
        observed.sample_h(pts.unique_times())
    );
    assert!(
        loss(&model) < 0.5 * loss(&before),
        "{} vs {}",
        loss(&model),
        loss(&before)
    );
    // an implicit H has no table to start from
    spec.h = FactorKind::Implicit;
    let mut implicit = spec.build(&pts, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let e = warm_start(&mut implicit, &pts, &opts, 1.0, 0, &fit_cfg, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("explicit H"), "{e}");
}

#[test]
fn freq_midpoints_interpolate_between_bins_and_keep_the_bins() {
    use innmf::separate::{with_freq_midpoints, MAX_FREQ_MIDPOINTS};
    let freqs = [0.0, 10.0, 30.0];
    let times = [0.0, 0.5];
    // row-major freqs × times
    let mag = [1.0, 2.0, 3.0, 6.0, 0.0, 10.0];
    let pts = TfPoints::from_grid(&freqs, &times, &mag).unwrap();
    let same = with_freq_midpoints(&pts, 0).unwrap();
    assert_eq!(same.unique_freqs(), &freqs);
    assert_eq!(same.grid_values().unwrap().as_ref(), &mag);
    let fine = with_freq_midpoints(&pts, 3).unwrap();
    // by hand: 3 points at 1/4, 2/4, 3/4 of each interval
    let want_f = [0.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0];
    assert_eq!(fine.unique_freqs(), &want_f);
    assert_eq!(fine.unique_times(), &times);
    let v = fine.grid_values().unwrap();
    let want = [
        [1.0, 2.0],
        [1.5, 3.0],
        [2.0, 4.0],
        [2.5, 5.0],
        [3.0, 6.0],
        [2.25, 7.0],
        [1.5, 8.0],
        [0.75, 9.0],
        [0.0, 10.0],
    ];
    for (i, row) in want.iter().enumerate() {
        for (j, &w) in row.iter().enumerate() {
            let got = v[i * 2 + j];
            assert!(
                (got - w).abs() <= 1e-12 * w.abs().max(1.0),
                "({i}, {j}): {got} vs {w}"
            );
        }
    }
    // too many, and a cloud that is not one grid: named errors
    let e = with_freq_midpoints(&pts, MAX_FREQ_MIDPOINTS + 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("freq_midpoints") && e.contains("at most"), "{e}");
    let opts = innmf::separate::TrainingOptions {
        freq_midpoints: MAX_FREQ_MIDPOINTS + 1,
        ..Default::default()
    };
    assert!(opts
        .validate()
        .unwrap_err()
        .to_string()
        .contains("freq_midpoints"));
    let e = with_freq_midpoints(&cloud(50, 7, 9, 1.0, 3), 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("grid"), "{e}");
}

/// Templates learned with `opts` from `two_voices(12000)` at 8 kHz (STFT 256/128, rank `rank`,
/// width 16), and the analysis's points they were trained on.
fn learned_two_voices(
    rank: usize,
    steps: usize,
    seed: u64,
    opts: &innmf::separate::TrainingOptions,
) -> (
    innmf::separate::TemplateConfig,
    innmf::separate::LearnedTemplates,
    TfPoints,
    Vec<f64>,
) {
    let x = two_voices(12000);
    let repr = innmf::transform::Representation::Stft(innmf::transform::StftParams::new(256, 128));
    let cfg = innmf::separate::TemplateConfig {
        rank,
        width: 16,
        representation: repr.clone(),
        steps,
        seed,
        training: opts.clone(),
        ..Default::default()
    };
    let got = innmf::separate::learn_templates(&x, 8000.0, &cfg, None).unwrap();
    let pts = innmf::transform::Analysis::new(&repr, 8000.0, 0.5, cfg.calibration)
        .unwrap()
        .points(&x)
        .unwrap();
    (cfg, got, pts, x)
}

/// The NMF of an `innmf` warm start: KL, the paper's start, `iters` updates, no early stop.
fn warm_start_nmf(rank: usize, iters: usize, seed: u64) -> innmf::nmf::NmfParams {
    innmf::nmf::NmfParams::new(rank)
        .beta(1.0)
        .init(innmf::nmf::Init::Paper)
        .max_iter(iters)
        .tol(0.0)
        .check_every(innmf::separate::MU_CHECK_EVERY)
        .seed(seed)
}

#[test]
fn w_target_templates_fits_each_network_to_its_nmf_template_and_keeps_nmfs_activations() {
    use innmf::separate::{learn_templates, TemplateConfig, TrainingOptions, WTarget};
    let (rank, iters, seed) = (3, 200, 7);
    let opts = TrainingOptions {
        nmf_warm_start: iters,
        w_steps: 400,
        w_target: WTarget::Templates,
        ..Default::default()
    };
    let (cfg, got, pts, x) = learned_two_voices(rank, 0, seed, &opts);
    let (freqs, times) = (pts.unique_freqs().to_vec(), pts.unique_times().to_vec());
    let (nf, nt) = (freqs.len(), times.len());
    // the reference: the same NMF run on its own
    let v = pts.grid_values().unwrap();
    let (w, h, rep) = warm_start_nmf(rank, iters, seed)
        .fit::<f64>(&v, nf, nt)
        .unwrap();
    let mean = |c: usize| (0..nf).map(|f| w[f * rank + c]).sum::<f64>() / nf as f64;
    // H is NMF's, each row times its template's mean (to the table's f32 storage)
    let hm = got.model.sample_h(&times);
    for c in 0..rank {
        for t in 0..nt {
            let want = h[c * nt + t] * mean(c);
            let e = (hm[c * nt + t] as f64 - want).abs() / want.max(1e-9);
            assert!(e < 1e-4, "H[{c},{t}] {} vs {want}", hm[c * nt + t]);
        }
    }
    // each network follows its template, divided by the template's mean
    let wm = got.model.sample_w(&freqs);
    for c in 0..rank {
        let col: Vec<f64> = (0..nf).map(|f| w[f * rank + c] / mean(c)).collect();
        let top = col.iter().cloned().fold(0.0, f64::max);
        let mut errs: Vec<f64> = (0..nf)
            .filter(|&f| col[f] > 0.05 * top)
            .map(|f| (wm[c * nf + f] as f64 - col[f]).abs() / col[f])
            .collect();
        errs.sort_by(f64::total_cmp);
        let median = errs[errs.len() / 2];
        assert!(
            median < 0.02,
            "component {c}: median relative error {median}"
        );
    }
    // so the data's loss comes close to NMF's own, and the record says what it is
    let loss = got.model.loss(&pts, &innmf::Divergence::kl());
    assert!(
        loss < 1.02 * rep.final_loss,
        "{loss} vs NMF {}",
        rep.final_loss
    );
    let warm = &got.training["warm_start"];
    assert_eq!(warm["w_final_loss"].as_f64().unwrap(), loss);
    assert_eq!(got.report.final_loss, loss);
    assert!(warm["template_final_loss"].as_f64().unwrap() > 0.0);
    assert_eq!(got.training["w_target"], "templates");
    // the preset's form (no W-only stage, the main fit trains W alone) fits the templates the
    // same way, bit for bit
    let frozen = TemplateConfig {
        steps: 400,
        training: TrainingOptions {
            w_steps: 0,
            freeze_h: true,
            ..opts.clone()
        },
        ..cfg.clone()
    };
    let same = learn_templates(&x, 8000.0, &frozen, None).unwrap();
    assert_eq!(same.model.sample_w(&freqs), wm);
    assert_eq!(same.model.sample_h(&times), hm);
    assert_eq!(same.report.final_loss, loss);
    assert_eq!(same.report.steps, 400);
    // its losses are the data's, before and after; the templates' is the warm start's record
    assert_eq!(same.report.loss_history.len(), 2);
    assert!(
        same.report.loss_history[0] > 2.0 * loss,
        "{:?}",
        same.report.loss_history
    );
    assert_eq!(
        same.training["warm_start"]["template_final_loss"],
        warm["template_final_loss"]
    );
    // per-point weights weigh the data, which a fit to the templates does not see
    let mut model = got.model.clone();
    let e = innmf::separate::train(
        &mut model,
        &pts,
        &frozen.training,
        1.0,
        seed,
        &FitConfig::default(),
        Some(&vec![1.0; pts.len()]),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("weights") && e.contains("templates"), "{e}");
    // templates need a fit of W alone to follow them
    let mut bad = opts.clone();
    bad.w_steps = 0;
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("w_target") && e.contains("freeze_h"), "{e}");
    let e = "table".parse::<WTarget>().unwrap_err().to_string();
    assert!(e.contains("table") && e.contains("data, templates"), "{e}");
}

#[test]
fn an_f32_warm_start_keeps_the_f32_engines_activations_and_says_so() {
    use innmf::nmf::Precision;
    use innmf::separate::{TrainingOptions, WTarget};
    let (rank, iters, seed) = (3, 200, 11);
    let opts = TrainingOptions {
        nmf_warm_start: iters,
        freeze_h: true,
        w_target: WTarget::Templates,
        nmf_precision: Precision::F32,
        ..Default::default()
    };
    let (_, got, pts, _) = learned_two_voices(rank, 20, seed, &opts);
    let (nf, nt) = (pts.unique_freqs().len(), pts.unique_times().len());
    let times = pts.unique_times().to_vec();
    let v = pts.grid_values().unwrap();
    let nmf = warm_start_nmf(rank, iters, seed);
    // the reference: the f32 engine on its own (data rounded to f32, factors widened back)
    let (w, h, rep) = nmf.fit_as(Precision::F32, &v, nf, nt).unwrap();
    let (w64, h64, _) = nmf.fit_as(Precision::F64, &v, nf, nt).unwrap();
    let mean = |w: &[f64], c: usize| (0..nf).map(|f| w[f * rank + c]).sum::<f64>() / nf as f64;
    let hm = got.model.sample_h(&times);
    let mut moved = 0.0f64;
    for c in 0..rank {
        for t in 0..nt {
            let want = h[c * nt + t] * mean(&w, c);
            let e = (hm[c * nt + t] as f64 - want).abs() / want.max(1e-9);
            assert!(e < 1e-4, "H[{c},{t}] {} vs {want}", hm[c * nt + t]);
            let want64 = h64[c * nt + t] * mean(&w64, c);
            moved = moved.max((want - want64).abs() / want64.max(1e-6));
        }
    }
    // f32 and f64 agree to rounding, but not bit for bit: the f32 path did run
    assert!(
        moved > 0.0 && moved < 1e-2,
        "f32 vs f64 activations: {moved}"
    );
    let warm = &got.training["warm_start"];
    assert_eq!(warm["nmf_final_loss"].as_f64().unwrap(), rep.final_loss);
    assert_eq!(warm["nmf_precision"], "f32");
    assert_eq!(got.training["nmf_precision"], "f32");
    // f64, the default, is left out of the record; "f32" reads back
    let json = serde_json::to_value(TrainingOptions::default()).unwrap();
    assert!(json.get("nmf_precision").is_none(), "{json}");
    let back: TrainingOptions =
        serde_json::from_value(serde_json::to_value(&opts).unwrap()).unwrap();
    assert_eq!(back, opts);
    // magnitudes beyond f32's range are refused by name, not fitted as infinities
    let big = TfPoints::new(
        pts.t().to_vec(),
        pts.f().to_vec(),
        pts.m().iter().map(|m| m * 1e300).collect(),
    )
    .unwrap();
    let mut model = got.model.clone();
    let e = innmf::separate::train(
        &mut model,
        &big,
        &opts,
        1.0,
        seed,
        &FitConfig::default(),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("training data") && e.contains("nmf_precision"),
        "{e}"
    );
    let e = serde_json::from_value::<TrainingOptions>(serde_json::json!({"nmf_precision": "f16"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("f16"), "{e}");
}
