"""Source separation with frequency templates (arXiv 2404.04439, the two-speaker experiment):
``innmf separate`` for Python."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import _checks, _innmf
from .model import ImplicitNMF
from .representations import Representation, as_representation

__all__ = ["separate", "learn_templates"]

ProgressCallback = Callable[[int, int, float], Any]


def _settings(d: Mapping[str, Any]) -> str:
    out = {}
    for k, v in d.items():
        if isinstance(v, Representation):
            v = v.to_dict()
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return json.dumps(out)


def learn_templates(
    x: Any,
    sr: float,
    *,
    method: str = "innmf",
    window: int = 2000,
    hop: int = 1000,
    lr: float = 1e-3,
    progress: ProgressCallback | None = None,
    **settings: Any,
) -> ImplicitNMF:
    """A source's templates learned from its solo signal, as ``innmf separate --train`` does.

    Args:
        x: the solo signal, shape ``(n_samples,)``; sr: its sample rate (Hz).
        method: ``"innmf"`` (implicit W, explicit H; trained at the paper's STFT 2000/1000
            whatever the mixture's window) or ``"nmf"`` (KL multiplicative updates at the
            mixture's ``window``/``hop``).
        window, hop: the mixture STFT's window and hop (samples).
        lr: learning rate of the default optimizer.
        settings: any field of the library's ``TemplateConfig``: ``rank`` (20), ``width`` (64),
            ``depth`` (3), ``n_features`` (10), ``representation`` (a representation object),
            ``calibration``, ``power`` (0.5), ``steps`` (1000), ``optimizer`` (``"rprop"``,
            ``"adam"`` or a dict), ``beta`` (1), ``seed`` (0), ``training`` (dict:
            ``match_scale``, ``output``, ``h_optimizer``, ``nmf_warm_start``, ``w_steps``,
            ``freeze_h``, ``freq_midpoints``, ``w_target`` (``"data"`` or ``"templates"``),
            ``nmf_precision`` (``"f64"`` or ``"f32"``)),
            ``preset`` (``"innmf"``, the default on an STFT, or ``"paper"``: the training
            options of ``innmf fit --preset``; without one on other representations the
            paper's; a ``training`` dict given as well replaces them).

    Returns:
        A fitted :class:`ImplicitNMF` (``save`` writes what ``--save-models`` writes).
    """
    a = _checks.array(x, "x", 1)
    model, report = _innmf.learn_templates(
        a,
        _checks.real(sr, "sr"),
        str(method),
        _checks.positive_int(window, "window"),
        _checks.positive_int(hop, "hop"),
        _settings(settings),
        _checks.real(lr, "lr"),
        progress=progress,
    )
    est = ImplicitNMF._from_native(model)
    rep = json.loads(report)
    est.report_ = rep
    est.n_iter_ = int(rep["steps"])
    est.reconstruction_err_ = float(rep["final_loss"])
    est.loss_history_ = np.asarray(rep["loss_history"], dtype=np.float64)
    return est


def separate(
    mix: Any,
    sr: float,
    sources: Sequence[Any],
    *,
    window: int = 2000,
    hop: int = 1000,
    representation: Representation | Mapping[str, Any] | str | None = None,
    free: int = 0,
    method: str = "innmf",
    templates: Mapping[str, Any] | None = None,
    other_rates: bool = False,
    lr: float = 1e-3,
    return_report: bool = False,
    progress: ProgressCallback | None = None,
    **settings: Any,
) -> list[np.ndarray] | tuple[list[np.ndarray], dict[str, Any]]:
    """Separates a mixture into one signal per source (then the ``free`` components' signal).

    Args:
        mix: the mixture, shape ``(n_samples,)``; sr: its sample rate (Hz).
        sources: per source, a fitted :class:`ImplicitNMF` (its W holds the templates; e.g.
            loaded from ``innmf fit``'s model file) or a solo signal ``(n,)`` at ``sr`` from
            which templates are learned first (:func:`learn_templates` with ``method``,
            ``window``, ``hop``, the separation's ``power``, ``beta`` and ``seed + 1000·j`` for
            source j, as the CLI does, then the ``templates`` settings).
        window, hop: the mixture STFT (samples; √Hann, centre padding).
        representation: separate in another invertible representation instead of the mixture
            STFT: :class:`NSGT`, :class:`CWT`, :class:`Multires`, :class:`Sines` with tracking
            (or an :class:`STFT` of one's own). Masks are applied to its complex coefficients (to
            the partials' amplitudes for ``Sines``) and each source is resynthesized with its
            inverse; templates learned from solo signals are learned in it too (unless the
            ``templates`` settings name another ``representation``). ``CQT``/``VQT`` have no
            inverse and are refused.
        free: extra components learned on the mixture alone (an unknown source, e.g. noise;
            ``innmf separate --free``).
        other_rates: allow models trained at another sample rate (their templates are zero above
            their own Nyquist frequency).
        return_report: also return the report (settings, sizes, the activation fit, energy
            shares) and the learned models (``"models"``, when solo signals were given).
        settings: any field of the library's ``SeparateConfig``: ``power`` (0.5), ``steps``
            (the preset's; 200 without one), ``optimizer``, ``solver`` (``"rprop"`` or ``"mu"``),
            ``mu_precision`` (``"f32"``, the fused KL engine, or ``"f64"``, the reference: the
            arithmetic of the ``"mu"`` solver), ``beta`` (1), ``mask``
            (``"wiener"``, ``"paper"``, ``"binary"``), ``phase_iters`` (0), ``phase``
            (``"misi"``, ``"griffin-lim"``; STFT only), ``seed`` (0), ``tol`` (0), ``fraction``
            (1), ``calibration`` (``"native"`` or ``"unit-tone"``: the scale of the mixture's
            points, also used for templates learned here; ``"unit-tone"`` lets models trained in
            one representation separate in another), ``h_step`` (spacing in seconds of the
            activations over time in NSGT/CWT/Multires, whose bins have their own time grids;
            default the finest bin's time step, at least 5 ms), ``preset`` (``"innmf"``, the
            default on an STFT, or ``"paper"``, as ``innmf separate --preset``: the activation
            solver and steps, and the training of templates learned here; ``solver``/``steps``
            given as well win; without one on other representations: 200 Rprop steps and the
            paper's training).
        progress: optional ``progress(step, steps, loss)``, called at most every ~0.1 s (and
            after the last step) during each template fit, the activation fit and, with
            ``phase_iters``, the phase refinement (then ``step`` of ``phase_iters``, with the
            activation fit's final loss); an exception it raises stops the separation and
            propagates. Ctrl-C stops it within a fraction of a second (``KeyboardInterrupt``).

    Returns:
        A list of float64 signals, each as long as the mixture (with ``return_report``, a tuple
        ``(signals, report)``).

    Raises:
        ValueError: no sources and no free components, a mixture shorter than the window, models
            of another power, calibration or sample rate, bad settings.
    """
    x = _checks.array(mix, "mix", 1)
    sr = _checks.real(sr, "sr")
    window = _checks.positive_int(window, "window")
    hop = _checks.positive_int(hop, "hop")
    rep = None if representation is None else as_representation(representation)
    models: list[Any] = []
    learned: list[ImplicitNMF] = []
    for j, s in enumerate(sources):
        if isinstance(s, ImplicitNMF):
            models.append(s._model())
        elif isinstance(s, _innmf.Model):
            models.append(s)
        else:
            # as `innmf separate --source`: the mixture's power and β, source j seeded seed + 1000·j
            tset = {k: settings[k] for k in ("power", "beta", "calibration", "preset")
                    if k in settings}
            tset["seed"] = int(settings.get("seed", 0)) + 1000 * j
            if rep is not None:
                tset["representation"] = rep
            tset.update(templates or {})
            est = learn_templates(s, sr, method=method, window=window, hop=hop, lr=lr,
                                  progress=progress, **tset)
            learned.append(est)
            models.append(est.model_)
    cfg = {"window": window, "hop": hop, "free": _checks.positive_int(free, "free", 0), **settings}
    if rep is not None:
        cfg["representation"] = rep
    signals, report = _innmf.separate(
        x, sr, models, _settings(cfg), _checks.real(lr, "lr"), bool(other_rates),
        progress=progress,
    )
    if return_report:
        rep = json.loads(report)
        rep["models"] = learned
        return signals, rep
    return signals
