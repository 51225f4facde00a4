//! Separation: synthetic sources with disjoint spectra, identity, Wiener sums, windows, errors.

use innmf::metrics::bss_eval::bss_eval_sources;
use innmf::nmf::Precision;
use innmf::separate::{
    learn_templates, masks, separate, HSolver, MaskKind, PhaseMethod, SeparateConfig,
    TemplateConfig, TemplateMethod, TemplateSet,
};
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

const SR: f64 = 8000.0;

/// A low harmonic source: notes on 196–294 Hz with 6 harmonics, changing every 0.25 s.
fn low_harmonic(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut x = vec![0.0; len];
    let seg = (0.25 * SR) as usize;
    let mut phase = 0.0f64;
    for s in (0..len).step_by(seg) {
        let f0 = rng.random_range(196.0..294.0);
        let amp = rng.random_range(0.3..1.0);
        for (i, v) in x.iter_mut().enumerate().skip(s).take(seg) {
            let env = ((i - s) as f64 / 200.0).min(1.0) * ((s + seg - i) as f64 / 200.0).min(1.0);
            phase += 2.0 * PI * f0 / SR;
            *v = amp
                * env
                * (1..=6)
                    .map(|h| (h as f64 * phase).sin() / h as f64)
                    .sum::<f64>()
                * 0.3;
        }
    }
    x
}

/// A high noise band (2.6–3.6 kHz) with a slow amplitude envelope.
fn high_band(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let white: Vec<f64> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
    // band-pass by a sum of windowed sinc filters: a 129-tap FIR
    let taps = 129;
    let (f1, f2) = (2600.0 / SR, 3600.0 / SR);
    let h: Vec<f64> = (0..taps)
        .map(|n| {
            let m = n as f64 - (taps - 1) as f64 / 2.0;
            let sinc = |f: f64| {
                if m == 0.0 {
                    2.0 * f
                } else {
                    (2.0 * PI * f * m).sin() / (PI * m)
                }
            };
            let w = 0.42 - 0.5 * (2.0 * PI * n as f64 / (taps - 1) as f64).cos()
                + 0.08 * (4.0 * PI * n as f64 / (taps - 1) as f64).cos();
            (sinc(f2) - sinc(f1)) * w
        })
        .collect();
    (0..len)
        .map(|i| {
            let mut acc = 0.0;
            for (k, hk) in h.iter().enumerate() {
                if i >= k {
                    acc += hk * white[i - k];
                }
            }
            let env = 0.6 + 0.4 * (2.0 * PI * 1.3 * i as f64 / SR).sin();
            0.8 * acc * env
        })
        .collect()
}

fn small_templates() -> TemplateConfig {
    TemplateConfig {
        rank: 4,
        width: 16,
        representation: innmf::transform::Representation::stft(
            512,
            256,
            innmf::transform::Padding::None,
        ),
        steps: 300,
        ..Default::default()
    }
}

fn train(x: &[f64], cfg: &TemplateConfig) -> innmf::Model {
    learn_templates(x, SR, cfg, None).unwrap().model
}

fn sdr(refs: &[&[f64]], ests: &[&[f64]]) -> Vec<f64> {
    bss_eval_sources(refs, ests, false).unwrap().sdr
}

