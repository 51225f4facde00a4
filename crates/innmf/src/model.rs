//! The iN-NMF model `m̂_i = Σ_k W_k(f_i)·H_k(t_i)`, its loss and gradient on a point set.
//!
//! [`Model`] holds two [`Factor`]s. [`Trainer`] binds a model to a [`TfPoints`]: it evaluates
//! `W` once per unique frequency and `H` once per unique time (DESIGN.md decision 3), then
//!
//! - on a full grid (and when every point is used) forms `V̂ = Wᵀ·H` with one matrix product and
//!   back-propagates with two more (`∂W = H·Gᵀ`, `∂H = W·G`);
//! - on a cloud (or a random subset of a grid) gathers `m̂_i = Σ_k W[k, fᵢ]·H[k, tᵢ]` per point
//!   and scatter-adds the gradients, in parallel over components.
//!
//! Both paths compute the same (weighted) mean β-divergence; a test checks they agree.

use crate::divergence::Divergence;
use crate::error::{Error, Num, Result};
use crate::fastmath::ln_pos;
use crate::field::kernels;
use crate::field::{
    Axis, AxisScale, Factor, FactorWorkspace, Mlp, MlpConfig, MlpInit, OutputMap, Table,
};
use crate::points::TfPoints;
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod dense;
mod gather;
mod loss;

use loss::{kl_dense_terms, kl_fast, kl_sum_terms, pointwise, pointwise_f32, LossCarry};

/// Implicit (networks) or explicit (table) factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FactorKind {
    /// Coordinate networks, evaluable at any coordinate.
    #[default]
    Implicit,
    /// One value per coordinate of the training points.
    Explicit,
}

crate::error::from_str_by_serde_name!(FactorKind, "factor kind", "implicit, explicit");

/// How to build a model for a point set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Rank K.
    pub rank: usize,
    /// Kind of W (frequency factor).
    pub w: FactorKind,
    /// Kind of H (time factor).
    pub h: FactorKind,
    /// Hidden width of the networks.
    pub width: usize,
    /// Number of sine layers.
    pub depth: usize,
    /// Fourier octaves J.
    pub n_features: usize,
    /// Sine scale ω.
    pub omega: f32,
    /// Weight initialization.
    pub init: MlpInit,
    /// Frequency domain; default `[0, max f]` (linear).
    pub freq_axis: Option<Axis>,
    /// Time domain; default `[min t, max t]`.
    pub time_axis: Option<Axis>,
    /// Scale of the default frequency axis.
    pub freq_scale: AxisScale,
    /// Match the model's scale to the data at initialization: the explicit H (else the explicit
    /// W, else the implicit H's output bias) is scaled so that the mean of `m̂` over the points
    /// equals the mean of `m`, as [`crate::separate`] starts its activations. Without it the
    /// paper's start (`softplus` outputs near 0.7 for W and H) overshoots a unit-norm recording's
    /// `|X|^0.5` by about three orders of magnitude, and the first tens of Rprop steps, whose
    /// step sizes grow ×1.2 each, spend themselves pulling every parameter down.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub match_scale: bool,
    /// Output map of the networks (softplus in the paper).
    #[serde(default, skip_serializing_if = "is_softplus")]
    pub output: OutputMap,
}

fn is_softplus(m: &OutputMap) -> bool {
    *m == OutputMap::Softplus
}

impl ModelSpec {
    /// The paper's architecture (width 64, 3 sine layers, 10 octaves) with both factors implicit.
    pub fn new(rank: usize) -> Self {
        ModelSpec {
            rank,
            w: FactorKind::Implicit,
            h: FactorKind::Implicit,
            width: 64,
            depth: 3,
            n_features: 10,
            omega: 1.0,
            init: MlpInit::Pytorch,
            freq_axis: None,
            time_axis: None,
            freq_scale: AxisScale::Linear,
            match_scale: false,
            output: OutputMap::Softplus,
        }
    }

