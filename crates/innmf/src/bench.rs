//! The benchmark workloads, defined once: `innmf bench WORKLOAD` times them from the command
//! line (JSON with `median_ms`/`median_s`, read by the side-by-side comparisons with the Python
//! baselines), and `cargo bench -p innmf` runs the same workloads under criterion.
//!
//! A workload is an input (a recording of a given rate and length, or a synthesized signal of
//! the same size when none is given) and a computation: a few training steps of [`crate::fit()`],
//! classical KL-NMF, BSS Eval, or one analysis. Nothing here reads files: front ends load the
//! recording and hand its samples to [`prepare_input`].

use crate::demo::{synthesize_notes, Note};
use crate::error::{Error, Result};
use crate::field::Axis;
use crate::fit::{fit, FitConfig};
use crate::model::{FactorKind, Model, ModelSpec};
use crate::optim::OptimizerConfig;
use crate::points::TfPoints;
use crate::transform::{
    Cwt, CwtParams, DirectCqt, DirectCqtParams, FastCqt, Nsgt, NsgtParams, Representation, Stft,
    StftParams, Vqt, VqtParams,
};
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// A named benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Implicit W (K=20, hidden 64) + explicit H on |STFT|^0.5 (window 2000, hop 1000) of 20 s
    /// of 16 kHz speech (scaled to unit energy); full batch, Rprop.
    StftFit,
    /// Implicit W and H (K=2, hidden 16) on the demo's hybrid point set of a 4410 Hz excerpt
    /// (11 000 samples); random halves, Rprop.
    HybridFit,
    /// Classical KL multiplicative-update NMF, rank 20, 3000 iterations, on the stft-fit matrix
    /// (NNDSVDa start, W then H as scikit-learn does); f32.
    NmfKl,
    /// BSS Eval v3 (mir_eval's bss_eval_sources with permutation search, 512-tap filter) of two
    /// 5 s 16 kHz sources and estimates with 10 % cross-talk and a little noise.
    BssEval,
    /// The paper's constant-Q transform (Q = B = 64 from 20 Hz, 428 bins, hop N_k/8) of 30 s of
    /// 22.05 kHz audio with sparse spectral kernels (`FastCqt`).
    AnalyzeCqt,
    /// The same with direct sums (`DirectCqt`), for the speed-up of `analyze-cqt`.
    AnalyzeCqtDirect,
    /// librosa-compatible VQT (20 Hz, 428 bins, 64 per octave, hop 512) of the same audio.
    AnalyzeVqt,
    /// Invertible constant-Q NSGT (20–2079 Hz, 64 bands per octave) of the same audio.
    AnalyzeNsgt,
    /// Morlet CWT (ω0 = 6, 20–7000 Hz, 12 voices per octave, 102 scales, default per-scale
    /// decimation) of the same audio.
    AnalyzeCwt,
    /// The same CWT at full rate (every sample on every scale), as `pywt.cwt` computes it.
    AnalyzeCwtFull,
}

/// What a workload's input recording must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputSpec {
    /// Sample rate (Hz).
    pub sample_rate: u32,
    /// Length (s): longer recordings are cut, shorter ones are looped (analyses) or refused.
    pub seconds: f64,
    /// Whether the recording is scaled to unit energy (speech, as the baseline and the authors'
    /// TIMIT loader normalize it, so that losses compare directly).
    pub unit_energy: bool,
    /// Whether a shorter recording is looped to the length (else it is refused).
    pub loop_to_length: bool,
}

impl Workload {
    /// Every workload, in the order `innmf bench --help` lists them.
    pub const ALL: [Workload; 10] = [
        Workload::StftFit,
        Workload::HybridFit,
        Workload::NmfKl,
        Workload::BssEval,
        Workload::AnalyzeCqt,
        Workload::AnalyzeCqtDirect,
        Workload::AnalyzeVqt,
        Workload::AnalyzeNsgt,
        Workload::AnalyzeCwt,
        Workload::AnalyzeCwtFull,
    ];

