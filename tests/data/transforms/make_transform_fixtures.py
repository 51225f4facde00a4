"""Reference outputs for crates/innmf/src/transform (run with the bench venv: librosa, numpy).

The test signal is a formula (no audio stored): at sr = 8000 Hz, 4000 samples,
x[n] = 0.5 sin(2π·220 t) + 0.3 sin(2π·(300 t + 400 t²)) + 0.2 sin(2π·1250 t + 0.3),  t = n / sr.
Outputs are written as small JSON files of magnitudes.
"""

import json

import librosa
import numpy as np

SR = 8000.0
N = 4000


def signal():
    t = np.arange(N) / SR
    return (
        0.5 * np.sin(2 * np.pi * 220 * t)
        + 0.3 * np.sin(2 * np.pi * (300 * t + 400 * t * t))
        + 0.2 * np.sin(2 * np.pi * 1250 * t + 0.3)
    )


def vqt_case(name, **kw):
    x = signal()
    # res_type="fft": band-limited early downsampling (closest to exact);
    # sparsity=0: keep full filter spectra. Both remove librosa-only approximations.
    c = librosa.vqt(x, sr=SR, sparsity=0.0, res_type="fft", pad_mode="constant", **kw)
    return {
        "name": name,
        "params": {k: float(v) for k, v in kw.items()},
        "mag": np.abs(c).round(7).tolist(),
    }


cases = [
    # one octave at the top: no early downsampling inside librosa
    vqt_case("cqt_top", hop_length=256, fmin=1000.0, n_bins=12, bins_per_octave=12,
             filter_scale=1.0, gamma=0.0),
    vqt_case("vqt_gamma", hop_length=256, fmin=1000.0, n_bins=12, bins_per_octave=12,
             filter_scale=1.0, gamma=40.0),
    # three octaves: librosa downsamples the lower octaves
    vqt_case("cqt_3oct", hop_length=256, fmin=220.0, n_bins=36, bins_per_octave=12,
             filter_scale=0.8, gamma=0.0),
]
with open("librosa_vqt.json", "w") as f:
    json.dump({"librosa": librosa.__version__, "sr": SR, "n": N, "cases": cases}, f)
