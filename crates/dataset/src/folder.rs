//! Image folders in torchvision's ImageFolder convention.
//!
//! A labelled folder has one subfolder per class (`crater/` → 1 and `non-crater/` → 0 by
//! default); an unlabelled folder simply holds images. Files are searched recursively, taken
//! in lexicographic order of their paths relative to the folder (those paths become the
//! data set's ids), converted to grayscale and resized to 48×48. Files whose extension is not
//! an image format are skipped, as torchvision does; hidden entries (`.name`) too.
//!
//! Links to folders are not followed (so no link loop can make a walk endless), a linked
//! file counts only when it lies inside the folder (or class folder) being read (so no image
//! is reached from the other class through a link), and entries that are not regular
//! files (FIFOs, sockets, devices) are never opened. Each of these is left out with a note
//! ([`Dataset::notes`]).

use std::fs;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use walkdir::WalkDir;

use crate::dataset::{Dataset, PATCH_PIXELS, PATCH_SIDE};
use crate::error::{Error, Result};
use crate::image_io::decode_image;
use crate::npy::read_error;

/// File extensions read as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "pgm", "pnm", "ppm", "pbm"];

/// Names of the class subfolders of a labelled image folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassFolders {
    /// Subfolder of class 1. Default `crater`.
    pub positive: String,
    /// Subfolder of class 0. Default `non-crater`.
    pub negative: String,
}

impl Default for ClassFolders {
    fn default() -> Self {
        ClassFolders {
            positive: "crater".into(),
            negative: "non-crater".into(),
        }
    }
}

/// Whether `dir` has a subfolder named after either class.
pub fn is_labelled_folder(dir: &Path, classes: &ClassFolders) -> bool {
    dir.join(&classes.positive).is_dir() || dir.join(&classes.negative).is_dir()
}

/// Loads a labelled image folder; every subfolder must be one of the two classes.
pub fn load_labelled_folder(dir: &Path, classes: &ClassFolders) -> Result<Dataset> {
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    for entry in list_dir(dir)? {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir()) {
            continue; // files beside the class folders, and links, are not classes
        }
        let label = if name == classes.positive {
            1
        } else if name == classes.negative {
            0
        } else {
            return Err(Error::UnknownClassFolder {
                path: dir.into(),
                name,
                positive: classes.positive.clone(),
                negative: classes.negative.clone(),
            });
        };
        let (files, skipped) = image_files(&entry)?;
        notes.extend(skipped);
        for file in files {
            entries.push((file, label));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let (files, labels): (Vec<PathBuf>, Vec<u8>) = entries.into_iter().unzip();
    Ok(build(dir, &files, Some(labels))?.with_notes(notes))
}

/// Loads every image under `dir` (recursively) without labels.
pub fn load_unlabelled_folder(dir: &Path) -> Result<Dataset> {
    let (mut files, notes) = image_files(dir)?;
    files.sort();
    Ok(build(dir, &files, None)?.with_notes(notes))
}

/// Reads one image file as a 48×48 grayscale patch with pixels in `[0, 1]`.
///
/// Colour images are converted to luma; other sizes are resized with a triangle filter
/// (whose support widens with the scale factor, so downscaling averages).
pub fn load_image(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| read_error(path, e))?;
    decode_patch(path, &bytes)
}

/// The bytes of an image file as a 48×48 grayscale patch (as [`load_image`]); `path` names
/// it in errors.
pub fn decode_patch(path: &Path, bytes: &[u8]) -> Result<Vec<f32>> {
    let gray = decode_image(path, bytes, "an image")?.into_luma16();
    let side = PATCH_SIDE as u32;
    let gray = if gray.dimensions() == (side, side) {
        gray
    } else {
        image::imageops::resize(&gray, side, side, FilterType::Triangle)
    };
    Ok(gray
        .into_raw()
        .into_iter()
        .map(|v| f32::from(v) / 65535.0)
        .collect())
}

fn build(dir: &Path, files: &[PathBuf], labels: Option<Vec<u8>>) -> Result<Dataset> {
    if files.is_empty() {
        return Err(Error::NothingToLoad {
            path: dir.into(),
            expected: "png, jpg, jpeg, pgm, pnm, ppm or pbm images",
        });
    }
    let mut pixels = Vec::with_capacity(files.len() * PATCH_PIXELS);
    let mut ids = Vec::with_capacity(files.len());
    for file in files {
        pixels.extend(load_image(file)?);
        let relative = file.strip_prefix(dir).unwrap_or(file);
        let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
        ids.push(parts.join("/"));
    }
    Dataset::new(dir, pixels, labels)?.with_ids(ids)
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = fs::read_dir(dir).map_err(|e| read_error(dir, e))?;
    let mut paths = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| read_error(dir, e))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

/// The image files below `dir` (see the module's rules on links and non-files), and a
/// note for each entry left out.
fn image_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let root = fs::canonicalize(dir).map_err(|e| read_error(dir, e))?;
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let walk = WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk failed"));
            read_error(&path, source)
        })?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            continue;
        }
        if entry.path_is_symlink() {
            let target = fs::canonicalize(path);
            if target.as_ref().is_ok_and(|t| t.is_dir()) {
                notes.push(format!("{}: a link to a folder; not followed", path.display()));
                continue;
            }
            if !has_image_extension(path) {
                continue;
            }
            if !target.is_ok_and(|t| t.is_file() && t.starts_with(&root)) {
                notes.push(format!(
                    "{}: a link to something outside {}; left out",
                    path.display(),
                    dir.display()
                ));
                continue;
            }
        } else if !has_image_extension(path) {
            continue;
        } else if !entry.file_type().is_file() {
            notes.push(format!("{}: not a regular file; left out", path.display()));
            continue;
        }
        files.push(path.to_path_buf());
    }
    Ok((files, notes))
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}
