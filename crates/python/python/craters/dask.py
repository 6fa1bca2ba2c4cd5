"""Crater detection over mosaics larger than one machine, scheduled by Dask.

``detect_mosaic(source, chunk=…, client=None)`` cuts the mosaic into core rectangles of
``chunk`` pixels. Each Dask task reads its core with the margin the largest detection
window needs (``Detector.core_source``: a GeoTIFF or VRT is read in windows with rasterio,
an array is sliced), runs the Rust detector in-process on it, and returns the crater
hypotheses whose windows the core owns (every window of the mosaic belongs to exactly one
core, half-open bounds). The client concatenates them and applies the one step that needs
them all, the non-maximum suppression (``craters.suppress``): the result is exactly the
detections of one ``craters detect`` over the whole mosaic, whatever the chunk and the
number of workers. Nothing here schedules: the same call runs on a ``LocalCluster``, a
``dask-jobqueue`` Slurm/PBS cluster or Kubernetes (pass its ``Client``).

With ``cache`` (a folder), each finished window's result is written there atomically (one
``.npz`` file per window, named by the mosaic, the core, the model and the settings), so a
rerun after a failure computes only the windows that are missing; Dask itself retries a
failed task (``retries``).

Samples must be uint8 (convert wider mosaics first, e.g. ``gdal_translate -ot Byte
-scale``); nodata pixels (the source's nodata value) are filled with the mosaic's mean valid
value, as ``craters detect`` fills them, and a crater whose disc touches one is dropped.
The settings are used as given: resample a mosaic far from the detector's ground sampling
(``Detector.ground_sampling_m``) before scanning it.
"""

import functools
import hashlib
import os
import tempfile

import numpy as np

import craters

__all__ = ["detect_mosaic", "cores"]


def cores(shape, chunk):
    """The core rectangles ``(c0, c1, r0, r1)`` of ``chunk`` pixels that partition an image
    of ``shape`` (rows, columns), row by row."""
    h, w = shape
    if chunk < 1:
        raise ValueError(f"chunk {chunk}: expected a positive number of pixels")
    return [(c0, min(c0 + chunk, w), r0, min(r0 + chunk, h))
            for r0 in range(0, h, chunk) for c0 in range(0, w, chunk)]


class _Source:
    """A mosaic: a GeoTIFF/VRT path (read in windows by each task) or a numpy array."""

    def __init__(self, source):
        if isinstance(source, (str, os.PathLike)):
            import rasterio
            self.path, self.array = os.fspath(source), None
            with rasterio.open(self.path) as src:
                self.shape, self.dtype, self.nodata = (src.height, src.width), src.dtypes[0], src.nodata
        else:
            self.path, self.array = None, source
            self.shape, self.dtype, self.nodata = tuple(source.shape), str(source.dtype), None
        if len(self.shape) != 2:
            raise ValueError(f"mosaic: expected one band (2-D), found shape {self.shape}")
        if self.dtype != "uint8":
            raise ValueError(f"mosaic: {self.dtype} samples; expected uint8 (convert with "
                             "gdal_translate -ot Byte -scale)")

    @classmethod
    def shape_only(cls, source):
        """The description without the pixels (tasks are sent their windows)."""
        copy = cls.__new__(cls)
        copy.path, copy.array = None, None
        copy.shape, copy.dtype, copy.nodata = source.shape, source.dtype, source.nodata
        return copy

    def read(self, c0, c1, r0, r1):
        if self.path is None:
            return np.asarray(self.array[r0:r1, c0:c1])
        import rasterio
        from rasterio.windows import Window
        with rasterio.open(self.path) as src:
            return src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))

    def key(self):
        if self.path is not None:
            st = os.stat(self.path)
            return f"{os.path.abspath(self.path)}:{st.st_size}:{st.st_mtime_ns}"
        return hashlib.sha256(np.ascontiguousarray(self.array).tobytes()).hexdigest()


@functools.lru_cache(maxsize=4)
def _detector(model):
    return craters.Detector(model)


def _valid_sum(source, core):
    """Sum and count of the core's valid pixels (for the nodata fill value)."""
    c0, c1, r0, r1 = core
    pixels = source.read(c0, c1, r0, r1)
    valid = pixels != source.nodata
    return int(pixels[valid].sum(dtype=np.int64)), int(valid.sum())


def _scan(source, model, config, core, fill, cache, window=None):
    """One task: the hypotheses the core owns and its rows' spans of data. ``window`` is the
    core's source window when the client sliced it (an array mosaic); else it is read."""
    if cache is not None and os.path.exists(cache):
        with np.load(cache) as saved:
            return {k: saved[k] for k in saved.files}
    detector = _detector(model)
    c0, c1, r0, r1 = core
    wc0, wc1, wr0, wr1 = detector.core_source(source.shape, core, config)
    if window is None:
        window = source.read(wc0, wc1, wr0, wr1)
    window = np.ascontiguousarray(window, dtype=np.uint8)
    mask = None
    if source.nodata is not None:
        mask = window == source.nodata
        window = window.copy()
        window[mask] = fill
    found = detector.core_hypotheses(window, wc0, wr0, source.shape, core, mask, config)
    result = {k: np.asarray(v) for k, v in found.items()}
    # Each core row's first and last column holding data, and how many do (counted area).
    core_valid = (~mask[r0 - wr0:r1 - wr0, c0 - wc0:c1 - wc0] if mask is not None
                  else np.ones((r1 - r0, c1 - c0), bool))
    counts = core_valid.sum(axis=1)
    first = np.where(counts > 0, core_valid.argmax(axis=1) + c0, -1)
    last = np.where(counts > 0, c1 - 1 - core_valid[:, ::-1].argmax(axis=1), -1)
    result["spans"] = np.stack([first, last, counts], axis=1).astype(np.int64)
    if cache is not None:
        fd, part = tempfile.mkstemp(dir=os.path.dirname(cache), suffix=".part.npz")
        os.close(fd)
        np.savez(part, **result)
        os.replace(part, cache)
    return result


