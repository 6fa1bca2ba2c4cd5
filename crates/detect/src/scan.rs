//! Scanning: the image pyramid, the windows of each level, their scores and the score
//! maps' peaks.

use std::time::Instant;

use craters_dataset::hrsc::BLOCK_PER_CRATER_RADIUS;
use craters_dataset::{Dataset, PATCH_PIXELS, PATCH_SIDE, Tile, reflect};
use craters_metrics::detection::{Circle, Detection};
use craters_model::CraterCnn;
use image::GrayImage;
use rayon::prelude::*;

use crate::config::ValidDetectConfig;
use crate::error::Error;
use crate::error::Result;
use crate::suppress::suppress_overlaps;

/// The most pixels of one pyramid level (256 MiB of 8-bit pixels): the smallest crater
/// diameter on a large image sets it.
pub const MAX_LEVEL_PIXELS: usize = 1 << 28;

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
pub fn detect(model: &CraterCnn, tile: &Tile, config: &ValidDetectConfig) -> Result<TileDetections> {
    let started = Instant::now();
    let (tile_w, tile_h) = (tile.width() as f64, tile.height() as f64);
    // A level is scanned when its window fits the image; the smallest window sets the
    // largest level, whose size is checked before anything is scaled.
    let levels: Vec<(f64, f64)> = config
        .radii()
        .into_iter()
        .map(|radius| (radius, (radius * BLOCK_PER_CRATER_RADIUS).round()))
        .filter(|&(_, r)| 2.0 * r + 1.0 <= tile_w.min(tile_h))
        .collect();
    let Some(&(smallest, r)) = levels.first() else {
        return Err(Error::ImageTooSmall {
            width: tile.width(),
            height: tile.height(),
            window: 2.0 * (config.min_diameter / 2.0 * BLOCK_PER_CRATER_RADIUS).round() + 1.0,
        });
    };
    let factor = PATCH_SIDE as f64 / (2.0 * r + 1.0);
    let level_pixels = (tile_w * factor).round() * (tile_h * factor).round();
    if level_pixels > MAX_LEVEL_PIXELS as f64 {
        return Err(Error::LevelTooLarge {
            diameter: 2.0 * smallest,
            pixels: level_pixels,
        });
    }
    let mut hypotheses = Vec::new();
    let mut windows = 0;
    for (crater_radius, r) in levels {
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
        for peak in find_peaks(&scores, &xs, &ys, step, config.min_score) {
            hypotheses.push(Detection {
                circle: Circle {
                    x: to_tile(peak.x, w, tile.width()),
                    y: to_tile(peak.y, h, tile.height()),
                    r: crater_radius,
                },
                score: peak.score,
            });
        }
    }
    let detections = suppress_overlaps(&hypotheses, config.nms_overlap, config.nms_radius_ratio);
    Ok(TileDetections {
        detections,
        windows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A local maximum of a level's score grid: a crater hypothesis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Grid column.
    pub i: usize,
    /// Grid row.
    pub j: usize,
    /// Its score.
    pub score: f64,
    /// Refined centre in level pixels: the score-weighted mean of the 3×3 neighbourhood's
    /// positions, neighbours under half the peak's score left out.
    pub x: f64,
    /// Refined centre row in level pixels.
    pub y: f64,
}

/// The local maxima of the row-major score grid over window centres `xs` × `ys` (level
/// pixels, `step` apart) that score at least `min_score`, in scan order. A grid point is a
/// maximum when no 3×3 neighbour scores higher; ties break towards the first in scan order,
/// so a plateau gives one peak.
pub fn find_peaks(scores: &[f32], xs: &[usize], ys: &[usize], step: usize, min_score: f64) -> Vec<Peak> {
    debug_assert_eq!(scores.len(), xs.len() * ys.len());
    let mut peaks = Vec::new();
    for (j, &y) in ys.iter().enumerate() {
        for (i, &x) in xs.iter().enumerate() {
            let score = scores[j * xs.len() + i];
            if f64::from(score) < min_score {
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
                    if s > score || (s == score && (dj, di) < (0, 0)) {
                        is_peak = false;
                    }
                    let weight = (f64::from(s) - 0.5 * f64::from(score)).max(0.0);
                    sum += weight;
                    sx += weight * (x as f64 + di as f64 * step as f64);
                    sy += weight * (y as f64 + dj as f64 * step as f64);
                }
            }
            if is_peak {
                peaks.push(Peak {
                    i,
                    j,
                    score: f64::from(score),
                    x: sx / sum,
                    y: sy / sum,
                });
            }
        }
    }
    peaks
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Peaks of a grid whose centres are its indices times `step` = 1.
    fn peaks(scores: &[f32], cols: usize, min_score: f64) -> Vec<Peak> {
        let xs: Vec<usize> = (0..cols).collect();
        let ys: Vec<usize> = (0..scores.len() / cols).collect();
        find_peaks(scores, &xs, &ys, 1, min_score)
    }

    #[test]
    fn one_peak_per_maximum_and_none_below_the_minimum_score() {
        #[rustfmt::skip]
        let scores = [
            0.1, 0.2, 0.1, 0.0, 0.0,
            0.2, 0.9, 0.2, 0.0, 0.6,
            0.1, 0.2, 0.1, 0.0, 0.0,
        ];
        let found = peaks(&scores, 5, 0.5);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            (found[0].i, found[0].j, found[0].score),
            (1, 1, f64::from(0.9f32))
        );
        // Symmetric neighbours under half the score: the centre stays on the grid point.
        assert_eq!((found[0].x, found[0].y), (1.0, 1.0));
        // A maximum at the grid's edge counts; its missing neighbours are simply absent.
        assert_eq!((found[1].i, found[1].j, found[1].x, found[1].y), (4, 1, 4.0, 1.0));
        assert!(peaks(&scores, 5, 0.95).is_empty());
    }

    #[test]
    fn a_plateau_gives_one_peak_and_a_strong_neighbour_pulls_the_centre() {
        let plateau = [0.8f32, 0.8, 0.8, 0.8];
        let found = peaks(&plateau, 2, 0.5);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].i, found[0].j), (0, 0), "the first in scan order");
        // Row 0.9, 0.8 (weights 0.45 and 0.35) with step 10: x = (0·0.45 + 10·0.35) / 0.8.
        let xs = [0, 10];
        let found = find_peaks(&[0.9, 0.8], &xs, &[0], 10, 0.5);
        assert_eq!(found.len(), 1);
        let w0 = f64::from(0.9f32) - 0.5 * f64::from(0.9f32);
        let w1 = f64::from(0.8f32) - 0.5 * f64::from(0.9f32);
        assert!((found[0].x - 10.0 * w1 / (w0 + w1)).abs() < 1e-12, "{found:?}");
        assert_eq!(found[0].y, 0.0);
    }

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
