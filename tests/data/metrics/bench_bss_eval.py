#!/usr/bin/env python3
"""Times bss_eval_sources on two 5 s speech sources at 16 kHz (with permutation search):
mir_eval, fast_bss_eval (NumPy backend) and innmf (release build, via the ignored test
crates/innmf/tests/metrics_bench.rs), on the same samples.

    /root/.bench-venv/bin/python tests/data/metrics/bench_bss_eval.py [--repeats N] [--threads T]

`--skip-innmf` times only the two Python packages (bench/compare.sh times innmf itself with
`innmf bench bss-eval`, the same sizes, alternating with this script).

Needs numpy, scipy, mir_eval, fast_bss_eval (see make_metrics_fixtures.py) and cargo.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.io.wavfile as wavfile
import scipy.signal
import mir_eval
import fast_bss_eval

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SPEECH = os.environ.get("INNMF_SPEECH_DIR", "/work/shared/data/speech")


def load(name, start_s, dur_s):
    sr, x = wavfile.read(os.path.join(SPEECH, name + ".wav"))
    assert sr == 16000
    x = x[int(start_s * sr): int((start_s + dur_s) * sr)].astype(np.float64) / 32768.0
    return 0.5 * x / np.max(np.abs(x))


def timeit(f, repeats):
    f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return {"min_s": ts[0], "median_s": ts[len(ts) // 2], "repeats": repeats}, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="RAYON_NUM_THREADS for innmf")
    ap.add_argument("--skip-innmf", action="store_true", help="time mir_eval and fast_bss_eval only")
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    s0, s1 = load("slt", 1.0, 5.0), load("awb", 1.5, 5.0)
    n = len(s0)
    e0 = scipy.signal.lfilter([0.9, 0.0, 0.0, 0.3], [1.0], s0) + 0.25 * s1 + 0.02 * rng.standard_normal(n)
    e1 = np.convolve(0.8 * s1 + 0.2 * s0, np.ones(5) / 5, mode="same") + 0.01 * rng.standard_normal(n)
    with tempfile.TemporaryDirectory() as d:
        sigs = {"ref0": s0, "ref1": s1, "est0": 0.8 * e1, "est1": 0.8 * e0}
        for k, v in sigs.items():
            wavfile.write(os.path.join(d, k + ".wav"), 16000, v.astype(np.float32))
        back = {k: wavfile.read(os.path.join(d, k + ".wav"))[1].astype(np.float64) for k in sigs}
        ref = np.array([back["ref0"], back["ref1"]])
        est = np.array([back["est0"], back["est1"]])

        mir, r_mir = timeit(lambda: mir_eval.separation.bss_eval_sources(ref, est), args.repeats)
        fbe, r_fbe = timeit(lambda: fast_bss_eval.bss_eval_sources(ref, est), args.repeats)
        if args.skip_innmf:
            print(json.dumps({
                "signal": "2 sources x 5 s at 16 kHz (slt, awb), permutation search",
                "mir_eval": {**mir, "sdr": r_mir[0].tolist()},
                "fast_bss_eval": {**fbe, "sdr": r_fbe[0].tolist()},
            }, indent=1))
            return
        env = dict(os.environ, INNMF_BENCH_DIR=d, INNMF_BENCH_REPEATS=str(max(10, args.repeats)))
        if args.threads:
            env["RAYON_NUM_THREADS"] = str(args.threads)
        p = subprocess.run(
            ["cargo", "test", "--release", "-q", "-p", "innmf", "--test", "metrics_bench", "--",
             "--ignored", "--nocapture"],
            cwd=ROOT, env=env, capture_output=True, text=True)
        line = [l for l in p.stdout.splitlines() if l.startswith("RUST_BENCH ")]
        if not line:
            sys.exit(p.stdout + p.stderr)
        rust = json.loads(line[0][len("RUST_BENCH "):])

    out = {
        "signal": "2 sources x 5 s at 16 kHz (slt, awb), permutation search",
        "mir_eval": {**mir, "sdr": r_mir[0].tolist(), "perm": r_mir[3].tolist()},
        "fast_bss_eval": {**fbe, "sdr": r_fbe[0].tolist(), "perm": r_fbe[3].tolist()},
        "innmf": rust,
        "speedup_vs_mir_eval": mir["median_s"] / rust["median_s"],
        "speedup_vs_fast_bss_eval": fbe["median_s"] / rust["median_s"],
        "max_abs_sdr_diff_vs_mir_eval_db": float(np.max(np.abs(np.array(rust["sdr"]) - r_mir[0]))),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
