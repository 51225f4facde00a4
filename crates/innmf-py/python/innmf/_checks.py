"""Argument checks shared by the Python layer.

Arrays: any real numeric array-like is accepted; it is converted to a C-contiguous array of the
dtype the computation needs (a copy only when the input is not already that: non-contiguous
views, other dtypes, lists). Complex, boolean, object and string arrays raise ``TypeError``;
wrong shapes, NaN/inf and negative magnitudes raise ``ValueError`` naming the value.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np


def _real_dtype(a: np.ndarray, name: str) -> None:
    if a.dtype.kind not in "fiu":
        raise TypeError(
            f"{name} has dtype {a.dtype}: expected real numbers (float or integer)"
        )


def array(
    x: Any,
    name: str,
    ndim: int,
    dtype: Any = np.float64,
    finite: bool = True,
    nonnegative: bool = False,
) -> np.ndarray:
    """``x`` as a C-contiguous ``dtype`` array of ``ndim`` dimensions, checked."""
    a = np.asarray(x)
    _real_dtype(a, name)
    if a.ndim != ndim:
        raise ValueError(
            f"{name} has shape {a.shape}: expected a {ndim}-D array"
        )
    a = np.ascontiguousarray(a, dtype=dtype)
    if finite and a.size and not np.isfinite(a).all():
        i = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
        raise ValueError(
            f"{name}[{_index(a.shape, i)}] = {a.ravel()[i]}: expected finite values"
        )
    if nonnegative and a.size and (a < 0).any():
        i = int(np.flatnonzero(a.ravel() < 0)[0])
        raise ValueError(
            f"{name}[{_index(a.shape, i)}] = {a.ravel()[i]}: expected non-negative magnitudes"
        )
    return a


def _index(shape: tuple[int, ...], flat: int) -> str:
    return ", ".join(str(int(v)) for v in np.unravel_index(flat, shape))


def float_matrix(x: Any, name: str) -> np.ndarray:
    """A 2-D float32 or float64 array (float32 stays float32; anything else becomes float64)."""
    a = np.asarray(x)
    _real_dtype(a, name)
    dtype = np.float32 if a.dtype == np.float32 else np.float64
    return array(a, name, 2, dtype=dtype, nonnegative=True)


def positive_int(v: Any, name: str, minimum: int = 1, maximum: int = 2**64 - 1) -> int:
    """An integer in ``[minimum, maximum]`` (by default what the library's ``usize`` holds: a
    larger one was an ``OverflowError`` from the conversion)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} = {v!r}: expected an integer")
    if int(v) < minimum:
        raise ValueError(f"{name} = {v}: expected an integer of at least {minimum}")
    if int(v) > maximum:
        raise ValueError(f"{name} = {v}: expected an integer of at most {maximum}")
    return int(v)


def path(p: Any, name: str = "path") -> str:
    """A file name from ``str``, ``bytes`` or ``os.PathLike`` (bytes decoded as the OS does)."""
    try:
        return os.fsdecode(p)
    except TypeError:
        raise TypeError(
            f"{name} = {p!r}: expected a file name (str, bytes or os.PathLike)"
        ) from None


def real(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} = {v!r}: expected a number")
    f = float(v)
    if not np.isfinite(f):
        raise ValueError(f"{name} = {v}: expected a finite number")
    return f


def seed(v: Any, name: str = "random_state") -> int:
    """A seed from ``None`` (0), an integer ≥ 0 or a ``numpy.random.Generator``/``RandomState``
    (one draw)."""
    if v is None:
        return 0
    if isinstance(v, np.random.Generator):
        return int(v.integers(0, 2**63 - 1))
    if isinstance(v, np.random.RandomState):
        return int(v.randint(0, 2**31 - 1))
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} = {v!r}: expected None, an integer or a numpy random generator")
    if int(v) < 0 or int(v) >= 2**64:
        raise ValueError(f"{name} = {v}: expected an integer in [0, 2^64)")
    return int(v)
