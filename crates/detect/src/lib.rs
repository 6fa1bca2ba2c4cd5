//! Crater detection on whole images with the patch classifier: an image pyramid, a sliding
//! window per level, score-map peaks as crater hypotheses, suppression of overlapping
//! circles, and — with a catalogue — one-to-one matching, precision, recall, F1 and an
//! overlay picture.
//!
//! A pyramid level looks for craters of radius `ρ`: its window is the candidate-block
//! convention of the HRSC benchmark, the square of half-side `r = 2.2 ρ` around the centre,
//! which the tile scaled by `48 / (2r + 1)` turns into a 48×48 patch. Windows step by
//! `stride × r` tile pixels (rounded down to a divisor of the network's stride, 6 level
//! pixels); a score-map local maximum above `min_score` becomes a hypothesis
//! ([`find_peaks`]), its centre refined to the score-weighted mean of its 3×3 neighbourhood
//! (neighbours under half its score left out).
//!
//! Scoring is fully convolutional ([`ScanMethod::Dense`], `craters_model::DenseNet`: one pass
//! per level gives every window's score, a 1700² tile in about half a second on 2 cores)
//! when the model's input normalisation convolves (`raw`, or `per_tile`: the image
//! standardised as a whole); a model that standardises each window (`per_image`) is scored
//! window by window ([`ScanMethod::Windows`], also the reference the dense pass is tested
//! against). Big images are scanned in pieces ([`DetectConfig::piece`]) whose level pixels
//! are sampled from the image alone ([`Level`]), with each window owned by one piece, so
//! memory stays bounded and the detections do not depend on the piece size.
//!
//! ```no_run
//! use craters_dataset::Tile;
//! use craters_detect::{DetectConfig, detect};
//! use craters_model::CraterCnn;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = CraterCnn::load("runs/hrsc-detect/models/final".as_ref())?;
//! let tile = Tile::load("../shared/data/hrsc/tiles/tile3_24.pgm".as_ref())?;
//! let found = detect(&model, &tile, &DetectConfig::default().check()?)?;
//! for d in found.detections.iter().filter(|d| d.score >= 0.9) {
//!     println!("crater at ({:.1}, {:.1}), radius {:.1} px", d.circle.x, d.circle.y, d.circle.r);
//! }
//! # Ok(()) }
//! ```
//!
//! On a map-projected image ([`craters_dataset::GeoImage`], a GeoTIFF) the detections
//! become a crater catalogue: longitude, latitude and diameter in km ([`catalogue`]), a
//! craterstats count ([`scc`]), a shapefile pair for GIS ([`write_shapefiles`]) and the
//! size-frequency distribution ([`csfd`]) over the area that holds data ([`CountedArea`]).
//! The shipped detector ([`Detector::shipped`], `models/hrsc-detector`) is compiled in.
//!
//! Files: `config` (settings), `level` (pyramid levels sampled piece by piece), `scan`
//! (pieces, levels, dense or per-window scores, peaks), `suppress` (overlapping
//! circles), `peaks` (the score maps' maxima), `window_scan` (a core of a mosaic from a
//! window of it), `mining` (training hypotheses labelled by a catalogue), `train` (a detector
//! trained on benchmark tiles), `evaluate` (against a catalogue), `overlay` (the picture), `card` (model
//! cards, the shipped detector), `placement` (where an image lies, the counted area),
//! `catalogue` (craters.csv, .scc), `gis` (shapefiles), `csfd` (size-frequency
//! distribution), `run` (`craters detect`: load, place, detect, write).
#![deny(missing_docs)]

mod card;
mod catalogue;
mod config;
mod csfd;
mod error;
mod evaluate;
mod gis;
mod level;
mod mining;
mod overlay;
mod peaks;
mod placement;
mod run;
mod scan;
mod suppress;
mod train;
mod window_scan;

pub use card::{Detector, MAX_MEMBERS, ModelCard, SHIPPED_MODEL, member_dir, shipped_model};
pub use catalogue::{CatalogueCrater, catalogue, craters_csv, scc};
pub use config::{DetectConfig, PIECE_SIDES, ScanMethod, ValidDetectConfig};
pub use csfd::{CsfdBin, csfd, csfd_csv, csfd_png};
pub use error::{Error, Result};
pub use evaluate::{Evaluation, catalogue_circles, evaluate};
pub use gis::{CIRCLE_VERTICES, write_shapefiles};
pub use level::{ImageWindow, Level};
pub use mining::{Mined, NEAR_CENTRE, NEAR_RADIUS_FACTOR, label_hypotheses};
pub use overlay::overlay;
pub use peaks::{Peak, find_peaks};
pub use placement::{CountedArea, Placement};
pub use run::{
    DetectSummary, GSD_MAX_RATIO, GSD_RESCALE_RATIO, OVERLAY_MAX_PIXELS, PlacedDetections, PlacementParams,
    detect_placed, detections_csv, run, write_catalogue_files,
};
pub use scan::{
    MAX_LEVEL_PIXELS, NoProgress, ScanProgress, TileDetections, dense_work, detect, detect_with_progress,
};
pub use suppress::suppress_overlaps;
pub use train::{
    DetectorRecipe, HeldOutFigures, TileThreshold, TrainedDetector, ValidDetectorRecipe, score_held_out,
    train_detector,
};
pub use window_scan::{core_hypotheses, core_source};

// The crate README's example, compiled (and run unless marked no_run) as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
