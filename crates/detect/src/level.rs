//! Pyramid levels, sampled piece by piece: any rectangle of a level, computed from the
//! image alone, so that a big image is scanned in pieces whose level pixels are exactly
//! those of the whole level.
//!
//! Why not `image::imageops::resize` of the whole image: a level of a 20,000² image at the
//! smallest crater size is 26,000² floats, and resizing a piece of the image samples at
//! positions that depend on the piece's size. Here every level pixel is a fixed weighted sum
//! of image pixels (a separable triangle filter, widened by the scale when shrinking, as
//! `resize` with `FilterType::Triangle` does), so a rectangle costs only its own pixels and
//! holds the same values whichever piece it was computed for.

use image::GrayImage;
use rayon::prelude::*;

/// One axis of a level: for each level index, the first image index it reads and the
/// normalised weights from there.
#[derive(Debug, Clone)]
struct Axis {
    taps: Vec<(usize, Vec<f32>)>,
}

impl Axis {
    fn new(image: usize, level: usize) -> Axis {
        let ratio = image as f64 / level as f64;
        // Shrinking widens the triangle to cover every image pixel; enlarging interpolates.
        let support = ratio.max(1.0);
        let taps = (0..level)
            .map(|u| {
                let centre = (u as f64 + 0.5) * ratio;
                let left = ((centre - support).floor().max(0.0) as usize).min(image - 1);
                let right = ((centre + support).ceil() as usize).clamp(left + 1, image);
                let mut weights: Vec<f64> = (left..right)
                    .map(|i| (1.0 - ((i as f64 + 0.5 - centre) / support).abs()).max(0.0))
                    .collect();
                let sum: f64 = weights.iter().sum();
                if sum > 0.0 {
                    weights.iter_mut().for_each(|w| *w /= sum);
                } else {
                    weights.iter_mut().for_each(|w| *w = 1.0 / (right - left) as f64);
                }
                (left, weights.into_iter().map(|w| w as f32).collect())
            })
            .collect();
        Axis { taps }
    }

    /// Image indices the level indices `range` read.
    fn reads(&self, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let first = self.taps[range.start].0;
        let last = range
            .map(|u| self.taps[u].0 + self.taps[u].1.len())
            .max()
            .unwrap_or(first);
        first..last
    }
}

/// A pyramid level: the image scaled to `width × height`.
#[derive(Debug, Clone)]
pub struct Level {
    /// Level columns.
    pub width: usize,
    /// Level rows.
    pub height: usize,
    x: Axis,
    y: Axis,
}

impl Level {
    /// The level of a `image_width × image_height` image scaled by `factor` (sides rounded,
    /// at least 1).
    pub fn new(image_width: usize, image_height: usize, factor: f64) -> Level {
        let width = ((image_width as f64 * factor).round() as usize).max(1);
        let height = ((image_height as f64 * factor).round() as usize).max(1);
        Level {
            width,
            height,
            x: Axis::new(image_width, width),
            y: Axis::new(image_height, height),
        }
    }

    /// The level pixels at columns `cols` and rows `rows` (level coordinates, which may lie
    /// outside the level: they are mirrored into it as [`craters_dataset::reflect`] does),
    /// row-major, each image pixel first mapped through `table` and then scaled to [0, 1].
    pub fn region(
        &self,
        image: &GrayImage,
        table: &[u8; 256],
        cols: std::ops::Range<i64>,
        rows: std::ops::Range<i64>,
    ) -> Vec<f32> {
        self.region_in(&ImageWindow::whole(image), table, cols, rows)
            .unwrap_or_default()
    }

    /// The level indices of `cols` and `rows`, mirrored into the level.
    fn mirrored(&self, cols: std::ops::Range<i64>, rows: std::ops::Range<i64>) -> (Vec<usize>, Vec<usize>) {
        let mirror = |i: i64, n: usize| craters_dataset::reflect(i, n) as usize;
        (
            cols.map(|u| mirror(u, self.width)).collect(),
            rows.map(|v| mirror(v, self.height)).collect(),
        )
    }

    /// The image columns and rows that [`Level::region`] of `cols × rows` reads (empty
    /// ranges for an empty request).
    pub fn source_rect(
        &self,
        cols: std::ops::Range<i64>,
        rows: std::ops::Range<i64>,
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let (col_index, row_index) = self.mirrored(cols, rows);
        let (level_cols, level_rows) = (span(&col_index), span(&row_index));
        if level_cols.is_empty() || level_rows.is_empty() {
            return (0..0, 0..0);
        }
        (self.x.reads(level_cols), self.y.reads(level_rows))
    }

