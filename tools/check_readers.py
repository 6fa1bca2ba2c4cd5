#!/usr/bin/env python3
"""The independent readers' check of `craters detect`'s catalogue files (run in CI by
crates/cli/tests/independent_readers.rs, in the virtual environment .ci/run makes):

1. GDAL (rasterio) writes GeoTIFF crops of a shared HRSC tile: an 8-bit equirectangular
   one and a float32 sinusoidal one with a nodata collar (tools/make_geotiff.py).
2. `craters detect IMAGE --out DIR` runs on each, with no --model (the shipped detector).
3. Readers from their own packages open what it wrote and compare with craters.csv:
   - PROJ (pyproj), from the GeoTIFF's own CRS and transform as rasterio reads them:
     each crater's longitude and latitude, and its diameter from the ground distance of
     its pixel radius;
   - GDAL/OGR (pyogrio): the shapefile pair's CRS (a Mars sphere), its attributes, and
     each crater circle's centre and size;
   - craterstats: the .scc's counted area and diameters.

  python tools/check_readers.py --craters target/debug/craters --tile TILE.pgm --work DIR

Prints one line per check and ends with 'readers: N passed, M failed'; exits 1 on a failure.
"""
import argparse
import csv
import math
import os
import struct
import subprocess
import sys

import craterstats
import numpy as np
import pyogrio
import pyproj
import rasterio

