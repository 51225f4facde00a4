#!/usr/bin/env bash
# Runs the separation study of every pair of the shared corpus (14 pairs of distinct speakers)
# at seeds 0, 1 and 2 with one configuration, and copies each results.json here:
#   studies/issue15/seeds.sh all-distill0            -> configs/all-distill0.json, runs/all-distill0-s{0,1,2}.*
#   BASE=all-old-preset studies/issue15/seeds.sh all-distill0   # reuses that run's NMF units
# A seed changes every random choice (NMF's and the networks' starts, the activations' start on a
# mixture); with all 14 pairs the pairs are the same at every seed. paired.py averages each
# pair's scores over the seeds: `paired.py RUN-s0+RUN-s1+RUN-s2:innmf RUN-s0+RUN-s1+RUN-s2:nmf`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=$1
INNMF=${INNMF:-$here/../../target/release/innmf}
OUT_ROOT=${OUT_ROOT:-/tmp/h15}
DATA=${DATA:-$here/../../../shared/data}
for s in ${SEEDS:-0 1 2}; do
  out=$OUT_ROOT/$name-s$s
  mkdir -p "$out/units" "$out/models"
  if [ -n "${BASE:-}" ] && [ -d "$OUT_ROOT/$BASE-s$s/units" ]; then
    cp -n "$OUT_ROOT/$BASE-s$s"/units/nmf.* "$OUT_ROOT/$BASE-s$s"/units/separate.*.nmf.* "$out/units/" 2>/dev/null || true
    cp -n "$OUT_ROOT/$BASE-s$s"/models/*.nmf-* "$out/models/" 2>/dev/null || true
  fi
  /usr/bin/time -f "%e s wall" nice -n 10 "$INNMF" experiment separation --data "$DATA" --out "$out" \
    --config "$here/configs/$name.json" --pairs 14 --seed "$s" --jobs ${JOBS:-2} > "$out.log" 2>&1 \
    || { echo "$name seed $s failed, see $out.log"; exit 1; }
  cp "$out/results.json" "$here/runs/$name-s$s.results.json"
  cp "$out/REPORT.md" "$here/runs/$name-s$s.REPORT.md"
  python3 "$here/units.py" "$out" "$here/runs/$name-s$s.units.json"
  echo "$name seed $s done: $(tail -1 "$out.log")"
done
