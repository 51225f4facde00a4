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


# --- nsgt package (CQ_NSGT), for crates/innmf/src/transform/nsgt.rs -------------------------
# Same formula, 4 s at 8 kHz (L = 32000: every band window is ≥ 46 DFT bins wide).
# Conventions mapped (see the Rust test): the package's CQ_NSGT(fmin, fmax, bins, fs, Ls) places
# ⌈B·log2(fmax/fmin)⌉ + 1 bands geometrically from fmin to fmax, i.e. our f_min·2^{j/B} when
# fmax/fmin is a whole number of octaves (fmax is nudged down by 1e-12 so that ⌈·⌉ does not
# round 48.000…01 up). Its band k has a Hann window of round(ξ_{k+1} − ξ_{k−1}) bins centred on
# the integer bin round(ξ_k) (ours: the same width, centred on the fractional ξ_k), keeps
# M_k = that many coefficients, demodulates the band to 0 Hz and divides by M_k (numpy ifft);
# ours keeps M ≥ the support, does not demodulate and scales by 2/L. The time grids differ, but
# by Parseval Σ_n |c_n|² = (1/M)·Σ_m |X̂[m]·g[m]|² for the package and (2/L)²·M·Σ_m |X̂·g|² for
# us, so the band energy E_k = Σ_m |X̂[m]·g_k[m]|² is comparable; it is stored here.
def nsgt_fixture():
    import types

    import nsgt.nsgfwin_sl as _w
    from nsgt import CQ_NSGT

    # nsgt 0.18 clips an int array to np.inf in place, which numpy 2 refuses; shim np.clip there
    def _clip(a, lo, hi, out=None):
        if np.asarray(a).dtype.kind == "i" and hi == np.inf:
            hi = np.iinfo(np.asarray(a).dtype).max
        return np.clip(a, lo, hi, out=out)

    _shim = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    _shim.clip = _clip
    _w.np = _shim

    sr, n, fmin, bpo, octaves = 8000.0, 32000, 200.0, 12, 4
    t = np.arange(n) / sr
    x = (
        0.5 * np.sin(2 * np.pi * 220 * t)
        + 0.3 * np.sin(2 * np.pi * (300 * t + 400 * t * t))
        + 0.2 * np.sin(2 * np.pi * 1250 * t + 0.3)
    )
    fmax = fmin * 2**octaves * (1 - 1e-12)
    nsg = CQ_NSGT(fmin, fmax, bpo, sr, n, real=True, matrixform=False, reducedform=0)
    c = nsg.forward(x)
    freqs = np.asarray(nsg.frqs)
    assert len(freqs) == bpo * octaves + 1
    assert np.allclose(freqs, fmin * 2 ** (np.arange(len(freqs)) / bpo), rtol=1e-9)
    # c[0] is the DC band, c[1..K] the constant-Q bands, c[K+1] the Nyquist band
    bands = c[1 : len(freqs) + 1]
    return {
        "nsgt": __import__("nsgt").__version__ if hasattr(__import__("nsgt"), "__version__") else "0.18",
        "sr": sr,
        "n": n,
        "fmin": fmin,
        "fmax": fmin * 2**octaves,
        "bins_per_octave": bpo,
        "freqs": freqs.tolist(),
        "m": [len(b) for b in bands],
        "energy": [float(len(b) * np.sum(np.abs(b) ** 2)) for b in bands],
    }


with open("nsgt_bands.json", "w") as f:
    json.dump(nsgt_fixture(), f)
