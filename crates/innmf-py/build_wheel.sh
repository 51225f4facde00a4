#!/usr/bin/env bash
# Builds a distributable wheel of the innmf Python package into crates/innmf-py/dist.
#
# The wheel is built for the baseline CPU (x86-64 / generic aarch64) whatever RUSTFLAGS the
# environment sets (e.g. target-cpu=native, which would make it die with an illegal instruction on
# an older CPU), in its own target directory so that it does not evict the test build. The engine's
# kernels choose AVX2/AVX-512 at run time (simd.rs), FFTs and GEMMs likewise, so the wheel runs at
# the speed of a native build (README, "Install").
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
