//! Transfer of templates across representations: on the first `transfer.seconds` of each
//! recording, a model with implicit `W` and `H` is trained on every representation A; for every
//! B, `W` from A is frozen and a fresh implicit `H` fitted on B. The score is KL(A→B) /
//! KL(B→B) (iN-NMF's claim that templates are independent of the representation, arXiv
//! 2404.04439, its introduction and hybrid demo).

use crate::config::{representation_name, ExperimentConfig};
use crate::results::{Row, TrainingRow, TransferRow};
use crate::runner::Ctx;
use innmf::error::Result;
use innmf::field::Axis;
use innmf::modelfile::{self, TrainingData};
use innmf::transform::{Analysis, Calibration};
use innmf::{fit, Divergence, FactorKind, FitConfig, Freeze, Model, ModelSpec};
use rand::SeedableRng;
use serde_json::json;

fn excerpt<'a>(ctx: &'a Ctx<'_>, rec: usize) -> Result<&'a [f64]> {
    let x = ctx.signal(rec)?;
    let n = ((ctx.cfg.transfer.seconds * ctx.sr()).round() as usize).min(x.len());
    Ok(&x[..n])
}

fn spec(cfg: &ExperimentConfig, sr: f64) -> Result<ModelSpec> {
    let mut spec = ModelSpec::new(cfg.rank);
    spec.w = FactorKind::Implicit;
    spec.h = FactorKind::Implicit;
    spec.width = cfg.transfer.width;
    spec.freq_axis = Some(Axis::linear(0.0, sr / 2.0)?);
    spec.time_axis = Some(Axis::linear(0.0, cfg.transfer.seconds)?);
    Ok(spec)
}

fn model_path(ctx: &Ctx<'_>, rec: usize, rep: usize) -> std::path::PathBuf {
    let r = &ctx.cfg.transfer.representations[rep];
    ctx.model_path(&format!(
        "transfer-train.{}.{}.safetensors",
        ctx.corpus.speech[rec].name,
        representation_name(r)
    ))
}

/// Unit `transfer-train`: implicit `W` and `H` trained on representation `rep` of `rec`.
pub(crate) fn train(ctx: &Ctx<'_>, rec: usize, rep: usize, seed: u64) -> Result<Vec<Row>> {
    let cfg = ctx.cfg;
    let sr = ctx.sr();
    let r = &cfg.transfer.representations[rep];
    let x = excerpt(ctx, rec)?;
    let analysis = Analysis::new(r, sr, cfg.power, Calibration::UnitTone)?;
    let pts = analysis.points(x)?;
    let spec = spec(cfg, sr)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut model = spec.build(&pts, &mut rng)?;
    let fc = FitConfig {
        steps: cfg.transfer.steps,
        seed: seed.wrapping_add(1),
        sampling: cfg.transfer.sampling,
        ..FitConfig::default()
    };
    let rep_fit = fit(&mut model, &pts, &fc, None, None)?;
    let training = json!({"spec": spec, "fit": fc, "final_loss": rep_fit.final_loss});
    modelfile::save(
        &model_path(ctx, rec, rep),
        &model,
        &TrainingData::Audio(analysis),
        &training,
    )?;
    Ok(vec![Row::Training(TrainingRow {
        recording: ctx.corpus.speech[rec].name.clone(),
        representation: Some(representation_name(r)),
        points: Some(pts.len()),
        steps: None,
        final_loss: rep_fit.final_loss,
    })])
}

/// Unit `transfer`: `W` of representation `from`'s model, frozen, with a fresh implicit `H`
/// fitted on representation `to`; KL on `to`'s points.
pub(crate) fn refit(
    ctx: &Ctx<'_>,
    rec: usize,
    from: usize,
    to: usize,
    seed: u64,
) -> Result<Vec<Row>> {
    let cfg = ctx.cfg;
    let sr = ctx.sr();
    let reps = &cfg.transfer.representations;
    let (trained, _) = modelfile::load(&model_path(ctx, rec, from))?;
    let x = excerpt(ctx, rec)?;
    let pts = reps[to].points(x, sr, cfg.power, Calibration::UnitTone)?;
    let spec = spec(cfg, sr)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let fresh = spec.build(&pts, &mut rng)?;
    let mut model = Model::new(trained.w.clone(), fresh.h)?;
    let fc = FitConfig {
        steps: cfg.transfer.refit_steps,
        seed: seed.wrapping_add(1),
        freeze: Freeze::W,
        sampling: cfg.transfer.sampling,
        ..FitConfig::default()
    };
    let r = fit(&mut model, &pts, &fc, None, None)?;
    let kl = model.loss(&pts, &Divergence::kl());
    Ok(vec![Row::Transfer(TransferRow {
        recording: ctx.corpus.speech[rec].name.clone(),
        from: representation_name(&reps[from]),
        to: representation_name(&reps[to]),
        kl,
        points: pts.len(),
        fit_final_loss: r.final_loss,
    })])
}
