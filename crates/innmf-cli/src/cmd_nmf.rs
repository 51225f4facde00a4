//! `innmf nmf`: classical multiplicative-update NMF of a matrix (`.npy`) or of the magnitude
//! spectrogram `|STFT|^p` of a WAV file.

use anyhow::{bail, Context};
use innmf::audio::{read, ChannelSelect};
use innmf::error::Num;
use innmf::io::{check_outputs_in, read_npy, write_json, write_npy, NdArray};
use innmf::nmf::{Init, NmfParams, NmfReport, UpdateOrder};
use innmf::transform::stft::{Stft, StftParams};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arguments of `innmf nmf`.
#[derive(clap::Args, Debug)]
pub struct NmfArgs {
    /// Input: a 2-D non-negative `.npy` matrix (rows = frequency bins, columns = frames) or a
    /// `.wav` file (its `|STFT|^power` is factorized).
    pub input: PathBuf,
    /// Number of components K.
    #[arg(long, default_value_t = 20)]
    pub rank: usize,
    /// β of the β-divergence: 2 Euclidean, 1 Kullback–Leibler, 0 Itakura–Saito, or any value in
    /// [−10, 10].
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Initialisation: random, paper, nndsvd, nndsvda, nndsvdar.
    #[arg(long, default_value = "nndsvda")]
    pub init: String,
    /// Largest number of iterations.
    #[arg(long, default_value_t = 200)]
    pub iters: usize,
    /// Relative-decrease tolerance, checked every 10 iterations (0: run all iterations).
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (W.npy, H.npy, report.json, plots).
    #[arg(long, default_value = "nmf-out")]
    pub out: PathBuf,
    /// Regularisation strength on W (scikit-learn's alpha_W), at most 1e30.
    #[arg(long, default_value_t = 0.0)]
    pub alpha_w: f64,
    /// Regularisation strength on H (default: same as --alpha-w).
    #[arg(long)]
    pub alpha_h: Option<f64>,
    /// Share of L1 in the regularisation, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub l1_ratio: f64,
    /// Update order: w-then-h (scikit-learn) or h-then-w (the paper).
    #[arg(long, default_value = "w-then-h")]
    pub order: String,
    /// Keep W fixed to this `.npy` (F×K) and fit H only (supervised separation).
    #[arg(long)]
    pub fixed_w: Option<PathBuf>,
    /// Compute in f64 instead of f32.
    #[arg(long)]
    pub f64: bool,
    /// Write W.npy and H.npy as float32 instead of float64.
    #[arg(long)]
    pub save_f32: bool,
    /// STFT window length in samples (WAV input).
    #[arg(long, default_value_t = 2000)]
    pub window: usize,
    /// STFT hop in samples (WAV input).
    #[arg(long, default_value_t = 1000)]
    pub hop: usize,
    /// Magnitude compression p: the matrix is |STFT|^p (WAV input).
    #[arg(long, default_value_t = 0.5)]
    pub power: f64,
    /// Channel of a multi-channel WAV (default: the mean of all channels).
    #[arg(long)]
    pub channel: Option<usize>,
    /// Scale the signal to unit energy first, as the paper's TIMIT loader does (WAV input).
    #[arg(long)]
    pub unit_energy: bool,
    /// Skip the figures (W.png, H.png, loss.png).
    #[arg(long)]
    pub no_plot: bool,
}

/// What report.json holds: the input, the parameters and the fit report.
#[derive(Serialize)]
struct RunReport<'a> {
    input: String,
    shape: [usize; 2],
    stft: Option<StftParams>,
    params: &'a NmfParams,
    fixed_w: Option<String>,
    report: &'a NmfReport,
}

struct Matrix {
    data: Vec<f64>,
    rows: usize,
    cols: usize,
    stft: Option<StftParams>,
    freqs: Option<Vec<f64>>,
    times: Option<Vec<f64>>,
}

