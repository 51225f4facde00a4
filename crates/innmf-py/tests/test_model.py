"""ImplicitNMF: the three ways to fit, both factor kinds, every loss and optimizer, sampling,
model files shared with the CLI (`innmf fit`, `innmf sample`), pickling, bad inputs."""

from __future__ import annotations

import pickle
import subprocess

import numpy as np
import pytest

import innmf
from conftest import two_tones

SR = 8000
REP = innmf.STFT(window_len=256, hop=128)
FAST = dict(width=16, depth=2, n_features=4)


@pytest.fixture(scope="module")
def pts() -> innmf.Points:
    return innmf.analyze(two_tones(SR), SR, REP, power=0.5)


@pytest.fixture(scope="module")
def fitted(pts) -> innmf.ImplicitNMF:
    return innmf.ImplicitNMF(2, steps=60, **FAST).fit(pts)


def test_fit_attributes_and_sampling(fitted, pts) -> None:
    m = fitted
    assert m.n_iter_ == 60
    assert m.loss_history_[-1] < m.loss_history_[0]
    assert m.reconstruction_err_ == m.report_["final_loss"] > 0
    F = len(np.unique(pts.f))
    assert m.components_.shape == (2, F) and m.components_.dtype == np.float32
    W = m.sample_w(np.linspace(0, 4000, 101))
    H = m.sample_h(np.linspace(0, 1, 50))
    assert W.shape == (2, 101) and H.shape == (2, 50) and (W >= 0).all() and (H >= 0).all()
    V = m.reconstruct([100.0, 440.0], [0.1, 0.2, 0.3])
    want = m.sample_w([100.0, 440.0]).T.astype(np.float64) @ m.sample_h([0.1, 0.2, 0.3])
    np.testing.assert_allclose(V, want, rtol=1e-5)
    pred = m.predict(pts.t[:10], pts.f[:10])
    assert pred.shape == (10,) and pred.dtype == np.float64
    data = m.config["data"]
    assert data["kind"] == "audio" and data["representation"] == REP.to_dict()
    assert data["sample_rate"] == SR and data["power"] == 0.5


def test_three_ways_to_fit_agree(pts) -> None:
    a = innmf.ImplicitNMF(2, steps=20, **FAST).fit(pts)
    b = innmf.ImplicitNMF(2, steps=20, **FAST).fit(pts.t, pts.f, pts.m)
    np.testing.assert_array_equal(a.sample_w([440.0, 1000.0]), b.sample_w([440.0, 1000.0]))
    # the STFT grid as a matrix with its axes: points in the order (freq, time) row-major
    freqs, times = np.unique(pts.f), np.unique(pts.t)
    V = np.zeros((len(freqs), len(times)))
    V[np.searchsorted(freqs, pts.f), np.searchsorted(times, pts.t)] = pts.m
    c = innmf.ImplicitNMF(2, steps=20, **FAST).fit(V, freqs=freqs, times=times)
    assert c.n_iter_ == 20
    np.testing.assert_allclose(c.reconstruction_err_, b.reconstruction_err_, rtol=1e-6)


@pytest.mark.parametrize("w,h", [("implicit", "explicit"), ("implicit", "implicit"),
                                 ("explicit", "implicit"), ("explicit", "explicit")])
def test_both_factor_kinds(pts, w, h) -> None:
    m = innmf.ImplicitNMF(2, w=w, h=h, steps=30, **FAST).fit(pts)
    assert m.model_.w_kind == w and m.model_.h_kind == h
    assert m.loss_history_[-1] < m.loss_history_[0]


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("optimizer", ["rprop", "adam", {"kind": "adam", "lr": 0.01}])
def test_every_loss_and_optimizer(pts, beta, optimizer) -> None:
    m = innmf.ImplicitNMF(2, beta=beta, optimizer=optimizer, steps=30, **FAST).fit(pts)
    assert np.isfinite(m.reconstruction_err_)
    assert m.loss_history_[-1] < m.loss_history_[0]


