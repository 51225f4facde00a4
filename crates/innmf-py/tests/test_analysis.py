"""Representations, analyze/Points and audio files; the same points as the CLI's `innmf analyze`."""

from __future__ import annotations

import json
import pickle
import subprocess

import numpy as np
import pytest

import innmf
from conftest import two_tones

SR = 8000
SMALL = {
    "stft": innmf.STFT(window_len=256, hop=128),
    "cqt": innmf.CQT(f_min=100.0, bins_per_octave=12, n_bins=30),
    "vqt": innmf.VQT(fmin=100.0, bins_per_octave=12, n_bins=30, hop=256),
    "nsgt": innmf.NSGT(f_min=100.0, f_max=3000.0, bins_per_octave=12),
    "cwt": innmf.CWT(f_min=100.0, f_max=2500.0, voices_per_octave=6),
    "sines": innmf.Sines(window_len=512, hop=256, max_peaks=5),
    "multires": innmf.Multires(splits=[1000.0], windows=[512, 128]),
    "hybrid": innmf.Hybrid(parts=[innmf.STFT(window_len=128, hop=64), innmf.STFT(window_len=512, hop=256)]),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_representation_analyzes(name: str) -> None:
    rep = SMALL[name]
    x = two_tones(SR)
    pts = innmf.analyze(x, SR, rep, power=0.5)
    assert isinstance(pts, innmf.Points) and len(pts) > 0
    for a in (pts.t, pts.f, pts.m):
        assert a.dtype == np.float64 and a.shape == (len(pts),) and a.flags.c_contiguous
    assert (pts.m >= 0).all() and np.isfinite(pts.m).all()
    assert (pts.f >= 0).all() and (pts.f <= SR / 2 + 1e-9).all()
    assert pts.analysis["representation"]["transform"] == name
    assert pts.power == 0.5 and pts.sample_rate == SR
    assert pts.representation.transform == name
    assert rep.to_dict()["transform"] == name
    assert innmf.representation_from_dict(rep.to_json()) == rep
    # the strongest point sits near one of the two tones
    f0 = pts.f[np.argmax(pts.m)]
    assert min(abs(f0 - 440), abs(f0 - 1000)) < 120, f0
    assert pickle.loads(pickle.dumps(pts)).m.tolist() == pts.m.tolist()
    assert repr(pts).startswith("Points(")


def test_power_and_calibration() -> None:
    x = two_tones(SR)
    p1 = innmf.analyze(x, SR, SMALL["stft"], power=1.0)
    p2 = innmf.analyze(x, SR, SMALL["stft"], power=2.0)
    np.testing.assert_allclose(p2.m, p1.m**2, rtol=1e-12, atol=1e-300)
    # a unit-amplitude tone reads about 1 at its bin with calibrate=True
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 500 * t)
    c = innmf.analyze(tone, SR, innmf.STFT(window_len=400, hop=200), calibrate=True)
    assert abs(c.m.max() - 1.0) < 0.05
    assert c.analysis["calibration"] == "unit-tone"
    n = innmf.analyze(tone, SR, "stft", calibrate="native")
    assert n.analysis["calibration"] == "native"


def test_representation_fields_and_defaults() -> None:
    d = innmf.CQT().to_dict()
    assert d == {"transform": "cqt", "f_min": 20.0, "bins_per_octave": 64, "q": None,
                 "n_bins": None, "f_max": None, "hop_divisor": 8, "kernels": "sparse"}
    assert innmf.CQT(fmin=30).f_min == 30.0
    r = innmf.CQT().resolve(16000)
    assert r["n_bins"] == 428  # the paper's 6.7 octaves at 64 per octave
    assert innmf.STFT(window_len=4096).window_len == 4096
    assert len(innmf.Hybrid().parts) == 3
    with pytest.raises(TypeError, match="unknown field"):
        innmf.representation_from_dict({"transform": "stft", "windw_len": 3})
    with pytest.raises(TypeError):
        innmf.STFT(windw_len=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="hop"):
        innmf.STFT(window_len=256, hop=0)
    with pytest.raises(ValueError, match="transform"):
        innmf.representation_from_dict({"transform": "wavelets"})
    with pytest.raises(ValueError):
        innmf.STFT(window="triangle-ish")
    with pytest.raises(TypeError, match="same field"):
        innmf.CQT(fmin=20, f_min=30)


