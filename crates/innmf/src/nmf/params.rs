//! Validated hyper-parameters of multiplicative-update NMF.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How `W` and `H` are initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// scikit-learn's `'random'`: every entry `sqrt(mean(X)/K)·|N(0,1)|`.
    Random,
    /// The paper's baseline (`nmf_models.py`): every entry `10 + N(0,1)`, clipped to ≥ 1e-6.
    Paper,
    /// Boutsidis & Gallopoulos' non-negative double SVD (zeros kept: sparse start).
    Nndsvd,
    /// NNDSVD with its zeros replaced by `mean(X)` (scikit-learn's default for `K ≤ min(F, T)`).
    Nndsvda,
    /// NNDSVD with its zeros replaced by `|mean(X)·N(0,1)/100|`.
    Nndsvdar,
    /// Caller-given `W` and `H` ([`NmfParams::fit_from`]).
    Custom,
}

impl Init {
    /// Parses `random`, `paper`, `nndsvd`, `nndsvda`, `nndsvdar`, `custom`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "random" => Init::Random,
            "paper" => Init::Paper,
            "nndsvd" => Init::Nndsvd,
            "nndsvda" => Init::Nndsvda,
            "nndsvdar" => Init::Nndsvdar,
            "custom" => Init::Custom,
            _ => {
                return Err(Error::param(
                    "init",
                    s,
                    "one of random, paper, nndsvd, nndsvda, nndsvdar, custom",
                ))
            }
        })
    }

    /// The name [`Init::parse`] accepts.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Random => "random",
            Init::Paper => "paper",
            Init::Nndsvd => "nndsvd",
            Init::Nndsvda => "nndsvda",
            Init::Nndsvdar => "nndsvdar",
            Init::Custom => "custom",
        }
    }

    /// Whether this initialisation needs an SVD of the data (and so `K ≤ min(F, T)`).
    pub fn needs_svd(&self) -> bool {
        matches!(self, Init::Nndsvd | Init::Nndsvda | Init::Nndsvdar)
    }
}

/// Which factor each iteration updates first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    /// `W` then `H` with the new `W` (scikit-learn).
    #[default]
    WThenH,
    /// `H` then `W` with the new `H` (the paper's `nmf_models.py`).
    HThenW,
}

/// Which implementation of the multiplicative updates a fit runs on. Both compute the same
/// updates; they differ only in the order of the f32 sums (results agree to f32 rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NmfEngine {
    /// The fastest engine that applies: the fused KL engine for β = 1 in f32 (`W·H` never
    /// formed, panels of 16 columns), the general engine otherwise.
    #[default]
    Auto,
    /// Always the general engine (`W·H` formed by blocks of rows): the reference the fused
    /// engine is tested against.
    Reference,
}

/// The arithmetic a multiplicative-update fit of f64 data runs in ([`NmfParams::fit_as`],
/// [`fit_h_as`](NmfParams::fit_h_as), [`fit_partial_as`](NmfParams::fit_partial_as)): `F64`
/// iterates on the data as given; `F32` rounds data and start to f32, iterates there (for
/// β = 1 on the fused KL engine, 2–4× faster) and widens the factors back. The two agree to f32
/// rounding (per entry within about 1e-4 after thousands of iterations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision.
    F32,
    /// Double precision (the reference, and the default).
    #[default]
    F64,
}

crate::error::from_str_by_serde_name!(Precision, "precision", "f32, f64");

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

impl Precision {
    /// True for [`Precision::F64`] (for `skip_serializing_if`).
    pub fn is_f64(&self) -> bool {
        *self == Precision::F64
    }
}

/// The largest regularisation strength `alpha_w`/`alpha_h` accepted: the penalty enters the
/// multiplicative updates' f32 sums (largest 3.4e38) scaled by the data's size, and 1e38 already
/// overflowed them (the loss was NaN at the first check). Far beyond the useful range either way:
/// 1e30 drives every regularised factor to 0.
pub const MAX_ALPHA: f64 = 1e30;

