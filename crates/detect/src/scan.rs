//! Scanning: the image pyramid, the windows of each level, their scores and the score
//! maps' peaks.
//!
//! The image is scanned piece by piece (`piece` image pixels a side, one piece for a
//! tile): for each piece and level, the level pixels under the windows the piece owns (plus
//! one grid step around, for the peaks' neighbourhoods) are sampled from the image
//! ([`Level::region`]), mirrored at the image's border, and scored — in one fully
//! convolutional pass ([`ScanMethod::Dense`]) or window by window ([`ScanMethod::Windows`]).
//! A window belongs to the piece whose level span holds its centre, so every window is
//! scored once and the peaks are those of the whole level: the detections do not depend on
//! the piece size.

use std::time::Instant;

use craters_dataset::hrsc::BLOCK_PER_CRATER_RADIUS;
use craters_dataset::{LOCAL_SIDE, PATCH_PIXELS, PATCH_SIDE, Stretch, Tile, standardise_locally};
use craters_metrics::detection::{Circle, Detection};
use craters_model::{CraterCnn, DenseNet, InputNorm, sigmoid};
use rayon::prelude::*;

use crate::config::{ScanMethod, ValidDetectConfig};
use crate::error::Error;
use crate::error::Result;
use crate::level::{ImageWindow, Level};
use crate::peaks::find_peaks;
use crate::suppress::suppress_overlaps;

/// The most level pixels of one piece (256 Mi floats would be 1 GiB): the smallest crater
/// diameter and the piece size set it.
pub const MAX_LEVEL_PIXELS: usize = 1 << 28;

/// Detections on one image and how long they took.
#[derive(Debug, Clone)]
pub struct TileDetections {
    /// After suppression, highest score first.
    pub detections: Vec<Detection>,
    /// Windows scored.
    pub windows: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// How the windows were scored (dense or windows, never auto).
    pub method: ScanMethod,
    /// Pieces the image was scanned in.
    pub pieces: usize,
}

