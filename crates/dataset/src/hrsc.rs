//! The HRSC crater benchmark of Bandeira, Ding & Stepinski (2012): five 1700×1700 tiles of
//! Mars Express HRSC image h0905_0000, their crater catalogues and ~4,200 labelled crater
//! candidates.
//!
//! Folder layout (as in `../shared/data/hrsc/`): `tiles/tile{T}.pgm`, `gt/{T}_gt.csv`
//! (`x,y,d`: centre and diameter) and `candidates/{T}_tp.csv` / `{T}_tn.csv` (`x,y,r`:
//! candidates that are / are not craters), no headers.
//!
//! **Block convention.** A candidate's block is the square `[x−r, x+r]²` of tile pixels
//! (side `2r+1`, `r` rounded to whole pixels), resized to 48×48 with a triangle
//! (antialiasing) filter — the benchmark's normalisation. The crater radius is about
//! `r / 2.2` ([`BLOCK_PER_CRATER_RADIUS`]). Pixels of a block that leave the tile are
//! filled by mirror reflection at the border ([`Border::Reflect`], the default); with
//! [`Border::Skip`] such blocks are left out and counted.

use std::fs;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{GrayImage, ImageBuffer, Luma};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::dataset::{Dataset, PATCH_PIXELS, PATCH_SIDE};
use crate::error::{Error, Result};
use crate::npy::{read_error, write_atomic, write_folder_atomic, write_npy};

/// The benchmark's tiles, West (1_*) to East (3_*).
pub const TILES: [&str; 5] = ["1_24", "1_25", "2_24", "2_25", "3_24"];

/// Block half-side per crater radius: a candidate block of half-side `r` holds a crater of
/// radius about `r / 2.2` (median over the matched candidates of the benchmark).
pub const BLOCK_PER_CRATER_RADIUS: f64 = 2.2;

/// Paths of a benchmark folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrscFolder {
    root: PathBuf,
}

impl HrscFolder {
    /// A benchmark folder at `root`; it must exist.
    pub fn open(root: &Path) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::MissingFile { path: root.into() });
        }
        Ok(HrscFolder { root: root.into() })
    }

    /// `tiles/tile{T}.pgm`.
    pub fn tile_path(&self, tile: &str) -> PathBuf {
        self.root.join("tiles").join(format!("tile{tile}.pgm"))
    }

    /// `gt/{T}_gt.csv`.
    pub fn catalogue_path(&self, tile: &str) -> PathBuf {
        self.root.join("gt").join(format!("{tile}_gt.csv"))
    }

    /// `candidates/{T}_tp.csv` (label 1) or `{T}_tn.csv` (label 0).
    pub fn candidates_path(&self, tile: &str, label: u8) -> PathBuf {
        let kind = if label == 1 { "tp" } else { "tn" };
        self.root.join("candidates").join(format!("{tile}_{kind}.csv"))
    }

    /// The tile image.
    pub fn tile(&self, tile: &str) -> Result<Tile> {
        Tile::load(&self.tile_path(tile))
    }

    /// The expert catalogue of a tile.
    pub fn catalogue(&self, tile: &str) -> Result<Vec<Crater>> {
        read_catalogue(&self.catalogue_path(tile))
    }

    /// The labelled candidates of a tile: craters (label 1) first, then the others.
    pub fn candidates(&self, tile: &str) -> Result<Vec<Candidate>> {
        let mut all = read_candidates(&self.candidates_path(tile, 1), 1)?;
        all.extend(read_candidates(&self.candidates_path(tile, 0), 0)?);
        Ok(all)
    }
}

/// An 8-bit grayscale image; x is the column from the left, y the row from the top.
#[derive(Debug, Clone)]
pub struct Tile {
    image: GrayImage,
}

