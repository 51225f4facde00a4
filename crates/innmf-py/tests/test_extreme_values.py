"""Extreme values: floats shown short in messages, β/ω/lr bounded where they only made the loss
NaN (ValueError, not a divergence), absurd signals a ValueError (not OSError), and the
experiment's output folder kept out of its data folder."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import innmf
from innmf import experiment

SR = 8000
X = 0.5 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
V = np.abs(np.random.default_rng(0).normal(size=(8, 6))) + 0.1
GRID = dict(freqs=np.linspace(0, 4000, 8), times=np.arange(6) * 0.1)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(beta=1e300), r"beta = 1e300: expected a finite β in \[−10, 10\]"),
        (dict(beta=-1000.0), r"beta = -1000: expected a finite β in \[−10, 10\]"),
        (dict(omega=1e30), r"omega = 1e30: expected a finite ω in \(0, 1000\]"),
        (dict(lr=1e30), r"lr = 1e30: expected a learning rate in \(0, 1000\]"),
    ],
)
def test_fit_settings_that_only_make_nan_are_value_errors(kw, match) -> None:
    # these were "training diverged at step 0: loss = NaN" (or step 1)
    with pytest.raises(ValueError, match=match) as e:
        innmf.ImplicitNMF(2, steps=2, **kw).fit(V, **GRID)
    assert "0" * 24 not in str(e.value) and "diverged" not in str(e.value)


def test_nmf_beta_is_bounded_as_in_fit() -> None:
    with pytest.raises(ValueError, match=r"100000: expected a finite β in \[−10, 10\]"):
        innmf.NMF(2, beta_loss=1e5, max_iter=5).fit(V)


@pytest.mark.parametrize("method", ["nmf", "innmf"])
def test_learn_templates_on_absurd_magnitudes_is_a_value_error(method) -> None:
    # samples of 1e300: finite, but no f32 template holds their magnitudes; this was OSError
    # (the model could not be stored)
    with pytest.raises(ValueError, match=r"training signal.*at most 1e30") as e:
        innmf.learn_templates(X * 1e300, SR, method=method, window=256, hop=128, steps=2)
    assert not isinstance(e.value, OSError)


def test_plan_refuses_an_output_folder_in_the_data_folder(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "data"
    (data / "speech").mkdir(parents=True)
    innmf.write_wav(data / "speech" / "a.wav", X, SR)
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    for out in [data, data / "run", data / "speech"]:
        with pytest.raises(ValueError, match="outside the data folder"):
            experiment.plan("hybrid", data, out, "quick")
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