/// Told how far a scan is; the work is counted in level pixels sampled, which the time
/// follows closely. Every method has an empty default.
pub trait ScanProgress: Sync {
    /// The scan begins: `work` units in all.
    fn started(&self, _work: u64) {}
    /// `work` more units are done.
    fn advanced(&self, _work: u64) {}
    /// The scan ended.
    fn finished(&self) {}
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ScanProgress for NoProgress {}

/// One pyramid level to scan.
pub(crate) struct LevelPlan {
    /// Crater radius it looks for, image pixels.
    crater_radius: f64,
    pub(crate) level: Level,
    /// Level pixels between window centres.
    step: usize,
}

/// The pyramid levels of a `width × height` image whose window fits it.
fn plan_levels(model: &CraterCnn, config: &ValidDetectConfig, width: usize, height: usize) -> Vec<LevelPlan> {
    // The network's stride: windows 6 level pixels apart share its pooled maps.
    let network_stride = model.config().pool1 * model.config().pool2;
    config
        .radii()
        .into_iter()
        .map(|radius| (radius, (radius * BLOCK_PER_CRATER_RADIUS).round()))
        .filter(|&(_, r)| 2.0 * r + 1.0 <= width.min(height) as f64)
        .map(|(crater_radius, r)| {
            let factor = PATCH_SIDE as f64 / (2.0 * r + 1.0);
            let nominal = ((config.stride * r * factor).round() as usize).max(1);
            // The largest divisor of the network's stride not above the nominal step: the
            // dense pass scores exactly this grid, and the per-window path the same one.
            let step = (1..=network_stride)
                .rev()
                .find(|d| network_stride % d == 0 && *d <= nominal)
                .unwrap_or(1);
            LevelPlan {
                crater_radius,
                level: Level::new(width, height, factor),
                step,
            }
        })
        .collect()
}

/// Level pixels of a `width × height` image's pyramid and the floating-point operations
/// one dense pass over them needs ([`DenseNet::flops_per_pixel`] at each level's step): the
/// arithmetic the fastest scan must do.
pub fn dense_work(
    model: &CraterCnn,
    config: &ValidDetectConfig,
    width: usize,
    height: usize,
) -> Result<(f64, f64)> {
    let net = model.dense()?;
    Ok(plan_levels(model, config, width, height)
        .iter()
        .map(|p| {
            let pixels = (p.level.width * p.level.height) as f64;
            (pixels, pixels * net.flops_per_pixel(p.step))
        })
        .fold((0.0, 0.0), |(a, b), (p, f)| (a + p, b + f)))
}

/// The grid indices `i` (window centre `i · step` in level pixels) whose centre lies in the
/// level span of image columns `from..to`: `ceil(from · level / image) ..
/// ceil(to · level / image)`, so consecutive pieces share no window and miss none.
fn owned(from: usize, to: usize, level: usize, image: usize, step: usize) -> (usize, usize) {
    let span = |x: usize| (x * level).div_ceil(image);
    (span(from).div_ceil(step), span(to).div_ceil(step))
}

/// Slides `model` over `tile` at every pyramid level and returns the crater hypotheses.
pub fn detect(model: &CraterCnn, tile: &Tile, config: &ValidDetectConfig) -> Result<TileDetections> {
    detect_with_progress(std::slice::from_ref(model), tile, config, &NoProgress)
}

/// [`detect`] with the mean score of several networks of one architecture (an ensemble:
/// each window's score is the mean of the members' scores, so the members' independent
/// errors average out), telling `progress` how far it is.
pub fn detect_with_progress(
    members: &[CraterCnn],
    tile: &Tile,
    config: &ValidDetectConfig,
    progress: &dyn ScanProgress,
) -> Result<TileDetections> {
    let started = Instant::now();
    let (tile_w, tile_h) = (tile.width(), tile.height());
    let setup = Setup::new(members, Some(tile), config, (tile_w, tile_h))?;
    let pieces = pieces_of(0..tile_w, 0..tile_h, config.piece);
    let (hypotheses, windows) = setup.scan(
        members,
        config,
        &ImageWindow::whole(tile.image()),
        &pieces,
        progress,
    )?;
    let detections = suppress_overlaps(&hypotheses, config.nms_overlap, config.nms_radius_ratio);
    Ok(TileDetections {
        detections,
        windows,
        seconds: started.elapsed().as_secs_f64(),
        method: setup.method,
        pieces: pieces.len(),
    })
}

/// Image columns and rows of a piece.
pub(crate) type Piece = ((usize, usize), (usize, usize));

/// `cols × rows` cut into pieces of at most `piece` a side, row by row.
pub(crate) fn pieces_of(
    cols: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
    piece: usize,
) -> Vec<Piece> {
    let cuts = |r: std::ops::Range<usize>| -> Vec<(usize, usize)> {
        r.clone()
            .step_by(piece)
            .map(|a| (a, (a + piece).min(r.end)))
            .collect()
    };
    let col_cuts = cuts(cols);
    cuts(rows)
        .into_iter()
        .flat_map(|rows| col_cuts.clone().into_iter().map(move |cols| (cols, rows)))
        .collect()
}

/// What a scan of an image needs before its first window: the method, the dense network,
/// the normalisation, the levels.
pub(crate) struct Setup {
    method: ScanMethod,
    /// One per member when the scan is dense, else none.
    dense: Vec<DenseNet>,
    /// Levels are standardised locally before scoring.
    local: bool,
    table: [u8; 256],
    pub(crate) plans: Vec<LevelPlan>,
    image_size: (usize, usize),
}

impl Setup {
    /// `tile` is the whole image when there is one; without it (a window of a mosaic), a
    /// model that needs the whole image's statistics is refused.
    pub(crate) fn new(
        members: &[CraterCnn],
        tile: Option<&Tile>,
        config: &ValidDetectConfig,
        (w, h): (usize, usize),
    ) -> Result<Setup> {
        let model = check_members(members)?;
        let convolves = model.config().input_norm.convolves();
        let method = match config.scan {
            ScanMethod::Auto if convolves => ScanMethod::Dense,
            ScanMethod::Auto => ScanMethod::Windows,
            other => other,
        };
        // Refused for a per-window normalisation, with the model's own message.
        let dense = match method {
            ScanMethod::Dense => members
                .iter()
                .map(CraterCnn::dense)
                .collect::<std::result::Result<_, _>>()?,
            _ => Vec::new(),
        };
        // A model trained on standardised tiles scans a standardised image; the map is
        // applied while level pixels are sampled, so the image is never copied.
        let table = match (model.config().input_norm, tile) {
            (InputNorm::PerTile, Some(tile)) => tile.stretch_table(Stretch::Standardise),
            (InputNorm::PerTile, None) => return Err(Error::NeedsWholeImage),
            (_, Some(tile)) => tile.stretch_table(Stretch::None),
            (_, None) => std::array::from_fn(|p| p as u8),
        };
        // A model trained on locally standardised blocks scans locally standardised levels:
        // each region is sampled with a margin of half the square and standardised.
        let local = model.config().input_norm == InputNorm::Local;
        let plans = plan_levels(model, config, w, h);
        if plans.is_empty() {
            return Err(Error::ImageTooSmall {
                width: w,
                height: h,
                window: 2.0 * (config.min_diameter / 2.0 * BLOCK_PER_CRATER_RADIUS).round() + 1.0,
            });
        }
        Ok(Setup {
            method,
            dense,
            local,
            table,
            plans,
            image_size: (w, h),
        })
    }

