//! The in-memory data set and the conversion of npy arrays into images and labels.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::npy::{DtypeKind, NpyArray, read_npy};

/// Side of a patch in pixels.
pub const PATCH_SIDE: usize = 48;
/// Pixels in one patch (48 × 48).
pub const PATCH_PIXELS: usize = PATCH_SIDE * PATCH_SIDE;

/// How stored pixel values were mapped to `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelScale {
    /// Integer pixels in 0..=255, divided by 255.
    Integer255,
    /// Float pixels whose maximum exceeds 1 (range [0, 255]), divided by 255.
    Float255,
    /// Float pixels already in [0, 1], kept as they are.
    FloatUnit,
}

impl PixelScale {
    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            PixelScale::Integer255 => "integers 0..255, scaled by 1/255",
            PixelScale::Float255 => "floats in [0, 255], scaled by 1/255",
            PixelScale::FloatUnit => "floats in [0, 1], used as they are",
        }
    }
}

/// Patches scaled to `[0, 1]`, as read from one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// N × 48 × 48 pixels, row-major, one patch after another.
    pub pixels: Vec<f32>,
    /// How the stored values were scaled.
    pub scale: PixelScale,
}

const IMAGE_SHAPES: &str = "(N, 2304), (N, 48, 48) or (N, 48, 48, 1)";

/// Turns an npy array of patches into pixels in `[0, 1]`.
///
/// Accepts shapes (N, 2304), (N, 48, 48) and (N, 48, 48, 1); integer pixels must lie in
/// 0..=255; float pixels in [0, 1] are kept, float pixels in [0, 255] are divided by 255.
pub fn images_from_array(path: &Path, array: &NpyArray) -> Result<Images> {
    let p = PATCH_SIDE as u64;
    let shape_ok = match array.shape.as_slice() {
        [_, w] => *w == p * p,
        [_, h, w] => *h == p && *w == p,
        [_, h, w, 1] => *h == p && *w == p,
        _ => false,
    };
    if !shape_ok {
        return Err(Error::WrongShape {
            path: path.into(),
            shape: array.shape.clone(),
            expected: IMAGE_SHAPES,
        });
    }
    if array.values.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    let range_error = |index: usize, expected| Error::PixelRange {
        path: path.into(),
        index,
        value: array.values[index],
        expected,
    };
    let scale = match array.kind {
        DtypeKind::Bool => {
            return Err(Error::UnsupportedDtype {
                path: path.into(),
                dtype: array.dtype.clone(),
                expected: "uint8, an integer type, float32 or float64 pixels",
            });
        }
        DtypeKind::Int => {
            if let Some(i) = array.values.iter().position(|v| !(0.0..=255.0).contains(v)) {
                return Err(range_error(i, "0..=255 for integer pixels"));
            }
            PixelScale::Integer255
        }
        DtypeKind::Float => {
            if let Some(i) = array.values.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinitePixel {
                    path: path.into(),
                    sample: i / PATCH_PIXELS,
                    pixel: i % PATCH_PIXELS,
                    value: array.values[i],
                });
            }
            if let Some(i) = array.values.iter().position(|&v| v < 0.0) {
                return Err(range_error(i, "[0, 1] or [0, 255] for float pixels"));
            }
            let (argmax, max) =
                array
                    .values
                    .iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f64::MIN),
                        |best, (i, v)| if v > best.1 { (i, v) } else { best },
                    );
            if max <= 1.0 {
                PixelScale::FloatUnit
            } else if max <= 255.0 {
                PixelScale::Float255
            } else {
                return Err(range_error(argmax, "[0, 1] or [0, 255] for float pixels"));
            }
        }
    };
    let factor = if scale == PixelScale::FloatUnit {
        1.0
    } else {
        1.0 / 255.0
    };
    let pixels = array.values.iter().map(|&v| (v * factor) as f32).collect();
    Ok(Images { pixels, scale })
}

/// Turns an npy array of labels (shape (N,) or (N, 1), any numeric dtype) into 0/1 bytes.
pub fn labels_from_array(path: &Path, array: &NpyArray) -> Result<Vec<u8>> {
    if !matches!(array.shape.as_slice(), [_] | [_, 1]) {
        return Err(Error::WrongShape {
            path: path.into(),
            shape: array.shape.clone(),
            expected: "(N,) or (N, 1) labels",
        });
    }
    if array.values.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    check_finite(path, &array.values)?;
    labels_from_values(path, &array.values)
}