impl Tile {
    /// Reads a PGM or PNG (any image the `image` crate decodes; colour is converted to luma).
    pub fn load(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::MissingFile { path: path.into() });
        }
        let image = image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|source| Error::Io {
                path: path.into(),
                source,
            })?
            .decode()
            .map_err(|e| Error::UnreadableImage {
                path: path.into(),
                reason: format!("{e}; expected a PGM or PNG tile"),
            })?;
        let image = image.to_luma8();
        if image.width() == 0 || image.height() == 0 {
            return Err(Error::Empty { path: path.into() });
        }
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

    /// Whether the block of half-side `r` around (x, y) lies inside the tile.
    pub fn contains_block(&self, x: f64, y: f64, r: f64) -> bool {
        let (x0, y0, side) = block_corner(x, y, r);
        x0 >= 0
            && y0 >= 0
            && x0 + side as i64 <= self.width() as i64
            && y0 + side as i64 <= self.height() as i64
    }

    /// The block `[x−r, x+r]²` resized to 48×48, pixels scaled to [0, 1]; outside the tile
    /// by mirror reflection. `None` for a block of `Border::Skip` that leaves the tile.
    pub fn block(&self, x: f64, y: f64, r: f64, border: Border) -> Option<Vec<f32>> {
        if border == Border::Skip && !self.contains_block(x, y, r) {
            return None;
        }
        let (x0, y0, side) = block_corner(x, y, r);
        let crop: GrayImage = ImageBuffer::from_fn(side as u32, side as u32, |i, j| {
            let px = reflect(x0 + i64::from(i), self.width());
            let py = reflect(y0 + i64::from(j), self.height());
            *self.image.get_pixel(px as u32, py as u32)
        });
        Some(to_patch(&crop))
    }

    /// The tile scaled by `factor` with the block filter (the pyramid level where a block
    /// of side `48 / factor` becomes 48 pixels).
    pub fn scaled(&self, factor: f64) -> GrayImage {
        let w = ((self.width() as f64 * factor).round() as u32).max(1);
        let h = ((self.height() as f64 * factor).round() as u32).max(1);
        image::imageops::resize(&self.image, w, h, FilterType::Triangle)
    }
}

fn block_corner(x: f64, y: f64, r: f64) -> (i64, i64, usize) {
    let r = r.round().max(1.0) as i64;
    (x.round() as i64 - r, y.round() as i64 - r, (2 * r + 1) as usize)
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

/// A catalogued crater: centre and diameter in tile pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Crater {
    /// Column of the centre.
    pub x: f64,
    /// Row of the centre.
    pub y: f64,
    /// Diameter.
    pub diameter: f64,
}

/// A labelled crater candidate: centre and block half-side in tile pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    /// Column of the centre.
    pub x: f64,
    /// Row of the centre.
    pub y: f64,
    /// Half-side of the block.
    pub r: f64,
    /// 1 = crater, 0 = not a crater.
    pub label: u8,
}

/// Reads a headerless CSV of three positive finite numbers per row; the third must be
/// positive. Blank lines are skipped; anything else is an error naming file and line.
fn read_triples(path: &Path, columns: &'static str) -> Result<Vec<[f64; 3]>> {
    let text = fs::read_to_string(path).map_err(|source| read_error(path, source))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| Error::BadRow {
            path: path.into(),
            line: i + 1,
            message,
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 3 {
            return Err(bad(format!(
                "{} fields in {line:?}; expected 3 ({columns})",
                fields.len()
            )));
        }
        let mut row = [0.0; 3];
        for (value, field) in row.iter_mut().zip(&fields) {
            *value = field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("{field:?} is not a finite number ({columns})")))?;
        }
        if row[2] <= 0.0 {
            return Err(bad(format!("size {} ≤ 0 ({columns})", row[2])));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(rows)
}

/// Reads a catalogue: rows `x,y,d` (centre, diameter in pixels).
pub fn read_catalogue(path: &Path) -> Result<Vec<Crater>> {
    Ok(read_triples(path, "x,y,d")?
        .into_iter()
        .map(|[x, y, diameter]| Crater { x, y, diameter })
        .collect())
}

