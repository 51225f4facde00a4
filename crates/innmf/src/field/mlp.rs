//! The implicit factor: K coordinate networks evaluated as one batched network.
//!
//! Component `k` maps a coordinate `x` (Hz or s) to a non-negative value:
//!
//! ```text
//! u   = axis.map(x)                          (physical units → [0, 1])
//! a₀  = γ_k(u)                               (2J Fourier features, fixed)
//! a₁  = a₀·W₀ + b₀                           (linear, no activation: the reference design)
//! aₗ₊₁ = sin(ω·(aₗ·Wₗ + bₗ)),  l = 1..D       (D sine layers, width h)
//! g   = a_{D+1}·w_out + b_out
//! W_k(x) = softplus(g)
//! ```
//!
//! With J = 10, h = 64, D = 3 this is the paper's network (13,889 trainable parameters per
//! component). Parameters are stored component-major, so the K components train in parallel
//! without sharing any buffer: for each component, for each layer, the weight `[in, out]`
//! (row-major, i.e. PyTorch's `weight.T`) then the bias `[out]`.

use super::axis::Axis;
use super::fourier;
use crate::error::{Error, Result};
use crate::fastmath::{sin_cos_bias_inplace, softplus, softplus_grad};
use crate::linalg::gemm;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Weight initialization of the linear layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MlpInit {
    /// PyTorch's `nn.Linear` default: weights and biases ~ U(±1/√fan_in) (the paper's choice).
    #[default]
    Pytorch,
    /// SIREN (Sitzmann et al. 2020): first layer U(±1/fan_in), others U(±√(6/fan_in)/ω).
    Siren,
}

/// Architecture of an implicit factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Number of components K.
    pub components: usize,
    /// Hidden width h.
    pub width: usize,
    /// Number of sine layers D.
    pub depth: usize,
    /// Number of Fourier octaves J (2J features).
    pub n_features: usize,
    /// Sine frequency scale ω (1 in the paper).
    pub omega: f32,
    /// Initialization scheme.
    pub init: MlpInit,
    /// Input domain.
    pub axis: Axis,
}

impl MlpConfig {
    /// The paper's network with K components on the given axis: J = 10, h = 64, D = 3, ω = 1.
    pub fn reference(components: usize, axis: Axis) -> Self {
        MlpConfig {
            components,
            width: 64,
            depth: 3,
            n_features: 10,
            omega: 1.0,
            init: MlpInit::Pytorch,
            axis,
        }
    }

    /// Validates the sizes.
    pub fn validate(&self) -> Result<()> {
        if self.components == 0 {
            return Err(Error::param("rank", 0, "at least 1 component"));
        }
        if self.width == 0 {
            return Err(Error::param("width", 0, "at least 1 hidden unit"));
        }
        if self.n_features == 0 || self.n_features > 30 {
            return Err(Error::param(
                "fourier features",
                self.n_features,
                "between 1 and 30 octaves",
            ));
        }
        if !(self.omega.is_finite() && self.omega > 0.0) {
            return Err(Error::param("omega", self.omega, "a finite value > 0"));
        }
        Ok(())
    }

    /// `(fan_in, fan_out)` of each linear layer, first to last.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut v = vec![(2 * self.n_features, self.width)];
        v.extend((0..self.depth).map(|_| (self.width, self.width)));
        v.push((self.width, 1));
        v
    }

    /// Trainable parameters per component.
    pub fn params_per_component(&self) -> usize {
        self.layer_shapes().iter().map(|(i, o)| i * o + o).sum()
    }
}

/// A batched implicit factor (K networks of one architecture).
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Architecture and input domain.
    pub config: MlpConfig,
    /// Fixed Fourier phases `b_{k,j}`, `[K, J]`.
    pub fourier_bias: Vec<f32>,
    /// Trainable parameters, component-major (see the module docs).
    pub params: Vec<f32>,
}

/// Offsets of one layer inside a component's parameter block.
#[derive(Debug, Clone, Copy)]
struct LayerSpec {
    fan_in: usize,
    fan_out: usize,
    w: usize,
    b: usize,
}

fn layer_specs(cfg: &MlpConfig) -> Vec<LayerSpec> {
    let mut off = 0;
    cfg.layer_shapes()
        .into_iter()
        .map(|(fan_in, fan_out)| {
            let s = LayerSpec {
                fan_in,
                fan_out,
                w: off,
                b: off + fan_in * fan_out,
            };
            off += fan_in * fan_out + fan_out;
            s
        })
        .collect()
}

impl Mlp {
    /// A freshly initialized factor: Fourier phases ~ N(0, 1), weights as `config.init` says.
    pub fn new(config: MlpConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let k = config.components;
        let fourier_bias = (0..k * config.n_features)
            .map(|_| StandardNormal.sample(rng))
            .collect::<Vec<f64>>()
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let specs = layer_specs(&config);
        let per = config.params_per_component();
        let mut params = vec![0.0f32; k * per];
        for c in 0..k {
            let block = &mut params[c * per..(c + 1) * per];
            for (l, s) in specs.iter().enumerate() {
                let bound = match config.init {
                    MlpInit::Pytorch => 1.0 / (s.fan_in as f64).sqrt(),
                    MlpInit::Siren if l == 0 => 1.0 / s.fan_in as f64,
                    MlpInit::Siren => (6.0 / s.fan_in as f64).sqrt() / config.omega as f64,
                };
                for v in &mut block[s.w..s.b + s.fan_out] {
                    *v = rng.random_range(-bound..bound) as f32;
                }
            }
        }
        Ok(Mlp {
            config,
            fourier_bias,
            params,
        })
    }

