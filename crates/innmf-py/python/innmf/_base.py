"""scikit-learn's estimator manners without depending on scikit-learn.

When scikit-learn is importable the estimators subclass ``sklearn.base.BaseEstimator`` (so they
work in pipelines, ``clone`` and grid searches); otherwise :class:`ParamsMixin` provides the same
``get_params``/``set_params`` from the ``__init__`` signature.
"""

from __future__ import annotations

import inspect
from typing import Any


class ParamsMixin:
    """``get_params``/``set_params`` as scikit-learn's ``BaseEstimator`` defines them."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, by name."""
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        """Sets constructor parameters; returns self. Unknown names raise ``ValueError``."""
        valid = self._get_param_names()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(
                    f"invalid parameter {k!r} for estimator {type(self).__name__}; "
                    f"valid parameters are {valid}"
                )
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


try:  # pragma: no cover - depends on the environment
    from sklearn.base import BaseEstimator as _Base
except Exception:  # noqa: BLE001 - any failure to import means "not available"
    _Base = ParamsMixin

BaseEstimator: type = _Base
