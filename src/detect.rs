//! Crater detection on a whole tile with the patch classifier: an image pyramid, a sliding
//! window per level, score-map peaks as crater hypotheses, non-maximum suppression, and —
//! with a catalogue — one-to-one matching, precision, recall, F1 and an overlay picture.
//!
//! A pyramid level looks for craters of radius `ρ`: its window is the candidate-block
//! convention of the HRSC benchmark, the square of half-side `r = 2.2 ρ` around the centre,
//! which the tile scaled by `48 / (2r + 1)` turns into a 48×48 patch. Windows step by
//! `stride × r` tile pixels; a score-map local maximum above `min_score` becomes a
//! hypothesis, its centre refined to the score-weighted mean of its 3×3 neighbourhood
//! (neighbours under half its score left out).

use std::path::{Path, PathBuf};
use std::time::Instant;

use craters_dataset::hrsc::{BLOCK_PER_CRATER_RADIUS, Crater, Tile, reflect};
use craters_dataset::{Dataset, PATCH_PIXELS, PATCH_SIDE, write_atomic, write_folder_atomic};
use craters_metrics::detection::{
    Circle, Detection, DetectionReport, MatchRule, detection_report, match_detections, suppress_overlaps,
};
use craters_model::CraterCnn;
use image::{GrayImage, Rgb, RgbImage};
use rayon::prelude::*;

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
    /// Window step as a fraction of the block half-side. Default 0.4.
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
    /// between 0.90 and 0.97 (a window scores high wherever part of a crater shows).
    pub threshold: f64,
    /// When a detection finds a catalogued crater.
    pub matching: MatchRule,
    /// Windows per forward pass. Default 512.
    pub batch_size: usize,
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
        }
    }
}

/// What can go wrong detecting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting outside its range.
    #[error("detect config: {0}")]
    Config(String),
    /// A model whose input is not the 48×48 patch.
    #[error("{}: the model takes {input} px images; detection cuts {PATCH_SIDE}×{PATCH_SIDE} windows", .path.display())]
    ModelInput {
        /// The model folder.
        path: PathBuf,
        /// Its input side.
        input: usize,
    },
    /// Bad tile, catalogue or output.
    #[error(transparent)]
    Data(#[from] craters_dataset::Error),
    /// Bad detections for scoring.
    #[error(transparent)]
    Metrics(#[from] craters_metrics::Error),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] craters_model::Error),
}

/// `Result` with this module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl DetectConfig {
    /// Checks every setting, naming the first bad one.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(self.min_diameter >= 2.0
            && self.max_diameter >= self.min_diameter
            && self.max_diameter.is_finite())
        {
            return bad(format!(
                "diameters {}..{}: expected 2 ≤ min_diameter ≤ max_diameter",
                self.min_diameter, self.max_diameter
            ));
        }
        if self.levels_per_octave == 0 || self.batch_size == 0 {
            return bad("levels_per_octave and batch_size must be at least 1".into());
        }
        if !(self.stride > 0.0 && self.stride <= 2.0) {
            return bad(format!("stride {}: expected (0, 2]", self.stride));
        }
        for (name, v) in [("min_score", self.min_score), ("threshold", self.threshold)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("{name} {v}: expected a probability in [0, 1]"));
            }
        }
        if !(self.nms_overlap > 0.0 && self.nms_radius_ratio >= 1.0) {
            return bad("nms_overlap must be > 0 and nms_radius_ratio ≥ 1".into());
        }
        self.matching.check()?;
        Ok(())
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

