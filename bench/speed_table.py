#!/usr/bin/env python3
"""The README's speed table from a `bench/compare.sh` JSON (markdown on stdout).

    python3 bench/speed_table.py bench/compare-YYYYMMDD-HHMM.json            # print it
    python3 bench/speed_table.py bench/compare-YYYYMMDD-HHMM.json --readme README.md

With --readme the table replaces what stands between the README's `<!-- speed-table:begin -->`
and `<!-- speed-table:end -->` lines (written to a temporary file, then renamed over it).

One row per workload: innmf's median over the rounds (its range) and peak memory, each
baseline's median and the ratio baseline / innmf, the targets of issue 12 (met or not), the
thread counts of both sides; then a line with the date, commit, version, rounds and whether every
round started on a quiet machine.
"""

import json
import os
import sys

BEGIN, END = "<!-- speed-table:begin -->", "<!-- speed-table:end -->"

NAMES = {"torch-eager": "PyTorch eager", "torch-compiled": "`torch.compile`", "torch-f32": "PyTorch f32 (flushed)",
         "sklearn": "scikit-learn `mu`", "mir_eval": "mir_eval", "fast_bss_eval": "fast_bss_eval",
         "librosa": "librosa `vqt`", "nsgt": "nsgt"}


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.3g} ms" if v < 100 else f"{v:.0f} ms"
    return f"{v:.3g} s"


def target_text(t, unit):
    name = "innmf" if t["side"] == "innmf" else NAMES.get(t["side"], t["side"])
    if t["side"] == "innmf":
        want = f"≤ {fmt(t['bound'], unit)}" if t["op"] == "<=" else f"≥ {fmt(t['bound'], unit)}"
    else:
        want = f"{t['op'].replace('>=', '≥').replace('<=', '≤')} {t['bound']:g}× {name}"
    mark = "unknown" if t["met"] is None else ("**met**" if t["met"] else "not met")
    return f"{want}: {mark}"


def table(res):
    lines = ["| workload | innmf (range) | peak memory | baselines (peak memory) | ratio | target | threads (innmf / baseline) |",
             "|---|---|---|---|---|---|---|"]
    for name, s in res["summary"].items():
        if "innmf_median" not in s:
            lines.append(f"| `{name}` | no completed round | | | | | |")
            continue
        u = s["unit"]
        lo, hi = s["innmf_range"]
        ours = f"{fmt(s['innmf_median'], u)} ({fmt(lo, u)}–{fmt(hi, u)})" if s["rounds"] > 1 else fmt(s["innmf_median"], u)
        bases = " / ".join(f"{NAMES.get(b, b)} {fmt(v['median'], u)} ({v['peak_rss_mb']:.0f} MB)"
                           for b, v in s["baselines"].items())
        ratios = ", ".join(f"**{v['ratio']:.2f}×** {NAMES.get(b, b)}" for b, v in s["baselines"].items())
        targets = "; ".join(target_text(t, u) for t in s["targets"])
        theirs = sorted({t for v in s["baselines"].values() for t in v["threads"]})
        threads = f"{'/'.join(str(t) for t in s['innmf_threads'])} / {', '.join(theirs)}"
        lines.append(f"| `{name}`: {s['what']} | {ours} | {s['innmf_peak_rss_mb']:.0f} MB | {bases} | {ratios} | "
                     f"{targets} | {threads} |")
    quiet = "every round started quiet" if res.get("all_rounds_quiet") else (
        "**not quiet**: " + ", ".join(f"round {r['round']} load {r['load1']}" for r in res["rounds"] if not r["quiet"]))
    n = len(res["rounds"])
    v = res.get("python_versions", {})
    pkgs = ", ".join(f"{k} {v[k]}" for k in ("torch", "scikit-learn", "librosa", "nsgt", "mir_eval", "fast_bss_eval")
                     if v.get(k))
    lines.append("")
    lines.append(f"Measured {res['generated_utc']} by `bench/compare.sh` at commit {res['commit'][:10]}"
                 f"{' (uncommitted changes)' if res.get('dirty') else ''} ({res['innmf_version'].splitlines()[0]}), "
                 f"{n} round{'s' if n != 1 else ''} alternating innmf and the baselines ({quiet}; "
                 f"{res['quiet_rule']}); {res['machine'].get('cpu_model', '?')}, {res['machine'].get('cpu_count')} "
                 f"cores; {pkgs}. Medians over the rounds; ratio = baseline median / innmf median; peak memory = "
                 f"largest maximum resident set of a run (a whole process: input, setup and timing loop).")
    return "\n".join(lines)


def replace_in_readme(path, text):
    with open(path) as f:
        lines = f.read().split("\n")
    if lines.count(BEGIN) != 1 or lines.count(END) != 1 or lines.index(BEGIN) > lines.index(END):
        sys.exit(f"{path}: expected one {BEGIN} line followed by one {END} line")
    b, e = lines.index(BEGIN), lines.index(END)
    out = lines[: b + 1] + [text] + lines[e:]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, path)


def main():
    args = sys.argv[1:]
    readme = None
    if "--readme" in args:
        i = args.index("--readme")
        if i + 1 >= len(args):
            sys.exit("--readme needs the README's path")
        readme = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit("usage: speed_table.py bench/compare-YYYYMMDD-HHMM.json [--readme README.md]")
    with open(args[0]) as f:
        res = json.load(f)
    if "summary" not in res:
        sys.exit(f"{args[0]}: no summary (no round finished); expected a bench/compare.sh JSON")
    text = table(res)
    if readme:
        replace_in_readme(readme, text)
        print(f"replaced the speed table in {readme}")
    else:
        print(text)


if __name__ == "__main__":
    main()
