"""scipy.signal references for crates/innmf/src/transform/{window,stft}.rs.

Run:  /root/.bench-venv/bin/python make_scipy_stft.py   (numpy + scipy)
Writes scipy_stft.npz and scipy_stft.json beside this file (read by
crates/innmf/tests/transform_references.rs).

Windows: scipy.signal.get_window('hann', n, fftbins=True) is the periodic Hann (innmf
WindowKind::Hann; its square root is WindowKind::SqrtHann), fftbins=False the symmetric one
(WindowKind::HannSymmetric), for n in WINDOW_LENS.

STFT: scipy.signal.ShortTimeFFT(win, hop, fs, mfft=N, phase_shift=None) on a short seeded noise
signal (stored, 161 samples, so nothing is re-typed on the Rust side).  phase_shift=None makes
scipy's phase relative to each slice's first sample, as innmf's X[k, j] = c·Σ_n w[n]·x[s_j+n]·
e^{-2πikn/N}.  Slice p of ShortTimeFFT is centred on sample p·hop (window index N//2 there):
  * innmf Padding::Center (frame j centred on j·H) is slices p = 0 .. ⌊L/H⌋;
  * innmf Padding::None (frame j starts at j·H) is slices p = j + N/(2H) (N/2 a multiple of H).
Scaling: scale_to=None is innmf Norm::None; scale_to='magnitude' divides by Σw, innmf
Norm::Amplitude by Σw/2 (so innmf = 2·scipy); innmf Norm::Ortho is scipy's unscaled STFT times
1/√N (the orthonormal DFT; applied here, recorded as "factor" = the multiplier innmf applies
relative to the stored scipy values).
"""

import json
import os

import numpy as np
import scipy
from scipy.signal import ShortTimeFFT, get_window

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW_LENS = [1, 2, 3, 16, 31, 32]
SR = 1000.0
L = 161


def signal():
    return np.random.default_rng(18).standard_normal(L)


def window(kind, n):
    if kind == "hann":
        return get_window("hann", n, fftbins=True)
    if kind == "sqrt-hann":
        return np.sqrt(get_window("hann", n, fftbins=True))
    if kind == "hann-symmetric":
        return get_window("hann", n, fftbins=False)
    raise ValueError(kind)


# (name, window kind, N, hop, innmf padding, innmf norm)
CASES = [
    ("hann_center_none", "hann", 32, 8, "center", "none"),
    ("sqrthann_nopad_ortho", "sqrt-hann", 32, 16, "none", "ortho"),
    ("hann_odd_center_amplitude", "hann", 31, 7, "center", "amplitude"),
    ("hannsym_nopad_none", "hann-symmetric", 16, 4, "none", "none"),
]


def main():
    x = signal()
    arrays = {"x": x}
    for kind in ("hann", "sqrt-hann", "hann-symmetric"):
        for n in WINDOW_LENS:
            arrays[f"win_{kind}_{n}"] = window(kind, n)
    meta = []
    for name, kind, n, hop, padding, norm in CASES:
        w = window(kind, n)
        scale_to = "magnitude" if norm == "amplitude" else None
        sft = ShortTimeFFT(w, hop, fs=SR, mfft=n, scale_to=scale_to, phase_shift=None)
        if padding == "center":
            p0, p1 = 0, 1 + L // hop
        else:
            assert (n // 2) % hop == 0
            frames = (L - n) // hop + 1
            p0 = n // 2 // hop
            p1 = p0 + frames
        X = sft.stft(x, p0=p0, p1=p1)  # (bins, frames)
        factor = {"none": 1.0, "amplitude": 2.0, "ortho": 1.0 / np.sqrt(n)}[norm]
        arrays[f"{name}_re"] = X.real
        arrays[f"{name}_im"] = X.imag
        arrays[f"{name}_t"] = sft.t(L, p0=p0, p1=p1)
        arrays[f"{name}_f"] = sft.f
        meta.append({"name": name, "window": kind, "n": n, "hop": hop, "padding": padding,
                     "norm": norm, "factor": factor, "bins": X.shape[0], "frames": X.shape[1]})
    np.savez_compressed(os.path.join(HERE, "scipy_stft.npz"), **arrays)
    with open(os.path.join(HERE, "scipy_stft.json"), "w") as f:
        json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "sr": SR, "len": L,
                   "window_lens": WINDOW_LENS, "cases": meta}, f, indent=1)
    print("wrote scipy_stft.npz / .json to", HERE)


if __name__ == "__main__":
    main()
