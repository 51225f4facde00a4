//! The iN-NMF model as a Python object, and the fit.

use crate::arrays::{check_point_copies, slice1, vec1, vec2};
use crate::errors::{guarded, py_err, to_py, value_error};
use crate::progress::Watch;
use innmf::field::{Axis, AxisScale, MlpInit, OutputMap};
use innmf::modelfile::{self, ModelConfig, TrainingData};
use innmf::optim::OptimizerConfig;
use innmf::separate::Preset;
use innmf::transform::Analysis;
use innmf::{Divergence, FactorKind, FitConfig, Model, ModelSpec, TfPoints};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// A fitted iN-NMF model (`W_k(f)`, `H_k(t)`), immutable: the Rust model, its configuration and
/// its safetensors bytes (what `save` writes and `innmf sample` reads).
#[pyclass(frozen, module = "innmf._innmf", name = "Model")]
pub struct PyModel {
    pub model: Model,
    pub config: ModelConfig,
    bytes: Vec<u8>,
}

impl PyModel {
    /// Reads a model from safetensors bytes; `name` names errors.
    pub fn parse(bytes: Vec<u8>, name: &Path) -> innmf::Result<Self> {
        let (model, config) = modelfile::from_bytes(&bytes, name)?;
        Ok(PyModel {
            model,
            config,
            bytes,
        })
    }

    /// Serializes a freshly fitted model the way `innmf fit` does.
    pub fn from_fit(
        model: &Model,
        data: &TrainingData,
        training: &serde_json::Value,
    ) -> innmf::Result<Self> {
        let bytes = modelfile::to_bytes(model, data, training)?;
        PyModel::parse(bytes, Path::new("<fitted model>"))
    }
}

fn kind_name(f: &innmf::field::Factor) -> &'static str {
    f.kind()
}

#[pymethods]
impl PyModel {
    /// A model from safetensors bytes (as `to_bytes` returns them).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Vec<u8>) -> PyResult<Self> {
        py.detach(|| {
            guarded("Model.from_bytes", || {
                PyModel::parse(data, Path::new("<bytes>")).map_err(py_err)
            })
        })
    }

    /// A model file written by `save`, `innmf fit` or `innmf separate --save-models`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| {
            guarded("Model.load", || {
                let bytes = innmf::io::read_bytes(&path).map_err(py_err)?;
                PyModel::parse(bytes, &path).map_err(py_err)
            })
        })
    }

    /// The safetensors bytes of the model file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes)
    }

    /// Writes the model file atomically (a temporary file, then a rename).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| {
            guarded("Model.save", || {
                innmf::io::write_atomic(&path, &self.bytes).map_err(py_err)
            })
        })
    }

    /// Rank K.
    #[getter]
    fn rank(&self) -> usize {
        self.model.rank()
    }

    /// `"implicit"` or `"explicit"`.
    #[getter]
    fn w_kind(&self) -> &'static str {
        kind_name(&self.model.w)
    }

    /// `"implicit"` or `"explicit"`.
    #[getter]
    fn h_kind(&self) -> &'static str {
        kind_name(&self.model.h)
    }

    /// Number of trainable parameters.
    #[getter]
    fn n_params(&self) -> usize {
        self.model.n_params()
    }

    /// The configuration stored in the file's metadata, as JSON.
    #[getter]
    fn config_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.config).map_err(|e| value_error(e.to_string()))
    }

    /// W at frequencies (Hz): float32 `(K, len(freqs))`.
    fn sample_w<'py>(
        &self,
        py: Python<'py>,
        freqs: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let f = slice1(&freqs, "freqs")?;
        // the CLI's checks (`innmf sample`): the output's size before it is allocated, and
        // coordinates where the networks still have precision
        self.model.check_grid(f, &[]).map_err(py_err)?;
        let w = py.detach(|| guarded("sample_w", || Ok(self.model.sample_w(f))))?;
        vec2(py, w, self.model.rank(), f.len())
    }

    /// H at times (s): float32 `(K, len(times))`.
    fn sample_h<'py>(
        &self,
        py: Python<'py>,
        times: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let t = slice1(&times, "times")?;
        self.model.check_grid(&[], t).map_err(py_err)?;
        let h = py.detach(|| guarded("sample_h", || Ok(self.model.sample_h(t))))?;
        vec2(py, h, self.model.rank(), t.len())
    }

    /// `V̂ = Wᵀ·H` on the grid `freqs × times`: float32 `(len(freqs), len(times))`.
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        freqs: PyReadonlyArray1<'py, f64>,
        times: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let f = slice1(&freqs, "freqs")?;
        let t = slice1(&times, "times")?;
        self.model.check_grid(f, t).map_err(py_err)?;
        let v = py.detach(|| guarded("reconstruct", || Ok(self.model.reconstruct_grid(f, t))))?;
        vec2(py, v, f.len(), t.len())
    }

    /// `m̂_i = Σ_k W_k(f_i)·H_k(t_i)` at every point: float64 `(len(t),)`.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        t: PyReadonlyArray1<'py, f64>,
        f: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let t = slice1(&t, "t")?;
        let f = slice1(&f, "f")?;
        check_point_copies(t.len(), 8, "predict")?;
        let v = py.detach(|| {
            guarded("predict", || {
                let pts =
                    TfPoints::new(t.to_vec(), f.to_vec(), vec![0.0; t.len()]).map_err(py_err)?;
                // W and H are sampled at the distinct coordinates: their sizes and ranges
                self.model
                    .check_grid(pts.unique_freqs(), &[])
                    .and_then(|()| self.model.check_grid(&[], pts.unique_times()))
                    .map_err(py_err)?;
                Ok(self.model.predict(&pts))
            })
        })?;
        Ok(vec1(py, v))
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(rank={}, w={}, h={}, parameters={})",
            self.model.rank(),
            self.model.w.kind(),
            self.model.h.kind(),
            self.model.n_params()
        )
    }
}

