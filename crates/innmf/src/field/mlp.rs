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
//! W_k(x) = softplus(g)                       (or exp(g): [`OutputMap`])
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

/// The map from a network's last linear output `g` to the factor's non-negative value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputMap {
    /// `softplus(g) = ln(1 + eᵍ)` (the paper's, arXiv 2404.04439 §2).
    #[default]
    Softplus,
    /// `exp(g)`: the network models `ln W`. A template's log-spectrum varies far less between
    /// harmonics and valleys than the spectrum itself, and the KL gradient with respect to `g`
    /// is `value·∂loss/∂value`, the scale-free step of multiplicative updates. `g` is clamped
    /// at [`EXP_MAX`] (gradient 0 above).
    Exp,
}

/// Largest `g` the [`OutputMap::Exp`] map takes (e⁶⁰ ≈ 1.1e26, far from f32's limit).
pub const EXP_MAX: f32 = 60.0;

impl OutputMap {
    /// The value at `g`.
    #[inline]
    pub fn value(self, g: f32) -> f32 {
        match self {
            OutputMap::Softplus => softplus(g),
            OutputMap::Exp => g.min(EXP_MAX).exp(),
        }
    }

    /// The derivative at `g`.
    #[inline]
    pub fn grad(self, g: f32) -> f32 {
        match self {
            OutputMap::Softplus => softplus_grad(g),
            OutputMap::Exp => {
                if g > EXP_MAX {
                    0.0
                } else {
                    g.exp()
                }
            }
        }
    }

    fn is_default(&self) -> bool {
        *self == OutputMap::Softplus
    }
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
    /// Output map (softplus in the paper).
    #[serde(default, skip_serializing_if = "OutputMap::is_default")]
    pub output: OutputMap,
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
            output: OutputMap::Softplus,
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

