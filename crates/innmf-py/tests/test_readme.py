"""The README's Python example runs as written, so that it cannot drift from the package's API.

The README's Rust examples are doctests of the ``innmf`` crate (``ReadmeDoctests`` in its
``lib.rs``); this is the Python side.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import ROOT


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    _, sep, section = text.partition("### Example\n")
    assert sep, "README.md has no '### Example' section"
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m, "README.md's Example section has no python block"
    return m.group(1)


def test_readme_example_runs(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(readme_example(), "README.md (### Example)", "exec"), ns)
    # the files it says it writes, read back by the package
    import innmf

    assert innmf.ImplicitNMF.load(tmp_path / "a.safetensors").sample_w(np.array([220.0])).shape == (4, 1)
    assert innmf.load_audio(tmp_path / "a.wav")[1] == 8000
    # the two synthesized sources (a pulsed harmonic note, a vibrato tone) come apart cleanly
    sdr, perm = ns["sdr"], ns["perm"]
    assert sdr.shape == (2,) and list(perm) == [0, 1]
    assert np.all(sdr > 15.0), sdr
    assert ns["W"].shape == (4, 401) and np.all(ns["W"] >= 0)
