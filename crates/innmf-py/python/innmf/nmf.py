"""``NMF``: classical NMF by multiplicative updates, scikit-learn's ``NMF(solver="mu")`` API and
results (``X ≈ W·H``, ``X`` of shape ``(n_samples, n_features)``), in the input's precision."""

from __future__ import annotations

import json
import numbers
from typing import Any, Callable

import numpy as np

from . import _checks, _innmf
from ._base import BaseEstimator

__all__ = ["NMF"]

_BETA = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


class NMF(BaseEstimator):
    """Non-negative matrix factorization ``X ≈ W·H`` by multiplicative updates, with
    scikit-learn's ``sklearn.decomposition.NMF(solver="mu")`` parameters and results (the
    committed fixtures agree to 1e-5 relative).

    float64 input is computed in float64 and float32 in float32 (as scikit-learn preserves
    dtypes); other real dtypes are converted to float64.

    Args:
        n_components: rank K (``None`` or ``"auto"``: ``n_features``; ``"auto"`` with custom
            ``W``/``H`` takes it from them).
        init: ``None`` (``"nndsvda"`` when K ≤ min(X.shape), else ``"random"``), ``"random"``,
            ``"nndsvd"``, ``"nndsvda"``, ``"nndsvdar"``, ``"custom"`` (give W and H to
            ``fit_transform``) or ``"paper"`` (10 + N(0,1), the iN-NMF paper's start).
        solver: only ``"mu"``.
        beta_loss: ``"frobenius"`` (2), ``"kullback-leibler"`` (1), ``"itakura-saito"`` (0) or
            a number.
        tol: stop when the relative loss change over 10 iterations falls below it.
        max_iter: iterations.
        random_state: seed (``None``: 0) or a numpy generator (one draw). Random starts use
            innmf's ChaCha8 generator, so they differ from scikit-learn's draws.
        alpha_W, alpha_H, l1_ratio: scikit-learn's regularization (``alpha_H="same"``).
        verbose, shuffle: accepted for compatibility (``shuffle`` only matters for ``"cd"``).

    Attributes:
        components_: H, ``(n_components, n_features)``.
        n_components_: K.
        n_features_in_: number of features seen in fit.
        n_iter_: iterations run.
        reconstruction_err_: ``sqrt(2·β-divergence(X, WH))`` (the Frobenius norm for β = 2).
    """

    def __init__(
        self,
        n_components: int | str | None = "auto",
        *,
        init: str | None = None,
        solver: str = "mu",
        beta_loss: str | float = "frobenius",
        tol: float = 1e-4,
        max_iter: int = 200,
        random_state: Any = None,
        alpha_W: float = 0.0,
        alpha_H: float | str = "same",
        l1_ratio: float = 0.0,
        verbose: int = 0,
        shuffle: bool = False,
    ) -> None:
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.shuffle = shuffle

    def _beta(self) -> float:
        b = self.beta_loss
        if isinstance(b, str):
            if b not in _BETA:
                raise ValueError(
                    f"beta_loss = {b!r}: expected one of {', '.join(_BETA)} or a number"
                )
            return _BETA[b]
        return _checks.real(b, "beta_loss")

    def _rank(self, X: np.ndarray, W: Any, H: Any) -> int:
        k = self.n_components
        if k is None or (isinstance(k, str) and k == "auto"):
            # the shapes are checked here: np.shape(H)[0] of a scalar H was an IndexError
            if isinstance(k, str) and H is not None:
                return int(_checks.array(H, "H", 2, dtype=X.dtype).shape[0])
            if isinstance(k, str) and W is not None:
                return int(_checks.array(W, "W", 2, dtype=X.dtype).shape[1])
            return int(X.shape[1])
        if isinstance(k, str):
            raise ValueError(f"n_components = {k!r}: expected a positive integer, None or 'auto'")
        return _checks.positive_int(k, "n_components")

    def _run(
        self,
        X: Any,
        W: Any,
        H: Any,
        update_h: bool,
        progress: Callable[[int, int, float], Any] | None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any], float]:
        if self.solver != "mu":
            raise ValueError(f"solver = {self.solver!r}: only 'mu' is available")
        x = _checks.float_matrix(X, "X")
        k = self._rank(x, W, H)
        init = self.init
        if update_h:
            if init is None:
                init = "nndsvda" if k <= min(x.shape) else "random"
            if init == "custom":
                if W is None or H is None:
                    raise ValueError("init = 'custom': give both W and H")
            elif W is not None or H is not None:
                raise ValueError(
                    f"W and H are used only with init='custom' (init = {self.init!r})"
                )
        else:
            init = "nndsvda"
        w = None if W is None else _checks.array(W, "W", 2, dtype=x.dtype, nonnegative=True)
        h = None if H is None else _checks.array(H, "H", 2, dtype=x.dtype, nonnegative=True)
        alpha_h = self.alpha_H
        if isinstance(alpha_h, str):
            if alpha_h != "same":
                raise ValueError(f"alpha_H = {alpha_h!r}: expected a number or 'same'")
            alpha_h = None
        else:
            alpha_h = _checks.real(alpha_h, "alpha_H")
        if (not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1
                or self.max_iter >= 2**64):
            raise ValueError(f"max_iter = {self.max_iter!r}: expected a positive integer")
        W_, H_, report, err = _innmf.nmf_fit(
            x,
            n_components=k,
            beta=self._beta(),
            init=str(init),
            max_iter=int(self.max_iter),
            tol=_checks.real(self.tol, "tol"),
            seed=_checks.seed(self.random_state),
            alpha_w=_checks.real(self.alpha_W, "alpha_W"),
            alpha_h=alpha_h,
            l1_ratio=_checks.real(self.l1_ratio, "l1_ratio"),
            update_order="w-then-h",
            check_every=10,
            w=w,
            h=h,
            update_h=update_h,
            progress=progress,
        )
        return W_, H_, json.loads(report), err

    def fit_transform(
        self,
        X: Any,
        y: Any = None,
        W: Any = None,
        H: Any = None,
        *,
        progress: Callable[[int, int, float], Any] | None = None,
    ) -> np.ndarray:
        """Fits the model to ``X`` ``(n_samples, n_features)`` and returns ``W``
        ``(n_samples, n_components)``; ``H`` is stored as ``components_``.

        ``W``, ``H``: the start for ``init="custom"``. ``progress(iteration, max_iter, loss)``
        is called at most every ~0.1 s; Ctrl-C stops the fit with ``KeyboardInterrupt``.
        """
        for attr in ("components_", "n_components_", "n_iter_", "reconstruction_err_",
                     "n_features_in_", "report_"):
            self.__dict__.pop(attr, None)
        W_, H_, report, err = self._run(X, W, H, True, progress)
        self.components_ = H_
        self.n_components_ = H_.shape[0]
        self.n_features_in_ = H_.shape[1]
        self.n_iter_ = int(report["n_iter"])
        self.reconstruction_err_ = float(err)
        self.report_ = report
        return W_

    def fit(self, X: Any, y: Any = None, **params: Any) -> "NMF":
        """Fits the model to ``X``; returns self (keywords as :meth:`fit_transform`)."""
        self.fit_transform(X, **params)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``W`` for new data ``X`` ``(n_samples, n_features)`` with ``H = components_`` fixed
        (scikit-learn's 'mu' transform: W from ``sqrt(mean(X)/K)``, same iterations)."""
        H = self._fitted()
        x = _checks.float_matrix(X, "X")
        if x.shape[1] != H.shape[1]:
            raise ValueError(
                f"X has {x.shape[1]} features, but NMF is expecting {H.shape[1]} features as input"
            )
        W_, _, _, _ = self._run(x, None, H.astype(x.dtype, copy=False), False, None)
        return W_

    def inverse_transform(self, X: Any = None, *, Xt: Any = None) -> np.ndarray:
        """``W @ components_``: data ``(n_samples, n_features)`` from ``W``
        ``(n_samples, n_components)``."""
        if X is None:
            X = Xt
        H = self._fitted()
        w = _checks.float_matrix(X, "W")
        if w.shape[1] != H.shape[0]:
            raise ValueError(
                f"W has shape {w.shape}: expected (n_samples, n_components = {H.shape[0]})"
            )
        return w @ H.astype(w.dtype, copy=False)

    def _fitted(self) -> np.ndarray:
        H = self.__dict__.get("components_")
        if H is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit first")
        # components_ may have been set by hand (a 1-D array or a list was an IndexError or
        # an AttributeError in transform)
        return _checks.float_matrix(H, "components_")