    /// Adds `delta` to every component's output bias (`g`), e.g. to match a scale at
    /// initialization.
    pub fn shift_output_bias(&mut self, delta: f32) {
        let so = *layer_specs(&self.config).last().expect("an output layer");
        let per = self.config.params_per_component();
        for block in self.params.chunks_exact_mut(per) {
            block[so.b] += delta;
        }
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
    /// W0·W1 `[2J, h]` and b0·W1 + b1 `[h]` (layers 0 and 1 collapsed; see `forward_component`).
    collapsed: Vec<f32>,
    collapsed_bias: Vec<f32>,
}

/// Gradient scratch of one worker thread: shared by the components that thread processes, so
/// the backward pass keeps a smaller working set in cache.
#[derive(Debug)]
struct Scratch {
    da: Vec<f32>,
    db: Vec<f32>,
    /// Fᵀ·dZ1, `[2J, h]`.
    pf: Vec<f32>,
}

/// Preallocated buffers for evaluating and differentiating an [`Mlp`] at a fixed set of
/// coordinates (typically the unique frequencies or times of a point set).
#[derive(Debug)]
pub struct MlpWorkspace {
    n: usize,
    specs: Vec<LayerSpec>,
    per: usize,
    omega: f32,
    output: OutputMap,
    comps: Vec<ComponentBuffers>,
    scratch: Vec<std::sync::Mutex<Scratch>>,
}

impl Clone for MlpWorkspace {
    fn clone(&self) -> Self {
        MlpWorkspace {
            n: self.n,
            specs: self.specs.clone(),
            per: self.per,
            omega: self.omega,
            output: self.output,
            comps: self.comps.clone(),
            scratch: self
                .scratch
                .iter()
                .map(|m| {
                    let g = m.lock().unwrap_or_else(|e| e.into_inner());
                    std::sync::Mutex::new(Scratch {
                        da: vec![0.0; g.da.len()],
                        db: vec![0.0; g.db.len()],
                        pf: vec![0.0; g.pf.len()],
                    })
                })
                .collect(),
        }
    }
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
                    // acts[l] holds a_{l+1}; with depth ≥ 1, a_1 is never formed
                    acts: (0..=cfg.depth)
                        .map(|l| {
                            if l == 0 && cfg.depth > 0 {
                                Vec::new()
                            } else {
                                vec![0.0; n * h]
                            }
                        })
                        .collect(),
                    cos: (0..cfg.depth).map(|_| vec![0.0; n * h]).collect(),
                    g: vec![0.0; n],
                    values: vec![0.0; n],
                    collapsed: vec![0.0; 2 * j * h],
                    collapsed_bias: vec![0.0; h],
                }
            })
            .collect();
        MlpWorkspace {
            n,
            specs,
            per: cfg.params_per_component(),
            omega: cfg.omega,
            output: cfg.output,
            comps,
            scratch: (0..rayon::current_num_threads().max(1))
                .map(|_| {
                    std::sync::Mutex::new(Scratch {
                        da: vec![0.0; n * h],
                        db: vec![0.0; n * h],
                        pf: vec![0.0; 2 * j * h],
                    })
                })
                .collect(),
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
        let (n, specs, omega, output) = (self.n, &self.specs, self.omega, self.output);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .for_each(|(buf, p)| forward_component(buf, p, specs, n, omega, output));
    }

    /// Backward pass: given `dvalues` (`[K, N]`, ∂loss/∂value), writes ∂loss/∂params into
    /// `grad` (overwriting it). Uses the activations of the last forward.
    #[track_caller]
    pub fn backward(&mut self, params: &[f32], dvalues: &[f32], grad: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        assert_eq!(dvalues.len(), self.n * self.comps.len());
        let (n, specs, omega, output) = (self.n, &self.specs, self.omega, self.output);
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(grad.par_chunks_mut(self.per))
            .zip(dvalues.par_chunks(n))
            .for_each(|(((buf, p), gr), dv)| {
                // one scratch per worker thread; the lock is never contended (a thread runs one
                // component at a time and nothing inside spawns rayon work)
                let idx = rayon::current_thread_index().unwrap_or(0) % self.scratch.len();
                let mut guard = self.scratch[idx].lock().unwrap_or_else(|e| e.into_inner());
                backward_component(buf, &mut guard, p, gr, dv, specs, n, omega, output)
            });
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
    output: OutputMap,
) {
    let depth = specs.len() - 2;
    let s0 = specs[0];
    if depth == 0 {
        // layer 0 feeds the output layer directly
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
    } else {
        // layers 0 and 1 have no activation between them: z1 = F·(W0·W1) + (b0·W1 + b1), so
        // the N×h×h product of layer 1 is replaced by a 2J×h×h one (see `backward_component`
        // for the matching gradients). a1 itself is never formed.
        let s1 = specs[1];
        let (w0, w1) = (&p[s0.w..s0.b], &p[s1.w..s1.b]);
        let m = &mut buf.collapsed;
        gemm(
            m, w0, w1, s0.fan_in, s0.fan_out, s1.fan_out, false, false, false,
        );
        let c = &mut buf.collapsed_bias;
        for (o, cv) in c.iter_mut().enumerate() {
            let mut acc = p[s1.b + o];
            for i in 0..s0.fan_out {
                acc += p[s0.b + i] * w1[i * s1.fan_out + o];
            }
            *cv = acc;
        }
        let z = &mut buf.acts[1];
        gemm(
            z, &buf.feats, m, n, s0.fan_in, s1.fan_out, false, false, false,
        );
        sin_cos_bias_inplace(z, &mut buf.cos[0], c, omega);
    }
    // the remaining sine layers
    for l in 2..=depth {
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
    // output layer and output map
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
    match output {
        OutputMap::Softplus => {
            for (v, &g) in buf.values.iter_mut().zip(&buf.g) {
                *v = softplus(g);
            }
        }
        OutputMap::Exp => {
            for (v, &g) in buf.values.iter_mut().zip(&buf.g) {
                *v = OutputMap::Exp.value(g);
            }
        }
    }
}

/// Gradients of layers 0 and 1, which the forward pass collapsed (`z1 = F·W0·W1 + b0·W1 + b1`).
/// With `dZ1` in `scratch.da`, `s1 = Σ_rows dZ1` already in `grad[b1]` and `P = Fᵀ·dZ1`:
///
/// ```text
/// ∂W1 = a1ᵀ·dZ1 = W0ᵀ·P + b0·s1ᵀ      ∂W0 = Fᵀ·(dZ1·W1ᵀ) = P·W1ᵀ      ∂b0 = W1·s1
/// ```
///
/// so no N×h×h product is needed (exact algebra; only the rounding differs).
fn collapsed_backward(
    buf: &ComponentBuffers,
    scratch: &mut Scratch,
    p: &[f32],
    grad: &mut [f32],
    specs: &[LayerSpec],
    n: usize,
) {
    let (s0, s1) = (specs[0], specs[1]);
    let (j2, h0, h1) = (s0.fan_in, s0.fan_out, s1.fan_out);
    let pf = &mut scratch.pf;
    gemm(pf, &buf.feats, &scratch.da, j2, n, h1, true, false, false);
    let (w0, w1) = (&p[s0.w..s0.b], &p[s1.w..s1.b]);
    let sums: Vec<f32> = grad[s1.b..s1.b + h1].to_vec();
    // ∂W1 = W0ᵀ·P + b0·s1ᵀ
    gemm(
        &mut grad[s1.w..s1.b],
        w0,
        pf,
        h0,
        j2,
        h1,
        true,
        false,
        false,
    );
    for i in 0..h0 {
        let b0 = p[s0.b + i];
        for o in 0..h1 {
            grad[s1.w + i * h1 + o] += b0 * sums[o];
        }
    }
    // ∂W0 = P·W1ᵀ
    gemm(
        &mut grad[s0.w..s0.b],
        pf,
        w1,
        j2,
        h1,
        h0,
        false,
        true,
        false,
    );
    // ∂b0 = W1·s1
    for i in 0..h0 {
        grad[s0.b + i] = (0..h1).map(|o| w1[i * h1 + o] * sums[o]).sum();
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
    scratch: &mut Scratch,
    p: &[f32],
    grad: &mut [f32],
    dvalues: &[f32],
    specs: &[LayerSpec],
    n: usize,
    omega: f32,
    output: OutputMap,
) {
    let depth = specs.len() - 2;
    let so = specs[depth + 1];
    let h = so.fan_in;
    // dg = dvalue · map'(g); reuse buf.g as dg
    match output {
        OutputMap::Softplus => {
            for (g, &dv) in buf.g.iter_mut().zip(dvalues) {
                *g = dv * softplus_grad(*g);
            }
        }
        OutputMap::Exp => {
            for (g, &dv) in buf.g.iter_mut().zip(dvalues) {
                *g = dv * OutputMap::Exp.grad(*g);
            }
        }
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
    for (row, &d) in scratch.da.chunks_exact_mut(h).zip(dg) {
        for (r, &w) in row.iter_mut().zip(w_out) {
            *r = d * w;
        }
    }
    for l in (1..=depth).rev() {
        let s = specs[l];
        // dz = da ⊙ ω·cos(z), and the bias gradient Σ_rows dz in the same pass
        let gb = &mut grad[s.b..s.b + s.fan_out];
        gb.fill(0.0);
        for (dr, cr) in scratch
            .da
            .chunks_exact_mut(s.fan_out)
            .zip(buf.cos[l - 1].chunks_exact(s.fan_out))
        {
            for ((d, &c), g) in dr.iter_mut().zip(cr).zip(gb.iter_mut()) {
                *d *= omega * c;
                *g += *d;
            }
        }
        if l == 1 {
            collapsed_backward(buf, scratch, p, grad, specs, n);
            return;
        }
        gemm(
            &mut grad[s.w..s.b],
            &buf.acts[l - 1],
            &scratch.da,
            s.fan_in,
            n,
            s.fan_out,
            true,
            false,
            false,
        );
        // da_prev = dz · Wᵀ
        gemm(
            &mut scratch.db,
            &scratch.da,
            &p[s.w..s.b],
            n,
            s.fan_out,
            s.fan_in,
            false,
            true,
            false,
        );
        std::mem::swap(&mut scratch.da, &mut scratch.db);
    }
    let s0 = specs[0];
    gemm(
        &mut grad[s0.w..s0.b],
        &buf.feats,
        &scratch.da,
        s0.fan_in,
        n,
        s0.fan_out,
        true,
        false,
        false,
    );
    column_sums(&scratch.da, s0.fan_out, &mut grad[s0.b..s0.b + s0.fan_out]);
}
