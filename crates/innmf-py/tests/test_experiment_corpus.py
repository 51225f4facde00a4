"""``innmf.experiment.plan`` on a TIMIT-like tree of short NIST SPHERE sentences: each speaker's
sentences are joined into one recording of the study (its units are named after the speaker),
and a speaker without enough audio or a silent sentence is left out rather than planned."""

from __future__ import annotations

import math
import pathlib
import struct

from innmf import experiment


def _sphere(path: pathlib.Path, f0: float, seconds: float, sr: int = 8000) -> None:
    n = int(seconds * sr)
    x = [
        0.3 * math.sin(math.pi * 4 * i / sr) ** 2 * math.sin(2 * math.pi * f0 * i / sr)
        if f0 > 0
        else 0.0
        for i in range(n)
    ]
    head = (
        f"NIST_1A\n   1024\nsample_count -i {n}\nsample_rate -i {sr}\nchannel_count -i 1\n"
        "sample_n_bytes -i 2\nsample_byte_format -s2 01\nsample_coding -s3 pcm\nend_head\n"
    ).encode()
    body = struct.pack(f"<{n}h", *(round(v * 32767) for v in x))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head.ljust(1024, b" ") + body)


def test_plan_joins_short_sentences_per_speaker(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "TIMIT"
    for speaker, f0, n in [("FCJF0", 210.0, 5), ("MDAB0", 110.0, 5), ("MRJO0", 130.0, 2)]:
        for k in range(n):
            _sphere(root / "TRAIN" / "DR1" / speaker / f"SX{k + 100}.WAV", f0 + 7 * k, 1.3)
    _sphere(root / "TRAIN" / "DR1" / "FCJF0" / "SX999.WAV", 0.0, 1.3)  # silent
    p = experiment.plan("separation", root, tmp_path / "out", "quick", pairs=1)
    ids = {u["id"] for u in p["units"]}
    assert {"innmf-train.FCJF0", "innmf-train.MDAB0", "separate.FCJF0+MDAB0.innmf.256"} <= ids
    assert not any("MRJO0" in i or "SX" in i for i in ids), ids
    assert (tmp_path / "out" / "plan.json").is_file()
