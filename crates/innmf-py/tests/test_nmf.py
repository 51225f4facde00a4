"""innmf.NMF against the committed scikit-learn fixtures (tests/data/nmf, made by
make_nmf_fixtures.py with scikit-learn 1.9), in float64 and float32."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import innmf
from conftest import DATA

FIX = json.loads((DATA / "nmf" / "fixtures.json").read_text())
ARR = np.load(DATA / "nmf" / "mu_cases.npz")
K = FIX["shape"]["K"]


def close(a: np.ndarray, b: np.ndarray, rel: float) -> None:
    """|a − b| ≤ rel·(|b| + 1e-3·max|b|): relative, with a floor for entries driven to 0 (the
    Rust fixture test's rule)."""
    tol = rel * (np.abs(b) + 1e-3 * np.abs(b).max())
    bad = np.abs(a - b) > tol
    assert not bad.any(), f"{int(bad.sum())} entries differ, worst {np.abs(a - b).max():.3e}"


def case_ids(kind: str) -> list[dict]:
    return [c for c in FIX["cases"] if c["kind"] == kind]


@pytest.mark.parametrize("case", case_ids("mu"), ids=lambda c: c["name"])
def test_mu_matches_sklearn_float64(case: dict) -> None:
    x = ARR[case["x"]]
    est = innmf.NMF(
        n_components=K,
        init="custom",
        beta_loss=case["beta"],
        max_iter=case["n_iter"],
        tol=0.0,
        alpha_W=case["alpha_W"],
        alpha_H="same" if case["alpha_H"] is None else case["alpha_H"],
        l1_ratio=case["l1_ratio"],
    )
    W = est.fit_transform(x, W=ARR["W0"].copy(), H=ARR["H0"].copy())
    assert W.dtype == np.float64 and est.components_.dtype == np.float64
    assert W.shape == (x.shape[0], K) and est.components_.shape == (K, x.shape[1])
    close(W, ARR[case["name"] + "_W"], 1e-5)
    close(est.components_, ARR[case["name"] + "_H"], 1e-5)
    assert est.n_iter_ == case["n_iter"]
    # scikit-learn's reconstruction_err_ = sqrt(2·_beta_divergence)
    want = np.sqrt(2 * case["loss"])
    assert abs(est.reconstruction_err_ - want) <= 1e-5 * want


@pytest.mark.parametrize("case", case_ids("mu")[:6], ids=lambda c: c["name"])
def test_mu_float32_is_computed_in_float32(case: dict) -> None:
    x = ARR[case["x"]].astype(np.float32)
    est = innmf.NMF(K, init="custom", beta_loss=case["beta"], max_iter=case["n_iter"], tol=0.0)
    W = est.fit_transform(x, W=ARR["W0"].astype(np.float32), H=ARR["H0"].astype(np.float32))
    assert W.dtype == np.float32 and est.components_.dtype == np.float32
    # float32 arithmetic over 25 iterations: agreement to ~1e-3 relative, not 1e-5
    close(W.astype(np.float64), ARR[case["name"] + "_W"], 2e-3)
    # and it is not the float64 computation rounded at the end
    est64 = innmf.NMF(K, init="custom", beta_loss=case["beta"], max_iter=case["n_iter"], tol=0.0)
    W64 = est64.fit_transform(x.astype(np.float64), W=ARR["W0"].copy(), H=ARR["H0"].copy())
    assert not np.array_equal(W, W64.astype(np.float32))


@pytest.mark.parametrize("case", case_ids("fixed_h"), ids=lambda c: c["name"])
def test_transform_matches_sklearn_fixed_h(case: dict) -> None:
    est = innmf.NMF(K, beta_loss=case["beta"], max_iter=case["n_iter"], tol=0.0)
    est.components_ = ARR["H0"].copy()  # as a fitted estimator holds H
    W = est.transform(ARR[case["x"]])
    close(W, ARR[case["name"] + "_W"], 1e-5)


@pytest.mark.parametrize("case", case_ids("init"), ids=lambda c: c["name"])
def test_nndsvd_start_matches_sklearn(case: dict) -> None:
    # zero iterations are not allowed; one MU iteration from the fixture's start must equal one
    # iteration from ours
    x = ARR[case["x"]]
    ours = innmf.NMF(K, init=case["init"], beta_loss=2, max_iter=1, tol=0.0)
    W = ours.fit_transform(x)
    ref = innmf.NMF(K, init="custom", beta_loss=2, max_iter=1, tol=0.0)
    Wr = ref.fit_transform(x, W=ARR[case["name"] + "_W0"].copy(), H=ARR[case["name"] + "_H0"].copy())
    close(W, Wr, 1e-9)
    close(ours.components_, ref.components_, 1e-9)


def test_fit_transform_inverse_and_params() -> None:
    x = ARR["X_pos"]
    est = innmf.NMF(n_components=3, beta_loss="kullback-leibler", max_iter=400, tol=1e-6)
    assert est.fit(x) is est
    W = est.transform(x)
    assert W.shape == (12, 3)
    V = est.inverse_transform(W)
    assert V.shape == x.shape
    assert np.linalg.norm(V - x) < 0.5 * np.linalg.norm(x)
    p = est.get_params()
    assert p["n_components"] == 3 and p["beta_loss"] == "kullback-leibler"
    assert est.set_params(max_iter=5) is est and est.max_iter == 5
    with pytest.raises(ValueError, match="invalid parameter"):
        est.set_params(bogus=1)
    est2 = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est2.components_, est.components_)


