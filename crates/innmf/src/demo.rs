//! The paper's demo: a hybrid time-frequency representation of two piano notes, factorized with
//! rank 2 so that each `H_k` is active on one note (arXiv 2404.04439, its hybrid demo).
//!
//! The hybrid is three representations of the same signal placed one after another in time:
//! an STFT with N = 128 / hop 32, an STFT with N = 1024 / hop 256, and the paper's constant-Q
//! transform (Q = B = 64 bins per octave from 20 Hz, 6.7 octaves, per-bin window sr·Q/f_k, hop
//! N_k/8), each shifted by one signal duration. All three share one `W_k(f)`; the `H_k(t)` see
//! the note pattern three times. Magnitudes are compressed with p = 0.5.

use crate::error::Result;
use crate::points::TfPoints;
use crate::transform::{Calibration, Representation};
use serde::{Deserialize, Serialize};

/// Sample rate of the demo signal (44.1 kHz / 10, as in the paper).
pub const DEMO_SAMPLE_RATE: f64 = 4410.0;

/// A synthesized note: fundamental, onset and end (s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Fundamental frequency (Hz).
    pub f0: f64,
    /// Onset (s).
    pub onset: f64,
    /// End of the note (s): the sound fades out by then.
    pub end: f64,
}

/// The two notes of the built-in signal: C3 then F#3, one after the other.
pub fn demo_notes() -> [Note; 2] {
    [
        Note {
            f0: 130.81,
            onset: 0.2,
            end: 1.3,
        },
        Note {
            f0: 185.0,
            onset: 1.4,
            end: 2.45,
        },
    ]
}

/// Synthesizes piano-like notes: 10 harmonic partials (amplitude ∝ n^−1.2, slight
/// inharmonicity), a 5 ms attack, exponential decays that are faster for higher partials, and a
/// 50 ms fade before each note's end. Returns `len` samples at `sample_rate`.
pub fn synthesize_notes(notes: &[Note], sample_rate: f64, len: usize) -> Vec<f64> {
    let mut x = vec![0.0; len];
    for note in notes {
        for n in 1..=10 {
            let nf = n as f64;
            let freq = note.f0 * nf * (1.0 + 0.0004 * nf * nf).sqrt();
            if freq >= sample_rate / 2.0 {
                break;
            }
            let amp = 0.3 * nf.powf(-1.2);
            let tau = 0.6 / (1.0 + 0.35 * nf);
            let phase = 0.7 * nf;
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / sample_rate;
                if t < note.onset || t >= note.end {
                    continue;
                }
                let dt = t - note.onset;
                let attack = (dt / 0.005).min(1.0);
                let release = ((note.end - t) / 0.05).min(1.0);
                let env = attack * release * (-dt / tau).exp();
                *v += amp * env * (2.0 * std::f64::consts::PI * freq * dt + phase).sin();
            }
        }
    }
    x
}

/// The built-in demo signal: 11,000 samples (2.49 s) at 4410 Hz holding [`demo_notes`].
pub fn demo_signal() -> Vec<f64> {
    synthesize_notes(&demo_notes(), DEMO_SAMPLE_RATE, 11_000)
}

pub use crate::transform::Segment;

/// The paper's hybrid representation of `x` (sampled at `sample_rate`): two STFTs and the
/// constant-Q transform, time-concatenated, magnitudes raised to `p`, each part on its own
/// native scale ([`Representation::paper_hybrid`]; a unit sinusoid on a bin centre reads `√N/4`
/// in the STFTs, 2.83 at N = 128 and 8 at N = 1024, and `(N_k − 1)/(4√N_k)` in CQT bin k).
///
/// # Errors
/// Those of [`Representation::analyze`].
pub fn hybrid_points(x: &[f64], sample_rate: f64, p: f64) -> Result<(TfPoints, Vec<Segment>)> {
    Representation::paper_hybrid().analyze(x, sample_rate, p, Calibration::Native)
}

/// Settings of the demo fit (the paper's: rank 2, width 16, 1000 Rprop steps at lr 1e-3 on
/// random halves, p = 0.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoConfig {
    /// Rank K.
    pub rank: usize,
    /// Hidden width of W and H networks.
    pub width: usize,
    /// Optimizer steps.
    pub steps: usize,
    /// Fraction of points per step.
    pub fraction: f64,
    /// Rprop initial step.
    pub lr: f32,
    /// Seed for the initialization and the subsets.
    pub seed: u64,
    /// Magnitude power.
    pub power: f64,
    /// The representation (the paper's hybrid by default; any other works).
    #[serde(default = "Representation::paper_hybrid")]
    pub representation: Representation,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            rank: 2,
            width: 16,
            steps: 1000,
            fraction: 0.5,
            lr: 1e-3,
            seed: 0,
            power: 0.5,
            representation: Representation::paper_hybrid(),
        }
    }
}

/// Everything the demo produced.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    /// The point set.
    pub points: TfPoints,
    /// Its parts (three for the paper's hybrid, one otherwise).
    pub segments: Vec<Segment>,
    /// The fitted model.
    pub model: crate::Model,
    /// The fit report.
    pub report: crate::FitReport,
    /// Duration of the analyzed signal (s).
    pub duration: f64,
}