/// Hyper-parameters of multiplicative-update NMF `X ≈ W·H` (`X`: F×T, `W`: F×K, `H`: K×T).
///
/// ```
/// use innmf::nmf::{Init, NmfParams};
/// let x: Vec<f64> = (0..12).map(|i| 1.0 + (i % 5) as f64).collect();
/// let (w, h, report) = NmfParams::new(2).beta(1.0).init(Init::Nndsvda).max_iter(200).seed(0)
///     .fit(&x, 3, 4).unwrap();
/// assert_eq!((w.len(), h.len()), (6, 8));
/// assert!(report.final_loss.is_finite());
/// ```
///
/// Regularisation follows scikit-learn ≥ 1.2: the penalty added to the β-divergence is
///
/// ```text
/// T·α_W·ρ·‖W‖₁ + ½·T·α_W·(1−ρ)·‖W‖²_F + F·α_H·ρ·‖H‖₁ + ½·F·α_H·(1−ρ)·‖H‖²_F
/// ```
///
/// with ρ = `l1_ratio` (scikit-learn's `n_features` is our T, its `n_samples` our F).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NmfParams {
    /// K, the number of components (≥ 1).
    pub rank: usize,
    /// β of the β-divergence: 2 Euclidean, 1 Kullback–Leibler, 0 Itakura–Saito, any finite value.
    pub beta: f64,
    /// Initialisation.
    pub init: Init,
    /// Largest number of iterations (one iteration updates both free factors).
    pub max_iter: usize,
    /// Relative-decrease tolerance: stop when `(e_prev − e)/e_0 < tol` at a check (0: never).
    pub tol: f64,
    /// Iterations between loss checks (scikit-learn: 10).
    pub check_every: usize,
    /// Seed of every random choice (ChaCha8).
    pub seed: u64,
    /// Regularisation strength on `W`.
    pub alpha_w: f64,
    /// Regularisation strength on `H`; `None` means "same as `alpha_w`".
    pub alpha_h: Option<f64>,
    /// Share of L1 in the penalty, in [0, 1].
    pub l1_ratio: f64,
    /// Update order within one iteration.
    pub order: UpdateOrder,
    /// ε of the [`crate::Divergence`] used for the reported losses.
    pub loss_eps: f64,
    /// Which implementation runs the updates (default [`NmfEngine::Auto`]).
    #[serde(default)]
    pub engine: NmfEngine,
}

impl NmfParams {
    /// Defaults: KL, NNDSVDa, 200 iterations, tol 1e-4, seed 0, no regularisation.
    pub fn new(rank: usize) -> Self {
        NmfParams {
            rank,
            beta: 1.0,
            init: Init::Nndsvda,
            max_iter: 200,
            tol: 1e-4,
            check_every: 10,
            seed: 0,
            alpha_w: 0.0,
            alpha_h: None,
            l1_ratio: 0.0,
            order: UpdateOrder::WThenH,
            loss_eps: 1e-8,
            engine: NmfEngine::Auto,
        }
    }

    /// Sets β.
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }
    /// Sets the initialisation.
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }
    /// Sets the iteration limit.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Sets the relative-decrease tolerance (0 disables early stopping).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Sets the iterations between loss checks.
    pub fn check_every(mut self, n: usize) -> Self {
        self.check_every = n;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets α_W (and α_H, unless set separately).
    pub fn alpha_w(mut self, a: f64) -> Self {
        self.alpha_w = a;
        self
    }
    /// Sets α_H.
    pub fn alpha_h(mut self, a: f64) -> Self {
        self.alpha_h = Some(a);
        self
    }
    /// Sets the L1 share of the penalty.
    pub fn l1_ratio(mut self, r: f64) -> Self {
        self.l1_ratio = r;
        self
    }
    /// Sets the update order.
    pub fn order(mut self, order: UpdateOrder) -> Self {
        self.order = order;
        self
    }
    /// Sets the ε of the reported divergence.
    pub fn loss_eps(mut self, eps: f64) -> Self {
        self.loss_eps = eps;
        self
    }
    /// Sets the engine ([`NmfEngine::Reference`] forces the general one).
    pub fn engine(mut self, engine: NmfEngine) -> Self {
        self.engine = engine;
        self
    }

    /// Checks every hyper-parameter ([`MAX_ALPHA`], β through
    /// [`crate::divergence::check_beta`]); the fitting functions call this first.
    pub fn check(&self) -> Result<()> {
        if self.rank == 0 {
            return Err(Error::param("rank", self.rank, "an integer >= 1"));
        }
        crate::divergence::check_beta(self.beta)?;
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::param("tol", self.tol, "a finite value >= 0"));
        }
        // with tol = 0 every iteration runs: more than a fit's steps is a typo, not a plan
        crate::fit::check_iterations("max_iter", self.max_iter, "iterations")?;
        if self.check_every == 0 {
            return Err(Error::param("check_every", 0, "an integer >= 1"));
        }
        for (name, a) in [("alpha_w", Some(self.alpha_w)), ("alpha_h", self.alpha_h)] {
            match a {
                Some(a) if !(a.is_finite() && (0.0..=MAX_ALPHA).contains(&a)) => {
                    return Err(Error::param(
                        name,
                        a,
                        "a regularisation strength in [0, 1e30]: the penalty is added to the \
                         updates' f32 sums, which a larger one overflows (the loss was NaN)",
                    ));
                }
                _ => {}
            }
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(Error::param("l1_ratio", self.l1_ratio, "a value in [0, 1]"));
        }
        if !(self.loss_eps.is_finite() && self.loss_eps > 0.0) {
            return Err(Error::param(
                "loss_eps",
                self.loss_eps,
                "a finite value > 0",
            ));
        }
        Ok(())
    }

    /// The MM exponent γ(β) of Févotte & Idier (2011): `1/(2−β)` for β < 1, 1 for
    /// 1 ≤ β ≤ 2, `1/(β−1)` for β > 2. It makes every update decrease the β-divergence.
    pub fn gamma(&self) -> f64 {
        gamma(self.beta)
    }

    /// The scaled penalties `(l1_W, l1_H, l2_W, l2_H)` for an F×T matrix (scikit-learn's
    /// `_compute_regularization`).
    pub fn regularization(&self, f: usize, t: usize) -> (f64, f64, f64, f64) {
        let aw = self.alpha_w;
        let ah = self.alpha_h.unwrap_or(aw);
        let (nf, ns) = (t as f64, f as f64);
        (
            nf * aw * self.l1_ratio,
            ns * ah * self.l1_ratio,
            nf * aw * (1.0 - self.l1_ratio),
            ns * ah * (1.0 - self.l1_ratio),
        )
    }
}

