//! Reconstruction across window sizes (arXiv 2404.04439, its TIMIT reconstruction experiment):
//! iN-NMF (implicit `W`, explicit `H`) trained once on the first `train_seconds` of each
//! recording at `train_window` (hop = window/2), `H` refit with `W` frozen at every window;
//! classical KL-NMF fit at every window. Scored with the paper's spectral metrics (KL on
//! `|X|^p`, NMSE and spectral SDR on `|X|`, Itakura–Saito without the authors' +2) on the
//! training excerpt and on the `test_seconds` after it (held out: iN-NMF refits `H`, NMF fits
//! `H` with its training `W`).
//!
//! The models trained here are the separation study's templates too.

use crate::config::ExperimentConfig;
use crate::results::{ReconstructionRow, Row, SpectralScores, Split, TrainingRow};
use crate::runner::Ctx;
use innmf::error::{Error, Result};
use innmf::io::{self, NdArray};
use innmf::metrics::spectral::{itakura_saito, kl_compressed, nmse, spectral_sdr};
use innmf::modelfile;
use innmf::nmf::NmfParams;
use innmf::optim::OptimizerConfig;
use innmf::separate::{
    fit_activations, learn_templates, mixture_stft, HSolver, SeparateConfig, TemplateConfig,
    TemplateMethod, TemplateSet,
};
use innmf::transform::{Padding, Representation};
use innmf::{Model, TfPoints};
use std::path::PathBuf;

/// The paper's spectral scores of a model `v_hat` of `v = |X|^p` (both `[F, T]`).
fn spectral_scores(v: &[f64], v_hat: &[f64], p: f64) -> Result<SpectralScores> {
    let x: Vec<f64> = v.iter().map(|a| a.powf(1.0 / p)).collect();
    let x_hat: Vec<f64> = v_hat.iter().map(|a| a.max(0.0).powf(1.0 / p)).collect();
    Ok(SpectralScores {
        kl: kl_compressed(v, v_hat)?,
        nmse: nmse(&x, &x_hat)?,
        sdr_freq: spectral_sdr(&x, &x_hat)?,
        is: itakura_saito(v, v_hat)?,
    })
}

/// `|STFT_n(x)|^p` on the separation STFT as a dense `[F, T]` matrix with its grid.
struct Grid {
    v: Vec<f64>,
    freqs: Vec<f64>,
    times: Vec<f64>,
    points: TfPoints,
}

fn stft_grid(x: &[f64], sr: f64, window: usize, p: f64) -> Result<Grid> {
    let stft = mixture_stft(window, (window / 2).max(1), sr)?;
    let points = stft.analyze(x)?.to_points(p)?;
    let grid = points
        .grid()
        .ok_or_else(|| Error::Shape("an STFT that is not a grid (internal)".into()))?;
    let m = points.m();
    let v = grid.cell_to_point.iter().map(|&i| m[i as usize]).collect();
    Ok(Grid {
        v,
        freqs: points.unique_freqs().to_vec(),
        times: points.unique_times().to_vec(),
        points,
    })
}

/// `W (F×K) · H (K×T)`.
fn matmul(w: &[f64], h: &[f64], f: usize, k: usize, t: usize) -> Vec<f64> {
    let mut v = vec![0.0; f * t];
    innmf::linalg::gemm64(&mut v, w, h, f, k, t, false, false, false);
    v
}

fn innmf_template_config(cfg: &ExperimentConfig, seed: u64) -> TemplateConfig {
    TemplateConfig {
        method: TemplateMethod::Innmf,
        rank: cfg.rank,
        width: cfg.width,
        representation: Representation::stft(
            cfg.train_window,
            (cfg.train_window / 2).max(1),
            Padding::None,
        ),
        power: cfg.power,
        steps: cfg.innmf_steps,
        optimizer: OptimizerConfig::rprop(1e-3),
        beta: 1.0,
        seed,
        training: cfg.innmf_training.clone(),
        ..TemplateConfig::default()
    }
}

fn nmf_params(cfg: &ExperimentConfig, seed: u64) -> NmfParams {
    NmfParams::new(cfg.rank)
        .beta(1.0)
        .init(cfg.nmf_init)
        .max_iter(cfg.nmf_iter)
        .tol(0.0)
        .check_every(innmf::separate::MU_CHECK_EVERY)
        .seed(seed)
}

fn innmf_path(ctx: &Ctx<'_>, rec: usize) -> PathBuf {
    ctx.model_path(&format!(
        "{}.innmf-{}.safetensors",
        ctx.corpus.speech[rec].name, ctx.cfg.train_window
    ))
}

fn nmf_w_path(ctx: &Ctx<'_>, rec: usize, window: usize) -> PathBuf {
    ctx.model_path(&format!(
        "{}.nmf-{window}.W.npy",
        ctx.corpus.speech[rec].name
    ))
}