/// Parses a name through its serde spelling (`"pytorch"`, `"log"`, ...).
pub fn parse_name<T: serde::de::DeserializeOwned>(
    what: &str,
    value: &str,
    expected: &str,
) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(value.trim().to_ascii_lowercase()))
        .map_err(|_| value_error(format!("{what} = {value:?}: expected one of {expected}")))
}

/// An optimizer from a name (`rprop`, `adam`) and a learning rate, or from its JSON form
/// (`{"kind": "rprop", "lr": ..., "eta_minus": ...}`; fields left out take the defaults of
/// that kind, `lr` the `lr` argument).
pub fn parse_optimizer(optimizer: &str, lr: f32) -> PyResult<OptimizerConfig> {
    let o = optimizer.trim();
    let base = |kind: &str| match kind.trim().to_ascii_lowercase().as_str() {
        "rprop" => Ok(OptimizerConfig::rprop(lr)),
        "adam" => Ok(OptimizerConfig::adam(lr)),
        _ => Err(value_error(format!(
            "optimizer = {kind:?}: expected \"rprop\", \"adam\" or a dict with \"kind\""
        ))),
    };
    let cfg = if o.starts_with('{') {
        let user: serde_json::Value =
            serde_json::from_str(o).map_err(|e| value_error(format!("optimizer {o}: {e}")))?;
        let kind = user
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| value_error(format!("optimizer {o}: a \"kind\" is needed")))?;
        let mut merged = serde_json::to_value(base(kind)?)
            .map_err(|e| value_error(format!("optimizer {o}: {e}")))?;
        if let (Some(m), Some(u)) = (merged.as_object_mut(), user.as_object()) {
            for (k, v) in u {
                if k != "kind" && !m.contains_key(k) {
                    return Err(value_error(format!(
                        "optimizer {o}: unknown field {k:?} for {kind}"
                    )));
                }
                if k != "kind" {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        serde_json::from_value(merged).map_err(|e| value_error(format!("optimizer {o}: {e}")))?
    } else {
        base(o)?
    };
    cfg.validate().map_err(py_err)?;
    Ok(cfg)
}

/// `fit_model(t, f, m, ...) -> (Model, report_json)`: builds a model for the points and fits it,
/// exactly as `innmf fit` does (the networks are seeded with `seed`, the subset draws with
/// `seed + 1`; an audio analysis fixes W's axis to [0, sr/2] unless `log_freq`).
#[pyfunction]
#[pyo3(signature = (t, f, m, *, rank, w, h, width, depth, n_features, omega, init, log_freq,
    beta, optimizer, lr, steps, fraction, tol, check_every, seed, match_scale=false,
    output="softplus", h_optimizer=None, analysis=None, source="numpy arrays", weights=None,
    progress=None, preset="paper"))]