    /// Builds the model for `points` with the given random generator.
    pub fn build(&self, points: &TfPoints, rng: &mut impl Rng) -> Result<Model> {
        if self.rank == 0 {
            return Err(Error::param("rank", 0, "at least 1 component"));
        }
        let (f_lo, f_hi) = points.freq_range();
        let freq_axis = match self.freq_axis {
            Some(a) => a,
            None => match self.freq_scale {
                AxisScale::Linear => Axis::linear(0.0f64.min(f_lo), f_hi.max(f_lo + 1.0))?,
                AxisScale::Log => {
                    let lo = points
                        .unique_freqs()
                        .iter()
                        .copied()
                        .find(|&f| f > 0.0)
                        .unwrap_or(1.0);
                    Axis::new(lo, f_hi.max(lo * 2.0), AxisScale::Log)?
                }
            },
        };
        self.check_sizes(points)?;
        let (t_lo, t_hi) = points.time_range();
        let time_axis = match self.time_axis {
            Some(a) => a,
            None => Axis::linear(t_lo, if t_hi > t_lo { t_hi } else { t_lo + 1.0 })?,
        };
        let mlp = |axis: Axis| MlpConfig {
            components: self.rank,
            width: self.width,
            depth: self.depth,
            n_features: self.n_features,
            omega: self.omega,
            init: self.init,
            axis,
            output: self.output,
        };
        let w = match self.w {
            FactorKind::Implicit => Factor::Implicit(Mlp::new(mlp(freq_axis), rng)?),
            FactorKind::Explicit => {
                Factor::Explicit(Table::new(self.rank, points.unique_freqs().to_vec(), rng)?)
            }
        };
        let h = match self.h {
            FactorKind::Implicit => Factor::Implicit(Mlp::new(mlp(time_axis), rng)?),
            FactorKind::Explicit => {
                Factor::Explicit(Table::new(self.rank, points.unique_times().to_vec(), rng)?)
            }
        };
        let mut model = Model::new(w, h)?;
        if self.match_scale {
            model.match_scale(points)?;
        }
        Ok(model)
    }
}

/// Most trainable parameters a model may have: 2^28 (1 GiB of f32).
pub const MAX_PARAMS: u128 = 1 << 28;
/// Most network activations one training step may hold: 2^31 f32 values (8 GiB).
pub const MAX_ACTIVATIONS: u128 = 1 << 31;
/// Most values one evaluation of a model ([`Model::check_grid`]) may produce: 2^27 (512 MiB of
/// f32) for W, H or the reconstruction.
pub const MAX_GRID_VALUES: u128 = 1 << 27;
/// How far outside its input domain an implicit factor is evaluated, in spans of the domain:
/// beyond, the f32 Fourier features have no precision left and the output is noise or NaN.
pub const MAX_EXTRAPOLATION: f64 = 1e4;

impl ModelSpec {
    /// Checks the sizes against [`crate::modelfile::MAX_RANK`], `MAX_WIDTH`, `MAX_DEPTH`,
    /// [`MAX_PARAMS`] and [`MAX_ACTIVATIONS`] for `points`, before anything is allocated.
    fn check_sizes(&self, points: &TfPoints) -> Result<()> {
        use crate::modelfile::{MAX_DEPTH, MAX_RANK, MAX_WIDTH};
        if self.rank > MAX_RANK {
            return Err(Error::param(
                "rank",
                self.rank,
                format!("at most {MAX_RANK} components"),
            ));
        }
        let implicit = self.w == FactorKind::Implicit || self.h == FactorKind::Implicit;
        if implicit {
            if self.width == 0 || self.width > MAX_WIDTH {
                return Err(Error::param(
                    "width",
                    self.width,
                    format!("a hidden width from 1 to {MAX_WIDTH}"),
                ));
            }
            if self.depth > MAX_DEPTH {
                return Err(Error::param(
                    "depth",
                    self.depth,
                    format!("at most {MAX_DEPTH} sine layers"),
                ));
            }
            if self.n_features > 30 {
                return Err(Error::param(
                    "features",
                    self.n_features,
                    "at most 30 Fourier feature octaves (2^30 exceeds f32 precision)",
                ));
            }
        }
        let (k, w, d) = (self.rank as u128, self.width as u128, self.depth as u128);
        let net = 2 * self.n_features as u128 * w + w + d * (w * w + w) + w + 1;
        let per = |kind: FactorKind, n: usize| match kind {
            FactorKind::Implicit => net,
            FactorKind::Explicit => n as u128,
        };
        let (nf, nt) = (points.unique_freqs().len(), points.unique_times().len());
        let params = k * (per(self.w, nf) + per(self.h, nt));
        if params > MAX_PARAMS {
            return Err(Error::param(
                "rank",
                self.rank,
                format!(
                    "a model of at most {MAX_PARAMS} parameters: rank {k} with width {w} and \
                     depth {d} on {nf} frequencies × {nt} times has {params}"
                ),
            ));
        }
        let coords = |kind: FactorKind, n: usize| match kind {
            FactorKind::Implicit => n as u128,
            FactorKind::Explicit => 0,
        };
        let acts = (coords(self.w, nf) + coords(self.h, nt)) * k * w * (d + 2);
        if acts > MAX_ACTIVATIONS {
            return Err(Error::param(
                "rank",
                self.rank,
                format!(
                    "at most {MAX_ACTIVATIONS} network activations per step: rank {k} with width \
                     {w} and depth {d} at {nf} frequencies and {nt} times needs {acts}"
                ),
            ));
        }
        Ok(())
    }
}

