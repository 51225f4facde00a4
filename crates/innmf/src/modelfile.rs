//! Model files: safetensors with a JSON configuration in the metadata.
//!
//! Tensors, for each factor `p ∈ {w, h}`:
//! - implicit: `p.fourier_bias` `[K, J]` f32; `p.layers.{l}.weight` `[K, in, out]` f32 (PyTorch's
//!   `Linear.weight` transposed); `p.layers.{l}.bias` `[K, out]` f32;
//! - explicit: `p.theta` `[K, N]` f32 (values are `softplus(θ)`), `p.coords` `[N]` f64, and
//!   `p.values` `[K, N]` f32 for convenience (ignored on load).
//!
//! Metadata key `innmf` holds [`ModelConfig`] as JSON: architecture and input domains, what the
//! model was fitted on ([`TrainingData`]: the typed [`Analysis`] — representation, sample rate,
//! power, calibration — or a point-set file), and a free-form `training` object (model spec, fit
//! settings and summary). The file reads in Python with `safetensors.numpy.load_file` and
//! `safe_open(...).metadata()`.

use crate::error::{Error, Num, Result};
use crate::field::{Factor, Mlp, MlpConfig, Table};
use crate::model::Model;
use crate::transform::Analysis;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Description of one factor in a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FactorConfig {
    /// Coordinate networks.
    Implicit {
        /// Architecture and domain.
        config: MlpConfig,
    },
    /// A table at `n` coordinates.
    Explicit {
        /// Number of coordinates.
        n: usize,
    },
}

/// What a model was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TrainingData {
    /// Audio turned into points by a representation.
    Audio(Analysis),
    /// A point set read from a file, its magnitudes raised to `power`.
    PointSet {
        /// The file, as it was named.
        source: String,
        /// Magnitude power applied to the file's magnitudes.
        power: f64,
    },
}

impl TrainingData {
    /// The magnitude power of the points.
    pub fn power(&self) -> f64 {
        match self {
            TrainingData::Audio(a) => a.power,
            TrainingData::PointSet { power, .. } => *power,
        }
    }

    /// The analysis, when the points came from audio.
    pub fn analysis(&self) -> Option<&Analysis> {
        match self {
            TrainingData::Audio(a) => Some(a),
            TrainingData::PointSet { .. } => None,
        }
    }

