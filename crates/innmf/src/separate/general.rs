//! Separation in any invertible [`Representation`] (arXiv 2404.04439 §3.4 applied beyond the
//! STFT): the mixture is analyzed by the representation's plan, its calibrated point set
//! `|c|^p` is fitted with the templates frozen, a ratio mask per point is applied to the complex
//! coefficients (for the sinusoidal model: to each partial's amplitude), and every source is
//! resynthesized with the transform's own inverse.
//!
//! **Activation times.** The STFT and the sinusoidal model have one frame grid: `H` is an
//! explicit table over its frames. The NSGT, the CWT and the multi-resolution STFT give every
//! bin its own time step (the NSGT's are not even multiples of each other), so the union of
//! their times holds nearly one instant per point: an explicit `H` over it would be fitted by a
//! single coefficient per instant. Moving every point to its nearest knot of a common grid does
//! not cure it either: a knot then sees the fast high bins at every step but a low bin only
//! every few dozen steps, and between those the low source's activation is free to explain the
//! high bins through its templates' tails (measured: 9–11 dB SDR in the NSGT where the same
//! templates give 45 dB in the STFT). Implicit `H` (a network of time) would need many more
//! steps and a network sized to the mixture's duration. So `H` is an explicit table over
//! *knots* a fixed step apart (by default the finest bin's time step, at least
//! [`MIN_H_STEP`]), fitted to a grid view of the points: every bin's `|c|^p` interpolated
//! linearly in time at every knot (clamped at the ends), so every knot sees every bin, as an
//! STFT frame sees all its bins. The masks are computed at every coefficient's own time, with
//! `H` interpolated linearly between the knots: nothing is rasterized but the activation fit.

use super::activations::fit_activations;
use super::masks::masks;
use super::templates::TemplateSet;
use super::{energy_shares, SeparateConfig, Separation, SeparationReport};
use crate::error::{Error, Result};
use crate::fit::Progress;
use crate::points::TfPoints;
use crate::transform::{Coefficients, Representation, Transform, TransformKind};
use std::time::Instant;

/// Smallest default spacing (s) of the activation knots: 5 ms, finer than a note onset that a
/// template of tens of milliseconds resolves (an explicit `h_step` may be smaller).
pub const MIN_H_STEP: f64 = 0.005;

/// Most cells (bins × knots) of the grid view the activations are fitted on.
pub const MAX_GRID_CELLS: usize = 200_000_000;

/// Whether `kind` gives its bins their own time grids (so activations live on knots).
pub(crate) fn has_per_bin_times(kind: TransformKind) -> bool {
    matches!(
        kind,
        TransformKind::Nsgt | TransformKind::Cwt | TransformKind::Multires
    )
}