fn load_input(args: &NmfArgs) -> anyhow::Result<Matrix> {
    let ext = args
        .input
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "npy" => {
            let a = read_npy(&args.input)?;
            if a.shape.len() != 2 {
                bail!(
                    "{}: expected a 2-D matrix (bins × frames), got shape {:?}",
                    args.input.display(),
                    a.shape
                );
            }
            Ok(Matrix {
                rows: a.shape[0],
                cols: a.shape[1],
                data: a.data,
                stft: None,
                freqs: None,
                times: None,
            })
        }
        "wav" => {
            if !(args.power.is_finite() && args.power > 0.0) {
                bail!("--power {}: expected a finite value > 0", Num(args.power));
            }
            let audio = read(&args.input)?;
            let select = args
                .channel
                .map_or(ChannelSelect::Mix, ChannelSelect::Index);
            let mut x = audio.mono(select)?;
            // nothing to factorize: W and H would be whatever the initialisation left
            innmf::audio::check_audible(&x, &args.input)?;
            if args.unit_energy {
                let e = x.iter().map(|v| v * v).sum::<f64>().sqrt();
                if e > 0.0 {
                    x.iter_mut().for_each(|v| *v /= e);
                }
            }
            // before the plan: a window longer than the signal fails anyway, after seconds of
            // planning a large FFT
            if args.window > x.len() {
                bail!(
                    "--window {}: expected at most the signal length {} samples",
                    args.window,
                    x.len()
                );
            }
            let params = StftParams::new(args.window, args.hop);
            let spec = Stft::new(params, audio.sample_rate as f64)?.analyze(&x)?;
            let data = spec
                .magnitude()
                .into_iter()
                .map(|m| m.powf(args.power))
                .collect();
            Ok(Matrix {
                data,
                rows: spec.n_bins,
                cols: spec.n_frames,
                stft: Some(params),
                freqs: Some(spec.freqs.clone()),
                times: Some(spec.times.clone()),
            })
        }
        _ => bail!(
            "{}: unsupported input (expected .npy or .wav)",
            args.input.display()
        ),
    }
}

fn params(args: &NmfArgs) -> anyhow::Result<NmfParams> {
    let order = match args.order.as_str() {
        "w-then-h" => UpdateOrder::WThenH,
        "h-then-w" => UpdateOrder::HThenW,
        o => bail!("--order {o}: expected w-then-h or h-then-w"),
    };
    let mut p = NmfParams::new(args.rank)
        .beta(args.beta)
        .init(Init::parse(&args.init)?)
        .max_iter(args.iters)
        .tol(args.tol)
        .seed(args.seed)
        .alpha_w(args.alpha_w)
        .l1_ratio(args.l1_ratio)
        .order(order);
    if let Some(a) = args.alpha_h {
        p = p.alpha_h(a);
    }
    p.check()?;
    Ok(p)
}

/// Fits in precision `T` and returns `(W, H, report)` as f64.
fn fit<T: innmf::nmf::Float>(
    p: &NmfParams,
    m: &Matrix,
    fixed_w: Option<&[f64]>,
) -> innmf::Result<(Vec<f64>, Vec<f64>, NmfReport)> {
    let x: Vec<T> = m.data.iter().map(|&v| T::from_f64(v)).collect();
    let back = |v: Vec<T>| v.into_iter().map(|a| a.to_f64()).collect::<Vec<f64>>();
    match fixed_w {
        Some(w) => {
            let w: Vec<T> = w.iter().map(|&v| T::from_f64(v)).collect();
            let (h, r) = p.fit_h(&x, m.rows, m.cols, &w)?;
            Ok((back(w), back(h), r))
        }
        None => {
            let (w, h, r) = p.fit(&x, m.rows, m.cols)?;
            Ok((back(w), back(h), r))
        }
    }
}