    /// Checks that a model fitted on this data can be applied to points made by `target` (same
    /// magnitude power and, for audio, calibration; see [`Analysis::check_applies_to`]).
    ///
    /// # Errors
    /// A power or calibration mismatch, naming both and `model`.
    pub fn check_applies_to(&self, target: &Analysis, model: &str) -> crate::error::Result<()> {
        match self {
            TrainingData::Audio(a) => a.check_applies_to(target, model),
            TrainingData::PointSet { power, .. } => {
                if (power - target.power).abs() > 1e-12 {
                    return Err(Error::param(
                        "power",
                        target.power,
                        format!("the power {} that {model} was trained on", Num(*power)),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The JSON stored in a model file's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Always "innmf-model".
    pub format: String,
    /// Version of the crate that wrote the file.
    pub innmf_version: String,
    /// Rank K.
    pub rank: usize,
    /// The frequency factor.
    pub w: FactorConfig,
    /// The time factor.
    pub h: FactorConfig,
    /// What the model was fitted on (absent in files written before innmf 0.2).
    #[serde(default)]
    pub data: Option<TrainingData>,
    /// Free-form description of how the model was fit.
    #[serde(default)]
    pub training: serde_json::Value,
}

impl ModelConfig {
    /// A warning for files that do not record what they were fitted on (written before innmf
    /// 0.2): their power and calibration cannot be checked against the data they are applied to.
    pub fn warning(&self, path: &Path) -> Option<String> {
        self.data.is_none().then(|| {
            format!(
                "{} does not record the representation it was fitted on (written by innmf {}); \
                 its magnitude power and calibration are not checked",
                path.display(),
                self.innmf_version
            )
        })
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn factor_tensors(prefix: &str, f: &Factor, out: &mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>) {
    match f {
        Factor::Implicit(m) => {
            let cfg = &m.config;
            let k = cfg.components;
            out.push((
                format!("{prefix}.fourier_bias"),
                Dtype::F32,
                vec![k, cfg.n_features],
                f32_bytes(&m.fourier_bias),
            ));
            for (l, &(fi, fo)) in cfg.layer_shapes().iter().enumerate() {
                let w: Vec<f32> = (0..k).flat_map(|c| m.layer_weight(c, l).to_vec()).collect();
                let b: Vec<f32> = (0..k).flat_map(|c| m.layer_bias(c, l).to_vec()).collect();
                out.push((
                    format!("{prefix}.layers.{l}.weight"),
                    Dtype::F32,
                    vec![k, fi, fo],
                    f32_bytes(&w),
                ));
                out.push((
                    format!("{prefix}.layers.{l}.bias"),
                    Dtype::F32,
                    vec![k, fo],
                    f32_bytes(&b),
                ));
            }
        }
        Factor::Explicit(t) => {
            let n = t.coords.len();
            out.push((
                format!("{prefix}.theta"),
                Dtype::F32,
                vec![t.components, n],
                f32_bytes(&t.params),
            ));
            out.push((
                format!("{prefix}.values"),
                Dtype::F32,
                vec![t.components, n],
                f32_bytes(&t.values()),
            ));
            out.push((
                format!("{prefix}.coords"),
                Dtype::F64,
                vec![n],
                t.coords.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ));
        }
    }
}

fn factor_config(f: &Factor) -> FactorConfig {
    match f {
        Factor::Implicit(m) => FactorConfig::Implicit {
            config: m.config.clone(),
        },
        Factor::Explicit(t) => FactorConfig::Explicit { n: t.coords.len() },
    }
}

/// Serializes a model, what it was fitted on and a free-form training description to
/// safetensors bytes.
pub fn to_bytes(
    model: &Model,
    data: &TrainingData,
    training: &serde_json::Value,
) -> Result<Vec<u8>> {
    let config = ModelConfig {
        format: "innmf-model".into(),
        innmf_version: env!("CARGO_PKG_VERSION").into(),
        rank: model.rank(),
        w: factor_config(&model.w),
        h: factor_config(&model.h),
        data: Some(data.clone()),
        training: training.clone(),
    };
    let mut raw = Vec::new();
    factor_tensors("w", &model.w, &mut raw);
    factor_tensors("h", &model.h, &mut raw);
    let views = raw
        .iter()
        .map(|(name, dt, shape, bytes)| {
            TensorView::new(*dt, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Shape(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta: HashMap<String, String> = [(
        "innmf".to_string(),
        serde_json::to_string(&config).map_err(|e| Error::Shape(e.to_string()))?,
    )]
    .into_iter()
    .collect();
    safetensors::tensor::serialize(views, Some(meta)).map_err(|e| Error::Shape(e.to_string()))
}

/// Writes a model file atomically.
pub fn save(
    path: &Path,
    model: &Model,
    data: &TrainingData,
    training: &serde_json::Value,
) -> Result<()> {
    crate::io::write_atomic(path, &to_bytes(model, data, training)?)
}

fn tensor_f32(st: &SafeTensors, name: &str, shape: &[usize], path: &Path) -> Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .map_err(|_| Error::format(path, format!("missing tensor '{name}'")))?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        return Err(Error::format(
            path,
            format!(
                "tensor '{name}' is {:?} {:?}, expected F32 {shape:?}",
                t.dtype(),
                t.shape()
            ),
        ));
    }
    let v: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::format(
            path,
            format!(
                "tensor '{name}' holds {} at index {i}: model parameters must be finite",
                v[i]
            ),
        ));
    }
    Ok(v)
}

/// The largest rank, hidden width and depth a model file may describe. Larger values are taken
/// to be a corrupt or hostile file (the paper's networks have width 64 and depth 3).
pub const MAX_RANK: usize = 1 << 16;
/// See [`MAX_RANK`].
pub const MAX_WIDTH: usize = 1 << 16;
/// See [`MAX_RANK`].
pub const MAX_DEPTH: usize = 1 << 10;

/// Checks everything the configuration describes before any tensor is read or allocated:
/// sizes within [`MAX_RANK`], [`MAX_WIDTH`], [`MAX_DEPTH`]; parameter counts that the file's
/// `file_len` bytes can actually hold; valid axis domains (finite, lo < hi) and ω.
fn check_config(config: &ModelConfig, file_len: usize, path: &Path) -> Result<()> {
    let bad = |what: String| Error::format(path, format!("invalid model configuration: {what}"));
    let limit = |name: &str, v: usize, lo: usize, hi: usize| -> Result<()> {
        if v < lo || v > hi {
            return Err(bad(format!("{name} = {v}: expected {lo} to {hi}")));
        }
        Ok(())
    };
    limit("rank", config.rank, 1, MAX_RANK)?;
    let mut floats: u128 = 0;
    for (p, f) in [("w", &config.w), ("h", &config.h)] {
        match f {
            FactorConfig::Implicit { config: c } => {
                limit(&format!("{p}.width"), c.width, 1, MAX_WIDTH)?;
                limit(&format!("{p}.depth"), c.depth, 0, MAX_DEPTH)?;
                limit(&format!("{p}.n_features"), c.n_features, 1, 30)?;
                limit(
                    &format!("{p}.components"),
                    c.components,
                    config.rank,
                    config.rank,
                )?;
                crate::field::Axis::new(c.axis.lo, c.axis.hi, c.axis.scale)
                    .map_err(|e| bad(format!("{p}.axis: {e}")))?;
                if !(c.omega.is_finite() && c.omega > 0.0) {
                    return Err(bad(format!(
                        "{p}.omega = {}: expected a finite value > 0",
                        Num(c.omega)
                    )));
                }
                let (w, d, j) = (c.width as u128, c.depth as u128, c.n_features as u128);
                let per = 2 * j * w + w + d * (w * w + w) + w + 1;
                floats += config.rank as u128 * (per + j);
            }
            FactorConfig::Explicit { n } => {
                limit(&format!("{p}.n"), *n, 1, file_len)?;
                floats += config.rank as u128 * *n as u128;
            }
        }
    }
    if floats * 4 > file_len as u128 {
        return Err(bad(format!(
            "it describes {floats} parameters, more than the file's {file_len} bytes can hold"
        )));
    }
    Ok(())
}

fn load_factor(
    st: &SafeTensors,
    prefix: &str,
    cfg: &FactorConfig,
    k: usize,
    path: &Path,
) -> Result<Factor> {
    match cfg {
        FactorConfig::Implicit { config } => {
            if config.components != k {
                return Err(Error::format(
                    path,
                    format!("{prefix}: rank {} ≠ {k}", config.components),
                ));
            }
            let bias = tensor_f32(
                st,
                &format!("{prefix}.fourier_bias"),
                &[k, config.n_features],
                path,
            )?;
            let per = config.params_per_component();
            let mut params = vec![0.0f32; k * per];
            let mut off = 0;
            for (l, &(fi, fo)) in config.layer_shapes().iter().enumerate() {
                let w = tensor_f32(
                    st,
                    &format!("{prefix}.layers.{l}.weight"),
                    &[k, fi, fo],
                    path,
                )?;
                let b = tensor_f32(st, &format!("{prefix}.layers.{l}.bias"), &[k, fo], path)?;
                for c in 0..k {
                    let base = c * per + off;
                    params[base..base + fi * fo]
                        .copy_from_slice(&w[c * fi * fo..(c + 1) * fi * fo]);
                    params[base + fi * fo..base + fi * fo + fo]
                        .copy_from_slice(&b[c * fo..(c + 1) * fo]);
                }
                off += fi * fo + fo;
            }
            Ok(Factor::Implicit(Mlp::from_parts(
                config.clone(),
                bias,
                params,
            )?))
        }
        FactorConfig::Explicit { n } => {
            let theta = tensor_f32(st, &format!("{prefix}.theta"), &[k, *n], path)?;
            let t = st
                .tensor(&format!("{prefix}.coords"))
                .map_err(|_| Error::format(path, format!("missing tensor '{prefix}.coords'")))?;
            if t.dtype() != Dtype::F64 || t.shape() != [*n] {
                return Err(Error::format(
                    path,
                    format!("tensor '{prefix}.coords' must be F64 [{n}]"),
                ));
            }
            let coords: Vec<f64> = t
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                .collect();
            if let Some(i) = coords.iter().position(|x| !x.is_finite()) {
                return Err(Error::format(
                    path,
                    format!("tensor '{prefix}.coords' holds {} at index {i}", coords[i]),
                ));
            }
            let mut table = Table::from_values(k, coords, &vec![1.0; k * n])?;
            table.params = theta;
            Ok(Factor::Explicit(table))
        }
    }
}

/// Reads a model and its configuration from safetensors bytes (`path` names errors).
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<(Model, ModelConfig)> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("innmf"))
        .ok_or_else(|| Error::format(path, "no 'innmf' metadata: not an innmf model file"))?;
    let config: ModelConfig = serde_json::from_str(json)
        .map_err(|e| Error::format(path, format!("bad model configuration: {e}")))?;
    check_config(&config, bytes.len(), path)?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let w = load_factor(&st, "w", &config.w, config.rank, path)?;
    let h = load_factor(&st, "h", &config.h, config.rank, path)?;
    Ok((Model::new(w, h)?, config))
}

/// Reads a model file.
pub fn load(path: &Path) -> Result<(Model, ModelConfig)> {
    from_bytes(&crate::io::read_bytes(path)?, path)
}
