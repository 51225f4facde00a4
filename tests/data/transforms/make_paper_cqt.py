"""Direct NumPy transcription of the paper's constant-Q transform, for
crates/innmf/src/transform/cqt/direct.rs (DirectCqt).

Run:  /root/.bench-venv/bin/python make_paper_cqt.py   (numpy only)
Writes paper_cqt.npz and paper_cqt.json beside this file (read by
crates/innmf/tests/transform_references.rs).

The formula, as the authors' utils.cqt computes it (iN-NMF, arXiv 2404.04439, section 4 demo;
the CQT of its code release):
  * bin k: nominal f_k = f_min·2^{k/B}; window length N_k = int(sr·Q/f_k), plus 1 if odd;
  * window np.hanning(N_k) (symmetric Hann); kernel e^{-2πi·Q·n/N_k}, n = 0..N_k-1 (exactly Q
    cycles per window, so the analysis frequency is Q·sr/N_k);
  * the signal is zero-padded by N_k/2 on each side; frames are centred on the original samples
    c = 0, H_k, 2H_k, ... while c < len - N_k/2, with the per-bin hop H_k = N_k // 8;
  * coefficient = Σ_n hanning[n]·xpad[c + n]·e^{-2πiQn/N_k} / √N_k (complex; the authors keep
    its magnitude), at time c/sr (the authors' linspace time stamps are their bug, not copied).
The signal is a formula (two tones and a chirp, see signal(); the Rust test evaluates the same
formula), so no audio is stored.
Only a handful of bins are stored per case (all their frames), with the complex coefficients.
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def paper_cqt_bin(x, sr, q, bpo, f_min, k, hop_divisor=8):
    fk = f_min * 2.0 ** (k / bpo)
    nk = int(sr * q / fk)
    if nk % 2 == 1:
        nk += 1
    hop = nk // hop_divisor
    w = np.hanning(nk)
    kernel = w * np.exp(-2j * np.pi * q * np.arange(nk) / nk) / np.sqrt(nk)
    xpad = np.concatenate([np.zeros(nk // 2), x, np.zeros(nk // 2)])
    centres = np.arange(0, len(x) - nk // 2, hop)
    coeffs = np.array([np.sum(kernel * xpad[c:c + nk]) for c in centres])
    return nk, hop, q * sr / nk, centres / sr, coeffs


def signal(sr, n):
    """x[n] = sin(2π·440t) + 0.5·sin(2π·97t + 0.4) + 0.3·sin(2π(60t + 300t²)), t = n/sr."""
    t = np.arange(n) / sr
    return (np.sin(2 * np.pi * 440.0 * t) + 0.5 * np.sin(2 * np.pi * 97.0 * t + 0.4)
            + 0.3 * np.sin(2 * np.pi * (60.0 * t + 300.0 * t * t)))


# (name, sr, len, q, bins_per_octave, f_min, n_bins, stored bins)
CASES = [
    # small: 2 octaves from 200 Hz, Q = B = 12
    ("small", 8000.0, 1500, 12.0, 12, 200.0, 24, [0, 1, 7, 12, 23]),
    # the paper's demo layout (Q = B = 64, f_min = 20 Hz, 6.7 octaves at 4410 Hz): the lowest bin
    # (N_0 = 14112, 3 frames), bin 1, a middle and a high bin, on a 11000-sample signal
    ("paper_demo", 4410.0, 11000, 64.0, 64, 20.0, 428, [0, 1, 200, 330]),
]


def main():
    arrays = {}
    meta = []
    for name, sr, n, q, bpo, f_min, n_bins, bins in CASES:
        x = signal(sr, n)
        for k in bins:
            nk, hop, freq, times, c = paper_cqt_bin(x, sr, q, bpo, f_min, k)
            arrays[f"{name}_bin{k}_re"] = c.real
            arrays[f"{name}_bin{k}_im"] = c.imag
            arrays[f"{name}_bin{k}_t"] = times
            arrays[f"{name}_bin{k}_layout"] = np.array([nk, hop, freq])
        meta.append({"name": name, "sr": sr, "len": n, "q": q, "bins_per_octave": bpo,
                     "f_min": f_min, "n_bins": n_bins, "bins": bins})
    np.savez_compressed(os.path.join(HERE, "paper_cqt.npz"), **arrays)
    with open(os.path.join(HERE, "paper_cqt.json"), "w") as f:
        json.dump({"numpy": np.__version__, "cases": meta}, f, indent=1)
    print("wrote paper_cqt.npz / .json to", HERE)


if __name__ == "__main__":
    main()
