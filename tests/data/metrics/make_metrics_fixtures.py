#!/usr/bin/env python3
"""Builds the metric fixtures checked by crates/innmf/tests/metrics_*.rs.

Dependencies (the versions used are written into expected.json):
    numpy, scipy, mir_eval (0.7 or 0.8), pystoi (0.4), fast_bss_eval (0.1)
Run with the bench venv, which has them all:
    /root/.bench-venv/bin/python tests/data/metrics/make_metrics_fixtures.py
or install them first:
    python -m pip install numpy scipy mir_eval pystoi fast_bss_eval

Audio: 2 s excerpts of the synthetic speakers in /work/shared/data/speech (16-bit PCM),
stored here as small 16-bit WAVs:
  scenario A, 16 kHz: references slt, awb; two estimates (mixtures with filtering, a
      low-pass and noise), stored in swapped order so the permutation is [1, 0];
  scenario B, 8 kHz: references rms, kal16, ked; three estimates in the order [2, 0, 1].
Every expected value is computed from the WAVs as written (int16 / 32768, the scaling
innmf::audio::read_wav uses), so Rust and Python see identical samples.
"""
import importlib.util
import json
import os
import subprocess
import sys
import warnings

REQUIRED = ["numpy", "scipy", "mir_eval", "pystoi", "fast_bss_eval"]
missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
if missing:
    subprocess.check_call([sys.executable, "-m", "pip", "install", *missing])

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.io.wavfile as wavfile  # noqa: E402
import scipy.signal  # noqa: E402
import mir_eval  # noqa: E402
import pystoi  # noqa: E402
import fast_bss_eval  # noqa: E402
from importlib.metadata import version  # noqa: E402

warnings.simplefilter("ignore")  # mir_eval 0.8 deprecation warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SPEECH = os.environ.get("INNMF_SPEECH_DIR", "/work/shared/data/speech")


