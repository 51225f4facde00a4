//! # innmf: implicit neural non-negative matrix factorization
//!
//! Classical NMF factorizes a magnitude spectrogram `V ≈ W·H` and so needs data on a grid.
//! iN-NMF (Subramani, Smaragdis, Higuchi, Souden, arXiv 2404.04439) treats a time-frequency
//! representation as a set of points `(t_i, f_i, m_i)` and models
//!
//! ```text
//! m̂_i = Σ_k W_k(f_i) · H_k(t_i)
//! ```
//!
//! where each `W_k` and `H_k` is a small coordinate network (Fourier features → sine MLP →
//! softplus) or, where a grid allows, an explicit table. So NMF works on constant-Q transforms,
//! sinusoidal peaks and hybrids of several transforms, and templates learned at one STFT window
//! can be sampled at another.
//!
//! ## Quick start
//!
//! ```
//! use innmf::{fit, FitConfig, ModelSpec, TfPoints};
//! use rand::SeedableRng;
//!
//! // any point set: times (s), frequencies (Hz), magnitudes ≥ 0
//! let points = TfPoints::new(
//!     vec![0.0, 0.1, 0.2, 0.3],
//!     vec![100.0, 250.0, 100.0, 250.0],
//!     vec![1.0, 0.5, 0.9, 0.6],
//! )?;
//! let mut spec = ModelSpec::new(1); // rank 1, the paper's network for W and H
//! spec.width = 8;
//! let mut model = spec.build(&points, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
//! let cfg = FitConfig { steps: 50, ..Default::default() };
//! let report = fit(&mut model, &points, &cfg, None, None)?;
//! assert!(report.final_loss < report.loss_history[0]);
//! let w = model.sample_w(&[100.0, 175.0, 250.0]); // W_k(f) at any frequency: [K, F]
//! assert_eq!(w.len(), 3);
//! # Ok::<(), innmf::Error>(())
//! ```
//!
//! ## Where things are
//! | module | what |
//! |---|---|
//! | [`audio`] | reading audio (mono, excerpts, resampling), writing WAV |
//! | [`transform`] | the transforms: eight plans behind one [`transform::Transform`] trait, [`transform::Representation`]: audio → points, one way for every front end |
//! | [`points`] | [`TfPoints`]: `(t, f, m)` with the unique-coordinate index |
//! | [`model`], [`field`] | the model `Σ_k W_k(f)·H_k(t)`, implicit (networks) or explicit (tables) factors |
//! | [`mod@fit`], [`optim`], [`divergence`] | the one training loop (freezing is a [`FitConfig`] option), Rprop/Adam, β-divergences |
//! | [`modelfile`] | safetensors model files that record what they were fitted on |
//! | [`nmf`] | classical multiplicative-update NMF (scikit-learn's semantics) |
//! | [`separate`] | templates → activations → masks → phase: source separation |
//! | [`metrics`] | BSS Eval, SI-SDR, STOI, spectral metrics; [`metrics::evaluate`], the one scoring path |
//! | [`stats`] | medians and bootstrap intervals (the paper's studies: the `innmf-studies` crate) |
//! | [`demo`], [`plot`], [`io`] | the demo, figures, `.npy`/`.npz`/CSV/JSON files |
//! | [`mod@bench`] | the benchmark workloads, defined once (`innmf bench`, `cargo bench`) |
//! | [`budget`] | the memory limit every large allocation is checked against (`INNMF_MEMORY_LIMIT`) |
//!
//! ## Names
//! `*Params`: the validated parameters of a plan or algorithm (`StftParams`, `NsgtParams`,
//! `NmfParams`); `*Spec`: a description resolved later (`ModelSpec` for a point set, `CqtSpec`
//! and the other [`transform::Representation`] payloads for a sample rate); `*Config`: the
//! settings of a run (`FitConfig`, `SeparateConfig`, `ExperimentConfig`); `*Options`: switches of
//! one call (`EvalOptions`, `LoadOptions`).
//!
//! ## Conventions
//! - **Units**: times in seconds, frequencies in Hz, in every public API and file.
//! - **Layouts**: matrices are row-major; factor values are `[K, N]` (component, coordinate);
//!   spectrograms are `[bins, frames]`; `X ≈ W·H` with `W` frequency × rank.
//! - **Precision**: networks and matrix products in f32, losses and long sums in f64.
//! - **Randomness**: every random choice takes a seed (ChaCha8); same seed, same result.
//!
//! ## Feature flags
//! | flag | default | what |
//! |---|---|---|
//! | `plot` | on | PNG/SVG figures ([`plot`]) through plotters, with an embedded font |

#![warn(missing_docs)]

pub mod audio;
pub mod bench;
pub mod budget;
pub mod demo;
pub mod divergence;
pub mod error;
#[doc(hidden)]
pub mod fastmath;
pub mod field;
pub mod fit;
pub mod io;
#[doc(hidden)]
pub mod linalg;
pub mod metrics;
pub mod model;
pub mod modelfile;
pub mod nmf;
pub mod optim;
#[cfg(feature = "plot")]
pub mod plot;
pub mod points;
pub mod separate;
pub mod simd;
pub mod stats;
pub mod transform;

pub use divergence::Divergence;
pub use error::{Error, Result};
pub use fit::{fit, FitConfig, FitReport, Freeze};
pub use model::{FactorKind, Model, ModelSpec, Sampling, Trainer};
pub use points::TfPoints;
pub use simd::build_info;

/// The repository README's Rust examples, compiled and run by `cargo test` as doctests so that
/// the README cannot drift from the API (its `sh`, `python` and `text` blocks are not Rust and
/// are skipped).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
