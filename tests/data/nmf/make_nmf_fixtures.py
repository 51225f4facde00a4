#!/usr/bin/env python3
"""Golden fixtures for innmf's multiplicative-update NMF (crates/innmf/src/nmf), from scikit-learn.

Run from anywhere:   python tests/data/nmf/make_nmf_fixtures.py
Needs numpy and scikit-learn (>= 1.2 for alpha_W/alpha_H). The project's benchmark venv has
them (`/root/.bench-venv/bin/python`, made by `shared/bench/setup_venv.sh`); otherwise
`python -m pip install numpy scikit-learn` into a fresh venv first. If they are missing this
script says so and exits non-zero.

Writes, next to itself:
  mu_cases.npz   inputs (X_pos strictly positive 12x10, X_zero the same with zeros, W0 12x3,
                 H0 3x10) and per case: <case>_W, <case>_H after n iterations of
                 NMF(solver='mu', init='custom', tol=0), and <case>_W0/<case>_H0 for the
                 NNDSVD cases (sklearn's _initialize_nmf).
  fixtures.json  the case list (beta, data key, n_iter, regularisation, losses as
                 sklearn's _beta_divergence) and the library versions.
"""
import json
import os
import platform
import sys
import warnings

try:
    import numpy as np
    import sklearn
    from sklearn.decomposition import NMF, non_negative_factorization
    from sklearn.decomposition._nmf import _beta_divergence, _initialize_nmf
except ImportError as e:  # pragma: no cover
    sys.exit(f"needs numpy and scikit-learn ({e}); e.g. /root/.bench-venv/bin/python {sys.argv[0]}")

HERE = os.path.dirname(os.path.abspath(__file__))
F, T, K = 12, 10, 3


def main():
    rng = np.random.RandomState(20240404)
    x_pos = np.abs(rng.standard_normal((F, T))) + 0.05
    x_zero = x_pos.copy()
    x_zero[rng.rand(F, T) < 0.2] = 0.0
    w0 = np.abs(rng.standard_normal((F, K))) + 0.1
    h0 = np.abs(rng.standard_normal((K, T))) + 0.1
    data = {"X_pos": x_pos, "X_zero": x_zero, "W0": w0, "H0": h0}
    arrays = dict(data)
    cases = []

    def mu_case(name, beta, xkey, n_iter, alpha_W=0.0, alpha_H="same", l1_ratio=0.0):
        x = data[xkey]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = NMF(n_components=K, solver="mu", beta_loss=beta, init="custom", max_iter=n_iter,
                    tol=0.0, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio)
            W = m.fit_transform(x, W=w0.copy(), H=h0.copy())
            H = m.components_
        assert m.n_iter_ == n_iter
        arrays[f"{name}_W"], arrays[f"{name}_H"] = W, H
        cases.append({"name": name, "kind": "mu", "beta": beta, "x": xkey, "n_iter": n_iter,
                      "alpha_W": alpha_W, "alpha_H": None if alpha_H == "same" else alpha_H,
                      "l1_ratio": l1_ratio, "loss": float(_beta_divergence(x, W, H, beta))})

    for beta in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        mu_case(f"pos_b{beta:g}", beta, "X_pos", 25)
    for beta in (0.5, 1.0, 2.0):
        mu_case(f"zero_b{beta:g}", beta, "X_zero", 25)
    mu_case("reg_b1", 1.0, "X_pos", 20, alpha_W=0.01, l1_ratio=0.5)
    mu_case("reg_b2", 2.0, "X_zero", 20, alpha_W=0.005, alpha_H=0.02, l1_ratio=0.3)
    mu_case("reg_b0.5_l2", 0.5, "X_pos", 20, alpha_W=0.01, alpha_H=0.0, l1_ratio=0.0)

    # Fixed H, W fitted from sklearn's constant start sqrt(mean(X)/K) ('mu' + update_H=False).
    for beta in (1.0, 2.0, 0.5):
        name = f"fixedH_b{beta:g}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W, H, n = non_negative_factorization(x_zero, H=h0.copy(), n_components=K, init=None,
                                                 update_H=False, solver="mu", beta_loss=beta,
                                                 tol=0.0, max_iter=15)
        assert n == 15 and np.array_equal(H, h0)
        arrays[f"{name}_W"] = W
        cases.append({"name": name, "kind": "fixed_h", "beta": beta, "x": "X_zero", "n_iter": 15,
                      "alpha_W": 0.0, "alpha_H": None, "l1_ratio": 0.0,
                      "loss": float(_beta_divergence(x_zero, W, h0, beta))})

    # NNDSVD family: K + 10 oversamples >= min(F, T), so the randomized SVD is exact.
    for init in ("nndsvd", "nndsvda"):
        for xkey in ("X_pos", "X_zero"):
            W, H = _initialize_nmf(data[xkey], K, init=init, random_state=0)
            name = f"init_{init}_{xkey}"
            arrays[f"{name}_W0"], arrays[f"{name}_H0"] = W, H
            cases.append({"name": name, "kind": "init", "init": init, "x": xkey})

    arrays = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}
    np.savez_compressed(os.path.join(HERE, "mu_cases.npz"), **arrays)
    meta = {
        "generator": "tests/data/nmf/make_nmf_fixtures.py",
        "shape": {"F": F, "T": T, "K": K},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scikit-learn": sklearn.__version__},
        "cases": cases,
    }
    with open(os.path.join(HERE, "fixtures.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    print(f"wrote {len(cases)} cases to {HERE}")


if __name__ == "__main__":
    main()
