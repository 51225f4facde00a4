"""The public surface: every public name is documented, the native module's stub lists exactly
what the module holds, and every public name is used by the tests."""

from __future__ import annotations

import ast
import inspect
import pathlib

import innmf
import innmf._innmf as native

HERE = pathlib.Path(__file__).parent


def test_stub_matches_the_native_module() -> None:
    stub = pathlib.Path(native.__file__).with_name("_innmf.pyi")
    if not stub.exists():  # an installed wheel carries it next to the extension
        stub = pathlib.Path(innmf.__file__).with_name("_innmf.pyi")
    tree = ast.parse(stub.read_text())
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    actual = {n for n in dir(native) if not n.startswith("_")}
    assert stubbed == actual
    model_stub = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model")
    methods = {n.name for n in model_stub.body if isinstance(n, ast.FunctionDef)}
    assert methods == {n for n in dir(native.Model) if not n.startswith("_")}


def test_every_public_name_is_documented_and_typed() -> None:
    assert (pathlib.Path(innmf.__file__).parent / "py.typed").exists()
    for name in innmf.__all__:
        obj = getattr(innmf, name)
        if name.startswith("__"):
            continue
        assert inspect.getdoc(obj), name
    for name in innmf.metrics.__all__:
        assert inspect.getdoc(getattr(innmf.metrics, name)), name
    for cls in (innmf.ImplicitNMF, innmf.NMF, innmf.Points):
        for m, fn in vars(cls).items():
            if not m.startswith("_") and callable(fn):
                assert inspect.getdoc(fn), f"{cls.__name__}.{m}"


def test_every_public_name_is_exercised_by_the_tests() -> None:
    text = "\n".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != "test_api.py")
    names = [n for n in innmf.__all__ if not n.startswith("__")]
    names += [f"metrics.{n}" for n in innmf.metrics.__all__ if n != "bss_eval_sources"]
    missing = [n for n in names if n not in text and n != "Representation"]
    assert not missing, missing
    assert innmf.__version__
