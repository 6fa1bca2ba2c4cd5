//! `craters._craters`, the compiled half of the Python package `craters`: the Rust crater
//! detector on numpy arrays (the GIL released while it runs), the window-by-window scan
//! that `craters.dask` spreads over a cluster, and the catalogue writers.
//!
//! Every function computes with the same code as the `craters` command: `detect` is
//! `craters_detect::detect_placed`, so a numpy array gives the numbers `craters detect`
//! gives for the same pixels. Rust errors become `craters.CratersError` with the message
//! `craters detect` would print.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use craters_dataset::{GeoImage, PATCH_PIXELS, images_from_array};
use craters_detect::{
    CountedArea, DetectConfig, Detector, ImageWindow, NoProgress, Placement, ValidDetectConfig, catalogue,
    core_hypotheses, core_source, detect_placed, suppress_overlaps, write_catalogue_files,
};
use craters_metrics::detection::Detection;
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _craters,
    CratersError,
    PyException,
    "An error from craters' Rust core; the message names the input and what was expected."
);

fn error(e: impl std::fmt::Display) -> PyErr {
    CratersError::new_err(e.to_string())
}

/// The thread pool computations run on (`set_threads`); rayon's default without it.
static POOL: Mutex<Option<Arc<rayon::ThreadPool>>> = Mutex::new(None);

/// Runs `work` without the GIL, on the configured threads.
fn compute<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> T {
    let pool = POOL.lock().map(|p| p.clone()).unwrap_or(None);
    py.detach(move || match pool {
        Some(pool) => pool.install(work),
        None => work(),
    })
}

/// Threads the Rust core computes with (0: one per core, rayon's default).
#[pyfunction]
fn set_threads(threads: usize) -> PyResult<()> {
    let pool = if threads == 0 {
        None
    } else {
        Some(Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(error)?,
        ))
    };
    *POOL.lock().map_err(error)? = pool;
    Ok(())
}

/// Detection settings without a detector (for suppression): TOML text with the keys of
/// `craters detect --config` (unknown keys are errors), or the defaults.
fn settings(config: Option<&str>) -> PyResult<ValidDetectConfig> {
    parse_settings(config)?.unwrap_or_default().check().map_err(error)
}

/// TOML text with the keys of `craters detect --config`, read (unknown keys are errors).
fn parse_settings(config: Option<&str>) -> PyResult<Option<DetectConfig>> {
    config
        .map(|text| DetectConfig::from_toml(Path::new("config"), text).map_err(error))
        .transpose()
}

/// A 2-D numpy array of uint8, uint16, float32 or float64 samples as an image.
fn image_of(array: &Bound<'_, PyAny>, nodata: Option<f64>) -> PyResult<GeoImage> {
    fn from<T: numpy::Element + Copy + Into<f64>>(
        a: PyReadonlyArray2<'_, T>,
        kind: &str,
        nodata: Option<f64>,
    ) -> PyResult<GeoImage> {
        let (h, w) = (a.shape()[0], a.shape()[1]);
        let name = Path::new("array");
        match a.as_slice() {
            Ok(values) => GeoImage::from_samples(name, w, h, values, kind, nodata),
            Err(_) => {
                let values: Vec<T> = a.as_array().iter().copied().collect();
                GeoImage::from_samples(name, w, h, &values, kind, nodata)
            }
        }
        .map_err(error)
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, u8>>() {
        return from(a, "uint8", nodata);
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, u16>>() {
        return from(a, "uint16", nodata);
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, f32>>() {
        return from(a, "float32", nodata);
    }
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, f64>>() {
        return from(a, "float64", nodata);
    }
    Err(error(
        "image: expected a 2-D numpy array of uint8, uint16, float32 or float64 samples",
    ))
}

/// Detections as a dict of numpy columns `x`, `y`, `r`, `score` (and `diameter_km`).
fn columns<'py>(py: Python<'py>, found: &[Detection], placement: &Placement) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let column = |f: fn(&Detection) -> f64| PyArray1::from_vec(py, found.iter().map(f).collect());
    dict.set_item("x", column(|d| d.circle.x))?;
    dict.set_item("y", column(|d| d.circle.y))?;
    dict.set_item("r", column(|d| d.circle.r))?;
    dict.set_item("score", column(|d| d.score))?;
    if !matches!(placement, Placement::Pixels) {
        let rows = catalogue(found, placement);
        let d: Vec<f64> = rows.iter().map(|c| c.diameter_km.unwrap_or(f64::NAN)).collect();
        dict.set_item("diameter_km", PyArray1::from_vec(py, d))?;
    }
    Ok(dict)
}

/// Detections from numpy columns.
fn detections(x: &[f64], y: &[f64], r: &[f64], score: &[f64]) -> PyResult<Vec<Detection>> {
    if !(x.len() == y.len() && y.len() == r.len() && r.len() == score.len()) {
        return Err(error("x, y, r and score: expected columns of one length"));
    }
    Ok((0..x.len())
        .map(|i| Detection::new(x[i], y[i], r[i], score[i]))
        .collect())
}

/// A crater detector: the shipped one, or a model folder.
#[pyclass(module = "craters._craters", name = "Detector", frozen)]
struct PyDetector {
    /// Locked while it computes: the network keeps its dropout RNG in a `RefCell`, so it is
    /// sent to the computing thread, never shared.
    inner: Mutex<Detector>,
}

impl PyDetector {
    fn get(&self) -> PyResult<std::sync::MutexGuard<'_, Detector>> {
        self.inner
            .lock()
            .map_err(|_| error("the detector failed in an earlier call"))
    }

    /// The scan's settings as `craters detect` takes them: TOML text with its `--config`
    /// keys, else the defaults with the card's threshold and border margin; then `threshold`.
    fn settings(&self, config: Option<&str>, threshold: Option<f64>) -> PyResult<ValidDetectConfig> {
        let config = parse_settings(config)?;
        self.get()?.settings(config, threshold).map_err(error)
    }
}

