//! `innmf.experiment`: the paper's studies as units that any scheduler can run (the Python
//! layer submits them to Dask). Each call releases the GIL; results go to the output folder
//! exactly as the CLI's `innmf experiment plan | run-unit | collect` write them.

use crate::errors::{guarded, py_err, value_error};
use innmf_studies::{
    self as studies, ClaimSettings, ExperimentConfig, RunOptions, Selection, Study,
};
use pyo3::prelude::*;
use std::path::PathBuf;

/// The settings: `None` → the paper's (then the preset is settled), `"quick"` → the quick trial settings, otherwise the JSON
/// of an `ExperimentConfig` (the `config` object of a results.json).
fn config(config: Option<&str>) -> PyResult<ExperimentConfig> {
    match config {
        None => Ok(ExperimentConfig::default()),
        Some("quick") => Ok(ExperimentConfig::quick()),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            value_error(format!(
                "config: not an experiment configuration ({e}); expected None, \"quick\" or the \
                 `config` object of a results.json"
            ))
        }),
    }
}

fn studies_of(name: &str) -> PyResult<Vec<Study>> {
    if name == "all" {
        return Ok(Study::ALL.to_vec());
    }
    Study::ALL
        .iter()
        .copied()
        .find(|s| s.name() == name)
        .map(|s| vec![s])
        .ok_or_else(|| {
            value_error(format!(
                "study = {name:?}: expected reconstruction, separation, transfer, hybrid or all"
            ))
        })
}

/// `experiment_plan(study, data, out, config, pairs, seed, preset)`: writes OUT/plan.json and
/// returns it as JSON text. The preset is settled as `innmf experiment --preset` settles it
/// ([`ExperimentConfig::resolve_preset`]: `innmf` unless named otherwise).
#[pyfunction]
#[pyo3(signature = (study, data, out, config=None, pairs=10, seed=None, preset=None))]
#[allow(clippy::too_many_arguments)]
pub fn experiment_plan(
    py: Python<'_>,
    study: &str,
    data: PathBuf,
    out: PathBuf,
    config: Option<&str>,
    pairs: usize,
    seed: Option<u64>,
    preset: Option<&str>,
) -> PyResult<String> {
    let mut cfg = self::config(config)?;
    if let Some(s) = seed {
        cfg.seed = s;
    }
    let preset = preset
        .map(str::parse::<innmf::separate::Preset>)
        .transpose()
        .map_err(py_err)?;
    cfg.resolve_preset(preset).map_err(py_err)?;
    let opts = RunOptions {
        data,
        out,
        studies: studies_of(study)?,
        pairs,
        jobs: 1,
    };
    py.detach(|| {
        guarded("experiment.plan", || {
            let file = studies::write_plan(&cfg, &opts).map_err(py_err)?;
            serde_json::to_string(&file).map_err(|e| value_error(e.to_string()))
        })
    })
}

/// `experiment_run_unit(out, ids, jobs, stale_after)`: runs the units `ids` of OUT/plan.json
/// (finished ones are skipped; each under its claim).
#[pyfunction]
#[pyo3(signature = (out, ids, jobs=1, stale_after=300.0))]
pub fn experiment_run_unit(
    py: Python<'_>,
    out: PathBuf,
    ids: Vec<String>,
    jobs: usize,
    stale_after: f64,
) -> PyResult<()> {
    if !(stale_after.is_finite() && stale_after > 0.0 && stale_after <= 1e9) {
        return Err(value_error(format!(
            "stale_after = {stale_after}: expected seconds in (0, 1e9]"
        )));
    }
    let claims = ClaimSettings {
        stale_after: std::time::Duration::from_secs_f64(stale_after),
        ..Default::default()
    };
    py.detach(|| {
        guarded("experiment.run_unit", || {
            studies::run_planned(&out, &Selection::Ids(ids), jobs, &claims, &|_| {}).map_err(py_err)
        })
    })
}

/// `experiment_collect(out)`: writes results.json, REPORT.md and the figures from the finished
/// units of OUT/plan.json; returns results.json's text.
#[pyfunction]
pub fn experiment_collect(py: Python<'_>, out: PathBuf) -> PyResult<String> {
    py.detach(|| {
        guarded("experiment.collect", || {
            let r = studies::collect_planned(&out).map_err(py_err)?;
            serde_json::to_string(&r).map_err(|e| value_error(e.to_string()))
        })
    })
}

/// `experiment_combine(out, runs)`: averages runs of one study at different seeds (their folders
/// or results.json files) row by row into OUT's results.json, REPORT.md and figures; returns
/// results.json's text.
#[pyfunction]
pub fn experiment_combine(py: Python<'_>, out: PathBuf, runs: Vec<PathBuf>) -> PyResult<String> {
    py.detach(|| {
        guarded("experiment.combine", || {
            let r = studies::combine_runs(&runs, &out).map_err(py_err)?;
            serde_json::to_string(&r).map_err(|e| value_error(e.to_string()))
        })
    })
}
