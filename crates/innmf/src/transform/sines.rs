//! The sinusoidal model as one plan: spectral peaks ([`Sinusoidal`]), optionally linked into
//! partial tracks ([`track_peaks`]), resynthesized additively ([`synthesize_tracks`]).
//!
//! **Synthesis without tracking.** Each peak is resynthesized on its own, as a one-frame track:
//! a sinusoid at the peak's frequency, phase-locked to the peak's phase at its frame centre,
//! under a triangular envelope that rises over the hop before the centre and falls over the hop
//! after it. The triangles of consecutive frames sum to one, so a steady sinusoid (whose peaks
//! carry consistent phases) comes back as it was; a frequency that moves within a hop is
//! rendered as a cross-fade between the frames' constant frequencies instead of the tracked
//! model's cubic phase. Both are linear in the peak amplitudes, which is what masks need.

use super::calibration::BinScale;
use super::partials::{synthesize_tracks, track_peaks, Track, TrackParams, TrackPoint};
use super::sinusoidal::{Sinusoidal, SinusoidalParams};
use crate::error::{Error, Result};
use crate::points::TfPoints;

/// Peaks or partial tracks of one signal, with what resynthesis needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SinusoidalCoefficients {
    /// Partial tracks; without tracking, one single-frame track per peak, in the order
    /// [`Sinusoidal::analyze`] returns them (frame by frame, loudest first).
    pub tracks: Vec<Track>,
    /// Whether the peaks were linked into tracks.
    pub tracked: bool,
    /// Hop (samples): frame j is centred on sample `j·hop`.
    pub hop: usize,
    /// FFT size of the peak picker (`window_len·zero_pad`): its bins are the calibration's bins.
    pub fft_len: usize,
    /// Sample rate (Hz).
    pub sample_rate: f64,
    /// Length of the analyzed signal in samples.
    pub signal_len: usize,
}

impl SinusoidalCoefficients {
    /// Number of peaks over all tracks.
    pub fn n_points(&self) -> usize {
        self.tracks.iter().map(Track::len).sum()
    }

    /// Every peak, track after track, frame by frame.
    pub fn points(&self) -> impl Iterator<Item = &TrackPoint> {
        self.tracks.iter().flat_map(|t| t.points.iter())
    }

    pub(crate) fn points_mut(&mut self) -> impl Iterator<Item = &mut TrackPoint> {
        self.tracks.iter_mut().flat_map(|t| t.points.iter_mut())
    }

    /// The point set of `amp^p` of every peak; an error when there is none.
    pub fn to_points(&self, p: f64) -> Result<TfPoints> {
        super::partials::tracks_to_points(&self.tracks, p)
    }

    /// The FFT bin nearest to `freq` Hz.
    fn bin_of(&self, freq: f64) -> usize {
        let k = (freq * self.fft_len as f64 / self.sample_rate).round();
        (k.max(0.0) as usize).min(self.fft_len / 2)
    }
}

impl BinScale for SinusoidalCoefficients {
    /// The picker's FFT bins, `fft_len/2 + 1`.
    fn n_bins(&self) -> usize {
        self.fft_len / 2 + 1
    }

    /// Divides each peak's amplitude by the divisor of its nearest FFT bin.
    fn divide_bins(&mut self, divisors: &[f64]) {
        let bins: Vec<usize> = self.points().map(|q| self.bin_of(q.freq)).collect();
        for (q, k) in self.points_mut().zip(bins) {
            q.amp /= divisors[k];
        }
    }
}

/// A planned sinusoidal model: a peak picker and, optionally, partial tracking.
#[derive(Debug, Clone)]
pub struct SinusoidalModel {
    picker: Sinusoidal,
    tracking: Option<TrackParams>,
}

impl SinusoidalModel {
    /// Validates the picker's parameters for `sample_rate` and, when given, the tracking's.
    pub fn new(
        params: SinusoidalParams,
        tracking: Option<TrackParams>,
        sample_rate: f64,
    ) -> Result<Self> {
        let picker = Sinusoidal::new(params, sample_rate)?;
        if let Some(t) = &tracking {
            t.validate()?;
        }
        Ok(SinusoidalModel { picker, tracking })
    }

