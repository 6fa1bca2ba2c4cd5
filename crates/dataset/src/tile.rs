//! A whole grayscale image to scan or cut blocks from: the HRSC benchmark tiles, and any
//! image a detector runs over.

use std::path::Path;

use image::GrayImage;
use image::imageops::FilterType;
use rayon::prelude::*;

use crate::error::Result;
use crate::image_io::{decode_image, decode_image_file};

/// How a tile's gray values are mapped before blocks or windows are cut from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stretch {
    /// As the file holds them.
    #[default]
    None,
    /// The whole tile standardised: its mean to [`STRETCH_MEAN`], its standard deviation to
    /// [`STRETCH_STD`] (clamped to 0–255). One affine map per image, so every window of the
    /// image sees the same map: unlike a per-window standardisation, it commutes with a
    /// convolution, and a detector can run over the image fully convolutionally. The HRSC
    /// tiles' standard deviations range from 6.6 to 21.7 gray levels.
    Standardise,
    /// Each pixel standardised over the window-sized square around it, at the window's
    /// scale ([`standardise_locally`]): contrast normalisation that adapts to the crater
    /// size as a per-window standardisation does, but the same for every window that holds
    /// the pixel, so it too lets a detector run fully convolutionally. Applied to blocks
    /// when they are cut (from a three times larger crop, for the squares around the
    /// block's edge pixels) and to each pyramid level when an image is scanned.
    Local,
}

impl Stretch {
    /// Whether this is [`Stretch::None`].
    pub fn is_none(&self) -> bool {
        *self == Stretch::None
    }
}

/// Gray level a [`Stretch::Standardise`]d tile's mean is moved to.
pub const STRETCH_MEAN: f64 = 128.0;
/// Gray levels a [`Stretch::Standardise`]d tile's standard deviation is scaled to.
pub const STRETCH_STD: f64 = 32.0;

/// An 8-bit grayscale image; x is the column from the left, y the row from the top.
#[derive(Debug, Clone)]
pub struct Tile {
    image: GrayImage,
    /// Blocks are cut [`Stretch::Local`]-standardised.
    pub(crate) local: bool,
}

impl Tile {
    /// Reads a PGM or PNG (any image the `image` crate decodes; colour is converted to luma),
    /// streamed from the file: a big image is held once, decoded.
    pub fn load(path: &Path) -> Result<Self> {
        let image = decode_image_file(path, "a PGM or PNG tile")?.into_luma8();
        Ok(Tile { image, local: false })
    }

    /// Decodes the bytes of a tile image; `path` names it in errors. Its size is checked
    /// against [`MAX_IMAGE_BYTES`](crate::MAX_IMAGE_BYTES) before decoding.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Self> {
        let image = decode_image(path, bytes, "a PGM or PNG tile")?.into_luma8();
        Ok(Tile { image, local: false })
    }

    /// A tile from a grayscale image.
    pub fn from_image(image: GrayImage) -> Self {
        Tile { image, local: false }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.image.width() as usize
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.image.height() as usize
    }

    /// The image.
    pub fn image(&self) -> &GrayImage {
        &self.image
    }

    /// The tile with its gray values mapped by `stretch` (a flat tile stays flat, at the
    /// stretch's mean).
    pub fn stretched(&self, stretch: Stretch) -> Tile {
        match stretch {
            Stretch::None => self.clone(),
            // The gray values stay; blocks are standardised as they are cut.
            Stretch::Local => Tile {
                local: true,
                ..self.clone()
            },
            Stretch::Standardise => {
                let table = self.stretch_table(stretch);
                let mut image = self.image.clone();
                for p in image.iter_mut() {
                    *p = table[usize::from(*p)];
                }
                Tile { image, local: false }
            }
        }
    }

    /// What `stretch` maps each gray value of this tile to: a lookup table, so that a big
    /// image can be mapped while it is read instead of copied.
    pub fn stretch_table(&self, stretch: Stretch) -> [u8; 256] {
        match stretch {
            Stretch::None | Stretch::Local => std::array::from_fn(|p| p as u8),
            Stretch::Standardise => {
                let mut histogram = [0u64; 256];
                for &p in self.image.as_raw() {
                    histogram[usize::from(p)] += 1;
                }
                // Integer sums: the statistics do not depend on any order.
                let n = histogram.iter().sum::<u64>().max(1) as f64;
                let sum: u64 = histogram.iter().enumerate().map(|(p, &c)| p as u64 * c).sum();
                let sum_sq: u64 = histogram
                    .iter()
                    .enumerate()
                    .map(|(p, &c)| (p * p) as u64 * c)
                    .sum();
                let mean = sum as f64 / n;
                let std = (sum_sq as f64 / n - mean * mean).max(0.0).sqrt();
                let gain = if std > 0.0 { STRETCH_STD / std } else { 0.0 };
                std::array::from_fn(|p| {
                    ((p as f64 - mean) * gain + STRETCH_MEAN)
                        .round()
                        .clamp(0.0, 255.0) as u8
                })
            }
        }
    }

    /// The tile scaled by `factor` with the block filter (the pyramid level where a block
    /// of side `48 / factor` becomes 48 pixels).
    pub fn scaled(&self, factor: f64) -> GrayImage {
        let w = ((self.width() as f64 * factor).round() as u32).max(1);
        let h = ((self.height() as f64 * factor).round() as u32).max(1);
        image::imageops::resize(&self.image, w, h, FilterType::Triangle)
    }
}

