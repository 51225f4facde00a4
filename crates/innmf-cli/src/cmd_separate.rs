//! `innmf separate`: supervised (and semi-supervised) separation of a mixture with templates
//! learned from solo recordings (`--source`) or loaded from model files (`--model`); one WAV per
//! source, a JSON report, and metrics when references are given.

use crate::progress;
use anyhow::{bail, Context, Result};
use innmf::audio::{self, ChannelSelect};
use innmf::metrics::{bss_eval_sources, si_sdr, stoi};
use innmf::optim::OptimizerConfig;
use innmf::separate::{
    learn_templates, separate, HSolver, MaskKind, PhaseMethod, SeparateConfig, TemplateConfig,
    TemplateMethod, TemplateSet,
};
use innmf::Model;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How templates are learned from `--source` recordings.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// iN-NMF: implicit W (networks, evaluable at any frequency) + explicit H.
    Innmf,
    /// Classical NMF: KL multiplicative updates, explicit W (trained at the mixture's window
    /// unless --train-window; --train-steps iterations).
    Nmf,
}

/// Mask choices.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// |X̂_j|²/Σ|X̂|² with X̂_j = V̂_j^(1/p): the estimates sum to the mixture.
    Wiener,
    /// The paper's ratio mask on |X|^p, expanded: gain (V̂_j/ΣV̂)^(1/p).
    Paper,
    /// 1 where the source's model is the largest, else 0.
    Binary,
}

/// Phase refinement choices.
/// Activation solvers (see `innmf::separate::HSolver`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// Rprop steps on softplus-parametrized H.
    Rprop,
    /// Multiplicative updates with W fixed.
    Mu,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Multiple-input spectrogram inversion (Gunawan & Sen 2010); outputs sum to the mixture.
    Misi,
    /// Griffin–Lim on each source.
    GriffinLim,
}

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
    /// How templates are learned from --source recordings.
    #[arg(long, value_enum, default_value_t = Method::Innmf)]
    pub method: Method,
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
    /// Training STFT window (default: 2000 for iN-NMF, the mixture's --window for NMF).
    #[arg(long)]
    pub train_window: Option<usize>,
    /// Training STFT hop (default: 1000 for iN-NMF, the mixture's --hop for NMF).
    #[arg(long)]
    pub train_hop: Option<usize>,
    /// Training steps per source (Rprop, full batch).
    #[arg(long, default_value_t = 1000)]
    pub train_steps: usize,
    /// Mixture STFT window (any size: iN-NMF templates are sampled at its bins).
    #[arg(long, default_value_t = 2000)]
    pub window: usize,
    /// Mixture STFT hop.
    #[arg(long, default_value_t = 1000)]
    pub hop: usize,
    /// Magnitude power p (templates and mixture).
    #[arg(long, default_value_t = 0.5)]
    pub power: f64,
    /// Steps of the activation fit on the mixture (the paper: 100; H starts at the mixture's
    /// scale, so 100 usually converge).
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Learning rate (Rprop initial step) of every fit.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// β of the β-divergence (0 Itakura-Saito, 1 KL, 2 Euclidean).
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Extra components learned on the mixture alone (an unknown source): written as noise.wav.
    #[arg(long, default_value_t = 0)]
    pub free: usize,
    /// Activation solver on the mixture: `rprop` (gradient steps, the authors' iN-NMF) or `mu`
    /// (β multiplicative updates with W fixed, the authors' NMF; --steps iterations).
    #[arg(long, value_enum, default_value_t = Solver::Rprop)]
    pub solver: Solver,
    /// Mask.
    #[arg(long, value_enum, default_value_t = Mask::Wiener)]
    pub mask: Mask,
    /// Phase refinement iterations (0: the mixture phase).
    #[arg(long, default_value_t = 0)]
    pub phase_iters: usize,
    /// Phase refinement method.
    #[arg(long, value_enum, default_value_t = Phase::Misi)]
    pub phase: Phase,
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

fn read(path: &Path, what: &str) -> Result<(PathBuf, audio::Audio)> {
    let a = audio::read_wav(path).with_context(|| format!("reading {what} {}", path.display()))?;
    if a.is_empty() {
        bail!("{what} {} holds no samples", path.display());
    }
    Ok((path.to_path_buf(), a))
}

