//! Source separation: templates learned from solo signals, and the separation of a mixture with
//! the templates of fitted models (`innmf separate`).

use crate::arrays::{slice1, vec1};
use crate::errors::{guarded, py_err, to_py, value_error};
use crate::model::{parse_optimizer, PyModel};
use crate::progress::Watch;
use innmf::separate::{self as sep, SeparateConfig, TemplateConfig, TemplateMethod, TemplateSet};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use serde_json::Value;
use std::path::Path;

/// `base` with the fields of the JSON object `user` put in: every field must exist in `base`;
/// `optimizer`/`h_optimizer` take a name or a partial JSON form (the kind's defaults fill the
/// rest, `lr` as given); other fields replace the default as a whole (a representation's JSON
/// form fills its own defaults).
fn merge(mut base: Value, user: &str, what: &str, lr: f32) -> PyResult<Value> {
    let user: Value =
        serde_json::from_str(user).map_err(|e| value_error(format!("{what} {user}: {e}")))?;
    let (Some(b), Some(u)) = (base.as_object_mut(), user.as_object()) else {
        return Err(value_error(format!("{what}: a dict of settings is needed")));
    };
    let known: Vec<String> = b.keys().cloned().collect();
    for (k, v) in u {
        if !b.contains_key(k) && k != "h_optimizer" {
            return Err(value_error(format!(
                "{what}: unknown setting {k:?}; expected some of {}",
                known.join(", ")
            )));
        }
        let v = if (k == "optimizer" || k == "h_optimizer") && !v.is_null() {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            serde_json::to_value(parse_optimizer(&s, lr)?)
                .map_err(|e| value_error(e.to_string()))?
        } else {
            v.clone()
        };
        b.insert(k.clone(), v);
    }
    Ok(base)
}

/// The settings JSON `user` without its `"preset"` field, and that preset (`"paper"`,
/// `"innmf"`; `None` when absent or null).
fn take_preset(user: &str, what: &str) -> PyResult<(Option<sep::Preset>, String)> {
    let mut v: Value =
        serde_json::from_str(user).map_err(|e| value_error(format!("{what} {user}: {e}")))?;
    let p = match v.as_object_mut().and_then(|o| o.remove("preset")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse::<sep::Preset>().map_err(py_err)?),
        Some(other) => {
            return Err(value_error(format!(
                "{what}: preset {other}: expected \"paper\" or \"innmf\""
            )))
        }
    };
    Ok((p, v.to_string()))
}

/// The preset a separation or a template training gets: `named`, else the library's default
/// for the representation the settings JSON `settings` names (none: the STFT), as `innmf
/// separate` settles it ([`sep::Preset::separation_default`]).
fn settle_preset(named: Option<sep::Preset>, settings: &str) -> PyResult<Option<sep::Preset>> {
    if named.is_some() {
        return Ok(named);
    }
    let v: Value = serde_json::from_str(settings)
        .map_err(|e| value_error(format!("settings {settings}: {e}")))?;
    let representation = match v.get("representation") {
        None | Some(Value::Null) => None,
        Some(r) => Some(
            serde_json::from_value::<innmf::transform::Representation>(r.clone())
                .map_err(|e| value_error(format!("representation {r}: {e}")))?,
        ),
    };
    Ok(sep::Preset::separation_default(representation.as_ref()))
}

fn to_value<T: serde::Serialize>(v: &T) -> PyResult<Value> {
    serde_json::to_value(v).map_err(|e| value_error(e.to_string()))
}

