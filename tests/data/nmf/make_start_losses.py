#!/usr/bin/env python3
"""scikit-learn's `_beta_divergence` of the committed start factors, for
crates/innmf/tests/nmf_fixtures.rs (`sklearn_loss_of_the_start_matches`).

Run from anywhere:   /root/.bench-venv/bin/python tests/data/nmf/make_start_losses.py
Needs numpy and scikit-learn. Reads mu_cases.npz (X_pos, X_zero, W0, H0, made by
make_nmf_fixtures.py) and writes start_losses.json next to itself: for each data matrix and
beta in {0, 0.5, 1, 1.5, 2, 3}, `_beta_divergence(X, W0, H0, beta)` (scikit-learn's loss, its
own epsilon handling of zeros) and, for the strictly positive X_pos, the same sum computed
directly from the definition in float64 (no epsilon).
"""
import json
import os
import sys

try:
    import numpy as np
    import sklearn
    from sklearn.decomposition._nmf import _beta_divergence
except ImportError as e:  # pragma: no cover
    sys.exit(f"needs numpy and scikit-learn ({e})")

HERE = os.path.dirname(os.path.abspath(__file__))


def direct(x, y, beta):
    if beta == 0:
        return float(np.sum(x / y - np.log(x / y) - 1))
    if beta == 1:
        return float(np.sum(x * np.log(x / y) - x + y))
    return float(np.sum((x**beta + (beta - 1) * y**beta - beta * x * y ** (beta - 1))
                        / (beta * (beta - 1))))


def main():
    a = np.load(os.path.join(HERE, "mu_cases.npz"))
    w0, h0 = a["W0"], a["H0"]
    cases = []
    for key in ["X_pos", "X_zero"]:
        x = a[key]
        for beta in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]:
            if key == "X_zero" and beta <= 0.0:
                continue  # IS of zero data is infinite
            case = {"x": key, "beta": beta,
                    "sklearn": float(_beta_divergence(x, w0, h0, beta))}
            if key == "X_pos":
                case["direct"] = direct(x, w0 @ h0, beta)
            cases.append(case)
    out = {"cases": cases, "numpy": np.__version__, "sklearn": sklearn.__version__}
    with open(os.path.join(HERE, "start_losses.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
