#!/usr/bin/env python3
"""Issue 15: turns the runs' results.json (studies/issue15/runs/*.results.json) into the tables.

  python3 studies/issue15/table.py dev            # ablations on the dev part (markdown)
  python3 studies/issue15/table.py test paper innmf   # the final study on the test part

Separation: per window, the median over pairs of the paired difference iN-NMF - NMF (each row
is a pair's mean over its two sources) with a 95 % percentile-bootstrap interval of that median
(2000 resamples of the pairs, numpy seed 0), and how many pairs iN-NMF wins. The test part is
the pairs with at least one speaker not in the dev part (kal16, slt); dev = pairs among awb,
ked, rms. Training loss: iN-NMF's final training KL / NMF's at the training window (from the
unit files the run.sh copies to runs/<run>.units.json), median over the part's recordings.
Reconstruction (when the run has it): KL ratio iN-NMF / NMF per recording, median [95 % CI].
"""
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEV = {"awb", "ked", "rms"}
METRICS = ["sdr", "sir", "sar", "stoi"]


def speakers(pair):
    return {p.split("_")[0] for p in pair.split("+")}


def in_part(pair, part):
    return speakers(pair) <= DEV if part == "dev" else not speakers(pair) <= DEV


def boot_median(d, n=2000, seed=0, level=95.0):
    """The median of `d` and the `level` % percentile-bootstrap interval of it."""
    d = np.asarray(d, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n, len(d)))
    meds = np.median(d[idx], axis=1)
    tail = (100.0 - level) / 2
    return np.median(d), np.percentile(meds, tail), np.percentile(meds, 100.0 - tail)


def sep_table(res, part):
    rows = [r for r in res["rows"].get("separation", []) if in_part(r["pair"], part)]
    by = {}
    for r in rows:
        by.setdefault(r["window"], {}).setdefault(r["pair"], {})[r["method"]] = r
    out = {}
    for w, pairs in sorted(by.items()):
        both = [p for p in pairs.values() if "innmf" in p and "nmf" in p]
        o = {"n": len(both)}
        for m in METRICS:
            a = np.array([p["innmf"][m] for p in both])
            b = np.array([p["nmf"][m] for p in both])
            o[m] = (np.median(a), np.median(b), *boot_median(a - b), int((a > b).sum()))
        out[w] = o
    return out


def train_ratio(name, part):
    f = os.path.join(HERE, "runs", f"{name}.units.json")
    if not os.path.exists(f):
        return None
    u = json.load(open(f))
    r = []
    for rec, loss in u["innmf_train"].items():
        if (rec.split("_")[0] in DEV) == (part == "dev") and rec in u["nmf_train"]:
            r.append(loss / u["nmf_train"][rec])
    return (np.median(r), min(r), max(r), u.get("innmf_train_s")) if r else None


def recon_table(res):
    rows = res["rows"].get("reconstruction", [])
    by = {}
    for r in rows:
        by.setdefault((r["window"], r["split"]), {}).setdefault(r["recording"], {})[r["method"]] = r["kl"]
    out = {}
    for k, recs in sorted(by.items()):
        rat = [v["innmf"] / v["nmf"] for v in recs.values() if "innmf" in v and "nmf" in v]
        if rat:
            lr = np.log(rat)
            m, lo, hi = boot_median(lr)
            out[k] = (np.exp(m), np.exp(lo), np.exp(hi), len(rat))
    return out


def fmt(t):
    return f"{t[2]:+.2f} [{t[3]:+.2f}, {t[4]:+.2f}]"


def main():
    part = sys.argv[1]
    names = sys.argv[2:] or sorted(
        os.path.basename(f)[len(part) + 1 : -len(".results.json")]
        for f in glob.glob(os.path.join(HERE, "runs", f"{part}-*.results.json"))
    )
    print(f"| run | window | pairs | SDR iN-NMF / NMF | Δ SDR [95 % CI] | wins | Δ SIR | Δ SAR | Δ STOI | train KL ratio (median, min–max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        res = json.load(open(os.path.join(HERE, "runs", f"{part}-{name}.results.json")))
        tr = train_ratio(f"{part}-{name}", part)
        trs = f"{tr[0]:.3f} ({tr[1]:.3f}–{tr[2]:.3f})" if tr else "–"
        for w, o in sep_table(res, part).items():
            s = o["sdr"]
            print(
                f"| {name} | {w} | {o['n']} | {s[0]:.2f} / {s[1]:.2f} | {fmt(s)} | {s[5]}/{o['n']} | "
                f"{fmt(o['sir'])} | {fmt(o['sar'])} | {o['stoi'][2]:+.3f} [{o['stoi'][3]:+.3f}, {o['stoi'][4]:+.3f}] | {trs} |"
            )
        rt = recon_table(res)
        if rt:
            print(f"\nReconstruction KL ratio iN-NMF / NMF ({name}; median over recordings [95 % CI]):\n")
            print("| window | split | ratio | recordings |\n|---|---|---|---|")
            for (w, sp), v in rt.items():
                print(f"| {w} | {sp} | {v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}] | {v[3]} |")
            print()


if __name__ == "__main__":
    main()
