//! `innmf fit`: fit a model to a point set or to audio, write the model and a report.

use crate::input::{self, TransformArgs};
use crate::progress;
use anyhow::{bail, Result};
use innmf::field::{AxisScale, MlpInit};
use innmf::io::{check_output, is_point_set_file};
use innmf::modelfile::TrainingData;
use innmf::optim::OptimizerConfig;
use innmf::separate::Preset;
use innmf::transform::Analysis;
use innmf::{Divergence, FactorKind, FitConfig, ModelSpec, TfPoints};
use rand::SeedableRng;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Implicit,
    Explicit,
}

impl From<Kind> for FactorKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Implicit => FactorKind::Implicit,
            Kind::Explicit => FactorKind::Explicit,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    Rprop,
    Adam,
}

#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// Point set (.npz with arrays t, f, m, or .csv with columns t,f,m) or audio.
    pub input: PathBuf,
    /// Model file to write (.safetensors).
    #[arg(long, short, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Fit report to write (JSON; default: beside the model, *.report.json).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The representation of audio input.
    #[command(flatten)]
    pub transform: TransformArgs,
    /// STFT and sines window length (samples) for audio input.
    #[arg(long, default_value_t = 2000)]
    pub window: usize,
    /// Hop (samples) of stft, sines and vqt for audio input (the cwt's largest per-scale hop).
    #[arg(long, default_value_t = 1000)]
    pub hop: usize,
    /// Channel of the audio (default: mean of channels).
    #[arg(long)]
    pub channel: Option<usize>,
    /// Magnitude power p applied to the magnitudes (default 0.5 for audio, 1 for point sets).
    #[arg(long)]
    pub power: Option<f64>,
    /// Rank K.
    #[arg(long, default_value_t = 20)]
    pub rank: usize,
    /// W (frequency factor): implicit networks or an explicit table.
    #[arg(long, value_enum, default_value_t = Kind::Implicit)]
    pub w: Kind,
    /// H (time factor): implicit networks or an explicit table.
    #[arg(long, value_enum, default_value_t = Kind::Explicit)]
    pub h: Kind,
    /// Hidden width of the networks.
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    /// Number of sine layers.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Fourier feature octaves.
    #[arg(long, default_value_t = 10)]
    pub features: usize,
    /// Sine scale ω, in (0, 1000].
    #[arg(long, default_value_t = 1.0)]
    pub omega: f32,
    /// SIREN initialization instead of PyTorch's default.
    #[arg(long)]
    pub siren: bool,
    /// Logarithmic frequency axis for W's input.
    #[arg(long)]
    pub log_freq: bool,
    /// β of the β-divergence (0 Itakura-Saito, 1 KL, 2 Euclidean; at most ±10).
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = Opt::Rprop)]
    pub optimizer: Opt,
    /// Learning rate (Rprop: initial step).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Training steps.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Fraction of the points drawn at random per step.
    #[arg(long, default_value_t = 1.0)]
    pub fraction: f64,
    /// Relative-decrease tolerance for early stopping (0: run every step).
    #[arg(long, default_value_t = 0.0)]
    pub tol: f64,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Per-point loss weights (.npy, one value ≥ 0 per point, in the point set's order).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Training protocol: paper (the authors': a random start) | innmf (ours: classical NMF on
    /// the grid (3000 iterations, f32); the --steps fit each of W's networks to its NMF
    /// template, H keeps NMF's activations; needs an explicit H and grid points, e.g. an STFT,
    /// magnitudes below 3.4e38 and no --weights). See the README's findings.
    #[arg(long, default_value = "paper")]
    pub preset: Preset,
}

