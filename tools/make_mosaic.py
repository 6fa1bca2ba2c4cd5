#!/usr/bin/env python3
"""Writes a big 8-bit PGM mosaic of the shared HRSC tiles, for timing `craters detect` on
images larger than a tile (tiles repeated in a grid, cycling through the five, then cut to
the requested size). Standard library only; streams row by row.

    python3 tools/make_mosaic.py --side 6800 --out /tmp/mosaic16.pgm   # 16 tiles
    python3 tools/make_mosaic.py --side 20000 --out /tmp/mosaic20k.pgm
"""
import argparse
import os

TILES = ["1_24", "1_25", "2_24", "2_25", "3_24"]


def read_pgm(path):
    data = open(path, "rb").read()
    magic, size, maxval, pixels = data.split(b"\n", 3)
    width, height = map(int, size.split())
    assert magic == b"P5" and maxval == b"255" and len(pixels) == width * height, path
    return width, height, pixels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/data/hrsc")
    parser.add_argument("--side", type=int, required=True, help="mosaic width and height, pixels")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tiles = [read_pgm(os.path.join(args.root, "tiles", f"tile{t}.pgm")) for t in TILES]
    w, h, _ = tiles[0]
    assert all(t[0] == w and t[1] == h for t in tiles)
    n = -(-args.side // w)
    tmp = args.out + ".part"
    with open(tmp, "wb") as out:
        out.write(b"P5\n%d %d\n255\n" % (args.side, args.side))
        for y in range(args.side):
            ty, row = divmod(y, h)
            line = b"".join(
                tiles[(ty * n + tx) % len(tiles)][2][row * w:(row + 1) * w] for tx in range(n)
            )
            out.write(line[: args.side])
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