#[allow(clippy::too_many_arguments)]
pub fn fit_model<'py>(
    py: Python<'py>,
    t: PyReadonlyArray1<'py, f64>,
    f: PyReadonlyArray1<'py, f64>,
    m: PyReadonlyArray1<'py, f64>,
    rank: usize,
    w: &str,
    h: &str,
    width: usize,
    depth: usize,
    n_features: usize,
    omega: f32,
    init: &str,
    log_freq: bool,
    beta: f64,
    optimizer: &str,
    lr: f32,
    steps: usize,
    fraction: f64,
    tol: f64,
    check_every: usize,
    seed: u64,
    match_scale: bool,
    output: &str,
    h_optimizer: Option<&str>,
    analysis: Option<&str>,
    source: &str,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    progress: Option<Py<PyAny>>,
    preset: &str,
) -> PyResult<(PyModel, String)> {
    let (t, f, m) = (slice1(&t, "t")?, slice1(&f, "f")?, slice1(&m, "m")?);
    let preset = parse_name::<Preset>("preset", preset, "\"paper\", \"innmf\"")?;
    let training = preset.training();
    let weights = match &weights {
        Some(w) => Some(slice1(w, "weights")?),
        None => None,
    };
    let mut spec = ModelSpec::new(rank);
    spec.w = parse_name::<FactorKind>("w", w, "\"implicit\", \"explicit\"")?;
    spec.h = parse_name::<FactorKind>("h", h, "\"implicit\", \"explicit\"")?;
    spec.width = width;
    spec.depth = depth;
    spec.n_features = n_features;
    spec.omega = omega;
    spec.init = parse_name::<MlpInit>("init", init, "\"pytorch\", \"siren\"")?;
    // the preset's start (innmf: at the data's scale) unless the caller asked for it already
    spec.match_scale = match_scale || training.match_scale;
    spec.output = parse_name::<OutputMap>("output", output, "\"softplus\", \"exp\"")?;
    spec.freq_scale = if log_freq {
        AxisScale::Log
    } else {
        AxisScale::Linear
    };
    let data = match analysis {
        Some(json) => {
            let a: Analysis = serde_json::from_str(json)
                .map_err(|e| value_error(format!("analysis {json}: {e}")))?;
            TrainingData::Audio(a)
        }
        None => TrainingData::PointSet {
            source: source.to_string(),
            power: 1.0,
        },
    };
    let cfg = FitConfig {
        steps,
        fraction,
        tol,
        check_every,
        optimizer: parse_optimizer(optimizer, lr)?,
        divergence: Divergence::new(beta, 1e-8).map_err(py_err)?,
        seed: seed.wrapping_add(1),
        h_optimizer: match h_optimizer {
            Some(o) => Some(parse_optimizer(o, lr)?),
            None => training.h_optimizer,
        },
        freeze: training.main_freeze(),
        ..Default::default()
    };
    cfg.validate().map_err(py_err)?;
    if training.nmf_warm_start > 0 && spec.h != FactorKind::Explicit {
        return Err(value_error(format!(
            "preset {preset} with h {h}: the innmf preset starts H at NMF's activations, so it \
             needs h=\"explicit\" (use preset=\"paper\" for an implicit H)"
        )));
    }
    check_point_copies(t.len(), 32, "fit")?;
    let mut watch = Watch::new(progress);
    let result = py.detach(|| {
        guarded("fit", || {
            let points = TfPoints::new(t.to_vec(), f.to_vec(), m.to_vec()).map_err(py_err)?;
            if points.len() < 2 {
                return Err(value_error(format!(
                    "{} point(s): nothing to factorize (at least 2 are needed)",
                    points.len()
                )));
            }
            if let (Some(a), false) = (data.analysis(), log_freq) {
                spec.freq_axis = Some(Axis::linear(0.0, a.sample_rate / 2.0).map_err(py_err)?);
            }
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut model = spec.build(&points, &mut rng).map_err(py_err)?;
            let mut cb = |s: usize, n: usize, l: f64| watch.tick(s, n, l);
            let report = innmf::separate::train(
                &mut model,
                &points,
                &training,
                beta,
                seed,
                &cfg,
                weights,
                Some(&mut cb),
            );
            Ok((model, report))
        })
    })?;
    let (model, report) = result;
    let (report, warm) = report.map_err(|e| to_py(e, watch.error.take()))?;
    let mut training = innmf::separate::training_record(&spec, &cfg, &report, warm, &training);
    training["preset"] = serde_json::json!(preset);
    let pm = py.detach(|| {
        guarded("fit", || {
            PyModel::from_fit(&model, &data, &training).map_err(py_err)
        })
    })?;
    let report = serde_json::to_string(&report).map_err(|e| value_error(e.to_string()))?;
    Ok((pm, report))
}