/// Runs `innmf nmf`.
pub fn run(args: &NmfArgs) -> anyhow::Result<()> {
    let p = params(args)?;
    // the files written into --out are none of the inputs (a --fixed-w DIR/W.npy with --out
    // DIR was overwritten by the fitted W)
    let mut inputs: Vec<&Path> = vec![&args.input];
    inputs.extend(args.fixed_w.as_deref());
    let mut names = vec!["W.npy", "H.npy", "report.json"];
    if !args.no_plot {
        names.extend(["W.png", "H.png", "loss.png"]);
    }
    check_outputs_in(&args.out, "out", &names, &inputs)?;
    let m = load_input(args).with_context(|| format!("reading {}", args.input.display()))?;
    let fixed = match &args.fixed_w {
        Some(path) => {
            let a = read_npy(path)?;
            if a.shape != [m.rows, args.rank] {
                bail!(
                    "{}: fixed W has shape {:?}, expected [{}, {}] (bins × rank)",
                    path.display(),
                    a.shape,
                    m.rows,
                    args.rank
                );
            }
            Some(a.data)
        }
        None => None,
    };
    eprintln!(
        "nmf: {}x{} matrix, rank {}, beta {}, init {}, up to {} iterations ({})",
        m.rows,
        m.cols,
        p.rank,
        p.beta,
        p.init.name(),
        p.max_iter,
        if args.f64 { "f64" } else { "f32" }
    );
    let (w, h, report) = if args.f64 {
        fit::<f64>(&p, &m, fixed.as_deref())?
    } else {
        fit::<f32>(&p, &m, fixed.as_deref())?
    };
    if let Some(msg) = report.warning() {
        eprintln!("warning: {msg}");
    }
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let k = p.rank;
    write_npy(
        &out.join("W.npy"),
        &NdArray::new(vec![m.rows, k], w.clone()),
        args.save_f32,
    )?;
    write_npy(
        &out.join("H.npy"),
        &NdArray::new(vec![k, m.cols], h.clone()),
        args.save_f32,
    )?;
    write_json(
        &out.join("report.json"),
        &RunReport {
            input: args.input.display().to_string(),
            shape: [m.rows, m.cols],
            stft: m.stft,
            params: &p,
            fixed_w: args.fixed_w.as_ref().map(|p| p.display().to_string()),
            report: &report,
        },
    )?;
    if !args.no_plot {
        plot_factors(out, &m, k, &w, &h, &report)?;
    }
    eprintln!(
        "nmf: {} iterations in {:.2} s, mean {} {:.6e} -> {:.6e}{}; wrote {}",
        report.n_iter,
        report.elapsed_s,
        report.divergence.name(),
        report.initial_loss,
        report.final_loss,
        if report.converged { " (converged)" } else { "" },
        out.display()
    );
    Ok(())
}

/// Figures: `W.png` (each column normalised to its maximum and stacked, over frequency),
/// `H.png` (each row likewise, over time) and `loss.png` (the loss at every check).
fn plot_factors(
    out: &Path,
    m: &Matrix,
    k: usize,
    w: &[f64],
    h: &[f64],
    report: &NmfReport,
) -> anyhow::Result<()> {
    use innmf::plot::{lines, Series};
    let stacked = |n: usize, get: &dyn Fn(usize, usize) -> f64, axis: &[f64]| -> Vec<Series> {
        (0..k)
            .map(|j| {
                let peak = (0..n).map(|i| get(i, j)).fold(0.0f64, f64::max);
                let scale = if peak > 0.0 { 0.9 / peak } else { 0.0 };
                Series {
                    name: format!("{j}"),
                    x: axis.to_vec(),
                    y: (0..n).map(|i| j as f64 + scale * get(i, j)).collect(),
                }
            })
            .collect()
    };
    let (f_axis, f_label, t_axis, t_label) = match (&m.freqs, &m.times) {
        (Some(f), Some(t)) => (f.clone(), "frequency (Hz)", t.clone(), "time (s)"),
        _ => (
            (0..m.rows).map(|i| i as f64).collect(),
            "row (bin)",
            (0..m.cols).map(|i| i as f64).collect(),
            "column (frame)",
        ),
    };
    let ws = stacked(m.rows, &|i, j| w[i * k + j], &f_axis);
    lines(
        &out.join("W.png"),
        "W columns (each scaled to its peak; offset = component)",
        f_label,
        "component",
        &ws,
        false,
    )?;
    let hs = stacked(m.cols, &|i, j| h[j * m.cols + i], &t_axis);
    lines(
        &out.join("H.png"),
        "H rows (each scaled to its peak; offset = component)",
        t_label,
        "component",
        &hs,
        false,
    )?;
    let loss = Series {
        name: report.divergence.name(),
        x: report.loss_history.iter().map(|p| p.iter as f64).collect(),
        y: report
            .loss_history
            .iter()
            .map(|p| p.loss.max(1e-300))
            .collect(),
    };
    if loss.y.iter().all(|v| *v > 1e-300) {
        lines(
            &out.join("loss.png"),
            "mean divergence",
            "iteration",
            "loss",
            &[loss],
            true,
        )?;
    }
    Ok(())
}
