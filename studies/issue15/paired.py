#!/usr/bin/env python3
"""Issue 15: paired comparisons between the rows of two separation runs.

  python3 studies/issue15/paired.py A.results.json:innmf B.results.json:nmf [--part test|dev|all]

For each window, the median over pairs of the paired difference A − B (each row is a pair's mean
over its two sources) of SDR, SIR, SAR and STOI, with the 95 % percentile-bootstrap interval of
that median (2000 resamples of the pairs, numpy seed 0, as table.py) and how many pairs A is
higher. A run is a results.json (a path, or a name under runs/ without .results.json) and the
method whose rows to take (innmf or nmf). The parts are table.py's: dev = pairs among awb, ked,
rms; test = the others (with kal16 or slt).

  python3 studies/issue15/paired.py A:innmf B:nmf --part test --equivalence

instead prints, for SDR, SIR and STOI at each window, the 90 % bootstrap interval of the median
difference and the smallest margin m for which the two methods are equivalent within ±m: the
interval lies inside [−m, +m], which is the two one-sided tests at the 5 % level each (TOST).
"""
import json
import os
import sys

import numpy as np

from table import HERE, boot_median, in_part

METRICS = ["sdr", "sir", "sar", "stoi"]


def run_rows(path, method):
    if not os.path.exists(path):
        path = os.path.join(HERE, "runs", f"{path}.results.json")
    res = json.load(open(path))
    return {(r["pair"], r["window"]): r for r in res["rows"]["separation"] if r["method"] == method}


def rows(spec):
    """`RUN:method`, or `RUN1+RUN2+…:method` for the mean over runs (seeds) of each pair's
    scores at each window (keys present in every run)."""
    paths, method = spec.rsplit(":", 1)
    runs = [run_rows(p, method) for p in paths.split("+")]
    keys = set(runs[0]).intersection(*runs[1:])
    return {k: {m: float(np.mean([r[k][m] for r in runs])) for m in METRICS} for k in keys}


def by_window(a, b, part):
    """Each window with the (pair, window) keys of `part` that both runs have."""
    for w in sorted({k[1] for k in a}):
        # sorted: the bootstrap draws index this list, so its order must not follow set order
        ks = sorted(k for k in a if k[1] == w and k in b and (part == "all" or in_part(k[0], part)))
        if ks:
            yield w, ks


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    part = "test"
    if "--part" in sys.argv:
        part = sys.argv[sys.argv.index("--part") + 1]
        args.remove(part)
    a, b = rows(args[0]), rows(args[1])
    if "--equivalence" in sys.argv:
        return equivalence(a, b, part)
    print(f"{args[0]} − {args[1]} ({part} part)\n")
    print("| window | pairs | Δ SDR [95 % CI] | higher | Δ SIR | Δ SAR | Δ STOI |")
    print("|---|---|---|---|---|---|---|")
    for w, ks in by_window(a, b, part):
        cells = []
        for m in METRICS:
            d = [a[k][m] - b[k][m] for k in ks]
            med, lo, hi = boot_median(d)
            f = ".3f" if m == "stoi" else ".2f"
            cells.append(f"{med:+{f}} [{lo:+{f}}, {hi:+{f}}]")
            if m == "sdr":
                cells.append(f"{sum(v > 0 for v in d)}/{len(d)}")
        print(f"| {w} | {len(ks)} | " + " | ".join(cells) + " |")


def equivalence(a, b, part):
    print("| window | pairs | Δ SDR [90 % CI] | margin | Δ SIR [90 % CI] | margin "
          "| Δ STOI [90 % CI] | margin |")
    print("|---|---|---|---|---|---|---|---|")
    for w, ks in by_window(a, b, part):
        cells = []
        for m in ("sdr", "sir", "stoi"):
            med, lo, hi = boot_median([a[k][m] - b[k][m] for k in ks], level=90.0)
            f = ".3f" if m == "stoi" else ".2f"
            cells += [f"{med:+{f}} [{lo:+{f}}, {hi:+{f}}]", f"±{max(abs(lo), abs(hi)):{f}}"]
        print(f"| {w} | {len(ks)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
