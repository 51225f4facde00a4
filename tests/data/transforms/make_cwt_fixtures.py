"""PyWavelets reference for crates/innmf/src/transform/cwt.rs (run with the bench venv:
/root/.bench-venv/bin/python make_cwt_fixtures.py, from this folder; elsewhere
`pip install PyWavelets numpy` first).

Convention mapping. PyWavelets' complex Morlet `cmorB-C` is
psi(t) = (pi B)^-1/2 exp(-t^2/B) exp(2 pi i C t), with Fourier transform exp(-pi^2 B (nu - C)^2).
At scale a (samples) `pywt.cwt` returns W = a^-1/2 * (x conv psi(./a)) and its frequency is
C*sr/a. innmf's scale at f_j has the response exp(-omega0^2/2 (nu/f_j - 1)^2) (peak 1, analytic
part doubled); with a = C*sr/f_j, pywt's response is exp(-pi^2 B C^2 (nu/f_j - 1)^2): the two
are the same Gaussian when omega0 = pi*sqrt(2B)*C, and pywt's magnitude of a unit tone at f_j is
sqrt(a)/2 where innmf reads 1. So |W_pywt| = sqrt(a)/2 * |c_innmf| at every time and scale.

Here B = 1.5, C = 1.0 (the `cmor1.5-1.0` of pywt's docs): omega0 = pi*sqrt(3).

Two discretization details of pywt.cwt matter at the 1e-2 level and are modelled by the Rust test
(not hidden in its tolerance):
- it convolves with the difference of the integrated wavelet, i.e. the wavelet averaged over one
  sample: its response is multiplied by sinc(nu/sr) and delayed by half a sample (a droop of
  1 - sinc(f/sr): 13 % at 2263 Hz here). The Rust test applies exactly that factor,
  sinc(nu/sr)*exp(-i pi nu/sr), to the spectrum before its own filters;
- it samples the integrated wavelet on a grid of step 1/a starting at -8, so the wavelet's centre
  falls 8a samples in; for 8a not an integer its output is shifted by a fraction of a sample that
  depends on a and on its index truncation. The stored scales are the octave ones, f = 100, 200,
  400, 800, 1600 Hz (a = 80, 40, 20, 10, 5: 8a integer), where that offset is exactly the half
  sample above.
The integrated wavelet is sampled with precision=18 (2^18 points over [-8, 8]) instead of the
default 12, whose index rounding puts periodic ripples of several % on the large scales.

The signal is a formula (no audio stored): sr = 8000 Hz, N = 4000 samples, t = n/sr,
x = 0.5 sin(2 pi 220 t) + 0.3 sin(2 pi (300 t + 400 t^2)) + 0.2 sin(2 pi 1250 t + 0.3)
    + impulse of 1.0 at n = 2500.
Scales: f_j = 100 * 2^(j/6) Hz, j = 0..27 (f_max 2400 Hz, 6 voices per octave). Stored: the
magnitude |W_pywt| of every 6th scale (the octaves) at every 8th sample, as JSON.
"""

import json

import numpy as np
import pywt

SR = 8000.0
N = 4000
B, C = 1.5, 1.0
F_MIN, F_MAX, V = 100.0, 2400.0, 6


def signal():
    t = np.arange(N) / SR
    x = (
        0.5 * np.sin(2 * np.pi * 220 * t)
        + 0.3 * np.sin(2 * np.pi * (300 * t + 400 * t * t))
        + 0.2 * np.sin(2 * np.pi * 1250 * t + 0.3)
    )
    x[2500] += 1.0
    return x


n_scales = int(np.floor(V * np.log2(F_MAX / F_MIN) + 1e-9)) + 1
freqs = F_MIN * 2.0 ** (np.arange(n_scales) / V)
scales = C * SR / freqs
wav = f"cmor{B}-{C}"
coef, pfreqs = pywt.cwt(signal(), scales, wav, sampling_period=1 / SR, method="fft", precision=18)
assert np.allclose(pfreqs, freqs)
keep_scales = list(range(0, n_scales, 6))
keep_times = list(range(0, N, 8))
mag = np.abs(coef[keep_scales][:, keep_times])
with open("pywt_cwt.json", "w") as f:
    json.dump(
        {
            "pywt": pywt.__version__,
            "wavelet": wav,
            "precision": 18,
            "omega0": float(np.pi * np.sqrt(2 * B) * C),
            "sr": SR,
            "n": N,
            "f_min": F_MIN,
            "f_max": F_MAX,
            "voices_per_octave": V,
            "scale_index": keep_scales,
            "scale_samples": [float(scales[j]) for j in keep_scales],
            "time_index": keep_times,
            "mag": np.round(mag, 6).tolist(),
        },
        f,
    )
