#!/usr/bin/env bash
# The single test command: the Rust tests, then the Python package built from source into a venv
# and its pytest suite. Needs a Rust toolchain and Python >= 3.10 with pip (pip fetches maturin,
# numpy and pytest from the package index the first time).
#
#   ./test.sh                 # everything
#   INNMF_SKIP_RUST=1 ./test.sh    # only the Python package (build + pytest)
#   INNMF_VENV=/path ./test.sh     # the venv to create or reuse (default .venv at the root)
#   PYTHON=python3.11 ./test.sh    # the interpreter that makes the venv
#
# The package is built with the same cargo flags and target directory as `cargo test --release`
# (so the library is compiled once); distributable wheels are built by
# crates/innmf-py/build_wheel.sh.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

if [ "${INNMF_SKIP_RUST:-0}" != 1 ]; then
    echo "== cargo test --release"
    # also builds target/release/innmf, the CLI the Python tests compare against
    cargo test --release
else
    cargo build --release -p innmf-cli
fi

VENV=${INNMF_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PY" -m venv "$VENV"
fi
echo "== pip install ./crates/innmf-py numpy pytest dask[distributed] (into $VENV)"
# maturin in the venv and --no-build-isolation: a reused venv builds without the package index;
# dask.distributed for the experiment module's cluster test (tests/test_experiment.py)
"$VENV/bin/python" -m pip install --quiet numpy pytest "maturin>=1.5,<2" "dask[distributed]"
# --force-reinstall --no-deps: rebuild from this checkout's sources even if the version is unchanged
PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps \
    ./crates/innmf-py

echo "== pytest crates/innmf-py/tests"
# run from the tests folder so that `import innmf` is the installed package, not the sources
cd crates/innmf-py/tests
INNMF_CLI="$ROOT/target/release/innmf" INNMF_REQUIRE_CLI=1 \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