    /// The windows of the piece `cols × rows` at `plan`'s level.
    pub(crate) fn region(
        &self,
        plan: &LevelPlan,
        (c0, c1): (usize, usize),
        (r0, r1): (usize, usize),
    ) -> Region {
        let (tile_w, tile_h) = self.image_size;
        let (l, s) = (&plan.level, plan.step);
        let (i0, i1) = owned(c0, c1, l.width, tile_w, s);
        let (j0, j1) = owned(r0, r1, l.height, tile_h, s);
        let (n_cols, n_rows) = (l.width.div_ceil(s), l.height.div_ceil(s));
        let ext = |a0: usize, a1: usize, n: usize| (a0.saturating_sub(1), (a1 + 1).min(n));
        Region {
            owned: ((i0, i1), (j0, j1)),
            grid: (ext(i0, i1, n_cols), ext(j0, j1, n_rows)),
            step: s,
        }
    }

    /// The level columns and rows sampled for a region: under its windows, plus half the
    /// local square around them when levels are standardised locally.
    pub(crate) fn request(
        &self,
        plan: &LevelPlan,
        r: &Region,
    ) -> (std::ops::Range<i64>, std::ops::Range<i64>) {
        let ((e0, _), (f0, _)) = r.grid;
        let s = plan.step;
        let half = (PATCH_SIDE / 2) as i64;
        // The window around grid point x spans level pixels x − 24 ..= x + 23.
        let left = (e0 * s) as i64 - half;
        let top = (f0 * s) as i64 - half;
        let (w, h) = (r.width() as i64, r.height() as i64);
        let m = if self.local { (LOCAL_SIDE / 2) as i64 } else { 0 };
        (left - m..left + w + m, top - m..top + h + m)
    }

