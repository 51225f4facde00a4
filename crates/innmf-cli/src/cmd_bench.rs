//! `innmf bench`: the workloads of [`innmf::bench`], timed, printed as JSON.
//!
//! Training workloads time every step of a normal `innmf::fit` through its progress callback
//! after warm-up steps and report the median (`median_ms`); `nmf-kl` and the analyses report
//! whole runs (`median_s`); `bss-eval` whole calls (`median_ms`). The baselines run side by side
//! on the same recordings, named by `--shared` (see the README for the exact commands).

use anyhow::{bail, Result};
use innmf::audio;
use innmf::bench::{self, Workload};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The baselines' recordings, relative to the `--shared` folder; used when present.
const SPEECH_20S: &str = "bench/data/speech_slt_20s.wav";
const PIANO_4410: &str = "bench/data/piano_4410.wav";
const PIANO_22050: &str = "data/music/ode_piano.wav";
const SPEECH_PAIR: [&str; 2] = ["data/speech/slt.wav", "data/speech/awb.wav"];

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Workload: stft-fit, hybrid-fit, nmf-kl, bss-eval, analyze-cqt, analyze-cqt-direct,
    /// analyze-vqt, analyze-nsgt, analyze-cwt, analyze-cwt-full (see `innmf::bench::Workload`).
    pub workload: Workload,
    /// Input recording (stft-fit, nmf-kl: 16 kHz speech, first 20 s; hybrid-fit: a 4410 Hz
    /// excerpt; analyze-*: 22.05 kHz audio looped to 30 s). Default: the baselines' recording
    /// under `--shared` when given and present, else a synthesized signal of the same size.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// The folder holding the baselines' recordings (`bench/data/speech_slt_20s.wav`,
    /// `bench/data/piano_4410.wav`, `data/music/ode_piano.wav`, `data/speech/{slt,awb}.wav`: the
    /// project's shared folder), for the inputs `--input` does not name. Without it the inputs
    /// are synthesized.
    #[arg(long)]
    pub shared: Option<PathBuf>,
    /// Timed steps (training workloads; the analyses run min(steps, 5) times).
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Timed calls of the bss-eval workload.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
}

/// The recording at `path` (first channel), with its rate and name.
fn read(path: &Path) -> Result<(Vec<f64>, u32, String)> {
    let a = audio::read(path)?;
    Ok((
        a.channels.into_iter().next().unwrap_or_default(),
        a.sample_rate,
        path.display().to_string(),
    ))
}

/// `rel` under `--shared`, when given and present.
fn shared(args: &BenchArgs, rel: &str) -> Option<PathBuf> {
    let p = args.shared.as_ref()?.join(rel);
    p.exists().then_some(p)
}

