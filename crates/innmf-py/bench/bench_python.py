#!/usr/bin/env python3
"""Cost of the Python layer: innmf from Python against the CLI's own benchmarks, same workloads.

1. stft-fit (issue 11's target: within 5 % per step): implicit W (K = 20, width 64, 3 sine
   layers, 10 octaves) + explicit H on |STFT|^0.5 (2000/1000, √Hann, 1/√N) of the first 20 s of
   16 kHz speech at unit energy, full-batch Rprop (lr 1e-3), seed 0: `ImplicitNMF.fit` timed for
   `warmup + steps` and for `warmup` steps, the difference over `steps` is the mean cost of a step
   from Python (GIL released, the Ctrl-C watch running); `innmf bench stft-fit` reports the
   median step of the same fit in Rust.
2. bss-eval: `innmf.metrics.bss_eval` (permutation search) of two 80 000-sample sources, against
   `innmf bench bss-eval` and, if importable, mir_eval on the same arrays.

Run on a quiet machine from the repository root, with the venv that has the package (./test.sh
makes .venv; for mir_eval use the benchmark venv: `/root/.bench-venv/bin/pip install
./crates/innmf-py`):

    .venv/bin/python crates/innmf-py/bench/bench_python.py [--steps 60] [--warmup 5]
        [--input ../shared/bench/data/speech_slt_20s.wav] [--cli target/release/innmf]

Prints one JSON object. The CLI and the package must come from the same build flags (test.sh
builds both with the workspace's; build_wheel.sh makes a portable wheel, to be compared with a
portable CLI).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

import innmf

ROOT = pathlib.Path(__file__).resolve().parents[3]


def cli_bench(cli: str, workload: str, extra: list[str]) -> dict:
    p = subprocess.run([cli, "bench", workload, *extra], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{cli} bench {workload} failed:\n{p.stderr}")
    return json.loads(p.stdout[p.stdout.index("{"):])


def speech(path: pathlib.Path | None) -> tuple[np.ndarray, str]:
    """The stft-fit input as `innmf bench` loads it: first 20 s, channel 0, unit energy."""
    if path is not None and path.exists():
        x, sr = innmf.load_audio(path, channel=0)
        if sr != 16000:
            sys.exit(f"{path}: {sr} Hz, the workload needs 16000 Hz")
        x = x[: 20 * 16000]
        return x / np.sqrt(np.sum(x * x)), str(path)
    sys.exit(
        f"no input recording ({path}); give --input (16 kHz speech) so that both sides fit the "
        "same points"
    )


def time_fit(pts: innmf.Points, steps: int) -> float:
    est = innmf.ImplicitNMF(20, w="implicit", h="explicit", width=64, depth=3, n_features=10,
                            optimizer="rprop", lr=1e-3, steps=steps, seed=0)
    t = time.perf_counter()
    est.fit(pts)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--input", type=pathlib.Path,
                    default=ROOT / ".." / "shared" / "bench" / "data" / "speech_slt_20s.wav")
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "innmf"))
    args = ap.parse_args()
    out: dict = {"threads": os.environ.get("RAYON_NUM_THREADS", "all")}

    x, source = speech(args.input)
    pts = innmf.analyze(x, 16000, innmf.STFT(window_len=2000, hop=1000), power=0.5)
    short = min(time_fit(pts, args.warmup) for _ in range(2))
    long_ = min(time_fit(pts, args.warmup + args.steps) for _ in range(2))
    py_ms = (long_ - short) / args.steps * 1e3
    rust = cli_bench(args.cli, "stft-fit", ["--input", str(args.input), "--steps",
                                            str(args.steps), "--warmup", str(args.warmup)])
    out["stft_fit"] = {
        "input": source,
        "points": len(pts),
        "python_mean_step_ms": py_ms,
        "cli_median_step_ms": rust["median_ms"],
        "cli_p10_ms": rust["p10_ms"],
        "cli_p90_ms": rust["p90_ms"],
        "python_over_cli": py_ms / rust["median_ms"],
    }

    rust_bss = cli_bench(args.cli, "bss-eval", ["--shared", str(ROOT / ".." / "shared"),
                                                  "--repeats", str(args.repeats)])
    n = 80_000
    rng = np.random.default_rng(5)
    refs = np.stack([rng.standard_normal(n), rng.standard_normal(n)])
    ests = np.stack([0.8 * refs[1] + 0.2 * refs[0] + 0.05 * rng.standard_normal(n),
                     0.9 * refs[0] + 0.1 * refs[1] + 0.05 * rng.standard_normal(n)])

    def timed(f) -> float:
        f()
        ts = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts))

    bss: dict = {"innmf_python_median_s": timed(lambda: innmf.metrics.bss_eval(refs, ests)),
                 "cli_bench": rust_bss}
    try:
        import mir_eval  # noqa: PLC0415

        bss["mir_eval_median_s"] = timed(
            lambda: mir_eval.separation.bss_eval_sources(refs, ests))
        bss["mir_eval_over_innmf_python"] = bss["mir_eval_median_s"] / bss["innmf_python_median_s"]
    except ImportError:
        bss["mir_eval_median_s"] = None
    out["bss_eval"] = bss
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
