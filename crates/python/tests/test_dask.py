"""craters.dask over a mosaic of shared tiles with overlap seams, on a LocalCluster of two
worker processes: exactly the detections of one `craters detect` over the whole mosaic,
for two chunk sizes; cached windows are reused."""
import math
import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

import craters
import craters.dask
from conftest import read_csv, read_pgm, rows, run, write_pgm

R = 3396190.0


@pytest.fixture(scope="module")
def mosaic(shared, tmp_path_factory):
    """Tiles 1_24, 1_25, 2_24, 2_25 in a 2 × 2 mosaic that overlap by 100 px (the later tile
    wins): 3,300² pixels, as GeoTIFF (equirectangular, 12.5 m/px, 48° W 5° N) and PGM."""
    tiles = [read_pgm(shared / "data" / "hrsc" / "tiles" / f"tile{t}.pgm") for t in ("1_24", "1_25", "2_24", "2_25")]
    side = 1700 * 2 - 100
    image = np.zeros((side, side), np.uint8)
    for tile, (y, x) in zip(tiles, [(0, 0), (0, 1600), (1600, 0), (1600, 1600)]):
        image[y:y + 1700, x:x + 1700] = tile
    folder = tmp_path_factory.mktemp("mosaic")
    write_pgm(folder / "mosaic.pgm", image)
    crs = "+proj=eqc +lat_ts=5 +lat_0=0 +lon_0=-48 +x_0=0 +y_0=0 +R=3396190 +units=m +no_defs"
    transform = Affine(12.5, 0, -side / 2 * 12.5, 0, -12.5, R * math.radians(5) + side / 2 * 12.5)
    with rasterio.open(folder / "mosaic.tif", "w", driver="GTiff", width=side, height=side, count=1,
                       dtype="uint8", crs=crs, transform=transform, tiled=True, blockxsize=256,
                       blockysize=256) as dst:
        dst.write(image, 1)
    return folder


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with Client(c) as client:
            yield client


@pytest.fixture(scope="module")
def whole(mosaic, craters_bin):
    """One `craters detect` over the whole georeferenced mosaic."""
    out = mosaic / "cli"
    run(craters_bin, "detect", mosaic / "mosaic.tif", "--out", out)
    return out


def hypotheses(found):
    h = found.attrs["hypotheses"] if hasattr(found, "attrs") else found["hypotheses"]
    return rows(h)


@pytest.mark.parametrize("chunk", [1000, 1400])
def test_a_mosaic_on_a_cluster_gives_the_whole_scan(mosaic, whole, cluster, chunk, tmp_path):
    out = tmp_path / "catalogue"
    found = craters.dask.detect_mosaic(mosaic / "mosaic.tif", chunk=chunk, client=cluster, out=out)
    cli = read_csv(whole / "craters.csv")
    assert len(cli) > 500
    # Every crater once: no crater lost or doubled at the seams or the chunk borders.
    assert rows(found) == [(r["x_px"], r["y_px"], r["r_px"], r["score"]) for r in cli]
    assert hypotheses(found) == [(r["x"], r["y"], r["r"], r["score"]) for r in read_csv(whole / "hypotheses.csv")]
    # The catalogue files are those of craters detect, byte for byte.
    for name in ["craters.csv", "craters.scc", "csfd.csv"]:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert (out / "mosaic_CRATER.shp").is_file()


def test_finished_windows_are_reused(mosaic, whole, cluster, tmp_path):
    cache = tmp_path / "cache"
    first = craters.dask.detect_mosaic(mosaic / "mosaic.tif", chunk=1400, client=cluster, cache=cache)
    files = sorted(cache.iterdir())
    assert len(files) == 9
    stamps = [f.stat().st_mtime_ns for f in files]
    again = craters.dask.detect_mosaic(mosaic / "mosaic.tif", chunk=1400, client=cluster, cache=cache)
    assert [f.stat().st_mtime_ns for f in sorted(cache.iterdir())] == stamps
    assert rows(again) == rows(first)


def test_arrays_and_bad_mosaics(mosaic, whole):
    image = read_pgm(mosaic / "mosaic.pgm")
    found = craters.dask.detect_mosaic(image, chunk=1700)
    assert rows(found) == [(r["x_px"], r["y_px"], r["r_px"], r["score"]) for r in read_csv(whole / "craters.csv")]
    # A dask array: each task is given its window as a slice of it.
    import dask.array
    lazy = craters.dask.detect_mosaic(dask.array.from_array(image, chunks=1024), chunk=1300)
    assert rows(lazy) == rows(found)
    with pytest.raises(ValueError, match="expected uint8"):
        craters.dask.detect_mosaic(image.astype(np.uint16))
    with pytest.raises(ValueError, match="chunk 0"):
        craters.dask.detect_mosaic(image, chunk=0)


def test_nodata_in_a_mosaic_as_craters_detect_treats_it(mosaic, craters_bin, tmp_path):
    # A 200-column nodata collar on the left and a corner cut away: craters there are
    # dropped and the counted area shrinks, as in one craters detect over the same GeoTIFF.
    image = read_pgm(mosaic / "mosaic.pgm").copy()
    image[:, :200] = 0
    rows_, cols_ = np.indices(image.shape)
    image[(image.shape[1] - 1 - cols_) + rows_ < 600] = 0
    path = tmp_path / "collar.tif"
    with rasterio.open(mosaic / "mosaic.tif") as src:
        profile = src.profile
    profile.update(nodata=0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(image, 1)
    run(craters_bin, "detect", path, "--out", tmp_path / "cli")
    found = craters.dask.detect_mosaic(path, chunk=1200, out=tmp_path / "dask")
    assert rows(found) == [(r["x_px"], r["y_px"], r["r_px"], r["score"]) for r in read_csv(tmp_path / "cli" / "craters.csv")]
    for name in ["craters.csv", "craters.scc", "csfd.csv"]:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    # The same from the array with its nodata value.
    again = craters.dask.detect_mosaic(image, chunk=1700, nodata=0)
    assert rows(again) == rows(found)
