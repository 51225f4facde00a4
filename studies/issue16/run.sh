#!/usr/bin/env bash
# The music separation study of issue 16 on the shared stems, from nothing or resuming:
#   studies/issue16/run.sh [OUT]          (default OUT: /tmp/issue16-music)
# then copies results.json and REPORT.md (and the figures) into studies/issue16/run/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-/tmp/issue16-music}
data=${DATA:-$root/../shared/data}
jobs=${JOBS:-2}
start=$(date +%s)
nice -n 10 "$root/target/release/innmf" experiment separation --data "$data" --out "$out" \
    --pairs 0 --config "$here/config.json" --jobs "$jobs"
echo "wall clock: $(( $(date +%s) - start )) s" >&2
mkdir -p "$here/run/figures"
cp "$out/results.json" "$out/REPORT.md" "$here/run/"
cp -r "$out/figures/music" "$here/run/figures/" 2>/dev/null || true
