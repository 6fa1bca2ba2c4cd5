//! A whole grayscale image to scan or cut blocks from: the HRSC benchmark tiles, and any
//! image a detector runs over.

use std::path::Path;

use image::GrayImage;
use image::imageops::FilterType;

use crate::error::Result;
use crate::image_io::decode_image;
use crate::npy::read_error;

/// An 8-bit grayscale image; x is the column from the left, y the row from the top.
#[derive(Debug, Clone)]
pub struct Tile {
    image: GrayImage,
}

impl Tile {
    /// Reads a PGM or PNG (any image the `image` crate decodes; colour is converted to luma).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| read_error(path, source))?;
        Self::decode(path, &bytes)
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
}