def _threshold(detector, config):
    """As craters detect: the settings' threshold when settings are given, else the card's,
    else the default 0.9."""
    if config is not None:
        import tomllib
        return float(tomllib.loads(config).get("threshold", 0.9))
    return detector.threshold if detector.threshold is not None else 0.9


def detect_mosaic(source, chunk=2048, client=None, *, model=None, config=None, threshold=None,
                  nodata=None, out=None, pixel_size=None, cache=None, retries=2, force=False):
    """Craters on a whole mosaic, window by window on Dask: the same detections as one
    ``craters detect`` over it. ``source``: a GeoTIFF/VRT path or a 2-D uint8 array;
    ``chunk``: core side in pixels; ``client``: a ``dask.distributed.Client`` (default: the
    current one, else Dask's threaded scheduler); ``model``: a model folder (default: the
    shipped detector); ``config``: TOML text of detection settings; ``threshold``: default
    the card's. With ``out``, writes the catalogue files of ``craters detect`` there
    (longitude, latitude and km from the GeoTIFF's georeferencing, or km from
    ``pixel_size``). ``nodata``: the nodata value (default: the GeoTIFF's). Returns the
    detections (a DataFrame with pandas, else numpy columns),
    with ``hypotheses`` (every detection before the threshold) in ``.attrs`` or as a key.
    """
    import dask

    mosaic = _Source(source)
    if nodata is not None:
        mosaic.nodata = nodata
    detector = _detector(model)
    if threshold is None:
        threshold = _threshold(detector, config)
    parts = cores(mosaic.shape, chunk)
    compute = client.compute if client is not None else None

    def run(tasks):
        if compute is not None:
            return client.gather(compute(tasks, retries=retries))
        return dask.compute(*tasks)

    fill = 0
    if mosaic.nodata is not None:
        if mosaic.path is None:
            valid = np.asarray(mosaic.array) != mosaic.nodata
            total, count = int(np.asarray(mosaic.array)[valid].sum(dtype=np.int64)), int(valid.sum())
        else:
            sums = run([dask.delayed(_valid_sum)(mosaic, core) for core in parts])
            total, count = map(sum, zip(*sums))
        if count == 0:
            raise craters.CratersError(f"{source}: every pixel is nodata; nothing to detect craters on")
        fill = int(np.floor(total / count + 0.5))
    key = hashlib.sha256(f"{mosaic.key()}|{model}|{config}|{fill}".encode()).hexdigest()[:16]
    if cache is not None:
        os.makedirs(cache, exist_ok=True)
    paths = [None if cache is None else os.path.join(cache, f"{key}-{c0}-{c1}-{r0}-{r1}.npz")
             for c0, c1, r0, r1 in parts]
    # An array mosaic is sliced here, so each task is sent its window, not the mosaic.
    task_source = mosaic if mosaic.path is not None else _Source.shape_only(mosaic)

    def window(core):
        if mosaic.path is not None:
            return None
        wc0, wc1, wr0, wr1 = detector.core_source(mosaic.shape, core, config)
        return mosaic.array[wr0:wr1, wc0:wc1]

    results = run([dask.delayed(_scan, pure=True)(task_source, model, config, core, fill, path, window(core))
                   for core, path in zip(parts, paths)])

    merged = {k: np.concatenate([r[k] for r in results]) for k in ("x", "y", "r", "score", "on_nodata")}
    kept = craters.suppress(merged, config)
    # Craters on nodata are dropped after the suppression, as craters detect drops them.
    on_nodata = {(x, y, r, s) for x, y, r, s, n in zip(merged["x"], merged["y"], merged["r"],
                                                          merged["score"], merged["on_nodata"]) if n}
    keep = np.array([(x, y, r, s) not in on_nodata
                     for x, y, r, s in zip(kept["x"], kept["y"], kept["r"], kept["score"])], bool)
    hypotheses = {k: np.asarray(v)[keep] for k, v in kept.items()}
    at = hypotheses["score"] >= threshold
    found = {k: v[at] for k, v in hypotheses.items()}

    if out is not None:
        spans = np.full((mosaic.shape[0], 3), [-1, -1, 0], np.int64)
        for (c0, c1, r0, r1), r in zip(parts, results):
            s = r["spans"]
            rows = spans[r0:r1]
            has = s[:, 2] > 0
            rows[has, 0] = np.where(rows[has, 2] > 0, np.minimum(rows[has, 0], s[has, 0]), s[has, 0])
            rows[has, 1] = np.maximum(rows[has, 1], s[has, 1])
            rows[:, 2] += s[:, 2]
        name = os.path.splitext(os.path.basename(mosaic.path))[0] if mosaic.path else "mosaic"
        detector.write_catalogue(out, found, mosaic.shape, spans,
                                 georeference=mosaic.path if pixel_size is None else None,
                                 pixel_size=pixel_size, name=name, force=force)
    result = craters.table(found)
    if hasattr(result, "attrs"):
        result.attrs["hypotheses"] = hypotheses
    else:
        result["hypotheses"] = hypotheses
    return result
