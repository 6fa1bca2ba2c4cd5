"""The Python module on numpy arrays: the numbers of `craters detect`, errors as
exceptions, the GIL released, threads."""
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import rasterio

import craters
from conftest import read_csv, read_pgm, rows, run


@pytest.fixture(scope="module")
def detector():
    return craters.Detector()


def test_the_shipped_detector_has_its_card(detector):
    assert detector.source == "models/hrsc-detector"
    card = tomllib.loads((Path(__file__).parents[3] / "models" / "hrsc-detector" / "card.toml").read_text())
    assert detector.threshold == card["threshold"] and detector.ground_sampling_m == 12.5


def test_detect_gives_the_numbers_of_craters_detect(detector, shared, craters_bin, tmp_path):
    tile = shared / "data" / "hrsc" / "tiles" / "tile3_24.pgm"
    run(craters_bin, "detect", tile, "--out", tmp_path / "cli")
    cli = read_csv(tmp_path / "cli" / "craters.csv")
    found = detector.detect(read_pgm(tile))
    assert len(cli) > 100
    assert rows(found) == [(r["x_px"], r["y_px"], r["r_px"], r["score"]) for r in cli]


@pytest.mark.parametrize("name", ["uint16_nodata.tif", "float32_tiled_nodata.tif"])
def test_wider_samples_and_nodata_as_craters_detect_reads_them(detector, craters_bin, geotiffs, tmp_path, name):
    config = "min_diameter = 16.0\nmax_diameter = 32.0\nmin_score = 0.0\nthreshold = 0.5\n"
    settings = tmp_path / "detect.toml"
    settings.write_text(config)
    run(craters_bin, "detect", geotiffs / name, "--config", settings, "--out", tmp_path / "cli")
    cli = read_csv(tmp_path / "cli" / "craters.csv")
    with rasterio.open(geotiffs / name) as src:
        samples, nodata = src.read(1), src.nodata
    found = detector.detect(samples, nodata=nodata, config=config, pixel_size=12.5)
    assert len(cli) > 0
    assert rows(found) == [(r["x_px"], r["y_px"], r["r_px"], r["score"]) for r in cli]
    assert np.all(np.isfinite(np.asarray(found["diameter_km"])))


def test_bad_input_is_a_craters_error_with_the_message(detector):
    with pytest.raises(craters.CratersError, match="expected a 2-D numpy array"):
        detector.detect(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(craters.CratersError, match="expected a 2-D numpy array"):
        detector.detect(np.zeros((4, 4), np.int64))
    with pytest.raises(craters.CratersError, match="pixel_size -2"):
        detector.detect(np.zeros((200, 200), np.uint8), pixel_size=-2)
    with pytest.raises(craters.CratersError, match="100.000 m/px is 8.00"):
        detector.detect(np.zeros((200, 200), np.uint8), pixel_size=100)
    with pytest.raises(craters.CratersError, match="unknown field"):
        detector.detect(np.zeros((200, 200), np.uint8), config="min_diametr = 3")
    with pytest.raises(craters.CratersError, match="every pixel is nodata"):
        detector.detect(np.zeros((200, 200), np.uint16), nodata=0)
    with pytest.raises(craters.CratersError, match="config.json"):
        craters.Detector("/nonexistent-model")
    with pytest.raises(craters.CratersError, match="shape"):
        detector.predict_proba(np.zeros((3, 40, 40)))


def test_predict_proba_of_patches(detector, shared):
    tile = read_pgm(shared / "data" / "hrsc" / "tiles" / "tile3_24.pgm")
    patches = np.stack([tile[y:y + 48, x:x + 48] for y, x in [(0, 0), (500, 700), (1000, 90)]])
    p = detector.predict_proba(patches)
    assert p.dtype == np.float32 and p.shape == (3,)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_array_equal(p, detector.predict_proba(patches.reshape(3, -1) / 255.0))


def test_the_gil_is_released_and_threads_do_not_change_the_numbers(detector, shared):
    tile = read_pgm(shared / "data" / "hrsc" / "tiles" / "tile3_24.pgm")
    counted = []
    done = threading.Event()

    def count():
        n = 0
        while not done.is_set():
            n += 1
        counted.append(n)

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    craters.set_threads(1)
    one = detector.detect(tile)
    took = time.perf_counter() - started
    done.set()
    thread.join()
    # The counting thread ran all along: several million Python iterations per second of Rust.
    assert counted[0] > 100_000 * took, (counted, took)
    craters.set_threads(2)
    two = detector.detect(tile)
    craters.set_threads(0)
    assert rows(one) == rows(two)