#[pymethods]
impl PyDetector {
    /// `Detector()` is the shipped detector (models/hrsc-detector); `Detector(path)` the
    /// model folder at `path` (model.safetensors, config.json, optional card.toml).
    #[new]
    #[pyo3(signature = (model=None))]
    fn new(model: Option<PathBuf>) -> PyResult<Self> {
        let inner = match model {
            Some(dir) => Detector::load(&dir),
            None => Detector::shipped(),
        }
        .map_err(error)?;
        Ok(PyDetector {
            inner: Mutex::new(inner),
        })
    }

    /// Where the model came from.
    #[getter]
    fn source(&self) -> PyResult<String> {
        Ok(self.get()?.source.display().to_string())
    }

    /// The model card's operating threshold, if it has a card.
    #[getter]
    fn threshold(&self) -> PyResult<Option<f64>> {
        Ok(self.get()?.threshold())
    }

    /// The model card's ground sampling (metres per pixel), if it has a card.
    #[getter]
    fn ground_sampling_m(&self) -> PyResult<Option<f64>> {
        Ok(self.get()?.card.as_ref().map(|c| c.ground_sampling_m))
    }

    /// The craters on a 2-D image at score ≥ `threshold` (default: the card's), highest
    /// score first: the numbers `craters detect` gives for the same pixels. With
    /// `pixel_size` (metres), diameters in km too.
    #[pyo3(signature = (image, *, pixel_size=None, threshold=None, nodata=None, any_gsd=false, config=None))]
    #[allow(clippy::too_many_arguments)]
    fn detect<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        pixel_size: Option<f64>,
        threshold: Option<f64>,
        nodata: Option<f64>,
        any_gsd: bool,
        config: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let image = image_of(image, nodata)?;
        let config = self.settings(config, threshold)?;
        let placement = match pixel_size {
            Some(m) if m.is_finite() && m > 0.0 => Placement::Scale { metres_per_pixel: m },
            Some(m) => {
                return Err(error(format!(
                    "pixel_size {m}: expected a positive number of metres"
                )));
            }
            None => Placement::Pixels,
        };
        let placed = compute(py, || -> PyResult<_> {
            let detector = self.get()?;
            detect_placed(
                &detector,
                &image,
                &placement,
                any_gsd,
                &config,
                &NoProgress,
                Path::new("array"),
            )
            .map_err(error)
        })?;
        let found: Vec<Detection> = placed
            .detections
            .detections
            .into_iter()
            .filter(|d| d.score >= placed.config.threshold)
            .collect();
        columns(py, &found, &placement)
    }

    /// The image columns and rows `(c0, c1, r0, r1)` that scanning the core `(c0, c1, r0,
    /// r1)` of an image of `shape` (rows, columns) reads: the window a task loads.
    #[pyo3(signature = (shape, core, config=None))]
    fn core_source(
        &self,
        shape: (usize, usize),
        core: (usize, usize, usize, usize),
        config: Option<&str>,
    ) -> PyResult<(usize, usize, usize, usize)> {
        let config = self.settings(config, None)?;
        let (cols, rows) = core_source(
            &self.get()?.members,
            &config,
            (shape.1, shape.0),
            (core.0..core.1, core.2..core.3),
        )
        .map_err(error)?;
        Ok((cols.start, cols.end, rows.start, rows.end))
    }

    /// The hypotheses (before suppression) the core owns, scored from `window` (uint8, its
    /// top-left pixel at image column `x0`, row `y0`), and for each whether its crater
    /// disc touches a pixel of `nodata_mask` (a bool array of the window's shape, True =
    /// nodata): the part of a whole-image scan that this core contributes.
    #[pyo3(signature = (window, x0, y0, shape, core, nodata_mask=None, config=None))]
    #[allow(clippy::too_many_arguments)]
    fn core_hypotheses<'py>(
        &self,
        py: Python<'py>,
        window: PyReadonlyArray2<'py, u8>,
        x0: usize,
        y0: usize,
        shape: (usize, usize),
        core: (usize, usize, usize, usize),
        nodata_mask: Option<PyReadonlyArray2<'py, bool>>,
        config: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let config = self.settings(config, None)?;
        let (h, w) = (window.shape()[0], window.shape()[1]);
        let pixels: Vec<u8> = window.as_array().iter().copied().collect();
        let image = image::GrayImage::from_raw(w as u32, h as u32, pixels)
            .ok_or_else(|| error("window: bad shape"))?;
        let mask: Option<Vec<bool>> = nodata_mask.map(|m| m.as_array().iter().copied().collect());
        if mask.as_ref().is_some_and(|m| m.len() != w * h) {
            return Err(error("nodata_mask: expected the window's shape"));
        }
        let found = compute(py, || -> PyResult<_> {
            let view = ImageWindow {
                pixels: &image,
                x0,
                y0,
            };
            let detector = self.get()?;
            core_hypotheses(
                &detector.members,
                &view,
                (shape.1, shape.0),
                (core.0..core.1, core.2..core.3),
                &config,
            )
            .map_err(error)
        })?;
        let dict = columns(py, &found, &Placement::Pixels)?;
        let touches: Vec<bool> = found
            .iter()
            .map(|d| match &mask {
                None => false,
                Some(m) => disc_touches(m, w, h, x0, y0, d),
            })
            .collect();
        dict.set_item("on_nodata", PyArray1::from_vec(py, touches))?;
        Ok(dict)
    }

    /// Writes the catalogue files of `craters detect` (craters.csv, and with a placement
    /// craters.scc, the shapefile pair, csfd.csv and csfd.png) for detections (numpy
    /// columns, at the operating threshold) of an image of `shape` (rows, columns) into the
    /// new folder `out`. The image is placed by the GeoTIFF `georeference` (its tags alone
    /// are read) or by `pixel_size`; `row_spans` (rows × 3 int64) gives per image row the
    /// first and last column that hold data and how many do (0: none), for the counted area.
    /// Returns the files written.
    #[pyo3(signature = (out, x, y, r, score, shape, row_spans, georeference=None, pixel_size=None, name="mosaic", force=false))]
    #[allow(clippy::too_many_arguments)]
    fn write_catalogue<'py>(
        &self,
        py: Python<'py>,
        out: PathBuf,
        x: PyReadonlyArray1<'py, f64>,
        y: PyReadonlyArray1<'py, f64>,
        r: PyReadonlyArray1<'py, f64>,
        score: PyReadonlyArray1<'py, f64>,
        shape: (usize, usize),
        row_spans: PyReadonlyArray2<'py, i64>,
        georeference: Option<PathBuf>,
        pixel_size: Option<f64>,
        name: &str,
        force: bool,
    ) -> PyResult<Vec<String>> {
        let found = detections(x.as_slice()?, y.as_slice()?, r.as_slice()?, score.as_slice()?)?;
        let placement = match (&georeference, pixel_size) {
            (Some(path), None) => match craters_dataset::read_georeference_only(path).map_err(error)? {
                Some(g) => Placement::Georeferenced(g),
                None => Placement::Pixels,
            },
            (None, Some(m)) => Placement::Scale { metres_per_pixel: m },
            (None, None) => Placement::Pixels,
            (Some(_), Some(_)) => return Err(error("georeference and pixel_size: give one, not both")),
        };
        let spans = row_spans.as_array();
        if spans.shape() != [shape.0, 3] {
            return Err(error(
                "row_spans: expected one row (first, last, count) per image row",
            ));
        }
        let rows: Vec<Option<(usize, usize, usize)>> = spans
            .outer_iter()
            .map(|s| (s[2] > 0).then(|| (s[0].max(0) as usize, s[1].max(0) as usize, s[2] as usize)))
            .collect();
        let reliable_km = self
            .get()?
            .card
            .as_ref()
            .map_or(0.0, |c| c.smallest_reliable_diameter_m / 1000.0);
        compute(py, || {
            let area = CountedArea::from_spans(&rows, shape.1, &placement);
            let mut params = craters_dataset::OutputParams::new(&out).force(force);
            if let Some(g) = &georeference {
                params = params.input(g);
            }
            write_catalogue_files(params, name, &found, &area, &placement, reliable_km)
        })
        .map_err(error)
    }

    /// Crater probabilities of 48×48 patches: an array (N, 48, 48) or (N, 2304) of uint8
    /// (0–255) or floats (0–255 or 0–1), as `craters predict` reads them.
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        patches: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let np = py.import("numpy")?;
        let array = np.call_method1("asarray", (patches,))?;
        let shape: Vec<u64> = array
            .getattr("shape")?
            .extract::<Vec<usize>>()?
            .into_iter()
            .map(|d| d as u64)
            .collect();
        let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
        let values: Vec<f64> = array
            .call_method1("astype", ("float64",))?
            .call_method1("reshape", (-1,))?
            .extract::<PyReadonlyArray1<'py, f64>>()?
            .as_array()
            .to_vec();
        let npy = craters_dataset::NpyArray {
            shape,
            dtype: array.getattr("dtype")?.str()?.to_string(),
            kind: match kind.as_str() {
                "b" => craters_dataset::DtypeKind::Bool,
                "f" => craters_dataset::DtypeKind::Float,
                _ => craters_dataset::DtypeKind::Int,
            },
            values,
        };
        let name = Path::new("patches");
        let images = images_from_array(name, &npy).map_err(error)?;
        debug_assert_eq!(images.pixels.len() % PATCH_PIXELS, 0);
        let data = craters_dataset::Dataset::new(name, images.pixels, None).map_err(error)?;
        let p = compute(py, || -> PyResult<_> {
            self.get()?.predict_proba(&data).map_err(error)
        })?;
        Ok(PyArray1::from_vec(py, p))
    }
}

