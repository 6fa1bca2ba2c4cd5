#!/usr/bin/env python3
"""Throughput of craters.dask.detect_mosaic with 1 and 2 Dask worker processes (one Rust
thread each), in alternating rounds, on a mosaic of the shared HRSC tiles.

  python tools/mosaic_throughput.py --tiles 3 --rounds 3 --chunk 2048 --work /tmp/throughput

Builds a TILES × TILES mosaic of the five shared tiles (repeated, 50-px overlaps) as a tiled
GeoTIFF, counts its windows with one `craters detect` (--craters BIN, optional), then times
detect_mosaic on a LocalCluster of 1 and of 2 workers, alternately, and prints the medians.
"""
import argparse
import math
import os
import statistics
import subprocess
import time

import numpy as np
import rasterio
from rasterio.transform import Affine

import craters
import craters.dask

R = 3396190.0


def read_pgm(path):
    data = open(path, "rb").read()
    magic, w, h, maxval, _ = data.split(maxsplit=4)
    w, h = int(w), int(h)
    return np.frombuffer(data[len(data) - w * h:], dtype=np.uint8).reshape(h, w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiles", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=2048)
    ap.add_argument("--work", default="/tmp/throughput")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--craters", help="the craters binary, to count the windows")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    names = ["1_24", "1_25", "2_24", "2_25", "3_24"]
    tiles = [read_pgm(os.path.join(a.shared, "data", "hrsc", "tiles", f"tile{n}.pgm")) for n in names]
    step = 1650
    side = step * (a.tiles - 1) + 1700
    image = np.zeros((side, side), np.uint8)
    for k in range(a.tiles * a.tiles):
        y, x = divmod(k, a.tiles)
        image[y * step:y * step + 1700, x * step:x * step + 1700] = tiles[k % len(tiles)]
    path = os.path.join(a.work, f"mosaic{side}.tif")
    crs = "+proj=eqc +lat_ts=5 +lat_0=0 +lon_0=-48 +x_0=0 +y_0=0 +R=3396190 +units=m +no_defs"
    transform = Affine(12.5, 0, -side / 2 * 12.5, 0, -12.5, R * math.radians(5) + side / 2 * 12.5)
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=1, dtype="uint8", crs=crs,
                       transform=transform, tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(image, 1)
    windows = None
    if a.craters:
        out = subprocess.run([a.craters, "detect", path, "--out", os.path.join(a.work, f"cli{time.time_ns()}")],
                             capture_output=True, text=True, check=True).stdout
        windows = int(out.split(": ", 1)[1].split(" windows")[0])
        print(out.splitlines()[0])
    from dask.distributed import Client, LocalCluster
    times = {1: [], 2: []}
    for _ in range(a.rounds):
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                client.run(craters.set_threads, 1)
                started = time.perf_counter()
                found = craters.dask.detect_mosaic(path, chunk=a.chunk, client=client)
                times[workers].append(time.perf_counter() - started)
    load = os.getloadavg()
    print(f"mosaic {side}² ({side * side / 1e6:.1f} Mpx), chunk {a.chunk}, {len(found['x'])} craters; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| workers | seconds: median (min–max) | Mpx/s | windows/s |")
    print("|---|---|---|---|")
    for workers, t in times.items():
        m = statistics.median(t)
        rate = f"{windows / m:,.0f}" if windows else "—"
        print(f"| {workers} | {m:.2f} ({min(t):.2f}–{max(t):.2f}) | {side * side / 1e6 / m:.2f} | {rate} |")


if __name__ == "__main__":
    main()