/// Reads a candidate list: rows `x,y,r` (centre, block half-side), all with `label`.
pub fn read_candidates(path: &Path, label: u8) -> Result<Vec<Candidate>> {
    Ok(read_triples(path, "x,y,r")?
        .into_iter()
        .map(|[x, y, r]| Candidate { x, y, r, label })
        .collect())
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

/// Labelled detection examples of the training tiles from their catalogues (see
/// [`HrscParams::catalogue_positives`] and [`HrscParams::catalogue_negatives`]).
pub fn catalogue_blocks(folder: &HrscFolder, params: &HrscParams) -> Result<Blocks> {
    use rand::Rng;
    const MIN_DIAMETER: f64 = 16.0;
    let mut rng = ChaCha8Rng::seed_from_u64(params.extra_seed ^ 0x00ca_7a10_9e5e);
    let mut pixels = Vec::new();
    let mut sources = Vec::new();
    let per_tile = params.catalogue_negatives.div_ceil(params.train_tiles.len());
    let mut negatives_left = params.catalogue_negatives;
    for name in &params.train_tiles {
        let tile = folder.tile(name)?;
        let craters = folder.catalogue(name)?;
        let mut push = |x: f64, y: f64, r: f64, label: u8, pixels: &mut Vec<f32>| {
            pixels.extend(
                tile.block(x, y, r, Border::Reflect)
                    .expect("reflected blocks always exist"),
            );
            sources.push(BlockSource {
                tile: name.clone(),
                x,
                y,
                r,
                label: Some(label),
                origin: "catalogue",
            });
        };
        let large: Vec<&Crater> = craters.iter().filter(|c| c.diameter >= MIN_DIAMETER).collect();
        if params.catalogue_positives {
            for c in &large {
                push(
                    c.x,
                    c.y,
                    (c.diameter / 2.0 * BLOCK_PER_CRATER_RADIUS).round(),
                    1,
                    &mut pixels,
                );
            }
        }
        // A window holds a crater at its scale when one's radius is within a factor 2 of
        // r / 2.2 and its centre within one radius of the window's.
        let holds_crater = |x: f64, y: f64, r: f64| {
            craters.iter().any(|c| {
                let rho = c.diameter / 2.0;
                (0.5..=2.0).contains(&(r / BLOCK_PER_CRATER_RADIUS / rho)) && (c.x - x).hypot(c.y - y) <= rho
            })
        };
        let (w, h) = (tile.width() as f64, tile.height() as f64);
        let mut placed = 0;
        let mut attempts = 0;
        while placed < per_tile.min(negatives_left) && attempts < 100 * per_tile.max(1) {
            attempts += 1;
            let (x, y, r) = if placed % 2 == 0 && !large.is_empty() {
                let c = large[rng.random_range(0..large.len())];
                let rho = c.diameter / 2.0;
                if rng.random_bool(0.5) {
                    let angle = rng.random_range(0.0..std::f64::consts::TAU);
                    let distance = rho * rng.random_range(0.75..2.0);
                    (
                        c.x + distance * angle.cos(),
                        c.y + distance * angle.sin(),
                        rho * BLOCK_PER_CRATER_RADIUS,
                    )
                } else {
                    let factor = rng.random_range(2.5..4.0);
                    let factor = if rng.random_bool(0.5) {
                        factor
                    } else {
                        1.0 / factor
                    };
                    (c.x, c.y, rho * BLOCK_PER_CRATER_RADIUS * factor)
                }
            } else {
                let r = (10.0f64.ln() + rng.random::<f64>() * (8.0f64).ln()).exp();
                (rng.random_range(0.0..w), rng.random_range(0.0..h), r)
            };
            let r = r.round().max(8.0);
            let (x, y) = (x.round(), y.round());
            if x < 0.0 || y < 0.0 || x >= w || y >= h || holds_crater(x, y, r) {
                continue;
            }
            push(x, y, r, 0, &mut pixels);
            placed += 1;
        }
        negatives_left -= placed;
    }
    let labels = sources.iter().map(|s| s.label.unwrap_or(0)).collect();
    let data = Dataset::new(folder.root.join("gt"), pixels, Some(labels))?;
    Ok(Blocks {
        data,
        sources,
        skipped: 0,
    })
}

/// Cuts the labelled candidate blocks of `tiles`.
pub fn candidate_blocks(folder: &HrscFolder, tiles: &[String], border: Border) -> Result<Blocks> {
    let mut pixels = Vec::new();
    let mut sources = Vec::new();
    let mut skipped = 0;
    for name in tiles {
        let tile = folder.tile(name)?;
        for c in folder.candidates(name)? {
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
    let data = Dataset::new(folder.root.join("candidates"), pixels, Some(labels))?;
    Ok(Blocks {
        data,
        sources,
        skipped,
    })
}

/// Unlabelled blocks for self-training: windows on a grid of each tile (stride = `r`) at
/// candidate-like half-sides, inside the tile, that are not a labelled candidate (centre
/// farther than `r / 2` from every candidate of a half-side within a factor 2), then `n`
/// of them drawn with `seed`.
pub fn unlabelled_blocks(folder: &HrscFolder, tiles: &[String], n: usize, seed: u64) -> Result<Blocks> {
    const HALF_SIDES: [f64; 6] = [12.0, 17.0, 24.0, 34.0, 48.0, 68.0];
    let mut windows = Vec::new();
    let mut loaded = Vec::new();
    for name in tiles {
        let tile = folder.tile(name)?;
        let candidates = folder.candidates(name)?;
        for r in HALF_SIDES {
            let step = r as usize;
            for y in (step..tile.height().saturating_sub(step)).step_by(step) {
                for x in (step..tile.width().saturating_sub(step)).step_by(step) {
                    let (x, y) = (x as f64, y as f64);
                    let labelled = candidates
                        .iter()
                        .any(|c| (0.5..=2.0).contains(&(c.r / r)) && (c.x - x).hypot(c.y - y) <= r / 2.0);
                    if !labelled && tile.contains_block(x, y, r) {
                        windows.push((loaded.len(), x, y, r));
                    }
                }
            }
        }
        loaded.push((name.clone(), tile));
    }
    windows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    windows.truncate(n);
    // Grid order again, so that the file reads tile by tile.
    windows.sort_by(|a, b| a.partial_cmp(b).expect("finite coordinates"));
    let mut pixels = Vec::with_capacity(windows.len() * PATCH_PIXELS);
    let mut sources = Vec::with_capacity(windows.len());
    for (t, x, y, r) in windows {
        let (name, tile) = &loaded[t];
        pixels.extend(tile.block(x, y, r, Border::Skip).expect("window inside the tile"));
        sources.push(BlockSource {
            tile: name.clone(),
            x,
            y,
            r,
            label: None,
            origin: "window",
        });
    }
    let data = Dataset::new(folder.root.join("tiles"), pixels, None)?;
    Ok(Blocks {
        data,
        sources,
        skipped: 0,
    })
}

/// Writes `blocks.csv` (`set,row,tile,x,y,r,label,origin`) for the named block sets,
/// atomically.
pub fn write_blocks_csv(path: &Path, sets: &[(&str, &Blocks)]) -> Result<()> {
    let mut csv = String::from("set,row,tile,x,y,r,label,origin\n");
    for (set, blocks) in sets {
        for (row, s) in blocks.sources.iter().enumerate() {
            let label = s.label.map_or(String::new(), |l| l.to_string());
            csv.push_str(&format!(
                "{set},{row},{},{},{},{},{label},{}\n",
                s.tile, s.x, s.y, s.r, s.origin
            ));
        }
    }
    write_atomic(path, csv.as_bytes())
}

/// File of a benchmark-derived seed-layout folder recording how it was made.
pub const MANIFEST: &str = "manifest.json";

/// What [`write_layout`] cuts from a benchmark folder. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HrscParams {
    /// The benchmark folder. Default `../shared/data/hrsc`.
    pub root: PathBuf,
    /// Tiles whose candidates form the labelled set (and whose other windows form the
    /// unlabelled pool). Default the West and Centre tiles 1_24, 1_25, 2_24, 2_25.
    pub train_tiles: Vec<String>,
    /// Tiles whose candidates form the test set (labels hidden). Default the East tile 3_24.
    pub test_tiles: Vec<String>,
    /// Unlabelled windows drawn for self-training. Default 3000.
    pub n_extra: usize,
    /// Seed of that draw. Default 0.
    pub extra_seed: u64,
    /// Blocks that leave the tile. Default reflect.
    pub border: Border,
    /// Detection training: also label, from the training tiles' catalogues, every crater of
    /// diameter ≥ 16 px as a positive block. Default false (the benchmark's candidates only).
    pub catalogue_positives: bool,
    /// Detection training: also add this many negative blocks that, by the catalogue, hold
    /// no crater at their scale: half near a crater (centre off by 0.75–2 radii, or the
    /// scale off by a factor 2.5–4), half anywhere. Default 0.
    pub catalogue_negatives: usize,
}

impl Default for HrscParams {
    fn default() -> Self {
        HrscParams {
            root: "../shared/data/hrsc".into(),
            train_tiles: ["1_24", "1_25", "2_24", "2_25"].map(String::from).to_vec(),
            test_tiles: vec!["3_24".into()],
            n_extra: 3000,
            extra_seed: 0,
            border: Border::Reflect,
            catalogue_positives: false,
            catalogue_negatives: 0,
        }
    }
}

impl HrscParams {
    /// Checks that there are training tiles and that no tile is in both lists.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.train_tiles.is_empty() {
            return Err("train_tiles is empty; name at least one tile".into());
        }
        if let Some(t) = self.test_tiles.iter().find(|t| self.train_tiles.contains(t)) {
            return Err(format!("tile {t} is in both train_tiles and test_tiles"));
        }
        Ok(())
    }
}

