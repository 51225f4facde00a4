#!/usr/bin/env python3
"""Two FLAC "speakers" for the corpus-layout study tests (crates/innmf-studies/tests).

voice_a.flac and voice_b.flac: 4.2 s at 8 kHz, 16-bit mono, a harmonic voice (f0 120 Hz and
210 Hz, 12 partials with a 1/h spectral tilt, a 4 Hz vibrato of 2 %, syllable-rate amplitude
envelope at 3 Hz), long enough to stand alone at the `--quick` settings (3 s training + 1 s
held-out). Deterministic (no randomness); encoded by the `flac` tool (`apt-get install flac`):

    python3 tests/data/audio/make_corpus_fixtures.py
"""

import os
import subprocess
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SR = 8000
SECONDS = 4.2


def voice(f0):
    t = np.arange(int(SR * SECONDS)) / SR
    inst = f0 * (1.0 + 0.02 * np.sin(2 * np.pi * 4.0 * t))
    phase = 2 * np.pi * np.cumsum(inst) / SR
    x = sum(np.sin(h * phase) / h for h in range(1, 13) if h * f0 * 1.05 < SR / 2)
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t) ** 2
    x = x * env
    return np.round(x / np.max(np.abs(x)) * 0.5 * 32767).astype("<i2")


def main():
    for name, f0 in (("voice_a", 120.0), ("voice_b", 210.0)):
        with tempfile.TemporaryDirectory() as tmp:
            wav = os.path.join(tmp, name + ".wav")
            with wave.open(wav, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(SR)
                w.writeframes(voice(f0).tobytes())
            subprocess.run(["flac", "--best", "-s", "-f", "--no-padding", "--no-seektable",
                            "-o", os.path.join(HERE, name + ".flac"), wav], check=True)


if __name__ == "__main__":
    main()