def load(name, start_s, dur_s, fs_out):
    sr, x = wavfile.read(os.path.join(SPEECH, name + ".wav"))
    x = x[int(start_s * sr): int((start_s + dur_s) * sr)].astype(np.float64) / 32768.0
    if fs_out != sr:
        g = np.gcd(fs_out, sr)
        x = scipy.signal.resample_poly(x, fs_out // g, sr // g)
    return 0.5 * x / np.max(np.abs(x))


def write16(name, x, fs):
    """Writes int16 and returns exactly what a reader gets back (int16 / 32768)."""
    q = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    wavfile.write(os.path.join(HERE, name), fs, q)
    _, back = wavfile.read(os.path.join(HERE, name))
    return back.astype(np.float64) / 32768.0


def bss(ref, est, perm):
    sdr, sir, sar, p = mir_eval.separation.bss_eval_sources(ref, est, compute_permutation=perm)
    return {"sdr": sdr.tolist(), "sir": sir.tolist(), "sar": sar.tolist(), "perm": p.tolist()}


def si(ref, est, zero_mean):
    sdr, sir, sar, p = fast_bss_eval.si_bss_eval_sources(ref, est, zero_mean=zero_mean)
    return {"sdr": sdr.tolist(), "sir": sir.tolist(), "sar": sar.tolist(), "perm": p.tolist()}


def nan_to_none(a):
    return [[None if np.isnan(v) else float(v) for v in row] for row in np.asarray(a, dtype=float)]


def main():
    rng = np.random.default_rng(20240404)
    out = {
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "mir_eval": version("mir_eval"),
            "pystoi": version("pystoi"),
            "fast_bss_eval": version("fast_bss_eval"),
        },
        "scenarios": {},
        "stoi": [],
    }

    # --- scenario A: two speakers at 16 kHz -------------------------------------------
    fs = 16000
    s0 = load("slt", 1.0, 2.0, fs)
    s1 = load("awb", 1.5, 2.0, fs)
    n = len(s0)
    e0 = scipy.signal.lfilter([0.9, 0.0, 0.0, 0.3], [1.0], s0) + 0.25 * s1 + 0.02 * rng.standard_normal(n)
    e1 = np.convolve(0.8 * s1 + 0.2 * s0, np.ones(5) / 5, mode="same") + 0.01 * rng.standard_normal(n)
    a_ref = [write16("a_ref0.wav", s0, fs), write16("a_ref1.wav", s1, fs)]
    a_est = [write16("a_est0.wav", 0.8 * e1, fs), write16("a_est1.wav", 0.8 * e0, fs)]
    ref, est = np.array(a_ref), np.array(a_est)
    # a copy with reference 1 silent in [8000, 16000): a NaN window in the framewise scores
    ref_gap = ref.copy()
    ref_gap[1, 8000:16000] = 0.0
    fw = {}
    for name, r in [("plain", ref), ("gap", ref_gap)]:
        for perm in [False, True]:
            sdr, sir, sar, p = mir_eval.separation.bss_eval_sources_framewise(
                r, est, window=8000, hop=4000, compute_permutation=perm)
            fw[f"{name}_perm{int(perm)}"] = {
                "sdr": nan_to_none(sdr), "sir": nan_to_none(sir), "sar": nan_to_none(sar),
                "perm": nan_to_none(p)}
    out["scenarios"]["a"] = {
        "fs": fs,
        "references": ["a_ref0.wav", "a_ref1.wav"],
        "estimates": ["a_est0.wav", "a_est1.wav"],
        "bss_eval_perm": bss(ref, est, True),
        "bss_eval_noperm": bss(ref, est, False),
        "framewise": {"window": 8000, "hop": 4000, "gap": [1, 8000, 16000], **fw},
        "si_bss_eval": si(ref, est, False),
        "si_bss_eval_zero_mean": si(ref, est, True),
    }
    for r, e in [(0, 1), (1, 0), (0, 0), (1, 1)]:
        out["stoi"].append({
            "fs": fs,
            "clean": f"a_ref{r}.wav",
            "processed": f"a_est{e}.wav",
            "stoi": float(pystoi.stoi(a_ref[r], a_est[e], fs, extended=False)),
            "estoi": float(pystoi.stoi(a_ref[r], a_est[e], fs, extended=True)),
        })

    # --- scenario B: three speakers at 8 kHz ------------------------------------------
    fs = 8000
    refs = [load("rms", 2.0, 2.0, fs), load("kal16", 1.0, 2.0, fs), load("ked", 3.0, 2.0, fs)]
    n = len(refs[0])
    mix = np.array([[0.9, 0.2, 0.1], [0.15, 0.7, 0.2], [0.1, 0.25, 0.8]])
    ests = [sum(mix[j, k] * refs[k] for k in range(3)) + 0.02 * rng.standard_normal(n)
            for j in range(3)]
    ests[1] = scipy.signal.lfilter([1.0, -0.5], [1.0], ests[1])
    order = [2, 0, 1]  # est index i holds the estimate of reference order[i]
    b_ref = [write16(f"b_ref{j}.wav", refs[j], fs) for j in range(3)]
    b_est = [write16(f"b_est{i}.wav", 0.7 * ests[order[i]], fs) for i in range(3)]
    ref, est = np.array(b_ref), np.array(b_est)
    out["scenarios"]["b"] = {
        "fs": fs,
        "references": [f"b_ref{j}.wav" for j in range(3)],
        "estimates": [f"b_est{i}.wav" for i in range(3)],
        "bss_eval_perm": bss(ref, est, True),
        "bss_eval_noperm": bss(ref, est, False),
        "si_bss_eval": si(ref, est, False),
        "si_bss_eval_zero_mean": si(ref, est, True),
    }
    for r, e in [(0, 1), (1, 2), (2, 0), (0, 0)]:
        out["stoi"].append({
            "fs": fs,
            "clean": f"b_ref{r}.wav",
            "processed": f"b_est{e}.wav",
            "stoi": float(pystoi.stoi(b_ref[r], b_est[e], fs, extended=False)),
            "estoi": float(pystoi.stoi(b_ref[r], b_est[e], fs, extended=True)),
        })

    # the same 8 kHz samples declared at other rates: 10 kHz (no resampling) and 22.05 kHz
    # (a long resampling filter, 200/441)
    for fs_as in [10000, 22050]:
        for r, e in [(0, 1), (1, 1)]:
            out["stoi"].append({
                "fs": fs_as,
                "clean": f"b_ref{r}.wav",
                "processed": f"b_est{e}.wav",
                "stoi": float(pystoi.stoi(b_ref[r], b_est[e], fs_as, extended=False)),
                "estoi": float(pystoi.stoi(b_ref[r], b_est[e], fs_as, extended=True)),
            })

    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps(out["scenarios"]["a"]["bss_eval_perm"]))
    print(json.dumps(out["scenarios"]["b"]["bss_eval_perm"]))
    print(json.dumps(out["stoi"]))


if __name__ == "__main__":
    main()
