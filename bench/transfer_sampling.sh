#!/usr/bin/env bash
# The transfer study's network sampling, exact against auto (issue 12): seven units of the first
# recording (awb) run one after the other on one thread each, CPU seconds and the units' losses.
#   bash bench/transfer_sampling.sh target/release/innmf exact OUT_ROOT
#   bash bench/transfer_sampling.sh target/release/innmf auto OUT_ROOT
# Scores: KL(A->B) / KL(B->B) from the printed refit KLs, e.g. stft-2000.cqt / cqt.cqt.
set -euo pipefail
BIN=$(realpath "$1"); MODE=$2; ROOT=${3:-/tmp/transfer-sampling}; OUT=$ROOT/$MODE
DATA=${DATA:-../shared/data}
cd "$(dirname "$0")/.."
mkdir -p "$ROOT"
"$BIN" experiment plan transfer --data "$DATA" --out "$ROOT/default" > /dev/null
python3 - "$MODE" "$ROOT" <<'PY'
import json, sys
mode, root = sys.argv[1], sys.argv[2]
c = json.load(open(f"{root}/default/plan.json"))["config"]
c["transfer"]["recordings"] = 1
c["transfer"]["sampling"] = mode
json.dump(c, open(f"{root}/{mode}.json", "w"))
PY
"$BIN" experiment plan transfer --data "$DATA" --out "$OUT" --config "$ROOT/$MODE.json" > /dev/null
for u in transfer-train.awb.stft-2000 transfer-train.awb.cqt transfer-train.awb.cwt transfer.awb.stft-2000.cqt transfer.awb.cqt.cqt transfer.awb.stft-2000.cwt transfer.awb.cwt.cwt; do
  /usr/bin/time -f "$u %U s user" "$BIN" --threads 1 experiment run-unit --out "$OUT" "$u" 2>&1 | tail -1
done
python3 - "$OUT" <<'PY'
import json,glob,sys
for f in sorted(glob.glob(sys.argv[1]+'/units/*.json')):
    r=json.load(open(f)); rows=r.get('rows',[])
    print(r['id'], round(r.get('elapsed_s',0),1), [ (x.get('kl'), x.get('final_loss')) for x in rows])
PY