fn labels_from_values(path: &Path, values: &[f64]) -> Result<Vec<u8>> {
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| match value {
            0.0 => Ok(0),
            1.0 => Ok(1),
            _ => Err(Error::BadLabel {
                path: path.into(),
                index,
                value,
            }),
        })
        .collect()
}

fn check_finite(path: &Path, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            path: path.into(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Reads a file of patches (see [`images_from_array`]).
pub fn load_images(path: &Path) -> Result<Images> {
    images_from_array(path, &read_npy(path)?)
}

/// Reads a file of 0/1 labels (see [`labels_from_array`]).
pub fn load_labels(path: &Path) -> Result<Vec<u8>> {
    labels_from_array(path, &read_npy(path)?)
}

/// Patches with optional labels and names, held as one contiguous `f32` buffer.
///
/// The buffer is N × 48 × 48, row-major, pixels in `[0, 1]`: exactly the layout of an
/// `(N, 1, 48, 48)` tensor, so a model can build its input with one copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pixels: Vec<f32>,
    labels: Option<Vec<u8>>,
    ids: Option<Vec<String>>,
    source: PathBuf,
    notes: Vec<String>,
}

impl Dataset {
    /// Builds a data set from pixels in `[0, 1]` and optional 0/1 labels.
    ///
    /// `source` names where the data came from; errors mention it.
    pub fn new(source: impl Into<PathBuf>, pixels: Vec<f32>, labels: Option<Vec<u8>>) -> Result<Self> {
        let source = source.into();
        if pixels.len() % PATCH_PIXELS != 0 {
            return Err(Error::WrongShape {
                path: source,
                shape: vec![pixels.len() as u64],
                expected: "a multiple of 2304 pixels",
            });
        }
        let n = pixels.len() / PATCH_PIXELS;
        if n == 0 {
            return Err(Error::Empty { path: source });
        }
        if let Some(i) = pixels.iter().position(|p| !p.is_finite()) {
            return Err(Error::NonFinitePixel {
                path: source,
                sample: i / PATCH_PIXELS,
                pixel: i % PATCH_PIXELS,
                value: f64::from(pixels[i]),
            });
        }
        if let Some(labels) = &labels {
            if labels.len() != n {
                return Err(Error::LengthMismatch {
                    images: source.clone(),
                    n_images: n,
                    labels: source,
                    n_labels: labels.len(),
                });
            }
            if let Some(i) = labels.iter().position(|&l| l > 1) {
                return Err(Error::BadLabel {
                    path: source,
                    index: i,
                    value: f64::from(labels[i]),
                });
            }
        }
        Ok(Dataset {
            pixels,
            labels,
            ids: None,
            source,
            notes: Vec::new(),
        })
    }

    /// Reads images and, if given, labels from two npy files.
    pub fn from_npy(images: &Path, labels: Option<&Path>) -> Result<Self> {
        let pixels = load_images(images)?.pixels;
        let labels = match labels {
            None => None,
            Some(path) => {
                let labels = load_labels(path)?;
                let n_images = pixels.len() / PATCH_PIXELS;
                if labels.len() != n_images {
                    return Err(Error::LengthMismatch {
                        images: images.into(),
                        n_images,
                        labels: path.into(),
                        n_labels: labels.len(),
                    });
                }
                Some(labels)
            }
        };
        Dataset::new(images, pixels, labels)
    }

    /// The same data with notes on what loading it left out (links not followed, files
    /// that are not regular files), for the caller to show.
    pub fn with_notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }

    /// What loading left out, one line each; empty for most data.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Attaches one name per sample (file names of an image folder, for instance).
    pub fn with_ids(mut self, ids: Vec<String>) -> Result<Self> {
        if ids.len() != self.len() {
            return Err(Error::LengthMismatch {
                images: self.source.clone(),
                n_images: self.len(),
                labels: self.source.clone(),
                n_labels: ids.len(),
            });
        }
        self.ids = Some(ids);
        Ok(self)
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.pixels.len() / PATCH_PIXELS
    }

    /// Always false: a data set holds at least one patch.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// All pixels, N × 48 × 48 row-major.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// The pixels of patch `i` (2304 values), or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        self.pixels.get(i * PATCH_PIXELS..(i + 1) * PATCH_PIXELS)
    }

    /// The 0/1 labels, if the set is labelled.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }

    /// The per-sample names, if any.
    pub fn ids(&self) -> Option<&[String]> {
        self.ids.as_deref()
    }

    /// Where the data came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The samples at `indices`, in that order (labels and ids follow).
    ///
    /// Returns [`Error::Empty`] for no indices; indices past the end are an
    /// [`Error::InvalidParam`].
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::InvalidParam {
                name: "subset index",
                value: bad as f64,
                expected: "an index below the number of samples",
            });
        }
        let mut pixels = Vec::with_capacity(indices.len() * PATCH_PIXELS);
        for &i in indices {
            pixels.extend_from_slice(&self.pixels[i * PATCH_PIXELS..(i + 1) * PATCH_PIXELS]);
        }
        let labels = self
            .labels
            .as_ref()
            .map(|l| indices.iter().map(|&i| l[i]).collect());
        let mut subset = Dataset::new(self.source.clone(), pixels, labels)?;
        subset.ids = self
            .ids
            .as_ref()
            .map(|ids| indices.iter().map(|&i| ids[i].clone()).collect());
        Ok(subset)
    }
}

