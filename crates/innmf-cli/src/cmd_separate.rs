//! `innmf separate`: supervised (and semi-supervised) separation of a mixture with templates
//! learned from solo recordings (`--source`) or loaded from model files (`--model`); one WAV per
//! source, a JSON report, and metrics when references are given. The mixture is separated in its
//! STFT (default) or in any invertible representation (`--transform nsgt|cwt|multires|sines`).

use crate::input::TransformArgs;
use crate::progress;
use anyhow::{bail, Context, Result};
use innmf::audio::{self, ChannelSelect};
use innmf::io::{check_output, check_writable_dir};
use innmf::metrics::{evaluate, EvalOptions, SeparationScores};
use innmf::modelfile::ModelConfig;
use innmf::nmf::Precision;
use innmf::optim::OptimizerConfig;
use innmf::separate::{
    learn_templates, separate, HSolver, MaskKind, PhaseMethod, Preset, SeparateConfig,
    TemplateConfig, TemplateMethod, TemplateSet,
};
use innmf::transform::{Representation, StftParams, TransformKind};
use innmf::Model;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct SeparateArgs {
    /// Solo recording of a source (repeatable): its templates are learned from it.
    #[arg(long)]
    pub source: Vec<PathBuf>,
    /// Pretrained model of a source (repeatable; from `innmf fit` or `--save-models`). Outputs
    /// are numbered --source files first, then --model files.
    #[arg(long)]
    pub model: Vec<PathBuf>,
    /// The mixture to separate.
    #[arg(long)]
    pub mix: PathBuf,
    /// Output folder: source_1.wav, ..., noise.wav (with --free), report.json.
    #[arg(long, short, default_value = "separated")]
    pub out: PathBuf,
    /// Reference (true) sources, one per source in output order: scores the outputs.
    #[arg(long)]
    pub reference: Vec<PathBuf>,
    /// How templates are learned from --source recordings: innmf (implicit W, evaluable at any
    /// frequency) | nmf (KL multiplicative updates, explicit W trained at the mixture's window
    /// unless --train-window; --train-steps iterations).
    #[arg(long, default_value = "innmf")]
    pub method: TemplateMethod,
    /// Components per source.
    #[arg(long, default_value_t = 20)]
    pub rank: usize,
    /// Hidden width of W's networks (iN-NMF).
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    /// Sine layers of W's networks (iN-NMF).
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Fourier feature octaves of W's networks (iN-NMF).
    #[arg(long, default_value_t = 10)]
    pub features: usize,
    /// Training STFT window (default: 2000 for iN-NMF, the mixture's --window for NMF; with
    /// another --transform, templates are learned in that representation unless this or
    /// --train-hop is given).
    #[arg(long)]
    pub train_window: Option<usize>,
    /// Training STFT hop (default: 1000 for iN-NMF, the mixture's --hop for NMF).
    #[arg(long)]
    pub train_hop: Option<usize>,
    /// Training steps per source (Rprop, full batch; with --preset innmf, of W's networks alone,
    /// each fitted to its NMF template).
    #[arg(long, default_value_t = 1000)]
    pub train_steps: usize,
    /// Mixture STFT window (any size: iN-NMF templates are sampled at its bins); with
    /// --transform sines, the sinusoidal model's window (default 2048).
    #[arg(long)]
    pub window: Option<usize>,
    /// Mixture STFT hop (with --transform sines: the sinusoidal model's, default 512; cwt: its
    /// largest per-scale hop).
    #[arg(long)]
    pub hop: Option<usize>,
    /// The mixture's representation: stft (default: the mixture STFT of --window/--hop) or any
    /// invertible one, nsgt | cwt | multires | sines (with --track), with its options; the
    /// templates of --source files are learned in it too (--calibrate: on the unit-tone scale,
    /// needed to apply models trained in another representation).
    #[command(flatten)]
    pub transform: TransformArgs,
    /// Spacing (s) of the activations over time for nsgt/cwt/multires, whose bins have their
    /// own time grids (default: the finest bin's time step, at least 5 ms).
    #[arg(long)]
    pub h_step: Option<f64>,
    /// Magnitude power p (templates and mixture).
    #[arg(long, default_value_t = 0.5)]
    pub power: f64,
    /// Steps of the activation fit on the mixture (default: the preset's, innmf 3000 MU
    /// iterations, paper 100 Rprop steps; 200 Rprop steps without a preset, where H starts at
    /// the mixture's scale, so 100 usually converge).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Learning rate (Rprop initial step) of every fit.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// β of the β-divergence (0 Itakura-Saito, 1 KL, 2 Euclidean; at most ±10).
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Extra components learned on the mixture alone (an unknown source): written as noise.wav.
    #[arg(long, default_value_t = 0)]
    pub free: usize,
    /// Activation solver on the mixture: `rprop` (gradient steps, the authors' iN-NMF; --preset
    /// paper's and the default without a preset) or `mu` (β multiplicative updates with W
    /// fixed, the authors' NMF; --steps iterations; --preset innmf's).
    #[arg(long)]
    pub solver: Option<HSolver>,
    /// Arithmetic of the mu solver: f32 (the fused KL engine; sources agree with f64's to f32
    /// rounding) | f64 (the reference, 2-4x slower).
    #[arg(long, default_value = "f32")]
    pub mu_precision: Precision,
    /// iN-NMF protocol: innmf (ours, the default on an STFT: W's networks fitted to the
    /// templates of 3000 f32 NMF iterations, 3000 MU iterations on the mixture) | paper (the
    /// authors': templates from a random start, 100 Rprop steps on the mixture). Without it on
    /// other representations: the paper's training, 200 Rprop steps. --steps and --solver, when
    /// given, override the preset's; the mask is not part of a preset.
    #[arg(long)]
    pub preset: Option<Preset>,
    /// Mask: wiener (|X̂_j|²/Σ|X̂|², the outputs sum to the mixture) | paper (the authors' ratio
    /// mask on |X|^p, expanded) | binary.
    #[arg(long, default_value = "wiener")]
    pub mask: MaskKind,
    /// Phase refinement iterations (0: the mixture phase).
    #[arg(long, default_value_t = 0)]
    pub phase_iters: usize,
    /// Phase refinement: misi (multiple-input spectrogram inversion; outputs sum to the
    /// mixture) | griffin-lim (each source alone).
    #[arg(long, default_value = "misi")]
    pub phase: PhaseMethod,
    /// Channel of multi-channel files (mono files are used as they are). Without it, files must
    /// agree in channel count and multi-channel files are mixed down to mono.
    #[arg(long)]
    pub channel: Option<usize>,
    /// Resample sources and references to the mixture's rate (and accept models trained at
    /// another rate: their W is zero above their Nyquist frequency).
    #[arg(long)]
    pub resample: bool,
    /// Also write the models learned from --source files (DIR/source_j.safetensors).
    #[arg(long)]
    pub save_models: bool,
    /// Skip STOI in the metrics.
    #[arg(long)]
    pub no_stoi: bool,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// A mono signal read from a file, with what the checks need.
struct Input {
    path: PathBuf,
    rate: u32,
    channels: usize,
    signal: Vec<f64>,
}

/// Reads every file, checks channels, takes one mono signal per file.
fn load_all(files: &[(PathBuf, &str)], channel: Option<usize>) -> Result<Vec<Input>> {
    let raw = files
        .iter()
        .map(|(p, _)| audio::read(p))
        .collect::<innmf::Result<Vec<_>>>()?;
    let (first, a0) = (&files[0].0, &raw[0]);
    let nch = a0.channels.len();
    let mut out = Vec::with_capacity(raw.len());
    for (a, (path, what)) in raw.iter().zip(files) {
        let ch = a.channels.len();
        let select = match channel {
            Some(_) if ch == 1 => ChannelSelect::Index(0),
            Some(c) if c < ch => ChannelSelect::Index(c),
            Some(c) => bail!(
                "--channel {c}: {what} {} has {ch} channels (0 to {})",
                path.display(),
                ch - 1
            ),
            None if ch != nch => bail!(
                "channel-count mismatch: {what} {} has {ch} channel(s) but the mixture {} has \
                 {nch} channel(s); pass --channel N to take one channel of the multi-channel files",
                path.display(),
                first.display()
            ),
            None => ChannelSelect::Mix,
        };
        let signal = a.mono(select)?;
        if *what == "reference" && signal.iter().all(|&v| v == 0.0) {
            bail!(
                "reference {} is silent: BSS Eval needs a non-zero reference",
                path.display()
            );
        }
        out.push(Input {
            path: path.clone(),
            rate: a.sample_rate,
            channels: ch,
            signal,
        });
    }
    if channel.is_none() && nch > 1 {
        eprintln!("note: {nch}-channel files, separating the mean of the channels");
    }
    Ok(out)
}

/// Brings `input` to `rate`, or fails naming both rates.
fn to_rate(input: &mut Input, rate: u32, resample: bool, what: &str) -> Result<()> {
    if input.rate == rate {
        return Ok(());
    }
    if !resample {
        bail!(
            "sample-rate mismatch: {what} {} is {} Hz but the mixture is {rate} Hz \
             (pass --resample to resample it)",
            input.path.display(),
            input.rate
        );
    }
    input.signal = audio::resample(&input.signal, input.rate, rate)?;
    input.rate = rate;
    Ok(())
}

#[derive(Serialize)]
struct SourceEntry {
    input: String,
    kind: &'static str,
    rank: usize,
    output: String,
    energy_share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    training: Option<serde_json::Value>,
}

pub fn run(args: &SeparateArgs) -> Result<()> {
    let n_src = args.source.len() + args.model.len();
    if n_src == 0 && args.free == 0 {
        bail!("nothing to separate with: give --source or --model files (or --free K)");
    }
    if !args.reference.is_empty() && args.reference.len() != n_src {
        bail!(
            "{} --reference file(s) for {n_src} source(s): give one reference per --source/--model \
             in output order",
            args.reference.len()
        );
    }
    let stft = args.transform.transform == TransformKind::Stft;
    let window = args.window.unwrap_or(2000);
    let hop = args.hop.unwrap_or(1000);
    // stft: the mixture STFT of --window/--hop (√Hann, centre padding); others: the
    // representation the flags describe, which must have an inverse
    let representation = if stft {
        args.transform.representation(Some(window), Some(hop))?;
        None
    } else {
        Some(args.transform.representation(args.window, args.hop)?)
    };
    let calibration = args.transform.calibration();
    let preset = args
        .preset
        .or_else(|| Preset::separation_default(representation.as_ref()));
    let (solver, steps) = match preset {
        Some(p) => p.activations(),
        None => (HSolver::Rprop, 200),
    };
    let cfg = SeparateConfig {
        window,
        hop,
        representation: representation.clone(),
        calibration,
        h_step: args.h_step,
        power: args.power,
        steps: args.steps.unwrap_or(steps),
        optimizer: OptimizerConfig::rprop(args.lr),
        beta: args.beta,
        solver: args.solver.unwrap_or(solver),
        mu_precision: args.mu_precision,
        free: args.free,
        mask: args.mask,
        phase_iters: args.phase_iters,
        phase: args.phase,
        seed: args.seed,
        ..SeparateConfig::default()
    };
    cfg.validate()?;
    // templates from solo recordings: iN-NMF trains once at the paper's window, NMF at the
    // mixture's (the library's defaults), unless --train-window/--train-hop say otherwise
    let mut tcfg = TemplateConfig {
        rank: args.rank,
        width: args.width,
        depth: args.depth,
        n_features: args.features,
        power: args.power,
        steps: args.train_steps,
        optimizer: OptimizerConfig::rprop(args.lr),
        beta: args.beta,
        seed: args.seed,
        calibration,
        training: preset.unwrap_or_default().training(),
        ..TemplateConfig::for_mixture(args.method, window, hop)
    };
    let train_stft = args.train_window.is_some() || args.train_hop.is_some();
    if let (Some(r), false) = (&representation, train_stft) {
        tcfg.representation = r.clone();
    } else if let Representation::Stft(p) = &tcfg.representation {
        tcfg.representation = Representation::Stft(StftParams {
            window_len: args.train_window.unwrap_or(p.window_len),
            hop: args.train_hop.unwrap_or(p.hop),
            ..*p
        });
    }
    if train_stft {
        // the library names the STFT's own parameters; here they came from --train-window and
        // --train-hop, not --window and --hop
        tcfg.representation.validate().map_err(|e| match e {
            innmf::Error::InvalidParameter {
                name: "window" | "window length",
                value,
                expected,
            } => anyhow::anyhow!("--train-window {value}: expected {expected}"),
            innmf::Error::InvalidParameter {
                name: "hop",
                value,
                expected,
            } => anyhow::anyhow!("--train-hop {value}: expected {expected}"),
            e => e.into(),
        })?;
    } else {
        tcfg.representation.validate()?;
    }
    // every output location is checked before anything is computed
    let inputs: Vec<&Path> = std::iter::once(args.mix.as_path())
        .chain(args.source.iter().map(PathBuf::as_path))
        .chain(args.model.iter().map(PathBuf::as_path))
        .chain(args.reference.iter().map(PathBuf::as_path))
        .collect();
    check_writable_dir(&args.out)?;
    let mut outputs: Vec<PathBuf> = (1..=n_src)
        .map(|j| args.out.join(format!("source_{j}.wav")))
        .collect();
    if args.free > 0 {
        outputs.push(args.out.join("noise.wav"));
    }
    outputs.push(args.out.join("report.json"));
    if args.save_models {
        outputs.extend(
            (1..=args.source.len()).map(|j| args.out.join(format!("source_{j}.safetensors"))),
        );
    }
    for o in &outputs {
        check_output(o, "output", &[], &inputs, &[])?;
    }
    // models first: a bad model file fails before any audio is read or template learned
    let loaded: Vec<(Model, ModelConfig)> = args
        .model
        .iter()
        .map(|p| innmf::modelfile::load(p))
        .collect::<innmf::Result<_>>()?;
    for (p, (_, c)) in args.model.iter().zip(&loaded) {
        if let Some(w) = c.warning(p) {
            eprintln!("warning: {w}");
        }
    }

    let mut files: Vec<(PathBuf, &str)> = vec![(args.mix.clone(), "mixture")];
    files.extend(args.source.iter().map(|p| (p.clone(), "source")));
    files.extend(args.reference.iter().map(|p| (p.clone(), "reference")));
    let mut inputs = load_all(&files, args.channel)?;
    for inp in &inputs {
        audio::check_audible(&inp.signal, &inp.path)?;
    }
    let rate = inputs[0].rate;
    let sr = rate as f64;
    for (inp, (_, what)) in inputs.iter_mut().zip(&files).skip(1) {
        to_rate(inp, rate, args.resample, what)?;
    }
    let mix = &inputs[0];
    if stft && mix.signal.len() < window {
        bail!(
            "the mixture {} has {} samples ({:.3} s), shorter than the window of {} samples; \
             pass a smaller --window",
            mix.path.display(),
            mix.signal.len(),
            mix.signal.len() as f64 / sr,
            window
        );
    }
    let (sources_in, refs_in) = inputs[1..].split_at(args.source.len());
    let model_sets = args
        .model
        .iter()
        .zip(&loaded)
        .map(|(p, (m, c))| TemplateSet::from_file(m, c, sr, args.resample, p))
        .collect::<innmf::Result<Vec<_>>>()?;
    let mixture = cfg.mixture_analysis(sr)?;
    for (set, p) in model_sets.iter().zip(&args.model) {
        if let Some(d) = set.data {
            d.check_applies_to(&mixture, &format!("model {}", p.display()))?;
        }
    }

    let mut learned = Vec::with_capacity(sources_in.len());
    let mut entries: Vec<SourceEntry> = Vec::with_capacity(n_src + 1);
    for (j, src) in sources_in.iter().enumerate() {
        let cfg_j = TemplateConfig {
            seed: args.seed.wrapping_add(1000 * j as u64),
            ..tcfg.clone()
        };
        eprintln!(
            "learning {} templates of {} (rank {}, {}, {:.1} s)",
            cfg_j.method,
            src.path.display(),
            cfg_j.rank,
            cfg_j.representation.name(),
            src.signal.len() as f64 / sr
        );
        let bar = progress::training_bar(cfg_j.steps, &format!("source {}", j + 1));
        let mut cb = progress::callback(&bar);
        let l = learn_templates(&src.signal, sr, &cfg_j, Some(&mut cb))
            .with_context(|| format!("learning templates of {}", src.path.display()))?;
        bar.finish_and_clear();
        entries.push(SourceEntry {
            input: src.path.display().to_string(),
            kind: "recording",
            rank: l.model.rank(),
            output: String::new(),
            energy_share: 0.0,
            training: Some(serde_json::json!({
                "config": cfg_j, "final_loss": l.report.final_loss,
                "steps": l.report.steps, "elapsed_s": l.report.elapsed_s,
            })),
        });
        learned.push(l);
    }
    for (p, (m, _)) in args.model.iter().zip(&loaded) {
        entries.push(SourceEntry {
            input: p.display().to_string(),
            kind: "model",
            rank: m.rank(),
            output: String::new(),
            energy_share: 0.0,
            training: None,
        });
    }
    let sets: Vec<TemplateSet<'_>> = learned
        .iter()
        .map(|l| TemplateSet {
            model: &l.model,
            max_freq: None,
            data: Some(&l.data),
        })
        .chain(model_sets)
        .collect();
    eprintln!(
        "fitting the activations of {} component(s) on {} ({:.2} s, {})",
        sets.iter().map(|s| s.model.rank()).sum::<usize>() + args.free,
        mix.path.display(),
        mix.signal.len() as f64 / sr,
        representation
            .as_ref()
            .map_or(format!("STFT {window}/{hop}"), Representation::name)
    );
    let bar = progress::training_bar(cfg.steps, "mixture");
    let mut cb = progress::callback(&bar);
    let sep = separate(&mix.signal, sr, &sets, &cfg, Some(&mut cb)).context("separating")?;
    bar.finish_and_clear();

    if sep.has_noise {
        entries.push(SourceEntry {
            input: format!("{} free component(s)", args.free),
            kind: "free",
            rank: args.free,
            output: String::new(),
            energy_share: 0.0,
            training: None,
        });
    }
    // scores before anything is written: a failing metric leaves no partial output
    let metrics = if args.reference.is_empty() {
        None
    } else {
        Some(score(refs_in, &sep.sources[..n_src], sr, !args.no_stoi)?)
    };
    for (j, (s, e)) in sep.sources.iter().zip(entries.iter_mut()).enumerate() {
        let name = if sep.has_noise && j == sep.sources.len() - 1 {
            "noise.wav".to_string()
        } else {
            format!("source_{}.wav", j + 1)
        };
        let path = args.out.join(&name);
        audio::write_wav(&path, s, rate)?;
        e.output = path.display().to_string();
        e.energy_share = sep.report.energy_share[j];
    }
    if args.save_models {
        for (j, l) in learned.iter().enumerate() {
            let p = args.out.join(format!("source_{}.safetensors", j + 1));
            innmf::modelfile::save(&p, &l.model, &l.data, &l.training)?;
        }
    }
    let report_path = args.out.join("report.json");
    innmf::io::write_json(
        &report_path,
        &serde_json::json!({
            "mixture": mix.path.display().to_string(), "sample_rate": rate,
            "samples": mix.signal.len(), "channels": mix.channels,
            "method": args.method, "preset": preset,
            "sources": entries, "separation": sep.report, "metrics": metrics,
        }),
    )?;
    for e in &entries {
        println!(
            "{:<40} -> {} ({:.1} % of the mixture energy)",
            e.input,
            e.output,
            100.0 * e.energy_share
        );
    }
    if let Some(m) = &metrics {
        println!(
            "{:<24} {:>8} {:>8} {:>8} {:>8} {:>7}",
            "source", "SDR", "SIR", "SAR", "SI-SDR", "STOI"
        );
        for (r, s) in refs_in.iter().zip(&m.sources) {
            println!(
                "{:<24} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7}",
                r.path
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                s.sdr,
                s.sir,
                s.sar,
                s.si_sdr,
                s.stoi.map_or("-".into(), |v| format!("{v:.4}"))
            );
        }
        println!(
            "mean SDR {:.3} dB (SDR, SIR, SAR, SI-SDR in dB)",
            m.mean.sdr
        );
    }
    println!("wrote {}", report_path.display());
    Ok(())
}

/// BSS Eval (output j against reference j), SI-SDR and STOI on the common length.
fn score(refs: &[Input], ests: &[Vec<f64>], sr: f64, with_stoi: bool) -> Result<SeparationScores> {
    let n = refs
        .iter()
        .map(|r| r.signal.len())
        .chain(ests.iter().map(|e| e.len()))
        .min()
        .unwrap_or(0);
    let r: Vec<&[f64]> = refs.iter().map(|r| &r.signal[..n]).collect();
    let e: Vec<&[f64]> = ests.iter().map(|e| &e[..n]).collect();
    let options = EvalOptions {
        permutation: false,
        stoi: with_stoi,
        extended_stoi: false,
        si_sdr_zero_mean: false,
    };
    evaluate(&r, &e, sr, &options).context("scoring the outputs")
}