def test_training_options_beyond_the_paper(pts, tmp_path) -> None:
    m = innmf.ImplicitNMF(2, match_scale=True, output="exp", h_optimizer={"kind": "adam", "lr": 0.01},
                          steps=30, **FAST).fit(pts)
    assert m.loss_history_[-1] < m.loss_history_[0]
    spec = m.config["training"]["spec"]
    assert spec["match_scale"] is True and spec["output"] == "exp"
    assert m.config["training"]["fit"]["h_optimizer"]["kind"] == "adam"
    m.save(tmp_path / "o.safetensors")
    back = innmf.ImplicitNMF.load(tmp_path / "o.safetensors")
    assert back.match_scale is True and back.output == "exp"
    assert back.h_optimizer["kind"] == "adam" and back.h_optimizer["lr"] == 0.01
    plain = innmf.ImplicitNMF(2, steps=30, **FAST).fit(pts)
    assert plain.loss_history_[0] != m.loss_history_[0]
    with pytest.raises(ValueError, match="output"):
        innmf.ImplicitNMF(2, output="relu", steps=2).fit(pts)


def test_innmf_preset_as_the_cli(cli, pts, tmp_path) -> None:
    # the innmf preset fits W's networks to NMF's templates and keeps NMF's activations: after a
    # few steps it is far below the paper's random start on the same data and seed
    paper = innmf.ImplicitNMF(2, steps=15, **FAST).fit(pts)
    ours = innmf.ImplicitNMF(2, steps=15, preset="innmf", **FAST).fit(pts)
    assert ours.reconstruction_err_ < 0.5 * paper.reconstruction_err_
    warm = ours.config["training"]["warm_start"]
    assert warm["nmf_iters"] == 3000 and warm["w_steps"] == 0
    assert ours.config["training"]["fit"]["freeze"] == "h"
    assert ours.config["training"]["preset"] == "innmf"
    assert ours.config["training"]["freq_midpoints"] == 1
    assert ours.config["training"]["w_target"] == "templates"
    assert ours.config["training"]["nmf_precision"] == "f32"
    assert warm["template_final_loss"] > 0
    assert ours.config["training"]["spec"]["match_scale"] is True
    # the CLI's --preset innmf on the same audio gives the same model, bit for bit
    wav = tmp_path / "x.wav"
    innmf.write_wav(wav, two_tones(SR), SR)
    path = tmp_path / "cli.safetensors"
    subprocess.run([str(cli), "fit", str(wav), "--window", "256", "--hop", "128", "--rank", "2",
                    "--width", "16", "--depth", "2", "--features", "4", "--steps", "15",
                    "--preset", "innmf", "--out", str(path)], check=True, capture_output=True)
    theirs = innmf.ImplicitNMF.load(path)
    x, sr = innmf.load_audio(wav)
    mine = innmf.ImplicitNMF(2, steps=15, preset="innmf", **FAST).fit(
        innmf.analyze(x, sr, REP, power=0.5))
    assert theirs.get_params() == mine.get_params()
    assert theirs.preset == "innmf"
    f = np.linspace(0, 4000, 57)
    np.testing.assert_array_equal(theirs.sample_w(f), mine.sample_w(f))
    # a file written from Python reads back with its preset
    ours.save(tmp_path / "o.safetensors")
    assert innmf.ImplicitNMF.load(tmp_path / "o.safetensors").get_params() == ours.get_params()
    with pytest.raises(ValueError, match="preset"):
        innmf.ImplicitNMF(2, steps=2, preset="fast").fit(pts)
    with pytest.raises(ValueError, match="explicit"):
        innmf.ImplicitNMF(2, h="implicit", steps=2, preset="innmf", **FAST).fit(pts)
    # per-point weights weigh the data, which the networks no longer see
    with pytest.raises(ValueError, match="weights.*templates"):
        innmf.ImplicitNMF(2, steps=2, preset="innmf", **FAST).fit(pts, weights=np.ones(len(pts.m)))
    # a cloud of points has no grid for NMF to start from
    rng = np.random.default_rng(0)
    t, f_, m = rng.uniform(0, 1, 50), rng.uniform(0, 4000, 50), rng.uniform(0, 1, 50)
    with pytest.raises(ValueError, match="grid"):
        innmf.ImplicitNMF(2, steps=2, preset="innmf", **FAST).fit(t, f_, m)


def test_same_seed_same_bytes(pts) -> None:
    a = innmf.ImplicitNMF(2, steps=10, seed=3, **FAST).fit(pts)
    b = innmf.ImplicitNMF(2, steps=10, seed=3, **FAST).fit(pts)
    c = innmf.ImplicitNMF(2, steps=10, seed=4, **FAST).fit(pts)
    assert a.to_bytes() == b.to_bytes()
    assert a.to_bytes() != c.to_bytes()