def test_same_seed_same_result() -> None:
    x = ARR["X_zero"]
    a = innmf.NMF(3, init="random", random_state=5, max_iter=30).fit_transform(x)
    b = innmf.NMF(3, init="random", random_state=5, max_iter=30).fit_transform(x)
    c = innmf.NMF(3, init="random", random_state=6, max_iter=30).fit_transform(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bad_inputs() -> None:
    x = ARR["X_pos"].copy()
    with pytest.raises(ValueError, match=r"X\[0, 1\] = -1.0.*non-negative"):
        bad = x.copy()
        bad[0, 1] = -1
        innmf.NMF(3).fit(bad)
    with pytest.raises(ValueError, match=r"X\[2, 0\] = nan.*finite"):
        bad = x.copy()
        bad[2, 0] = np.nan
        innmf.NMF(3).fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        innmf.NMF(3).fit(x.ravel())
    with pytest.raises(TypeError, match="complex"):
        innmf.NMF(3).fit(x.astype(complex))
    with pytest.raises(ValueError, match="beta_loss"):
        innmf.NMF(3, beta_loss="euclid").fit(x)
    with pytest.raises(ValueError, match="solver"):
        innmf.NMF(3, solver="cd").fit(x)
    with pytest.raises(ValueError, match="init"):
        innmf.NMF(3, init="magic").fit(x)
    with pytest.raises(ValueError, match="W has shape"):
        innmf.NMF(3, init="custom").fit(x, W=np.ones((12, 4)), H=np.ones((3, 10)))
    with pytest.raises(ValueError, match="not fitted"):
        innmf.NMF(3).transform(x)
    with pytest.raises(ValueError, match="features"):
        innmf.NMF(3, max_iter=5).fit(x).transform(x[:, :5])
    # a non-contiguous view is accepted (copied) and gives the contiguous array's result
    v = np.asfortranarray(x)
    a = innmf.NMF(3, max_iter=10).fit_transform(v)
    b = innmf.NMF(3, max_iter=10).fit_transform(x)
    np.testing.assert_array_equal(a, b)
    # integer input is computed in float64
    assert innmf.NMF(3, max_iter=3).fit_transform((x * 10).astype(np.int64)).dtype == np.float64


def test_progress_callback_and_its_exception() -> None:
    calls = []
    innmf.NMF(3, max_iter=50, tol=0).fit(ARR["X_pos"], progress=lambda *a: calls.append(a))
    assert calls and calls[-1][0] == calls[-1][1] == 50

    class Stop(Exception):
        pass

    def stop(*_):
        raise Stop()

    est = innmf.NMF(3, max_iter=50, tol=0)
    with pytest.raises(Stop):
        est.fit(ARR["X_pos"], progress=stop)
    assert not hasattr(est, "components_")


def test_sizes_and_hand_set_components_are_checked() -> None:
    x = ARR["X_pos"].copy()
    # a rank of 1e9 aborted the interpreter on a 40 GB allocation of W
    with pytest.raises(ValueError, match="rank = 1000000000.*at most 268435456 values"):
        innmf.NMF(10**9).fit(x)
    # integers beyond 64 bits were an OverflowError
    with pytest.raises(ValueError, match="n_components"):
        innmf.NMF(2**64).fit(x)
    with pytest.raises(ValueError, match="max_iter"):
        innmf.NMF(3, max_iter=2**64).fit(x)
    # a scalar or 1-D H/components_ was an IndexError, a list an AttributeError
    with pytest.raises(ValueError, match="H has shape"):
        innmf.NMF(init="custom").fit(x, W=np.ones((x.shape[0], 2)), H=3.0)
    m = innmf.NMF(3, max_iter=5).fit(x)
    m.components_ = m.components_[0]
    with pytest.raises(ValueError, match="components_ has shape"):
        m.transform(x)
    m.components_ = [[1.0] * x.shape[1]] * 3
    assert m.transform(x).shape == (x.shape[0], 3)
