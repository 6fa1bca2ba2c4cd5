"""Shared fixtures: the shared HRSC data beside the checkout, the `craters` binary
(CRATERS_BIN, which .ci/run sets), and PGM/GeoTIFF helpers. In CI (CI set) what is missing
fails the tests; elsewhere they are skipped with the reason."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"


def need(thing, why):
    if os.environ.get("CI"):
        pytest.fail(f"{why} is missing; CI must have it")
    pytest.skip(f"{why} is absent")


@pytest.fixture(scope="session")
def shared():
    if not SHARED.is_dir():
        need(SHARED, str(SHARED))
    return SHARED


@pytest.fixture(scope="session")
def craters_bin():
    path = os.environ.get("CRATERS_BIN")
    if not path or not os.path.exists(path):
        need(path, "CRATERS_BIN (the craters binary)")
    return path


def read_pgm(path):
    data = pathlib.Path(path).read_bytes()
    magic, w, h, maxval, _ = data.split(maxsplit=4)
    assert magic == b"P5" and maxval == b"255"
    w, h = int(w), int(h)
    return np.frombuffer(data[len(data) - w * h:], dtype=np.uint8).reshape(h, w)


def write_pgm(path, array):
    h, w = array.shape
    pathlib.Path(path).write_bytes(b"P5\n%d %d\n255\n" % (w, h) + np.ascontiguousarray(array, np.uint8).tobytes())


def run(craters_bin, *args):
    done = subprocess.run([craters_bin, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def read_csv(path):
    lines = pathlib.Path(path).read_text().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


def rows(columns, decimals=(2, 2, 2, 6)):
    """Detections as craters.csv writes their pixel columns and score."""
    keys = ("x", "y", "r", "score")
    return [tuple(f"{float(columns[k][i]):.{d}f}" for k, d in zip(keys, decimals))
            for i in range(len(columns["x"]))]


@pytest.fixture(scope="session")
def geotiffs(shared, tmp_path_factory):
    """GeoTIFFs written by GDAL (tools/make_geotiff.py): 160 × 120 crops of tile 3_24 as
    uint16 (striped) and float32 (tiled), each with a 20-px nodata collar."""
    folder = tmp_path_factory.mktemp("geotiffs")
    tile = shared / "data" / "hrsc" / "tiles" / "tile3_24.pgm"
    for name, extra in [("uint16_nodata.tif", ["--dtype", "uint16"]),
                        ("float32_tiled_nodata.tif", ["--dtype", "float32", "--tiled"])]:
        subprocess.run([sys.executable, str(ROOT / "tools" / "make_geotiff.py"), str(tile), str(folder / name),
                        "--crop", "700", "800", "160", "120", "--nodata-collar", "20", *extra],
                       check=True, stdout=subprocess.DEVNULL)
    return folder