/// `learn_templates(x, sample_rate, method, window, hop, settings_json, lr, progress) -> (Model,
/// report_json)`: a source's templates from its solo signal, as `innmf separate --train` learns
/// them (`TemplateConfig::for_mixture(method, window, hop)` with `settings` put in).
#[pyfunction]
#[pyo3(signature = (x, sample_rate, method, window, hop, settings, lr, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn learn_templates(
    py: Python<'_>,
    x: PyReadonlyArray1<'_, f64>,
    sample_rate: f64,
    method: &str,
    window: usize,
    hop: usize,
    settings: &str,
    lr: f32,
    progress: Option<Py<PyAny>>,
) -> PyResult<(PyModel, String)> {
    let x = slice1(&x, "x")?;
    let method: TemplateMethod = crate::model::parse_name("method", method, "\"innmf\", \"nmf\"")?;
    let mut base = TemplateConfig::for_mixture(method, window, hop);
    base.optimizer = innmf::optim::OptimizerConfig::rprop(lr);
    // a preset sets the training options; a `training` setting given as well replaces them
    let (preset, settings) = take_preset(settings, "template settings")?;
    let settings = settings.as_str();
    let preset = settle_preset(preset, settings)?;
    base.training = preset.unwrap_or_default().training();
    let cfg: TemplateConfig =
        serde_json::from_value(merge(to_value(&base)?, settings, "template settings", lr)?)
            .map_err(|e| value_error(format!("template settings {settings}: {e}")))?;
    let mut watch = Watch::new(progress);
    let learned = py.detach(|| {
        guarded("learn_templates", || {
            let mut cb = |s: usize, n: usize, l: f64| watch.tick(s, n, l);
            Ok(sep::learn_templates(x, sample_rate, &cfg, Some(&mut cb)))
        })
    })?;
    let learned = learned.map_err(|e| to_py(e, watch.error.take()))?;
    let model = py.detach(|| {
        guarded("learn_templates", || {
            PyModel::from_fit(&learned.model, &learned.data, &learned.training).map_err(py_err)
        })
    })?;
    let report = serde_json::to_string(&learned.report).map_err(|e| value_error(e.to_string()))?;
    Ok((model, report))
}

/// `separate(mixture, sample_rate, models, settings_json, lr, other_rates, progress) ->
/// (signals, report_json)`: one signal per model (then the free components' when `free > 0`),
/// each as long as the mixture.
#[pyfunction]
#[pyo3(signature = (mixture, sample_rate, models, settings, lr, other_rates=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn separate<'py>(
    py: Python<'py>,
    mixture: PyReadonlyArray1<'py, f64>,
    sample_rate: f64,
    models: Vec<Py<PyModel>>,
    settings: &str,
    lr: f32,
    other_rates: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Vec<Bound<'py, PyArray1<f64>>>, String)> {
    let x = slice1(&mixture, "mixture")?;
    // a preset sets the activation solver and its steps; `solver`/`steps` given as well win
    let (preset, settings) = take_preset(settings, "separation settings")?;
    let settings = settings.as_str();
    let preset = settle_preset(preset, settings)?;
    let mut base = SeparateConfig {
        optimizer: innmf::optim::OptimizerConfig::rprop(lr),
        ..SeparateConfig::default()
    };
    if let Some(p) = preset {
        (base.solver, base.steps) = p.activations();
    }
    // the optional fields (left out of the JSON form at their defaults) are settings too
    let mut base = to_value(&base)?;
    if let Some(o) = base.as_object_mut() {
        for k in ["representation", "h_step"] {
            o.entry(k).or_insert(Value::Null);
        }
        o.entry("calibration").or_insert(Value::from("native"));
    }
    let cfg: SeparateConfig =
        serde_json::from_value(merge(base, settings, "separation settings", lr)?)
            .map_err(|e| value_error(format!("separation settings {settings}: {e}")))?;
    let refs: Vec<&PyModel> = models.iter().map(|m| m.get()).collect();
    let mut watch = Watch::new(progress);
    let out = py.detach(|| {
        guarded("separate", || {
            let mut sets = Vec::with_capacity(refs.len());
            for (j, m) in refs.iter().enumerate() {
                let name = format!("<source {}>", j + 1);
                sets.push(
                    TemplateSet::from_file(
                        &m.model,
                        &m.config,
                        sample_rate,
                        other_rates,
                        Path::new(&name),
                    )
                    .map_err(py_err)?,
                );
            }
            let mut cb = |s: usize, n: usize, l: f64| watch.tick(s, n, l);
            Ok(sep::separate(x, sample_rate, &sets, &cfg, Some(&mut cb)))
        })
    })?;
    let sep = out.map_err(|e| to_py(e, watch.error.take()))?;
    let mut report = to_value(&sep.report)?;
    if let Some(o) = report.as_object_mut() {
        o.insert("has_noise".into(), Value::Bool(sep.has_noise));
    }
    let report = serde_json::to_string(&report).map_err(|e| value_error(e.to_string()))?;
    let signals = sep.sources.into_iter().map(|s| vec1(py, s)).collect();
    Ok((signals, report))
}