    /// Builds a factor from given parameters (model files, fixtures). Lengths are checked.
    pub fn from_parts(config: MlpConfig, fourier_bias: Vec<f32>, params: Vec<f32>) -> Result<Self> {
        config.validate()?;
        let k = config.components;
        if fourier_bias.len() != k * config.n_features {
            return Err(Error::Shape(format!(
                "fourier bias has {} values, expected K·J = {}",
                fourier_bias.len(),
                k * config.n_features
            )));
        }
        if params.len() != k * config.params_per_component() {
            return Err(Error::Shape(format!(
                "network has {} parameters, expected {}",
                params.len(),
                k * config.params_per_component()
            )));
        }
        Ok(Mlp {
            config,
            fourier_bias,
            params,
        })
    }

    /// Weight `[in, out]` of layer `l` of component `k`.
    pub fn layer_weight(&self, k: usize, l: usize) -> &[f32] {
        let s = layer_specs(&self.config)[l];
        let base = k * self.config.params_per_component();
        &self.params[base + s.w..base + s.b]
    }

    /// Bias `[out]` of layer `l` of component `k`.
    pub fn layer_bias(&self, k: usize, l: usize) -> &[f32] {
        let s = layer_specs(&self.config)[l];
        let base = k * self.config.params_per_component();
        &self.params[base + s.b..base + s.b + s.fan_out]
    }

    /// Evaluates all components at physical coordinates: `[K, N]` values, row-major.
    pub fn evaluate(&self, coords: &[f64]) -> Vec<f32> {
        let mut ws = MlpWorkspace::new(self, coords);
        ws.forward(&self.params);
        ws.values()
    }
}

/// Per-component buffers of a workspace.
#[derive(Debug, Clone)]
struct ComponentBuffers {
    feats: Vec<f32>,
    acts: Vec<Vec<f32>>,
    cos: Vec<Vec<f32>>,
    g: Vec<f32>,
    values: Vec<f32>,
    da: Vec<f32>,
    db: Vec<f32>,
}

/// Preallocated buffers for evaluating and differentiating an [`Mlp`] at a fixed set of
/// coordinates (typically the unique frequencies or times of a point set).
#[derive(Debug, Clone)]
pub struct MlpWorkspace {
    n: usize,
    specs: Vec<LayerSpec>,
    per: usize,
    omega: f32,
    comps: Vec<ComponentBuffers>,
}

impl MlpWorkspace {
    /// Buffers for `coords` (physical units); the Fourier features are computed here, once.
    pub fn new(mlp: &Mlp, coords: &[f64]) -> Self {
        let cfg = &mlp.config;
        let n = coords.len();
        let u = cfg.axis.map_all(coords);
        let j = cfg.n_features;
        let specs = layer_specs(cfg);
        let h = cfg.width;
        let comps = (0..cfg.components)
            .map(|c| {
                let mut feats = vec![0.0f32; n * 2 * j];
                fourier::encode(&u, &mlp.fourier_bias[c * j..(c + 1) * j], j, &mut feats);
                ComponentBuffers {
                    feats,
                    acts: (0..=cfg.depth).map(|_| vec![0.0; n * h]).collect(),
                    cos: (0..cfg.depth).map(|_| vec![0.0; n * h]).collect(),
                    g: vec![0.0; n],
                    values: vec![0.0; n],
                    da: vec![0.0; n * h],
                    db: vec![0.0; n * h],
                }
            })
            .collect();
        MlpWorkspace {
            n,
            specs,
            per: cfg.params_per_component(),
            omega: cfg.omega,
            comps,
        }
    }

    /// Number of coordinates.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when bound to no coordinates.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Values of component `k` after the last [`forward`](Self::forward).
    pub fn component_values(&self, k: usize) -> &[f32] {
        &self.comps[k].values
    }

    /// All values `[K, N]` after the last forward.
    pub fn values(&self) -> Vec<f32> {
        self.comps
            .iter()
            .flat_map(|c| c.values.iter().copied())
            .collect()
    }

    /// Copies the values into `out` (`[K, N]`).
    #[track_caller]
    pub fn values_into(&self, out: &mut [f32]) {
        for (c, chunk) in self.comps.iter().zip(out.chunks_mut(self.n)) {
            chunk.copy_from_slice(&c.values);
        }
    }