#[test]
fn disjoint_sources_separate_above_20_db() {
    let n = 8000;
    let cfg_t = small_templates();
    let wa = train(&low_harmonic(n, 1), &cfg_t);
    let wb = train(&high_band(n, 2), &cfg_t);
    // unseen mixture: other notes, other noise
    let (a, b) = (low_harmonic(n, 11), high_band(n, 12));
    let mix: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let cfg = SeparateConfig {
        window: 512,
        hop: 128,
        ..Default::default()
    };
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    let sep = separate(&mix, SR, &sets, &cfg, None).unwrap();
    assert_eq!(sep.sources.len(), 2);
    assert!(!sep.has_noise);
    assert!(sep.sources.iter().all(|s| s.len() == n));
    let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
    eprintln!("SDR {s:?}");
    assert!(s.iter().all(|&v| v > 20.0), "SDR {s:?}");
    // the outputs of Wiener masks with the mixture phase sum to the mixture
    let err = (0..n)
        .map(|i| (sep.sources[0][i] + sep.sources[1][i] - mix[i]).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-9, "max |Σ ŝ_j − x| = {err}");
    // the paper's masks and binary masks also separate these sources well
    for mask in [MaskKind::Paper, MaskKind::Binary] {
        let c = SeparateConfig {
            mask,
            ..cfg.clone()
        };
        let sep = separate(&mix, SR, &sets, &c, None).unwrap();
        let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
        eprintln!("{mask:?} SDR {s:?}");
        assert!(s.iter().all(|&v| v > 12.0), "{mask:?}: SDR {s:?}");
    }
    // multiplicative updates for H (the authors' NMF separation) instead of Rprop
    let c = SeparateConfig {
        solver: HSolver::Mu,
        steps: 300,
        ..cfg.clone()
    };
    let mu = separate(&mix, SR, &sets, &c, None).unwrap();
    let s = sdr(&[&a, &b], &[&mu.sources[0], &mu.sources[1]]);
    eprintln!("MU SDR {s:?}");
    assert!(s.iter().all(|&v| v > 20.0), "MU: SDR {s:?}");
    assert_eq!(mu.report.fit.steps, 300);
    // MU never increases the loss
    let h = &mu.report.fit.loss_history;
    assert!(h.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)), "{h:?}");
}

#[test]
fn mu_in_f32_matches_its_f64_twin() {
    // broadband noise over both sources' bands: every bin has a share of each model, so the
    // masks are not 0/1 and the fitted activations decide every output sample
    let n = 8000;
    let cfg_t = small_templates();
    let wa = train(&low_harmonic(n, 1), &cfg_t);
    let wb = train(&high_band(n, 2), &cfg_t);
    let (a, b) = (low_harmonic(n, 11), high_band(n, 12));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let mix: Vec<f64> = (0..n)
        .map(|i| a[i] + b[i] + 0.05 * rng.random_range(-1.0..1.0))
        .collect();
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    let cfg = SeparateConfig {
        window: 512,
        hop: 128,
        solver: HSolver::Mu,
        steps: 500,
        ..Default::default()
    };
    // f32 (the fused KL engine) is the default, also for settings written without the field;
    // f64 the reference
    assert_eq!(cfg.mu_precision, Precision::F32);
    let mut j = serde_json::to_value(&cfg).unwrap();
    j.as_object_mut().unwrap().remove("mu_precision");
    let read: SeparateConfig = serde_json::from_value(j).unwrap();
    assert_eq!(read, cfg);
    let s32 = separate(&mix, SR, &sets, &cfg, None).unwrap();
    let c64 = SeparateConfig {
        mu_precision: Precision::F64,
        ..cfg.clone()
    };
    let s64 = separate(&mix, SR, &sets, &c64, None).unwrap();
    for j in 0..2 {
        let (r, e) = (&s64.sources[j], &s32.sources[j]);
        let err: f64 = r.iter().zip(e).map(|(x, y)| (x - y) * (x - y)).sum();
        let snr = 10.0 * (r.iter().map(|x| x * x).sum::<f64>() / err).log10();
        eprintln!("source {j}: f32 vs f64 {snr:.1} dB");
        // the same sources to f32 rounding (≈ 150 dB here), and not the same computation
        assert!(snr > 100.0 && err > 0.0, "source {j}: f32 vs f64 {snr} dB");
    }
    let (l32, l64) = (s32.report.fit.final_loss, s64.report.fit.final_loss);
    assert!(
        (l32 - l64).abs() <= 1e-6 * l64,
        "final loss f32 {l32} vs f64 {l64}"
    );
}

