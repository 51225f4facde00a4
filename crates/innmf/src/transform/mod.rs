//! Time-frequency transforms. Each is a plan (`::new(params)?`) that analyzes signals into
//! coefficients with true frame-centre times (s) and centre frequencies (Hz), convertible to
//! [`TfPoints`](crate::TfPoints), and keeps the complex coefficients that inversion needs.

pub mod calibration;
pub mod cqt;
pub mod cwt;
pub mod fast_cqt;
pub mod multires;
pub mod nsgt;
pub mod partials;
pub mod representation;
pub mod sinusoidal;
pub mod stft;
pub mod window;

pub use calibration::{BinScale, Calibration};
pub use cqt::{CqtCoefficients, DirectCqt, DirectCqtParams};
pub use cwt::{Cwt, CwtCoefficients, CwtHop, CwtParams, CwtScale};
pub use fast_cqt::{FastCqt, Vqt, VqtParams};
pub use multires::{Multires, MultiresBand, MultiresParams, MultiresSpectrogram};
pub use nsgt::{BandKind, Nsgt, NsgtBand, NsgtCoefficients, NsgtParams};
pub use partials::{
    synthesize_tracks, track_peaks, tracks_to_points, MaxDeviation, Track, TrackParams, TrackPoint,
};
pub use representation::{
    Analysis, CqtKernels, CqtSpec, CwtSpec, HybridSpec, MultiresSpec, NsgtSpec, Representation,
    RepresentationOptions, Segment, SinesSpec, TransformKind, VqtSpec,
};
pub use sinusoidal::{Peak, Sinusoidal, SinusoidalParams};
pub use stft::{Norm, Padding, Spectrogram, Stft, StftParams};
pub use window::WindowKind;

/// The point set of `|c|^p` from per-band coefficients: each band `(freq, coeffs, time)` puts
/// `coeffs[i]` at time `time(i)` and frequency `freq` (the shared body of the banded transforms'
/// `to_points`).
pub(crate) fn band_points<'a, T: Fn(usize) -> f64>(
    bands: impl IntoIterator<Item = (f64, &'a [num_complex::Complex64], T)>,
    p: f64,
) -> crate::error::Result<crate::TfPoints> {
    let (mut t, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for (freq, coeffs, time) in bands {
        for (i, c) in coeffs.iter().enumerate() {
            t.push(time(i));
            f.push(freq);
            m.push(c.norm());
        }
    }
    crate::TfPoints::new(t, f, m)?.powered(p)
}
