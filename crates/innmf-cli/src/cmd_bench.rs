//! `innmf bench`: named training workloads, timed per step, printed as JSON.
//!
//! Each workload runs warm-up steps, then times every step of a normal `innmf::fit` through its
//! progress callback and reports the median. Compare against `../shared/bench/torch_baseline.py`
//! run side by side (see the README for the exact commands).

use anyhow::{bail, Result};
use innmf::audio;
use innmf::field::Axis;
use innmf::optim::OptimizerConfig;
use innmf::transform::{Stft, StftParams};
use innmf::{FactorKind, FitConfig, Model, ModelSpec, TfPoints};
use rand::SeedableRng;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Implicit W (K=20, hidden 64) + explicit H on |STFT|^0.5 (window 2000, hop 1000) of 20 s
    /// of 16 kHz speech; full batch, Rprop.
    StftFit,
    /// Implicit W and H (K=2, hidden 16) on the demo's hybrid point set; random halves, Rprop.
    HybridFit,
    /// Classical KL multiplicative-update NMF, rank 20, 3000 iterations, on the stft-fit matrix
    /// (NNDSVDa start, W then H as scikit-learn does); f32.
    NmfKl,
    /// BSS Eval v3 (mir_eval's bss_eval_sources with permutation search, 512-tap filter) of two
    /// 5 s 16 kHz sources: ../shared/data/speech/{slt,awb}.wav when present, else synthesized.
    BssEval,
    /// The paper's constant-Q transform (Q = B = 64 from 20 Hz, 428 bins, hop N_k/8) of 30 s of
    /// 22.05 kHz audio with sparse spectral kernels (`FastCqt`).
    AnalyzeCqt,
    /// The same with direct sums (`DirectCqt`), for the speed-up of `analyze-cqt`.
    AnalyzeCqtDirect,
    /// librosa-compatible VQT (20 Hz, 428 bins, 64 per octave, hop 512) of the same audio.
    AnalyzeVqt,
    /// Invertible constant-Q NSGT (20–2079 Hz, 64 bands per octave) of the same audio.
    AnalyzeNsgt,
    /// Morlet CWT (ω0 = 6, 20–7000 Hz, 12 voices per octave, 102 scales, default per-scale
    /// decimation) of the same audio.
    AnalyzeCwt,
    /// The same CWT at full rate (every sample on every scale), as `pywt.cwt` computes it.
    AnalyzeCwtFull,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Workload.
    #[arg(value_enum)]
    pub workload: Workload,
    /// Input recording (stft-fit: 16 kHz speech, first 20 s; hybrid-fit: a 4410 Hz excerpt).
    /// Default: ../shared/bench/data/{speech_slt_20s,piano_4410}.wav if present, else a
    /// synthesized signal of the same size.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Timed steps.
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Timed calls of the bss-eval workload.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
}

fn load(args: &BenchArgs, default: &str, rate: u32, seconds: f64) -> Result<(Vec<f64>, String)> {
    let path = args.input.clone().or_else(|| {
        let p = PathBuf::from(default);
        p.exists().then_some(p)
    });
    match path {
        Some(p) => {
            let a = audio::read_wav(&p)?;
            if a.sample_rate != rate {
                bail!(
                    "{}: sample rate {} Hz, this workload needs {rate} Hz",
                    p.display(),
                    a.sample_rate
                );
            }
            let mut x = a.channels[0].clone();
            x.truncate((seconds * rate as f64) as usize);
            // speech at unit energy, as the baseline (and the authors' TIMIT loader) normalizes
            // it, so losses compare directly; the piano stays at its /32767 scale as there
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            if rate == 16000 && norm > 0.0 {
                x.iter_mut().for_each(|v| *v /= norm);
            }
            Ok((x, p.display().to_string()))
        }
        None => {
            let n = (seconds * rate as f64) as usize;
            let notes: Vec<innmf::demo::Note> = (0..(seconds as usize * 3))
                .map(|i| innmf::demo::Note {
                    f0: 110.0 * 2f64.powf((i % 12) as f64 / 12.0),
                    onset: i as f64 / 3.0,
                    end: i as f64 / 3.0 + 0.3,
                })
                .collect();
            Ok((
                innmf::demo::synthesize_notes(&notes, rate as f64, n),
                "synthesized".into(),
            ))
        }
    }
}

