#!/usr/bin/env python3
"""Makes the audio-format fixtures of crates/innmf/tests/audio_formats.rs from one known signal.

    python3 tests/data/audio/make_audio_fixtures.py

Needs Python 3 (standard library only) and, for the compressed formats, the Debian tools
`ffmpeg` (libmp3lame, libvorbis, its native AAC and ALAC encoders, libopus) and `flac`
(`apt-get install ffmpeg flac`). Their versions are written to versions.json.

The signal: 4000 frames (0.25 s) of stereo at 16 kHz, 16-bit. Left: 440 Hz at 0.5 plus 1234.5 Hz
at 0.2; right: 660 Hz at 0.4 plus 3000 Hz at 0.1; both with 10 ms raised-cosine fades.

What each file is, and what the test expects of it:
- tone_s16.wav: the WAV twin (PCM 16-bit), written by Python's `wave` module.
- tone_u8.wav, tone_s24.wav, tone_s32.wav, tone_f32.wav, tone_f64.wav, tone_ext24.wav (WAVE_FORMAT_
  EXTENSIBLE PCM 24), tone_extf32.wav (EXTENSIBLE float), tone_rf64.wav (RF64 with a ds64 chunk,
  PCM 16): written by this script from the first 1000 frames of the same integers; all but u8
  read identically to the twin's first 1000 frames (u8 keeps the top 8 bits).
- tone_mulaw.wav, tone_alaw.wav: G.711 by ffmpeg; tone_mulaw_ref.wav, tone_alaw_ref.wav: ffmpeg's
  own decoding of them to PCM 16 (the reader must match it exactly).
- tone_sphere_le.wav (a SPHERE file under a .wav name, as TIMIT ships them), tone_be.sph: NIST
  SPHERE headers written here, 16-bit PCM in both byte orders; tone_ulaw.sph: SPHERE with the
  mu-law bytes of tone_mulaw.wav; the G.711, SPHERE, ALAC and AIFF files hold the first 1000
  frames too; tone_shorten.sph: a SPHERE header announcing shorten coding.
- tone.flac (flac --best), tone_alac.m4a, tone.aiff: lossless, must decode bit-exactly.
- tone.mp3 (LAME 96 kb/s), tone.ogg (Vorbis q4), tone.m4a (AAC 96 kb/s): lossy, compared with the
  twin after aligning the codec delay (see the test for the SNR bounds), and with ffmpeg's own
  decoding of them (tone_mp3_ref.wav, tone_ogg_ref.wav, tone_m4a_ref.wav, PCM 16).
- tone.opus: Ogg Opus, which the reader must refuse with a clear error.
- bad_*: truncated and corrupt variants of each format, each of which must give a clear error.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
SR = 16000
N = 4000
M = 1000


def signal():
    """The known signal as two lists of int16 values."""
    fade = int(0.010 * SR)
    left, right = [], []
    for i in range(N):
        t = i / SR
        g = 1.0
        if i < fade:
            g = 0.5 - 0.5 * math.cos(math.pi * i / fade)
        elif i >= N - fade:
            g = 0.5 - 0.5 * math.cos(math.pi * (N - 1 - i) / fade)
        lv = g * (0.5 * math.sin(2 * math.pi * 440 * t) + 0.2 * math.sin(2 * math.pi * 1234.5 * t))
        rv = g * (0.4 * math.sin(2 * math.pi * 660 * t) + 0.1 * math.sin(2 * math.pi * 3000 * t))
        left.append(max(-32768, min(32767, round(lv * 32768))))
        right.append(max(-32768, min(32767, round(rv * 32768))))
    return left, right


def frames(left, right):
    for a, b in zip(left, right):
        yield a
        yield b


def riff_wav(fmt_tag, bits, block_bytes, payload, extensible_sub=None, valid_bits=None):
    """A RIFF/WAVE file, stereo at SR, with the given fmt fields and sample bytes."""
    nch = 2
    block_align = nch * block_bytes
    if extensible_sub is None:
        fmt = struct.pack("<HHIIHH", fmt_tag, nch, SR, SR * block_align, block_align, bits)
        if fmt_tag != 1:
            fmt += struct.pack("<H", 0)
    else:
        guid_tail = bytes.fromhex("000000001000800000aa00389b71")
        fmt = struct.pack("<HHIIHH", 0xFFFE, nch, SR, SR * block_align, block_align, bits)
        fmt += struct.pack("<HHI", 22, valid_bits or bits, 0x3)
        fmt += struct.pack("<H", extensible_sub) + guid_tail
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if fmt_tag != 1 or extensible_sub is not None:
        body += b"fact" + struct.pack("<II", 4, len(payload) // block_align)
    body += b"data" + struct.pack("<I", len(payload)) + payload
    if len(payload) % 2:
        body += b"\0"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def rf64_wav(payload):
    """An RF64 file (PCM 16 stereo): RIFF size and data size 0xFFFFFFFF, real sizes in ds64."""
    nch, block_align = 2, 4
    fmt = struct.pack("<HHIIHH", 1, nch, SR, SR * block_align, block_align, 16)
    ds64_len = 28
    riff_size = 4 + (8 + ds64_len) + (8 + len(fmt)) + (8 + len(payload))
    ds64 = struct.pack("<QQQI", riff_size, len(payload), len(payload) // block_align, 0)
    body = b"WAVE" + b"ds64" + struct.pack("<I", ds64_len) + ds64
    body += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", 0xFFFFFFFF) + payload
    return b"RF64" + struct.pack("<I", 0xFFFFFFFF) + body


def sphere(fields, payload):
    """A NIST SPHERE file: a 1024-byte ASCII header, then the samples."""
    lines = ["NIST_1A", "   1024"]
    for k, t, v in fields:
        lines.append(f"{k} -{t} {v}")
    lines.append("end_head")
    head = ("\n".join(lines) + "\n").encode("ascii")
    assert len(head) <= 1024
    return head + b" " * (1024 - len(head)) + payload


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ffmpeg(src, dst, *args):
    run("ffmpeg", "-nostdin", "-y", "-v", "error", "-i", src, "-map_metadata", "-1",
        "-fflags", "+bitexact", "-flags:a", "+bitexact", *args, dst)


def version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
    return out[0] if out else "?"


def main():
    left, right = signal()
    inter = list(frames(left, right))

    # the twin, through the standard library's writer
    with wave.open(os.path.join(HERE, "tone_s16.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(struct.pack(f"<{len(inter)}h", *inter))

    # the PCM variants hold the first M frames only (to keep the fixtures small)
    inter = inter[: 2 * M]
    s16 = struct.pack(f"<{len(inter)}h", *inter)
    write("tone_u8.wav", riff_wav(1, 8, 1, bytes(((v >> 8) + 128) for v in inter)))
    write("tone_s24.wav", riff_wav(1, 24, 3, b"".join(struct.pack("<i", v << 8)[:3] for v in inter)))
    write("tone_s32.wav", riff_wav(1, 32, 4, struct.pack(f"<{len(inter)}i", *(v << 16 for v in inter))))
    write("tone_f32.wav", riff_wav(3, 32, 4, struct.pack(f"<{len(inter)}f", *(v / 32768 for v in inter))))
    write("tone_f64.wav", riff_wav(3, 64, 8, struct.pack(f"<{len(inter)}d", *(v / 32768 for v in inter))))
    write("tone_ext24.wav", riff_wav(1, 24, 3, b"".join(struct.pack("<i", v << 8)[:3] for v in inter),
                                     extensible_sub=1))
    write("tone_extf32.wav", riff_wav(3, 32, 4, struct.pack(f"<{len(inter)}f", *(v / 32768 for v in inter)),
                                      extensible_sub=3))
    write("tone_rf64.wav", rf64_wav(s16))

    sph_common = [("sample_count", "i", M), ("sample_rate", "i", SR), ("channel_count", "i", 2),
                  ("sample_n_bytes", "i", 2), ("sample_sig_bits", "i", 16)]
    write("tone_sphere_le.wav", sphere(sph_common + [("sample_byte_format", "s2", "01"),
                                                     ("sample_coding", "s3", "pcm")], s16))
    s16be = struct.pack(f">{len(inter)}h", *inter)
    write("tone_be.sph", sphere(sph_common + [("sample_byte_format", "s2", "10")], s16be))
    write("tone_shorten.sph", sphere(
        [("sample_count", "i", N), ("sample_rate", "i", SR), ("channel_count", "i", 1),
         ("sample_n_bytes", "i", 2), ("sample_byte_format", "s2", "01"),
         ("sample_coding", "s26", "pcm,embedded-shorten-v2.00")], b"ajkg" + bytes(60)))

    twin = os.path.join(HERE, "tone_s16.wav")
    short = ("-af", f"atrim=end_sample={M}")
    tmp = tempfile.mkdtemp()
    try:
        # G.711 through ffmpeg, and ffmpeg's own decoding as the reference
        for law in ("mulaw", "alaw"):
            ffmpeg(twin, os.path.join(HERE, f"tone_{law}.wav"), "-c:a", f"pcm_{law}", *short)
            ffmpeg(os.path.join(HERE, f"tone_{law}.wav"), os.path.join(HERE, f"tone_{law}_ref.wav"),
                   "-c:a", "pcm_s16le")
        raw = os.path.join(tmp, "ulaw.raw")
        ffmpeg(twin, raw, "-f", "mulaw", *short)
        with open(raw, "rb") as f:
            ulaw = f.read()
        write("tone_ulaw.sph", sphere(
            [("sample_count", "i", M), ("sample_rate", "i", SR), ("channel_count", "i", 2),
             ("sample_n_bytes", "i", 1), ("sample_coding", "s4", "ulaw")], ulaw))

        run("flac", "--best", "-s", "-f", "--no-padding", "--no-seektable", "-o",
            os.path.join(HERE, "tone.flac"), twin)
        ffmpeg(twin, os.path.join(HERE, "tone_alac.m4a"), "-c:a", "alac", *short)
        ffmpeg(twin, os.path.join(HERE, "tone.aiff"), "-c:a", "pcm_s16be", *short)
        ffmpeg(twin, os.path.join(HERE, "tone.mp3"), "-c:a", "libmp3lame", "-b:a", "96k")
        ffmpeg(twin, os.path.join(HERE, "tone.ogg"), "-c:a", "libvorbis", "-q:a", "4")
        ffmpeg(twin, os.path.join(HERE, "tone.m4a"), "-c:a", "aac", "-b:a", "96k")
        ffmpeg(twin, os.path.join(HERE, "tone.opus"), "-c:a", "libopus", "-b:a", "32k")
        # ffmpeg's decoding of each lossy file, the reference for the decoders
        for name in ("tone.mp3", "tone.ogg", "tone.m4a"):
            ffmpeg(os.path.join(HERE, name), os.path.join(HERE, name.replace(".", "_") + "_ref.wav"),
                   "-c:a", "pcm_s16le")
    finally:
        shutil.rmtree(tmp)

    # truncated and corrupt variants: each must give a clear error
    def read(name):
        with open(os.path.join(HERE, name), "rb") as f:
            return f.read()

    wav = riff_wav(1, 16, 2, s16)
    write("bad_trunc_header.wav", wav[:30])
    write("bad_trunc_data.wav", wav[: len(wav) // 2])
    # a data chunk claiming 2^32 - 2 bytes (about 2^31 samples) in a 16 kB file
    write("bad_huge.wav", wav[:40] + struct.pack("<I", 0xFFFFFFFE) + wav[44:])
    # an RF64 whose ds64 claims 2^40 bytes of data
    rf = bytearray(read("tone_rf64.wav"))
    rf[28:36] = struct.pack("<Q", 1 << 40)  # ds64's data size
    write("bad_huge_rf64.wav", bytes(rf))
    write("bad_bits.wav", riff_wav(1, 40, 5, bytes(5 * 2 * 200)))  # 40-bit PCM
    write("bad_format_tag.wav", riff_wav(0x55, 16, 2, s16))  # 0x55: MPEG layer 3 inside WAV
    nan = list(v / 32768 for v in inter)
    nan[2 * 500 + 1] = float("nan")  # right channel, frame 500
    write("bad_nan_right.wav", riff_wav(3, 32, 4, struct.pack(f"<{len(nan)}f", *nan)))
    inf = list(v / 32768 for v in inter)
    inf[2 * 17] = float("inf")  # left channel, frame 17
    write("bad_inf_left.wav", riff_wav(3, 64, 8, struct.pack(f"<{len(inf)}d", *inf)))
    sph = read("tone_be.sph")
    write("bad_trunc.sph", sph[: 1024 + 1000])
    write("bad_huge.sph", sph.replace(b"sample_count -i %d" % M, b"sample_count -i 1099511627776"))
    for name in ("tone.flac", "tone.mp3", "tone.ogg", "tone.m4a", "tone_alac.m4a", "tone.aiff"):
        data = read(name)
        write(f"bad_trunc_{name}", data[: len(data) * 6 // 10])
    flac = bytearray(read("tone.flac"))
    # flip bits in the middle of the frames: the frame CRCs must catch it
    mid = len(flac) // 2
    for i in range(mid, mid + 64):
        flac[i] ^= 0x5A
    write("bad_corrupt.flac", bytes(flac))
    write("bad_text.wav", b"this is not audio, just a text file with a .wav name\n")
    write("bad_empty.wav", b"")

    with open(os.path.join(HERE, "versions.json"), "w") as f:
        json.dump({"ffmpeg": version(["ffmpeg", "-version"]),
                   "flac": version(["flac", "--version"]),
                   "python": version(["python3", "--version"])}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
