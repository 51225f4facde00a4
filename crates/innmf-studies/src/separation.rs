//! Two-speaker separation across window sizes (arXiv 2404.04439, its TIMIT separation
//! experiment): pairs of recordings of distinct speakers (a speaker is the file name up to its
//! first `_`: `slt_hts` and `slt` are one speaker); each source's templates are the
//! reconstruction study's models; the mixture is the two held-out excerpts, the second scaled to
//! exactly the first's energy (0 dB). iN-NMF samples `W` at each window's bins and fits `H`
//! (`separation_steps` steps of `separation_solver`); NMF uses the `W` trained at that window
//! (or, with `nmf_templates: train-window`, the one trained at `train_window`, interpolated)
//! and fits `H` with `nmf_iter` multiplicative updates. Scored by [`innmf::metrics::evaluate`]
//! (BSS Eval v3 SDR/SIR/SAR with the permutation search, SI-SDR with mean removal, STOI),
//! averaged over the two sources.

use crate::config::{ExperimentConfig, InnmfTemplateGrid, NmfTemplates};
use crate::reconstruction::{load_innmf, load_nmf_w};
use crate::results::{PerSource, Row, SeparationRow};
use crate::runner::Ctx;
use innmf::error::{Error, Result};
use innmf::field::{Factor, Table};
use innmf::metrics::{evaluate, EvalOptions};
use innmf::separate::{
    mixture_stft, nmf_model, separate, HSolver, SeparateConfig, TemplateMethod, TemplateSet,
};
use innmf::Model;

/// The scores of the study: permutation search, STOI without eSTOI, SI-SDR of zero-mean signals.
pub const EVAL: EvalOptions = EvalOptions {
    permutation: true,
    stoi: true,
    extended_stoi: false,
    si_sdr_zero_mean: true,
};

/// The window whose NMF templates separate a mixture at `window`
/// ([`ExperimentConfig::nmf_templates`]).
pub(crate) fn nmf_template_window(cfg: &ExperimentConfig, window: usize) -> usize {
    match cfg.nmf_templates {
        NmfTemplates::PerWindow => window,
        NmfTemplates::TrainWindow => cfg.train_window,
    }
}

/// iN-NMF's templates as the study applies them ([`ExperimentConfig::innmf_template_grid`]):
/// the model itself (its networks evaluated at the mixture's bins), or its W evaluated at the
/// bins of `train_window` as an explicit table (linearly interpolated to the mixture's bins).
fn innmf_templates(cfg: &ExperimentConfig, model: Model, sr: f64) -> Result<Model> {
    match cfg.innmf_template_grid {
        InnmfTemplateGrid::Mixture => Ok(model),
        InnmfTemplateGrid::Training => {
            let tw = cfg.train_window;
            let freqs: Vec<f64> = (0..=tw / 2).map(|k| k as f64 * sr / tw as f64).collect();
            let w: Vec<f64> = model
                .sample_w(&freqs) // [K, F], as a table holds it
                .iter()
                .map(|&v| f64::from(v).max(0.0))
                .collect();
            let w = Factor::Explicit(Table::from_values(model.rank(), freqs, &w)?);
            Model::new(w, model.h) // H is not used by `separate`
        }
    }
}

/// Unit `separate`: the mixture of `a` and `b` at `window`, separated with `method`'s
/// templates, scored.
pub(crate) fn separate_pair(
    ctx: &Ctx<'_>,
    a: usize,
    b: usize,
    method: TemplateMethod,
    window: usize,
    seed: u64,
) -> Result<Vec<Row>> {
    let cfg = ctx.cfg;
    let sr = ctx.sr();
    let (_, ta) = ctx.excerpts(a)?;
    let (_, tb) = ctx.excerpts(b)?;
    let n = ta.len().min(tb.len());
    let s1 = ta[..n].to_vec();
    let e1 = s1.iter().map(|v| v * v).sum::<f64>();
    let e2 = tb[..n].iter().map(|v| v * v).sum::<f64>();
    if !(e1 > 0.0 && e2 > 0.0) {
        return Err(Error::param(
            "test excerpt",
            "silent",
            "speech in the held-out seconds of both recordings",
        ));
    }
    let g = (e1 / e2).sqrt();
    let s2: Vec<f64> = tb[..n].iter().map(|v| v * g).collect();
    let mix: Vec<f64> = s1.iter().zip(&s2).map(|(x, y)| x + y).collect();
    let hop = (window / 2).max(1);
    let base = SeparateConfig {
        window,
        hop,
        power: cfg.power,
        mask: cfg.mask,
        seed,
        mu_precision: cfg.nmf_precision,
        ..SeparateConfig::default()
    };
    let (models, sep_cfg) = match method {
        TemplateMethod::Innmf => (
            [a, b]
                .into_iter()
                .map(|rec| innmf_templates(cfg, load_innmf(ctx, rec)?, sr))
                .collect::<Result<Vec<_>>>()?,
            SeparateConfig {
                steps: cfg.separation_steps,
                solver: cfg.separation_solver,
                ..base
            },
        ),
        TemplateMethod::Nmf => {
            // the bins of the window the templates were trained at (interpolated to the
            // mixture's by `separate` when it is another)
            let tw = nmf_template_window(cfg, window);
            let freqs = mixture_stft(tw, (tw / 2).max(1), sr)?.analyze(&mix)?.freqs;
            let mut ms = Vec::new();
            for rec in [a, b] {
                let w = load_nmf_w(ctx, rec, tw)?;
                // H is not used by `separate`: one frame of ones
                ms.push(nmf_model(&w, &vec![1.0; cfg.rank], &freqs, &[0.0])?);
            }
            (
                ms,
                SeparateConfig {
                    steps: cfg.nmf_iter,
                    solver: HSolver::Mu,
                    ..base
                },
            )
        }
    };
    let sets: Vec<TemplateSet<'_>> = models.iter().map(TemplateSet::from).collect();
    let sep = separate(&mix, sr, &sets, &sep_cfg, None)?;
    let refs = [s1.as_slice(), s2.as_slice()];
    let ests = [sep.sources[0].as_slice(), sep.sources[1].as_slice()];
    let scores = evaluate(&refs, &ests, sr, &EVAL)?;
    let per = |f: fn(&innmf::metrics::SourceScores) -> f64| -> Vec<f64> {
        scores.sources.iter().map(f).collect()
    };
    let stoi = |s: &innmf::metrics::SourceScores| s.stoi.unwrap_or(f64::NAN);
    Ok(vec![Row::Separation(SeparationRow {
        pair: format!(
            "{}+{}",
            ctx.corpus.speech[a].name, ctx.corpus.speech[b].name
        ),
        method,
        window,
        sdr: scores.mean.sdr,
        sir: scores.mean.sir,
        sar: scores.mean.sar,
        si_sdr: scores.mean.si_sdr,
        stoi: scores.mean.stoi.unwrap_or(f64::NAN),
        per_source: PerSource {
            sdr: per(|s| s.sdr),
            sir: per(|s| s.sir),
            sar: per(|s| s.sar),
            si_sdr: per(|s| s.si_sdr),
            stoi: per(stoi),
            perm: scores.permutation.clone(),
        },
        fit_final_loss: sep.report.fit.final_loss,
        fit_steps: sep.report.fit.steps,
    })])
}
