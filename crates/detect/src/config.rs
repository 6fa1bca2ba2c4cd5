//! Detection settings, checked before use.

use std::path::Path;

use craters_metrics::detection::MatchRule;

use crate::error::{Error, Result};

/// Detection settings; `Default` covers crater diameters 16–200 px. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Smallest crater diameter looked for, in tile pixels. Default 16.
    pub min_diameter: f64,
    /// Largest crater diameter looked for. Default 200.
    pub max_diameter: f64,
    /// Pyramid levels per doubling of the diameter. Default 4.
    pub levels_per_octave: usize,
    /// Window step as a fraction of the block half-side, rounded down to a divisor of the
    /// network's stride (6 level pixels for the seed network, whose pools are 3 and 2): at
    /// the default 0.4, 6 level pixels, a quarter of the window's half-side. Default 0.4.
    pub stride: f64,
    /// Smallest score of a hypothesis. Default 0.5.
    pub min_score: f64,
    /// Two hypotheses overlap when their centres are closer than this × the smaller radius
    /// (and their radii within `nms_radius_ratio`); the lower-scored one is dropped. Default 1.
    pub nms_overlap: f64,
    /// Largest radius ratio of overlapping hypotheses. Default 2.
    pub nms_radius_ratio: f64,
    /// Score threshold of the reported precision, recall and F1, and of the overlay. Default
    /// 0.9: on the HRSC training tiles the best-F1 threshold of the hrsc-detect models lay
    /// between 0.88 and 0.98 (a window scores high wherever part of a crater shows).
    pub threshold: f64,
    /// When a detection finds a catalogued crater.
    pub matching: MatchRule,
    /// Windows per forward pass of the per-window path. Default 512.
    pub batch_size: usize,
    /// How windows are scored. Default auto.
    pub scan: ScanMethod,
    /// Side, in image pixels, of the pieces a big image is scanned in (each piece with a
    /// margin of the largest window around it; a crater belongs to the piece that holds its
    /// window's centre, so the detections do not depend on it). Bounds the memory: a piece
    /// of 2048² needs about 150 MB at the smallest crater size. Default 2048.
    pub piece: usize,
    /// Hypotheses whose centre lies closer to the image's border than this many of their
    /// radii are dropped before suppression. Such a crater lies partly outside the image
    /// (at half a radius, over a third of its disc), and the image mirrored at its border
    /// makes crater-like patterns there: on the five HRSC tiles, at their thresholds, 48 of
    /// the 59 detections of the shipped recipe's leave-one-out detectors (two seeds) within
    /// half a radius of the border were false. Default 0 (keep them all); the shipped
    /// detector's card sets 0.5.
    pub border_margin: f64,
}

/// How the windows of a pyramid level are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanMethod {
    /// Dense when the model's input normalisation convolves, per window otherwise.
    #[default]
    Auto,
    /// One fully convolutional pass per level (`craters_model::DenseNet`).
    Dense,
    /// Each window cut out and scored on its own: the reference, and the only way for a
    /// model that standardises each window (`input_norm = "per_image"`).
    Windows,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            min_diameter: 16.0,
            max_diameter: 200.0,
            levels_per_octave: 4,
            stride: 0.4,
            min_score: 0.5,
            nms_overlap: 1.0,
            nms_radius_ratio: 2.0,
            threshold: 0.9,
            matching: MatchRule::default(),
            batch_size: 512,
            scan: ScanMethod::Auto,
            piece: 2048,
            border_margin: 0.0,
        }
    }
}

/// Most pyramid levels per doubling of the crater diameter.
pub const MAX_LEVELS_PER_OCTAVE: usize = 64;
/// Most pyramid levels in all.
pub const MAX_LEVELS: usize = 256;
/// Most windows per forward pass.
pub const MAX_BATCH: usize = 65_536;
/// Largest `border_margin`, in crater radii (more would drop craters wholly inside the image).
pub const MAX_BORDER_MARGIN: f64 = 2.0;
/// Smallest and largest side of the pieces a big image is scanned in.
pub const PIECE_SIDES: std::ops::RangeInclusive<usize> = 64..=16_384;

/// The TOML file at `path` as a `T`; a missing file or bad TOML is one error naming `path`.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    parse_toml(path, &text)
}