#[test]
fn the_w_only_stage_of_a_warm_start_can_be_the_whole_training() {
    let x = low_harmonic(8000, 1);
    let warm = innmf::separate::TrainingOptions {
        match_scale: true,
        nmf_warm_start: 50,
        w_steps: 40,
        ..Default::default()
    };
    let cfg = TemplateConfig {
        steps: 0,
        training: warm.clone(),
        ..small_templates()
    };
    let l = learn_templates(&x, SR, &cfg, None).unwrap();
    assert_eq!(l.report.steps, 0);
    let w_loss = l.training["warm_start"]["w_final_loss"].as_f64().unwrap();
    assert_eq!(l.report.final_loss, w_loss);
    // the same templates as the first part of a training that goes on jointly: the W-only
    // stage is deterministic and the joint stage starts from it
    let two = TemplateConfig {
        steps: 1,
        ..cfg.clone()
    };
    let l2 = learn_templates(&x, SR, &two, None).unwrap();
    assert_eq!(
        l2.training["warm_start"]["w_final_loss"].as_f64(),
        Some(w_loss)
    );
    // without a W-only stage there is nothing to train: refused, naming the setting
    for training in [
        innmf::separate::TrainingOptions::default(),
        innmf::separate::TrainingOptions { w_steps: 0, ..warm },
    ] {
        let c = TemplateConfig {
            training,
            ..cfg.clone()
        };
        let e = learn_templates(&x, SR, &c, None).unwrap_err().to_string();
        assert!(e.contains("steps") && e.contains("w_steps"), "{e}");
    }
}

#[test]
fn training_window_differs_from_mixture_window() {
    let n = 8000;
    let cfg_t = small_templates(); // 512 / 256
    let wa = train(&low_harmonic(n, 3), &cfg_t);
    let wb = train(&high_band(n, 4), &cfg_t);
    let (a, b) = (low_harmonic(n, 13), high_band(n, 14));
    let mix: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    for (window, hop) in [(256, 64), (1024, 256), (700, 175)] {
        let cfg = SeparateConfig {
            window,
            hop,
            ..Default::default()
        };
        let sep = separate(&mix, SR, &sets, &cfg, None).unwrap();
        assert_eq!(sep.report.bins, window / 2 + 1);
        let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
        eprintln!("window {window}: SDR {s:?}");
        assert!(s.iter().all(|&v| v > 15.0), "window {window}: SDR {s:?}");
    }
}

#[test]
fn a_source_plus_silence_comes_back_intact() {
    let n = 8000;
    let cfg_t = small_templates();
    let wa = train(&low_harmonic(n, 5), &cfg_t);
    let wb = train(&high_band(n, 6), &cfg_t);
    let a = low_harmonic(n, 15);
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    let cfg = SeparateConfig {
        window: 512,
        hop: 128,
        ..Default::default()
    };
    let sep = separate(&a, SR, &sets, &cfg, None).unwrap();
    let ea: f64 = a.iter().map(|v| v * v).sum();
    let err: f64 = a
        .iter()
        .zip(&sep.sources[0])
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let snr = 10.0 * (ea / err).log10();
    let other: f64 = sep.sources[1].iter().map(|v| v * v).sum();
    let leak = 10.0 * (other / ea).log10();
    eprintln!("SNR {snr:.1} dB, other output {leak:.1} dB");
    assert!(snr > 25.0, "SNR {snr} dB");
    assert!(leak < -25.0, "other output at {leak} dB");
}

#[test]
fn free_components_take_an_unknown_source() {
    let n = 8000;
    let cfg_t = small_templates();
    // the known source is the training recording itself: the free components must take the
    // rest (with unseen notes, they would also take what the templates cannot explain)
    let a = low_harmonic(n, 7);
    let wa = train(&a, &cfg_t);
    let b = high_band(n, 18);
    let mix: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let cfg = SeparateConfig {
        window: 512,
        hop: 128,
        free: 4,
        steps: 300,
        ..Default::default()
    };
    let sep = separate(&mix, SR, &[TemplateSet::from(&wa)], &cfg, None).unwrap();
    assert!(sep.has_noise);
    assert_eq!(sep.sources.len(), 2);
    assert_eq!(sep.report.ranks, vec![4, 4]);
    let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
    eprintln!("semi-supervised SDR {s:?}");
    // the free components also take a little of the known source: weaker than supervised
    assert!(s.iter().all(|&v| v > 8.0), "SDR {s:?}");
    let err = (0..n)
        .map(|i| (sep.sources[0][i] + sep.sources[1][i] - mix[i]).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-9);
}

