//! Partial tracking and additive resynthesis (McAulay & Quatieri 1986, "Speech analysis/synthesis
//! based on a sinusoidal representation").
//!
//! **Tracking.** The peaks of consecutive frames ([`Sinusoidal::analyze`]) are linked into
//! tracks. A track alive at frame j−1 may continue with a peak of frame j whose frequency is
//! within `max_deviation` (cents or Hz) of the track's last frequency; all admissible
//! (track, peak) pairs are taken greedily in order of increasing deviation, each track and each
//! peak at most once. A track without a continuation dies; a peak left unmatched is born as a
//! new track. Tracks shorter than `min_len` frames are dropped at the end.
//!
//! **Resynthesis.** Between the centres `c_j = j·H` and `c_{j+1}` of two consecutive frames of a
//! track (frequencies ω in rad/sample, phases φ), the phase is the cubic that meets both phases
//! and both frequencies,
//!
//! ```text
//! θ(n) = φ_j + ω_j·n + α·n² + β·n³,   n = 0..H,
//! e = φ_{j+1} − φ_j − ω_j·H + 2πM,
//! α = 3e/H² − (ω_{j+1} − ω_j)/H,   β = −2e/H³ + (ω_{j+1} − ω_j)/H²,
//! ```
//!
//! with the integer M that makes θ smoothest (McAulay & Quatieri's
//! `M = round(((φ_j + ω_j·H − φ_{j+1}) + (ω_{j+1} − ω_j)·H/2)/2π)`), and the amplitude is
//! interpolated linearly. A track fades in over the hop before its first frame and out over the
//! hop after its last one, at constant frequency. The output is `Σ_tracks A(n)·cos θ(n)`.

use super::sinusoidal::{Peak, Sinusoidal};
use crate::error::{Error, Result};
use crate::points::TfPoints;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Largest frequency change between consecutive frames of one track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxDeviation {
    /// Relative: |1200·log2(f_{j}/f_{j−1})| ≤ this many cents.
    Cents(f64),
    /// Absolute: |f_j − f_{j−1}| ≤ this many Hz.
    Hz(f64),
}

impl MaxDeviation {
    /// Deviation of `f` from `from` in this rule's unit.
    fn distance(&self, from: f64, f: f64) -> f64 {
        match self {
            MaxDeviation::Cents(_) => (1200.0 * (f / from).log2()).abs(),
            MaxDeviation::Hz(_) => (f - from).abs(),
        }
    }

    fn limit(&self) -> f64 {
        match *self {
            MaxDeviation::Cents(c) | MaxDeviation::Hz(c) => c,
        }
    }
}

/// Partial-tracking parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackParams {
    /// Largest frequency step between consecutive frames.
    pub max_deviation: MaxDeviation,
    /// Tracks with fewer frames are dropped.
    pub min_len: usize,
}

impl Default for TrackParams {
    /// 50 cents between frames (a quarter tone either way), tracks of at least 3 frames.
    fn default() -> Self {
        TrackParams {
            max_deviation: MaxDeviation::Cents(50.0),
            min_len: 3,
        }
    }
}

impl TrackParams {
    pub(crate) fn validate(&self) -> Result<()> {
        let d = self.max_deviation.limit();
        if !(d.is_finite() && d > 0.0) {
            let unit = match self.max_deviation {
                MaxDeviation::Cents(_) => "a positive number of cents",
                MaxDeviation::Hz(_) => "a positive number of Hz",
            };
            return Err(Error::param("max deviation", d, unit));
        }
        if self.min_len == 0 {
            return Err(Error::param("minimum track length", 0, "at least 1 frame"));
        }
        Ok(())
    }
}

/// One frame of a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    /// Frame index j (centre sample `j·hop`).
    pub frame: usize,
    /// Frame centre time (s).
    pub time: f64,
    /// Frequency (Hz).
    pub freq: f64,
    /// Amplitude (a unit sinusoid reads 1).
    pub amp: f64,
    /// Phase at the frame centre (rad).
    pub phase: f64,
}

