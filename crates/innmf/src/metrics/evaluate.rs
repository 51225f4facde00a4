//! The one scoring path of a separation: BSS Eval v3 SDR/SIR/SAR (with or without the
//! permutation search), SI-SDR, and optionally STOI and extended STOI, per reference source and
//! averaged. `innmf eval`, `innmf separate --reference` and the experiments all call
//! [`evaluate`], so a score means the same thing wherever it is reported.

use super::{bss_eval_sources, si_sdr, stoi};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What [`evaluate`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Search the permutation of the estimates that maximizes the mean SIR (mir_eval's
    /// `compute_permutation=True`); false pairs estimate j with reference j.
    pub permutation: bool,
    /// Compute STOI (Taal et al. 2011; pystoi's algorithm).
    pub stoi: bool,
    /// Compute extended STOI (Jensen & Taal 2016) too (needs `stoi`).
    pub extended_stoi: bool,
    /// Remove each signal's mean before SI-SDR (Le Roux et al.'s recipe; fast_bss_eval's default
    /// is off).
    pub si_sdr_zero_mean: bool,
}

impl Default for EvalOptions {
    /// Permutation search, STOI and eSTOI, SI-SDR without mean removal.
    fn default() -> Self {
        EvalOptions {
            permutation: true,
            stoi: true,
            extended_stoi: true,
            si_sdr_zero_mean: false,
        }
    }
}

/// Scores of one reference and the estimate matched to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceScores {
    /// Index of the estimate matched to this reference.
    pub estimate: usize,
    /// Source-to-distortion ratio (dB).
    #[serde(with = "crate::io::json_float")]
    pub sdr: f64,
    /// Source-to-interference ratio (dB).
    #[serde(with = "crate::io::json_float")]
    pub sir: f64,
    /// Source-to-artifact ratio (dB).
    #[serde(with = "crate::io::json_float")]
    pub sar: f64,
    /// Scale-invariant SDR (dB).
    #[serde(with = "crate::io::json_float")]
    pub si_sdr: f64,
    /// STOI in [0, 1] (when computed).
    #[serde(with = "crate::io::json_float::option")]
    pub stoi: Option<f64>,
    /// Extended STOI (when computed).
    #[serde(with = "crate::io::json_float::option")]
    pub estoi: Option<f64>,
}

/// Means over the sources of [`SourceScores`] fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanScores {
    /// Mean SDR (dB).
    #[serde(with = "crate::io::json_float")]
    pub sdr: f64,
    /// Mean SIR (dB).
    #[serde(with = "crate::io::json_float")]
    pub sir: f64,
    /// Mean SAR (dB).
    #[serde(with = "crate::io::json_float")]
    pub sar: f64,
    /// Mean SI-SDR (dB).
    #[serde(with = "crate::io::json_float")]
    pub si_sdr: f64,
    /// Mean STOI.
    #[serde(with = "crate::io::json_float::option")]
    pub stoi: Option<f64>,
    /// Mean extended STOI.
    #[serde(with = "crate::io::json_float::option")]
    pub estoi: Option<f64>,
}

/// The scores of a separation ([`evaluate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeparationScores {
    /// Samples scored (every signal has this length).
    pub samples: usize,
    /// Sample rate (Hz).
    pub sample_rate: u32,
    /// `permutation[j]`: the estimate matched to reference j.
    pub permutation: Vec<usize>,
    /// The options used.
    pub options: EvalOptions,
    /// One entry per reference, in reference order.
    pub sources: Vec<SourceScores>,
    /// Means over the sources.
    pub mean: MeanScores,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

