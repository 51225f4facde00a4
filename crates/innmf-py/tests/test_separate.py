"""innmf.separate: templates from solo signals or fitted models, free components, the same
outputs as `innmf separate`, bad inputs."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import innmf

SR = 8000


def harmonic(f0: float, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a slow random amplitude envelope."""
    t = np.arange(int(SR * seconds)) / SR
    rng = np.random.default_rng(seed)
    env = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6))
    return env * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 5))


A, B = harmonic(220, seed=1), harmonic(370, seed=2)
MIX = A + B
FAST = dict(rank=4, width=16, depth=2, n_features=4, steps=80)
SEP = dict(window=256, hop=128, steps=60)


@pytest.fixture(scope="module")
def models() -> list[innmf.ImplicitNMF]:
    return [innmf.learn_templates(s, SR, window=256, hop=128, seed=1000 * j, **FAST)
            for j, s in enumerate((harmonic(220, seed=3), harmonic(370, seed=4)))]


def test_separate_with_fitted_models(models) -> None:
    est = innmf.separate(MIX, SR, sources=models, **SEP)
    assert len(est) == 2 and all(e.shape == MIX.shape and e.dtype == np.float64 for e in est)
    np.testing.assert_allclose(est[0] + est[1], MIX, atol=1e-9)  # Wiener masks sum to the mix
    sdr, _, _, perm = innmf.metrics.bss_eval(np.stack([A, B]), np.stack(est))
    assert perm.tolist() == [0, 1] and (sdr > 5).all(), sdr


def test_separate_from_solo_signals_and_free_components(models) -> None:
    est, report = innmf.separate(MIX + 0.05 * np.random.default_rng(0).standard_normal(len(MIX)),
                                 SR, sources=[harmonic(220, seed=3), harmonic(370, seed=4)],
                                 free=2, templates=FAST, return_report=True, **SEP)
    assert len(est) == 3 and report["has_noise"] and report["ranks"] == [4, 4, 2]
    assert len(report["models"]) == 2 and report["models"][0].n_components == 4
    for mask in ("paper", "binary"):
        out = innmf.separate(MIX, SR, models, mask=mask, **SEP)
        assert len(out) == 2
    out = innmf.separate(MIX, SR, models, solver="mu", phase_iters=2, **SEP)
    assert np.isfinite(out[0]).all()


def test_mu_precision(models) -> None:
    """The MU solver runs in f32 by default; its f64 twin gives the same sources to f32
    rounding."""
    mix = MIX + 0.05 * np.random.default_rng(1).standard_normal(len(MIX))
    s32, r32 = innmf.separate(mix, SR, models, solver="mu", return_report=True, **SEP)
    s64, r64 = innmf.separate(mix, SR, models, solver="mu", mu_precision="f64",
                              return_report=True, **SEP)
    assert r32["config"]["mu_precision"] == "f32" and r64["config"]["mu_precision"] == "f64"
    for a, b in zip(s32, s64):
        err = np.sum((a - b) ** 2)
        assert 0 < err < 1e-10 * np.sum(b ** 2), err / np.sum(b ** 2)
    with pytest.raises(ValueError, match="f16"):
        innmf.separate(mix, SR, models, solver="mu", mu_precision="f16", **SEP)


def test_same_outputs_as_the_cli(cli, models, tmp_path) -> None:
    paths = []
    for j, m in enumerate(models):
        p = tmp_path / f"m{j}.safetensors"
        m.save(p)
        paths += ["--model", str(p)]
    mix = tmp_path / "mix.wav"
    innmf.write_wav(mix, MIX, SR)
    x, _ = innmf.load_audio(mix)
    out = tmp_path / "sep"
    subprocess.run([str(cli), "separate", "--mix", str(mix), *paths, "--window", "256",
                    "--hop", "128", "--steps", "60", "--out", str(out)],
                   check=True, capture_output=True)
    ours = innmf.separate(x, SR, models, **SEP)
    for j, e in enumerate(ours):
        theirs, _ = innmf.load_audio(out / f"source_{j + 1}.wav")
        # the CLI writes 32-bit float WAV: our float64 output rounded to float32 is its file
        np.testing.assert_array_equal(e.astype(np.float32).astype(np.float64), theirs)
    rep = json.loads((out / "report.json").read_text())
    assert rep is not None


def test_bad_inputs(models) -> None:
    with pytest.raises(ValueError, match="template sets"):
        innmf.separate(MIX, SR, sources=[], **SEP)
    with pytest.raises(ValueError, match="window"):
        innmf.separate(MIX[:100], SR, sources=models, **SEP)
    with pytest.raises(ValueError, match="unknown setting"):
        innmf.separate(MIX, SR, sources=models, masks="wiener", **SEP)
    with pytest.raises(ValueError, match="mask"):
        innmf.separate(MIX, SR, sources=models, mask="soft", **SEP)
    with pytest.raises(ValueError, match="power"):
        innmf.separate(MIX, SR, sources=models, power=1.0, **SEP)  # templates were fitted at 0.5
    with pytest.raises(ValueError, match="sample rate"):
        innmf.separate(MIX, 16000, sources=models, **SEP)
    assert len(innmf.separate(MIX, 16000, sources=models, other_rates=True, **SEP)) == 2
    with pytest.raises(ValueError, match=r"mix\[3\] = nan"):
        bad = MIX.copy()
        bad[3] = np.nan
        innmf.separate(bad, SR, sources=models, **SEP)
    with pytest.raises(ValueError, match="method"):
        innmf.learn_templates(A, SR, method="pca")