/// Analyzes `x` with `config.representation` (native magnitudes, raised to `config.power`) and
/// fits the demo model (implicit W and H) to the points.
///
/// # Errors
/// Those of the representation (a signal too short for it) and of the fit.
pub fn fit_demo(
    x: &[f64],
    sample_rate: f64,
    config: &DemoConfig,
    progress: Option<crate::fit::Progress<'_>>,
) -> Result<DemoOutcome> {
    let (points, segments) =
        config
            .representation
            .analyze(x, sample_rate, config.power, Calibration::Native)?;
    let duration = x.len() as f64 / sample_rate;
    use rand::SeedableRng;
    let mut spec = crate::ModelSpec::new(config.rank);
    spec.width = config.width;
    spec.freq_axis = Some(crate::field::Axis::linear(0.0, sample_rate / 2.0)?);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
    let mut model = spec.build(&points, &mut rng)?;
    let fit_cfg = crate::FitConfig {
        steps: config.steps,
        fraction: config.fraction,
        optimizer: crate::optim::OptimizerConfig::rprop(config.lr),
        seed: config.seed.wrapping_add(1),
        ..Default::default()
    };
    let report = crate::fit(&mut model, &points, &fit_cfg, None, progress)?;
    Ok(DemoOutcome {
        points,
        segments,
        model,
        report,
        duration,
    })
}

/// Mean of each `H_k` over each time interval `[a, b)` (seconds of the original signal),
/// averaged over the three hybrid segments: `out[k][i]`.
pub fn interval_activity(outcome: &DemoOutcome, intervals: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let k = outcome.model.rank();
    let mut out = vec![vec![0.0; intervals.len()]; k];
    for (i, &(a, b)) in intervals.iter().enumerate() {
        let mut times = Vec::new();
        for s in &outcome.segments {
            let n = 50;
            times.extend((0..n).map(|j| s.offset + a + (b - a) * (j as f64 + 0.5) / n as f64));
        }
        let h = outcome.model.sample_h(&times);
        for (c, row) in out.iter_mut().enumerate() {
            row[i] = h[c * times.len()..(c + 1) * times.len()]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>()
                / times.len() as f64;
        }
    }
    out
}

/// For two intervals, the separation ratio: the smaller over the two components of
/// (activity on its own interval) / (activity on the other), after choosing the best pairing.
/// Above 1 means each component is more active on a different interval.
pub fn separation_ratio(activity: &[Vec<f64>]) -> f64 {
    if activity.len() < 2 || activity[0].len() < 2 {
        return 0.0;
    }
    let r = |k: usize, own: usize, other: usize| activity[k][own] / activity[k][other].max(1e-12);
    let straight = r(0, 0, 1).min(r(1, 1, 0));
    let swapped = r(0, 1, 0).min(r(1, 0, 1));
    straight.max(swapped)
}

/// Writes the demo's figures into `dir`: the point cloud, W_k(f), H_k(t) and the loss curve.
#[cfg(feature = "plot")]
pub fn write_figures(
    dir: &std::path::Path,
    outcome: &DemoOutcome,
    sample_rate: f64,
) -> Result<Vec<std::path::PathBuf>> {
    use crate::plot::{self, Series};
    let pts = &outcome.points;
    let k = outcome.model.rank();
    let mut written = Vec::new();
    let p = dir.join("points.png");
    plot::points(
        &p,
        &format!(
            "{} points",
            outcome
                .segments
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        pts.t(),
        pts.f(),
        pts.m(),
        true,
        true,
    )?;
    written.push(p);
    let freqs: Vec<f64> = (0..1000)
        .map(|i| sample_rate / 2.0 * i as f64 / 999.0)
        .collect();
    let w = outcome.model.sample_w(&freqs);
    let series: Vec<Series> = (0..k)
        .map(|c| Series {
            name: format!("W_{}", c + 1),
            x: freqs.clone(),
            y: w[c * freqs.len()..(c + 1) * freqs.len()]
                .iter()
                .map(|&v| v as f64)
                .collect(),
        })
        .collect();
    let p = dir.join("W.png");
    plot::lines(
        &p,
        "learned spectral templates W_k(f)",
        "frequency (Hz)",
        "W_k(f)",
        &series,
        false,
    )?;
    written.push(p);
    let (t0, t1) = pts.time_range();
    let times: Vec<f64> = (0..1500)
        .map(|i| t0 + (t1 - t0) * i as f64 / 1499.0)
        .collect();
    let h = outcome.model.sample_h(&times);
    let series: Vec<Series> = (0..k)
        .map(|c| Series {
            name: format!("H_{}", c + 1),
            x: times.clone(),
            y: h[c * times.len()..(c + 1) * times.len()]
                .iter()
                .map(|&v| v as f64)
                .collect(),
        })
        .collect();
    let p = dir.join("H.png");
    plot::lines(
        &p,
        &if outcome.segments.len() > 1 {
            format!(
                "learned activations H_k(t) ({} segments)",
                outcome.segments.len()
            )
        } else {
            "learned activations H_k(t)".to_string()
        },
        "hybrid time (s)",
        "H_k(t)",
        &series,
        false,
    )?;
    written.push(p);
    let hist = &outcome.report.loss_history;
    let p = dir.join("loss.png");
    plot::lines(
        &p,
        "training loss (KL on random halves)",
        "step",
        "loss",
        &[Series {
            name: "loss".into(),
            x: (1..=hist.len()).map(|s| s as f64).collect(),
            y: hist.clone(),
        }],
        true,
    )?;
    written.push(p);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hybrid_has_three_parts_shifted_in_time() {
        let x = demo_signal();
        let (pts, segs) = hybrid_points(&x, DEMO_SAMPLE_RATE, 0.5).unwrap();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].points, 65 * 340);
        assert_eq!(segs[1].points, 513 * 39);
        assert_eq!(pts.len(), segs.iter().map(|s| s.points).sum::<usize>());
        assert!((segs[2].offset - 2.0 * 11_000.0 / DEMO_SAMPLE_RATE).abs() < 1e-12);
        assert!(pts.grid().is_none());
        // STFT-128 bins are a subset of the STFT-1024 bins: few distinct frequencies
        assert!(pts.unique_freqs().len() < 1000);
    }
}
