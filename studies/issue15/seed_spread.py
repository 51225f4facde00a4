#!/usr/bin/env python3
"""Issue 15, item 16: how much of a paired Δ SDR is the random start.

  python3 studies/issue15/seed_spread.py RUN [--seeds N] [--part test|dev|all]

RUN names the runs RUN-s0 … RUN-s{N-1} under runs/ (seeds.sh's output). For each window: the
median over pairs of the seed-averaged Δ SDR (iN-NMF − NMF, as paired.py), a 95 % interval from
a two-level bootstrap (pairs resampled, and seeds resampled within them; 4000 draws, numpy
seed 0), the sorted medians of each seed alone, the spread of the seed-averaged Δ across pairs
and the mean spread of a pair's Δ across seeds (standard deviations, dB).
"""
import sys

import numpy as np

from paired import run_rows
from table import in_part


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opt = {k: sys.argv[sys.argv.index(k) + 1] for k in ("--seeds", "--part") if k in sys.argv}
    for v in opt.values():
        args.remove(v)
    name, seeds, part = args[0], int(opt.get("--seeds", 10)), opt.get("--part", "test")
    runs = [(run_rows(f"{name}-s{s}", "innmf"), run_rows(f"{name}-s{s}", "nmf")) for s in range(seeds)]
    rng = np.random.default_rng(0)
    print(f"{name}, seeds 0–{seeds - 1}, Δ SDR iN-NMF − NMF ({part} part)\n")
    print("| window | pairs | median [two-level 95 % CI] | medians of single seeds | sd across pairs | sd across seeds |")
    print("|---|---|---|---|---|---|")
    for w in sorted({k[1] for k in runs[0][0]}):
        ks = sorted(k for k in runs[0][0] if k[1] == w and (part == "all" or in_part(k[0], part)))
        d = np.array([[a[k]["sdr"] - b[k]["sdr"] for k in ks] for a, b in runs])  # seeds × pairs
        draws = []
        for _ in range(4000):
            p = rng.integers(0, d.shape[1], d.shape[1])
            s = rng.integers(0, seeds, seeds)
            draws.append(np.median(d[np.ix_(s, p)].mean(axis=0)))
        lo, hi = np.percentile(draws, [2.5, 97.5])
        singles = " ".join(f"{v:+.2f}" for v in np.sort(np.median(d, axis=1)))
        print(f"| {w} | {len(ks)} | {np.median(d.mean(axis=0)):+.2f} [{lo:+.2f}, {hi:+.2f}] | {singles} "
              f"| {d.mean(axis=0).std(ddof=1):.2f} | {d.std(axis=0, ddof=1).mean():.2f} |")


if __name__ == "__main__":
    main()