/// γ(β), see [`NmfParams::gamma`].
pub fn gamma(beta: f64) -> f64 {
    if beta < 1.0 {
        1.0 / (2.0 - beta)
    } else if beta > 2.0 {
        1.0 / (beta - 1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regularisation_is_bounded() {
        assert!(NmfParams::new(2).alpha_w(MAX_ALPHA).check().is_ok());
        // 1e300 (and 1e38) gave "training diverged at step 10: loss = NaN" (exit 1)
        let m = NmfParams::new(2).alpha_w(1e300).check().unwrap_err();
        assert!(
            m.to_string()
                .starts_with("invalid parameter alpha_w = 1e300: "),
            "{m}"
        );
        let m = NmfParams::new(2).alpha_h(1e38).check().unwrap_err();
        assert!(
            m.to_string()
                .contains("alpha_h = 1e38: expected a regularisation"),
            "{m}"
        );
        assert!(NmfParams::new(2).alpha_h(-1.0).check().is_err());
    }

    #[test]
    fn gamma_matches_fevotte_idier() {
        assert_eq!(gamma(0.0), 0.5);
        assert!((gamma(0.5) - 1.0 / 1.5).abs() < 1e-15);
        assert_eq!(gamma(1.0), 1.0);
        assert_eq!(gamma(1.5), 1.0);
        assert_eq!(gamma(2.0), 1.0);
        assert_eq!(gamma(3.0), 0.5);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(NmfParams::new(0).check().is_err());
        assert!(NmfParams::new(2).beta(f64::NAN).check().is_err());
        assert!(NmfParams::new(2).tol(-1.0).check().is_err());
        assert!(NmfParams::new(2).alpha_w(-1.0).check().is_err());
        assert!(NmfParams::new(2).alpha_h(f64::INFINITY).check().is_err());
        assert!(NmfParams::new(2).l1_ratio(1.5).check().is_err());
        assert!(NmfParams::new(2).check_every(0).check().is_err());
        // `innmf nmf --iters 100000000000 --tol 0` ran for days
        let e = NmfParams::new(2).max_iter(usize::MAX).check().unwrap_err();
        assert!(e.to_string().contains("max_iter"), "{e}");
        assert!(NmfParams::new(2).check().is_ok());
        let e = Init::parse("svd").unwrap_err().to_string();
        assert!(e.contains("init") && e.contains("svd"), "{e}");
        for i in [
            Init::Random,
            Init::Paper,
            Init::Nndsvd,
            Init::Nndsvda,
            Init::Nndsvdar,
            Init::Custom,
        ] {
            assert_eq!(Init::parse(i.name()).unwrap(), i);
        }
    }

    #[test]
    fn regularization_scales_like_sklearn() {
        let p = NmfParams::new(2).alpha_w(0.5).l1_ratio(0.25);
        let (l1w, l1h, l2w, l2h) = p.regularization(10, 4);
        assert_eq!((l1w, l1h, l2w, l2h), (0.5, 1.25, 1.5, 3.75));
        let p = p.alpha_h(0.0);
        assert_eq!(p.regularization(10, 4).1, 0.0);
    }
}
