//! Building a [`Representation`] from options given one by one ([`RepresentationOptions`], the
//! command line's and Python's keyword arguments) and checking its settings against their
//! limits before anything is allocated ([`Representation::validate`]).

use super::*;

/// Settings given one by one (command-line options, keyword arguments) over a kind's defaults:
/// `None` keeps the default. [`Representation::with_options`] applies them and refuses options
/// that the kind does not take — except `window` and `hop`, a front end's general framing
/// defaults, which apply where the kind has a window (stft, sines) or a hop (stft, sines, vqt,
/// and the cwt's largest per-scale hop) and are ignored elsewhere.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepresentationOptions {
    /// STFT / sines window (samples).
    pub window: Option<usize>,
    /// Hop (samples): STFT, sines, VQT; the CWT's largest per-scale hop.
    pub hop: Option<usize>,
    /// Lowest frequency (Hz): cqt, vqt, nsgt, cwt.
    pub f_min: Option<f64>,
    /// Highest frequency (Hz): cqt, vqt, nsgt, cwt.
    pub f_max: Option<f64>,
    /// Bins (bands, voices) per octave: cqt, vqt, nsgt, cwt.
    pub bins_per_octave: Option<usize>,
    /// cqt: cycles per window; vqt: filter scale.
    pub q: Option<f64>,
    /// vqt: bandwidth offset γ (Hz).
    pub gamma: Option<f64>,
    /// cwt: Morlet ω0.
    pub omega0: Option<f64>,
    /// sines: peak threshold (dB re a unit sinusoid).
    pub threshold_db: Option<f64>,
    /// sines: most peaks per frame.
    pub max_peaks: Option<usize>,
    /// sines: link peaks into tracks.
    pub track: bool,
    /// sines: largest step of a track between frames (needs `track`).
    pub max_deviation: Option<MaxDeviation>,
    /// sines: shortest track kept, frames (needs `track`).
    pub min_track_len: Option<usize>,
    /// multires: split frequencies (Hz).
    pub splits: Option<Vec<f64>>,
    /// multires: window per band.
    pub windows: Option<Vec<usize>>,
    /// multires: hop per band.
    pub hops: Option<Vec<usize>>,
}

fn check_freq(name: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::param(name, v, "a positive frequency in Hz"));
    }
    Ok(())
}

fn check_window_hop(window: usize, hop: usize) -> Result<()> {
    check_count("window", window, 2, MAX_WINDOW, "samples")?;
    check_count("hop", hop, 1, window, "samples, at most the window")
}

impl Representation {
    /// The defaults of `kind` with `options` applied.
    ///
    /// # Errors
    /// An option that `kind` does not take (named), an inconsistent combination (`splits`
    /// without `windows`, tracking options without `track`), and every check of
    /// [`validate`](Self::validate).
    pub fn with_options(kind: TransformKind, o: &RepresentationOptions) -> Result<Self> {
        let refuse = |name: &'static str, given: bool, takes: &str| -> Result<()> {
            if given {
                Err(Error::param(
                    name,
                    format!("given with transform {kind}"),
                    format!("{takes} only"),
                ))
            } else {
                Ok(())
            }
        };
        let constant_q = matches!(
            kind,
            TransformKind::Cqt | TransformKind::Vqt | TransformKind::Nsgt | TransformKind::Cwt
        );
        for (name, given) in [
            ("f_min", o.f_min.is_some()),
            ("f_max", o.f_max.is_some()),
            ("bins_per_octave", o.bins_per_octave.is_some()),
        ] {
            refuse(name, given && !constant_q, "cqt, vqt, nsgt and cwt")?;
        }
        refuse(
            "q",
            o.q.is_some() && !matches!(kind, TransformKind::Cqt | TransformKind::Vqt),
            "cqt and vqt",
        )?;
        refuse(
            "gamma",
            o.gamma.is_some() && kind != TransformKind::Vqt,
            "vqt",
        )?;
        refuse(
            "omega0",
            o.omega0.is_some() && kind != TransformKind::Cwt,
            "cwt",
        )?;
        let sines = kind == TransformKind::Sines;
        refuse("threshold", o.threshold_db.is_some() && !sines, "sines")?;
        refuse("max_peaks", o.max_peaks.is_some() && !sines, "sines")?;
        refuse("track", o.track && !sines, "sines")?;
        refuse(
            "max_deviation",
            o.max_deviation.is_some() && !o.track,
            "sines with track",
        )?;
        refuse(
            "min_track_len",
            o.min_track_len.is_some() && !o.track,
            "sines with track",
        )?;
        let multires = kind == TransformKind::Multires;
        refuse("splits", o.splits.is_some() && !multires, "multires")?;
        refuse("windows", o.windows.is_some() && !multires, "multires")?;
        refuse("hops", o.hops.is_some() && !multires, "multires")?;