    /// The name on the command line (`stft-fit`, …).
    pub fn name(self) -> &'static str {
        match self {
            Workload::StftFit => "stft-fit",
            Workload::HybridFit => "hybrid-fit",
            Workload::NmfKl => "nmf-kl",
            Workload::BssEval => "bss-eval",
            Workload::AnalyzeCqt => "analyze-cqt",
            Workload::AnalyzeCqtDirect => "analyze-cqt-direct",
            Workload::AnalyzeVqt => "analyze-vqt",
            Workload::AnalyzeNsgt => "analyze-nsgt",
            Workload::AnalyzeCwt => "analyze-cwt",
            Workload::AnalyzeCwtFull => "analyze-cwt-full",
        }
    }

    /// The input the workload runs on.
    pub fn input_spec(self) -> InputSpec {
        match self {
            Workload::StftFit | Workload::NmfKl => InputSpec {
                sample_rate: 16000,
                seconds: 20.0,
                unit_energy: true,
                loop_to_length: false,
            },
            Workload::HybridFit => InputSpec {
                sample_rate: 4410,
                seconds: 11_000.0 / 4410.0,
                unit_energy: false,
                loop_to_length: false,
            },
            Workload::BssEval => InputSpec {
                sample_rate: 16000,
                seconds: 5.0,
                unit_energy: false,
                loop_to_length: false,
            },
            _ => InputSpec {
                sample_rate: 22050,
                seconds: 30.0,
                unit_energy: false,
                loop_to_length: true,
            },
        }
    }

    /// True for the training workloads timed per step ([`fit_workload`]).
    pub fn is_fit(self) -> bool {
        matches!(self, Workload::StftFit | Workload::HybridFit)
    }

    /// True for the analysis workloads ([`analyze`]).
    pub fn is_analysis(self) -> bool {
        self.name().starts_with("analyze-")
    }
}

impl std::str::FromStr for Workload {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
                Error::param("workload", s, format!("one of {}", names.join(", ")))
            })
    }
}

/// A workload's input signal and where it came from.
#[derive(Debug, Clone)]
pub struct Input {
    /// Samples at the workload's rate and length.
    pub signal: Vec<f64>,
    /// The recording it came from, or `synthesized`.
    pub source: String,
}

/// A synthesized stand-in of `seconds` at `rate` Hz: harmonic notes, three per second.
pub fn synthesized(rate: u32, seconds: f64) -> Vec<f64> {
    let n = (seconds * rate as f64) as usize;
    let notes: Vec<Note> = (0..(seconds.ceil() as usize * 3))
        .map(|i| Note {
            f0: 110.0 * 2f64.powf((i % 12) as f64 / 12.0),
            onset: i as f64 / 3.0,
            end: i as f64 / 3.0 + 0.3,
        })
        .collect();
    synthesize_notes(&notes, rate as f64, n)
}

/// The input of `workload`: `recording` (samples, sample rate, name) cut (or looped) to the
/// workload's length and scaled as [`InputSpec`] says, or a synthesized signal of that size.
///
/// # Errors
/// A recording at another rate, empty, or shorter than the workload needs (when it is not
/// looped).
pub fn prepare_input(
    workload: Workload,
    recording: Option<(Vec<f64>, u32, String)>,
) -> Result<Input> {
    let spec = workload.input_spec();
    let n = (spec.seconds * spec.sample_rate as f64) as usize;
    let Some((mut x, rate, source)) = recording else {
        return Ok(Input {
            signal: synthesized(spec.sample_rate, spec.seconds),
            source: "synthesized".into(),
        });
    };
    if rate != spec.sample_rate {
        return Err(Error::param(
            "input",
            format!("{source} at {rate} Hz"),
            format!(
                "a {} Hz recording for {}",
                spec.sample_rate,
                workload.name()
            ),
        ));
    }
    if x.is_empty() {
        return Err(Error::Empty { what: "input" });
    }
    let source = if spec.loop_to_length {
        x = (0..n).map(|i| x[i % x.len()]).collect();
        format!("{source} (looped to {} s)", spec.seconds)
    } else {
        if x.len() < n && workload == Workload::BssEval {
            return Err(Error::param(
                "input",
                format!("{source} ({} samples)", x.len()),
                format!("at least {n} samples for {}", workload.name()),
            ));
        }
        x.truncate(n);
        source
    };
    if spec.unit_energy {
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            x.iter_mut().for_each(|v| *v /= norm);
        }
    }
    Ok(Input { signal: x, source })
}

/// A training workload, ready to time.
#[derive(Debug, Clone)]
pub struct FitWorkload {
    /// The points fitted.
    pub points: TfPoints,
    /// The model at its seeded initialization.
    pub model: Model,
    /// The training settings (steps set by the caller).
    pub config: FitConfig,
    /// MLP FLOPs of one step (forward and backward products), for GFLOP/s figures.
    pub flops_per_step: f64,
}

/// MLP FLOPs of one training step (forward + backward matrix products): forward
/// 2·N·K·(2J·h + D·h² + h); backward the weight gradients of every layer plus the input
/// gradients of every layer after the first.
fn mlp_flops(n: usize, k: usize, h: usize, j2: usize, d: usize) -> f64 {
    let fwd = 2.0 * (n * k) as f64 * (j2 * h + d * h * h + h) as f64;
    let bwd_x = 2.0 * (n * k) as f64 * (d * h * h + h) as f64;
    2.0 * fwd + bwd_x
}