    /// [`Level::region`] from a window of the image; `None` when the window does not hold
    /// every image pixel the rectangle reads ([`Level::source_rect`]).
    pub fn region_in(
        &self,
        window: &ImageWindow,
        table: &[u8; 256],
        cols: std::ops::Range<i64>,
        rows: std::ops::Range<i64>,
    ) -> Option<Vec<f32>> {
        let (col_index, row_index) = self.mirrored(cols, rows);
        // The level rectangle the mirrored indices cover, and the image pixels it reads.
        let (level_cols, level_rows) = (span(&col_index), span(&row_index));
        if level_cols.is_empty() || level_rows.is_empty() {
            return Some(Vec::new());
        }
        let image_cols = self.x.reads(level_cols.clone());
        let image_rows = self.y.reads(level_rows.clone());
        let (x0, y0) = (window.x0, window.y0);
        let (ww, wh) = (window.pixels.width() as usize, window.pixels.height() as usize);
        if image_cols.start < x0
            || image_cols.end > x0 + ww
            || image_rows.start < y0
            || image_rows.end > y0 + wh
        {
            return None;
        }
        let raw = window.pixels.as_raw();
        let stride = ww;
        // Window-local columns of the image columns read.
        let local_cols = image_cols.start - x0..image_cols.end - x0;
        let lut: [f32; 256] = std::array::from_fn(|p| f32::from(table[p]) / 255.0);
        // Vertical pass (image columns of the rectangle) then horizontal, per level row.
        let rect: Vec<Vec<f32>> = level_rows
            .clone()
            .into_par_iter()
            .map(|v| {
                let (top, weights) = &self.y.taps[v];
                let mut column_sums = vec![0.0f32; image_cols.len()];
                for (dy, &w) in weights.iter().enumerate() {
                    let row = &raw[(top + dy - y0) * stride..][local_cols.clone()];
                    for (sum, &p) in column_sums.iter_mut().zip(row) {
                        *sum += w * lut[usize::from(p)];
                    }
                }
                (level_cols.clone())
                    .map(|u| {
                        let (left, weights) = &self.x.taps[u];
                        let start = left - image_cols.start;
                        weights
                            .iter()
                            .zip(&column_sums[start..start + weights.len()])
                            .map(|(w, s)| w * s)
                            .sum()
                    })
                    .collect()
            })
            .collect();
        let mut out = Vec::with_capacity(col_index.len() * row_index.len());
        for &r in &row_index {
            let row = &rect[r - level_rows.start];
            out.extend(col_index.iter().map(|&c| row[c - level_cols.start]));
        }
        Some(out)
    }
}

/// The range from the smallest to the largest index (empty for none).
fn span(idx: &[usize]) -> std::ops::Range<usize> {
    let lo = idx.iter().copied().min().unwrap_or(0);
    let hi = idx.iter().copied().max().map_or(0, |m| m + 1);
    lo..hi
}

/// A rectangle of a larger image: its pixels and where its top-left pixel lies in the
/// image, so that a mosaic can be scanned window by window (one task each) with the level
/// pixels of the whole.
#[derive(Debug, Clone, Copy)]
pub struct ImageWindow<'a> {
    /// The window's pixels.
    pub pixels: &'a GrayImage,
    /// Image column of its first column.
    pub x0: usize,
    /// Image row of its first row.
    pub y0: usize,
}

impl<'a> ImageWindow<'a> {
    /// The whole image as a window.
    pub fn whole(pixels: &'a GrayImage) -> Self {
        ImageWindow { pixels, x0: 0, y0: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = i as u8;
            i += 1;
        }
        t
    };

    fn ramp(w: u32, h: u32) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 5 + y * 3) % 256) as u8]))
    }

    #[test]
    fn a_level_at_scale_one_is_the_image_and_weights_sum_to_one() {
        let image = ramp(40, 30);
        let level = Level::new(40, 30, 1.0);
        let all = level.region(&image, &IDENTITY, 0..40, 0..30);
        for (v, p) in all.iter().zip(image.as_raw()) {
            assert!((v * 255.0 - f32::from(*p)).abs() < 1e-3);
        }
        for factor in [0.3, 0.77, 1.6] {
            let level = Level::new(40, 30, factor);
            for (_, w) in level.x.taps.iter().chain(&level.y.taps) {
                assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn a_rectangle_holds_the_same_values_as_the_whole_level_and_mirrors_outside_it() {
        let image = ramp(97, 61);
        let level = Level::new(97, 61, 0.61);
        let (w, h) = (level.width as i64, level.height as i64);
        let whole = level.region(&image, &IDENTITY, 0..w, 0..h);
        let part = level.region(&image, &IDENTITY, -7..w / 2, 5..h + 4);
        let cols = (w / 2 + 7) as usize;
        for (j, v) in (5..h + 4).enumerate() {
            for (i, u) in (-7..w / 2).enumerate() {
                let (mu, mv) = (
                    craters_dataset::reflect(u, w as usize),
                    craters_dataset::reflect(v, h as usize),
                );
                assert_eq!(part[j * cols + i], whole[(mv * w + mu) as usize], "{u},{v}");
            }
        }
    }

    #[test]
    fn the_table_maps_pixels_before_sampling() {
        let image = GrayImage::from_pixel(8, 8, image::Luma([10]));
        let mut table = IDENTITY;
        table[10] = 255;
        let level = Level::new(8, 8, 0.5);
        assert!(
            level
                .region(&image, &table, 0..4, 0..4)
                .iter()
                .all(|&v| (v - 1.0).abs() < 1e-6)
        );
    }
}
