#!/usr/bin/env bash
# Side-by-side speed of two innmf builds on the README's workloads: runs BEFORE and AFTER
# alternately (before, after, before, after, ...) ROUNDS times per workload and prints the median
# of each side's reported median and their ratio. Run on a quiet machine (uptime < 0.5).
#   bash bench/before_after.sh /path/to/innmf-before target/release/innmf [ROUNDS]
set -euo pipefail
before=$1; after=$2; rounds=${3:-3}
data=../shared/bench/data
uptime
printf '%-14s %12s %12s %8s\n' workload before after ratio
run() { # binary workload args... -> the median it reports (ms or s)
  local bin=$1; shift
  "$bin" bench "$@" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("median_ms", d.get("median_s")))'
}
for spec in "stft-fit --input $data/speech_slt_20s.wav --steps 60" \
            "hybrid-fit --input $data/piano_4410.wav --steps 100" \
            "nmf-kl --input $data/speech_slt_20s.wav" \
            "bss-eval" \
            "analyze-vqt --steps 5" "analyze-nsgt --steps 5" "analyze-cqt --steps 3"; do
  b=(); a=()
  for _ in $(seq "$rounds"); do
    b+=("$(run "$before" $spec)"); a+=("$(run "$after" $spec)")
  done
  python3 - "${spec%% *}" "${b[*]}" "${a[*]}" <<'PY'
import statistics as s, sys
w, b, a = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
mb, ma = s.median(b), s.median(a)
print(f"{w:<14} {mb:12.4g} {ma:12.4g} {mb/ma:7.2f}x   before {b} after {a}")
PY
done
