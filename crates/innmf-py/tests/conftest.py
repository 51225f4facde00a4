"""Shared fixtures: the repository's committed test data, a synthesized signal, the CLI binary.

Tests read only files committed under ``tests/data`` and signals they synthesize.
"""

from __future__ import annotations

import os
import pathlib
import shutil

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"


def cli_path() -> pathlib.Path | None:
    """The ``innmf`` CLI: ``$INNMF_CLI``, else ``target/release/innmf``, else on ``PATH``."""
    env = os.environ.get("INNMF_CLI")
    if env:
        return pathlib.Path(env)
    p = ROOT / "target" / "release" / "innmf"
    if p.exists():
        return p
    w = shutil.which("innmf")
    return pathlib.Path(w) if w else None


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """The CLI binary; the test fails (not skips) when ``INNMF_REQUIRE_CLI=1`` (``./test.sh``)."""
    p = cli_path()
    if p is None or not p.exists():
        if os.environ.get("INNMF_REQUIRE_CLI") == "1":
            pytest.fail("the innmf CLI is not built (cargo build --release -p innmf-cli)")
        pytest.skip("the innmf CLI is not built; set INNMF_CLI or build target/release/innmf")
    return p


def two_tones(sr: int = 8000, seconds: float = 1.0) -> np.ndarray:
    """A 440 Hz tone, then a 1000 Hz tone joining it halfway, with a little deterministic noise."""
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(7)
    x = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1000 * t) * (t >= seconds / 2)
    return x + 1e-3 * rng.standard_normal(len(t))


@pytest.fixture
def signal() -> tuple[np.ndarray, int]:
    return two_tones(), 8000