/// Whether the disc of `d` (image coordinates) covers a nodata pixel of the window.
fn disc_touches(mask: &[bool], w: usize, h: usize, x0: usize, y0: usize, d: &Detection) -> bool {
    let (cx, cy, r) = (d.circle.x - x0 as f64, d.circle.y - y0 as f64, d.circle.r);
    let (ya, yb) = (
        ((cy - r).floor() as i64).max(0),
        ((cy + r).ceil() as i64).min(h as i64 - 1),
    );
    let (xa, xb) = (
        ((cx - r).floor() as i64).max(0),
        ((cx + r).ceil() as i64).min(w as i64 - 1),
    );
    (ya..=yb).any(|py| {
        (xa..=xb).any(|px| {
            let (dx, dy) = (px as f64 - cx, py as f64 - cy);
            dx * dx + dy * dy <= r * r && mask[py as usize * w + px as usize]
        })
    })
}

/// Non-maximum suppression over detections given as numpy columns (the last step of a
/// whole-image scan): the survivors, highest score first.
#[pyfunction]
#[pyo3(signature = (x, y, r, score, config=None))]
fn suppress<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    r: PyReadonlyArray1<'py, f64>,
    score: PyReadonlyArray1<'py, f64>,
    config: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = settings(config)?;
    let all = detections(x.as_slice()?, y.as_slice()?, r.as_slice()?, score.as_slice()?)?;
    let kept = compute(py, || {
        suppress_overlaps(&all, config.nms_overlap, config.nms_radius_ratio)
    });
    columns(py, &kept, &Placement::Pixels)
}

/// The Python module.
#[pymodule]
fn _craters(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDetector>()?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(suppress, m)?)?;
    m.add("CratersError", m.py().get_type::<CratersError>())?;
    Ok(())
}