/// Per distinct frequency of `points`, its `(time, magnitude)` pairs sorted by time.
fn per_bin(points: &TfPoints) -> Vec<Vec<(f64, f64)>> {
    let mut bins = vec![Vec::new(); points.unique_freqs().len()];
    for ((&t, &m), &f) in points.t().iter().zip(points.m()).zip(points.freq_index()) {
        bins[f as usize].push((t, m));
    }
    for b in &mut bins {
        b.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    bins
}

/// The finest time step (s) among the bins: per bin, the smallest positive gap between its
/// times. `None` when no bin has two points.
fn finest_step(bins: &[Vec<(f64, f64)>]) -> Option<f64> {
    let best = bins
        .iter()
        .flat_map(|b| b.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|&d| d > 0.0)
        .fold(f64::INFINITY, f64::min);
    best.is_finite().then_some(best)
}

/// Linear interpolation of sorted `(t, m)` pairs at `t`, constant beyond the ends.
fn interpolate(b: &[(f64, f64)], t: f64) -> f64 {
    let i = b.partition_point(|p| p.0 <= t);
    if i == 0 {
        return b[0].1;
    }
    if i == b.len() {
        return b[b.len() - 1].1;
    }
    let ((t0, m0), (t1, m1)) = (b[i - 1], b[i]);
    if t1 <= t0 {
        return m0;
    }
    m0 + (t - t0) / (t1 - t0) * (m1 - m0)
}

/// The point set the activations are fitted on: `points` itself for a representation with one
/// frame grid (`kind` not one whose bins have their own time grids), else the grid view of the
/// module docs: every bin's magnitudes interpolated linearly at knots `t_0 + k·step` from the
/// earliest time to the latest (`step` = `h_step`, or the finest bin's time step but at least
/// [`MIN_H_STEP`]).
///
/// # Errors
/// A `h_step` that is not a positive finite number of seconds, a grid of more than
/// [`MAX_GRID_CELLS`] cells (named with the step that would fit).
pub fn activation_points(
    points: &TfPoints,
    kind: TransformKind,
    h_step: Option<f64>,
) -> Result<TfPoints> {
    if let Some(s) = h_step {
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::param("h_step", s, "a positive time step in seconds"));
        }
    }
    if !has_per_bin_times(kind) {
        return Ok(points.clone());
    }
    let bins = per_bin(points);
    let Some(step) = h_step.or_else(|| finest_step(&bins).map(|s| s.max(MIN_H_STEP))) else {
        return Ok(points.clone());
    };
    let (t0, t1) = points.time_range();
    let knots = ((t1 - t0) / step).floor() + 1.0;
    let cells = knots * bins.len() as f64;
    if cells > MAX_GRID_CELLS as f64 {
        return Err(Error::param(
            "h_step",
            step,
            format!(
                "a step of at least {:.3e} s: {} bins × knots over {:.3} s must stay within \
                 {MAX_GRID_CELLS} cells",
                (t1 - t0) * bins.len() as f64 / MAX_GRID_CELLS as f64,
                bins.len(),
                t1 - t0
            ),
        ));
    }
    let times: Vec<f64> = (0..knots as usize).map(|k| t0 + k as f64 * step).collect();
    let mut mag = Vec::with_capacity(bins.len() * times.len());
    for b in &bins {
        mag.extend(times.iter().map(|&t| interpolate(b, t)));
    }
    TfPoints::from_grid(points.unique_freqs(), &times, &mag)
}

/// The error for a representation without an inverse, naming it and the alternatives.
pub(crate) fn check_invertible(r: &Representation) -> Result<()> {
    if r.is_invertible() {
        return Ok(());
    }
    let why = match r {
        Representation::Sines(_) => {
            "sines with tracking (the additive resynthesis needs partial tracks)"
        }
        _ => "an invertible representation: stft, nsgt, cwt, multires or sines with tracking",
    };
    Err(Error::param(
        "transform",
        format!(
            "{} (no inverse to resynthesize separated sources)",
            r.name()
        ),
        why,
    ))
}

