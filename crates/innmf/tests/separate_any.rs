//! Separation in every invertible representation (issue 16): mixture consistency, two harmonic
//! sources in the NSGT and the CWT, a source with a silent partner, oracle ratio masks, and the
//! error for representations without an inverse.

use innmf::metrics::bss_eval::bss_eval_sources;
use innmf::separate::{
    learn_templates, resynthesize_masked, separate, SeparateConfig, TemplateConfig, TemplateSet,
};
use innmf::transform::{
    Calibration, CwtSpec, MultiresSpec, NsgtSpec, Padding, Representation, SinesSpec, TrackParams,
    TransformKind,
};
use innmf::Model;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

const SR: f64 = 8000.0;
const LEN: usize = 12000;

/// A harmonic source: notes with fundamentals in `f0` (Hz) changing every 0.25 s, `harmonics`
/// partials of amplitude 1/h², 10 ms ramps at note changes.
fn harmonic(len: usize, f0: (f64, f64), harmonics: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut x = vec![0.0; len];
    let seg = (0.25 * SR) as usize;
    let ramp = 0.01 * SR;
    let mut phase = 0.0f64;
    for s in (0..len).step_by(seg) {
        let f = rng.random_range(f0.0..f0.1);
        let amp = rng.random_range(0.4..1.0);
        for (i, v) in x.iter_mut().enumerate().skip(s).take(seg) {
            let env = ((i - s) as f64 / ramp).min(1.0) * ((s + seg - i) as f64 / ramp).min(1.0);
            phase += 2.0 * PI * f / SR;
            let partials: f64 = (1..=harmonics)
                .map(|h| (h as f64 * phase).sin() / (h * h) as f64)
                .sum();
            *v = 0.3 * amp * env * partials;
        }
    }
    x
}

/// Below 200 Hz: fundamentals 80–180 Hz, 4 partials (at most 720 Hz).
fn low(seed: u64) -> Vec<f64> {
    harmonic(LEN, (80.0, 180.0), 4, seed)
}

/// Fundamentals 800–1100 Hz, 3 partials.
fn high(seed: u64) -> Vec<f64> {
    harmonic(LEN, (800.0, 1100.0), 3, seed)
}

fn nsgt() -> Representation {
    Representation::Nsgt(NsgtSpec {
        f_min: 50.0,
        f_max: Some(3500.0),
        bins_per_octave: 24,
    })
}

fn cwt() -> Representation {
    Representation::Cwt(CwtSpec {
        f_min: 50.0,
        f_max: Some(2500.0),
        voices_per_octave: 24,
        ..CwtSpec::default()
    })
}

fn stft() -> Representation {
    Representation::stft(512, 128, Padding::Center)
}

fn sines() -> Representation {
    Representation::Sines(SinesSpec {
        window_len: 512,
        hop: 128,
        tracking: Some(TrackParams::default()),
        ..SinesSpec::default()
    })
}

fn multires() -> Representation {
    Representation::Multires(MultiresSpec::default())
}

/// Every invertible representation, with a name.
fn invertible() -> Vec<Representation> {
    vec![stft(), nsgt(), cwt(), multires(), sines()]
}

fn template_cfg(rep: Representation) -> TemplateConfig {
    TemplateConfig {
        rank: 4,
        width: 16,
        representation: rep,
        calibration: Calibration::UnitTone,
        steps: 300,
        ..Default::default()
    }
}

fn sep_cfg(rep: Representation) -> SeparateConfig {
    SeparateConfig {
        representation: Some(rep),
        calibration: Calibration::UnitTone,
        ..Default::default()
    }
}

fn train(x: &[f64], rep: Representation) -> Model {
    learn_templates(x, SR, &template_cfg(rep), None)
        .unwrap()
        .model
}

fn sdr(refs: &[&[f64]], ests: &[&[f64]]) -> Vec<f64> {
    bss_eval_sources(refs, ests, false).unwrap().sdr
}

/// `10·log10(|s|² / |s − ŝ|²)`.
fn snr(s: &[f64], est: &[f64]) -> f64 {
    let e: f64 = s.iter().zip(est).map(|(a, b)| (a - b) * (a - b)).sum();
    let p: f64 = s.iter().map(|a| a * a).sum();
    10.0 * (p / e.max(1e-300)).log10()
}