def test_save_load_pickle(fitted, tmp_path) -> None:
    p = tmp_path / "m.safetensors"
    fitted.save(p)
    loaded = innmf.ImplicitNMF.load(p)
    f = np.linspace(0, 4000, 33)
    np.testing.assert_array_equal(loaded.sample_w(f), fitted.sample_w(f))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.n_iter_ == fitted.n_iter_
    assert p.read_bytes() == fitted.to_bytes()
    for m in (fitted, loaded):
        back = pickle.loads(pickle.dumps(m))
        np.testing.assert_array_equal(back.sample_w(f), m.sample_w(f))
    assert innmf.ImplicitNMF.from_bytes(fitted.to_bytes()).n_components == 2


def test_python_model_in_the_cli_and_back(cli, fitted, tmp_path) -> None:
    path = tmp_path / "py.safetensors"
    fitted.save(path)
    freqs = np.linspace(0, 4000, 41)
    times = np.linspace(0, 1, 17)
    np.save(tmp_path / "freqs.npy", freqs)
    np.save(tmp_path / "times.npy", times)
    out = tmp_path / "sampled"
    subprocess.run([str(cli), "sample", str(path), "--freqs", str(tmp_path / "freqs.npy"),
                    "--times", str(tmp_path / "times.npy"), "--out", str(out)],
                   check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(out / "W.npy"), fitted.sample_w(freqs).astype(np.float64))
    np.testing.assert_array_equal(np.load(out / "H.npy"), fitted.sample_h(times).astype(np.float64))
    np.testing.assert_array_equal(np.load(out / "V.npy"),
                                  fitted.reconstruct(freqs, times).astype(np.float64))


def test_cli_fit_equals_python_fit(cli, tmp_path) -> None:
    wav = tmp_path / "x.wav"
    innmf.write_wav(wav, two_tones(SR), SR)
    model = tmp_path / "cli.safetensors"
    subprocess.run([str(cli), "fit", str(wav), "--window", "256", "--hop", "128", "--rank", "2",
                    "--width", "16", "--depth", "2", "--features", "4", "--steps", "25",
                    "--seed", "9", "--out", str(model)], check=True, capture_output=True)
    theirs = innmf.ImplicitNMF.load(model)
    x, sr = innmf.load_audio(wav)
    ours = innmf.ImplicitNMF(2, steps=25, seed=9, **FAST).fit(
        innmf.analyze(x, sr, REP, power=0.5))
    assert theirs.get_params() == ours.get_params()
    f = np.linspace(0, 4000, 57)
    np.testing.assert_array_equal(theirs.sample_w(f), ours.sample_w(f))  # bit for bit
    assert theirs.config["data"] == ours.config["data"]
    assert theirs.n_iter_ == ours.n_iter_ and theirs.reconstruction_err_ == ours.reconstruction_err_