/// Checks that a [`Trainer`] of `model` on `n` points at `nf` frequencies and `nt` times fits in
/// memory ([`crate::budget`]). Its peak, in bytes: 56 a point (the point set's t, f, m, and 32
/// for f32 targets, estimates or gradients, weights, a dense grid's prediction and the fit's
/// subset index), 24 a factor value (`K·(nf + nt)`: values, transposes, gradients in f32), for
/// an implicit factor 8 an activation (`K·width·(depth + 2)` a coordinate: values and
/// gradients), and 16 a parameter (gradient and optimizer state).
fn check_training_memory(model: &Model, n: usize, nf: usize, nt: usize) -> Result<()> {
    let k = model.rank() as u128;
    let acts = |f: &Factor, coords: usize| match f {
        Factor::Implicit(m) => {
            let c = &m.config;
            k * c.width as u128 * (c.depth as u128 + 2) * coords as u128
        }
        Factor::Explicit(_) => 0,
    };
    let params = (model.w.params().len() + model.h.params().len()) as u128;
    let bytes = 56 * n as u128
        + 24 * k * (nf + nt) as u128
        + 8 * (acts(&model.w, nf) + acts(&model.h, nt))
        + 16 * params;
    crate::budget::check(
        "points",
        format!("{n} points"),
        || format!("training a rank-{k} model on {n} points ({nf} frequencies × {nt} times)"),
        bytes,
        "use fewer points (a larger hop, fewer bins, a shorter signal), a lower rank or a \
         smaller network",
    )
}

/// An iN-NMF model: a frequency factor W and a time factor H of equal rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// W_k(f).
    pub w: Factor,
    /// H_k(t).
    pub h: Factor,
}

impl Model {
    /// Pairs two factors; their ranks must agree.
    pub fn new(w: Factor, h: Factor) -> Result<Self> {
        if w.components() != h.components() {
            return Err(Error::Shape(format!(
                "W has {} components, H has {}",
                w.components(),
                h.components()
            )));
        }
        Ok(Model { w, h })
    }

    /// Rank K.
    pub fn rank(&self) -> usize {
        self.w.components()
    }