/// The iN-NMF model of `rec`, from the file of its `innmf-train` unit.
pub(crate) fn load_innmf(ctx: &Ctx<'_>, rec: usize) -> Result<Model> {
    Ok(modelfile::load(&innmf_path(ctx, rec))?.0)
}

/// `W` (F×K) of the `nmf` unit of `rec` at `window`, from its file.
pub(crate) fn load_nmf_w(ctx: &Ctx<'_>, rec: usize, window: usize) -> Result<Vec<f64>> {
    Ok(io::read_npy(&nmf_w_path(ctx, rec, window))?.data)
}

/// Unit `innmf-train`: iN-NMF's model of `rec`, saved under `models/`.
pub(crate) fn train_innmf(ctx: &Ctx<'_>, rec: usize, seed: u64) -> Result<Vec<Row>> {
    let (train, _) = ctx.excerpts(rec)?;
    let learned = learn_templates(train, ctx.sr(), &innmf_template_config(ctx.cfg, seed), None)?;
    modelfile::save(
        &innmf_path(ctx, rec),
        &learned.model,
        &learned.data,
        &learned.training,
    )?;
    Ok(vec![Row::Training(TrainingRow {
        recording: ctx.corpus.speech[rec].name.clone(),
        representation: None,
        points: None,
        steps: Some(learned.report.steps),
        final_loss: learned.report.final_loss,
    })])
}

/// Unit `nmf`: KL-NMF of `rec` at `window` (`W` saved under `models/`), scored on the training
/// excerpt and, with `H` refit, on the held-out one.
pub(crate) fn nmf(ctx: &Ctx<'_>, rec: usize, window: usize, seed: u64) -> Result<Vec<Row>> {
    let cfg = ctx.cfg;
    let (sr, p) = (ctx.sr(), cfg.power);
    let name = &ctx.corpus.speech[rec].name;
    let row = |split, scores, fit_loss| {
        Row::Reconstruction(ReconstructionRow {
            recording: name.clone(),
            method: TemplateMethod::Nmf,
            window,
            split,
            scores,
            fit_loss,
        })
    };
    let (train, test) = ctx.excerpts(rec)?;
    let g = stft_grid(train, sr, window, p)?;
    let (nf, nt) = (g.freqs.len(), g.times.len());
    let nmf = nmf_params(cfg, seed);
    let (w, h, rep) = nmf.fit_as(cfg.nmf_precision, &g.v, nf, nt)?;
    let v_hat = matmul(&w, &h, nf, cfg.rank, nt);
    let mut rows = vec![row(
        Split::Train,
        spectral_scores(&g.v, &v_hat, p)?,
        rep.final_loss,
    )];
    io::write_npy(
        &nmf_w_path(ctx, rec, window),
        &NdArray::new(vec![nf, cfg.rank], w.clone()),
        false,
    )?;
    if test.len() >= window {
        let gt = stft_grid(test, sr, window, p)?;
        let ntt = gt.times.len();
        let (ht, rep) = nmf.fit_h_as(cfg.nmf_precision, &gt.v, nf, ntt, &w)?;
        let v_hat = matmul(&w, &ht, nf, cfg.rank, ntt);
        rows.push(row(
            Split::Heldout,
            spectral_scores(&gt.v, &v_hat, p)?,
            rep.final_loss,
        ));
    }
    Ok(rows)
}

/// Unit `innmf-refit`: `H` of `rec`'s iN-NMF model refit at `window` (`W` frozen) on the
/// training and the held-out excerpts, scored.
pub(crate) fn refit_innmf(ctx: &Ctx<'_>, rec: usize, window: usize, seed: u64) -> Result<Vec<Row>> {
    let cfg = ctx.cfg;
    let (sr, p) = (ctx.sr(), cfg.power);
    let name = &ctx.corpus.speech[rec].name;
    let model = load_innmf(ctx, rec)?;
    let (train, test) = ctx.excerpts(rec)?;
    let sep = SeparateConfig {
        window,
        hop: (window / 2).max(1),
        power: p,
        steps: cfg.refit_steps,
        solver: HSolver::Rprop,
        seed,
        ..SeparateConfig::default()
    };
    let mut rows = Vec::new();
    for (split, x) in [(Split::Train, train), (Split::Heldout, test)] {
        if x.len() < window {
            continue;
        }
        let g = stft_grid(x, sr, window, p)?;
        let (fitted, _, rep) =
            fit_activations(&g.points, &[TemplateSet::from(&model)], &sep, None)?;
        let v_hat: Vec<f64> = fitted
            .reconstruct_grid(&g.freqs, &g.times)
            .iter()
            .map(|&v| v as f64)
            .collect();
        rows.push(Row::Reconstruction(ReconstructionRow {
            recording: name.clone(),
            method: TemplateMethod::Innmf,
            window,
            split,
            scores: spectral_scores(&g.v, &v_hat, p)?,
            fit_loss: rep.final_loss,
        }));
    }
    Ok(rows)
}
