"""Impact craters on Mars in orbital images: the Rust crater detector of the `craters`
command on numpy arrays, and (``craters.dask``) over whole mosaics on a Dask cluster.

>>> import craters, numpy as np
>>> det = craters.Detector()                    # the shipped detector (models/hrsc-detector)
>>> found = det.detect(image, pixel_size=12.5)  # doctest: +SKIP
>>> found["diameter_km"][:3]                    # doctest: +SKIP

``detect`` gives the numbers ``craters detect`` gives for the same pixels. Results are
numpy columns in a dict, or a pandas DataFrame when pandas is installed. Rust errors are
raised as ``craters.CratersError`` with the message the command would print. The GIL is
released while Rust computes; ``craters.set_threads(n)`` sets its threads.
"""

import os

# candle's own pool for large element-wise operations spins between jobs beside rayon's
# workers; with one thread it starts none (as the `craters` command does). Set before the
# native module first touches candle; a value the user set is kept.
os.environ.setdefault("CANDLE_NUM_THREADS", "1")

from . import _craters  # noqa: E402
from ._craters import CratersError, set_threads  # noqa: E402

__all__ = ["Detector", "CratersError", "set_threads", "suppress", "table"]


def table(columns):
    """A dict of numpy columns as a pandas DataFrame when pandas is installed, else as is."""
    try:
        import pandas
    except ImportError:
        return columns
    return pandas.DataFrame(columns)


class Detector:
    """A crater detector: ``Detector()`` is the shipped one, ``Detector(path)`` the model
    folder at ``path`` (model.safetensors, config.json, optional card.toml)."""

    def __init__(self, model=None):
        self._rust = _craters.Detector(None if model is None else str(model))

    @property
    def source(self):
        return self._rust.source

    @property
    def threshold(self):
        """The model card's operating threshold (None without a card)."""
        return self._rust.threshold

    @property
    def ground_sampling_m(self):
        """The model card's ground sampling in metres per pixel (None without a card)."""
        return self._rust.ground_sampling_m

    def detect(self, image, *, pixel_size=None, threshold=None, nodata=None, any_gsd=False, config=None):
        """Craters on a 2-D numpy array (uint8, uint16, float32 or float64) at score ≥
        ``threshold`` (default: the card's), highest score first: columns ``x``, ``y``,
        ``r`` (pixels), ``score``, and ``diameter_km`` with ``pixel_size`` (metres).
        ``config`` is TOML text with the keys of ``craters detect --config``; without it,
        the card's threshold and border margin apply, as in ``craters detect``."""
        return table(self._rust.detect(image, pixel_size=pixel_size, threshold=threshold,
                                       nodata=nodata, any_gsd=any_gsd, config=config))

    def predict_proba(self, patches):
        """Crater probabilities (float32) of 48×48 patches: (N, 48, 48) or (N, 2304),
        uint8 0–255 or floats 0–255 or 0–1."""
        return self._rust.predict_proba(patches)

    # The window-by-window scan that craters.dask spreads over a cluster.
    def core_source(self, shape, core, config=None):
        return self._rust.core_source(tuple(shape), tuple(core), config)

    def core_hypotheses(self, window, x0, y0, shape, core, nodata_mask=None, config=None):
        return self._rust.core_hypotheses(window, x0, y0, tuple(shape), tuple(core), nodata_mask, config)

    def write_catalogue(self, out, columns, shape, row_spans, *, georeference=None, pixel_size=None,
                        name="mosaic", force=False):
        import numpy as np
        c = {k: np.ascontiguousarray(columns[k], dtype=np.float64) for k in ("x", "y", "r", "score")}
        return self._rust.write_catalogue(str(out), c["x"], c["y"], c["r"], c["score"], tuple(shape),
                                          np.ascontiguousarray(row_spans, dtype=np.int64),
                                          None if georeference is None else str(georeference),
                                          pixel_size, name, force)


def suppress(columns, config=None):
    """Non-maximum suppression over hypotheses given as columns x, y, r, score."""
    import numpy as np
    c = {k: np.ascontiguousarray(columns[k], dtype=np.float64) for k in ("x", "y", "r", "score")}
    return _craters.suppress(c["x"], c["y"], c["r"], c["score"], config)