def test_separate_in_an_invertible_representation(models) -> None:
    # templates learned in the NSGT itself from solo signals; the outputs sum to the mixture
    nsgt = innmf.NSGT(f_min=50, f_max=3000, bins_per_octave=24)
    est, report = innmf.separate(MIX, SR, sources=[harmonic(220, seed=3), harmonic(370, seed=4)],
                                 representation=nsgt, templates=FAST, return_report=True, **SEP)
    assert report["config"]["representation"]["transform"] == "nsgt"
    np.testing.assert_allclose(est[0] + est[1], MIX, atol=1e-9)
    sdr, _, _, perm = innmf.metrics.bss_eval(np.stack([A, B]), np.stack(est))
    assert perm.tolist() == [0, 1] and (sdr > 5).all(), sdr
    # models trained on native magnitudes are refused on the unit-tone scale, named
    with pytest.raises(ValueError, match="(?i)calibration"):
        innmf.separate(MIX, SR, models, representation="cwt", calibration="unit-tone", **SEP)
    # no inverse: refused, naming the transform and the alternatives
    with pytest.raises(ValueError, match="cqt.*nsgt|nsgt.*cqt"):
        innmf.separate(MIX, SR, models, representation=innmf.CQT(), **SEP)


def test_presets() -> None:
    # the innmf preset starts from NMF's solution: a few steps end far lower than from a random one
    x = harmonic(220, seed=3)
    fast = {k: v for k, v in FAST.items() if k != "steps"}
    paper = innmf.learn_templates(x, SR, window=256, hop=128, steps=20, preset="paper", **fast)
    ours = innmf.learn_templates(x, SR, window=256, hop=128, steps=20, preset="innmf", **fast)
    assert ours.reconstruction_err_ < 0.8 * paper.reconstruction_err_
    assert (ours.preset, paper.preset) == ("innmf", "paper")
    # ours is the default on an STFT (issue 15)
    default = innmf.learn_templates(x, SR, window=256, hop=128, steps=20, **fast)
    assert default.reconstruction_err_ == ours.reconstruction_err_ and default.preset == "innmf"
    _, rep = innmf.separate(MIX, SR, [paper, ours], return_report=True)
    assert rep["config"]["solver"] == "mu" and rep["config"]["steps"] == 3000
    # away from the STFT: no preset, the separation's own default (Rprop)
    _, rep = innmf.separate(MIX, SR, [paper, ours], representation="cwt", return_report=True)
    assert rep["config"].get("solver", "rprop") == "rprop"
    # on a mixture it sets the activation solver and steps (MU), unless they are given
    _, rep = innmf.separate(MIX, SR, [paper, ours], preset="innmf", return_report=True)
    assert rep["config"]["solver"] == "mu" and rep["config"]["steps"] == 3000
    _, rep = innmf.separate(MIX, SR, [paper, ours], preset="innmf", steps=50, return_report=True)
    assert rep["config"]["solver"] == "mu" and rep["config"]["steps"] == 50
    with pytest.raises(ValueError, match="fast"):
        innmf.learn_templates(x, SR, window=256, hop=128, preset="fast")
    # a training dict replaces the preset's options; its warm start may run in f64 (the
    # default) or f32 (the preset's), which the model's record says
    warm = {"match_scale": True, "nmf_warm_start": 300, "freeze_h": True, "w_target": "templates"}
    kw = dict(window=256, hop=128, steps=20, **fast)
    f64 = innmf.learn_templates(x, SR, training=warm, **kw)
    f32 = innmf.learn_templates(x, SR, training={**warm, "nmf_precision": "f32"}, **kw)
    assert "nmf_precision" not in f64.config["training"]
    assert f32.config["training"]["nmf_precision"] == "f32"
    assert f32.config["training"]["warm_start"]["nmf_precision"] == "f32"
    assert f32.reconstruction_err_ == pytest.approx(f64.reconstruction_err_, rel=1e-2)
    assert f32.reconstruction_err_ != f64.reconstruction_err_
    with pytest.raises(ValueError, match="f16"):
        innmf.learn_templates(x, SR, training={**warm, "nmf_precision": "f16"}, **kw)


def test_nmf_warm_start_is_bounded_as_the_steps_are() -> None:
    # nmf_warm_start = 2^63 ran (and held the interpreter) for ever
    with pytest.raises(ValueError, match="nmf_warm_start = 9223372036854775808"):
        innmf.learn_templates(harmonic(200.0), SR, window=256, hop=128, rank=2, steps=3,
                              training={"nmf_warm_start": 2**63})


def test_phase_refinement_polls_ctrl_c_and_the_callback(models) -> None:
    # the MISI / Griffin-Lim loop never visited the interpreter: phase_iters=10**12 held it for
    # ever (no Ctrl-C); now bounded, and the progress callback (Ctrl-C's poll) runs every
    # iteration, so an exception it raises stops the refinement
    with pytest.raises(ValueError, match="phase_iters = 1000000000000"):
        innmf.separate(MIX, SR, models, phase_iters=10**12, **SEP)

    class Stop(Exception):
        pass

    def stop_in_phase(step: int, steps: int, loss: float) -> None:
        if steps == 10**6 and step >= 2:
            raise Stop

    with pytest.raises(Stop):
        innmf.separate(MIX, SR, models, phase_iters=10**6, progress=stop_in_phase, **SEP)
