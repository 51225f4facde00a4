//! Music separation in every representation (issue 16; iN-NMF of arXiv 2404.04439 §3.4 applied
//! beyond the STFT): the tracks of aligned stems, each cut into [`MusicConfig::folds`] equal
//! time folds. Per held-out fold, every stem's templates are learned on the other folds joined
//! end to end: iN-NMF (implicit `W`, explicit `H`) in each listed representation on the
//! unit-tone scale, classical NMF at each STFT window. Every mixture of two or more of the
//! track's stems (their sum as recorded, no gain change) on the held-out fold is separated by
//! iN-NMF in each representation ([`innmf::separate`] through the representation's own inverse),
//! by NMF at each window, and by oracle ratio masks in each representation (the true stems'
//! `|c|^p`: the representation's limit with the study's mask). Scored per stem by BSS Eval v3
//! (no permutation search: the estimate of stem j is output j).
//!
//! Observations: fold × mixture × stem. Fold 0 is the selection part, on which NMF's best
//! window per instrument is chosen; the report gives the other folds.

use crate::config::{music_representation_name, MusicConfig};
use crate::corpus::Corpus;
use crate::plan::MusicMethod;
use crate::results::{MusicRow, Row, TrainingRow};
use crate::runner::Ctx;
use innmf::audio::{self, ChannelSelect};
use innmf::error::{Error, Result};
use innmf::metrics::{evaluate, EvalOptions};
use innmf::modelfile;
use innmf::optim::OptimizerConfig;
use innmf::separate::{
    learn_templates, masks, mixture_stft, resynthesize_masked, separate, HSolver, SeparateConfig,
    TemplateConfig, TemplateMethod, TemplateSet,
};
use innmf::transform::{Calibration, Representation};
use innmf::Model;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Scores of the music study: stem j is output j; SI-SDR of zero-mean signals; no STOI.
pub const EVAL: EvalOptions = EvalOptions {
    permutation: false,
    stoi: false,
    extended_stoi: false,
    si_sdr_zero_mean: true,
};

/// The tracks of aligned stems in `corpus.music`: `(track, stems)`, tracks in name order, each
/// track's stems (indices into `corpus.music`) in name order; tracks of at least two stems.
pub fn tracks(corpus: &Corpus) -> Vec<(String, Vec<usize>)> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in corpus.music.iter().enumerate() {
        if let (Some(t), Some(_)) = (&r.track, &r.stem) {
            by.entry(t.as_str()).or_default().push(i);
        }
    }
    by.into_iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(t, mut v)| {
            v.sort_by(|&a, &b| corpus.music[a].name.cmp(&corpus.music[b].name));
            (t.to_string(), v)
        })
        .collect()
}

/// Most stems of a track the study mixes (2^n − n − 1 mixtures per fold).
pub const MAX_STEMS: usize = 8;

/// Every mixture of a track of `n` stems: bit masks of two or more of its first
/// [`MAX_STEMS`] stems, pairs first, then by mask.
pub fn subsets(n: usize) -> Vec<u32> {
    let n = n.min(MAX_STEMS);
    let mut v: Vec<u32> = (0..1u32 << n).filter(|m| m.count_ones() >= 2).collect();
    v.sort_by_key(|&m| (m.count_ones(), m));
    v
}

/// The stems of `subset` (indices into `corpus.music`), in track order.
pub fn members(stems: &[usize], subset: u32) -> Vec<usize> {
    stems
        .iter()
        .enumerate()
        .filter(|(i, _)| subset >> i & 1 == 1)
        .map(|(_, &r)| r)
        .collect()
}

/// The name of a mixture: its stems' instrument names `+`-joined (`bass+flute`).
pub fn subset_name(corpus: &Corpus, stems: &[usize], subset: u32) -> String {
    members(stems, subset)
        .iter()
        .map(|&r| instrument(corpus, r))
        .collect::<Vec<_>>()
        .join("+")
}

fn instrument(corpus: &Corpus, rec: usize) -> String {
    let r = &corpus.music[rec];
    r.stem.clone().unwrap_or_else(|| r.name.clone())
}

fn settings<'a>(ctx: &Ctx<'a>) -> Result<&'a MusicConfig> {
    ctx.cfg
        .music
        .as_ref()
        .ok_or_else(|| Error::param("music", "absent", "music settings for a music unit"))
}

/// A stem, mono (channels mixed), at the study's rate.
fn load_stem(ctx: &Ctx<'_>, rec: usize) -> Result<Vec<f64>> {
    let m = settings(ctx)?;
    let a = audio::read(&ctx.corpus.music[rec].path)?;
    let x = a.mono(ChannelSelect::Mix)?;
    if a.sample_rate == m.sample_rate {
        Ok(x)
    } else {
        audio::resample(&x, a.sample_rate, m.sample_rate)
    }
}

