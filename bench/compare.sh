#!/usr/bin/env bash
# The one reproducible speed comparison (issue 12): every workload of the README's speed table
# against its Python baseline, alternating innmf and the baseline run by run for ROUNDS rounds,
# each round started only once the machine is quiet (1-minute load < QUIET_LOAD, or marked
# "not quiet" after QUIET_TIMEOUT s); peak memory (max RSS) and thread counts of both sides
# recorded. Writes bench/compare-<UTC date>.json; `bench/speed_table.py` turns it into the
# README's table. Details: bench/compare.py.
#
#   bash bench/compare.sh                          # 3 rounds, every workload (~15 min quiet)
#   ROUNDS=5 ONLY="stft-fit nmf-kl" bash bench/compare.sh
#   PYTHON=/path/to/venv/bin/python OUT=x.json QUIET_LOAD=0.5 QUIET_TIMEOUT=600 NO_BUILD=1 ...
#
# Baselines: ../shared/bench/torch_baseline.py's models through bench/torch_side.py (PyTorch
# eager and torch.compile, f32 NMF with subnormals flushed, scikit-learn mu),
# tests/data/metrics/bench_bss_eval.py (mir_eval, fast_bss_eval) and
# tests/data/transforms/bench_transforms.py (librosa vqt, nsgt; 1 thread, as innmf there).
# The venv: bash ../shared/bench/setup_venv.sh ~/.bench-venv. From a worktree elsewhere than next
# to ../shared: INNMF_SHARED=/path/to/shared bash bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-$HOME/.bench-venv/bin/python}
if [[ ! -x "$PYTHON" ]]; then
  echo "compare.sh: no Python at $PYTHON (make the venv: bash ../shared/bench/setup_venv.sh ~/.bench-venv)" >&2
  exit 2
fi
if [[ -z "${NO_BUILD:-}" ]]; then cargo build --release -q; fi
exec python3 bench/compare.py
