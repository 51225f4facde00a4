#!/usr/bin/env bash
# Runs the issue-15 separation studies named on the command line, one after the other:
#   studies/issue15/run.sh dev paper ms warm300 ...   -> configs/dev-NAME.json on DATA_DEV
#   studies/issue15/run.sh test paper innmf           -> configs/test-NAME.json on DATA_TEST
# Each run writes OUT_ROOT/<part>-NAME/ (units, models, REPORT.md) and copies its results.json to
# studies/issue15/runs/<part>-NAME.results.json. Units that only depend on settings a run shares
# with <part>-paper (NMF fits; iN-NMF models when only the separation settings differ) are
# copied from <part>-paper (or from <part>-$BASE) first: the runner reuses a unit whose settings
# hash matches and recomputes the others.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
part=$1; shift
INNMF=${INNMF:-$here/../../target/release/innmf}
OUT_ROOT=${OUT_ROOT:-/tmp/h15}
DATA_DEV=${DATA_DEV:-$OUT_ROOT/dev}         # speech/{awb,ked,rms}.wav (links into ../shared/data/speech)
DATA_TEST=${DATA_TEST:-/work/shared/data}   # all 6 recordings; the test part = pairs with kal16 or slt
STUDY=${STUDY:-separation}
if [ "$part" = dev ]; then data=$DATA_DEV; pairs=3; else data=$DATA_TEST; pairs=10; fi
for name in "$@"; do
  out=$OUT_ROOT/$part-$name
  base=$OUT_ROOT/$part-${BASE:-paper}
  if [ "$out" != "$base" ] && [ -d "$base/units" ]; then
    mkdir -p "$out/units" "$out/models"
    cp -n "$base"/units/nmf.* "$base"/units/separate.*.nmf.* "$out/units/" 2>/dev/null || true
    cp -n "$base"/models/*.nmf-* "$out/models/" 2>/dev/null || true
    cp -n "$base"/units/innmf-train.* "$out/units/" 2>/dev/null || true   # reused only if its hash matches
    cp -n "$base"/models/*.innmf-* "$out/models/" 2>/dev/null || true
  fi
  /usr/bin/time -f "%e s wall" nice -n 10 "$INNMF" --threads 1 experiment "$STUDY" --data "$data" \
    --out "$out" --config "$here/configs/$part-$name.json" --pairs $pairs --jobs ${JOBS:-2} \
    > "$out.log" 2>&1 || { echo "$name failed, see $out.log"; exit 1; }
  if [ "$STUDY" = separation ]; then res=$part-$name; else res=$part-$name.$STUDY; fi
  cp "$out/results.json" "$here/runs/$res.results.json"
  cp "$out/REPORT.md" "$here/runs/$res.REPORT.md"
  [ "$STUDY" = separation ] && python3 "$here/units.py" "$out" "$here/runs/$part-$name.units.json"
  echo "$part-$name done: $(tail -1 "$out.log")"
done
