//! The block convention: a candidate's square `[x−r, x+r]²` resized to 48×48, and the
//! labelled candidate blocks of the benchmark.

use image::imageops::FilterType;
use image::{GrayImage, ImageBuffer, Luma};

use super::folder::HrscFolder;
use crate::dataset::{Dataset, PATCH_SIDE};
use crate::error::{Error, Result};
use crate::tile::{LOCAL_SIDE, Tile, reflect, standardise_locally};

/// The benchmark's tiles, West (1_*) to East (3_*).
pub const TILES: [&str; 5] = ["1_24", "1_25", "2_24", "2_25", "3_24"];

/// Block half-side per crater radius: a candidate block of half-side `r` holds a crater of
/// radius about `r / 2.2` (median over the matched candidates of the benchmark).
pub const BLOCK_PER_CRATER_RADIUS: f64 = 2.2;

/// Tile geometry of the block convention, beside the generic [`Tile`].
impl Tile {
    /// Whether the block of half-side `r` around (x, y) lies inside the tile.
    pub fn contains_block(&self, x: f64, y: f64, r: f64) -> bool {
        let (x0, y0, side) = block_corner(x, y, r);
        x0 >= 0
            && y0 >= 0
            && x0 + side as i64 <= self.width() as i64
            && y0 + side as i64 <= self.height() as i64
    }

    /// The block `[x−r, x+r]²` resized to 48×48, pixels scaled to [0, 1]; outside the tile
    /// by mirror reflection. `None` for a block of `Border::Skip` that leaves the tile, and
    /// for a block that [`Tile::block_fits`] rejects.
    pub fn block(&self, x: f64, y: f64, r: f64, border: Border) -> Option<Vec<f32>> {
        if border == Border::Skip && !self.contains_block(x, y, r) {
            return None;
        }
        self.reflected_block(x, y, r)
    }

    /// Whether a block can be cut: its half-side is at least 0.5 and at most the tile's
    /// larger side, and it overlaps the tile. Anything else is no view of the tile (or a
    /// crop larger than the tile many times over).
    pub fn block_fits(&self, x: f64, y: f64, r: f64) -> bool {
        let (w, h) = (self.width() as f64, self.height() as f64);
        r.is_finite()
            && x.is_finite()
            && y.is_finite()
            && (0.5..=w.max(h)).contains(&r)
            && x + r >= 0.0
            && y + r >= 0.0
            && x - r <= w - 1.0
            && y - r <= h - 1.0
    }

    /// The block `[x−r, x+r]²` resized to 48×48, pixels scaled to [0, 1]; pixels outside
    /// the tile by mirror reflection. `None` when [`Tile::block_fits`] says no.
    pub fn reflected_block(&self, x: f64, y: f64, r: f64) -> Option<Vec<f32>> {
        if !self.block_fits(x, y, r) {
            return None;
        }
        let (x0, y0, side) = block_corner(x, y, r);
        if self.local {
            // Three blocks across, so that the square around every pixel of the middle
            // block is in the crop; standardised at the 48-pixel scale, the middle kept.
            let big = self.crop(x0 - side as i64, y0 - side as i64, 3 * side);
            let n = 3 * PATCH_SIDE;
            let resized = image::imageops::resize(&big, n as u32, n as u32, FilterType::Triangle);
            let pixels: Vec<f32> = resized.pixels().map(|Luma([v])| f32::from(*v) / 255.0).collect();
            let inner = standardise_locally(&pixels, n, n, LOCAL_SIDE);
            // The inner image starts LOCAL_SIDE / 2 in: the middle block starts there at
            // PATCH_SIDE − LOCAL_SIDE / 2.
            let (inner_w, start) = (n - LOCAL_SIDE, PATCH_SIDE - LOCAL_SIDE / 2);
            return Some(
                (start..start + PATCH_SIDE)
                    .flat_map(|row| inner[row * inner_w + start..row * inner_w + start + PATCH_SIDE].to_vec())
                    .collect(),
            );
        }
        Some(to_patch(&self.crop(x0, y0, side)))
    }

    /// The `side × side` square from (x0, y0), mirrored at the tile's border.
    fn crop(&self, x0: i64, y0: i64, side: usize) -> GrayImage {
        ImageBuffer::from_fn(side as u32, side as u32, |i, j| {
            let px = reflect(x0 + i64::from(i), self.width());
            let py = reflect(y0 + i64::from(j), self.height());
            *self.image().get_pixel(px as u32, py as u32)
        })
    }
}

/// The error for a block that [`Tile::block_fits`] rejects, naming the list it came from.
pub(super) fn block_off_tile(path: &std::path::Path, tile: &Tile, x: f64, y: f64, r: f64) -> Error {
    Error::BlockOffTile {
        path: path.into(),
        x,
        y,
        r,
        width: tile.width(),
        height: tile.height(),
    }
}