def test_analyze_bad_inputs() -> None:
    x = two_tones(SR)
    with pytest.raises(ValueError, match=r"x\[5\] = nan"):
        y = x.copy()
        y[5] = np.nan
        innmf.analyze(y, SR)
    with pytest.raises(ValueError, match="1-D"):
        innmf.analyze(np.stack([x, x]), SR)
    with pytest.raises(TypeError, match="dtype"):
        innmf.analyze(x.astype(complex), SR)
    with pytest.raises(ValueError, match="power"):
        innmf.analyze(x, SR, power=-1)
    with pytest.raises(ValueError):
        innmf.analyze(x, -8000)
    with pytest.raises(ValueError, match="calibration"):
        innmf.analyze(x, SR, calibrate="loud")
    with pytest.raises(TypeError, match="representation"):
        innmf.analyze(x, SR, 42)  # type: ignore[arg-type]
    # float32 and strided input are accepted (copied to float64)
    a = innmf.analyze(x.astype(np.float32), SR, SMALL["stft"])
    b = innmf.analyze(x.astype(np.float32).astype(np.float64), SR, SMALL["stft"])
    np.testing.assert_array_equal(a.m, b.m)
    wide = np.repeat(x, 2)
    c = innmf.analyze(wide[::2], SR, SMALL["stft"])
    np.testing.assert_array_equal(c.m, innmf.analyze(x, SR, SMALL["stft"]).m)


def test_sizes_are_checked_before_the_kernels_are_built() -> None:
    # at a sample rate of 1e12 Hz the variable-Q and the hybrid's direct constant-Q kernels asked
    # for 15 GB and 25 TB and aborted the interpreter; a low f_min made the direct kernels GBs
    x = two_tones(SR)
    with pytest.raises(ValueError, match="window of variable-Q bin 0.*at most 16777216"):
        innmf.analyze(x, 1e12, "vqt")
    with pytest.raises(ValueError, match="window of constant-Q bin.*at most 16777216"):
        innmf.analyze(x, 1e12, "hybrid")
    with pytest.raises(ValueError, match="direct constant-Q kernels.*sparse"):
        innmf.analyze(x, 44100, innmf.CQT(kernels="direct", f_min=0.2))


def test_magnitudes_that_overflow_at_the_power_are_refused() -> None:
    # |c|^16 of a loud signal was inf in the returned points (and the model fitted to them)
    with pytest.raises(ValueError, match="power.*overflows"):
        innmf.analyze(two_tones(SR) * 1e30, SR, SMALL["stft"], power=16)


def test_points_constructor_checks() -> None:
    p = innmf.Points([0, 1], [100, 200], [1, 2])
    assert len(p) == 2 and p.analysis is None and p.power == 1.0
    with pytest.raises(ValueError, match=r"m\[1\] = -2.0.*non-negative"):
        innmf.Points([0, 1], [100, 200], [1, -2])
    with pytest.raises(ValueError, match="lengths"):
        innmf.Points([0, 1], [100], [1, 2])