    /// Forward pass with the given parameters (component-major, as in [`Mlp::params`]).
    #[track_caller]
    pub fn forward(&mut self, params: &[f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        let (n, specs, omega) = (self.n, &self.specs, self.omega);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .for_each(|(buf, p)| forward_component(buf, p, specs, n, omega));
    }

    /// Backward pass: given `dvalues` (`[K, N]`, ∂loss/∂value), writes ∂loss/∂params into
    /// `grad` (overwriting it). Uses the activations of the last forward.
    #[track_caller]
    pub fn backward(&mut self, params: &[f32], dvalues: &[f32], grad: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        assert_eq!(dvalues.len(), self.n * self.comps.len());
        let (n, specs, omega) = (self.n, &self.specs, self.omega);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(grad.par_chunks_mut(self.per))
            .zip(dvalues.par_chunks(n))
            .for_each(|(((buf, p), gr), dv)| backward_component(buf, p, gr, dv, specs, n, omega));
    }
}

fn add_bias_rows(out: &mut [f32], bias: &[f32]) {
    for row in out.chunks_exact_mut(bias.len()) {
        for (o, b) in row.iter_mut().zip(bias) {
            *o += b;
        }
    }
}

fn forward_component(
    buf: &mut ComponentBuffers,
    p: &[f32],
    specs: &[LayerSpec],
    n: usize,
    omega: f32,
) {
    let depth = specs.len() - 2;
    // layer 0: linear from the features
    let s0 = specs[0];
    let a1 = &mut buf.acts[0];
    gemm(
        a1,
        &buf.feats,
        &p[s0.w..s0.b],
        n,
        s0.fan_in,
        s0.fan_out,
        false,
        false,
        false,
    );
    add_bias_rows(a1, &p[s0.b..s0.b + s0.fan_out]);
    // sine layers
    for l in 1..=depth {
        let s = specs[l];
        let (prev, next) = buf.acts.split_at_mut(l);
        let a_in = &prev[l - 1];
        let z = &mut next[0];
        gemm(
            z,
            a_in,
            &p[s.w..s.b],
            n,
            s.fan_in,
            s.fan_out,
            false,
            false,
            false,
        );
        sin_cos_bias_inplace(z, &mut buf.cos[l - 1], &p[s.b..s.b + s.fan_out], omega);
    }
    // output layer and softplus
    let so = specs[depth + 1];
    buf.g.fill(p[so.b]);
    gemm(
        &mut buf.g,
        &buf.acts[depth],
        &p[so.w..so.b],
        n,
        so.fan_in,
        1,
        false,
        false,
        true,
    );
    for (v, &g) in buf.values.iter_mut().zip(&buf.g) {
        *v = softplus(g);
    }
}

fn column_sums(m: &[f32], cols: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

fn backward_component(
    buf: &mut ComponentBuffers,
    p: &[f32],
    grad: &mut [f32],
    dvalues: &[f32],
    specs: &[LayerSpec],
    n: usize,
    omega: f32,
) {
    let depth = specs.len() - 2;
    let so = specs[depth + 1];
    let h = so.fan_in;
    // dg = dvalue · σ(g); reuse buf.g as dg
    for (g, &dv) in buf.g.iter_mut().zip(dvalues) {
        *g = dv * softplus_grad(*g);
    }
    let dg = &buf.g;
    gemm(
        &mut grad[so.w..so.b],
        &buf.acts[depth],
        dg,
        h,
        n,
        1,
        true,
        false,
        false,
    );
    grad[so.b] = dg.iter().map(|&v| v as f64).sum::<f64>() as f32;
    // da = dg ⊗ w_out
    let w_out = &p[so.w..so.b];
    for (row, &d) in buf.da.chunks_exact_mut(h).zip(dg) {
        for (r, &w) in row.iter_mut().zip(w_out) {
            *r = d * w;
        }
    }
    for l in (1..=depth).rev() {
        let s = specs[l];
        // dz = da ⊙ ω·cos(z), and the bias gradient Σ_rows dz in the same pass
        let gb = &mut grad[s.b..s.b + s.fan_out];
        gb.fill(0.0);
        for (dr, cr) in buf
            .da
            .chunks_exact_mut(s.fan_out)
            .zip(buf.cos[l - 1].chunks_exact(s.fan_out))
        {
            for ((d, &c), g) in dr.iter_mut().zip(cr).zip(gb.iter_mut()) {
                *d *= omega * c;
                *g += *d;
            }
        }
        gemm(
            &mut grad[s.w..s.b],
            &buf.acts[l - 1],
            &buf.da,
            s.fan_in,
            n,
            s.fan_out,
            true,
            false,
            false,
        );
        // da_prev = dz · Wᵀ
        gemm(
            &mut buf.db,
            &buf.da,
            &p[s.w..s.b],
            n,
            s.fan_out,
            s.fan_in,
            false,
            true,
            false,
        );
        std::mem::swap(&mut buf.da, &mut buf.db);
    }
    let s0 = specs[0];
    gemm(
        &mut grad[s0.w..s0.b],
        &buf.feats,
        &buf.da,
        s0.fan_in,
        n,
        s0.fan_out,
        true,
        false,
        false,
    );
    column_sums(&buf.da, s0.fan_out, &mut grad[s0.b..s0.b + s0.fan_out]);
}