/// Detections on one tile and how long they took.
#[derive(Debug, Clone)]
pub struct TileDetections {
    /// After suppression, highest score first.
    pub detections: Vec<Detection>,
    /// Windows scored.
    pub windows: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Slides `model` over `tile` at every pyramid level and returns the crater hypotheses.
pub fn detect(model: &CraterCnn, tile: &Tile, config: &DetectConfig) -> Result<TileDetections> {
    config.check()?;
    let started = Instant::now();
    let mut hypotheses = Vec::new();
    let mut windows = 0;
    for crater_radius in config.radii() {
        let r = (crater_radius * BLOCK_PER_CRATER_RADIUS).round();
        let factor = PATCH_SIDE as f64 / (2.0 * r + 1.0);
        let level = tile.scaled(factor);
        let step = ((config.stride * r * factor).round() as usize).max(1);
        let (w, h) = (level.width() as usize, level.height() as usize);
        // Window centres on a grid over the scaled tile; the window's top-left is 24 px
        // before its centre, outside the image by reflection as for the candidate blocks.
        let xs: Vec<usize> = (0..w).step_by(step).collect();
        let ys: Vec<usize> = (0..h).step_by(step).collect();
        let scores = score_grid(model, &level, &xs, &ys, config.batch_size)?;
        windows += scores.len();
        // The window around grid point x spans level pixels x − 24 ..= x + 23: its centre is
        // the pixel edge x, which is the tile edge x / scale, or tile pixel x / scale − 0.5.
        let to_tile = |u: f64, level_side: usize, side: usize| {
            let scale = level_side as f64 / side as f64;
            (u / scale - 0.5).clamp(0.0, (side - 1) as f64)
        };
        for (j, &y) in ys.iter().enumerate() {
            for (i, &x) in xs.iter().enumerate() {
                let score = scores[j * xs.len() + i];
                if f64::from(score) < config.min_score {
                    continue;
                }
                let mut is_peak = true;
                let (mut sum, mut sx, mut sy) = (0.0, 0.0, 0.0);
                for dj in -1i64..=1 {
                    for di in -1i64..=1 {
                        let (ni, nj) = (i as i64 + di, j as i64 + dj);
                        if ni < 0 || nj < 0 || ni >= xs.len() as i64 || nj >= ys.len() as i64 {
                            continue;
                        }
                        let s = scores[nj as usize * xs.len() + ni as usize];
                        // Ties break towards the first in scan order, so a plateau gives one peak.
                        if s > score || (s == score && (dj, di) < (0, 0)) {
                            is_peak = false;
                        }
                        // Neighbours under half the peak's score do not move the centre.
                        let weight = (f64::from(s) - 0.5 * f64::from(score)).max(0.0);
                        sum += weight;
                        sx += weight * (x as f64 + di as f64 * step as f64);
                        sy += weight * (y as f64 + dj as f64 * step as f64);
                    }
                }
                if is_peak {
                    hypotheses.push(Detection {
                        circle: Circle {
                            x: to_tile(sx / sum, w, tile.width()),
                            y: to_tile(sy / sum, h, tile.height()),
                            r: crater_radius,
                        },
                        score: f64::from(score),
                    });
                }
            }
        }
    }
    let detections = suppress_overlaps(&hypotheses, config.nms_overlap, config.nms_radius_ratio);
    Ok(TileDetections {
        detections,
        windows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Crater probabilities of the 48×48 windows centred on every (x, y) of the grid, row-major.
fn score_grid(
    model: &CraterCnn,
    level: &GrayImage,
    xs: &[usize],
    ys: &[usize],
    batch: usize,
) -> Result<Vec<f32>> {
    let centres: Vec<(usize, usize)> = ys.iter().flat_map(|&y| xs.iter().map(move |&x| (x, y))).collect();
    let mut scores = Vec::with_capacity(centres.len());
    for chunk in centres.chunks(batch) {
        let data = Dataset::new("sliding windows", cut_windows(level, chunk), None)?;
        scores.extend(model.predict_proba(&data)?);
    }
    Ok(scores)
}

/// The 48×48 windows around `centres` (pixels scaled to [0, 1]), mirrored at the border.
fn cut_windows(level: &GrayImage, centres: &[(usize, usize)]) -> Vec<f32> {
    let (w, h) = (level.width() as i64, level.height() as i64);
    let half = (PATCH_SIDE / 2) as i64;
    let raw = level.as_raw();
    let mut pixels = vec![0.0f32; centres.len() * PATCH_PIXELS];
    pixels
        .par_chunks_mut(PATCH_PIXELS)
        .zip(centres)
        .for_each(|(window, &(x, y))| {
            let (left, top) = (x as i64 - half, y as i64 - half);
            let inside = left >= 0 && top >= 0 && left + 2 * half <= w && top + 2 * half <= h;
            for (dy, out) in window.chunks_mut(PATCH_SIDE).enumerate() {
                if inside {
                    // Most windows: a plain row copy, no reflection.
                    let start = ((top + dy as i64) * w + left) as usize;
                    for (value, &pixel) in out.iter_mut().zip(&raw[start..start + PATCH_SIDE]) {
                        *value = f32::from(pixel) / 255.0;
                    }
                    continue;
                }
                let row = reflect(top + dy as i64, h as usize) * w;
                for (dx, value) in out.iter_mut().enumerate() {
                    let col = reflect(left + dx as i64, w as usize);
                    *value = f32::from(raw[(row + col) as usize]) / 255.0;
                }
            }
        });
    pixels
}

/// Catalogue craters as circles, split into those inside the diameter range (scored) and
/// the rest (a detection that finds one of those is neither right nor wrong).
pub fn catalogue_circles(catalogue: &[Crater], config: &DetectConfig) -> (Vec<Circle>, Vec<Circle>) {
    let circle = |c: &Crater| Circle {
        x: c.x,
        y: c.y,
        r: c.diameter / 2.0,
    };
    let (inside, outside): (Vec<&Crater>, Vec<&Crater>) = catalogue
        .iter()
        .partition(|c| (config.min_diameter..=config.max_diameter).contains(&c.diameter));
    (
        inside.into_iter().map(circle).collect(),
        outside.into_iter().map(circle).collect(),
    )
}

/// Detections scored against a catalogue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// Figures over the craters inside the diameter range.
    pub report: DetectionReport,
    /// Catalogue craters inside the range.
    pub n_scored_craters: usize,
    /// Detections left out because they found a crater outside the range.
    pub n_ignored_detections: usize,
    /// Per detection (input order): whether it found a scored crater; `None` if ignored.
    #[serde(skip)]
    pub found: Vec<Option<bool>>,
    /// Per scored crater: whether a detection at or above the threshold found it.
    #[serde(skip)]
    pub recalled: Vec<bool>,
}

/// Matches `detections` against the catalogue, ignoring detections of craters outside the
/// diameter range.
pub fn evaluate(detections: &[Detection], catalogue: &[Crater], config: &DetectConfig) -> Result<Evaluation> {
    config.check()?;
    let (scored, outside) = catalogue_circles(catalogue, config);
    let in_range = match_detections(detections, &scored, &config.matching)?;
    let out_of_range = match_detections(detections, &outside, &config.matching)?;
    let found: Vec<Option<bool>> = (0..detections.len())
        .map(
            |d| match (in_range.detection_to_truth[d], out_of_range.detection_to_truth[d]) {
                (Some(_), _) => Some(true),
                (None, Some(_)) => None,
                (None, None) => Some(false),
            },
        )
        .collect();
    let kept: Vec<Detection> = detections
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_some())
        .map(|(d, _)| *d)
        .collect();
    let report = detection_report(&kept, &scored, &config.matching, config.threshold)?;
    let recalled = in_range
        .truth_to_detection
        .iter()
        .map(|d| d.is_some_and(|d| detections[d].score >= config.threshold))
        .collect();
    Ok(Evaluation {
        n_scored_craters: scored.len(),
        n_ignored_detections: detections.len() - kept.len(),
        report,
        found,
        recalled,
    })
}

/// The tile in gray with detections at or above the threshold drawn as circles: green if
/// they found a crater, red if not (yellow without a catalogue; ignored ones not drawn),
/// and the missed catalogue craters in blue.
pub fn overlay(
    tile: &Tile,
    detections: &[Detection],
    evaluation: Option<(&Evaluation, &[Circle])>,
    threshold: f64,
) -> RgbImage {
    let mut image = RgbImage::from_fn(tile.width() as u32, tile.height() as u32, |x, y| {
        let v = tile.image().get_pixel(x, y).0[0];
        Rgb([v, v, v])
    });
    for (d, detection) in detections.iter().enumerate() {
        if detection.score < threshold {
            continue;
        }
        let colour = match evaluation.map(|(e, _)| e.found[d]) {
            None => Rgb([255, 220, 0]),
            Some(None) => continue,
            Some(Some(true)) => Rgb([0, 220, 0]),
            Some(Some(false)) => Rgb([255, 40, 40]),
        };
        draw_circle(&mut image, &detection.circle, colour);
    }
    if let Some((evaluation, scored)) = evaluation {
        for (truth, recalled) in scored.iter().zip(&evaluation.recalled) {
            if !recalled {
                draw_circle(&mut image, truth, Rgb([40, 120, 255]));
            }
        }
    }
    image
}

/// A 2-px circle outline.
fn draw_circle(image: &mut RgbImage, c: &Circle, colour: Rgb<u8>) {
    let steps = (2.0 * std::f64::consts::PI * c.r * 2.0).ceil().max(16.0) as usize;
    for k in 0..steps {
        let angle = k as f64 / steps as f64 * std::f64::consts::TAU;
        for offset in [0.0, 1.0] {
            let radius = c.r + offset;
            let x = (c.x + radius * angle.cos()).round();
            let y = (c.y + radius * angle.sin()).round();
            if x >= 0.0 && y >= 0.0 && (x as u32) < image.width() && (y as u32) < image.height() {
                image.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

/// `detections.csv`: header `x,y,r,score`, highest score first.
pub fn detections_csv(detections: &[Detection]) -> String {
    let mut csv = String::from("x,y,r,score\n");
    for d in detections {
        csv.push_str(&format!(
            "{:.2},{:.2},{:.2},{:.6}\n",
            d.circle.x, d.circle.y, d.circle.r, d.score
        ));
    }
    csv
}

/// What [`run`] wrote and measured.
#[derive(Debug, Clone)]
pub struct DetectSummary {
    /// The detections.
    pub detections: TileDetections,
    /// Their evaluation, with a catalogue.
    pub evaluation: Option<Evaluation>,
}

/// `craters detect`: loads the model and the tile (and catalogue), detects, and writes
/// `detections.csv`, `overlay.png` and `metrics.json` into `out` (atomically, replacing it).
pub fn run(
    model_dir: &Path,
    tile_path: &Path,
    catalogue_path: Option<&Path>,
    out: &Path,
    config: &DetectConfig,
) -> Result<DetectSummary> {
    config.check()?;
    let model = CraterCnn::load(model_dir)?;
    if model.config().input_size != PATCH_SIDE {
        return Err(Error::ModelInput {
            path: model_dir.into(),
            input: model.config().input_size,
        });
    }
    let tile = Tile::load(tile_path)?;
    let catalogue = catalogue_path
        .map(craters_dataset::hrsc::read_catalogue)
        .transpose()?;
    let detections = detect(&model, &tile, config)?;
    let evaluation = catalogue
        .as_ref()
        .map(|c| evaluate(&detections.detections, c, config))
        .transpose()?;
    let scored = catalogue.as_ref().map(|c| catalogue_circles(c, config).0);
    write_folder_atomic(out, |dir| -> Result<()> {
        write_atomic(
            &dir.join("detections.csv"),
            detections_csv(&detections.detections).as_bytes(),
        )?;
        let picture = overlay(
            &tile,
            &detections.detections,
            evaluation.as_ref().zip(scored.as_deref()),
            config.threshold,
        );
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encoding a PNG into memory cannot fail");
        write_atomic(&dir.join("overlay.png"), &png)?;
        let metrics = serde_json::json!({
            "model": model_dir,
            "tile": tile_path,
            "tile_size": [tile.width(), tile.height()],
            "catalogue": catalogue_path,
            "config": config,
            "pyramid_radii": config.radii(),
            "windows": detections.windows,
            "seconds": detections.seconds,
            "detections": detections.detections.len(),
            "evaluation": evaluation,
        });
        let text = serde_json::to_string_pretty(&metrics).expect("metrics serialise");
        write_atomic(&dir.join("metrics.json"), format!("{text}\n").as_bytes())?;
        Ok(())
    })?;
    Ok(DetectSummary {
        detections,
        evaluation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_inside_and_across_the_border_read_the_mirrored_level() {
        let level = GrayImage::from_fn(60, 50, |x, y| image::Luma([((x * 7 + y * 13) % 251) as u8]));
        let centres = [(30, 25), (24, 24), (36, 26), (0, 0), (59, 49), (5, 40)];
        let windows = cut_windows(&level, &centres);
        for (k, &(x, y)) in centres.iter().enumerate() {
            for dy in 0..PATCH_SIDE {
                for dx in 0..PATCH_SIDE {
                    let px = reflect(x as i64 - 24 + dx as i64, 60);
                    let py = reflect(y as i64 - 24 + dy as i64, 50);
                    let expected = f32::from(level.get_pixel(px as u32, py as u32).0[0]) / 255.0;
                    assert_eq!(
                        windows[k * PATCH_PIXELS + dy * PATCH_SIDE + dx],
                        expected,
                        "{x},{y}"
                    );
                }
            }
        }
    }
}
