#!/usr/bin/env python3
"""Writes a map-projected GeoTIFF of a PGM tile with GDAL (through rasterio): the input
for `craters detect` that real planetary products look like, made by the tool that makes
them. Used by the CI readers check (tools/check_readers.py) and for the small committed
fixtures in crates/dataset/tests/fixtures (see their README).

  python tools/make_geotiff.py TILE.pgm OUT.tif [--lon -48 --lat 5 --pixel 12.5]
      [--projection equirectangular|sinusoidal|geographic] [--dtype uint8|uint16|float32]
      [--nodata-collar N] [--tiled] [--crop X0 Y0 W H]

The image centre lies at (--lon, --lat) on the IAU 2015 Mars sphere (3,396,190 m); an
equirectangular map has its standard parallel through the centre. uint16 samples are
10 × gray + 1000, float32 ones gray / 255 (a reflectance-like scale). --nodata-collar
sets an N-pixel band on the left and a triangle at the top right to the nodata value,
as map-projected strips have. Writes OUT.part and renames it (an existing OUT is replaced).
"""
import argparse
import math
import os

import numpy as np
import rasterio
from rasterio.transform import Affine

R = 3396190.0


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    assert parts[0] == b"P5" and parts[3] == b"255", "expected an 8-bit binary PGM"
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(data[pos + 1 : pos + 1 + w * h], dtype=np.uint8).reshape(h, w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tile")
    ap.add_argument("out")
    ap.add_argument("--lon", type=float, default=-48.0)
    ap.add_argument("--lat", type=float, default=5.0)
    ap.add_argument("--pixel", type=float, default=12.5)
    ap.add_argument("--projection", default="equirectangular",
                    choices=["equirectangular", "sinusoidal", "geographic",
                             # for the bad-input fixtures:
                             "mercator", "earth", "none"])
    ap.add_argument("--dtype", default="uint8", choices=["uint8", "uint16", "float32"])
    ap.add_argument("--nodata-collar", type=int, default=0)
    ap.add_argument("--tiled", action="store_true")
    ap.add_argument("--crop", type=int, nargs=4, metavar=("X0", "Y0", "W", "H"))
    a = ap.parse_args()

    gray = read_pgm(a.tile)
    if a.crop:
        x0, y0, w, h = a.crop
        gray = gray[y0 : y0 + h, x0 : x0 + w]
    h, w = gray.shape
    if a.dtype == "uint8":
        data, nodata = gray.copy(), 0
    elif a.dtype == "uint16":
        data, nodata = gray.astype(np.uint16) * 10 + 1000, 0
    else:
        data, nodata = gray.astype(np.float32) / 255.0, -3.4028234663852886e38
    if a.nodata_collar:
        n = a.nodata_collar
        data[:, :n] = nodata
        rows, cols = np.indices(data.shape)
        data[(w - 1 - cols) + rows < n] = nodata
    if a.projection == "none":
        crs, transform = None, None
    elif a.projection == "earth":
        crs = "EPSG:4326"
        step = math.degrees(a.pixel / 6378137.0)
        transform = Affine(step, 0, a.lon - w / 2 * step, 0, -step, a.lat + h / 2 * step)
    elif a.projection == "mercator":
        crs = f"+proj=merc +lon_0={a.lon} +R={R:.0f} +units=m +no_defs"
        transform = Affine(a.pixel, 0, -w / 2 * a.pixel, 0, -a.pixel, h / 2 * a.pixel)
    elif a.projection == "geographic":
        crs = f"+proj=longlat +R={R:.0f} +no_defs"
        step = math.degrees(a.pixel / R)
        transform = Affine(step, 0, a.lon - w / 2 * step, 0, -step, a.lat + h / 2 * step)
    else:
        if a.projection == "equirectangular":
            crs = f"+proj=eqc +lat_ts={a.lat} +lat_0=0 +lon_0={a.lon} +x_0=0 +y_0=0 +R={R:.0f} +units=m +no_defs"
        else:
            crs = f"+proj=sinu +lon_0={a.lon} +x_0=0 +y_0=0 +R={R:.0f} +units=m +no_defs"
        yc = R * math.radians(a.lat)
        transform = Affine(a.pixel, 0, -w / 2 * a.pixel, 0, -a.pixel, yc + h / 2 * a.pixel)
    profile = dict(driver="GTiff", width=w, height=h, count=1, dtype=a.dtype,
                   nodata=nodata if a.nodata_collar else None)
    if crs is not None:
        profile.update(crs=crs, transform=transform)
    if a.tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    part = a.out + ".part"
    with rasterio.open(part, "w", **profile) as dst:
        dst.write(data, 1)
    os.replace(part, a.out)
    print(f"wrote {a.out}: {w}x{h} {a.dtype} {a.projection}, centre {a.lon}, {a.lat}, {a.pixel} m/px")


if __name__ == "__main__":
    main()