#[test]
fn phase_refinement_keeps_the_sum_and_the_quality() {
    let n = 8000;
    let cfg_t = small_templates();
    let wa = train(&low_harmonic(n, 1), &cfg_t);
    let wb = train(&high_band(n, 2), &cfg_t);
    let (a, b) = (low_harmonic(n, 21), high_band(n, 22));
    let mix: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    for phase in [PhaseMethod::Misi, PhaseMethod::GriffinLim] {
        let cfg = SeparateConfig {
            window: 512,
            hop: 128,
            mask: MaskKind::Paper,
            phase_iters: 5,
            phase,
            ..Default::default()
        };
        let sep = separate(&mix, SR, &sets, &cfg, None).unwrap();
        let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
        eprintln!("{phase:?} SDR {s:?}");
        assert!(s.iter().all(|&v| v > 10.0), "{phase:?}: SDR {s:?}");
        if phase == PhaseMethod::Misi {
            let err = (0..n)
                .map(|i| (sep.sources[0][i] + sep.sources[1][i] - mix[i]).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-9, "MISI outputs do not sum to the mixture: {err}");
        }
    }
}

#[test]
fn nmf_templates_separate_too() {
    let n = 8000;
    let cfg_t = TemplateConfig {
        method: TemplateMethod::Nmf,
        steps: 300,
        ..small_templates()
    };
    let wa = train(&low_harmonic(n, 1), &cfg_t);
    let wb = train(&high_band(n, 2), &cfg_t);
    assert_eq!(wa.w.kind(), "explicit");
    let (a, b) = (low_harmonic(n, 11), high_band(n, 12));
    let mix: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    let cfg = SeparateConfig {
        window: 512,
        hop: 128,
        ..Default::default()
    };
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    let sep = separate(&mix, SR, &sets, &cfg, None).unwrap();
    let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
    eprintln!("NMF SDR {s:?}");
    assert!(s.iter().all(|&v| v > 15.0), "SDR {s:?}");
}

#[test]
fn masks_behave() {
    let models = vec![vec![1.0, 0.0, 4.0], vec![1.0, 0.0, 1.0]];
    let w = masks(&models, 0.5, MaskKind::Wiener).unwrap();
    assert!((w[0][0] - 0.5).abs() < 1e-12);
    assert!(
        (w[0][1] - 0.5).abs() < 1e-12,
        "all-zero models split equally"
    );
    // (4^4) / (4^4 + 1)
    assert!((w[0][2] - 256.0 / 257.0).abs() < 1e-12);
    for i in 0..3 {
        assert!((w[0][i] + w[1][i] - 1.0).abs() < 1e-12);
    }
    let p = masks(&models, 0.5, MaskKind::Paper).unwrap();
    assert!(
        (p[0][2] - 0.64).abs() < 1e-12,
        "(4/5)^2 = 0.64, got {}",
        p[0][2]
    );
    assert!(p[0][2] + p[1][2] < 1.0);
    let b = masks(&models, 0.5, MaskKind::Binary).unwrap();
    assert_eq!(b[0][2], 1.0);
    assert_eq!(b[1][2], 0.0);
    // tiny p does not overflow
    let t = masks(&[vec![1e3], vec![1e2]], 0.05, MaskKind::Wiener).unwrap();
    assert!(t[0][0].is_finite() && (t[0][0] - 1.0).abs() < 1e-9);
    assert!(masks(&[], 0.5, MaskKind::Wiener).is_err());
    assert!(masks(&[vec![1.0], vec![1.0, 2.0]], 0.5, MaskKind::Wiener).is_err());
    assert!(masks(&[vec![1.0]], 0.0, MaskKind::Wiener).is_err());
}