    /// Checks an evaluation on `freqs` (Hz) × `times` (s) before it is computed: at most
    /// [`MAX_GRID_VALUES`] values for W, H and the reconstruction, finite coordinates, and for
    /// implicit factors coordinates within [`MAX_EXTRAPOLATION`] spans of the input domain.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `freqs` or `times` and the offending value.
    pub fn check_grid(&self, freqs: &[f64], times: &[f64]) -> Result<()> {
        let (k, nf, nt) = (
            self.rank() as u128,
            freqs.len() as u128,
            times.len() as u128,
        );
        for (what, n, values) in [
            ("freqs", nf, k * nf),
            ("times", nt, k * nt),
            ("freqs", nf, nf * nt),
        ] {
            if values > MAX_GRID_VALUES {
                return Err(Error::param(
                    what,
                    format!("{n} coordinates"),
                    format!(
                        "at most {MAX_GRID_VALUES} values per array ({k} components, {nf} \
                         frequencies × {nt} times asked for {values})"
                    ),
                ));
            }
        }
        // peak ([`crate::budget`]): W, H and the reconstruction in f32 and in the f64 copies the
        // front ends write or return (12 bytes a value), and an implicit factor's activations
        // (`K·width·(depth + 2)` f32 a coordinate)
        let acts = |f: &Factor, n: u128| match f {
            Factor::Implicit(m) => k * m.config.width as u128 * (m.config.depth as u128 + 2) * n,
            Factor::Explicit(_) => 0,
        };
        crate::budget::check(
            "times",
            format!("{nt} coordinates"),
            || format!("a rank-{k} model on {nf} frequencies × {nt} times"),
            12 * (k * nf + k * nt + nf * nt) + 4 * (acts(&self.w, nf) + acts(&self.h, nt)),
            "ask for fewer frequencies or times",
        )?;
        fn coords(what: &'static str, unit: &str, f: &Factor, xs: &[f64]) -> Result<()> {
            for &x in xs {
                if !x.is_finite() {
                    return Err(Error::param(what, x, "finite coordinates"));
                }
                if let Factor::Implicit(m) = f {
                    let a = &m.config.axis;
                    if a.map(x).abs() > MAX_EXTRAPOLATION {
                        let shown = if x.abs() >= 1e9 {
                            format!("{x:e}")
                        } else {
                            x.to_string()
                        };
                        return Err(Error::param(
                            what,
                            shown,
                            format!(
                                "coordinates within {MAX_EXTRAPOLATION} spans of the model's \
                                 domain [{}, {}] {unit} (beyond, the network's features have no \
                                 precision left)",
                                a.lo, a.hi
                            ),
                        ));
                    }
                }
            }
            Ok(())
        }
        coords("freqs", "Hz", &self.w, freqs)?;
        coords("times", "s", &self.h, times)
    }

    /// W at frequencies (Hz): `[K, F]`.
    pub fn sample_w(&self, freqs: &[f64]) -> Vec<f32> {
        self.w.evaluate(freqs)
    }

    /// H at times (s): `[K, T]`.
    pub fn sample_h(&self, times: &[f64]) -> Vec<f32> {
        self.h.evaluate(times)
    }

    /// The reconstruction `V̂ = Wᵀ·H` on the grid `freqs × times`, `[F, T]` row-major.
    pub fn reconstruct_grid(&self, freqs: &[f64], times: &[f64]) -> Vec<f32> {
        let (w, h) = (self.sample_w(freqs), self.sample_h(times));
        let mut v = vec![0.0f32; freqs.len() * times.len()];
        crate::linalg::gemm(
            &mut v,
            &w,
            &h,
            freqs.len(),
            self.rank(),
            times.len(),
            true,
            false,
            false,
        );
        v
    }

    /// The estimate `m̂_i` at every point.
    pub fn predict(&self, points: &TfPoints) -> Vec<f64> {
        let (w, h) = (
            self.sample_w(points.unique_freqs()),
            self.sample_h(points.unique_times()),
        );
        let (nf, nt, k) = (
            points.unique_freqs().len(),
            points.unique_times().len(),
            self.rank(),
        );
        (0..points.len())
            .into_par_iter()
            .map(|i| {
                let (fi, ti) = points.cell_of(i);
                (0..k)
                    .map(|c| w[c * nf + fi] as f64 * h[c * nt + ti] as f64)
                    .sum()
            })
            .collect()
    }

    /// Mean divergence between the points' magnitudes and the model.
    pub fn loss(&self, points: &TfPoints, div: &Divergence) -> f64 {
        div.mean(points.m(), &self.predict(points))
    }

