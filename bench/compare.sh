#!/usr/bin/env bash
# Side-by-side speed comparison of `innmf bench` with the PyTorch / scikit-learn baselines of
# ../shared/bench/torch_baseline.py, in one run on the same machine (absolute times on shared
# machines drift ±30 %: only the ratios mean anything).
#
#   bash bench/compare.sh [PYTHON]       # PYTHON defaults to ~/.bench-venv/bin/python
#
# Order per workload: innmf, the Python baseline, innmf again (the Rust figure is the mean of its
# two runs, so drift during the Python run is split evenly). Writes bench/compare-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-$HOME/.bench-venv/bin/python}
SHARED=../shared/bench
OUT=bench/compare-$(date +%Y%m%d-%H%M).json
TMP=$(mktemp -d)
cargo build --release -q
BIN=target/release/innmf
SPEECH=$SHARED/data/speech_slt_20s.wav
PIANO=$SHARED/data/piano_4410.wav

$BIN bench stft-fit --input "$SPEECH" --steps 60 > "$TMP/r1a.json"
$BIN bench hybrid-fit --input "$PIANO" --steps 60 > "$TMP/r2a.json"
$BIN bench nmf-kl --input "$SPEECH" --warmup 3 > "$TMP/r3a.json"
"$PY" $SHARED/torch_baseline.py --workloads w1,w2,w3 --speech "$SPEECH" \
    --piano ../shared/data/music/learnerspiano_low_octave.wav \
    --opt-epochs 60 --fit-epochs 60 --short-compiled-fit --w2-opt-epochs 60 \
    --nmf-runs 1 --ref-epochs 2 --w2-ref-epochs 1 --out "$TMP/py.json" > "$TMP/py.log" 2>&1
$BIN bench stft-fit --input "$SPEECH" --steps 60 > "$TMP/r1b.json"
$BIN bench hybrid-fit --input "$PIANO" --steps 60 > "$TMP/r2b.json"
$BIN bench nmf-kl --input "$SPEECH" --warmup 3 > "$TMP/r3b.json"

python3 - "$TMP" "$OUT" <<'PY'
import json, sys
tmp, out = sys.argv[1], sys.argv[2]
r = lambda n: json.load(open(f"{tmp}/{n}.json"))
py = json.load(open(f"{tmp}/py.json"))
mean = lambda a, b, k: (r(a)[k] + r(b)[k]) / 2
w1, w2, w3 = py["w1_stft_fit"], py["w2_hybrid_fit"], py["w3_classic_nmf"]
res = {
    "stft-fit": {"innmf_ms": mean("r1a", "r1b", "median_ms"),
                 "torch_eager_ms": w1["optimized_eager"]["median_ms"],
                 "torch_compiled_ms": w1.get("optimized_compiled", {}).get("median_ms")},
    "hybrid-fit": {"innmf_ms": mean("r2a", "r2b", "median_ms"),
                   "torch_eager_ms": w2["optimized_eager"]["median_ms"],
                   "torch_compiled_ms": w2.get("optimized_compiled", {}).get("median_ms")},
    "nmf-kl": {"innmf_s": mean("r3a", "r3b", "median_s"),
               "innmf_final_mean_kl": r("r3b")["final_mean_kl"],
               "sklearn_s": w3["sklearn_mu_kl"]["median_s"],
               "sklearn_kld": w3["sklearn_mu_kl"]["kld_freq"],
               "torch_f32_s": w3["torch_float32"]["median_s"],
               "torch_f32_kld": w3["torch_float32"]["kld_freq"]},
}
for k, v in res.items():
    base = "innmf_ms" if "innmf_ms" in v else "innmf_s"
    for b in [x for x in v if x.endswith("_ms") or x.endswith("_s")]:
        if b != base and v[b]:
            v["ratio_vs_" + b.rsplit("_", 1)[0]] = round(v[b] / v[base], 2)
res["python_baseline_raw"] = {k: py[k] for k in ("w1_stft_fit", "w2_hybrid_fit", "w3_classic_nmf") if k in py}
json.dump(res, open(out, "w"), indent=1)
for k, v in res.items():
    if k != "python_baseline_raw":
        print(k, {a: (round(b, 3) if isinstance(b, float) else b) for a, b in v.items()})
print("wrote", out)
PY