        let mut r = Representation::default_for(kind);
        match &mut r {
            Representation::Stft(p) => {
                p.window_len = o.window.unwrap_or(p.window_len);
                p.hop = o.hop.unwrap_or(p.hop);
            }
            Representation::Cqt(c) => {
                c.f_min = o.f_min.unwrap_or(c.f_min);
                c.bins_per_octave = o.bins_per_octave.unwrap_or(c.bins_per_octave);
                c.q = o.q.or(c.q);
                c.f_max = o.f_max.or(c.f_max);
            }
            Representation::Vqt(v) => {
                v.f_min = o.f_min.unwrap_or(v.f_min);
                v.bins_per_octave = o.bins_per_octave.unwrap_or(v.bins_per_octave);
                v.filter_scale = o.q.unwrap_or(v.filter_scale);
                v.gamma = o.gamma.unwrap_or(v.gamma);
                v.hop = o.hop.unwrap_or(v.hop);
                v.f_max = o.f_max.or(v.f_max);
            }
            Representation::Nsgt(n) => {
                n.f_min = o.f_min.unwrap_or(n.f_min);
                n.bins_per_octave = o.bins_per_octave.unwrap_or(n.bins_per_octave);
                n.f_max = o.f_max.or(n.f_max);
            }
            Representation::Cwt(c) => {
                c.f_min = o.f_min.unwrap_or(c.f_min);
                c.voices_per_octave = o.bins_per_octave.unwrap_or(c.voices_per_octave);
                c.omega0 = o.omega0.unwrap_or(c.omega0);
                c.f_max = o.f_max.or(c.f_max);
                if let (Some(hop), Some(h)) = (o.hop, c.hop.as_mut()) {
                    h.max = hop;
                }
            }
            Representation::Sines(s) => {
                s.window_len = o.window.unwrap_or(s.window_len);
                s.hop = o.hop.unwrap_or(s.hop);
                s.threshold_db = o.threshold_db.unwrap_or(s.threshold_db);
                s.max_peaks = o.max_peaks.unwrap_or(s.max_peaks);
                if o.track {
                    let mut t = TrackParams::default();
                    t.max_deviation = o.max_deviation.unwrap_or(t.max_deviation);
                    t.min_len = o.min_track_len.unwrap_or(t.min_len);
                    s.tracking = Some(t);
                }
            }
            Representation::Multires(m) => {
                if o.splits.is_some() && o.windows.is_none() {
                    let n = o.splits.as_ref().map_or(0, Vec::len);
                    return Err(Error::param(
                        "windows",
                        format!("missing for {n} split frequencies"),
                        format!("{} window lengths (one per band)", n + 1),
                    ));
                }
                m.splits = o.splits.clone();
                m.windows = o.windows.clone();
                m.hops = o.hops.clone();
            }
            Representation::Hybrid(_) => {}
        }
        r.validate()?;
        Ok(r)
    }

    /// Checks what can be checked without the sample rate: sizes against their limits
    /// ([`MAX_WINDOW`], [`MAX_BINS_PER_OCTAVE`], [`MAX_BINS`], [`MAX_PARTS`]) before anything is
    /// allocated, frequencies positive and finite.
    ///
    /// # Errors
    /// The first impossible value, named, with the range that would be accepted.
    pub fn validate(&self) -> Result<()> {
        let bpo = |name: &'static str, b: usize| {
            check_count(name, b, 1, MAX_BINS_PER_OCTAVE, "per octave")
        };
        let opt_freq =
            |name: &'static str, f: Option<f64>| f.map_or(Ok(()), |f| check_freq(name, f));
        match self {
            Representation::Stft(p) => check_window_hop(p.window_len, p.hop),
            Representation::Cqt(c) => {
                check_freq("f_min", c.f_min)?;
                opt_freq("f_max", c.f_max)?;
                bpo("bins_per_octave", c.bins_per_octave)?;
                if let Some(q) = c.q {
                    if !(q.is_finite() && q > 0.0 && q <= 4.0 * MAX_BINS_PER_OCTAVE as f64) {
                        return Err(Error::param(
                            "q",
                            q,
                            format!("cycles per window in (0, {}]", 4 * MAX_BINS_PER_OCTAVE),
                        ));
                    }
                }
                if let Some(n) = c.n_bins {
                    check_count("n_bins", n, 1, MAX_BINS, "bins")?;
                }
                check_count("hop_divisor", c.hop_divisor, 1, 1024, "hop = N_k / divisor")
            }
            Representation::Vqt(v) => {
                check_freq("f_min", v.f_min)?;
                opt_freq("f_max", v.f_max)?;
                bpo("bins_per_octave", v.bins_per_octave)?;
                if !(v.filter_scale.is_finite() && v.filter_scale > 0.0 && v.filter_scale <= 100.0)
                {
                    return Err(Error::param(
                        "filter_scale",
                        v.filter_scale,
                        "a window scale in (0, 100]",
                    ));
                }
                if !(v.gamma.is_finite() && v.gamma >= 0.0) {
                    return Err(Error::param("gamma", v.gamma, "a bandwidth offset ≥ 0 Hz"));
                }
                if let Some(n) = v.n_bins {
                    check_count("n_bins", n, 1, MAX_BINS, "bins")?;
                }
                check_count("hop", v.hop, 1, MAX_WINDOW, "samples")
            }
            Representation::Nsgt(n) => {
                check_freq("f_min", n.f_min)?;
                opt_freq("f_max", n.f_max)?;
                bpo("bins_per_octave", n.bins_per_octave)
            }
            Representation::Cwt(c) => {
                check_freq("f_min", c.f_min)?;
                opt_freq("f_max", c.f_max)?;
                bpo("voices_per_octave", c.voices_per_octave)?;
                if !(c.omega0.is_finite() && c.omega0 >= 1.0 && c.omega0 <= 1000.0) {
                    return Err(Error::param(
                        "omega0",
                        c.omega0,
                        "a Morlet centre frequency in [1, 1000] rad",
                    ));
                }
                if let Some(h) = c.hop {
                    check_count("hop", h.max, 1, MAX_WINDOW, "samples")?;
                }
                Ok(())
            }
            Representation::Sines(s) => {
                check_window_hop(s.window_len, s.hop)?;
                check_count(
                    "zero_pad",
                    s.zero_pad,
                    1,
                    64,
                    "FFT size = window · zero_pad",
                )?;
                check_count(
                    "fft size",
                    s.window_len.saturating_mul(s.zero_pad),
                    4,
                    MAX_WINDOW,
                    "window · zero_pad samples",
                )?;
                check_count("max_peaks", s.max_peaks, 1, MAX_WINDOW, "peaks per frame")?;
                if !s.threshold_db.is_finite() {
                    return Err(Error::param(
                        "threshold",
                        s.threshold_db,
                        "a finite level in dB",
                    ));
                }
                Ok(())
            }
            Representation::Multires(m) => {
                for &w in m.windows.iter().flatten() {
                    check_count("windows", w, 2, MAX_WINDOW, "samples per band")?;
                }
                for &h in m.hops.iter().flatten() {
                    check_count("hops", h, 1, MAX_WINDOW, "samples per band")?;
                }
                for &f in m.splits.iter().flatten() {
                    check_freq("splits", f)?;
                }
                if m.windows.as_ref().map_or(0, Vec::len) > MAX_PARTS {
                    return Err(Error::param(
                        "windows",
                        "too many bands",
                        format!("at most {MAX_PARTS}"),
                    ));
                }
                Ok(())
            }
            Representation::Hybrid(h) => {
                check_count("parts", h.parts.len(), 1, MAX_PARTS, "representations")?;
                for p in &h.parts {
                    if let Representation::Hybrid(_) = p {
                        return Err(Error::param(
                            "parts",
                            "a hybrid inside a hybrid",
                            "plain representations (list every part at the top level)",
                        ));
                    }
                    p.validate()?;
                }
                Ok(())
            }
        }
    }
}