/// Reads every file, checks channels, takes one mono signal per file.
fn load_all(files: &[(PathBuf, &str)], channel: Option<usize>) -> Result<Vec<Input>> {
    let raw = files
        .iter()
        .map(|(p, w)| read(p, w))
        .collect::<Result<Vec<_>>>()?;
    let (first, a0) = &raw[0];
    let nch = a0.channels.len();
    let mut out = Vec::with_capacity(raw.len());
    for ((path, a), (_, what)) in raw.iter().zip(files) {
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
                 {nch} channel(s); \
                 pass --channel N to take one channel of the multi-channel files",
                path.display(),
                first.display()
            ),
            None => ChannelSelect::Mix,
        };
        out.push(Input {
            path: path.clone(),
            rate: a.sample_rate,
            channels: ch,
            signal: a.mono(select)?,
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

#[derive(Serialize)]
struct Scores {
    reference: String,
    estimate: String,
    sdr: f64,
    sir: f64,
    sar: f64,
    si_sdr: f64,
    stoi: Option<f64>,
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
    if args.window < 2 || args.hop == 0 || args.hop > args.window {
        bail!(
            "--window {} --hop {}: expected a window of at least 2 samples and 1 ≤ hop ≤ window",
            args.window,
            args.hop
        );
    }
    let mut files: Vec<(PathBuf, &str)> = vec![(args.mix.clone(), "mixture")];
    files.extend(args.source.iter().map(|p| (p.clone(), "source")));
    files.extend(args.reference.iter().map(|p| (p.clone(), "reference")));
    let mut inputs = load_all(&files, args.channel)?;
    let rate = inputs[0].rate;
    let sr = rate as f64;
    for (inp, (_, what)) in inputs.iter_mut().zip(&files).skip(1) {
        to_rate(inp, rate, args.resample, what)?;
    }
    let mix = &inputs[0];
    if mix.signal.len() < args.window {
        bail!(
            "the mixture {} has {} samples ({:.3} s), shorter than the window of {} samples; \
             pass a smaller --window",
            mix.path.display(),
            mix.signal.len(),
            mix.signal.len() as f64 / sr,
            args.window
        );
    }
    let (sources_in, refs_in) = inputs[1..].split_at(args.source.len());

    // templates from solo recordings
    let (tw_default, th_default) = match args.method {
        Method::Innmf => (2000, 1000),
        Method::Nmf => (args.window, args.hop),
    };
    let tcfg = TemplateConfig {
        method: match args.method {
            Method::Innmf => TemplateMethod::Innmf,
            Method::Nmf => TemplateMethod::Nmf,
        },
        rank: args.rank,
        width: args.width,
        depth: args.depth,
        n_features: args.features,
        window: args.train_window.unwrap_or(tw_default),
        hop: args.train_hop.unwrap_or(th_default),
        power: args.power,
        steps: args.train_steps,
        optimizer: OptimizerConfig::rprop(args.lr),
        beta: args.beta,
        seed: args.seed,
        training: Default::default(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut models: Vec<Model> = Vec::with_capacity(n_src);
    let mut max_freqs: Vec<Option<f64>> = Vec::with_capacity(n_src);
    let mut entries: Vec<SourceEntry> = Vec::with_capacity(n_src + 1);
    for (j, src) in sources_in.iter().enumerate() {
        if src.signal.len() < tcfg.window {
            bail!(
                "source {} has {} samples ({:.3} s), shorter than the training window of {} \
                 samples; pass a smaller --train-window",
                src.path.display(),
                src.signal.len(),
                src.signal.len() as f64 / sr,
                tcfg.window
            );
        }
        let cfg = TemplateConfig {
            seed: args.seed.wrapping_add(1000 * j as u64),
            ..tcfg.clone()
        };
        eprintln!(
            "learning {} templates of {} ({} rank {}, STFT {}/{}, {:.1} s)",
            args.method.name(),
            src.path.display(),
            if args.method == Method::Innmf {
                "implicit W"
            } else {
                "explicit W"
            },
            cfg.rank,
            cfg.window,
            cfg.hop,
            src.signal.len() as f64 / sr
        );
        let bar = progress::training_bar(cfg.steps, &format!("source {}", j + 1));
        let mut cb = progress::callback(&bar);
        let learned = learn_templates(&src.signal, sr, &cfg, Some(&mut cb))
            .with_context(|| format!("learning templates of {}", src.path.display()))?;
        bar.finish_and_clear();
        if args.save_models {
            let p = args.out.join(format!("source_{}.safetensors", j + 1));
            innmf::modelfile::save(&p, &learned.model, &learned.training)?;
        }
        entries.push(SourceEntry {
            input: src.path.display().to_string(),
            kind: "recording",
            rank: learned.model.rank(),
            output: String::new(),
            energy_share: 0.0,
            training: Some(serde_json::json!({
                "config": cfg, "final_loss": learned.report.final_loss,
                "steps": learned.report.steps, "elapsed_s": learned.report.elapsed_s,
            })),
        });
        models.push(learned.model);
        max_freqs.push(None);
    }
    // pretrained models
    for p in &args.model {
        let (model, config) =
            innmf::modelfile::load(p).with_context(|| format!("loading model {}", p.display()))?;
        let repr = &config.training["representation"];
        if let Some(mp) = repr["power"].as_f64() {
            if (mp - args.power).abs() > 1e-12 {
                bail!(
                    "model {} was trained on |X|^{mp}, but --power is {}: pass --power {mp}",
                    p.display(),
                    args.power
                );
            }
        }
        let mut max_freq = None;
        if let Some(msr) = repr["sample_rate"].as_f64() {
            if (msr - sr).abs() > 1e-9 {
                if !args.resample {
                    bail!(
                        "sample-rate mismatch: model {} was trained at {msr} Hz but the mixture \
                         is {rate} Hz (pass --resample to use it anyway: its templates are then \
                         zero above {} Hz)",
                        p.display(),
                        msr / 2.0
                    );
                }
                max_freq = Some(msr / 2.0);
            }
        }
        entries.push(SourceEntry {
            input: p.display().to_string(),
            kind: "model",
            rank: model.rank(),
            output: String::new(),
            energy_share: 0.0,
            training: None,
        });
        models.push(model);
        max_freqs.push(max_freq);
    }

    let sets: Vec<TemplateSet<'_>> = models
        .iter()
        .zip(&max_freqs)
        .map(|(m, &max_freq)| TemplateSet { model: m, max_freq })
        .collect();
    let cfg = SeparateConfig {
        window: args.window,
        hop: args.hop,
        power: args.power,
        steps: args.steps,
        optimizer: OptimizerConfig::rprop(args.lr),
        beta: args.beta,
        solver: match args.solver {
            Solver::Rprop => HSolver::Rprop,
            Solver::Mu => HSolver::Mu,
        },
        free: args.free,
        mask: match args.mask {
            Mask::Wiener => MaskKind::Wiener,
            Mask::Paper => MaskKind::Paper,
            Mask::Binary => MaskKind::Binary,
        },
        phase_iters: args.phase_iters,
        phase: match args.phase {
            Phase::Misi => PhaseMethod::Misi,
            Phase::GriffinLim => PhaseMethod::GriffinLim,
        },
        seed: args.seed,
    };
    eprintln!(
        "fitting the activations of {} component(s) on {} ({:.2} s, STFT {}/{})",
        models.iter().map(|m| m.rank()).sum::<usize>() + args.free,
        mix.path.display(),
        mix.signal.len() as f64 / sr,
        args.window,
        args.hop
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

    let metrics = if args.reference.is_empty() {
        None
    } else {
        Some(score(
            refs_in,
            &sep.sources[..n_src],
            &entries,
            rate,
            !args.no_stoi,
        )?)
    };
    let report_path = args.out.join("report.json");
    innmf::io::write_json(
        &report_path,
        &serde_json::json!({
            "mixture": mix.path.display().to_string(), "sample_rate": rate,
            "samples": mix.signal.len(), "channels": mix.channels,
            "method": format!("{:?}", args.method).to_lowercase(),
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
        for s in &m.0 {
            println!(
                "{:<24} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7}",
                Path::new(&s.reference)
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                s.sdr,
                s.sir,
                s.sar,
                s.si_sdr,
                s.stoi.map_or("-".into(), |v| format!("{v:.4}"))
            );
        }
        println!("mean SDR {:.3} dB (SDR, SIR, SAR, SI-SDR in dB)", m.1);
    }
    println!("wrote {}", report_path.display());
    Ok(())
}

#[derive(Serialize)]
struct Metrics(Vec<Scores>, f64);

/// BSS Eval (output j against reference j), SI-SDR and STOI on the common length.
fn score(
    refs: &[Input],
    ests: &[Vec<f64>],
    entries: &[SourceEntry],
    rate: u32,
    with_stoi: bool,
) -> Result<Metrics> {
    let n = refs
        .iter()
        .map(|r| r.signal.len())
        .chain(ests.iter().map(|e| e.len()))
        .min()
        .unwrap_or(0);
    let r: Vec<&[f64]> = refs.iter().map(|r| &r.signal[..n]).collect();
    let e: Vec<&[f64]> = ests.iter().map(|e| &e[..n]).collect();
    let bss = bss_eval_sources(&r, &e, false).context("BSS Eval of the outputs")?;
    let mut out = Vec::with_capacity(r.len());
    for j in 0..r.len() {
        out.push(Scores {
            reference: refs[j].path.display().to_string(),
            estimate: entries[j].output.clone(),
            sdr: bss.sdr[j],
            sir: bss.sir[j],
            sar: bss.sar[j],
            si_sdr: si_sdr(r[j], e[j], false).context("SI-SDR")?,
            stoi: if with_stoi {
                Some(stoi(r[j], e[j], rate, false).context("STOI")?)
            } else {
                None
            },
        });
    }
    let mean = bss.sdr.iter().sum::<f64>() / bss.sdr.len() as f64;
    Ok(Metrics(out, mean))
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Method::Innmf => "iN-NMF",
            Method::Nmf => "NMF (KL multiplicative updates)",
        }
    }
}