    /// Scales the model so that the mean of `m̂` over `points` equals the mean of `m`: an
    /// explicit H (else an explicit W) is multiplied by the ratio; with both factors implicit,
    /// one shift of every H output bias is found by bisection (softplus is not homogeneous).
    ///
    /// # Errors
    /// Points whose magnitudes are all zero, or a model whose estimate is zero everywhere.
    pub fn match_scale(&mut self, points: &TfPoints) -> Result<()> {
        let target = points.m().iter().sum::<f64>() / points.len() as f64;
        let mean = |m: &Model| m.predict(points).iter().sum::<f64>() / points.len() as f64;
        let current = mean(self);
        if !(target > 0.0 && current > 0.0 && target.is_finite() && current.is_finite()) {
            return Err(Error::param(
                "scale matching",
                format!(
                    "mean magnitude {}, mean model {}",
                    Num(target),
                    Num(current)
                ),
                "positive, finite means",
            ));
        }
        let r = target / current;
        let scale_table = |t: &mut Table| {
            for p in t.params.iter_mut() {
                let v = crate::fastmath::softplus(*p) as f64 * r;
                *p = crate::fastmath::softplus_inv(v.max(1e-30)) as f32;
            }
        };
        if let Factor::Explicit(t) = &mut self.h {
            scale_table(t);
        } else if let Factor::Explicit(t) = &mut self.w {
            scale_table(t);
        } else if let Factor::Implicit(base) = self.h.clone() {
            let shifted = |d: f32| {
                let mut m = base.clone();
                m.shift_output_bias(d);
                Factor::Implicit(m)
            };
            let (mut lo, mut hi) = (-60.0f32, 60.0f32);
            for _ in 0..40 {
                let mid = 0.5 * (lo + hi);
                self.h = shifted(mid);
                if mean(self) > target {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            self.h = shifted(0.5 * (lo + hi));
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        self.w.params().len() + self.h.params().len()
    }
}

/// How an implicit factor is evaluated at the distinct coordinates of a point set.
///
/// [`Sampling::Auto`] evaluates a network on a uniform grid and interpolates
/// ([`crate::field::resample`]) when the grid has at most half as many points as there are
/// distinct coordinates (constant-Q, NSGT and wavelet frame times, sinusoidal peak frequencies):
///
/// - grid step: [`GRID_SAMPLES_PER_PERIOD`] samples per period of the highest Fourier feature
///   (`2^{2−J}` in the network's input), so the grid has `GRID_SAMPLES_PER_PERIOD·2^{J−2}` points
///   per unit of input whatever the data; [`GRID_ORDER`]-point Lagrange interpolation;
/// - checked: at the first training step and every [`GRID_CHECK_EVERY`] steps the network is also
///   evaluated exactly at every distinct coordinate; when the largest interpolation error exceeds
///   [`GRID_TOLERANCE`] of the component's largest value, the step is halved (down to the point
///   where the grid would no longer save half the work, then the factor is evaluated exactly);
/// - losses without gradients (the fit's final loss) are always computed exactly.
///
/// Explicit factors and networks whose grid would not save half the evaluations are evaluated
/// exactly. [`Sampling::Exact`] (the default) never uses a grid.
///
/// `Auto` is opt-in for now: on 2 s of speech as a wavelet transform (32,000 distinct times) it
/// ran 2.3× faster per step with the same final exact loss, but the trained time network measured
/// afterwards was further from its interpolant (4e-2 of a component's maximum) than the checks
/// during training had allowed; until that is understood the exact path stays the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// A grid where it saves at least half the network evaluations, with its error checked.
    Auto,
    /// Every distinct coordinate, always.
    #[default]
    Exact,
}

impl Sampling {
    /// True for [`Sampling::Exact`] (the default).
    pub fn is_exact(&self) -> bool {
        *self == Sampling::Exact
    }
}

/// Grid samples per period of a network's highest Fourier feature ([`Sampling::Auto`]).
pub const GRID_SAMPLES_PER_PERIOD: f64 = 16.0;
/// Points of the Lagrange interpolation ([`Sampling::Auto`]).
pub const GRID_ORDER: usize = 8;
/// Largest accepted interpolation error, relative to each component's largest value.
pub const GRID_TOLERANCE: f64 = 1e-4;
/// Training steps between two checks of the interpolation error.
pub const GRID_CHECK_EVERY: usize = 50;

/// Grid points and grid step (in network input units) of a factor evaluated on a grid.
pub type GridInfo = (usize, f64);

/// A network evaluated on a grid and interpolated.
struct GridEval {
    resampler: crate::field::resample::Resampler,
    /// The distinct coordinates mapped to the network's input (the interpolation targets).
    targets: Vec<f64>,
    values: Vec<f32>,
    dvalues: Vec<f32>,
    steps: usize,
}

/// One factor bound to the distinct coordinates of a point set.
struct FactorEval {
    ws: FactorWorkspace,
    grid: Option<GridEval>,
    level: crate::simd::Level,
}

impl FactorEval {
    fn new(factor: &Factor, coords: &[f64], sampling: Sampling) -> Result<Self> {
        if let (Sampling::Auto, Factor::Implicit(mlp)) = (sampling, factor) {
            let targets = mlp.config.axis.map_all(coords);
            let step = (2.0f64).powi(2 - mlp.config.n_features as i32) / GRID_SAMPLES_PER_PERIOD;
            if let Some(g) = Self::grid_eval(mlp, targets, step)? {
                let ws = FactorWorkspace::Implicit(crate::field::MlpWorkspace::from_inputs(
                    mlp,
                    g.resampler.grid(),
                ));
                return Ok(FactorEval {
                    ws,
                    grid: Some(g),
                    level: crate::simd::level(),
                });
            }
        }
        Ok(FactorEval {
            ws: factor.workspace(coords)?,
            grid: None,
            level: crate::simd::level(),
        })
    }

    fn set_level(&mut self, level: crate::simd::Level) {
        self.level = level;
        self.ws.set_level(level);
    }

    /// A grid of step `step` over `targets`, or None when it would not halve the evaluations.
    fn grid_eval(mlp: &Mlp, targets: Vec<f64>, step: f64) -> Result<Option<GridEval>> {
        let span = targets[targets.len() - 1] - targets[0];
        let n_grid = (span / step).ceil() + (GRID_ORDER + 1) as f64;
        if !(n_grid.is_finite() && 2.0 * n_grid <= targets.len() as f64) {
            return Ok(None);
        }
        let resampler = crate::field::resample::Resampler::new(&targets, step, GRID_ORDER)?;
        let len = mlp.config.components * resampler.grid().len();
        Ok(Some(GridEval {
            resampler,
            targets,
            values: vec![0.0; len],
            dvalues: vec![0.0; len],
            steps: 0,
        }))
    }

    /// Values `[K, N]` at the distinct coordinates into `out`; `training` marks a step that will
    /// be differentiated (the grid is used and, every so often, checked), otherwise the values
    /// are exact.
    fn forward(&mut self, factor: &Factor, coords: &[f64], out: &mut [f32], training: bool) {
        let (Some(g), Factor::Implicit(mlp)) = (self.grid.as_mut(), factor) else {
            self.ws.forward(factor, out);
            return;
        };
        if !training {
            out.copy_from_slice(&mlp.evaluate(coords));
            return;
        }
        self.ws.forward(factor, &mut g.values);
        if g.steps % GRID_CHECK_EVERY == 0 {
            let exact = mlp.evaluate(coords);
            loop {
                let g = self.grid.as_mut().expect("grid");
                if g.resampler.max_error(&g.values, &exact) <= GRID_TOLERANCE {
                    break;
                }
                // refine: half the step, or exact evaluation when that no longer saves half
                let targets = std::mem::take(&mut g.targets);
                let step = g.resampler.step() / 2.0;
                let steps = g.steps;
                match Self::grid_eval(mlp, targets, step).ok().flatten() {
                    Some(mut ng) => {
                        ng.steps = steps;
                        self.ws = FactorWorkspace::Implicit(
                            crate::field::MlpWorkspace::from_inputs(mlp, ng.resampler.grid()),
                        );
                        self.ws.set_level(self.level);
                        self.ws.forward(factor, &mut ng.values);
                        self.grid = Some(ng);
                    }
                    None => {
                        self.grid = None;
                        self.ws =
                            FactorWorkspace::Implicit(crate::field::MlpWorkspace::new(mlp, coords));
                        self.ws.forward(factor, out);
                        return;
                    }
                }
            }
        }
        let g = self.grid.as_mut().expect("grid");
        g.steps += 1;
        g.resampler.forward(&g.values, out);
    }

    fn backward(&mut self, factor: &Factor, dvalues: &[f32], grad: &mut [f32]) {
        match self.grid.as_mut() {
            Some(g) => {
                g.resampler.backward(dvalues, &mut g.dvalues);
                self.ws.backward(factor, &g.dvalues, grad);
            }
            None => self.ws.backward(factor, dvalues, grad),
        }
    }

    /// Grid points and step (in network input units) when a grid is in use.
    fn grid_info(&self) -> Option<GridInfo> {
        self.grid
            .as_ref()
            .map(|g| (g.resampler.grid().len(), g.resampler.step()))
    }
}

struct DenseBuffers {
    /// Σ x·ln(x+ε) − x over the grid (KL only): the loss terms that do not depend on the model.
    kl_const: f64,
    /// Targets in cell order, rounded to f32 as the engine sees them (half the memory traffic of
    /// the f64 magnitudes on every step; the same bits, since both KL paths round them to f32).
    target: Vec<f32>,
    weight: Option<Vec<f32>>,
    /// V̂ in cell order, overwritten by ∂loss/∂V̂ when gradients are asked for.
    vhat: Vec<f32>,
    wt: Vec<f32>,
}

/// Per-point scratch of the gather path, sized on first use.
#[derive(Default)]
struct GatherBuffers {
    /// Estimates, then gradients.
    g: Vec<f32>,
    /// Targets.
    x: Vec<f32>,
}

/// Binds a model to a point set: all buffers for repeated loss-and-gradient evaluations.
pub struct Trainer<'p> {
    points: &'p TfPoints,
    div: Divergence,
    k: usize,
    nf: usize,
    nt: usize,
    w_eval: FactorEval,
    h_eval: FactorEval,
    wv: Vec<f32>,
    hv: Vec<f32>,
    wt: Vec<f32>,
    ht: Vec<f32>,
    dwv: Vec<f32>,
    dhv: Vec<f32>,
    weight: Option<Vec<f32>>,
    gather: GatherBuffers,
    dense: Option<DenseBuffers>,
    /// ∂loss/∂(W parameters) after [`Trainer::loss_and_grad`].
    pub grad_w: Vec<f32>,
    /// ∂loss/∂(H parameters) after [`Trainer::loss_and_grad`].
    pub grad_h: Vec<f32>,
    w_frozen_values: bool,
    level: crate::simd::Level,
    /// Whether a full-grid step may take the row-block pass (tests compare it with the other).
    rows_pass: bool,
}

impl<'p> Trainer<'p> {
    /// Buffers for `model` on `points` with loss `div` and optional per-point weights (≥ 0);
    /// networks are evaluated exactly ([`Sampling::Exact`]).
    pub fn new(
        model: &Model,
        points: &'p TfPoints,
        div: Divergence,
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        Self::with_sampling(model, points, div, weights, Sampling::Exact)
    }

