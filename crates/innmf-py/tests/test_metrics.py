"""innmf.metrics against the committed mir_eval / fast_bss_eval / pystoi fixtures
(tests/data/metrics, made by make_metrics_fixtures.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import innmf
from conftest import DATA

EXP = json.loads((DATA / "metrics" / "expected.json").read_text())
DB_TOL = 0.01  # dB, as the Rust fixture test: BSS Eval's least squares differ in the last digits


def wav(name: str) -> np.ndarray:
    x, _ = innmf.load_audio(DATA / "metrics" / name, channel=0)
    return x


def stack(names: list[str]) -> np.ndarray:
    return np.stack([wav(n) for n in names])


@pytest.mark.parametrize("name", sorted(EXP["scenarios"]))
@pytest.mark.parametrize("perm", [True, False])
def test_bss_eval_matches_mir_eval(name: str, perm: bool) -> None:
    sc = EXP["scenarios"][name]
    want = sc["bss_eval_perm" if perm else "bss_eval_noperm"]
    sdr, sir, sar, p = innmf.metrics.bss_eval(
        stack(sc["references"]), stack(sc["estimates"]), sc["fs"], compute_permutation=perm
    )
    n = len(sc["references"])
    for got, key in ((sdr, "sdr"), (sir, "sir"), (sar, "sar")):
        assert got.shape == (n,) and got.dtype == np.float64
        np.testing.assert_allclose(got, want[key], rtol=0, atol=DB_TOL)
    assert p.tolist() == want["perm"]


@pytest.mark.parametrize("name", sorted(EXP["scenarios"]))
@pytest.mark.parametrize("zero_mean", [False, True])
def test_si_sdr_matches_fast_bss_eval(name: str, zero_mean: bool) -> None:
    sc = EXP["scenarios"][name]
    want = sc["si_bss_eval_zero_mean" if zero_mean else "si_bss_eval"]
    refs, ests = stack(sc["references"]), stack(sc["estimates"])
    matched = ests[want["perm"]]
    got = innmf.metrics.si_sdr(refs, matched, zero_mean=zero_mean)
    assert got.shape == (len(refs),)
    np.testing.assert_allclose(got, want["sdr"], rtol=0, atol=DB_TOL)
    one = innmf.metrics.si_sdr(refs[0], matched[0], zero_mean=zero_mean)
    assert isinstance(one, float) and one == got[0]


@pytest.mark.parametrize("case", EXP["stoi"], ids=lambda c: f"{c['clean']}-{c['processed']}")
def test_stoi_matches_pystoi(case: dict) -> None:
    x, y = wav(case["clean"]), wav(case["processed"])
    assert abs(innmf.metrics.stoi(x, y, case["fs"]) - case["stoi"]) <= 1e-3
    assert abs(innmf.metrics.stoi(x, y, case["fs"], extended=True) - case["estoi"]) <= 1e-3


def test_evaluate_agrees_with_the_single_metrics() -> None:
    sc = EXP["scenarios"]["a"]
    refs, ests = stack(sc["references"]), stack(sc["estimates"])
    s = innmf.metrics.evaluate(refs, ests, sc["fs"])
    sdr, sir, sar, perm = innmf.metrics.bss_eval(refs, ests)
    assert s["permutation"] == perm.tolist()
    for j, src in enumerate(s["sources"]):
        assert src["sdr"] == sdr[j] and src["sir"] == sir[j] and src["sar"] == sar[j]
        e = ests[perm[j]]
        assert src["si_sdr"] == innmf.metrics.si_sdr(refs[j], e)
        assert src["stoi"] == innmf.metrics.stoi(refs[j], e, sc["fs"])
        assert src["estoi"] == innmf.metrics.stoi(refs[j], e, sc["fs"], extended=True)
    assert s["mean"]["sdr"] == pytest.approx(float(np.mean(sdr)), rel=1e-12)
    quick = innmf.metrics.evaluate(refs, ests, sc["fs"], stoi=False, extended_stoi=False)
    assert quick["sources"][0]["stoi"] is None


def test_bad_inputs() -> None:
    r = np.random.default_rng(0).standard_normal((2, 4000))
    with pytest.raises(ValueError, match="length|shape|samples"):
        innmf.metrics.bss_eval(r, r[:, :3000])
    with pytest.raises(ValueError, match="silent|zero"):
        innmf.metrics.bss_eval(r, np.zeros_like(r))
    bad = r.copy()
    bad[1, 7] = np.inf
    with pytest.raises(ValueError, match=r"estimated_sources\[1, 7\] = inf"):
        innmf.metrics.bss_eval(r, bad)
    with pytest.raises(TypeError, match="dtype"):
        innmf.metrics.si_sdr(r[0].astype(complex), r[0])
    with pytest.raises(ValueError, match="shape"):
        innmf.metrics.si_sdr(r, r[:1])
    with pytest.raises(ValueError, match="sr"):
        innmf.metrics.stoi(r[0], r[0], 0)
    with pytest.raises(ValueError, match="extended_stoi"):
        innmf.metrics.evaluate(r, r, 8000, stoi=False, extended_stoi=True)
    # a strided view is accepted (copied)
    wide = np.random.default_rng(1).standard_normal((2, 8000))
    a = innmf.metrics.bss_eval(wide[:, ::2], wide[:, ::2] + 0.1 * wide[:, 1::2])
    b = innmf.metrics.bss_eval(
        np.ascontiguousarray(wide[:, ::2]), np.ascontiguousarray(wide[:, ::2] + 0.1 * wide[:, 1::2])
    )
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_evaluate_returns_floats_for_a_perfect_estimate() -> None:
    import math

    t = np.arange(8000) / 8000.0
    refs = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1250 * t + 0.3)])
    s = innmf.metrics.evaluate(refs, refs, 8000, stoi=False, extended_stoi=False)
    for src in s["sources"]:
        for key in ("sdr", "sir", "sar", "si_sdr"):
            assert isinstance(src[key], float), (key, src[key])
        # a perfect estimate: no interference at all (mir_eval returns inf)
        assert src["sir"] > 100 or math.isinf(src["sir"])


def test_scores_of_very_loud_or_quiet_signals_are_finite() -> None:
    # energies of samples near 1e300 overflowed (near 1e-300 underflowed): NaN scores, silently
    r = np.random.default_rng(2).standard_normal((2, 4000))
    e = r + 0.1 * np.random.default_rng(3).standard_normal((2, 4000))
    want = innmf.metrics.bss_eval(r, e)
    for scale in (1e300, 1e60, 1e-300):  # 1e60: above the library's 1e50 limit, below 2^300
        got = innmf.metrics.bss_eval(r * scale, e * scale)
        for u, v in zip(want, got):
            np.testing.assert_allclose(v, u, rtol=1e-9)
        assert np.isclose(innmf.metrics.si_sdr(r[0] * scale, e[0] * scale),
                          innmf.metrics.si_sdr(r[0], e[0]), rtol=1e-9)
    # subnormal samples (fewer digits, but finite scores; 2^1063 is no double to scale by)
    sdr, _, sar, _ = innmf.metrics.bss_eval(r * 1e-320, e * 1e-320)
    assert np.isfinite(sdr).all() and np.isfinite(sar).all()


def test_stoi_rates_whose_resampling_is_too_large_are_refused() -> None:
    x = np.random.default_rng(4).standard_normal(80_000)
    # at 1 Hz the signal resampled to 8e8 samples (minutes, no Ctrl-C); at 4294967295 Hz the
    # filter asked for 497 GB (an abort); 2^40 was an OverflowError
    with pytest.raises(ValueError, match="fs = 1: expected a sample rate between 1000"):
        innmf.metrics.stoi(x, x, 1)
    with pytest.raises(ValueError, match="fs = 4294967295"):
        innmf.metrics.stoi(x, x, 2**32 - 1)
    with pytest.raises(ValueError, match="sr = 1099511627776"):
        innmf.metrics.stoi(x, x, 2**40)