/// The samples of fold `k` of `folds` in a signal of `n`.
fn fold_range(n: usize, folds: usize, k: usize) -> std::ops::Range<usize> {
    (k * n / folds)..((k + 1) * n / folds)
}

/// Every fold of `x` but `k`, joined end to end.
fn training_part(x: &[f64], folds: usize, k: usize) -> Vec<f64> {
    let r = fold_range(x.len(), folds, k);
    let mut v = x[..r.start].to_vec();
    v.extend_from_slice(&x[r.end..]);
    v
}

fn innmf_path(ctx: &Ctx<'_>, rec: usize, fold: usize, rep: &Representation) -> PathBuf {
    ctx.model_path(&format!(
        "music.{}.f{fold}.{}.safetensors",
        ctx.corpus.music[rec].name,
        music_representation_name(rep)
    ))
}

fn nmf_path(ctx: &Ctx<'_>, rec: usize, fold: usize, window: usize) -> PathBuf {
    ctx.model_path(&format!(
        "music.{}.f{fold}.nmf-{window}.safetensors",
        ctx.corpus.music[rec].name
    ))
}

/// Unit `music-train`: iN-NMF templates of stem `rec` in representation `rep` (unit-tone
/// scale), learned on every fold but `fold`; saved under `models/`.
pub(crate) fn train(
    ctx: &Ctx<'_>,
    rec: usize,
    fold: usize,
    rep: usize,
    seed: u64,
) -> Result<Vec<Row>> {
    let m = settings(ctx)?;
    let x = load_stem(ctx, rec)?;
    let train = training_part(&x, m.folds, fold);
    let representation = m.representations[rep].clone();
    let tc = TemplateConfig {
        method: TemplateMethod::Innmf,
        rank: m.rank,
        width: m.width,
        representation: representation.clone(),
        calibration: Calibration::UnitTone,
        power: ctx.cfg.power,
        steps: m.steps,
        optimizer: OptimizerConfig::rprop(1e-3),
        beta: 1.0,
        seed,
        ..TemplateConfig::default()
    };
    let learned = learn_templates(&train, m.sample_rate as f64, &tc, None)?;
    let path = innmf_path(ctx, rec, fold, &representation);
    modelfile::save(&path, &learned.model, &learned.data, &learned.training)?;
    Ok(vec![Row::Training(TrainingRow {
        recording: ctx.corpus.music[rec].name.clone(),
        representation: Some(music_representation_name(&representation)),
        points: None,
        steps: Some(learned.report.steps),
        final_loss: learned.report.final_loss,
    })])
}

/// Unit `music-nmf`: NMF templates of stem `rec` at STFT `window` (hop = window/4, the mixture
/// STFT of [`separate`]), learned on every fold but `fold`; saved under `models/`.
pub(crate) fn nmf(
    ctx: &Ctx<'_>,
    rec: usize,
    fold: usize,
    window: usize,
    seed: u64,
) -> Result<Vec<Row>> {
    let m = settings(ctx)?;
    let sr = m.sample_rate as f64;
    let x = load_stem(ctx, rec)?;
    let train = training_part(&x, m.folds, fold);
    let stft = mixture_stft(window, (window / 4).max(1), sr)?;
    let tc = TemplateConfig {
        method: TemplateMethod::Nmf,
        rank: m.rank,
        representation: Representation::Stft(*stft.params()),
        calibration: Calibration::Native,
        power: ctx.cfg.power,
        steps: m.nmf_iter,
        beta: 1.0,
        seed,
        ..TemplateConfig::default()
    };
    let learned = learn_templates(&train, sr, &tc, None)?;
    modelfile::save(
        &nmf_path(ctx, rec, fold, window),
        &learned.model,
        &learned.data,
        &learned.training,
    )?;
    Ok(vec![Row::Training(TrainingRow {
        recording: ctx.corpus.music[rec].name.clone(),
        representation: Some(format!("nmf-{window}")),
        points: None,
        steps: Some(learned.report.steps),
        final_loss: learned.report.final_loss,
    })])
}

/// The fold of the track whose full mixture gets figures: the first reported fold.
const FIGURE_FOLD: usize = 1;
/// Seconds of the figures' excerpt (from the fold's start) and their highest frequency (Hz).
const FIGURE_SECONDS: f64 = 3.0;
const FIGURE_MAX_HZ: f64 = 6000.0;