/// MLP FLOPs of one training step (forward + backward matrix products), as BASELINE-DETAILS.md
/// counts them: forward 2·N·K·(2J·h + D·h² + h); backward weight grads of every layer plus input
/// grads of every layer after the first.
fn mlp_flops(n: usize, k: usize, h: usize, j2: usize, d: usize) -> f64 {
    let fwd = 2.0 * (n * k) as f64 * (j2 * h + d * h * h + h) as f64;
    let bwd_w = fwd;
    let bwd_x = 2.0 * (n * k) as f64 * (d * h * h + h) as f64;
    fwd + bwd_w + bwd_x
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.steps < 1 {
        bail!("--steps must be at least 1");
    }
    let (points, model, cfg, input, flops) = match args.workload {
        Workload::NmfKl => return run_nmf(args),
        Workload::BssEval => return bss_eval(args),
        Workload::AnalyzeCqt
        | Workload::AnalyzeCqtDirect
        | Workload::AnalyzeVqt
        | Workload::AnalyzeNsgt
        | Workload::AnalyzeCwt
        | Workload::AnalyzeCwtFull => return run_analyze(args),
        Workload::StftFit => {
            let (x, input) = load(args, "../shared/bench/data/speech_slt_20s.wav", 16000, 20.0)?;
            let stft = Stft::new(StftParams::new(2000, 1000), 16000.0)?;
            let pts = stft.analyze(&x)?.to_points(0.5)?;
            let mut spec = ModelSpec::new(20);
            spec.h = FactorKind::Explicit;
            spec.freq_axis = Some(Axis::linear(0.0, 8000.0)?);
            let model = spec.build(&pts, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
            let (nf, nt) = (pts.unique_freqs().len(), pts.unique_times().len());
            let flops = mlp_flops(nf, 20, 64, 20, 3) + 3.0 * 2.0 * (nf * nt * 20) as f64;
            let cfg = FitConfig {
                optimizer: OptimizerConfig::rprop(1e-3),
                ..Default::default()
            };
            (pts, model, cfg, input, flops)
        }
        Workload::HybridFit => {
            let (x, input) = load(
                args,
                "../shared/bench/data/piano_4410.wav",
                4410,
                11_000.0 / 4410.0,
            )?;
            let (pts, _) = innmf::demo::hybrid_points(&x, 4410.0, 0.5)?;
            let mut spec = ModelSpec::new(2);
            spec.width = 16;
            spec.freq_axis = Some(Axis::linear(0.0, 2205.0)?);
            let model = spec.build(&pts, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
            let (nf, nt) = (pts.unique_freqs().len(), pts.unique_times().len());
            let flops = mlp_flops(nf + nt, 2, 16, 20, 3);
            let cfg = FitConfig {
                fraction: 0.5,
                ..Default::default()
            };
            (pts, model, cfg, input, flops)
        }
    };
    let times = time_steps(&points, model, &cfg, args.warmup, args.steps)?;
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let median = q(0.5);
    let out = serde_json::json!({
        "workload": format!("{:?}", args.workload).to_lowercase(),
        "input": input,
        "points": points.len(),
        "points_per_step": ((points.len() as f64 * cfg.fraction).round() as usize).clamp(1, points.len()),
        "unique_freqs": points.unique_freqs().len(),
        "unique_times": points.unique_times().len(),
        "grid": points.grid().is_some(),
        "threads": rayon::current_num_threads(),
        "build": innmf::build_info(),
        "warmup_steps": args.warmup,
        "timed_steps": times.len(),
        "median_ms": median * 1e3,
        "p10_ms": q(0.1) * 1e3,
        "p90_ms": q(0.9) * 1e3,
        "mlp_gflop_per_step": flops / 1e9,
        "gflop_per_s": flops / median / 1e9,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn run_nmf(args: &BenchArgs) -> Result<()> {
    use innmf::nmf::{Init, UpdateOrder};
    let (x, input) = load(args, "../shared/bench/data/speech_slt_20s.wav", 16000, 20.0)?;
    let spec = Stft::new(StftParams::new(2000, 1000), 16000.0)?.analyze(&x)?;
    let v: Vec<f32> = spec.magnitude().iter().map(|m| m.sqrt() as f32).collect();
    let iters = 3000;
    let mut runs = Vec::new();
    let mut loss = f64::NAN;
    for _ in 0..args.warmup.clamp(1, 3) {
        let (secs, l) = innmf::nmf::bench_nmf_kl(
            &v,
            spec.n_bins,
            spec.n_frames,
            20,
            iters,
            Init::Nndsvda,
            UpdateOrder::WThenH,
            0,
        )?;
        runs.push(secs);
        loss = l;
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    let out = serde_json::json!({
        "workload": "nmf-kl",
        "input": input,
        "shape": [spec.n_bins, spec.n_frames],
        "rank": 20,
        "iterations": iters,
        "threads": rayon::current_num_threads(),
        "build": innmf::build_info(),
        "runs": runs.len(),
        "median_s": runs[runs.len() / 2],
        "final_mean_kl": loss,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Seconds per step of `steps` timed steps after `warmup` steps.
fn time_steps(
    points: &TfPoints,
    mut model: Model,
    cfg: &FitConfig,
    warmup: usize,
    steps: usize,
) -> Result<Vec<f64>> {
    let mut stamps: Vec<Instant> = Vec::with_capacity(warmup + steps + 1);
    let cfg = FitConfig {
        steps: warmup + steps,
        ..cfg.clone()
    };
    let start = Instant::now();
    let mut cb = |_step: usize, _n: usize, _loss: f64| {
        stamps.push(Instant::now());
        std::ops::ControlFlow::Continue(())
    };
    innmf::fit(&mut model, points, &cfg, None, Some(&mut cb))?;
    let mut prev = if warmup == 0 {
        start
    } else {
        stamps[warmup - 1]
    };
    let mut out = Vec::with_capacity(steps);
    for s in &stamps[warmup..] {
        out.push(s.duration_since(prev).as_secs_f64());
        prev = *s;
    }
    Ok(out)
}

/// Two 5 s sources at 16 kHz (speech when present, else synthesized) and estimates with 10 %
/// cross-talk and a little noise; times `bench_bss_eval` and prints JSON.
fn bss_eval(args: &BenchArgs) -> Result<()> {
    use rand::Rng;
    let (rate, n) = (16000u32, 80_000usize);
    let speech = [
        "../shared/data/speech/slt.wav",
        "../shared/data/speech/awb.wav",
    ];
    let (refs, input): (Vec<Vec<f64>>, String) =
        if speech.iter().all(|p| std::path::Path::new(p).exists()) {
            let mut refs = Vec::new();
            for p in speech {
                let a = audio::read_wav(std::path::Path::new(p))?;
                let mut x = a.channels[0].clone();
                if a.sample_rate != rate {
                    x = audio::resample(&x, a.sample_rate, rate)?;
                }
                if x.len() < n {
                    bail!("{p}: {} samples, the workload needs {n}", x.len());
                }
                x.truncate(n);
                refs.push(x);
            }
            (refs, speech.join(" + "))
        } else {
            let notes = |f0: f64| {
                (0..15)
                    .map(|i| innmf::demo::Note {
                        f0: f0 * 2f64.powf((i % 7) as f64 / 12.0),
                        onset: i as f64 / 3.0,
                        end: i as f64 / 3.0 + 0.3,
                    })
                    .collect::<Vec<_>>()
            };
            (
                vec![
                    innmf::demo::synthesize_notes(&notes(110.0), rate as f64, n),
                    innmf::demo::synthesize_notes(&notes(330.0), rate as f64, n),
                ],
                "synthesized".into(),
            )
        };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let ests: Vec<Vec<f64>> = (0..2)
        .map(|j| {
            (0..n)
                .map(|i| refs[j][i] + 0.1 * refs[1 - j][i] + 0.01 * rng.random_range(-1.0..1.0))
                .collect()
        })
        .collect();
    let b = innmf::metrics::bss_eval::bench_bss_eval(&refs, &ests, args.repeats)?;
    let out = serde_json::json!({
        "workload": "bss-eval",
        "input": input,
        "nsrc": b.nsrc,
        "nsampl": b.nsampl,
        "sample_rate": rate,
        "threads": rayon::current_num_threads(),
        "repeats": b.repeats,
        "median_ms": b.median_s * 1e3,
        "min_ms": b.min_s * 1e3,
        "sdr": b.result.sdr,
        "sir": b.result.sir,
        "sar": b.result.sar,
        "perm": b.result.perm,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// 30 s of 22.05 kHz audio: the input (default ../shared/data/music/ode_piano.wav, looped to
/// 30 s), or a synthesized signal of that size.
fn load_30s(args: &BenchArgs) -> Result<(Vec<f64>, String)> {
    let rate = 22050;
    let n = 30 * rate as usize;
    let path = args.input.clone().or_else(|| {
        let p = PathBuf::from("../shared/data/music/ode_piano.wav");
        p.exists().then_some(p)
    });
    let (x, input) = match path {
        Some(p) => {
            let a = audio::read_wav(&p)?;
            if a.sample_rate != rate {
                bail!(
                    "{}: sample rate {} Hz, the analyze workloads need {rate} Hz",
                    p.display(),
                    a.sample_rate
                );
            }
            (
                a.channels[0].clone(),
                format!("{} (looped to 30 s)", p.display()),
            )
        }
        None => load(args, "", rate, 30.0)?,
    };
    if x.is_empty() {
        bail!("empty input");
    }
    Ok(((0..n).map(|i| x[i % x.len()]).collect(), input))
}

/// Times whole analyses (1 warm-up, then `min(steps, 5)` runs; median reported).
fn run_analyze(args: &BenchArgs) -> Result<()> {
    use innmf::transform::{
        Cwt, CwtParams, DirectCqt, DirectCqtParams, FastCqt, Nsgt, NsgtParams, Vqt, VqtParams,
    };
    let (x, input) = load_30s(args)?;
    let sr = 22050.0;
    let runs = args.steps.min(5);
    let mut times = Vec::with_capacity(runs);
    let mut coeffs = 0;
    for i in 0..=runs {
        let t0 = Instant::now();
        coeffs = match args.workload {
            Workload::AnalyzeCqt => FastCqt::new(DirectCqtParams::paper_demo(), sr)?
                .analyze(&x)?
                .len(),
            Workload::AnalyzeCqtDirect => DirectCqt::new(DirectCqtParams::paper_demo(), sr)?
                .analyze(&x)?
                .len(),
            Workload::AnalyzeVqt => {
                let p = VqtParams {
                    f_min: 20.0,
                    n_bins: 428,
                    bins_per_octave: 64,
                    filter_scale: 1.0,
                    gamma: 0.0,
                    hop: 512,
                };
                Vqt::new(p, sr)?.analyze(&x)?.len()
            }
            Workload::AnalyzeNsgt => Nsgt::new(NsgtParams::new(20.0, 2079.0, 64), sr, x.len())?
                .analyze(&x)?
                .len(),
            Workload::AnalyzeCwt => Cwt::new(CwtParams::new(20.0, 7000.0, 12), sr, x.len())?
                .analyze(&x)?
                .len(),
            Workload::AnalyzeCwtFull => {
                let p = CwtParams {
                    hop: None,
                    ..CwtParams::new(20.0, 7000.0, 12)
                };
                Cwt::new(p, sr, x.len())?.analyze(&x)?.len()
            }
            _ => unreachable!("training workloads are handled by run"),
        };
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let out = serde_json::json!({
        "workload": format!("{:?}", args.workload),
        "input": input,
        "samples": x.len(),
        "sample_rate": sr,
        "coefficients": coeffs,
        "threads": rayon::current_num_threads(),
        "runs": runs,
        "median_s": times[times.len() / 2],
        "min_s": times[0],
        "includes": "planning + analysis",
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
