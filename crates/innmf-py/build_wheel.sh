#!/usr/bin/env bash
# Builds a distributable wheel of the innmf Python package into crates/innmf-py/dist.
#
# The workspace's .cargo/config.toml builds for the local CPU (target-cpu=native), which a wheel
# must not carry: it would die with an illegal instruction on an older CPU. RUSTFLAGS overrides
# that setting entirely; the baseline target (x86-64 / generic aarch64) is built in its own
# target directory so that it does not evict the native build the tests use. Kernels that use
# AVX2/AVX-512 choose them at run time (faer via pulp); the engine's own kernels do not yet, and
# at main 3d10e1b such a wheel fitted ~170x slower per step than the native build (see README).
#
#   crates/innmf-py/build_wheel.sh [extra maturin arguments]   # needs `pip install maturin`
set -euo pipefail
cd "$(dirname "$0")"
case "$(uname -m)" in
    x86_64 | amd64) export RUSTFLAGS="-C target-cpu=x86-64" ;;
    *) export RUSTFLAGS="" ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/../../target/wheel}"
"${PYTHON:-python3}" -m maturin build --release --out dist "$@"