fn mix(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Templates learned once on the STFT (unit-tone calibration): they apply to every
/// representation, so the per-representation tests below need no training of their own.
fn stft_templates() -> (Model, Model) {
    (train(&low(1), stft()), train(&high(2), stft()))
}

#[test]
fn separated_signals_sum_to_the_mixture_in_every_representation() {
    let (wa, wb) = stft_templates();
    let x = mix(&low(11), &high(12));
    let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
    for rep in invertible() {
        let name = rep.name();
        let cfg = SeparateConfig {
            keep_models: true,
            ..sep_cfg(rep.clone())
        };
        let sep = separate(&x, SR, &sets, &cfg, None).unwrap();
        assert_eq!(sep.sources.len(), 2, "{name}");
        assert!(sep.sources.iter().all(|s| s.len() == LEN), "{name}");
        // the masks sum to 1 per point and synthesis is linear: the outputs sum to the
        // mixture's own resynthesis (the mixture itself, to the inverse's accuracy, for every
        // transform but the sinusoidal model, which keeps only its partials; the CWT's outputs
        // are band-limited and given the mixture's remainder, so they sum to the mixture)
        let plan = rep.plan(SR, LEN).unwrap();
        let y = if rep.kind() == TransformKind::Cwt {
            x.clone()
        } else {
            plan.synthesize(&plan.analyze(&x).unwrap()).unwrap()
        };
        let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = (0..LEN)
            .map(|i| (sep.sources[0][i] + sep.sources[1][i] - y[i]).abs())
            .fold(0.0, f64::max);
        // sums of O(L) rounded f64 terms per output sample
        assert!(err < 1e-9 * scale, "{name}: max |Σ ŝ_j − y| = {err}");
        let recon = snr(&x, &y);
        let consistency = snr(&x, &mix(&sep.sources[0], &sep.sources[1]));
        eprintln!("{name}: resynthesis {recon:.1} dB, Σ outputs vs mixture {consistency:.1} dB");
        if rep.kind() != TransformKind::Sines {
            // stft/nsgt/cwt invert to rounding, multires to ≈ 180 dB (its documented accuracy)
            assert!(consistency > 120.0, "{name}: {consistency} dB");
        }
        assert_eq!(sep.models.len(), 2);
        assert_eq!(sep.models[0].len(), plan.analyze(&x).unwrap().n_points());
    }
}

#[test]
fn harmonic_sources_with_disjoint_pitch_ranges_separate_above_20_db_in_nsgt_and_cwt() {
    let (a, b) = (low(11), high(12));
    let x = mix(&a, &b);
    for rep in [nsgt(), cwt()] {
        let name = rep.name();
        // templates learned in the representation itself, on other notes
        let (wa, wb) = (train(&low(1), rep.clone()), train(&high(2), rep.clone()));
        let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
        let sep = separate(&x, SR, &sets, &sep_cfg(rep), None).unwrap();
        let s = sdr(&[&a, &b], &[&sep.sources[0], &sep.sources[1]]);
        eprintln!("{name}: SDR {s:?}");
        assert!(s.iter().all(|&v| v > 20.0), "{name}: SDR {s:?}");
    }
}

#[test]
fn a_source_with_a_silent_partner_comes_back_intact_in_every_invertible_representation_but_sines() {
    let a = low(11);
    // Not the sinusoidal model: with a handful of peaks per frame, the activations of both
    // template sets are underdetermined (measured: the silent partner takes 27 % of the energy
    // with STFT templates, 63 % with templates learned on peaks, which say nothing about where
    // a source has no partial). Known limitation, reported in the issue.
    for rep in invertible()
        .into_iter()
        .filter(|r| r.kind() != TransformKind::Sines)
    {
        let name = rep.name();
        // templates learned in the representation itself
        let (wa, wb) = (train(&low(1), rep.clone()), train(&high(2), rep.clone()));
        let sets = [TemplateSet::from(&wa), TemplateSet::from(&wb)];
        let sep = separate(&a, SR, &sets, &sep_cfg(rep.clone()), None).unwrap();
        let plan = rep.plan(SR, LEN).unwrap();
        let limit = snr(&a, &plan.synthesize(&plan.analyze(&a).unwrap()).unwrap());
        let got = snr(&a, &sep.sources[0]);
        let share = sep.report.energy_share[1];
        eprintln!("{name}: {got:.1} dB (resynthesis {limit:.1} dB), partner {share:.2e}");
        // intact: within 3 dB of what the transform's own round trip gives, or above 50 dB
        assert!(
            got > 50.0f64.min(limit - 3.0),
            "{name}: {got} dB (limit {limit} dB)"
        );
        assert!(share < 1e-4, "{name}: the silent partner took {share}");
    }
}

/// Oracle ratio masks `|c_a|²/(|c_a|² + |c_b|²)` of two sources whose partials are far apart.
#[test]
fn oracle_ratio_masks_reach_the_reconstruction_limit() {
    // two sources whose partials are periodic over the signal and far apart in frequency
    let tone = |freqs: &[f64]| -> Vec<f64> {
        (0..LEN)
            .map(|i| {
                freqs
                    .iter()
                    .map(|f| (2.0 * PI * f * i as f64 / SR).sin())
                    .sum::<f64>()
                    * 0.3
            })
            .collect()
    };
    // 2/3 Hz resolution over 1.5 s: whole cycles on every partial
    let (a, b) = (tone(&[120.0, 240.0]), tone(&[1500.0, 2250.0]));
    let x = mix(&a, &b);
    for rep in [stft(), nsgt(), cwt(), multires()] {
        let name = rep.name();
        let plan = rep.plan(SR, LEN).unwrap();
        let (ca, cb, cx) = (
            plan.analyze(&a).unwrap(),
            plan.analyze(&b).unwrap(),
            plan.analyze(&x).unwrap(),
        );
        let (ma, mb) = (ca.to_points(1.0).unwrap(), cb.to_points(1.0).unwrap());
        let gain: Vec<f64> = ma
            .m()
            .iter()
            .zip(mb.m())
            .map(|(&p, &q)| {
                let (p2, q2) = (p * p, q * q);
                if p2 + q2 > 0.0 {
                    p2 / (p2 + q2)
                } else {
                    0.5
                }
            })
            .collect();
        let rest: Vec<f64> = gain.iter().map(|g| 1.0 - g).collect();
        let est = resynthesize_masked(
            &rep.resolve(SR).unwrap(),
            plan.as_ref(),
            &cx,
            &[gain, rest],
            &x,
        )
        .unwrap();
        let got = snr(&a, &est[0]);
        let limit = snr(&a, &plan.synthesize(&ca).unwrap());
        eprintln!("{name}: oracle {got:.1} dB, reconstruction limit {limit:.1} dB");
        match rep.kind() {
            // compact band supports: the two sources share no coefficient, the masks are 0/1
            TransformKind::Nsgt => assert!(got > 200.0f64.min(limit - 3.0), "{name}: {got} dB"),
            // Gaussian bands: leakage below the round trip's own limit (edges of the tones)
            TransformKind::Cwt => assert!(got > limit - 1.0, "{name}: {got} vs {limit} dB"),
            // windowed Fourier transforms: every source leaks into every bin through the
            // window's sidelobes, so ratio masks are exact only to the leakage (≈ 45 dB for
            // these (√)Hann windows), far below the round trip's rounding
            _ => assert!(got > 40.0, "{name}: {got} vs {limit} dB"),
        }
    }
}

#[test]
fn representations_without_an_inverse_are_refused_by_name() {
    let (wa, _) = stft_templates();
    let x = low(3);
    let sets = [TemplateSet::from(&wa)];
    for kind in [
        TransformKind::Cqt,
        TransformKind::Vqt,
        TransformKind::Hybrid,
    ] {
        let cfg = sep_cfg(Representation::default_for(kind));
        let e = separate(&x, SR, &sets, &cfg, None).unwrap_err().to_string();
        assert!(
            e.contains(kind.name()) && e.contains("nsgt") && e.contains("cwt"),
            "{kind}: {e}"
        );
    }
    // the sinusoidal model needs its tracks
    let cfg = sep_cfg(Representation::Sines(SinesSpec::default()));
    let e = separate(&x, SR, &sets, &cfg, None).unwrap_err().to_string();
    assert!(e.contains("sines") && e.contains("tracking"), "{e}");
    // templates of another calibration are named
    let cfg = SeparateConfig {
        calibration: Calibration::Native,
        ..sep_cfg(nsgt())
    };
    let l = learn_templates(&x, SR, &template_cfg(stft()), None).unwrap();
    let set = TemplateSet {
        model: &l.model,
        max_freq: None,
        data: Some(&l.data),
    };
    let e = separate(&x, SR, &[set], &cfg, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("UnitTone") && e.contains("Native"), "{e}");
    // phase refinement is the STFT's
    let cfg = SeparateConfig {
        phase_iters: 5,
        ..sep_cfg(cwt())
    };
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("phase_iters") && e.contains("cwt"), "{e}");
}
