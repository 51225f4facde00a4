//! Step 4 of a separation: the phase of the separated STFTs (the mixture's, or refined by MISI
//! or Griffin–Lim).

use crate::error::{Error, Result};
use crate::fit::Progress;
use crate::transform::{Spectrogram, Stft};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

/// Phase refinement for [`SeparateConfig::phase_iters`](super::SeparateConfig::phase_iters) > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseMethod {
    /// Multiple-input spectrogram inversion (Gunawan & Sen 2010).
    #[default]
    Misi,
    /// Griffin–Lim on each source independently.
    GriffinLim,
}

crate::error::from_str_by_serde_name!(PhaseMethod, "phase", "misi, griffin-lim");

/// Phase refinement of masked spectrograms toward magnitudes `targets`; returns the signals.
///
/// MISI: `y_j = istft(S_j)`, the error `e = x − Σ y_j` is spread equally (`y_j += e/J`), each
/// `y_j` is re-analyzed and its phase kept with the target magnitude; after the last iteration
/// the error is spread again so that the outputs sum to `x`. Griffin–Lim does the same per
/// source without the error term.
///
/// `progress(it, iters, loss)` is called after every iteration (`loss`: the activation fit's,
/// passed through); [`std::ops::ControlFlow::Break`] stops the refinement with
/// [`Error::Interrupted`] (a user's Ctrl-C: it was not polled here, and a large `iters` held the
/// caller for ever).
pub(crate) fn refine_phase(
    stft: &Stft,
    mixture: &[f64],
    estimates: &mut [Spectrogram],
    targets: &[Vec<f64>],
    iters: usize,
    method: PhaseMethod,
    loss: f64,
    mut progress: Option<Progress<'_>>,
) -> Result<Vec<Vec<f64>>> {
    let j = estimates.len();
    let mut ys: Vec<Vec<f64>> = Vec::with_capacity(j);
    for it in 0..=iters {
        if it > 0 {
            if let Some(p) = progress.as_deref_mut() {
                if p(it, iters, loss).is_break() {
                    return Err(Error::Interrupted { step: it });
                }
            }
        }
        ys.clear();
        for s in estimates.iter() {
            ys.push(stft.synthesize(s)?);
        }
        if method == PhaseMethod::Misi {
            spread_error(mixture, &mut ys);
        }
        if it == iters {
            break;
        }
        for ((s, y), a) in estimates.iter_mut().zip(&ys).zip(targets) {
            let re = stft.analyze(y)?;
            for ((c, r), &mag) in s.coeffs.iter_mut().zip(&re.coeffs).zip(a) {
                let n = r.norm();
                if n > 1e-300 {
                    *c = r * (mag / n);
                } else {
                    *c = Complex64::new(mag, 0.0) * c.signum_or_one();
                }
            }
        }
    }
    Ok(ys)
}

/// `y_j += (x − Σ_i y_i)/J`.
fn spread_error(mixture: &[f64], ys: &mut [Vec<f64>]) {
    let j = ys.len() as f64;
    for i in 0..mixture.len() {
        let e = (mixture[i] - ys.iter().map(|y| y[i]).sum::<f64>()) / j;
        for y in ys.iter_mut() {
            y[i] += e;
        }
    }
}

trait SignumOrOne {
    fn signum_or_one(&self) -> Complex64;
}

impl SignumOrOne for Complex64 {
    /// `c/|c|`, or 1 for 0.
    fn signum_or_one(&self) -> Complex64 {
        let n = self.norm();
        if n > 1e-300 {
            self / n
        } else {
            Complex64::new(1.0, 0.0)
        }
    }
}