/// File names of the seed experiment's layout.
pub mod seed_files {
    /// Labelled training images.
    pub const X_TRAIN: &str = "Xtrain1.npy";
    /// Labels of [`X_TRAIN`].
    pub const Y_TRAIN: &str = "Ytrain1.npy";
    /// Unlabelled extra images for self-training.
    pub const X_EXTRA: &str = "Xtrain1_extra.npy";
    /// Hidden labels of [`X_EXTRA`] (written by the generator; used only for scoring).
    pub const Y_EXTRA_HIDDEN: &str = "Ytrain1_extra_hidden.npy";
    /// Unlabelled test images.
    pub const X_TEST: &str = "Xtest1.npy";
    /// Hidden labels of [`X_TEST`] (written by the generator; used only for scoring).
    pub const Y_TEST_HIDDEN: &str = "Ytest1_hidden.npy";
    /// Predictions for [`X_TEST`], the seed's output.
    pub const Y_PRED: &str = "y_pred_final.npy";
    /// Every input file name, in the order they are listed.
    pub const ALL: [&str; 6] = [X_TRAIN, Y_TRAIN, X_EXTRA, Y_EXTRA_HIDDEN, X_TEST, Y_TEST_HIDDEN];
}

/// The seed experiment's data: a labelled training set, and optional extra and test sets
/// (with their hidden labels when the files exist).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedData {
    /// `Xtrain1.npy` with `Ytrain1.npy`.
    pub train: Dataset,
    /// `Xtrain1_extra.npy`, labelled from `Ytrain1_extra_hidden.npy` if present.
    pub extra: Option<Dataset>,
    /// `Xtest1.npy`, labelled from `Ytest1_hidden.npy` if present.
    pub test: Option<Dataset>,
}

impl SeedData {
    /// Loads a seed-layout folder. `Xtrain1.npy` and `Ytrain1.npy` are required.
    pub fn load(dir: &Path) -> Result<Self> {
        use seed_files::*;
        if !dir.is_dir() {
            return Err(Error::MissingFile { path: dir.into() });
        }
        let train = Dataset::from_npy(&dir.join(X_TRAIN), Some(&dir.join(Y_TRAIN)))?;
        let optional = |x: &str, y: &str| -> Result<Option<Dataset>> {
            let x = dir.join(x);
            if !x.exists() {
                return Ok(None);
            }
            let y = dir.join(y);
            Dataset::from_npy(&x, y.exists().then_some(y.as_path())).map(Some)
        };
        Ok(SeedData {
            train,
            extra: optional(X_EXTRA, Y_EXTRA_HIDDEN)?,
            test: optional(X_TEST, Y_TEST_HIDDEN)?,
        })
    }
}