/// What [`write_layout`] wrote.
#[derive(Debug, Clone)]
pub struct LayoutSummary {
    /// Labelled blocks of the training tiles.
    pub train: Blocks,
    /// Unlabelled windows of the training tiles.
    pub extra: Blocks,
    /// Labelled blocks of the test tiles, if any.
    pub test: Option<Blocks>,
}

/// Whether `dir` holds a layout written by [`write_layout`] with these parameters.
pub fn is_current(dir: &Path, params: &HrscParams) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(MANIFEST)) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    manifest["source"] == "hrsc" && serde_json::to_value(params).is_ok_and(|p| manifest["parameters"] == p)
}

/// Cuts the blocks of `params` and writes them to `dir` in the seed layout: `Xtrain1.npy` +
/// `Ytrain1.npy` (training-tile candidates), `Xtrain1_extra.npy` (unlabelled windows),
/// `Xtest1.npy` + `Ytest1_hidden.npy` (test-tile candidates), `blocks.csv` (where each row
/// came from) and `manifest.json`. Pixels are uint8. Everything is written to a sibling
/// folder first and renamed into place, replacing an earlier layout at `dir`.
pub fn write_layout(params: &HrscParams, dir: &Path) -> Result<LayoutSummary> {
    params
        .check()
        .map_err(|message| Error::InvalidHrscParams { message })?;
    let folder = HrscFolder::open(&params.root)?;
    let mut train = candidate_blocks(&folder, &params.train_tiles, params.border)?;
    if params.catalogue_positives || params.catalogue_negatives > 0 {
        let examples = catalogue_blocks(&folder, params)?;
        train = train.concat(examples)?;
    }
    let extra = unlabelled_blocks(&folder, &params.train_tiles, params.n_extra, params.extra_seed)?;
    let test = if params.test_tiles.is_empty() {
        None
    } else {
        Some(candidate_blocks(&folder, &params.test_tiles, params.border)?)
    };
    write_folder_atomic(dir, |out| -> Result<()> {
        let to_u8 =
            |d: &Dataset| -> Vec<u8> { d.pixels().iter().map(|&p| (p * 255.0).round() as u8).collect() };
        let mut sets = vec![
            (
                crate::seed_files::X_TRAIN,
                Some(crate::seed_files::Y_TRAIN),
                &train,
            ),
            (crate::seed_files::X_EXTRA, None, &extra),
        ];
        if let Some(test) = &test {
            sets.push((
                crate::seed_files::X_TEST,
                Some(crate::seed_files::Y_TEST_HIDDEN),
                test,
            ));
        }
        for (x_name, y_name, blocks) in &sets {
            let n = blocks.data.len() as u64;
            write_npy(&out.join(x_name), &[n, PATCH_PIXELS as u64], &to_u8(&blocks.data))?;
            if let (Some(y_name), Some(labels)) = (y_name, blocks.data.labels()) {
                write_npy(&out.join(y_name), &[n], labels)?;
            }
        }
        let mut csv_sets = vec![("train", &train), ("extra", &extra)];
        if let Some(test) = &test {
            csv_sets.push(("test", test));
        }
        write_blocks_csv(&out.join("blocks.csv"), &csv_sets)?;
        let count = |b: &Blocks| {
            let positives = b.sources.iter().filter(|s| s.label == Some(1)).count();
            serde_json::json!({ "n": b.data.len(), "positives": positives, "skipped": b.skipped })
        };
        let manifest = serde_json::json!({
            "source": "hrsc",
            "parameters": params,
            "sets": {
                "train": count(&train),
                "extra": count(&extra),
                "test": test.as_ref().map(count),
            },
        });
        let text = serde_json::to_string_pretty(&manifest).expect("the manifest serialises");
        write_atomic(&out.join(MANIFEST), format!("{text}\n").as_bytes())
    })?;
    Ok(LayoutSummary { train, extra, test })
}