fn block_corner(x: f64, y: f64, r: f64) -> (i64, i64, usize) {
    let r = r.round().max(1.0) as i64;
    (x.round() as i64 - r, y.round() as i64 - r, (2 * r + 1) as usize)
}

fn to_patch(crop: &GrayImage) -> Vec<f32> {
    let resized = image::imageops::resize(crop, PATCH_SIDE as u32, PATCH_SIDE as u32, FilterType::Triangle);
    resized.pixels().map(|Luma([v])| f32::from(*v) / 255.0).collect()
}

/// What to do with blocks that leave the tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Border {
    /// Fill the outside by mirror reflection at the tile border.
    #[default]
    Reflect,
    /// Leave such blocks out (and count them).
    Skip,
}

/// Where one row of a block set came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BlockSource {
    /// Tile name.
    pub tile: String,
    /// Centre column.
    pub x: f64,
    /// Centre row.
    pub y: f64,
    /// Block half-side.
    pub r: f64,
    /// Label, when known.
    pub label: Option<u8>,
    /// `candidate` (the benchmark's lists), `catalogue` (a catalogued crater or a window
    /// the catalogue says holds none) or `window` (unlabelled).
    pub origin: &'static str,
}

/// Blocks cut from tiles: 48×48 patches with their origin.
#[derive(Debug, Clone)]
pub struct Blocks {
    /// The patches (labelled when cut from candidates).
    pub data: Dataset,
    /// One entry per patch.
    pub sources: Vec<BlockSource>,
    /// Candidates left out by [`Border::Skip`].
    pub skipped: usize,
}

impl Blocks {
    /// These blocks followed by `other`'s.
    pub fn concat(self, other: Blocks) -> Result<Blocks> {
        let labels = match (self.data.labels(), other.data.labels()) {
            (Some(a), Some(b)) => Some([a, b].concat()),
            _ => None,
        };
        let pixels = [self.data.pixels(), other.data.pixels()].concat();
        let data = Dataset::new(self.data.source().to_path_buf(), pixels, labels)?;
        let mut sources = self.sources;
        sources.extend(other.sources);
        Ok(Blocks {
            data,
            sources,
            skipped: self.skipped + other.skipped,
        })
    }
}

/// Cuts the labelled candidate blocks of `tiles`.
pub fn candidate_blocks(folder: &HrscFolder, tiles: &[String], border: Border) -> Result<Blocks> {
    let mut pixels = Vec::new();
    let mut sources = Vec::new();
    let mut skipped = 0;
    for name in tiles {
        let tile = folder.tile(name)?;
        for c in folder.candidates(name)? {
            if !tile.block_fits(c.x, c.y, c.r) {
                return Err(block_off_tile(
                    &folder.candidates_path(name, c.label),
                    &tile,
                    c.x,
                    c.y,
                    c.r,
                ));
            }
            match tile.block(c.x, c.y, c.r, border) {
                Some(patch) => {
                    pixels.extend(patch);
                    sources.push(BlockSource {
                        tile: name.clone(),
                        x: c.x,
                        y: c.y,
                        r: c.r,
                        label: Some(c.label),
                        origin: "candidate",
                    });
                }
                None => skipped += 1,
            }
        }
    }
    let labels = sources.iter().map(|s| s.label.unwrap_or(0)).collect();
    let data = Dataset::new(folder.root().join("candidates"), pixels, Some(labels))?;
    Ok(Blocks {
        data,
        sources,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::PATCH_PIXELS;

    #[test]
    fn a_block_inside_the_tile_is_its_resized_crop() {
        // A 101×101 gradient; the block of half-side 24 around (50, 50) is 49×49.
        let tile = Tile::from_image(ImageBuffer::from_fn(101, 101, |x, _| Luma([(x * 2) as u8])));
        let patch = tile.block(50.0, 50.0, 24.0, Border::Skip).unwrap();
        assert_eq!(patch.len(), PATCH_PIXELS);
        // Left edge near column 26 (value 52), right edge near column 74 (value 148).
        assert!((patch[0] * 255.0 - 52.0).abs() < 2.0, "{}", patch[0] * 255.0);
        assert!((patch[47] * 255.0 - 148.0).abs() < 2.0, "{}", patch[47] * 255.0);
        assert!(tile.contains_block(50.0, 50.0, 24.0));
        assert!(!tile.contains_block(10.0, 50.0, 24.0));
        assert!(tile.block(10.0, 50.0, 24.0, Border::Skip).is_none());
        // Reflected: the left half mirrors the right half around column 0.
        let mirrored = tile.block(0.0, 50.0, 24.0, Border::Reflect).unwrap();
        for row in mirrored.chunks(PATCH_SIDE) {
            assert!((row[0] - row[47]).abs() < 0.02, "{} vs {}", row[0], row[47]);
        }
    }
}
