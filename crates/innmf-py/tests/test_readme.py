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

    loaded = innmf.ImplicitNMF.load(tmp_path / "a.safetensors")
    assert loaded.sample_w(np.array([220.0])).shape == (4, 1)
    assert innmf.load_audio(tmp_path / "a.wav")[1] == 8000
    # the two synthesized sources (a pulsed harmonic note, a vibrato tone) come apart cleanly
    sdr, perm = ns["sdr"], ns["perm"]
    assert sdr.shape == (2,) and list(perm) == [0, 1]
    assert np.all(sdr > 15.0), sdr
    assert ns["W"].shape == (4, 401) and np.all(ns["W"] >= 0)


def _calls(text: str):
    """``(name, keyword names)`` of each call ``Name(...)`` in ``text``, nested calls included."""
    for m in re.finditer(r"(?<![\w.])((?:innmf\.)?[A-Za-z_][\w.]*|\.[a-z_]\w*)\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        args = text[m.end() : i - 1]
        flat = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", args)  # keywords of this call only
        yield m.group(1), re.findall(r"(?<![\w=])(\w+)=", flat)


def _resolve(name: str):
    """The object a name of the table stands for: ``innmf.X.Y``, a bare name of the package or of
    ``innmf.metrics`` (``stoi(...)``), or a method (``.fit``, ``fit(V, ...)``) of a value the row
    made: an estimator, a representation or the experiment module."""
    import innmf

    for root in (innmf, innmf.metrics):
        obj = root
        for part in name.removeprefix("innmf.").lstrip(".").split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None and not name.startswith("."):
            return obj
    owners = [innmf.ImplicitNMF, innmf.NMF, innmf.STFT, innmf.experiment]
    found = [getattr(o, name.lstrip(".")) for o in owners if hasattr(o, name.lstrip("."))]
    return found[0] if found else None


def test_readme_cli_to_python_table_names_what_exists() -> None:
    """Every Python name and keyword in the README's "How it maps to the CLI" table exists."""
    import inspect

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### How it maps to the CLI", 1)[1].split("\n### ", 1)[0]
    rows = [r.split("|")[2] for r in section.splitlines() if r.startswith("| `")]
    assert len(rows) >= 8, rows
    checked, problems = 0, []
    for py in rows:
        for name, kws in _calls(py):
            obj = _resolve(name)
            if obj is None:
                problems.append(f"{name}: not in the package")
                continue
            checked += 1
            try:
                params = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if any(p.kind is p.VAR_KEYWORD for p in params.values()):
                continue  # e.g. separate(**settings): checked by the library at call time
            problems += [f"{name}({k}=): no such keyword" for k in kws if k not in params]
    assert not problems, "\n".join(problems)
    assert checked >= 20, checked


def test_the_table_check_catches_a_wrong_name() -> None:
    calls = dict(_calls("`innmf.ImplicitNMF(n_components=20, wdith=).fit(pts, weights=w)`"))
    assert calls["innmf.ImplicitNMF"] == ["n_components", "wdith"]
    assert calls[".fit"] == ["weights"]
    import inspect

    import innmf

    assert "wdith" not in inspect.signature(innmf.ImplicitNMF).parameters
    assert _resolve("innmf.metrics.evaluate") is not None
    assert _resolve("innmf.metrics.evaluat") is None