/// Unit `music-separate`: the mixture of `subset` of track `track` on fold `fold`, separated by
/// `method`, scored per stem.
pub(crate) fn separate_mix(
    ctx: &Ctx<'_>,
    track: usize,
    subset: u32,
    fold: usize,
    method: MusicMethod,
    seed: u64,
) -> Result<Vec<Row>> {
    let m = settings(ctx)?;
    let sr = m.sample_rate as f64;
    let tracks = tracks(ctx.corpus);
    let (track_name, stems) = &tracks[track];
    let recs = members(stems, subset);
    let mut refs: Vec<Vec<f64>> = Vec::with_capacity(recs.len());
    for &rec in &recs {
        let x = load_stem(ctx, rec)?;
        refs.push(x[fold_range(x.len(), m.folds, fold)].to_vec());
    }
    let n = refs.iter().map(Vec::len).min().unwrap_or(0);
    for (r, &rec) in refs.iter_mut().zip(&recs) {
        r.truncate(n);
        if r.iter().all(|&v| v == 0.0) {
            return Err(Error::param(
                "music stem",
                format!("{} (fold {fold})", ctx.corpus.music[rec].name),
                "sound in every fold (a silent reference cannot be scored): fewer folds",
            ));
        }
    }
    let mix: Vec<f64> = (0..n).map(|i| refs.iter().map(|r| r[i]).sum()).collect();
    let power = ctx.cfg.power;
    let (sources, representation, window) = match method {
        MusicMethod::Innmf { rep } => {
            let representation = &m.representations[rep];
            let loaded = load_models(
                recs.iter()
                    .map(|&rec| innmf_path(ctx, rec, fold, representation)),
            )?;
            let sets = template_sets(&loaded, sr)?;
            let sc = SeparateConfig {
                power,
                steps: m.separation_steps,
                solver: HSolver::Rprop,
                mask: m.mask,
                seed,
                representation: Some(representation.clone()),
                calibration: Calibration::UnitTone,
                h_step: m.h_step,
                ..SeparateConfig::default()
            };
            let sep = separate(&mix, sr, &sets, &sc, None)?;
            (sep.sources, music_representation_name(representation), None)
        }
        MusicMethod::Nmf { window } => {
            let loaded = load_models(recs.iter().map(|&rec| nmf_path(ctx, rec, fold, window)))?;
            let sets = template_sets(&loaded, sr)?;
            let sc = SeparateConfig {
                window,
                hop: (window / 4).max(1),
                power,
                steps: m.nmf_iter,
                solver: HSolver::Mu,
                mask: m.mask,
                seed,
                ..SeparateConfig::default()
            };
            let sep = separate(&mix, sr, &sets, &sc, None)?;
            (
                sep.sources,
                format!("stft-{window}-{}", (window / 4).max(1)),
                Some(window),
            )
        }
        MusicMethod::Oracle { rep } => {
            let representation = &m.representations[rep];
            let sources = oracle(&mix, &refs, sr, representation, power, m.mask)?;
            (sources, music_representation_name(representation), None)
        }
    };
    let scores = evaluate(&refs, &sources, sr, &EVAL)?;
    let full = subset.count_ones() as usize == stems.len().min(MAX_STEMS);
    let (method_name, method_label) = match method {
        MusicMethod::Innmf { .. } => ("innmf", format!("innmf-{representation}")),
        MusicMethod::Nmf { window } => ("nmf", format!("nmf-{window}")),
        MusicMethod::Oracle { .. } => ("oracle", format!("oracle-{representation}")),
    };
    let mut rows = Vec::with_capacity(recs.len());
    for (j, &rec) in recs.iter().enumerate() {
        let s = &scores.sources[j];
        let figures = if full && fold == FIGURE_FOLD.min(m.folds - 1) {
            let prefix = format!(
                "figures/music/{track_name}.f{fold}.{}",
                instrument(ctx.corpus, rec)
            );
            // the reference once, with the first oracle
            let with_ref = matches!(method, MusicMethod::Oracle { rep: 0 });
            figure_pair(
                ctx,
                &prefix,
                &method_label,
                &refs[j],
                &sources[j],
                sr,
                with_ref,
            )?
        } else {
            Vec::new()
        };
        rows.push(Row::Music(MusicRow {
            track: track_name.clone(),
            mix: subset_name(ctx.corpus, stems, subset),
            fold,
            method: method_name.to_string(),
            representation: representation.clone(),
            window,
            instrument: instrument(ctx.corpus, rec),
            sdr: s.sdr,
            sir: s.sir,
            sar: s.sar,
            si_sdr: s.si_sdr,
            figures,
        }));
    }
    Ok(rows)
}