pub fn run(args: &FitArgs) -> Result<()> {
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| args.out.with_extension("report.json"));
    check_output(
        &args.out,
        "out",
        &["safetensors"],
        &[&args.input],
        &[&report_path],
    )?;
    check_output(
        &report_path,
        "report",
        &["json"],
        &[&args.input],
        &[&args.out],
    )?;
    // the fit's settings are checked before the input is read or anything is trained (a
    // preset's warm start runs before the fit itself)
    let training = args.preset.training();
    let optimizer = match args.optimizer {
        Opt::Rprop => OptimizerConfig::rprop(args.lr),
        Opt::Adam => OptimizerConfig::adam(args.lr),
    };
    let cfg = FitConfig {
        steps: args.steps,
        fraction: args.fraction,
        tol: args.tol,
        optimizer,
        divergence: Divergence::new(args.beta, 1e-8)?,
        seed: args.seed.wrapping_add(1),
        h_optimizer: training.h_optimizer,
        freeze: training.main_freeze(),
        ..Default::default()
    };
    cfg.validate()?;
    if let (Some(w), innmf::separate::WTarget::Templates) = (&args.weights, training.w_target) {
        return Err(innmf::Error::param(
            "--weights",
            w.display(),
            format!(
                "none with --preset {}: its networks are fitted to NMF's templates, which \
                 per-point weights do not weigh (--preset paper fits the weighted points)",
                args.preset
            ),
        )
        .into());
    }
    let weights = match &args.weights {
        Some(p) => Some(innmf::io::read_npy(p)?.data),
        None => None,
    };
    let (points, data): (TfPoints, TrainingData) = if is_point_set_file(&args.input) {
        let p = args.power.unwrap_or(1.0);
        let pts = TfPoints::read(&args.input)?.powered(p)?;
        let source = args.input.display().to_string();
        (pts, TrainingData::PointSet { source, power: p })
    } else {
        let representation = args
            .transform
            .representation(Some(args.window), Some(args.hop))?;
        let sig = input::read_signal(&args.input, args.channel, None, 0.0, None)?;
        innmf::audio::check_audible(&sig.samples, &args.input)?;
        let analysis = Analysis::new(
            &representation,
            sig.sample_rate,
            args.power.unwrap_or(0.5),
            args.transform.calibration(),
        )?;
        (
            analysis.points(&sig.samples)?,
            TrainingData::Audio(analysis),
        )
    };
    let mut spec = ModelSpec::new(args.rank);
    spec.w = args.w.into();
    spec.h = args.h.into();
    spec.width = args.width;
    spec.depth = args.depth;
    spec.n_features = args.features;
    spec.omega = args.omega;
    spec.init = if args.siren {
        MlpInit::Siren
    } else {
        MlpInit::Pytorch
    };
    spec.freq_scale = if args.log_freq {
        AxisScale::Log
    } else {
        AxisScale::Linear
    };
    if let (Some(a), false) = (data.analysis(), args.log_freq) {
        spec.freq_axis = Some(innmf::field::Axis::linear(0.0, a.sample_rate / 2.0)?);
    }
    spec.match_scale = training.match_scale;
    spec.output = training.output;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let mut model = spec.build(&points, &mut rng)?;
    if points.len() < 2 {
        bail!(
            "{} holds {} point(s): nothing to factorize",
            args.input.display(),
            points.len()
        );
    }
    eprintln!(
        "fitting rank {} ({} W, {} H, {} parameters) to {} points ({} frequencies × {} times{})",
        args.rank,
        model.w.kind(),
        model.h.kind(),
        model.n_params(),
        points.len(),
        points.unique_freqs().len(),
        points.unique_times().len(),
        // a row-major grid (an STFT's) is one without building the grid map (4 bytes a point)
        if points.is_row_major_grid() || points.grid().is_some() {
            ", a full grid"
        } else {
            ", a cloud"
        }
    );
    let bar = progress::training_bar(cfg.steps, "fitting");
    let mut cb = progress::callback(&bar);
    let (report, warm) = innmf::separate::train(
        &mut model,
        &points,
        &training,
        args.beta,
        args.seed,
        &cfg,
        weights.as_deref(),
        Some(&mut cb),
    )?;
    bar.finish_and_clear();
    let mut training =
        innmf::separate::training_record(&spec, &cfg, &report, warm.clone(), &training);
    training["preset"] = serde_json::json!(args.preset);
    innmf::modelfile::save(&args.out, &model, &data, &training)?;
    innmf::io::write_json(
        &report_path,
        &serde_json::json!({"input": args.input.display().to_string(), "model": args.out.display().to_string(),
            "points": points.len(), "data": data, "config": cfg, "report": report,
            "preset": args.preset, "warm_start": warm}),
    )?;
    println!(
        "{} steps, loss {:.4e} -> {:.4e} ({}) in {:.1} s",
        report.steps,
        report.loss_history.first().copied().unwrap_or(f64::NAN),
        report.final_loss,
        if report.converged {
            "converged"
        } else if args.tol > 0.0 {
            "step limit reached before the tolerance"
        } else {
            "ran every step"
        },
        report.elapsed_s
    );
    println!("wrote {} and {}", args.out.display(), report_path.display());
    Ok(())
}
