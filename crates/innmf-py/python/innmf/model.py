"""``ImplicitNMF``: the iN-NMF model ``m̂_i = Σ_k W_k(f_i)·H_k(t_i)`` (arXiv 2404.04439 §3)
with scikit-learn's estimator conventions."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Mapping

import numpy as np

from . import _checks, _innmf
from ._base import BaseEstimator
from .analysis import Points

__all__ = ["ImplicitNMF"]

ProgressCallback = Callable[[int, int, float], Any]


class ImplicitNMF(BaseEstimator):
    """Implicit neural NMF: each ``W_k(f)`` and ``H_k(t)`` is a coordinate network (Fourier
    features → sine MLP → softplus; ``"implicit"``) or a table over the training coordinates
    (``"explicit"``), fitted to a point set with a β-divergence by Rprop or Adam.

    The parameters and their defaults are those of ``innmf fit`` (the CLI flag in brackets):

    Args:
        n_components: rank K [``--rank``].
        w, h: ``"implicit"`` or ``"explicit"`` [``--w``, ``--h``] (default: implicit W over
            frequency, explicit H over time, the paper's speech setting).
        width: hidden width of the networks [``--width``].
        depth: number of sine layers [``--depth``].
        n_features: Fourier octaves J [``--features``].
        omega: sine scale ω [``--omega``].
        init: ``"pytorch"`` or ``"siren"`` weight initialization [``--siren``].
        log_freq: W's axis on a log-frequency scale [``--log-freq``].
        beta: β of the β-divergence: 1 KL (the paper's), 0 Itakura-Saito, 2 squared Euclidean
            [``--beta``].
        optimizer: ``"rprop"`` (full batch, the paper's) or ``"adam"``, or a dict with the
            optimizer's JSON form (``{"kind": "rprop", "lr": ..., "eta_minus": ...}``)
            [``--optimizer``].
        lr: learning rate (Rprop's initial step) [``--lr``].
        steps: optimizer steps [``--steps``].
        fraction: fraction of the points drawn per step (1: full batch) [``--fraction``].
        tol: stop when the relative loss change over ``check_every`` steps falls below it (0:
            run every step) [``--tol``].
        check_every: steps between convergence checks.
        seed: seed of the networks' initialization (the subset draws use ``seed + 1``)
            [``--seed``].
        match_scale: start at the data's scale (the mean of ``m̂`` equals the mean of ``m``)
            instead of the paper's start (library: ``ModelSpec::match_scale``).
        output: the networks' output map, ``"softplus"`` (the paper's) or ``"exp"``.
        h_optimizer: a separate optimizer for an explicit H (name or dict; ``None``: the same).
        preset: ``"paper"`` (the default: the authors' random start) or ``"innmf"`` (ours, as
            ``innmf fit --preset innmf``: 3000 KL multiplicative updates of classical NMF (f32) on
            the data's grid; the ``steps`` of the main fit train each of W's networks alone to
            follow its NMF template (divided by its mean) and H keeps NMF's activations (times
            the templates' means); it needs ``h="explicit"``, grid data (an STFT/VQT analysis
            or a matrix) and no ``weights``) [``--preset``].

    Attributes (after :meth:`fit`):
        model_: the fitted native model (``innmf._innmf.Model``).
        components_: ``W`` at the distinct training frequencies ``freqs_``, float32 ``(K, F)``.
        freqs_, times_: the distinct training frequencies (Hz) and times (s), float64.
            (A model read by :meth:`load` has ``model_``, ``n_iter_`` and
            ``reconstruction_err_`` but not these three: the file does not list the training
            coordinates.)
        n_iter_: optimizer steps taken.
        reconstruction_err_: final mean β-divergence per point.
        loss_history_: the loss at every check, float64.
        report_: the fit report (dict: steps, loss_history, final_loss, converged, elapsed_s).
    """

    def __init__(
        self,
        n_components: int = 20,
        *,
        w: str = "implicit",
        h: str = "explicit",
        width: int = 64,
        depth: int = 3,
        n_features: int = 10,
        omega: float = 1.0,
        init: str = "pytorch",
        log_freq: bool = False,
        beta: float = 1.0,
        optimizer: str | Mapping[str, Any] = "rprop",
        lr: float = 1e-3,
        steps: int = 1000,
        fraction: float = 1.0,
        tol: float = 0.0,
        check_every: int = 10,
        seed: int = 0,
        match_scale: bool = False,
        output: str = "softplus",
        h_optimizer: str | Mapping[str, Any] | None = None,
        preset: str = "paper",
    ) -> None:
        self.n_components = n_components
        self.w = w
        self.h = h
        self.width = width
        self.depth = depth
        self.n_features = n_features
        self.omega = omega
        self.init = init
        self.log_freq = log_freq
        self.beta = beta
        self.optimizer = optimizer
        self.lr = lr
        self.steps = steps
        self.fraction = fraction
        self.tol = tol
        self.check_every = check_every
        self.seed = seed
        self.match_scale = match_scale
        self.output = output
        self.h_optimizer = h_optimizer
        self.preset = preset

    # -- fitting -----------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        f: Any = None,
        m: Any = None,
        *,
        freqs: Any = None,
        times: Any = None,
        weights: Any = None,
        progress: ProgressCallback | None = None,
    ) -> "ImplicitNMF":
        """Fits the model; returns self.

        Three ways to give the data:

        - ``fit(points)``: a :class:`Points` (from :func:`innmf.analyze`: the model file then
          records the analysis, as ``innmf fit`` on an audio file does);
        - ``fit(t, f, m)``: three arrays of shape ``(n_points,)``: times (s), frequencies (Hz),
          magnitudes (≥ 0);
        - ``fit(V, freqs=freqs, times=times)``: a magnitude matrix ``V`` of shape
          ``(len(freqs), len(times))`` on a grid (frequencies in Hz, times in s).

        Args:
            weights: optional per-point weights ≥ 0, shape ``(n_points,)`` (grid: row-major,
                frequency by frequency).
            progress: optional ``progress(step, steps, loss)``, called at most every ~0.1 s
                (and after the last step); an exception it raises stops the fit and propagates.

        The fit runs without the GIL; Ctrl-C stops it within a fraction of a second with
        ``KeyboardInterrupt`` and leaves the estimator unfitted.

        Raises:
            ValueError: bad parameters, shapes, NaN or negative magnitudes, a diverging fit.
            TypeError: non-numeric arrays.
        """
        for attr in ("model_", "components_", "freqs_", "times_", "n_iter_",
                     "reconstruction_err_", "loss_history_", "report_"):
            self.__dict__.pop(attr, None)
        t, fr, mag, analysis, source = _points_of(X, f, m, freqs, times)
        wts = None
        if weights is not None:
            wts = _checks.array(weights, "weights", 1, nonnegative=True)
            if len(wts) != len(mag):
                raise ValueError(
                    f"weights has length {len(wts)}: expected one weight per point ({len(mag)})"
                )
        opt = _optimizer(self.optimizer, "optimizer")
        h_opt = None if self.h_optimizer is None else _optimizer(self.h_optimizer, "h_optimizer")
        model, report = _innmf.fit_model(
            t,
            fr,
            mag,
            rank=_checks.positive_int(self.n_components, "n_components"),
            w=str(self.w),
            h=str(self.h),
            width=_checks.positive_int(self.width, "width"),
            depth=_checks.positive_int(self.depth, "depth"),
            n_features=_checks.positive_int(self.n_features, "n_features", 0),
            omega=_checks.real(self.omega, "omega"),
            init=str(self.init),
            log_freq=bool(self.log_freq),
            beta=_checks.real(self.beta, "beta"),
            optimizer=opt,
            lr=_checks.real(self.lr, "lr"),
            steps=_checks.positive_int(self.steps, "steps"),
            fraction=_checks.real(self.fraction, "fraction"),
            tol=_checks.real(self.tol, "tol"),
            check_every=_checks.positive_int(self.check_every, "check_every"),
            seed=_checks.seed(self.seed, "seed"),
            match_scale=bool(self.match_scale),
            output=str(self.output),
            h_optimizer=h_opt,
            analysis=analysis,
            source=source,
            weights=wts,
            progress=progress,
            preset=str(self.preset),
        )
        self._set_fitted(model, json.loads(report), np.unique(fr), np.unique(t))
        return self

    def _set_fitted(
        self, model: Any, report: dict[str, Any] | None, freqs: np.ndarray, times: np.ndarray
    ) -> None:
        self.model_ = model
        self.freqs_ = freqs
        self.times_ = times
        self.components_ = model.sample_w(freqs)
        if report is not None:
            self.report_ = report
            self.n_iter_ = int(report["steps"])
            self.reconstruction_err_ = float(report["final_loss"])
            self.loss_history_ = np.asarray(report["loss_history"], dtype=np.float64)

    def _model(self) -> Any:
        m = self.__dict__.get("model_")
        if m is None:
            raise ValueError(
                f"this {type(self).__name__} is not fitted yet: call fit or load first"
            )
        return m

    # -- using the model -----------------------------------------------------------------------

    def sample_w(self, freqs: Any) -> np.ndarray:
        """``W_k(f)`` at frequencies ``freqs`` (Hz, shape ``(F,)``): float32 ``(K, F)``."""
        return self._model().sample_w(_checks.array(freqs, "freqs", 1))

    def sample_h(self, times: Any) -> np.ndarray:
        """``H_k(t)`` at times ``times`` (s, shape ``(T,)``): float32 ``(K, T)``."""
        return self._model().sample_h(_checks.array(times, "times", 1))

    def reconstruct(self, freqs: Any, times: Any) -> np.ndarray:
        """``V̂ = Wᵀ·H`` on the grid ``freqs × times``: float32 ``(F, T)``."""
        return self._model().reconstruct(
            _checks.array(freqs, "freqs", 1), _checks.array(times, "times", 1)
        )

    def predict(self, t: Any, f: Any) -> np.ndarray:
        """``m̂_i = Σ_k W_k(f_i)·H_k(t_i)`` at points (t in s, f in Hz, shape ``(n,)``):
        float64 ``(n,)``."""
        t = _checks.array(t, "t", 1)
        f = _checks.array(f, "f", 1)
        if len(t) != len(f):
            raise ValueError(f"t and f have lengths {len(t)} and {len(f)}: expected one length")
        return self._model().predict(t, f)

    @property
    def config(self) -> dict[str, Any]:
        """The model file's metadata: rank, factor configurations, what it was fitted on
        (``data``) and how (``training``)."""
        return json.loads(self._model().config_json)

    # -- files and pickling ----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the model as a safetensors file (atomically), the format ``innmf fit`` writes
        and ``innmf sample`` / ``innmf separate --model`` read."""
        self._model().save(_checks.path(path))

    def to_bytes(self) -> bytes:
        """The model file's bytes."""
        return self._model().to_bytes()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "ImplicitNMF":
        """Reads a model file written by :meth:`save`, ``innmf fit`` or ``innmf separate
        --save-models``. Raises ``OSError`` for a missing or malformed file."""
        return cls._from_native(_innmf.Model.load(_checks.path(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "ImplicitNMF":
        """A model from the bytes of a model file."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            # bytes(n) of an integer is n zero bytes: from_bytes(10**10) allocated 10 GB
            raise TypeError(f"data = {data!r}: expected the bytes of a model file")
        return cls._from_native(_innmf.Model.from_bytes(bytes(data)))

    @classmethod
    def _from_native(cls, model: Any) -> "ImplicitNMF":
        cfg = json.loads(model.config_json)
        est = cls(**_params_from_config(cfg, model))
        training = cfg.get("training") or {}
        report = None
        if "steps" in training and "final_loss" in training:
            report = {
                "steps": training["steps"],
                "final_loss": training["final_loss"],
                "loss_history": [],
                "converged": training.get("converged", False),
            }
        est.model_ = model
        if report is not None:
            est.report_ = report
            est.n_iter_ = int(report["steps"])
            est.reconstruction_err_ = float(report["final_loss"])
        return est

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        model = state.pop("model_", None)
        state.pop("components_", None)
        if model is not None:
            state["_model_bytes"] = model.to_bytes()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        data = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        if data is not None:
            self.model_ = _innmf.Model.from_bytes(data)
            if "freqs_" in self.__dict__:
                self.components_ = self.model_.sample_w(self.freqs_)


def _optimizer(opt: Any, name: str) -> str:
    if isinstance(opt, Mapping):
        return json.dumps(dict(opt))
    if not isinstance(opt, str):
        raise TypeError(f"{name} = {opt!r}: expected \"rprop\", \"adam\" or a dict")
    return opt


def _points_of(
    X: Any, f: Any, m: Any, freqs: Any, times: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None, str]:
    if isinstance(X, Points):
        if f is not None or m is not None or freqs is not None or times is not None:
            raise TypeError("fit(points) takes no f, m, freqs or times")
        analysis = json.dumps(X.analysis) if X.analysis is not None else None
        # the attributes can be reassigned after construction (a list or a float32 array was a
        # conversion error from the native layer): checked again, copied only when needed
        t = _checks.array(X.t, "points.t", 1)
        fr = _checks.array(X.f, "points.f", 1)
        mag = _checks.array(X.m, "points.m", 1, nonnegative=True)
        if not (len(t) == len(fr) == len(mag)):
            raise ValueError(
                f"points.t, points.f and points.m have lengths {len(t)}, {len(fr)}, {len(mag)}: "
                "expected one length"
            )
        return t, fr, mag, analysis, "Points"
    if f is not None or m is not None:
        if f is None or m is None or freqs is not None or times is not None:
            raise TypeError("give fit(t, f, m) with all three arrays, or fit(V, freqs=, times=)")
        p = Points(X, f, m)
        return p.t, p.f, p.m, None, "numpy arrays (t, f, m)"
    if freqs is None or times is None:
        raise TypeError(
            "fit(X): X must be Points, or give fit(t, f, m) or fit(V, freqs=..., times=...)"
        )
    v = _checks.array(X, "V", 2, nonnegative=True)
    fq = _checks.array(freqs, "freqs", 1)
    tm = _checks.array(times, "times", 1)
    if v.shape != (len(fq), len(tm)):
        raise ValueError(
            f"V has shape {v.shape}: expected (len(freqs), len(times)) = ({len(fq)}, {len(tm)})"
        )
    # the grid's t and f (16 bytes a point) and the native fit's copies: refused before numpy
    # allocates them, as the native layer refuses its own
    _innmf.check_point_copies(v.size, 32 + 16, "fit")
    t = np.tile(tm, len(fq))
    fr = np.repeat(fq, len(tm))
    return t, fr, v.ravel(), None, "numpy matrix V (freqs × times)"


def _params_from_config(cfg: dict[str, Any], model: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"n_components": int(model.rank), "w": model.w_kind,
                              "h": model.h_kind}
    training = cfg.get("training") or {}
    spec = training.get("spec") or {}
    fit = training.get("fit") or {}
    for key in ("width", "depth", "n_features", "init"):
        if key in spec:
            params[key] = spec[key]
    if "omega" in spec:
        params["omega"] = _f32(spec["omega"])
    if spec.get("freq_scale") == "log":
        params["log_freq"] = True
    if training.get("preset", "paper") != "paper":
        # the preset sets match_scale itself (a file cannot tell whether it was also asked for)
        params["preset"] = training["preset"]
    elif spec.get("match_scale"):
        params["match_scale"] = True
    if spec.get("output", "softplus") != "softplus":
        params["output"] = spec["output"]
    h_opt = fit.get("h_optimizer")
    if isinstance(h_opt, dict):
        params["h_optimizer"] = {k: (_f32(v) if isinstance(v, float) else v)
                                 for k, v in h_opt.items()}
    for key in ("steps", "fraction", "tol", "check_every"):
        if key in fit:
            params[key] = fit[key]
    opt = fit.get("optimizer")
    if isinstance(opt, dict) and "kind" in opt:
        params["optimizer"] = opt["kind"]
        if "lr" in opt:
            params["lr"] = _f32(opt["lr"])
    div = fit.get("divergence")
    if isinstance(div, dict) and "beta" in div:
        params["beta"] = div["beta"]
    if "seed" in fit:
        params["seed"] = max(0, int(fit["seed"]) - 1)
    return params


def _f32(v: Any) -> float:
    """A float32 value stored in a file, as the shortest decimal that reads back to it."""
    return float(str(np.float32(v)))