/// [`separate`](super::separate) through the plan of `rep` (resolved for `sample_rate`).
pub(super) fn separate_in(
    mixture: &[f64],
    sample_rate: f64,
    templates: &[TemplateSet<'_>],
    cfg: &SeparateConfig,
    rep: &Representation,
    progress: Option<Progress<'_>>,
    start: Instant,
) -> Result<Separation> {
    crate::error::check_signal(mixture, sample_rate)?;
    let rep = rep.resolve(sample_rate)?;
    check_invertible(&rep)?;
    let plan = rep.plan(sample_rate, mixture.len())?;
    let coeffs = plan.analyze(mixture)?;
    let mut calibrated = coeffs.clone();
    calibrated.calibrate(cfg.calibration, &plan.unit_tone_gain())?;
    let points = calibrated.to_points(cfg.power)?;
    let fit_points = activation_points(&points, rep.kind(), cfg.h_step)?;
    let (model, ranks, fit_report) = fit_activations(&fit_points, templates, cfg, progress)?;

    // V̂_j per point: W at the point's frequency times H at its own time (between knots:
    // linear interpolation)
    let (freqs, times) = (points.unique_freqs(), points.unique_times());
    let (nf, nt) = (freqs.len(), times.len());
    let wv = model.w.evaluate(freqs);
    let hv = model.h.evaluate(times);
    let (fi, ti) = (points.freq_index(), points.time_index());
    let mut models = Vec::with_capacity(ranks.len());
    let mut c0 = 0;
    for &r in &ranks {
        let mut v = vec![0.0; points.len()];
        for c in c0..c0 + r {
            let (w, h) = (&wv[c * nf..(c + 1) * nf], &hv[c * nt..(c + 1) * nt]);
            for ((o, &f), &t) in v.iter_mut().zip(fi).zip(ti) {
                *o += w[f as usize] as f64 * h[t as usize] as f64;
            }
        }
        models.push(v);
        c0 += r;
    }

    let gains = masks(&models, cfg.power, cfg.mask)?;
    // returned only on request (8 bytes a point per output)
    let models = if cfg.keep_models { models } else { Vec::new() };
    let sources = resynthesize_masked(&rep, plan.as_ref(), &coeffs, &gains, mixture)?;
    let energy_share = energy_shares(&sources, mixture);
    Ok(Separation {
        has_noise: cfg.free > 0,
        sources,
        models,
        report: SeparationReport {
            config: cfg.clone(),
            samples: mixture.len(),
            sample_rate,
            bins: nf,
            frames: fit_points.unique_times().len(),
            ranks,
            fit: fit_report,
            energy_share,
            elapsed_s: start.elapsed().as_secs_f64(),
        },
    })
}

/// One signal per set of per-point gains: the mixture's coefficients `coeffs` (made by `plan`,
/// the plan of `rep` for `mixture`) times the gains, resynthesized with the plan's inverse; for
/// the CWT, band-limited to its scales (see `cwt_band_limit` in the source: its dual frame
/// amplifies what masks leave beyond the edge scales) with the mixture's remainder spread
/// equally. The step after the masks of a separation, public so that oracle masks go through
/// the same path.
///
/// # Errors
/// Gains of the wrong length or not finite, coefficients of another plan, a signal of another
/// length than the coefficients'.
pub fn resynthesize_masked(
    rep: &Representation,
    plan: &dyn Transform,
    coeffs: &Coefficients,
    gains: &[Vec<f64>],
    mixture: &[f64],
) -> Result<Vec<Vec<f64>>> {
    if mixture.len() != coeffs.signal_len() {
        return Err(Error::LengthMismatch {
            what: "mixture vs its coefficients".into(),
            expected: coeffs.signal_len(),
            got: mixture.len(),
        });
    }
    let mut sources = Vec::with_capacity(gains.len());
    for g in gains {
        let mut c = coeffs.clone();
        c.apply_gains(g)?;
        sources.push(plan.synthesize(&c)?);
    }
    if let Representation::Cwt(spec) = rep {
        let top = plan.bin_freqs().last().copied().unwrap_or(spec.f_min);
        let sr = plan.sample_rate();
        cwt_band_limit(&mut sources, mixture, sr, spec.f_min, top, spec.omega0)?;
    }
    Ok(sources)
}

/// The CWT's outputs limited to the band its scales cover, the mixture's remainder spread
/// equally so that they still sum to the mixture.
///
/// The CWT's inverse divides by the frame's diagonal `D`, which falls to ≈ 10⁻¹⁰ of its
/// in-band value beyond the edge scales (transform/cwt.rs: the regularized canonical dual). A
/// masked set of coefficients is not the transform of any signal, and its small parts beyond
/// the edge scales come back amplified by up to 10¹⁰ (measured: oracle ratio masks of two
/// harmonic sources reach 19 dB instead of the STFT's 54 dB). So each output keeps its
/// spectrum where every signal is recovered (`f_min·(1 − 2.1/ω0)` to `f_top·(1 + 2.1/ω0)`,
/// where the frame response is 1 to 10⁻⁷), with half-cosine tapers to zero at
/// `f_min·(1 − 3.5/ω0)` and `f_top·(1 + 3.5/ω0)`; what the outputs then miss of the mixture (its
/// own content outside the band, which the transform does not represent) is spread equally.
fn cwt_band_limit(
    sources: &mut [Vec<f64>],
    mixture: &[f64],
    sample_rate: f64,
    f_min: f64,
    f_top: f64,
    omega0: f64,
) -> Result<()> {
    let n = mixture.len();
    if sources.is_empty() || n < 2 {
        return Ok(());
    }
    let (lo, lo0) = (f_min * (1.0 - 2.1 / omega0), f_min * (1.0 - 3.5 / omega0));
    let (hi, hi0) = (f_top * (1.0 + 2.1 / omega0), f_top * (1.0 + 3.5 / omega0));
    let gain = |f: f64| -> f64 {
        if f >= lo && f <= hi {
            1.0
        } else if f < lo && f > lo0 {
            0.5 - 0.5 * (std::f64::consts::PI * (f - lo0) / (lo - lo0)).cos()
        } else if f > hi && f < hi0 {
            0.5 + 0.5 * (std::f64::consts::PI * (f - hi) / (hi0 - hi)).cos()
        } else {
            0.0
        }
    };
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut spec = fwd.make_output_vec();
    let gains: Vec<f64> = (0..spec.len())
        .map(|k| gain(k as f64 * sample_rate / n as f64))
        .collect();
    for y in sources.iter_mut() {
        let mut buf = y.clone();
        fwd.process(&mut buf, &mut spec)
            .map_err(|e| Error::Shape(format!("band limit FFT: {e}")))?;
        for (c, &g) in spec.iter_mut().zip(&gains) {
            *c *= g / n as f64;
        }
        inv.process(&mut spec, y)
            .map_err(|e| Error::Shape(format!("band limit inverse FFT: {e}")))?;
    }
    let j = sources.len() as f64;
    for i in 0..n {
        let e = (mixture[i] - sources.iter().map(|y| y[i]).sum::<f64>()) / j;
        for y in sources.iter_mut() {
            y[i] += e;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_band_times_become_a_grid_of_knots_and_one_grid_stays_as_it_is() {
        // two bins: steps 0.1 s (magnitude 1 + t) and 0.25 s (magnitude 10·t)
        let (mut t, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..10 {
            let ti = i as f64 * 0.1;
            t.push(ti);
            f.push(1000.0);
            m.push(1.0 + ti);
        }
        for i in 0..4 {
            let ti = i as f64 * 0.25;
            t.push(ti);
            f.push(100.0);
            m.push(10.0 * ti);
        }
        let p = TfPoints::new(t, f, m).unwrap();
        assert_eq!(p.unique_times().len(), 12);
        let g = activation_points(&p, TransformKind::Nsgt, None).unwrap();
        // knots 0, 0.1, …, 0.9 (the finest step); every bin at every knot
        assert_eq!(g.unique_times().len(), 10);
        assert!(g.grid().is_some());
        assert_eq!(g.unique_freqs(), p.unique_freqs());
        for (i, (&ti, &fi)) in g.t().iter().zip(g.f()).enumerate() {
            // linear in time between the samples, constant after the last (0.75 s)
            let want = if fi == 1000.0 {
                1.0 + ti
            } else {
                10.0 * ti.min(0.75)
            };
            assert!((g.m()[i] - want).abs() < 1e-12, "{ti} {fi}: {}", g.m()[i]);
        }
        // one frame grid: unchanged
        assert_eq!(activation_points(&p, TransformKind::Stft, None).unwrap(), p);
        // an explicit step
        let coarse = activation_points(&p, TransformKind::Cwt, Some(0.5)).unwrap();
        assert_eq!(coarse.unique_times().len(), 2);
        for bad in [0.0, -1.0, f64::NAN] {
            let e = activation_points(&p, TransformKind::Nsgt, Some(bad)).unwrap_err();
            assert!(e.to_string().contains("h_step"), "{e}");
        }
        let e = activation_points(&p, TransformKind::Nsgt, Some(1e-12)).unwrap_err();
        assert!(e.to_string().contains("cells"), "{e}");
    }
}