/// The workload's input: `--input`, else `default` under `--shared` when it exists, else
/// synthesized.
fn input(args: &BenchArgs, default: &str) -> Result<bench::Input> {
    let path = args.input.clone().or_else(|| shared(args, default));
    let recording = path.as_deref().map(read).transpose()?;
    Ok(bench::prepare_input(args.workload, recording)?)
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.steps < 1 {
        bail!("--steps must be at least 1");
    }
    let out = match args.workload {
        Workload::StftFit | Workload::HybridFit => fit(args)?,
        Workload::NmfKl => nmf(args)?,
        Workload::BssEval => bss_eval(args)?,
        _ => analyze(args)?,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn fit(args: &BenchArgs) -> Result<serde_json::Value> {
    let default = if args.workload == Workload::StftFit {
        SPEECH_20S
    } else {
        PIANO_4410
    };
    let x = input(args, default)?;
    let w = bench::fit_workload(args.workload, &x.signal)?;
    let mut times = w.time_steps(args.warmup, args.steps)?;
    times.sort_by(|a, b| a.total_cmp(b));
    let median = quantile(&times, 0.5);
    let pts = &w.points;
    Ok(serde_json::json!({
        "workload": args.workload.name(),
        "input": x.source,
        "points": pts.len(),
        "points_per_step": w.points_per_step(),
        "unique_freqs": pts.unique_freqs().len(),
        "unique_times": pts.unique_times().len(),
        "grid": pts.grid().is_some(),
        "threads": rayon::current_num_threads(),
        "build": innmf::build_info(),
        "warmup_steps": args.warmup,
        "timed_steps": times.len(),
        "median_ms": median * 1e3,
        "p10_ms": quantile(&times, 0.1) * 1e3,
        "p90_ms": quantile(&times, 0.9) * 1e3,
        "mlp_gflop_per_step": w.flops_per_step / 1e9,
        "gflop_per_s": w.flops_per_step / median / 1e9,
    }))
}

fn nmf(args: &BenchArgs) -> Result<serde_json::Value> {
    let x = input(args, SPEECH_20S)?;
    let (v, nf, nt) = bench::nmf_matrix(&x.signal)?;
    let iters = bench::NMF_KL_ITERATIONS;
    let mut runs = Vec::new();
    let mut loss = f64::NAN;
    for _ in 0..args.warmup.clamp(1, 3) {
        let (secs, l) = bench::run_nmf_kl(&v, nf, nt, iters)?;
        runs.push(secs);
        loss = l;
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    Ok(serde_json::json!({
        "workload": "nmf-kl",
        "input": x.source,
        "shape": [nf, nt],
        "rank": bench::NMF_KL_RANK,
        "iterations": iters,
        "threads": rayon::current_num_threads(),
        "build": innmf::build_info(),
        "runs": runs.len(),
        "median_s": runs[runs.len() / 2],
        "final_mean_kl": loss,
    }))
}

fn bss_eval(args: &BenchArgs) -> Result<serde_json::Value> {
    let spec = Workload::BssEval.input_spec();
    let pair: Option<Vec<PathBuf>> = SPEECH_PAIR.iter().map(|p| shared(args, p)).collect();
    let (sources, input) = if let Some(pair) = pair {
        let mut xs = Vec::new();
        for p in &pair {
            let (x, rate, name) = read(p)?;
            let x = if rate == spec.sample_rate {
                x
            } else {
                audio::resample(&x, rate, spec.sample_rate)?
            };
            xs.push(
                bench::prepare_input(Workload::BssEval, Some((x, spec.sample_rate, name)))?.signal,
            );
        }
        let b = xs.pop().expect("two");
        let a = xs.pop().expect("two");
        let names: Vec<String> = pair.iter().map(|p| p.display().to_string()).collect();
        (Some([a, b]), names.join(" + "))
    } else {
        (None, "synthesized".to_string())
    };
    let (refs, ests) = bench::bss_eval_inputs(sources)?;
    let b = innmf::metrics::bss_eval::bench_bss_eval(&refs, &ests, args.repeats)?;
    Ok(serde_json::json!({
        "workload": "bss-eval",
        "input": input,
        "nsrc": b.nsrc,
        "nsampl": b.nsampl,
        "sample_rate": spec.sample_rate,
        "threads": rayon::current_num_threads(),
        "build": innmf::build_info(),
        "repeats": b.repeats,
        "median_ms": b.median_s * 1e3,
        "min_ms": b.min_s * 1e3,
        "sdr": b.result.sdr,
        "sir": b.result.sir,
        "sar": b.result.sar,
        "perm": b.result.perm,
    }))
}

/// Whole analyses, planning included (1 warm-up, then `min(steps, 5)` runs; median reported).
fn analyze(args: &BenchArgs) -> Result<serde_json::Value> {
    let x = input(args, PIANO_22050)?;
    let runs = args.steps.min(5);
    let mut times = Vec::with_capacity(runs);
    let mut coeffs = 0;
    for i in 0..=runs {
        let t0 = Instant::now();
        coeffs = bench::analyze(args.workload, &x.signal)?;
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(serde_json::json!({
        "workload": args.workload.name(),
        "input": x.source,
        "samples": x.signal.len(),
        "sample_rate": args.workload.input_spec().sample_rate,
        "coefficients": coeffs,
        "threads": rayon::current_num_threads(),
        "build": innmf::build_info(),
        "runs": runs,
        "median_s": times[times.len() / 2],
        "min_s": times[0],
        "includes": "planning + analysis",
    }))
}