/// Writes a miniature benchmark folder in the real one's layout: for each name in `tiles`,
/// a `side`×`side` PGM of noisy ground with lit-from-the-left bowl craters (radius 4–14),
/// their catalogue, their candidate blocks (`_tp`) and as many blocks of crater-free ground
/// (`_tn`). For trying the pipeline without the real data, and for tests.
pub fn write_toy_benchmark(root: &Path, tiles: &[&str], side: u32, seed: u64) -> Result<()> {
    use rand::Rng;
    for sub in ["tiles", "gt", "candidates"] {
        let dir = root.join(sub);
        fs::create_dir_all(&dir).map_err(|source| Error::Write { path: dir, source })?;
    }
    let folder = HrscFolder { root: root.into() };
    for (t, name) in tiles.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((t as u64 + 1) << 32));
        let mut craters: Vec<(f64, f64, f64)> = Vec::new();
        for _ in 0..(side as usize * side as usize / 1600) {
            let rho = rng.random_range(4.0..14.0);
            let (x, y) = (
                rng.random_range(0.0..f64::from(side)),
                rng.random_range(0.0..f64::from(side)),
            );
            if craters
                .iter()
                .all(|&(cx, cy, cr): &(f64, f64, f64)| (cx - x).hypot(cy - y) > 1.5 * (cr + rho))
            {
                craters.push((x, y, rho));
            }
        }
        let image = ImageBuffer::from_fn(side, side, |px, py| {
            let (px, py) = (f64::from(px), f64::from(py));
            let mut v = 110.0 + 12.0 * ((px * 0.07).sin() + (py * 0.05).cos());
            for &(cx, cy, rho) in &craters {
                let d = (px - cx).hypot(py - cy) / rho;
                if d < 1.15 {
                    // Shadow on the lit side's inner wall, bright opposite wall, a rim.
                    let facing = (px - cx) / rho;
                    v += if d < 1.0 { 60.0 * facing - 25.0 } else { 25.0 };
                }
            }
            v += rng.random_range(-10.0..10.0);
            Luma([v.clamp(0.0, 255.0) as u8])
        });
        let path = folder.tile_path(name);
        let mut pgm = format!("P5\n{side} {side}\n255\n").into_bytes();
        pgm.extend_from_slice(image.as_raw());
        write_atomic(&path, &pgm)?;
        let mut gt = String::new();
        let mut tp = String::new();
        for &(x, y, rho) in &craters {
            gt.push_str(&format!("{x:.2},{y:.2},{:.2}\n", 2.0 * rho));
            tp.push_str(&format!(
                "{},{},{}\n",
                x.round(),
                y.round(),
                (rho * BLOCK_PER_CRATER_RADIUS).round()
            ));
        }
        let mut tn = String::new();
        let mut placed = 0;
        while placed < craters.len() {
            let (x, y) = (
                rng.random_range(0.0..f64::from(side)),
                rng.random_range(0.0..f64::from(side)),
            );
            let r: f64 = rng.random_range(9.0..30.0);
            if craters
                .iter()
                .all(|&(cx, cy, rho)| (cx - x).hypot(cy - y) > r + rho)
            {
                tn.push_str(&format!("{},{},{}\n", x.round(), y.round(), r.round()));
                placed += 1;
            }
        }
        write_atomic(&folder.catalogue_path(name), gt.as_bytes())?;
        write_atomic(&folder.candidates_path(name, 1), tp.as_bytes())?;
        write_atomic(&folder.candidates_path(name, 0), tn.as_bytes())?;
    }
    Ok(())
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
