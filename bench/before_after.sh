#!/usr/bin/env bash
# Side-by-side speed of two or more innmf builds on the README's workloads: runs the builds in
# turn (first, second, ..., first, second, ...) ROUNDS times per workload and prints the median
# of each build's reported medians and each build's speed relative to the first (>1: faster).
# Run on a quiet machine (uptime < 0.5).
#   ROUNDS=3 bash bench/before_after.sh /path/to/innmf-before target/release/innmf [more builds]
# ONLY=nmf-kl (a workload name, or several separated by spaces) runs only those workloads.
set -euo pipefail
rounds=${ROUNDS:-3}
bins=("$@")
data=../shared/bench/data
uptime
date -u
echo "builds: ${bins[*]}; rounds: $rounds"
run() { # binary workload args... -> the median it reports (ms or s)
  local bin=$1; shift
  "$bin" bench --shared ../shared "$@" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("median_ms", d.get("median_s")))'
}
for spec in "stft-fit --input $data/speech_slt_20s.wav --steps 60" \
            "hybrid-fit --input $data/piano_4410.wav --steps 100" \
            "nmf-kl --input $data/speech_slt_20s.wav" \
            "bss-eval" \
            "analyze-vqt --steps 5" "analyze-nsgt --steps 5" "analyze-cqt --steps 3" \
            "analyze-vqt --steps 5 --threads 1" "analyze-nsgt --steps 5 --threads 1"; do
  if [[ -n "${ONLY:-}" && " $ONLY " != *" ${spec%% *} "* ]]; then continue; fi
  results=()
  for i in "${!bins[@]}"; do results[i]=""; done
  for _ in $(seq "$rounds"); do
    for i in "${!bins[@]}"; do results[i]="${results[i]} $(run "${bins[i]}" $spec)"; done
  done
  python3 - "$spec" "${results[@]}" <<'PY'
import statistics as s, sys
spec, runs = sys.argv[1], [[float(x) for x in r.split()] for r in sys.argv[2:]]
meds = [s.median(r) for r in runs]
name = spec.split()[0] + (" (1 thread)" if "--threads 1" in spec else "")
cols = "  ".join(f"{m:10.4g} ({meds[0]/m:4.2f}x)" for m in meds)
print(f"{name:<24} {cols}   runs {runs}")
PY
done