    /// The peak picker.
    pub fn picker(&self) -> &Sinusoidal {
        &self.picker
    }

    /// The tracking parameters (None: peaks stay separate).
    pub fn tracking(&self) -> Option<&TrackParams> {
        self.tracking.as_ref()
    }

    fn fft_len(&self) -> usize {
        let p = self.picker.params();
        p.window_len * p.zero_pad
    }

    /// Peaks of `x` (tracked when the plan tracks).
    pub fn analyze(&self, x: &[f64]) -> Result<SinusoidalCoefficients> {
        let peaks = self.picker.analyze(x)?;
        let tracks = match &self.tracking {
            Some(tp) => track_peaks(&peaks, tp)?,
            None => peaks
                .iter()
                .map(|p| Track {
                    points: vec![p.into()],
                })
                .collect(),
        };
        Ok(SinusoidalCoefficients {
            tracks,
            tracked: self.tracking.is_some(),
            hop: self.picker.params().hop,
            fft_len: self.fft_len(),
            sample_rate: self.picker.sample_rate(),
            signal_len: x.len(),
        })
    }

    /// Additive resynthesis (module docs) to `c.signal_len` samples.
    pub fn synthesize(&self, c: &SinusoidalCoefficients) -> Result<Vec<f64>> {
        let (hop, sr) = (self.picker.params().hop, self.picker.sample_rate());
        if c.hop != hop || c.sample_rate != sr {
            return Err(Error::Shape(format!(
                "sinusoidal coefficients of hop {} at {} Hz; this plan has hop {hop} at {sr} Hz",
                c.hop, c.sample_rate
            )));
        }
        synthesize_tracks(&c.tracks, hop, sr, c.signal_len)
    }
}

impl super::Transform for SinusoidalModel {
    fn name(&self) -> &'static str {
        "sines"
    }

    fn sample_rate(&self) -> f64 {
        self.picker.sample_rate()
    }

    fn analyze(&self, x: &[f64]) -> Result<super::Coefficients> {
        Ok(super::Coefficients::Sines(SinusoidalModel::analyze(
            self, x,
        )?))
    }

    /// One per FFT bin of the picker: peak amplitudes are window-corrected already.
    fn unit_tone_gain(&self) -> Vec<f64> {
        self.picker.unit_tone_gain()
    }

    /// The picker's FFT bins `k·sr/fft_len`: a peak's frequency is continuous, the bins are
    /// where calibration looks its gain up.
    fn bin_freqs(&self) -> Vec<f64> {
        let (n, sr) = (self.fft_len(), self.picker.sample_rate());
        (0..n / 2 + 1).map(|k| k as f64 * sr / n as f64).collect()
    }

    /// At most `max_peaks` peaks in each of the `L/hop + 1` frames (no spectrogram is kept).
    fn coefficient_count(&self, signal_len: usize) -> Result<u128> {
        let p = self.picker.params();
        Ok(p.max_peaks as u128 * (signal_len / p.hop + 1) as u128)
    }

    /// Frames centred on `j·hop`, j = 0..=L/hop, the same for every bin.
    fn frame_times(&self, bin: usize, signal_len: usize) -> Result<Vec<f64>> {
        super::check_bin(self, bin)?;
        if signal_len == 0 {
            return Err(Error::Empty { what: "signal" });
        }
        let (hop, sr) = (self.picker.params().hop, self.picker.sample_rate());
        Ok((0..=signal_len / hop)
            .map(|j| (j * hop) as f64 / sr)
            .collect())
    }

    fn is_invertible(&self) -> bool {
        true
    }

    fn synthesize(&self, c: &super::Coefficients) -> Result<Vec<f64>> {
        match c {
            super::Coefficients::Sines(s) => SinusoidalModel::synthesize(self, s),
            other => Err(super::wrong_coefficients(self.name(), other)),
        }
    }
}