impl From<&Peak> for TrackPoint {
    fn from(p: &Peak) -> Self {
        TrackPoint {
            frame: p.frame,
            time: p.time,
            freq: p.freq,
            amp: p.amp,
            phase: p.phase,
        }
    }
}

/// A partial: peaks in consecutive frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// One point per frame, frames consecutive and increasing.
    pub points: Vec<TrackPoint>,
}

impl Track {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True for a track without frames (never produced by [`track_peaks`]).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Mean frequency (Hz).
    pub fn mean_freq(&self) -> f64 {
        self.points.iter().map(|p| p.freq).sum::<f64>() / self.points.len().max(1) as f64
    }
}

/// Links peaks (ordered by frame, as [`Sinusoidal::analyze`] returns them) into tracks, ordered
/// by first frame, then by frequency.
pub fn track_peaks(peaks: &[Peak], params: &TrackParams) -> Result<Vec<Track>> {
    params.validate()?;
    if let Some(i) = (1..peaks.len()).find(|&i| peaks[i].frame < peaks[i - 1].frame) {
        return Err(Error::param(
            "peak order",
            format!(
                "frame {} after frame {}",
                peaks[i].frame,
                peaks[i - 1].frame
            ),
            "peaks sorted by frame",
        ));
    }
    if let Some(p) = peaks
        .iter()
        .find(|p| !(p.freq.is_finite() && p.freq > 0.0 && p.amp.is_finite()))
    {
        return Err(Error::param(
            "peak",
            format!("{} Hz, amplitude {}", p.freq, p.amp),
            "a positive frequency and a finite amplitude",
        ));
    }
    let limit = params.max_deviation.limit();
    let mut done: Vec<Track> = Vec::new();
    let mut alive: Vec<Track> = Vec::new();
    let mut start = 0;
    while start < peaks.len() {
        let frame = peaks[start].frame;
        let end = start + peaks[start..].partition_point(|p| p.frame == frame);
        let frame_peaks = &peaks[start..end];
        // only tracks that reached the previous frame can continue
        let (cont, dead): (Vec<Track>, Vec<Track>) = alive
            .drain(..)
            .partition(|t| t.points.last().map(|p| p.frame + 1) == Some(frame));
        done.extend(dead);
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (ti, t) in cont.iter().enumerate() {
            let last = t.points.last().expect("tracks are never empty").freq;
            for (pi, p) in frame_peaks.iter().enumerate() {
                let d = params.max_deviation.distance(last, p.freq);
                if d <= limit {
                    pairs.push((d, ti, pi));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut track_of_peak = vec![usize::MAX; frame_peaks.len()];
        let mut matched = vec![false; cont.len()];
        for (_, ti, pi) in pairs {
            if !matched[ti] && track_of_peak[pi] == usize::MAX {
                matched[ti] = true;
                track_of_peak[pi] = ti;
            }
        }
        let mut cont: Vec<Option<Track>> = cont.into_iter().map(Some).collect();
        for (pi, p) in frame_peaks.iter().enumerate() {
            match track_of_peak[pi] {
                usize::MAX => alive.push(Track {
                    points: vec![p.into()],
                }),
                ti => {
                    let mut t = cont[ti].take().expect("each track is matched once");
                    t.points.push(p.into());
                    alive.push(t);
                }
            }
        }
        done.extend(cont.into_iter().flatten());
        start = end;
    }
    done.extend(alive);
    done.retain(|t| t.len() >= params.min_len);
    done.sort_by(|a, b| {
        (a.points[0].frame, a.points[0].freq)
            .partial_cmp(&(b.points[0].frame, b.points[0].freq))
            .expect("frequencies are finite")
    });
    Ok(done)
}

/// The point set of `amp^p` of every frame of every track.
pub fn tracks_to_points(tracks: &[Track], p: f64) -> Result<TfPoints> {
    let pts = tracks.iter().flat_map(|t| t.points.iter());
    TfPoints::new(
        pts.clone().map(|q| q.time).collect(),
        pts.clone().map(|q| q.freq).collect(),
        pts.map(|q| q.amp).collect(),
    )?
    .powered(p)
}

/// Additive resynthesis of `tracks` (frames centred on `j·hop`) into `len` samples at
/// `sample_rate` Hz; see the module docs for the phase and amplitude interpolation.
pub fn synthesize_tracks(
    tracks: &[Track],
    hop: usize,
    sample_rate: f64,
    len: usize,
) -> Result<Vec<f64>> {
    crate::error::check_sample_rate(sample_rate)?;
    if hop == 0 {
        return Err(Error::param("hop", 0, "at least 1 sample"));
    }
    let mut y = vec![0.0; len];
    let h = hop as f64;
    let w = |f: f64| 2.0 * PI * f / sample_rate;
    let mut add = |idx: i64, v: f64| {
        if idx >= 0 && (idx as usize) < len {
            y[idx as usize] += v;
        }
    };
    for t in tracks {
        for pair in t.points.windows(2) {
            if pair[1].frame != pair[0].frame + 1 {
                return Err(Error::param(
                    "track",
                    format!(
                        "frame {} followed by frame {}",
                        pair[0].frame, pair[1].frame
                    ),
                    "consecutive frames",
                ));
            }
        }
        let (first, last) = match (t.points.first(), t.points.last()) {
            (Some(a), Some(b)) => (a, b),
            _ => continue,
        };
        // fade in over the hop before the first frame, at constant frequency
        let c0 = (first.frame * hop) as i64;
        let w0 = w(first.freq);
        for n in 1..=hop {
            let a = first.amp * (1.0 - n as f64 / h);
            add(c0 - n as i64, a * (first.phase - w0 * n as f64).cos());
        }
        for pair in t.points.windows(2) {
            let (p0, p1) = (&pair[0], &pair[1]);
            let (w0, w1) = (w(p0.freq), w(p1.freq));
            let m = (((p0.phase + w0 * h - p1.phase) + (w1 - w0) * h / 2.0) / (2.0 * PI)).round();
            let e = p1.phase - p0.phase - w0 * h + 2.0 * PI * m;
            let alpha = 3.0 * e / (h * h) - (w1 - w0) / h;
            let beta = -2.0 * e / (h * h * h) + (w1 - w0) / (h * h);
            let c = (p0.frame * hop) as i64;
            for n in 0..hop {
                let x = n as f64;
                let theta = p0.phase + w0 * x + alpha * x * x + beta * x * x * x;
                let a = p0.amp + (p1.amp - p0.amp) * x / h;
                add(c + n as i64, a * theta.cos());
            }
        }
        // fade out over the hop after the last frame
        let c1 = (last.frame * hop) as i64;
        let w1 = w(last.freq);
        for n in 0..hop {
            let a = last.amp * (1.0 - n as f64 / h);
            add(c1 + n as i64, a * (last.phase + w1 * n as f64).cos());
        }
    }
    Ok(y)
}

impl Sinusoidal {
    /// Peaks of `x`, linked into tracks.
    pub fn track(&self, x: &[f64], params: &TrackParams) -> Result<Vec<Track>> {
        track_peaks(&self.analyze(x)?, params)
    }

    /// Additive resynthesis of tracks made by this plan's framing, `len` samples long.
    pub fn synthesize(&self, tracks: &[Track], len: usize) -> Result<Vec<f64>> {
        synthesize_tracks(tracks, self.params().hop, self.sample_rate(), len)
    }
}

#[cfg(test)]
mod tests {
    use super::super::sinusoidal::SinusoidalParams;
    use super::*;

    const SR: f64 = 16000.0;

    fn tones(parts: &[(f64, f64, f64)], len: usize) -> Vec<f64> {
        (0..len)
            .map(|i| {
                parts
                    .iter()
                    .map(|&(f, a, ph)| a * (2.0 * PI * f * i as f64 / SR + ph).cos())
                    .sum()
            })
            .collect()
    }

    fn picker(threshold_db: f64) -> Sinusoidal {
        let mut p = SinusoidalParams::new(1024, 256);
        // above the first Hann sidelobe (−31.5 dB) of the loudest test tone, below the quietest
        p.threshold_db = threshold_db;
        Sinusoidal::new(p, SR).unwrap()
    }

    fn snr_db(x: &[f64], y: &[f64], lo: usize, hi: usize) -> f64 {
        let s: f64 = x[lo..hi].iter().map(|v| v * v).sum();
        let e: f64 = x[lo..hi]
            .iter()
            .zip(&y[lo..hi])
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        10.0 * (s / e).log10()
    }

    #[test]
    fn two_steady_tones_are_two_tracks_and_resynthesize_above_60_db() {
        // 0.5 (−6 dB) and 0.2 (−14 dB): a −30 dB threshold keeps both and no sidelobe of either
        let parts = [(440.0, 0.5, 0.3), (1234.5, 0.2, -1.0)];
        let len = 32000;
        let x = tones(&parts, len);
        let s = picker(-30.0);
        let tracks = s.track(&x, &TrackParams::default()).unwrap();
        assert_eq!(tracks.len(), 2, "{:?}", tracks.iter().map(Track::mean_freq));
        for (t, &(f, a, _)) in tracks.iter().zip(&parts) {
            // every frame, edges included, from the first to the last
            assert_eq!(t.len(), 1 + len / 256);
            for q in t.points.iter().filter(|q| q.time > 0.1 && q.time < 1.9) {
                assert!((1200.0 * (q.freq / f).log2()).abs() < 1.0, "{q:?}");
                assert!((q.amp / a - 1.0).abs() < 0.012, "{q:?}");
            }
        }
        let y = s.synthesize(&tracks, len).unwrap();
        // away from the edges, where the frames are only partly inside the signal
        // measured: 85 dB (two tones), 94 dB (three); the bound leaves room for other FFT
        // back ends while still failing on any interpolation mistake (a half-sample phase slip
        // at 1234 Hz alone gives ≈ 22 dB)
        let snr = snr_db(&x, &y, 1024, len - 1024);
        assert!(snr > 60.0, "resynthesis SNR {snr:.1} dB");
        // three tones across the spectrum
        let parts3 = [(300.0, 0.4, 0.0), (1000.0, 0.3, 1.0), (2500.5, 0.25, 2.0)];
        let x3 = tones(&parts3, len);
        let tr3 = s.track(&x3, &TrackParams::default()).unwrap();
        assert_eq!(tr3.len(), 3);
        let y3 = s.synthesize(&tr3, len).unwrap();
        let snr3 = snr_db(&x3, &y3, 1024, len - 1024);
        assert!(snr3 > 60.0, "three tones: resynthesis SNR {snr3:.1} dB");
        eprintln!("resynthesis SNR: two tones {snr:.1} dB, three tones {snr3:.1} dB");
    }

    #[test]
    fn a_chirp_and_a_vibrato_are_one_track_each() {
        let len = 32000;
        // linear chirp 300 → 600 Hz over 2 s: f(t) = 300 + 150·t
        let chirp: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 / SR;
                0.5 * (2.0 * PI * (300.0 * t + 75.0 * t * t)).cos()
            })
            .collect();
        // vibrato: 800 Hz ± 30 cents at 5 Hz
        let depth = 2f64.powf(30.0 / 1200.0) - 1.0;
        let vib: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 / SR;
                let ph = 2.0 * PI * 800.0 * t - 800.0 * depth / 5.0 * (2.0 * PI * 5.0 * t).cos();
                0.5 * ph.cos()
            })
            .collect();
        let s = picker(-30.0);
        for (name, x, inst) in [
            (
                "chirp",
                &chirp,
                Box::new(|t: f64| 300.0 + 150.0 * t) as Box<dyn Fn(f64) -> f64>,
            ),
            (
                "vibrato",
                &vib,
                Box::new(move |t: f64| 800.0 * (1.0 + depth * (2.0 * PI * 5.0 * t).sin())),
            ),
        ] {
            let tracks = s.track(x, &TrackParams::default()).unwrap();
            assert_eq!(
                tracks.len(),
                1,
                "{name}: {:?}",
                tracks.iter().map(Track::len)
            );
            let t = &tracks[0];
            assert!(t.len() >= len / 256 - 2, "{name}: {} frames", t.len());
            for q in t.points.iter().filter(|q| q.time > 0.1 && q.time < 1.9) {
                // the window (64 ms) averages the frequency around the frame centre: for the
                // chirp it is symmetric (no bias), for the vibrato the curvature biases it
                // by ≲ 2 cents
                let cents = 1200.0 * (q.freq / inst(q.time)).log2();
                assert!(cents.abs() < 5.0, "{name} at {} s: {cents} cents", q.time);
            }
        }
    }

    #[test]
    fn crossing_and_ending_partials_do_not_panic() {
        let len = 24000;
        // a rising and a falling chirp that cross at 0.75 s, and a tone that stops at 0.5 s
        let x: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 / SR;
                let up = 0.4 * (2.0 * PI * (500.0 * t + 200.0 * t * t)).cos();
                let down = 0.4 * (2.0 * PI * (1100.0 * t - 200.0 * t * t)).cos();
                let stop = if t < 0.5 {
                    0.3 * (2.0 * PI * 2000.0 * t).cos()
                } else {
                    0.0
                };
                up + down + stop
            })
            .collect();
        let s = picker(-30.0);
        let tracks = s.track(&x, &TrackParams::default()).unwrap();
        // the 2 kHz tone is one track that ends within a window of 0.5 s
        let tone: Vec<&Track> = tracks
            .iter()
            .filter(|t| (t.mean_freq() - 2000.0).abs() < 20.0)
            .collect();
        assert_eq!(tone.len(), 1);
        let end = tone[0].points.last().unwrap().time;
        assert!((end - 0.5).abs() < 1024.0 / SR, "ends at {end} s");
        let y = s.synthesize(&tracks, len).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        // after the tone and its fade-out, nothing is synthesized near 2 kHz
        assert!(tracks
            .iter()
            .flat_map(|t| &t.points)
            .filter(|q| q.time > 0.5 + 1024.0 / SR)
            .all(|q| (q.freq - 2000.0).abs() > 100.0));
        // silence and a single frame: no tracks, silent output
        let z = s.track(&vec![0.0; 4000], &TrackParams::default()).unwrap();
        assert!(z.is_empty());
        assert_eq!(s.synthesize(&z, 10).unwrap(), vec![0.0; 10]);
        let one = s
            .track(
                &tones(&[(440.0, 0.5, 0.0)], 100),
                &TrackParams {
                    min_len: 1,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(s.synthesize(&one, 100).is_ok());
    }

    #[test]
    fn impossible_tracking_parameters_are_errors() {
        let peaks = picker(-30.0)
            .analyze(&tones(&[(440.0, 0.5, 0.0)], 4000))
            .unwrap();
        for bad in [
            TrackParams {
                max_deviation: MaxDeviation::Cents(0.0),
                min_len: 3,
            },
            TrackParams {
                max_deviation: MaxDeviation::Hz(f64::NAN),
                min_len: 3,
            },
            TrackParams {
                max_deviation: MaxDeviation::Hz(10.0),
                min_len: 0,
            },
        ] {
            assert!(track_peaks(&peaks, &bad).is_err());
        }
        let mut rev = peaks.clone();
        rev.reverse();
        let e = track_peaks(&rev, &TrackParams::default()).unwrap_err();
        assert!(e.to_string().contains("sorted"), "{e}");
        assert!(synthesize_tracks(&[], 0, SR, 10).is_err());
        // Hz deviation works like cents
        let t = track_peaks(
            &peaks,
            &TrackParams {
                max_deviation: MaxDeviation::Hz(5.0),
                min_len: 3,
            },
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        let pts = tracks_to_points(&t, 0.5).unwrap();
        assert_eq!(pts.len(), t[0].len());
    }
}
