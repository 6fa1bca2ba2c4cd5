#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpus (fuzz/corpus/<target>/seed-*): small valid and
nearly valid files of each kind. cargo fuzz grows the corpus from them; `cargo fuzz cmin`
keeps it small; the committed corpus is replayed by `cargo test` (tests/fuzz_corpus.rs).

    python3 fuzz/make_seeds.py MODEL_DIR   # a model folder (config.json + model.safetensors)

The geotiff corpus started from the GeoTIFF fixtures of tests/support/geotiff_fixtures.rs
(then GDAL-made) and is what `cargo fuzz cmin` kept of a 5-minute run.
"""

import pathlib
import struct
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def npy(descr, shape, data, fortran=False, version=1):
    shape_text = "(%s)" % ("".join(f"{d}," for d in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    pre = 10 if version == 1 else 12
    header += " " * ((64 - (pre + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + data


def png(width, height, rows, colour_type=0, depth=8):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + row for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def write(target, name, data):
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def main():
    patch = bytes(i % 251 for i in range(2304))
    write("npy", "u1", npy("|u1", (2, 2304), patch * 2))
    write("npy", "f4-3d", npy("<f4", (1, 48, 48), struct.pack("<2304f", *[i / 2304 for i in range(2304)])))
    write("npy", "labels-i8", npy("<i8", (3,), struct.pack("<3q", 0, 1, 1)))
    write("npy", "bool", npy("|b1", (2, 1), b"\x00\x01"))
    write("npy", "v2", npy("<u2", (1, 2304), struct.pack("<2304H", *range(2304)), version=2))
    write("npy", "fortran", npy("<f8", (2, 2), struct.pack("<4d", 0, 1, 0, 1), fortran=True))
    write("npy", "big-endian", npy(">f4", (2,), struct.pack(">2f", 0.0, 1.0)))
    write("npy", "truncated", npy("|u1", (4, 2304), patch))
    write("npy", "huge-shape", npy("|u1", (4294967296, 4294967296), b""))

    gray = [bytes((x * 16 + y) % 256 for x in range(16)) for y in range(16)]
    write("image", "pgm", b"P5\n16 16\n255\n" + b"".join(gray))
    write("image", "pgm-ascii", b"P2\n3 2\n255\n0 128 255\n255 128 0\n")
    write("image", "pgm-16bit", b"P5\n2 2\n65535\n" + struct.pack(">4H", 0, 1000, 40000, 65535))
    write("image", "png-gray", png(16, 16, gray))
    write("image", "png-rgb", png(4, 2, [bytes(range(12)), bytes(range(12, 24))], colour_type=2))
    write("image", "pgm-bomb", b"P5\n60000 60000\n255\n")
    write("image", "png-bomb", png(20000, 1, [b"\x00" * 20000])[:33] + png(1, 1, [b"\x00"])[33:])

    write("csv", "catalogue", b"10.5,20.25,16\n1200,33,120.5\n\n400,1699.9,18\n")
    write("csv", "candidates", b"12,40,35\n800,800,80\n")
    write("csv", "bad-row", b"10,20\n1e30,5,5\n")

    for path in sorted(pathlib.Path(__file__).resolve().parent.parent.glob("configs/*.toml")):
        write("config", path.stem, path.read_bytes())
    write("config", "detect", b"min_diameter = 20.0\nmax_diameter = 120.0\nlevels_per_octave = 3\nthreshold = 0.8\n"
          b"[matching]\nmax_centre_distance = 0.5\n")

    if len(sys.argv) > 1:
        model = pathlib.Path(sys.argv[1])
        card = (model / "config.json").read_bytes()
        weights = (model / "model.safetensors").read_bytes()
        write("model", "seed-cnn", struct.pack("<H", len(card)) + card + weights)
        write("model", "card-only", struct.pack("<H", len(card)) + card)


if __name__ == "__main__":
    main()
