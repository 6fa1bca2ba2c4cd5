//! What `craters data inspect` reports: per file shape, dtype, range and count; class balance.

use std::path::Path;

use crate::dataset::{PixelScale, images_from_array, labels_from_array, seed_files};
use crate::error::{Error, Result};
use crate::folder::{ClassFolders, is_labelled_folder, load_labelled_folder, load_unlabelled_folder};
use crate::npy::read_npy;
use crate::weights::ClassWeights;

/// Counts of each class and the balanced weights that follow from them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassBalance {
    /// Samples labelled 0.
    pub negatives: usize,
    /// Samples labelled 1.
    pub positives: usize,
    /// positives / (negatives + positives).
    pub positive_fraction: f64,
    /// scikit-learn's balanced weights; `None` when a class is absent.
    pub balanced_weights: Option<ClassWeights>,
}

impl ClassBalance {
    /// Counts 0/1 labels.
    pub fn of(labels: &[u8]) -> Self {
        let positives = labels.iter().filter(|&&l| l == 1).count();
        ClassBalance {
            negatives: labels.len() - positives,
            positives,
            positive_fraction: positives as f64 / labels.len().max(1) as f64,
            balanced_weights: ClassWeights::balanced(labels).ok(),
        }
    }
}

/// What one npy file holds, after checking it for its role.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileSummary {
    /// File name.
    pub file: String,
    /// `images` or `labels`.
    pub role: &'static str,
    /// Shape as stored.
    pub shape: Vec<u64>,
    /// numpy type string.
    pub dtype: String,
    /// Number of samples.
    pub count: usize,
    /// Smallest stored value.
    pub min: f64,
    /// Largest stored value.
    pub max: f64,
    /// For images: how pixels map to `[0, 1]`.
    pub pixel_scale: Option<PixelScale>,
    /// For labels: the class balance.
    pub class_balance: Option<ClassBalance>,
}

/// What an image folder holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FolderSummary {
    /// Number of images read.
    pub images: usize,
    /// Class balance when the folder is labelled.
    pub class_balance: Option<ClassBalance>,
}

/// The result of inspecting a seed-layout folder, an image folder or one npy file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Inspection {
    /// The path inspected.
    pub path: String,
    /// `seed_layout`, `image_folder` or `npy_file`.
    pub layout: &'static str,
    /// One entry per npy file found.
    pub files: Vec<FileSummary>,
    /// Set for image folders.
    pub folder: Option<FolderSummary>,
}

/// Inspects `path`: a seed-layout folder (any of its npy files), an image folder, or an npy
/// file. Every file is fully checked, and image/label pairs must agree in length.
pub fn inspect(path: &Path, classes: &ClassFolders) -> Result<Inspection> {
    let display = path.display().to_string();
    if path.is_file() {
        let role = if read_npy(path)?.shape.len() == 1 {
            "labels"
        } else {
            "images"
        };
        return Ok(Inspection {
            path: display,
            layout: "npy_file",
            files: vec![summarise(path, role)?],
            folder: None,
        });
    }
    if !path.is_dir() {
        return Err(Error::MissingFile { path: path.into() });
    }
    let mut files = Vec::new();
    for name in seed_files::ALL {
        let file = path.join(name);
        if file.exists() {
            let role = if name.starts_with('X') { "images" } else { "labels" };
            files.push(summarise(&file, role)?);
        }
    }
    if !files.is_empty() {
        check_pairs(path, &files)?;
        return Ok(Inspection {
            path: display,
            layout: "seed_layout",
            files,
            folder: None,
        });
    }
    let dataset = if is_labelled_folder(path, classes) {
        load_labelled_folder(path, classes)?
    } else {
        match load_unlabelled_folder(path) {
            Err(Error::Empty { .. }) => {
                return Err(Error::NothingToLoad {
                    path: path.into(),
                    expected: "Xtrain1.npy, Ytrain1.npy, Xtrain1_extra.npy, Xtest1.npy, ...",
                });
            }
            other => other?,
        }
    };
    Ok(Inspection {
        path: display,
        layout: "image_folder",
        files,
        folder: Some(FolderSummary {
            images: dataset.len(),
            class_balance: dataset.labels().map(ClassBalance::of),
        }),
    })
}

fn summarise(path: &Path, role: &'static str) -> Result<FileSummary> {
    let array = read_npy(path)?;
    let (pixel_scale, class_balance) = if role == "images" {
        (Some(images_from_array(path, &array)?.scale), None)
    } else {
        (None, Some(ClassBalance::of(&labels_from_array(path, &array)?)))
    };
    let min = array.values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = array.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(FileSummary {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        role,
        count: array.shape.first().copied().unwrap_or(0) as usize,
        shape: array.shape,
        dtype: array.dtype,
        min,
        max,
        pixel_scale,
        class_balance,
    })
}

fn check_pairs(dir: &Path, files: &[FileSummary]) -> Result<()> {
    use seed_files::*;
    let count = |name: &str| files.iter().find(|f| f.file == name).map(|f| f.count);
    for (x, y) in [
        (X_TRAIN, Y_TRAIN),
        (X_EXTRA, Y_EXTRA_HIDDEN),
        (X_TEST, Y_TEST_HIDDEN),
    ] {
        match (count(x), count(y)) {
            (Some(n_images), Some(n_labels)) if n_images != n_labels => {
                return Err(Error::LengthMismatch {
                    images: dir.join(x),
                    n_images,
                    labels: dir.join(y),
                    n_labels,
                });
            }
            (None, Some(_)) => return Err(Error::MissingFile { path: dir.join(x) }),
            _ => {}
        }
    }
    if count(X_TRAIN).is_some() && count(Y_TRAIN).is_none() {
        return Err(Error::MissingFile {
            path: dir.join(Y_TRAIN),
        });
    }
    Ok(())
}