#[test]
fn errors_name_the_values() {
    let cfg_t = TemplateConfig {
        steps: 5,
        ..small_templates()
    };
    let x = low_harmonic(4000, 1);
    let m = train(&x, &cfg_t);
    let sets = [TemplateSet::from(&m)];
    let cfg = SeparateConfig {
        window: 512,
        hop: 128,
        steps: 5,
        ..Default::default()
    };
    let e = separate(&x[..300], SR, &sets, &cfg, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("300") && e.contains("512"), "{e}");
    let e = separate(&[], SR, &sets, &cfg, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("mixture"), "{e}");
    let e = separate(&x, SR, &[], &cfg, None).unwrap_err().to_string();
    assert!(e.contains("template"), "{e}");
    let e = learn_templates(&x[..100], SR, &cfg_t, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("100") && e.contains("512"), "{e}");
    let e = learn_templates(&[], SR, &cfg_t, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty"), "{e}");
    let bad = SeparateConfig {
        power: -1.0,
        ..cfg.clone()
    };
    assert!(separate(&x, SR, &sets, &bad, None).is_err());
    // templates zero at every mixture frequency
    let band = [TemplateSet {
        model: &m,
        max_freq: Some(-1.0),
        data: None,
    }];
    let e = separate(&x, SR, &band, &cfg, None).unwrap_err().to_string();
    assert!(e.contains("zero at every"), "{e}");
}

/// The separation as it was made before the masks were streamed: the mixture's spectrogram, the
/// activations fitted to its points, every output's `V̂_j` in full, the masks of [`masks`], one
/// masked copy of the spectrogram per output, inverted. Returns the sources and the models.
fn separate_in_full(
    mix: &[f64],
    sets: &[TemplateSet<'_>],
    cfg: &SeparateConfig,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let stft = innmf::separate::mixture_stft(cfg.window, cfg.hop, SR).unwrap();
    let spec = stft.analyze(mix).unwrap();
    let points = spec.to_points(cfg.power).unwrap();
    let (model, ranks, _) = innmf::separate::fit_activations(&points, sets, cfg, None).unwrap();
    let (freqs, times) = (points.unique_freqs(), points.unique_times());
    let (nf, nt) = (freqs.len(), times.len());
    let wv: Vec<f64> = model.w.evaluate(freqs).iter().map(|&v| v as f64).collect();
    let hv: Vec<f64> = model.h.evaluate(times).iter().map(|&v| v as f64).collect();
    let mut models = Vec::new();
    let mut c0 = 0;
    for &r in &ranks {
        let mut v = vec![0.0; nf * nt];
        for c in c0..c0 + r {
            for f in 0..nf {
                let wf = wv[c * nf + f];
                if wf == 0.0 {
                    continue;
                }
                for t in 0..nt {
                    v[f * nt + t] += wf * hv[c * nt + t];
                }
            }
        }
        models.push(v);
        c0 += r;
    }
    let gains = masks(&models, cfg.power, cfg.mask).unwrap();
    let sources = gains
        .iter()
        .map(|g| {
            let mut s = spec.clone();
            for (c, &gv) in s.coeffs.iter_mut().zip(g) {
                *c *= gv;
            }
            stft.synthesize(&s).unwrap()
        })
        .collect();
    (sources, models)
}

#[test]
fn masks_computed_frame_by_frame_give_the_bits_of_the_full_masks() {
    let n = 6000;
    let cfg_t = TemplateConfig {
        method: TemplateMethod::Nmf,
        steps: 100,
        ..small_templates()
    };
    let wa = train(&low_harmonic(n, 1), &cfg_t);
    let wb = train(&high_band(n, 2), &cfg_t);
    let mix: Vec<f64> = low_harmonic(n, 11)
        .iter()
        .zip(&high_band(n, 12))
        .map(|(x, y)| x + y)
        .collect();
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    let bits = |v: &[Vec<f64>]| -> Vec<Vec<u64>> {
        v.iter()
            .map(|s| s.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    for (mask, free, window, hop) in [
        (MaskKind::Wiener, 0, 512, 128),
        (MaskKind::Paper, 1, 400, 160),
        (MaskKind::Binary, 0, 255, 100),
    ] {
        let cfg = SeparateConfig {
            window,
            hop,
            mask,
            free,
            steps: 20,
            ..Default::default()
        };
        let (want, want_models) = separate_in_full(&mix, &sets, &cfg);
        assert_eq!(want.len(), 2 + free);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let sep = pool
                .install(|| separate(&mix, SR, &sets, &cfg, None))
                .unwrap();
            assert!(sep.models.is_empty(), "models only on request");
            assert_eq!(
                bits(&sep.sources),
                bits(&want),
                "{mask:?} {threads} threads"
            );
            let keep = SeparateConfig {
                keep_models: true,
                ..cfg.clone()
            };
            let sep = pool
                .install(|| separate(&mix, SR, &sets, &keep, None))
                .unwrap();
            assert_eq!(bits(&sep.sources), bits(&want), "{mask:?} kept models");
            assert_eq!(bits(&sep.models), bits(&want_models), "{mask:?} models");
        }
    }
}
