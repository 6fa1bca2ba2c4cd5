//! A whole grayscale image to scan or cut blocks from: the HRSC benchmark tiles, and any
//! image a detector runs over.

use std::path::Path;

use image::GrayImage;
use image::imageops::FilterType;

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
}

impl Tile {
    /// Reads a PGM or PNG (any image the `image` crate decodes; colour is converted to luma),
    /// streamed from the file: a big image is held once, decoded.
    pub fn load(path: &Path) -> Result<Self> {
        let image = decode_image_file(path, "a PGM or PNG tile")?.into_luma8();
        Ok(Tile { image })
    }

    /// Decodes the bytes of a tile image; `path` names it in errors. Its size is checked
    /// against [`MAX_IMAGE_BYTES`](crate::MAX_IMAGE_BYTES) before decoding.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Self> {
        let image = decode_image(path, bytes, "a PGM or PNG tile")?.into_luma8();
        Ok(Tile { image })
    }

    /// A tile from a grayscale image.
    pub fn from_image(image: GrayImage) -> Self {
        Tile { image }
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
        if stretch.is_none() {
            return self.clone();
        }
        let table = self.stretch_table(stretch);
        let mut image = self.image.clone();
        for p in image.iter_mut() {
            *p = table[usize::from(*p)];
        }
        Tile { image }
    }

    /// What `stretch` maps each gray value of this tile to: a lookup table, so that a big
    /// image can be mapped while it is read instead of copied.
    pub fn stretch_table(&self, stretch: Stretch) -> [u8; 256] {
        match stretch {
            Stretch::None => std::array::from_fn(|p| p as u8),
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
