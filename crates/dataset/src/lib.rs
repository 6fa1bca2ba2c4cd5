//! Data for crater classification: 48×48 grayscale patches, 1 = crater, 0 = none.
//!
//! - [`SeedData::load`] reads the seed experiment's numpy layout (`Xtrain1.npy`,
//!   `Ytrain1.npy`, optional `Xtrain1_extra.npy` and `Xtest1.npy`, and the hidden-label files
//!   named in [`seed_files`]). Pixels may be uint8, any integer, float32 or float64, shaped
//!   (N, 2304), (N, 48, 48) or (N, 48, 48, 1); labels any numeric dtype with values 0 or 1.
//! - [`load_labelled_folder`] / [`load_unlabelled_folder`] read image folders in
//!   torchvision's ImageFolder convention.
//! - [`Dataset`] holds the patches as one contiguous `f32` buffer.
//! - [`stratified_split`] and [`ClassWeights`] prepare training; [`write_npy`] writes results
//!   atomically, and [`OutputParams`] writes output folders without ever losing a user's data.
//! - [`Tile`] is a whole grayscale image to scan or cut blocks from; [`GeoImage`] one with
//!   where it lies ([`Georeference`]) and which pixels hold data, read from a GeoTIFF.
//! - [`hrsc`] reads the real HRSC benchmark tiles, catalogues and candidate blocks.
//! - [`synth`] generates the default data set: Mars-like patches in the seed layout.
//! - [`write_preview`] draws a PNG contact sheet of a data set.
//!
//! Every problem with the input is an [`Error`] naming the file, never a panic.
//!
//! ```no_run
//! use craters_dataset::{ClassWeights, SeedData, SplitParams, stratified_split};
//! # fn main() -> craters_dataset::Result<()> {
//! let data = SeedData::load(std::path::Path::new("data/default"))?;
//! let labels = data.train.labels().expect("Ytrain1.npy is required");
//! let split = stratified_split(labels, &SplitParams::default().check()?)?;
//! let weights = ClassWeights::balanced(labels)?;
//! println!("{} train, {} val, weights {weights:?}", split.train.len(), split.validation.len());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod dataset;
mod error;
mod folder;
mod geokeys;
mod georef;
mod geotiff;
pub mod hrsc;
mod image_io;
mod inspect;
mod npy;
mod output;
mod preview;
mod split;
pub mod synth;
mod tile;
mod weights;

pub use dataset::{
    Dataset, Images, PATCH_PIXELS, PATCH_SIDE, PixelScale, SeedData, images_from_array, labels_from_array,
    load_images, load_labels, seed_files,
};
pub use error::{Error, Result, shape_text};
pub use folder::{
    ClassFolders, IMAGE_EXTENSIONS, decode_patch, is_labelled_folder, load_image, load_labelled_folder,
    load_unlabelled_folder,
};
pub use georef::{Georeference, MARS_RADIUS_M, Projection, normalise_lon};
pub use geotiff::{GeoImage, decode_geotiff, read_georeference_only, read_geotiff};
pub use image_io::MAX_IMAGE_BYTES;
pub use inspect::{ClassBalance, FileSummary, FolderSummary, Inspection, inspect};
pub use npy::{DtypeKind, NpyArray, parse_npy, read_npy, write_atomic, write_npy};
pub use output::{
    OUTPUT_MARKER, OutputParams, ValidOutput, is_empty_folder, remove_unfinished_outputs, written_by_craters,
};
pub use preview::{PreviewRow, write_preview};
pub use split::{Split, SplitParams, ValidSplitParams, shuffle, stratified_split};
pub use tile::{
    LOCAL_EPSILON, LOCAL_SIDE, STRETCH_MEAN, STRETCH_STD, Stretch, Tile, reflect, standardise_locally,
};
pub use weights::ClassWeights;

// The crate README's example, compiled (and run unless marked no_run) as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