R = 3396190.0
HERE = os.path.dirname(os.path.abspath(__file__))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def read_craters(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows


def ring_of_wkb(wkb):
    """The outer ring of a little-endian WKB polygon, as (lon, lat) pairs."""
    order = "<" if wkb[0] == 1 else ">"
    kind, rings = struct.unpack_from(order + "II", wkb, 1)
    assert kind % 1000 == 3, f"polygon expected, WKB type {kind}"
    n = struct.unpack_from(order + "I", wkb, 9)[0]
    return [struct.unpack_from(order + "dd", wkb, 13 + 16 * i) for i in range(n)]


def run_case(args, name, make_args):
    image = os.path.join(args.work, name + ".tif")
    out = os.path.join(args.work, name + "-out")
    subprocess.run([sys.executable, os.path.join(HERE, "make_geotiff.py"), args.tile, image]
                   + make_args, check=True, stdout=subprocess.DEVNULL)
    shown = subprocess.run([args.craters, "detect", image, "--out", out],
                           check=True, capture_output=True, text=True)
    print(shown.stdout.strip().splitlines()[0])
    rows = read_craters(os.path.join(out, "craters.csv"))
    check(f"{name}: craters found", len(rows) >= 5, f"{len(rows)} craters")

    # PROJ, from the GeoTIFF's own georeferencing.
    with rasterio.open(image) as src:
        crs = pyproj.CRS.from_wkt(src.crs.to_wkt())
        transform = src.transform
        nodata, band = src.nodata, src.read(1)
    to_geo = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    geod = pyproj.Geod(a=R, b=R)
    # craters.csv rounds pixel positions and radii to 0.01 px: the comparisons allow that.
    worst_deg, worst_d, raw_d = 0.0, -1.0, 0.0
    for r in rows:
        x, y, rad = float(r["x_px"]), float(r["y_px"]), float(r["r_px"])
        lon, lat = to_geo.transform(*(transform * (x + 0.5, y + 0.5)))
        worst_deg = max(worst_deg, abs(lon - float(r["lon"])), abs(lat - float(r["lat"])))
        # Ground metres per pixel at the centre: geometric mean of a row and a column step.
        a = to_geo.transform(*(transform * (x, y + 0.5)))
        b = to_geo.transform(*(transform * (x + 1, y + 0.5)))
        c = to_geo.transform(*(transform * (x + 0.5, y)))
        d = to_geo.transform(*(transform * (x + 0.5, y + 1)))
        step = math.sqrt(geod.inv(*a, *b)[2] * geod.inv(*c, *d)[2])
        diameter = 2 * rad * step / 1000
        relative = abs(diameter / float(r["diameter_km"]) - 1)
        raw_d = max(raw_d, relative)
        worst_d = max(worst_d, relative - 0.005 / rad)
    # 0.005 px of 12.5 m is 1.05e-6° of a 3,396 km sphere's great circle.
    check(f"{name}: PROJ longitude/latitude", worst_deg < 1.2e-6,
          f"largest difference {worst_deg:.2e}° (≤ 0.005 px of rounding)")
    check(f"{name}: PROJ diameters", worst_d < 1e-5,
          f"largest relative difference {raw_d:.2e}, {worst_d:+.2e} beyond the 0.005-px rounding of r_px")

    # GDAL/OGR: the shapefile pair.
    stem = os.path.join(out, name)
    info = pyogrio.read_info(stem + "_CRATER.shp")
    layer_crs = pyproj.CRS.from_wkt(info["crs"])
    check(f"{name}: shapefile CRS is a geographic Mars sphere",
          layer_crs.is_geographic and abs(layer_crs.ellipsoid.semi_major_metre - R) < 1
          and layer_crs.ellipsoid.inverse_flattening == 0, layer_crs.name)
    _, _, geometry, fields = pyogrio.raw.read(stem + "_CRATER.shp")
    names = list(info["fields"])
    diam, xs, ys = (np.asarray(fields[names.index(k)]) for k in ("Diam_km", "x_coord", "y_coord"))
    check(f"{name}: shapefile holds every crater", len(diam) == len(rows), f"{len(diam)} features")
    same = all(abs(diam[i] - float(r["diameter_km"])) < 1e-6 and abs(xs[i] - float(r["lon"])) < 1e-8
               and abs(ys[i] - float(r["lat"])) < 1e-8 for i, r in enumerate(rows))
    check(f"{name}: shapefile attributes equal craters.csv", same)
    worst_c, worst_r = 0.0, 0.0
    for i, r in enumerate(rows):
        ring = ring_of_wkb(geometry[i])[:-1]
        lon0, lat0 = float(r["lon"]), float(r["lat"])
        dists = [geod.inv(lon0, lat0, lon, lat)[2] for lon, lat in ring]
        worst_r = max(worst_r, max(abs(d / (500 * float(r["diameter_km"])) - 1) for d in dists))
        mean_lon = sum(p[0] for p in ring) / len(ring)
        mean_lat = sum(p[1] for p in ring) / len(ring)
        worst_c = max(worst_c, geod.inv(lon0, lat0, mean_lon, mean_lat)[2] / (500 * float(r["diameter_km"])))
    check(f"{name}: crater circles centred on their craters", worst_c < 0.01,
          f"largest offset {worst_c:.2e} radii")
    check(f"{name}: crater circles of their diameters", worst_r < 1e-5,
          f"largest radius error {worst_r:.2e}")
    area_info = pyogrio.read_info(stem + "_AREA.shp")
    _, _, area_geometry, area_fields = pyogrio.raw.read(stem + "_AREA.shp")
    ring = ring_of_wkb(area_geometry[0])
    lons, lats = zip(*ring)
    geodesic_area = abs(geod.polygon_area_perimeter(lons, lats)[0]) / 1e6
    area_km2 = float(area_fields[list(area_info["fields"]).index("Area_km2")][0])

    # craterstats: the .scc.
    count = craterstats.Cratercount(os.path.join(out, "craters.scc"))
    check(f"{name}: craterstats reads the .scc",
          len(count.diam) == len(rows)
          and np.allclose(sorted(count.diam), sorted(float(r["diameter_km"]) for r in rows), atol=1e-6),
          f"{len(count.diam)} craters, {count.area:.3f} km²")
    # The counted area: the pixels that hold data, each of the ground area PROJ gives it.
    valid = band != nodata if nodata is not None else np.ones(band.shape, bool)
    rows_valid = valid.sum(axis=1)
    x_mid = (band.shape[1] - 1) / 2
    area = 0.0
    for y, n in enumerate(rows_valid):
        if n:
            corners = [to_geo.transform(*(transform * (x_mid + dx, y + dy)))
                       for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1))]
            cl, ca = zip(*corners)
            area += n * abs(geod.polygon_area_perimeter(cl, ca)[0]) / 1e6
    check(f"{name}: counted area (.scc, AREA.shp) equals PROJ's pixel areas",
          abs(count.area / area - 1) < 1e-4 and abs(area_km2 / area - 1) < 1e-4,
          f".scc {count.area:.4f}, AREA.shp {area_km2:.4f}, PROJ {area:.4f} km²")
    check(f"{name}: AREA.shp outline encloses the counted area",
          0.99 < geodesic_area / area < 1.02, f"outline {geodesic_area:.4f} km²")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--craters", required=True)
    ap.add_argument("--tile", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    print(f"craterstats {craterstats.__version__ if hasattr(craterstats, '__version__') else '?'}, "
          f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__}), "
          f"pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str}), rasterio {rasterio.__version__}")
    run_case(args, "equirectangular", ["--crop", "400", "400", "640", "640"])
    run_case(args, "sinusoidal", ["--crop", "400", "400", "640", "640", "--projection", "sinusoidal",
                                  "--dtype", "float32", "--nodata-collar", "60", "--lon", "137.4",
                                  "--lat", "-4.6"])
    failed = results.count(False)
    print(f"readers: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
