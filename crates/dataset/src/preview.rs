//! A PNG contact sheet of patches, grouped by set and class, for a person to look at.

use std::path::Path;

use image::{Rgb, RgbImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::{Dataset, PATCH_SIDE, seed_files};
use crate::error::{Error, Result};
use crate::output::OutputParams;
use crate::split::shuffle;

/// One row of the sheet: a caption and the patches shown.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    /// What the row shows, such as `Xtrain1.npy, label 1 (crater)`.
    pub caption: String,
    /// Name of the row's frame colour: `orange` for craters, `blue` for non-craters, `grey`
    /// for unlabelled patches.
    pub colour: &'static str,
    /// How many patches the row holds.
    pub shown: usize,
}

const CRATER: (&str, [u8; 3]) = ("orange", [235, 140, 30]);
const NO_CRATER: (&str, [u8; 3]) = ("blue", [40, 110, 220]);
const UNLABELLED: (&str, [u8; 3]) = ("grey", [150, 150, 150]);
/// What is drawn for a row: its frame colour and patches.
struct Frame<'a> {
    rgb: [u8; 3],
    patches: Vec<&'a [f32]>,
}

const SCALE: u32 = 2;
const FRAME: u32 = 2;

/// Most patches per row of a preview: a sheet stays a few megapixels wide at most.
pub const MAX_PER_ROW: usize = 256;

/// Draws up to `per_row` random patches (seeded) per set and class of a seed-layout folder
/// (hidden labels count as labels) or an npy file, writes the PNG atomically to `out` (an
/// existing file only when forced, never the input) and returns the rows, top to bottom.
pub fn write_preview(path: &Path, out: OutputParams, per_row: usize, seed: u64) -> Result<Vec<PreviewRow>> {
    if !(1..=MAX_PER_ROW).contains(&per_row) {
        return Err(Error::InvalidParam {
            name: "per_row",
            value: per_row as f64,
            expected: "1 to 256 patches",
        });
    }
    let out = out.input(path).check_file()?;
    let mut sets = Vec::new();
    if path.is_file() {
        sets.push((
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Dataset::from_npy(path, None)?,
        ));
    } else if path.is_dir() {
        use seed_files::*;
        for (x, y) in [
            (X_TRAIN, Y_TRAIN),
            (X_EXTRA, Y_EXTRA_HIDDEN),
            (X_TEST, Y_TEST_HIDDEN),
        ] {
            let (x_path, y_path) = (path.join(x), path.join(y));
            if x_path.exists() {
                let labels = y_path.exists().then_some(y_path.as_path());
                sets.push((x.to_string(), Dataset::from_npy(&x_path, labels)?));
            }
        }
    } else {
        return Err(Error::MissingFile { path: path.into() });
    }
    if sets.is_empty() {
        return Err(Error::NothingToLoad {
            path: path.into(),
            expected: "Xtrain1.npy, Xtrain1_extra.npy or Xtest1.npy",
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows: Vec<(PreviewRow, Frame)> = Vec::new();
    for (name, data) in &sets {
        let groups: Vec<(Option<u8>, Vec<usize>)> = match data.labels() {
            Some(labels) => [1u8, 0]
                .into_iter()
                .map(|class| {
                    (
                        Some(class),
                        (0..data.len()).filter(|&i| labels[i] == class).collect(),
                    )
                })
                .collect(),
            None => vec![(None, (0..data.len()).collect())],
        };
        for (class, mut indices) in groups {
            shuffle(&mut indices, &mut rng);
            indices.truncate(per_row);
            let (caption, (colour, rgb)) = match class {
                Some(1) => (format!("{name}, label 1 (crater)"), CRATER),
                Some(_) => (format!("{name}, label 0 (no crater)"), NO_CRATER),
                None => (format!("{name}, unlabelled"), UNLABELLED),
            };
            let patches = indices.iter().filter_map(|&i| data.image(i)).collect::<Vec<_>>();
            rows.push((
                PreviewRow {
                    caption,
                    colour,
                    shown: patches.len(),
                },
                Frame { rgb, patches },
            ));
        }
    }
    let cell = PATCH_SIDE as u32 * SCALE + 2 * FRAME + 2;
    let columns = per_row.max(1) as u32;
    let mut sheet = RgbImage::from_pixel(columns * cell, rows.len() as u32 * cell, Rgb([255, 255, 255]));
    for (r, (_, frame)) in rows.iter().enumerate() {
        for (c, patch) in frame.patches.iter().enumerate() {
            draw_patch(
                &mut sheet,
                c as u32 * cell + 1,
                r as u32 * cell + 1,
                patch,
                frame.rgb,
            );
        }
    }
    let mut png = Vec::new();
    sheet
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Write {
            path: out.path().into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    out.write_file(&png)?;
    Ok(rows.into_iter().map(|(row, _)| row).collect())
}

fn draw_patch(sheet: &mut RgbImage, x0: u32, y0: u32, patch: &[f32], frame: [u8; 3]) {
    let inner = PATCH_SIDE as u32 * SCALE;
    for y in 0..inner + 2 * FRAME {
        for x in 0..inner + 2 * FRAME {
            let inside = (FRAME..FRAME + inner).contains(&x) && (FRAME..FRAME + inner).contains(&y);
            let colour = if inside {
                let (px, py) = ((x - FRAME) / SCALE, (y - FRAME) / SCALE);
                let v = (patch[(py as usize) * PATCH_SIDE + px as usize] * 255.0)
                    .round()
                    .clamp(0.0, 255.0) as u8;
                [v, v, v]
            } else {
                frame
            };
            sheet.put_pixel(x0 + x, y0 + y, Rgb(colour));
        }
    }
}