    /// [`Trainer::new`] with a choice of [`Sampling`].
    pub fn with_sampling(
        model: &Model,
        points: &'p TfPoints,
        div: Divergence,
        weights: Option<&[f64]>,
        sampling: Sampling,
    ) -> Result<Self> {
        let k = model.rank();
        let (nf, nt) = (points.unique_freqs().len(), points.unique_times().len());
        check_training_memory(model, points.len(), nf, nt)?;
        let weight = match weights {
            None => None,
            Some(w) => {
                if w.len() != points.len() {
                    return Err(Error::LengthMismatch {
                        what: "weights vs points".into(),
                        expected: points.len(),
                        got: w.len(),
                    });
                }
                // held in f32 below: a larger weight is infinite there, the loss NaN
                let max = f64::from(f32::MAX);
                if let Some(i) = w
                    .iter()
                    .position(|v| !(v.is_finite() && (0.0..=max).contains(v)))
                {
                    return Err(Error::param(
                        "weight",
                        w[i],
                        "finite, >= 0 and at most 3.4e38 (weights are held in f32)",
                    ));
                }
                if w.iter().sum::<f64>() <= 0.0 {
                    return Err(Error::param("weights", "all zero", "a positive total"));
                }
                Some(w.iter().map(|&v| v as f32).collect::<Vec<f32>>())
            }
        };
        let eps32 = div.eps as f32;
        let dense = if points.is_row_major_grid() || points.grid().is_some() {
            let m = points.m();
            let target: Vec<f32> = if points.is_row_major_grid() {
                m.iter().map(|&v| v as f32).collect()
            } else {
                let g = points.grid().expect("grid");
                g.cell_to_point
                    .iter()
                    .map(|&p| m[p as usize] as f32)
                    .collect()
            };
            let dense_weight = weight.as_ref().map(|w| {
                if points.is_row_major_grid() {
                    w.clone()
                } else {
                    let g = points.grid().expect("grid");
                    g.cell_to_point.iter().map(|&p| w[p as usize]).collect()
                }
            });
            Some(DenseBuffers {
                kl_const: points
                    .m()
                    .iter()
                    .map(|&x| {
                        let x = x as f32;
                        x as f64 * (ln_pos(x + eps32) as f64) - x as f64
                    })
                    .sum(),
                target,
                weight: dense_weight,
                vhat: vec![0.0; nf * nt],
                wt: vec![0.0; nf * k],
            })
        } else {
            None
        };
        Ok(Trainer {
            points,
            div,
            k,
            nf,
            nt,
            w_eval: FactorEval::new(&model.w, points.unique_freqs(), sampling)?,
            h_eval: FactorEval::new(&model.h, points.unique_times(), sampling)?,
            wv: vec![0.0; k * nf],
            hv: vec![0.0; k * nt],
            wt: vec![0.0; k * nf],
            ht: vec![0.0; k * nt],
            dwv: vec![0.0; k * nf],
            dhv: vec![0.0; k * nt],
            weight,
            gather: GatherBuffers::default(),
            dense,
            grad_w: vec![0.0; model.w.params().len()],
            grad_h: vec![0.0; model.h.params().len()],
            w_frozen_values: false,
            level: crate::simd::level(),
            rows_pass: true,
        })
    }