    /// Scores the windows the `pieces` own, from `window`; returns their hypotheses and the
    /// number of windows.
    pub(crate) fn scan(
        &self,
        members: &[CraterCnn],
        config: &ValidDetectConfig,
        window: &ImageWindow,
        pieces: &[Piece],
        progress: &dyn ScanProgress,
    ) -> Result<(Vec<Detection>, usize)> {
        let (tile_w, tile_h) = self.image_size;
        // Every region's size is known before anything is sampled: checked, and the work total.
        let mut total = 0u64;
        for plan in &self.plans {
            for &(cols, rows) in pieces {
                let r = self.region(plan, cols, rows);
                if r.is_empty() {
                    continue;
                }
                let pixels = r.width() * r.height();
                if pixels > MAX_LEVEL_PIXELS {
                    return Err(Error::LevelTooLarge {
                        diameter: config.min_diameter,
                        piece: config.piece,
                        pixels,
                    });
                }
                total += pixels as u64;
            }
        }
        progress.started(total);
        let mut hypotheses = Vec::new();
        let mut windows = 0;
        for &(cols, rows) in pieces {
            for plan in &self.plans {
                let r = self.region(plan, cols, rows);
                if r.is_empty() {
                    continue;
                }
                let (((i0, i1), (j0, j1)), ((e0, e1), (f0, f1))) = (r.owned, r.grid);
                let s = plan.step;
                let (w, h) = (r.width(), r.height());
                let (level_cols, level_rows) = self.request(plan, &r);
                let sampled = plan
                    .level
                    .region_in(window, &self.table, level_cols.clone(), level_rows.clone())
                    .ok_or_else(|| {
                        let (c, rr) = plan.level.source_rect(level_cols, level_rows);
                        Error::WindowTooSmall {
                            needed: format!("{c:?} × {rr:?}"),
                            x0: window.x0,
                            y0: window.y0,
                            width: window.pixels.width() as usize,
                            height: window.pixels.height() as usize,
                        }
                    })?;
                let pixels = if self.local {
                    standardise_locally(&sampled, w + LOCAL_SIDE, h + LOCAL_SIDE, LOCAL_SIDE)
                } else {
                    sampled
                };
                let scores = if self.dense.is_empty() {
                    let mut each = members
                        .iter()
                        .map(|m| score_windows(m, &pixels, w, (e1 - e0, f1 - f0), s, config.batch_size));
                    mean_scores(&mut each)?
                } else {
                    mean_scores(&mut self.dense.iter().map(|net| score_dense(net, &pixels, w, h, s)))?
                };
                let xs: Vec<usize> = (e0..e1).map(|i| i * s).collect();
                let ys: Vec<usize> = (f0..f1).map(|j| j * s).collect();
                // Its centre is the pixel edge x, which is the image edge x / scale, or image
                // pixel x / scale − 0.5.
                let to_tile = |u: f64, level_side: usize, side: usize| {
                    let scale = level_side as f64 / side as f64;
                    (u / scale - 0.5).clamp(0.0, (side - 1) as f64)
                };
                for peak in find_peaks(&scores, &xs, &ys, s, config.min_score) {
                    let (i, j) = (peak.i + e0, peak.j + f0);
                    if !((i0..i1).contains(&i) && (j0..j1).contains(&j)) {
                        continue; // the neighbouring piece's window
                    }
                    let circle = Circle {
                        x: to_tile(peak.x, plan.level.width, tile_w),
                        y: to_tile(peak.y, plan.level.height, tile_h),
                        r: plan.crater_radius,
                    };
                    if border_distance(&circle, (tile_w, tile_h)) < config.border_margin * circle.r {
                        continue; // partly outside the image, where the mirrored border misleads
                    }
                    hypotheses.push(Detection {
                        circle,
                        score: peak.score,
                    });
                }
                windows += (i1 - i0) * (j1 - j0);
                progress.advanced((w * h) as u64);
            }
        }
        progress.finished();
        Ok((hypotheses, windows))
    }
}

/// Distance from a circle's centre (image pixel coordinates: pixel `i` spans `i − 0.5` to
/// `i + 0.5`) to the nearest border of an image of `size` (columns, rows).
fn border_distance(c: &Circle, size: (usize, usize)) -> f64 {
    let (w, h) = (size.0 as f64, size.1 as f64);
    (c.x + 0.5).min(c.y + 0.5).min(w - 0.5 - c.x).min(h - 0.5 - c.y)
}

/// The windows of one piece at one level: the grid points it owns and the grid it scores.
pub(crate) struct Region {
    /// Owned grid columns and rows.
    owned: ((usize, usize), (usize, usize)),
    /// Scored grid columns and rows: the owned ones and one more on each side.
    grid: ((usize, usize), (usize, usize)),
    step: usize,
}

impl Region {
    pub(crate) fn is_empty(&self) -> bool {
        let ((i0, i1), (j0, j1)) = self.owned;
        i0 >= i1 || j0 >= j1
    }
    /// Level pixels under the scored windows, across.
    fn width(&self) -> usize {
        let (e0, e1) = self.grid.0;
        (e1 - e0 - 1) * self.step + PATCH_SIDE
    }
    /// Level pixels under the scored windows, down.
    fn height(&self) -> usize {
        let (f0, f1) = self.grid.1;
        (f1 - f0 - 1) * self.step + PATCH_SIDE
    }
}

/// The first member, after checking that there is one and that all share its
/// architecture and input (an ensemble scores the same windows with each).
pub(crate) fn check_members(members: &[CraterCnn]) -> Result<&CraterCnn> {
    let first = members.first().ok_or(Error::NoMembers)?;
    if let Some((i, _)) = members
        .iter()
        .enumerate()
        .find(|(_, m)| m.config() != first.config())
    {
        return Err(Error::MemberMismatch { member: i + 1 });
    }
    Ok(first)
}

/// The window-by-window mean of the members' score grids; one member's scores unchanged.
pub(crate) fn mean_scores(each: &mut dyn Iterator<Item = Result<Vec<f32>>>) -> Result<Vec<f32>> {
    let mut sum = match each.next() {
        Some(first) => first?,
        None => return Err(Error::NoMembers),
    };
    let mut n = 1usize;
    for scores in each {
        for (a, b) in sum.iter_mut().zip(scores?) {
            *a += b;
        }
        n += 1;
    }
    if n > 1 {
        let inv = 1.0 / n as f32;
        sum.iter_mut().for_each(|a| *a *= inv);
    }
    Ok(sum)
}

/// Scores of the windows at every `step` of the region, in one fully convolutional pass.
fn score_dense(net: &DenseNet, pixels: &[f32], w: usize, h: usize, step: usize) -> Result<Vec<f32>> {
    Ok(net.window_scores(pixels, w, h, step)?.scores)
}

/// Scores of the `cols × rows` windows at every `step` of the region (row-major), each cut
/// out and scored on its own: the reference for [`score_dense`].
fn score_windows(
    model: &CraterCnn,
    pixels: &[f32],
    width: usize,
    (cols, rows): (usize, usize),
    step: usize,
    batch: usize,
) -> Result<Vec<f32>> {
    let corners: Vec<(usize, usize)> = (0..rows)
        .flat_map(|j| (0..cols).map(move |i| (i * step, j * step)))
        .collect();
    let mut scores = Vec::with_capacity(corners.len());
    for chunk in corners.chunks(batch) {
        let windows = cut_windows(pixels, width, chunk);
        scores.extend(model.logits(&windows)?.into_iter().map(sigmoid));
    }
    Ok(scores)
}

/// The 48×48 windows with top-left `corners` of the `width`-wide region, row-major.
fn cut_windows(pixels: &[f32], width: usize, corners: &[(usize, usize)]) -> Vec<f32> {
    let mut out = vec![0.0f32; corners.len() * PATCH_PIXELS];
    out.par_chunks_mut(PATCH_PIXELS)
        .zip(corners)
        .for_each(|(window, &(x, y))| {
            for (dy, row) in window.chunks_mut(PATCH_SIDE).enumerate() {
                let start = (y + dy) * width + x;
                row.copy_from_slice(&pixels[start..start + PATCH_SIDE]);
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_pieces_own_every_grid_point_once() {
        for (image, level, step) in [
            (1700usize, 2205usize, 6usize),
            (1700, 181, 3),
            (97, 61, 1),
            (20_000, 25_946, 6),
        ] {
            let n = level.div_ceil(step);
            for piece in [64, 100, 2048] {
                let mut next = 0;
                for from in (0..image).step_by(piece) {
                    let (a, b) = owned(from, (from + piece).min(image), level, image, step);
                    if a < b {
                        assert_eq!(
                            a, next,
                            "gap or overlap at {from} ({image} {level} {step} {piece})"
                        );
                        next = b;
                    }
                }
                assert_eq!(next, n, "{image} {level} {step} {piece}");
            }
        }
    }
}
