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
use super::kernels::{self, ROWS};
use crate::error::{Error, Result};
use crate::fastmath::{softplus, softplus_grad};
use crate::simd::{self, Level};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod rows;
pub use rows::RowBlock;

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

/// The largest sine frequency scale ω accepted. A sine layer computes sin(ω·z) in f32 through
/// [`crate::fastmath::sin_cos_checked`], whose range is |ω·z| < 6433 (beyond it the step is
/// marked diverged); the pre-activations z are of order 1 and up to a few units at
/// initialization, so an ω much above 1000 leaves that range at the first step. The paper uses
/// ω = 1, SIREN 30.
pub const MAX_OMEGA: f32 = 1000.0;

/// Checks a sine frequency scale ω: finite, > 0 and at most [`MAX_OMEGA`].
pub fn check_omega(omega: f32) -> Result<()> {
    if omega.is_finite() && omega > 0.0 && omega <= MAX_OMEGA {
        Ok(())
    } else {
        Err(Error::param(
            "omega",
            omega,
            "a finite ω in (0, 1000] (1 in the paper, 30 in SIREN): the sine layers evaluate \
             sin(ω·z) in f32 for |ω·z| up to 6433 and the pre-activations z reach a few units, so \
             a larger ω makes the loss NaN from the first step",
        ))
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
        check_omega(self.omega)?;
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
    ///
    /// Streams over blocks of coordinates: memory beyond the output is a few blocks per
    /// component, whatever `coords.len()`.
    pub fn evaluate(&self, coords: &[f64]) -> Vec<f32> {
        let cfg = &self.config;
        let (n, j) = (coords.len(), cfg.n_features);
        let mut out = vec![0.0f32; cfg.components * n];
        if n == 0 {
            return out;
        }
        let u = cfg.axis.map_all(coords);
        let specs = layer_specs(cfg);
        let level = simd::level();
        let (h, depth, per) = (cfg.width, cfg.depth, cfg.params_per_component());
        out.par_chunks_mut(n)
            .zip(self.params.par_chunks(per))
            .enumerate()
            .for_each(|(c, (vals, p))| {
                let fb = &self.fourier_bias[c * j..(c + 1) * j];
                let mut feats = vec![0.0f32; ROWS * 2 * j];
                let mut acts = vec![vec![0.0f32; ROWS * h]; depth.max(1)];
                let mut cos = vec![vec![0.0f32; ROWS * h]; depth];
                let mut g = vec![0.0f32; ROWS];
                let prep = Collapsed::new(level, p, &specs);
                let mut bad = false;
                for r0 in (0..n).step_by(ROWS) {
                    let nb = ROWS.min(n - r0);
                    let f = &mut feats[..nb * 2 * j];
                    fourier::encode(&u[r0..r0 + nb], fb, j, f);
                    bad |= forward_block(
                        level,
                        p,
                        &specs,
                        &prep,
                        cfg.omega,
                        f,
                        &mut acts,
                        &mut cos,
                        0,
                        nb,
                        &mut g[..nb],
                    );
                    map_values(level, cfg.output, &g[..nb], &mut vals[r0..r0 + nb]);
                }
                if bad {
                    vals.fill(f32::NAN);
                }
            });
        out
    }
}

/// Per-component buffers of a workspace.
#[derive(Debug, Clone)]
struct ComponentBuffers {
    /// Fourier features `[N, 2J]`.
    feats: Vec<f32>,
    /// Outputs of the sine layers 1..=D, each `[N, h]` (with D = 0: the linear layer's output).
    acts: Vec<Vec<f32>>,
    /// cos of the sine layers' arguments, each `[N, h]`.
    cos: Vec<Vec<f32>>,
    /// Output before softplus `[N]` (its gradient after a backward pass).
    g: Vec<f32>,
    values: Vec<f32>,
    /// Gradient scratch: two blocks of ∂z, the transposed weights of layers 1..=D, `Fᵀ·∂z₁`.
    dz: Vec<f32>,
    dz2: Vec<f32>,
    wt: Vec<Vec<f32>>,
    pf: Vec<f32>,
    /// The row-block pass ([`MlpWorkspace::begin_rows`]): layers 0 and 1 collapsed for the
    /// step's parameters, the output bias's gradient summed so far (f64, rows in order) and
    /// whether a pre-activation left the sine's range.
    prep: Collapsed,
    gsum: f64,
    bad: bool,
}

/// Layers 0 and 1 collapsed (no activation between them): `M = W0·W1` `[2J, h]` and
/// `c = b0·W1 + b1` `[h]`, so `z1 = F·M + c` replaces an N×h×h product by a 2J×h×h one.
#[derive(Debug, Clone, Default)]
struct Collapsed {
    m: Vec<f32>,
    c: Vec<f32>,
}

impl Collapsed {
    fn new(level: Level, p: &[f32], specs: &[LayerSpec]) -> Self {
        if specs.len() < 3 {
            return Collapsed {
                m: Vec::new(),
                c: Vec::new(),
            };
        }
        let (s0, s1) = (specs[0], specs[1]);
        let (w0, w1) = (&p[s0.w..s0.b], &p[s1.w..s1.b]);
        let mut m = vec![0.0f32; s0.fan_in * s1.fan_out];
        kernels::gemm(
            level, &mut m, w0, w1, s0.fan_in, s0.fan_out, s1.fan_out, false, false,
        );
        let mut c = p[s1.b..s1.b + s1.fan_out].to_vec();
        kernels::gemm(
            level,
            &mut c,
            &p[s0.b..s0.b + s0.fan_out],
            w1,
            1,
            s0.fan_out,
            s1.fan_out,
            false,
            true,
        );
        Collapsed { m, c }
    }
}

/// Preallocated buffers for evaluating and differentiating an [`Mlp`] at a fixed set of
/// coordinates (typically the unique frequencies or times of a point set).
#[derive(Debug, Clone)]
pub struct MlpWorkspace {
    n: usize,
    specs: Vec<LayerSpec>,
    per: usize,
    omega: f32,
    output: OutputMap,
    level: Level,
    comps: Vec<ComponentBuffers>,
}

impl MlpWorkspace {
    /// Buffers for `coords` (physical units); the Fourier features are computed here, once.
    pub fn new(mlp: &Mlp, coords: &[f64]) -> Self {
        Self::from_inputs(mlp, &mlp.config.axis.map_all(coords))
    }

    /// Buffers for network inputs `u` (coordinates already mapped by the factor's axis).
    pub fn from_inputs(mlp: &Mlp, u: &[f64]) -> Self {
        let cfg = &mlp.config;
        let n = u.len();
        let j = cfg.n_features;
        let specs = layer_specs(cfg);
        let (h, depth) = (cfg.width, cfg.depth);
        let comps = (0..cfg.components)
            .map(|c| {
                let mut feats = vec![0.0f32; n * 2 * j];
                fourier::encode(u, &mlp.fourier_bias[c * j..(c + 1) * j], j, &mut feats);
                ComponentBuffers {
                    feats,
                    acts: (0..depth.max(1)).map(|_| vec![0.0; n * h]).collect(),
                    cos: (0..depth).map(|_| vec![0.0; n * h]).collect(),
                    g: vec![0.0; n],
                    values: vec![0.0; n],
                    dz: vec![0.0; ROWS * h],
                    dz2: vec![0.0; ROWS * h],
                    wt: (0..depth).map(|_| vec![0.0; h * h]).collect(),
                    pf: vec![0.0; 2 * j * h],
                    prep: Collapsed::default(),
                    gsum: 0.0,
                    bad: false,
                }
            })
            .collect();
        MlpWorkspace {
            n,
            specs,
            per: cfg.params_per_component(),
            omega: cfg.omega,
            output: cfg.output,
            level: simd::level(),
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

    /// The SIMD level the kernels run at (default [`simd::level`]).
    pub fn level(&self) -> Level {
        self.level
    }

    /// Runs the kernels at `level` (clamped to what the CPU supports). Every level gives the same
    /// bits; this exists to test that.
    pub fn set_level(&mut self, level: Level) {
        self.level = simd::clamp(level);
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
        let (n, specs, omega, level) = (self.n, &self.specs, self.omega, self.level);
        let output = self.output;
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .for_each(|(buf, p)| forward_component(level, buf, p, specs, n, omega, output));
    }

    /// Backward pass: given `dvalues` (`[K, N]`, ∂loss/∂value), writes ∂loss/∂params into
    /// `grad` (overwriting it). Uses the activations of the last forward.
    #[track_caller]
    pub fn backward(&mut self, params: &[f32], dvalues: &[f32], grad: &mut [f32]) {
        assert_eq!(params.len(), self.per * self.comps.len());
        assert_eq!(grad.len(), params.len());
        assert_eq!(dvalues.len(), self.n * self.comps.len());
        let (n, specs, omega, level) = (self.n, &self.specs, self.omega, self.level);
        let output = self.output;
        self.comps
            .par_iter_mut()
            .zip(params.par_chunks(self.per))
            .zip(grad.par_chunks_mut(self.per))
            .zip(dvalues.par_chunks(n))
            .for_each(|(((buf, p), gr), dv)| {
                backward_component(level, buf, p, gr, dv, specs, n, omega, output)
            });
    }
}

/// Forward pass over rows `r0..r0 + nb` of `acts`/`cos` (`feats` and `g` hold just those rows).
/// Returns true when a pre-activation left the sine's range.
fn forward_block(
    level: Level,
    p: &[f32],
    specs: &[LayerSpec],
    prep: &Collapsed,
    omega: f32,
    feats: &[f32],
    acts: &mut [Vec<f32>],
    cos: &mut [Vec<f32>],
    r0: usize,
    nb: usize,
    g: &mut [f32],
) -> bool {
    let depth = specs.len() - 2;
    let (s0, so) = (specs[0], specs[depth + 1]);
    let (j2, h) = (s0.fan_in, so.fan_in);
    let rows = r0 * h..(r0 + nb) * h;
    let mut bad = false;
    if depth == 0 {
        let z = &mut acts[0][rows.clone()];
        kernels::gemm_bias(
            level,
            z,
            feats,
            &p[s0.w..s0.b],
            &p[s0.b..s0.b + h],
            nb,
            j2,
            h,
        );
    } else {
        let z = &mut acts[0][rows.clone()];
        kernels::gemm_bias(level, z, feats, &prep.m, &prep.c, nb, j2, h);
        bad |= kernels::sine(level, z, &mut cos[0][rows.clone()], omega);
        for l in 2..=depth {
            let s = specs[l];
            let (prev, next) = acts.split_at_mut(l - 1);
            let z = &mut next[0][rows.clone()];
            kernels::gemm_bias(
                level,
                z,
                &prev[l - 2][rows.clone()],
                &p[s.w..s.b],
                &p[s.b..s.b + h],
                nb,
                h,
                h,
            );
            bad |= kernels::sine(level, z, &mut cos[l - 1][rows.clone()], omega);
        }
    }
    let last = &acts[depth.max(1) - 1][rows];
    kernels::output_rows(level, last, &p[so.w..so.b], p[so.b], g);
    bad
}

fn forward_component(
    level: Level,
    buf: &mut ComponentBuffers,
    p: &[f32],
    specs: &[LayerSpec],
    n: usize,
    omega: f32,
    output: OutputMap,
) {
    let j2 = specs[0].fan_in;
    let prep = Collapsed::new(level, p, specs);
    let mut bad = false;
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        bad |= forward_block(
            level,
            p,
            specs,
            &prep,
            omega,
            &buf.feats[r0 * j2..(r0 + nb) * j2],
            &mut buf.acts,
            &mut buf.cos,
            r0,
            nb,
            &mut buf.g[r0..r0 + nb],
        );
    }
    map_values(level, output, &buf.g, &mut buf.values);
    if bad {
        // pre-activations beyond the sine's range: training has diverged (the fit reports it)
        buf.values.fill(f32::NAN);
    }
}

/// `values = map(g)` (the output map, one branch per slice so the loops vectorize).
fn map_values(level: Level, output: OutputMap, g: &[f32], values: &mut [f32]) {
    match output {
        OutputMap::Softplus => softplus_rows(level, g, values),
        OutputMap::Exp => {
            for (v, &g) in values.iter_mut().zip(g) {
                *v = OutputMap::Exp.value(g);
            }
        }
    }
}

/// `g ← dvalues · map'(g)`.
fn map_grads(level: Level, output: OutputMap, g: &mut [f32], dvalues: &[f32]) {
    match output {
        OutputMap::Softplus => softplus_grad_rows(level, g, dvalues),
        OutputMap::Exp => {
            for (g, &dv) in g.iter_mut().zip(dvalues) {
                *g = dv * OutputMap::Exp.grad(*g);
            }
        }
    }
}

simd::simd_fn! {
    /// `values = softplus(g)` (branch-free, vectorized at every level, the same bits).
    fn softplus_rows(g: &[f32], values: &mut [f32]) {
        for (v, &g) in values.iter_mut().zip(g) {
            *v = softplus(g);
        }
    }
}

simd::simd_fn! {
    /// `g ← dvalues · softplus'(g)`.
    fn softplus_grad_rows(g: &mut [f32], dvalues: &[f32]) {
        for (g, &dv) in g.iter_mut().zip(dvalues) {
            *g = dv * softplus_grad(*g);
        }
    }
}

/// Two disjoint mutable sub-slices `a` and `b` of `v` (ranges must not overlap).
fn two_mut(
    v: &mut [f32],
    a: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
) -> (&mut [f32], &mut [f32]) {
    if a.start < b.start {
        let (x, y) = v.split_at_mut(b.start);
        (&mut x[a], &mut y[..b.end - b.start])
    } else {
        let (x, y) = v.split_at_mut(a.start);
        (&mut y[..a.end - a.start], &mut x[b])
    }
}

/// Gradients of layers 0 and 1, which the forward pass collapsed (`z1 = F·W0·W1 + b0·W1 + b1`).
/// With `s1 = Σ_rows dZ1` already in `grad[b1]` and `P = Fᵀ·dZ1` in `buf.pf`:
///
/// ```text
/// ∂W1 = a1ᵀ·dZ1 = W0ᵀ·P + b0·s1ᵀ      ∂W0 = Fᵀ·(dZ1·W1ᵀ) = P·W1ᵀ      ∂b0 = W1·s1
/// ```
///
/// so no N×h×h product is needed (exact algebra; only the rounding differs).
fn collapsed_backward(
    level: Level,
    buf: &ComponentBuffers,
    p: &[f32],
    grad: &mut [f32],
    specs: &[LayerSpec],
) {
    let (s0, s1) = (specs[0], specs[1]);
    let (j2, h0, h1) = (s0.fan_in, s0.fan_out, s1.fan_out);
    let (w0, w1) = (&p[s0.w..s0.b], &p[s1.w..s1.b]);
    let sums: Vec<f32> = grad[s1.b..s1.b + h1].to_vec();
    // ∂W1 = W0ᵀ·P + b0·s1ᵀ
    let gw1 = &mut grad[s1.w..s1.b];
    kernels::gemm(level, gw1, w0, &buf.pf, h0, j2, h1, true, false);
    kernels::gemm(
        level,
        gw1,
        &p[s0.b..s0.b + h0],
        &sums,
        h0,
        1,
        h1,
        false,
        true,
    );
    // ∂W0 = P·W1ᵀ
    kernels::gemm(
        level,
        &mut grad[s0.w..s0.b],
        &buf.pf,
        &buf.wt[0],
        j2,
        h1,
        h0,
        false,
        false,
    );
    // ∂b0 = W1·s1
    kernels::gemm(
        level,
        &mut grad[s0.b..s0.b + h0],
        w1,
        &sums,
        h0,
        h1,
        1,
        false,
        false,
    );
}

/// The start of a backward pass: a zeroed gradient, an empty sum for the output bias's
/// gradient, the transposed sine weights and a zeroed `Fᵀ·∂z₁` (the blocks of rows follow,
/// [`backward_block`], then [`backward_end`]).
fn backward_begin(buf: &mut ComponentBuffers, p: &[f32], grad: &mut [f32], specs: &[LayerSpec]) {
    let depth = specs.len() - 2;
    grad.fill(0.0);
    // the sum of no values, as `Iterator::sum` starts it (rows are added in order after)
    buf.gsum = std::iter::empty::<f64>().sum();
    // Wᵀ of the sine layers, for ∂a = ∂z·Wᵀ
    for l in 1..=depth {
        let s = specs[l];
        let (w, wt) = (&p[s.w..s.b], &mut buf.wt[l - 1]);
        // row o of Wᵀ is column o of W (contiguous writes, strided reads, no index checks)
        for (o, row) in wt[..s.fan_out * s.fan_in]
            .chunks_exact_mut(s.fan_in)
            .enumerate()
        {
            for (v, &x) in row.iter_mut().zip(w[o..].iter().step_by(s.fan_out)) {
                *v = x;
            }
        }
    }
    buf.pf.fill(0.0);
}

/// The backward pass over rows `r0..r0 + nb`, whose activations sit at rows `ra..ra + nb` of
/// `acts`/`cos` (`ra = r0` after a whole forward, 0 in a row-block pass); `dvalues` holds
/// ∂loss/∂value of those rows. Blocks must come in row order (the sums run over rows in order).
#[allow(clippy::too_many_arguments)]
fn backward_block(
    level: Level,
    buf: &mut ComponentBuffers,
    p: &[f32],
    grad: &mut [f32],
    dvalues: &[f32],
    specs: &[LayerSpec],
    output: OutputMap,
    omega: f32,
    r0: usize,
    ra: usize,
    nb: usize,
) {
    let depth = specs.len() - 2;
    let (s0, so) = (specs[0], specs[depth + 1]);
    let (j2, h) = (s0.fan_in, so.fan_in);
    // dg = dvalue · map'(g), in place of g
    let g = &mut buf.g[r0..r0 + nb];
    map_grads(level, output, g, dvalues);
    buf.gsum = g.iter().fold(buf.gsum, |acc, &v| acc + v as f64);
    // the bias gradient fed by the output layer's backward: the last sine layer's, or layer 0's
    let last_b = specs[depth].b..specs[depth].b + h;
    let rows = ra * h..(ra + nb) * h;
    let cos_last: &[f32] = if depth > 0 {
        &buf.cos[depth - 1][rows.clone()]
    } else {
        &[]
    };
    {
        let (gw, gb) = two_mut(grad, so.w..so.b, last_b.clone());
        kernels::output_backward_rows(
            level,
            &buf.acts[depth.max(1) - 1][rows.clone()],
            cos_last,
            &buf.g[r0..r0 + nb],
            &p[so.w..so.b],
            omega,
            gw,
            gb,
            &mut buf.dz[..nb * h],
        );
    }
    for l in (2..=depth).rev() {
        let s = specs[l];
        // ∂W_l += a_lᵀ·∂z_l (a_l: the previous sine layer's output)
        kernels::gemm(
            level,
            &mut grad[s.w..s.b],
            &buf.acts[l - 2][rows.clone()],
            &buf.dz[..nb * h],
            h,
            nb,
            h,
            true,
            true,
        );
        // ∂z_{l−1} = (∂z_l·W_lᵀ) ⊙ ω·cos(z_{l−1}), and its bias gradient
        kernels::gemm(
            level,
            &mut buf.dz2[..nb * h],
            &buf.dz[..nb * h],
            &buf.wt[l - 1],
            nb,
            h,
            h,
            false,
            false,
        );
        let sp = specs[l - 1];
        kernels::cos_scale_rows(
            level,
            &mut buf.dz2[..nb * h],
            &buf.cos[l - 2][rows.clone()],
            omega,
            &mut grad[sp.b..sp.b + h],
        );
        std::mem::swap(&mut buf.dz, &mut buf.dz2);
    }
    let f = &buf.feats[r0 * j2..(r0 + nb) * j2];
    let target: &mut [f32] = if depth > 0 {
        &mut buf.pf
    } else {
        &mut grad[s0.w..s0.b]
    };
    kernels::gemm(level, target, f, &buf.dz[..nb * h], j2, nb, h, true, true);
}

/// The end of a backward pass: the output bias's gradient and, with sine layers, the
/// gradients of the two collapsed layers.
fn backward_end(
    level: Level,
    buf: &ComponentBuffers,
    p: &[f32],
    grad: &mut [f32],
    specs: &[LayerSpec],
) {
    let depth = specs.len() - 2;
    grad[specs[depth + 1].b] = buf.gsum as f32;
    if depth > 0 {
        collapsed_backward(level, buf, p, grad, specs);
    }
}

#[allow(clippy::too_many_arguments)]
fn backward_component(
    level: Level,
    buf: &mut ComponentBuffers,
    p: &[f32],
    grad: &mut [f32],
    dvalues: &[f32],
    specs: &[LayerSpec],
    n: usize,
    omega: f32,
    output: OutputMap,
) {
    backward_begin(buf, p, grad, specs);
    for r0 in (0..n).step_by(ROWS) {
        let nb = ROWS.min(n - r0);
        backward_block(
            level,
            buf,
            p,
            grad,
            &dvalues[r0..r0 + nb],
            specs,
            output,
            omega,
            r0,
            r0,
            nb,
        );
    }
    backward_end(level, buf, p, grad, specs);
}

#[cfg(test)]
mod omega_tests {
    use super::*;
    use crate::field::AxisScale;

    #[test]
    fn omega_is_bounded_where_the_sine_evaluation_holds() {
        let axis = Axis::new(0.0, 1.0, AxisScale::Linear).unwrap();
        let mut cfg = MlpConfig::reference(2, axis);
        for omega in [1.0, 30.0, MAX_OMEGA] {
            cfg.omega = omega;
            assert!(cfg.validate().is_ok(), "{omega}");
        }
        // 1e30 gave "training diverged at step 0: loss = NaN" (exit 1)
        for omega in [1e30, 1e4, 1000.5, 0.0, -1.0, f32::NAN, f32::INFINITY] {
            cfg.omega = omega;
            let m = cfg.validate().unwrap_err().to_string();
            assert!(m.contains("(0, 1000]") && m.contains("6433"), "{m}");
        }
        cfg.omega = 1e30;
        let m = cfg.validate().unwrap_err().to_string();
        assert!(m.starts_with("invalid parameter omega = 1e30: "), "{m}");
    }
}