    /// Runs every kernel of this trainer at `level` (clamped to what the CPU supports). All
    /// levels give the same bits; this exists to test that.
    pub fn set_level(&mut self, level: crate::simd::Level) {
        self.level = crate::simd::clamp(level);
        self.w_eval.set_level(self.level);
        self.h_eval.set_level(self.level);
    }

    /// Evaluates W once and keeps its values for every later call (W is not being trained).
    pub fn freeze_w(&mut self, model: &Model) {
        self.w_eval
            .forward(&model.w, self.points.unique_freqs(), &mut self.wv, false);
        self.w_frozen_values = true;
    }

    /// For W and H: the number of grid points and the grid step (in network input units) when
    /// the factor is evaluated on a grid ([`Sampling::Auto`]), None when exactly.
    pub fn grids(&self) -> (Option<GridInfo>, Option<GridInfo>) {
        (self.w_eval.grid_info(), self.h_eval.grid_info())
    }

    /// Loss on the selected points (all when `subset` is `None`) and, when `grads` is set, the
    /// gradients in [`grad_w`](Self::grad_w) (unless W is frozen) and [`grad_h`](Self::grad_h).
    /// `subset` holds point indices, in any order (a repeated index counts once per
    /// occurrence), at most as many as there are points. Without `grads` the networks are
    /// evaluated exactly (see [`Sampling`]).
    ///
    /// # Panics
    ///
    /// If `subset` has more entries than there are points, or an index is out of range.
    #[track_caller]
    pub fn loss_and_grad(&mut self, model: &Model, subset: Option<&[u32]>, grads: bool) -> f64 {
        if let Some(s) = subset {
            assert!(
                s.len() <= self.points.len(),
                "subset of {} indices for {} points: at most one entry per point",
                s.len(),
                self.points.len()
            );
        }
        if grads && subset.is_none() && self.rows_pass_applies(model) {
            self.h_eval
                .forward(&model.h, self.points.unique_times(), &mut self.hv, true);
            let loss = self.dense_rows_pass(model);
            self.h_eval.backward(&model.h, &self.dhv, &mut self.grad_h);
            return loss;
        }
        if !self.w_frozen_values {
            self.w_eval
                .forward(&model.w, self.points.unique_freqs(), &mut self.wv, grads);
        }
        self.h_eval
            .forward(&model.h, self.points.unique_times(), &mut self.hv, grads);
        let loss = match (&self.dense, subset) {
            (Some(_), None) => self.dense_pass(grads),
            _ => self.gather_pass(subset, grads),
        };
        if grads {
            if !self.w_frozen_values {
                self.w_eval.backward(&model.w, &self.dwv, &mut self.grad_w);
            }
            self.h_eval.backward(&model.h, &self.dhv, &mut self.grad_h);
        }
        loss
    }

    /// The values of W at the unique frequencies after the last call, `[K, F]`.
    pub fn w_values(&self) -> &[f32] {
        &self.wv
    }

    /// The values of H at the unique times after the last call, `[K, T]`.
    pub fn h_values(&self) -> &[f32] {
        &self.hv
    }
}
