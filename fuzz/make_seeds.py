#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into fuzz/seeds/<target>/ (standard library only).

    python3 fuzz/make_seeds.py

The fuzzers start from these; what they find is minimized into fuzz/corpus/<target>/ (see
fuzz/README.md), which crates/innmf/tests/fuzz_corpus.rs replays on every test run.
"""
import io
import json
import os
import shutil
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
AUDIO = os.path.join(HERE, "..", "tests", "data", "audio")


def npy(descr, shape, values, version=1):
    """A .npy file: magic, version, header dict padded to 64 bytes, little-endian data."""
    fmt = {"<f8": "d", "<f4": "f", "<i8": "q", "<i4": "i", "|u1": "B", "|b1": "?"}[descr]
    shape_s = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_s)
    lead = 10 if version == 1 else 12
    pad = 64 - (lead + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + struct.pack(
        "<%d%s" % (len(values), fmt), *values)


def npz(arrays, deflate):
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in arrays:
            z.writestr(zipfile.ZipInfo(name + ".npy", (1980, 1, 1, 0, 0, 0)), data, method)
    return buf.getvalue()


def safetensors(tensors, meta):
    """A safetensors file: u64 header length, JSON header, then the tensor bytes."""
    header = {"__metadata__": meta}
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def model_seed(rank=1):
    """A rank-1 model: W implicit (width 2, depth 1, 1 octave), H explicit at 3 times."""
    width, depth, j = 2, 1, 1
    cfg_w = {"components": rank, "width": width, "depth": depth, "n_features": j, "omega": 1.0,
             "init": "pytorch", "axis": {"lo": 0.0, "hi": 8000.0, "scale": "linear"}}
    config = {"format": "innmf-model", "innmf_version": "0.1.0", "rank": rank,
              "w": {"kind": "implicit", "config": cfg_w}, "h": {"kind": "explicit", "n": 3},
              "training": {}}
    tensors = [("w.fourier_bias", "F32", [rank, j], f32([0.3] * rank * j))]
    shapes = [(2 * j, width)] + [(width, width)] * depth + [(width, 1)]
    for l, (fi, fo) in enumerate(shapes):
        tensors.append((f"w.layers.{l}.weight", "F32", [rank, fi, fo],
                        f32([0.1 * (i % 5 - 2) for i in range(rank * fi * fo)])))
        tensors.append((f"w.layers.{l}.bias", "F32", [rank, fo], f32([0.05] * rank * fo)))
    tensors.append(("h.theta", "F32", [rank, 3], f32([0.0, 1.0, -1.0] * rank)))
    tensors.append(("h.values", "F32", [rank, 3], f32([0.69, 1.31, 0.31] * rank)))
    tensors.append(("h.coords", "F64", [3], struct.pack("<3d", 0.0, 0.5, 1.0)))
    return safetensors(tensors, {"innmf": json.dumps(config)})


def main():
    seeds = os.path.join(HERE, "seeds")
    shutil.rmtree(seeds, ignore_errors=True)

    def put(target, name, data):
        d = os.path.join(seeds, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    for name in ("tone_u8.wav", "tone_rf64.wav", "tone_extf32.wav", "tone_mulaw.wav",
                 "tone_be.sph", "tone_ulaw.sph", "tone_shorten.sph", "tone.flac", "tone.mp3",
                 "tone.ogg", "tone.m4a", "tone_alac.m4a", "tone.aiff", "tone.opus"):
        with open(os.path.join(AUDIO, name), "rb") as f:
            put("audio_decode", name, f.read())

    put("npy", "f8_vector.npy", npy("<f8", [4], [0.0, 1.5, -2.0, 1e300]))
    put("npy", "f4_matrix.npy", npy("<f4", [2, 3], [1, 2, 3, 4, 5, 6]))
    put("npy", "i8.npy", npy("<i8", [3], [1, -2, 3]))
    put("npy", "i4_v2.npy", npy("<i4", [2, 1], [7, 8], version=2))
    put("npy", "u1.npy", npy("|u1", [3], [0, 128, 255]))
    put("npy", "b1_scalar.npy", npy("|b1", [], [True]))

    t, f, m = [0.0, 0.0, 0.1, 0.1], [100.0, 200.0, 100.0, 200.0], [1.0, 0.5, 0.25, 0.0]
    arrays = [("t", npy("<f8", [4], t)), ("f", npy("<f8", [4], f)), ("m", npy("<f4", [4], m))]
    put("points", "stored.npz", b"\0" + npz(arrays, False))
    put("points", "deflated.npz", b"\2" + npz(arrays, True))
    put("points", "points.csv", b"\1" + b"t,f,m\n0,100,1\n0,200,0.5\n0.1,100,0.25\n0.1,200,0\n")
    put("points", "spaces.csv", b"\3" + b" m , t ,f\n\n1e-3, 2.5e-1, 440\n")

    put("model", "rank1.safetensors", model_seed(1))
    put("model", "rank2.safetensors", model_seed(2))


if __name__ == "__main__":
    main()