def test_wav_round_trip_and_audio_errors(tmp_path) -> None:
    x = two_tones(SR)
    p = tmp_path / "x.wav"
    innmf.write_wav(p, x, SR)
    y, sr = innmf.load_audio(p)
    assert sr == SR and y.dtype == np.float64
    np.testing.assert_array_equal(y, x.astype(np.float32).astype(np.float64))  # 32-bit float WAV
    part, _ = innmf.load_audio(p, start=0.25, seconds=0.5)
    np.testing.assert_array_equal(part, y[2000:6000])
    up, sr2 = innmf.load_audio(p, sample_rate=16000)
    assert sr2 == 16000 and abs(len(up) - 2 * len(y)) <= 2
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        innmf.load_audio(tmp_path / "nope.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(OSError):
        innmf.load_audio(junk)
    # a mono file ignores the channel (the library's rule: any channel of a mono file is it)
    np.testing.assert_array_equal(innmf.load_audio(p, channel=1)[0], y)
    with pytest.raises(ValueError, match="sample_rate"):
        innmf.write_wav(tmp_path / "z.wav", x, 0)


@pytest.mark.parametrize(
    "rep,flags",
    [
        (innmf.STFT(window_len=256, hop=128), ["--transform", "stft", "--window", "256", "--hop", "128"]),
        (innmf.CQT(fmin=100.0, bins_per_octave=12), ["--transform", "cqt", "--fmin", "100", "--bins-per-octave", "12"]),
        (innmf.Sines(window_len=512, hop=256), ["--transform", "sines", "--window", "512", "--hop", "256"]),
    ],
    ids=["stft", "cqt", "sines"],
)
def test_same_points_as_the_cli(cli, tmp_path, rep, flags) -> None:
    wav = tmp_path / "x.wav"
    innmf.write_wav(wav, two_tones(SR), SR)
    x, sr = innmf.load_audio(wav)
    ours = innmf.analyze(x, sr, rep, power=0.5)
    out = tmp_path / "pts.npz"
    subprocess.run([str(cli), "analyze", str(wav), *flags, "--power", "0.5", "--out", str(out)],
                   check=True, capture_output=True)
    theirs = np.load(out)
    for k in ("t", "f", "m"):
        np.testing.assert_array_equal(getattr(ours, k), theirs[k])  # bit for bit


def test_audio_arguments_and_files_beyond_the_limits(tmp_path) -> None:
    x = two_tones(SR)
    p = tmp_path / "x.wav"
    # bytes paths (os.fspath kept them bytes: a TypeError from the native layer)
    innmf.write_wav(bytes(p), x, SR)
    assert innmf.load_audio(bytes(p))[1] == SR
    # OverflowErrors from the conversions before
    with pytest.raises(ValueError, match="channel = -1"):
        innmf.load_audio(p, channel=-1)
    with pytest.raises(ValueError, match="sample_rate = -1"):
        innmf.load_audio(p, sample_rate=-1)
    with pytest.raises(ValueError, match="sample_rate = 4294967296"):
        innmf.write_wav(p, x, 2**32)
    # a rate whose byte rate overflows the header wrote a file that could not be read back
    with pytest.raises(ValueError, match="sample rate = 4294967295.*byte rate"):
        innmf.write_wav(tmp_path / "y.wav", x, 2**32 - 1)
    # 32-bit float samples: 1e300 was written as inf
    with pytest.raises(ValueError, match="32-bit floats"):
        innmf.write_wav(tmp_path / "z.wav", np.full(10, 1e300), SR)
    assert not (tmp_path / "y.wav").exists() and not (tmp_path / "z.wav").exists()
    # a file claiming 4294967295 Hz resampled to 8000 Hz asked for a 137 GB filter (an abort)
    import struct

    hdr = b"RIFF" + struct.pack("<I", 44) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 2**32 - 1, 0, 2, 16
    ) + b"data" + struct.pack("<I", 8) + b"\x01\x00" * 4
    fast = tmp_path / "fast.wav"
    fast.write_bytes(hdr)
    with pytest.raises(ValueError, match="resampling factor.*at most 3355443"):
        innmf.load_audio(fast, sample_rate=8000)


def test_the_documented_sines_tracking_form_is_accepted() -> None:
    # the docstring showed {"max_deviation": "50c"}, which the library refuses
    doc = innmf.Sines.__doc__
    start = doc.index("``{", doc.index("tracking"))
    form = json.loads(doc[start + 2:doc.index("}``", start) + 1])
    assert innmf.Sines(tracking=form).to_dict()["tracking"]["max_deviation"] == {"cents": 50.0}