/// Side of the square [`standardise_locally`] takes each pixel's statistics over: the
/// network's 48-pixel window.
pub const LOCAL_SIDE: usize = 48;
/// Added to the local standard deviation (pixels in [0, 1]), so that a flat square stays
/// finite; as in the network's per-image standardisation.
pub const LOCAL_EPSILON: f64 = 1e-3;

/// Each pixel of the `width × height` image (pixels in [0, 1], row-major) at least
/// `side / 2` from its border, standardised by the mean and standard deviation of the
/// `side × side` square `[x − side/2, x + side/2)²` around it, then put back on the 8-bit
/// scale of [`Stretch::Standardise`] (`round(128 + 32 z)`, clamped to 0–255, divided by 255):
/// the `(width − side) × (height − side)` inner pixels, row-major. Sums run in f64 over
/// summed-area tables, so each pixel costs the same whatever the side.
pub fn standardise_locally(pixels: &[f32], width: usize, height: usize, side: usize) -> Vec<f32> {
    assert_eq!(pixels.len(), width * height);
    let half = side / 2;
    if width < side || height < side {
        return Vec::new();
    }
    // Summed-area tables of values and squares, (w + 1) × (h + 1).
    let stride = width + 1;
    let mut sum = vec![0.0f64; stride * (height + 1)];
    let mut sum_sq = vec![0.0f64; stride * (height + 1)];
    for y in 0..height {
        let (mut row, mut row_sq) = (0.0f64, 0.0f64);
        for x in 0..width {
            let v = f64::from(pixels[y * width + x]);
            row += v;
            row_sq += v * v;
            sum[(y + 1) * stride + x + 1] = sum[y * stride + x + 1] + row;
            sum_sq[(y + 1) * stride + x + 1] = sum_sq[y * stride + x + 1] + row_sq;
        }
    }
    let box_sum = |t: &[f64], x0: usize, y0: usize| {
        t[(y0 + side) * stride + x0 + side] - t[y0 * stride + x0 + side] - t[(y0 + side) * stride + x0]
            + t[y0 * stride + x0]
    };
    let n = (side * side) as f64;
    let (out_w, out_h) = (width - side, height - side);
    let mut out = vec![0.0f32; out_w * out_h];
    // Rows in parallel: each value depends on the tables alone, so on no thread count.
    out.par_chunks_mut(out_w.max(1))
        .enumerate()
        .for_each(|(row, out_row)| {
            let (y0, y) = (row, row + half);
            for (col, value) in out_row.iter_mut().enumerate() {
                let (x0, x) = (col, col + half);
                let mean = box_sum(&sum, x0, y0) / n;
                let var = (box_sum(&sum_sq, x0, y0) / n - mean * mean).max(0.0);
                let z = (f64::from(pixels[y * width + x]) - mean) / (var.sqrt() + LOCAL_EPSILON);
                *value = ((STRETCH_MEAN + STRETCH_STD * z).round().clamp(0.0, 255.0) / 255.0) as f32;
            }
        });
    out
}

/// Index `i` mirrored into `0..n` without repeating the edge pixel (numpy's "reflect").
pub fn reflect(i: i64, n: usize) -> i64 {
    let n = n as i64;
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    if m < n { m } else { period - m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_mirrors_without_repeating_the_edge() {
        let got: Vec<i64> = (-3..8).map(|i| reflect(i, 5)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    }

    #[test]
    fn standardising_moves_the_mean_and_spread_and_keeps_a_flat_tile_flat() {
        // Half 100, half 110: mean 105, std 5 → 128 ∓ 32.
        let image = GrayImage::from_fn(4, 2, |x, _| image::Luma([if x < 2 { 100 } else { 110 }]));
        let tile = Tile::from_image(image).stretched(Stretch::Standardise);
        assert_eq!(tile.image().as_raw(), &[96, 96, 160, 160, 96, 96, 160, 160]);
        let flat = Tile::from_image(GrayImage::from_pixel(3, 3, image::Luma([7])));
        assert!(
            flat.stretched(Stretch::Standardise)
                .image()
                .iter()
                .all(|&p| p == 128)
        );
        assert_eq!(
            flat.stretched(Stretch::None).image().as_raw(),
            flat.image().as_raw()
        );
    }
}