/// Oracle ratio masks: the mixture `mix` separated in `rep` with each reference's `|c|^p` as its
/// model (the mask `mask`), through the representation's inverse
/// ([`resynthesize_masked`], the path of every separation).
///
/// # Errors
/// A representation without an inverse, references of another length than the mixture.
pub fn oracle(
    mix: &[f64],
    refs: &[Vec<f64>],
    sample_rate: f64,
    rep: &Representation,
    power: f64,
    mask: innmf::separate::MaskKind,
) -> Result<Vec<Vec<f64>>> {
    let rep = rep.resolve(sample_rate)?;
    let plan = rep.plan(sample_rate, mix.len())?;
    let coeffs = plan.analyze(mix)?;
    let mut models = Vec::with_capacity(refs.len());
    for r in refs {
        if r.len() != mix.len() {
            return Err(Error::LengthMismatch {
                what: "oracle reference vs mixture".into(),
                expected: mix.len(),
                got: r.len(),
            });
        }
        models.push(plan.analyze(r)?.to_points(power)?.m().to_vec());
    }
    let gains = masks(&models, power, mask)?;
    resynthesize_masked(&rep, plan.as_ref(), &coeffs, &gains, mix)
}

/// The spectrograms (STFT of about 93 ms, first [`FIGURE_SECONDS`] s, up to
/// [`FIGURE_MAX_HZ`]) of an estimate and, when `with_ref`, of its reference:
/// `prefix.label.png` and `prefix.reference.png` under the output folder; their paths
/// relative to it.
#[cfg(feature = "plot")]
fn figure_pair(
    ctx: &Ctx<'_>,
    prefix: &str,
    label: &str,
    reference: &[f64],
    estimate: &[f64],
    sr: f64,
    with_ref: bool,
) -> Result<Vec<String>> {
    let rep = crate::config::music_representation("stft", sr)?;
    let n = ((FIGURE_SECONDS * sr) as usize).min(reference.len());
    let mut out = Vec::new();
    let mut draw = |x: &[f64], rel: String, title: String| -> Result<()> {
        let pts = rep.points(&x[..n], sr, 1.0, Calibration::Native)?;
        let keep: Vec<usize> = (0..pts.len())
            .filter(|&i| pts.f()[i] <= FIGURE_MAX_HZ && pts.f()[i] > 0.0)
            .collect();
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let path = ctx.out.join(&rel);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        innmf::plot::points(
            &path,
            &title,
            &pick(pts.t()),
            &pick(pts.f()),
            &pick(pts.m()),
            true,
            true,
        )?;
        out.push(rel);
        Ok(())
    };
    let name = prefix.rsplit('/').next().unwrap_or(prefix);
    if with_ref {
        draw(
            reference,
            format!("{prefix}.reference.png"),
            format!("{name}: reference"),
        )?;
    }
    draw(
        estimate,
        format!("{prefix}.{label}.png"),
        format!("{name}: {label}"),
    )?;
    Ok(out)
}

#[cfg(not(feature = "plot"))]
fn figure_pair(
    _ctx: &Ctx<'_>,
    _prefix: &str,
    _label: &str,
    _reference: &[f64],
    _estimate: &[f64],
    _sr: f64,
    _with_ref: bool,
) -> Result<Vec<String>> {
    Ok(Vec::new())
}

/// Template files read back: each model with its configuration and path.
type Loaded = Vec<(Model, modelfile::ModelConfig, PathBuf)>;

/// Reads the model files at `paths`.
fn load_models(paths: impl Iterator<Item = PathBuf>) -> Result<Loaded> {
    paths
        .map(|p| modelfile::load(&p).map(|(a, b)| (a, b, p)))
        .collect()
}

/// The template sets of models read by [`load_models`], at the mixture's rate `sr`.
fn template_sets(loaded: &Loaded, sr: f64) -> Result<Vec<TemplateSet<'_>>> {
    loaded
        .iter()
        .map(|(model, c, p)| TemplateSet::from_file(model, c, sr, false, p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_tile_the_signal_and_subsets_are_every_mixture_of_two_or_more() {
        let x: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let parts: Vec<_> = (0..3).map(|k| fold_range(10, 3, k)).collect();
        assert_eq!(parts, [0..3, 3..6, 6..10]);
        assert_eq!(training_part(&x, 3, 1), [0.0, 1.0, 2.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(subsets(3), [0b011, 0b101, 0b110, 0b111]);
        assert_eq!(subsets(2), [0b11]);
        assert_eq!(subsets(4).len(), 11);
        assert_eq!(members(&[7, 8, 9], 0b101), [7, 9]);
    }
}