def test_bad_inputs(pts, tmp_path) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        innmf.ImplicitNMF().sample_w([1.0])
    with pytest.raises(ValueError, match=r"m\[1\] = -1.0"):
        innmf.ImplicitNMF(2).fit([0.0, 1.0], [10.0, 20.0], [1.0, -1.0])
    with pytest.raises(ValueError, match=r"t\[0\] = nan"):
        innmf.ImplicitNMF(2).fit([np.nan, 1.0], [10.0, 20.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="n_components = 0"):
        innmf.ImplicitNMF(0).fit(pts)
    with pytest.raises(ValueError, match="w = \"sideways\""):
        innmf.ImplicitNMF(2, w="sideways").fit(pts)
    with pytest.raises(ValueError, match="optimizer"):
        innmf.ImplicitNMF(2, optimizer="sgd").fit(pts)
    with pytest.raises(ValueError, match="fraction"):
        innmf.ImplicitNMF(2, fraction=1.5, steps=2).fit(pts)
    with pytest.raises(ValueError, match="V has shape"):
        innmf.ImplicitNMF(2).fit(np.ones((3, 4)), freqs=[1.0, 2.0, 3.0], times=[0.0, 1.0])
    with pytest.raises(TypeError):
        innmf.ImplicitNMF(2).fit(np.ones((3, 4)))
    with pytest.raises(ValueError, match="weights"):
        innmf.ImplicitNMF(2, steps=2).fit(pts, weights=np.ones(3))
    with pytest.raises(FileNotFoundError):
        innmf.ImplicitNMF.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(OSError):
        innmf.ImplicitNMF.load(junk)
    with pytest.raises(OSError):
        innmf.ImplicitNMF.from_bytes(b"nonsense")


def test_progress_callback_and_sklearn_manners(pts) -> None:
    seen = []
    m = innmf.ImplicitNMF(2, steps=40, **FAST)
    assert m.fit(pts, progress=lambda s, n, loss: seen.append((s, n, loss))) is m
    assert seen[-1][:2] == (40, 40)
    m.set_params(steps=5)
    assert m.get_params()["steps"] == 5

    def boom(*_):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        m.fit(pts, progress=boom)
    assert not hasattr(m, "model_") and not hasattr(m, "components_")


def test_sampling_is_checked_as_innmf_sample_checks_it(fitted) -> None:
    # the CLI's Model::check_grid was skipped: reconstruct(200000 × 200000) aborted the
    # interpreter on a 160 GB allocation, sample_w(1e9 Hz) returned the features' noise
    with pytest.raises(ValueError, match="at most 134217728 values"):
        fitted.reconstruct(np.zeros(200_000), np.zeros(200_000))
    with pytest.raises(ValueError, match="freqs = 1e9.*spans"):
        fitted.sample_w([1e9])
    with pytest.raises(ValueError, match="freqs = 1e9.*spans"):
        fitted.predict([0.0], [1e9])
    assert fitted.sample_w([100.0]).shape == (2, 1)


def test_integers_beyond_64_bits_and_reassigned_points(pts) -> None:
    # an OverflowError from the native conversion before
    with pytest.raises(ValueError, match="n_components = 1180591620717411303424"):
        innmf.ImplicitNMF(2**70).fit(pts)
    with pytest.raises(ValueError, match="steps"):
        innmf.ImplicitNMF(2, steps=2**64).fit(pts)
    # Points' arrays reassigned after construction: a list and a float32 array were conversion
    # errors of the native layer; now converted (or refused) as the constructor does
    p = innmf.Points(pts.t, pts.f, pts.m)
    p.t, p.m = list(p.t), p.m.astype(np.float32)
    assert innmf.ImplicitNMF(2, steps=2, **FAST).fit(p).n_iter_ == 2
    p.m = p.m[:10]
    with pytest.raises(ValueError, match="lengths"):
        innmf.ImplicitNMF(2, steps=2, **FAST).fit(p)


def test_model_files_by_bytes_paths(fitted, tmp_path) -> None:
    # os.fspath kept bytes paths bytes, which the native layer refused with a TypeError
    path = bytes(tmp_path / "m.safetensors")
    fitted.save(path)
    assert innmf.ImplicitNMF.load(path).to_bytes() == fitted.to_bytes()
    # bytes(10**10) of an integer is ten gigabytes of zeros
    with pytest.raises(TypeError, match="bytes of a model file"):
        innmf.ImplicitNMF.from_bytes(10**10)


def test_requests_over_the_memory_limit_are_value_errors(monkeypatch, fitted) -> None:
    """`INNMF_MEMORY_LIMIT` (read at each call) below what a request needs: a ValueError naming
    the request, the estimate and the limit, before the binding copies the arrays (fitting 4e8
    points aborted the interpreter out of memory)."""
    monkeypatch.setenv("INNMF_MEMORY_LIMIT", "64M")
    V = np.ones((2000, 1000))  # 2e6 points: t, f and m copied, indexed, trained on

    def no_grid(*args: object, **kwargs: object) -> None:
        raise AssertionError("the grid's t and f were built before the memory check")

    # refused before the Python layer builds the grid's t and f with np.tile / np.repeat
    with monkeypatch.context() as m:
        m.setattr(np, "tile", no_grid)
        m.setattr(np, "repeat", no_grid)
        with pytest.raises(
            ValueError, match=r"fit on 2000000 points.*64\.0 MiB.*INNMF_MEMORY_LIMIT"
        ):
            innmf.ImplicitNMF(2, steps=1, **FAST).fit(
                V, freqs=np.linspace(1, 4000, 2000), times=np.linspace(0, 1, 1000)
            )
    with pytest.raises(ValueError, match=r"an STFT of 80000 samples.*64\.0 MiB"):
        innmf.analyze(np.tile(two_tones(SR), 10), SR, innmf.STFT(window_len=4096, hop=4))
    with pytest.raises(ValueError, match=r"3000 frequencies × 3000 times.*64\.0 MiB"):
        fitted.reconstruct(np.linspace(0, 4000, 3000), np.linspace(0, 1, 3000))
    # small requests run under the same limit; a limit that is not a size is itself an error
    assert fitted.reconstruct([100.0], [0.1]).shape == (1, 1)
    monkeypatch.setenv("INNMF_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="INNMF_MEMORY_LIMIT"):
        fitted.reconstruct([100.0], [0.1])