/// The points, model and settings of a training workload ([`Workload::is_fit`]) on `x`.
///
/// # Errors
/// A workload that is not a training one; those of the analysis and the model.
pub fn fit_workload(workload: Workload, x: &[f64]) -> Result<FitWorkload> {
    match workload {
        Workload::StftFit => {
            let pts = Representation::Stft(StftParams::new(2000, 1000)).points(
                x,
                16000.0,
                0.5,
                Default::default(),
            )?;
            let mut spec = ModelSpec::new(20);
            spec.h = FactorKind::Explicit;
            spec.freq_axis = Some(Axis::linear(0.0, 8000.0)?);
            let model = spec.build(&pts, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
            let (nf, nt) = (pts.unique_freqs().len(), pts.unique_times().len());
            let flops = mlp_flops(nf, 20, 64, 20, 3) + 3.0 * 2.0 * (nf * nt * 20) as f64;
            Ok(FitWorkload {
                points: pts,
                model,
                config: FitConfig {
                    optimizer: OptimizerConfig::rprop(1e-3),
                    ..Default::default()
                },
                flops_per_step: flops,
            })
        }
        Workload::HybridFit => {
            let pts = Representation::paper_hybrid().points(x, 4410.0, 0.5, Default::default())?;
            let mut spec = ModelSpec::new(2);
            spec.width = 16;
            spec.freq_axis = Some(Axis::linear(0.0, 2205.0)?);
            let model = spec.build(&pts, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
            let (nf, nt) = (pts.unique_freqs().len(), pts.unique_times().len());
            Ok(FitWorkload {
                points: pts,
                model,
                config: FitConfig {
                    fraction: 0.5,
                    ..Default::default()
                },
                flops_per_step: mlp_flops(nf + nt, 2, 16, 20, 3),
            })
        }
        other => Err(Error::param(
            "workload",
            other.name(),
            "a training workload (stft-fit, hybrid-fit)",
        )),
    }
}

impl FitWorkload {
    /// Seconds of each of `steps` steps after `warmup` untimed ones, from a fresh copy of the
    /// model (one [`crate::fit()`] call, timed through its progress callback).
    ///
    /// # Errors
    /// Those of [`crate::fit()`].
    pub fn time_steps(&self, warmup: usize, steps: usize) -> Result<Vec<f64>> {
        let mut model = self.model.clone();
        let mut stamps: Vec<Instant> = Vec::with_capacity(warmup + steps + 1);
        let cfg = FitConfig {
            steps: warmup + steps,
            ..self.config.clone()
        };
        let start = Instant::now();
        let mut cb = |_step: usize, _n: usize, _loss: f64| {
            stamps.push(Instant::now());
            std::ops::ControlFlow::Continue(())
        };
        fit(&mut model, &self.points, &cfg, None, Some(&mut cb))?;
        let mut prev = if warmup == 0 {
            start
        } else {
            stamps[warmup - 1]
        };
        let mut out = Vec::with_capacity(steps);
        for s in &stamps[warmup..] {
            out.push(s.duration_since(prev).as_secs_f64());
            prev = *s;
        }
        Ok(out)
    }

    /// Points drawn per step.
    pub fn points_per_step(&self) -> usize {
        ((self.points.len() as f64 * self.config.fraction).round() as usize)
            .clamp(1, self.points.len())
    }
}

/// The `nmf-kl` matrix: |STFT|^0.5 (window 2000, hop 1000) of `x` in f32, F×T row-major, with
/// F and T.
///
/// # Errors
/// Those of the STFT.
pub fn nmf_matrix(x: &[f64]) -> Result<(Vec<f32>, usize, usize)> {
    let spec = Stft::new(StftParams::new(2000, 1000), 16000.0)?.analyze(x)?;
    let v = spec.magnitude().iter().map(|m| m.sqrt() as f32).collect();
    Ok((v, spec.n_bins, spec.n_frames))
}

/// Iterations, rank and settings of `nmf-kl`.
pub const NMF_KL_ITERATIONS: usize = 3000;
/// Rank of `nmf-kl`.
pub const NMF_KL_RANK: usize = 20;

/// One `nmf-kl` run: `(seconds of the iterations, final mean KL)`.
///
/// # Errors
/// Those of [`crate::nmf`].
pub fn run_nmf_kl(v: &[f32], f: usize, t: usize, iterations: usize) -> Result<(f64, f64)> {
    crate::nmf::bench_nmf_kl(
        v,
        f,
        t,
        NMF_KL_RANK,
        iterations,
        crate::nmf::Init::Nndsvda,
        crate::nmf::UpdateOrder::WThenH,
        0,
    )
}

/// Signals, one per source.
pub type Signals = Vec<Vec<f64>>;

/// The `bss-eval` references and estimates: two sources (the two recordings given, or two
/// synthesized note sequences of 5 s at 16 kHz) and estimates with 10 % cross-talk and a little
/// seeded noise.
///
/// # Errors
/// Sources of different lengths or not two of them.
pub fn bss_eval_inputs(sources: Option<[Vec<f64>; 2]>) -> Result<(Signals, Signals)> {
    let spec = Workload::BssEval.input_spec();
    let n = (spec.seconds * spec.sample_rate as f64) as usize;
    let refs: Vec<Vec<f64>> = match sources {
        Some([a, b]) => {
            if a.len() != b.len() {
                return Err(Error::LengthMismatch {
                    what: "bss-eval sources".into(),
                    expected: a.len(),
                    got: b.len(),
                });
            }
            vec![a, b]
        }
        None => {
            let notes = |f0: f64| {
                (0..15)
                    .map(|i| Note {
                        f0: f0 * 2f64.powf((i % 7) as f64 / 12.0),
                        onset: i as f64 / 3.0,
                        end: i as f64 / 3.0 + 0.3,
                    })
                    .collect::<Vec<_>>()
            };
            let rate = spec.sample_rate as f64;
            vec![
                synthesize_notes(&notes(110.0), rate, n),
                synthesize_notes(&notes(330.0), rate, n),
            ]
        }
    };
    let len = refs[0].len();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let ests = (0..2)
        .map(|j| {
            (0..len)
                .map(|i| refs[j][i] + 0.1 * refs[1 - j][i] + 0.01 * rng.random_range(-1.0..1.0))
                .collect()
        })
        .collect();
    Ok((refs, ests))
}

/// One analysis workload ([`Workload::is_analysis`]) of `x` at 22.05 kHz, planning included;
/// returns the number of coefficients.
///
/// # Errors
/// A workload that is not an analysis; those of the transform.
pub fn analyze(workload: Workload, x: &[f64]) -> Result<usize> {
    let sr = workload.input_spec().sample_rate as f64;
    Ok(match workload {
        Workload::AnalyzeCqt => FastCqt::new(DirectCqtParams::paper_demo(), sr)?
            .analyze(x)?
            .len(),
        Workload::AnalyzeCqtDirect => DirectCqt::new(DirectCqtParams::paper_demo(), sr)?
            .analyze(x)?
            .len(),
        Workload::AnalyzeVqt => {
            let p = VqtParams {
                f_min: 20.0,
                n_bins: 428,
                bins_per_octave: 64,
                filter_scale: 1.0,
                gamma: 0.0,
                hop: 512,
            };
            Vqt::new(p, sr)?.analyze(x)?.len()
        }
        Workload::AnalyzeNsgt => Nsgt::new(NsgtParams::new(20.0, 2079.0, 64), sr, x.len())?
            .analyze(x)?
            .len(),
        Workload::AnalyzeCwt => Cwt::new(CwtParams::new(20.0, 7000.0, 12), sr, x.len())?
            .analyze(x)?
            .len(),
        Workload::AnalyzeCwtFull => {
            let p = CwtParams {
                hop: None,
                ..CwtParams::new(20.0, 7000.0, 12)
            };
            Cwt::new(p, sr, x.len())?.analyze(x)?.len()
        }
        other => {
            return Err(Error::param(
                "workload",
                other.name(),
                "an analysis workload (analyze-*)",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>().unwrap(), w);
        }
        let e = "stft".parse::<Workload>().unwrap_err().to_string();
        assert!(
            e.contains("stft-fit") && e.contains("analyze-cwt-full"),
            "{e}"
        );
    }

    #[test]
    fn inputs_have_the_workloads_rate_and_length() {
        let x = prepare_input(
            Workload::AnalyzeCqt,
            Some((vec![0.5; 1000], 22050, "a".into())),
        )
        .unwrap();
        assert_eq!(x.signal.len(), 30 * 22050);
        let e = prepare_input(Workload::StftFit, Some((vec![0.5; 1000], 8000, "b".into())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("8000 Hz") && e.contains("16000"), "{e}");
        let s = prepare_input(
            Workload::StftFit,
            Some((vec![2.0; 400_000], 16000, "c".into())),
        )
        .unwrap();
        assert_eq!(s.signal.len(), 320_000);
        let energy: f64 = s.signal.iter().map(|v| v * v).sum();
        // a sum of 320 000 squares: rounding of order 1e-11
        assert!((energy - 1.0).abs() < 1e-9, "{energy}");
        let synth = prepare_input(Workload::HybridFit, None).unwrap();
        assert_eq!(synth.signal.len(), 11_000);
        assert_eq!(synth.source, "synthesized");
    }
}