/// TOML text as a `T`; `path` names it in errors.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| Error::ConfigSyntax {
        path: path.into(),
        // toml's own Display spans several lines (with a snippet); one line is the contract.
        message: e.message().trim().to_string(),
    })
}

impl DetectConfig {
    /// Reads a TOML file of detection settings (unknown keys are errors) and checks it.
    pub fn load(path: &Path) -> Result<ValidDetectConfig> {
        read_toml::<DetectConfig>(path)?.check()
    }

    /// Settings from TOML text (unchecked; unknown keys are errors); `path` names it in
    /// errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<DetectConfig> {
        parse_toml(path, text)
    }

    /// Checks every setting, naming the first bad one; only checked settings detect.
    pub fn check(&self) -> Result<ValidDetectConfig> {
        let bad = |name: &'static str, value: String, expected: &'static str| {
            Err(Error::InvalidParam {
                name,
                value,
                expected,
            })
        };
        if !(self.min_diameter >= 2.0 && self.min_diameter.is_finite()) {
            return bad("min_diameter", self.min_diameter.to_string(), "a number ≥ 2");
        }
        if !(self.max_diameter >= self.min_diameter && self.max_diameter.is_finite()) {
            return bad(
                "max_diameter",
                self.max_diameter.to_string(),
                "a finite number ≥ min_diameter",
            );
        }
        if !(1..=MAX_LEVELS_PER_OCTAVE).contains(&self.levels_per_octave) {
            return bad(
                "levels_per_octave",
                self.levels_per_octave.to_string(),
                "1 to 64 levels per doubling of the diameter",
            );
        }
        let levels = (self.max_diameter / self.min_diameter).log2() * self.levels_per_octave as f64;
        if levels.round() >= MAX_LEVELS as f64 {
            return bad(
                "max_diameter",
                self.max_diameter.to_string(),
                "a range of diameters that needs fewer than 256 pyramid levels",
            );
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return bad("batch_size", self.batch_size.to_string(), "1 to 65536 windows");
        }
        if !PIECE_SIDES.contains(&self.piece) {
            return bad("piece", self.piece.to_string(), "64 to 16384 image pixels");
        }
        if !(self.stride > 0.0 && self.stride <= 2.0) {
            return bad(
                "stride",
                self.stride.to_string(),
                "a fraction of the half-side in (0, 2]",
            );
        }
        for (name, v) in [("min_score", self.min_score), ("threshold", self.threshold)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(name, v.to_string(), "a probability in [0, 1]");
            }
        }
        if !(self.nms_overlap > 0.0 && self.nms_overlap.is_finite()) {
            return bad("nms_overlap", self.nms_overlap.to_string(), "a positive number");
        }
        if self.nms_radius_ratio.is_nan() || self.nms_radius_ratio < 1.0 {
            return bad(
                "nms_radius_ratio",
                self.nms_radius_ratio.to_string(),
                "a number ≥ 1",
            );
        }
        if !(0.0..=MAX_BORDER_MARGIN).contains(&self.border_margin) {
            return bad(
                "border_margin",
                self.border_margin.to_string(),
                "a number of crater radii in [0, 2]",
            );
        }
        self.matching.check()?;
        Ok(ValidDetectConfig(self.clone()))
    }

    /// Crater radii of the pyramid levels, smallest first.
    pub fn radii(&self) -> Vec<f64> {
        let octaves = (self.max_diameter / self.min_diameter).log2();
        let steps = (octaves * self.levels_per_octave as f64).round() as usize;
        (0..=steps)
            .map(|i| self.min_diameter / 2.0 * 2f64.powf(i as f64 / self.levels_per_octave as f64))
            .collect()
    }
}

/// A [`DetectConfig`] that passed [`DetectConfig::check`]; reads as the settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct ValidDetectConfig(DetectConfig);

impl std::ops::Deref for ValidDetectConfig {
    type Target = DetectConfig;

    fn deref(&self) -> &DetectConfig {
        &self.0
    }
}

impl ValidDetectConfig {
    /// The same settings with another operating threshold (checked).
    pub fn with_threshold(&self, threshold: f64) -> Result<ValidDetectConfig> {
        DetectConfig {
            threshold,
            ..self.0.clone()
        }
        .check()
    }
}