/// Scores `estimates` against `references` (one signal per source, all of one length, sampled at
/// `sample_rate` Hz; STOI resamples to 10 kHz internally).
///
/// # Errors
/// Those of the metrics: no sources, different counts or lengths, non-finite samples, a silent
/// reference or estimate, more than 10 sources with the permutation search; a sample rate that
/// is not a positive whole number of Hz when STOI is asked for; `extended_stoi` without `stoi`.
pub fn evaluate<R, E>(
    references: &[R],
    estimates: &[E],
    sample_rate: f64,
    options: &EvalOptions,
) -> Result<SeparationScores>
where
    R: AsRef<[f64]> + Sync,
    E: AsRef<[f64]> + Sync,
{
    crate::error::check_sample_rate(sample_rate)?;
    if options.extended_stoi && !options.stoi {
        return Err(Error::param(
            "extended_stoi",
            true,
            "stoi = true as well (eSTOI is reported beside STOI)",
        ));
    }
    let rate = sample_rate.round();
    if options.stoi && ((rate - sample_rate).abs() > 1e-9 || rate > u32::MAX as f64) {
        return Err(Error::param(
            "sample rate",
            sample_rate,
            "a whole number of Hz for STOI",
        ));
    }
    let bss = bss_eval_sources(references, estimates, options.permutation)?;
    let mut sources = Vec::with_capacity(references.len());
    for (j, r) in references.iter().enumerate() {
        let e = estimates[bss.perm[j]].as_ref();
        let r = r.as_ref();
        let (st, est) = if options.stoi {
            let st = stoi(r, e, rate as u32, false)?;
            let est = if options.extended_stoi {
                Some(stoi(r, e, rate as u32, true)?)
            } else {
                None
            };
            (Some(st), est)
        } else {
            (None, None)
        };
        sources.push(SourceScores {
            estimate: bss.perm[j],
            sdr: bss.sdr[j],
            sir: bss.sir[j],
            sar: bss.sar[j],
            si_sdr: si_sdr(r, e, options.si_sdr_zero_mean)?,
            stoi: st,
            estoi: est,
        });
    }
    let opt_mean = |f: fn(&SourceScores) -> Option<f64>| {
        sources
            .iter()
            .map(f)
            .collect::<Option<Vec<f64>>>()
            .map(|v| mean(v.into_iter()))
    };
    let mean_scores = MeanScores {
        sdr: mean(sources.iter().map(|s| s.sdr)),
        sir: mean(sources.iter().map(|s| s.sir)),
        sar: mean(sources.iter().map(|s| s.sar)),
        si_sdr: mean(sources.iter().map(|s| s.si_sdr)),
        stoi: opt_mean(|s| s.stoi),
        estoi: opt_mean(|s| s.estoi),
    };
    Ok(SeparationScores {
        samples: references[0].as_ref().len(),
        sample_rate: rate as u32,
        permutation: bss.perm,
        options: *options,
        sources,
        mean: mean_scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests::noise;

    #[test]
    fn evaluate_is_the_metrics_it_names_and_follows_the_permutation() {
        let sr = 8000.0;
        let a = noise(8000, 1);
        let b = noise(8000, 2);
        // estimates in swapped order, each with a little of the other
        let ea: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + 0.1 * y).collect();
        let eb: Vec<f64> = b.iter().zip(&a).map(|(x, y)| x + 0.05 * y).collect();
        let refs = [a.clone(), b.clone()];
        let ests = [eb.clone(), ea.clone()];
        let s = evaluate(&refs, &ests, sr, &EvalOptions::default()).unwrap();
        assert_eq!(s.permutation, vec![1, 0]);
        let bss = bss_eval_sources(&refs, &ests, true).unwrap();
        for j in 0..2 {
            let e = &ests[s.permutation[j]];
            assert_eq!(s.sources[j].estimate, bss.perm[j]);
            assert_eq!(s.sources[j].sdr, bss.sdr[j]);
            assert_eq!(s.sources[j].si_sdr, si_sdr(&refs[j], e, false).unwrap());
            assert_eq!(
                s.sources[j].stoi,
                Some(stoi(&refs[j], e, 8000, false).unwrap())
            );
            assert_eq!(
                s.sources[j].estoi,
                Some(stoi(&refs[j], e, 8000, true).unwrap())
            );
        }
        assert!((s.mean.sdr - 0.5 * (bss.sdr[0] + bss.sdr[1])).abs() < 1e-12);
        // fixed pairing scores the swapped estimates as they come
        let opts = EvalOptions {
            permutation: false,
            stoi: false,
            extended_stoi: false,
            ..Default::default()
        };
        let f = evaluate(&refs, &ests, sr, &opts).unwrap();
        assert_eq!(f.permutation, vec![0, 1]);
        assert!(f.mean.sdr < s.mean.sdr - 10.0);
        assert_eq!(f.mean.stoi, None);
    }

    #[test]
    fn inconsistent_options_and_rates_are_errors() {
        let a = noise(4000, 3);
        let refs = [a.clone()];
        let bad = EvalOptions {
            stoi: false,
            extended_stoi: true,
            ..Default::default()
        };
        assert!(evaluate(&refs, &refs, 8000.0, &bad).is_err());
        let e = evaluate(&refs, &refs, 8000.5, &EvalOptions::default()).unwrap_err();
        assert!(e.to_string().contains("8000.5"), "{e}");
        assert!(evaluate(&refs, &refs, f64::NAN, &EvalOptions::default()).is_err());
    }
}
