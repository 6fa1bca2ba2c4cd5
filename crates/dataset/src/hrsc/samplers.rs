//! Blocks beyond the benchmark's candidates: labelled detection examples from the
//! catalogues, and unlabelled windows for self-training.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::blocks::{BLOCK_PER_CRATER_RADIUS, BlockSource, Blocks, block_off_tile};
use super::folder::{Crater, HrscFolder};
use super::params::ValidHrscParams;
use crate::dataset::{Dataset, PATCH_PIXELS};
use crate::error::{Error, Result};

/// Smallest catalogued crater diameter (tile pixels) that becomes a positive example, and
/// around which near-miss negatives are placed: the detector's smallest crater.
pub const CATALOGUE_MIN_DIAMETER: f64 = 16.0;
/// A window holds a crater "at its scale" when the crater radius is within this factor of
/// the window's crater radius (`r / 2.2`), either way, and its centre within one radius.
pub const SAME_SCALE_FACTOR: f64 = 2.0;
/// Near-miss negatives beside a crater: the window centre this many crater radii away.
pub const NEAR_MISS_DISTANCE: std::ops::Range<f64> = 0.75..2.0;
/// Near-miss negatives on a crater: the window this many times larger or smaller than the
/// crater's own block.
pub const WRONG_SCALE_FACTOR: std::ops::Range<f64> = 2.5..4.0;
/// Negatives anywhere: block half-sides drawn log-uniformly from this range (tile pixels).
pub const RANDOM_HALF_SIDE: std::ops::Range<f64> = 10.0..80.0;
/// No negative block is smaller than this half-side (tile pixels).
pub const MIN_NEGATIVE_HALF_SIDE: f64 = 8.0;
/// Draws per requested negative before a tile is given up as too crowded.
const ATTEMPTS_PER_NEGATIVE: usize = 100;
/// Keeps the catalogue-negative draw apart from the unlabelled-window draw of the same seed.
const CATALOGUE_STREAM: u64 = 0x00ca_7a10_9e5e;
/// Block half-sides of the unlabelled windows (tile pixels): the candidates' range, in
/// steps of √2.
pub const WINDOW_HALF_SIDES: [f64; 6] = [12.0, 17.0, 24.0, 34.0, 48.0, 68.0];
/// An unlabelled window counts as a labelled candidate (and is left out) when one's
/// half-side is within a factor 2 of its own and its centre within this share of its own
/// half-side.
pub const CANDIDATE_OVERLAP: f64 = 0.5;

/// Labelled detection examples of the training tiles from their catalogues (see
/// [`HrscParams::catalogue_positives`](super::HrscParams::catalogue_positives) and
/// [`HrscParams::catalogue_negatives`](super::HrscParams::catalogue_negatives)).
pub fn catalogue_blocks(folder: &HrscFolder, params: &ValidHrscParams) -> Result<Blocks> {
    let mut rng = ChaCha8Rng::seed_from_u64(params.extra_seed ^ CATALOGUE_STREAM);
    let mut pixels = Vec::new();
    let mut sources = Vec::new();
    let per_tile = params.catalogue_negatives.div_ceil(params.train_tiles.len());
    let mut negatives_left = params.catalogue_negatives;
    for name in &params.train_tiles {
        let tile = folder.tile(name)?;
        let craters = folder.catalogue(name)?;
        let catalogue_path = folder.catalogue_path(name);
        let mut push = |x: f64, y: f64, r: f64, label: u8, pixels: &mut Vec<f32>| -> Result<()> {
            let block = tile
                .reflected_block(x, y, r)
                .ok_or_else(|| block_off_tile(&catalogue_path, &tile, x, y, r))?;
            pixels.extend(block);
            sources.push(BlockSource {
                tile: name.clone(),
                x,
                y,
                r,
                label: Some(label),
                origin: "catalogue",
            });
            Ok(())
        };
        let large: Vec<&Crater> = craters
            .iter()
            .filter(|c| c.diameter >= CATALOGUE_MIN_DIAMETER)
            .collect();
        if params.catalogue_positives {
            for c in &large {
                push(
                    c.x,
                    c.y,
                    (c.diameter / 2.0 * BLOCK_PER_CRATER_RADIUS).round(),
                    1,
                    &mut pixels,
                )?;
            }
        }
        let same_scale = 1.0 / SAME_SCALE_FACTOR..=SAME_SCALE_FACTOR;
        let holds_crater = |x: f64, y: f64, r: f64| {
            craters.iter().any(|c| {
                let rho = c.diameter / 2.0;
                same_scale.contains(&(r / BLOCK_PER_CRATER_RADIUS / rho)) && (c.x - x).hypot(c.y - y) <= rho
            })
        };
        let (w, h) = (tile.width() as f64, tile.height() as f64);
        let mut placed = 0;
        let mut attempts = 0;
        while placed < per_tile.min(negatives_left) && attempts < ATTEMPTS_PER_NEGATIVE * per_tile.max(1) {
            attempts += 1;
            let (x, y, r) = if placed % 2 == 0 && !large.is_empty() {
                let c = large[rng.random_range(0..large.len())];
                let rho = c.diameter / 2.0;
                if rng.random_bool(0.5) {
                    let angle = rng.random_range(0.0..std::f64::consts::TAU);
                    let distance = rho * rng.random_range(NEAR_MISS_DISTANCE);
                    (
                        c.x + distance * angle.cos(),
                        c.y + distance * angle.sin(),
                        rho * BLOCK_PER_CRATER_RADIUS,
                    )
                } else {
                    let factor = rng.random_range(WRONG_SCALE_FACTOR);
                    let factor = if rng.random_bool(0.5) {
                        factor
                    } else {
                        1.0 / factor
                    };
                    (c.x, c.y, rho * BLOCK_PER_CRATER_RADIUS * factor)
                }
            } else {
                let (lo, hi) = (RANDOM_HALF_SIDE.start, RANDOM_HALF_SIDE.end);
                let r = (lo.ln() + rng.random::<f64>() * (hi / lo).ln()).exp();
                (rng.random_range(0.0..w), rng.random_range(0.0..h), r)
            };
            let r = r.round().max(MIN_NEGATIVE_HALF_SIDE);
            let (x, y) = (x.round(), y.round());
            if x < 0.0 || y < 0.0 || x >= w || y >= h || !tile.block_fits(x, y, r) || holds_crater(x, y, r) {
                continue;
            }
            push(x, y, r, 0, &mut pixels)?;
            placed += 1;
        }
        negatives_left -= placed;
    }
    let labels = sources.iter().map(|s| s.label.unwrap_or(0)).collect();
    let data = Dataset::new(folder.root().join("gt"), pixels, Some(labels))?;
    Ok(Blocks {
        data,
        sources,
        skipped: 0,
    })
}

/// Unlabelled blocks for self-training: windows on a grid of each tile (stride = `r`) at
/// the half-sides [`WINDOW_HALF_SIDES`], inside the tile, that are not a labelled candidate
/// (centre farther than [`CANDIDATE_OVERLAP`] × `r` from every candidate of a half-side
/// within [`SAME_SCALE_FACTOR`]), then `n` of them drawn with `seed`.
pub fn unlabelled_blocks(folder: &HrscFolder, tiles: &[String], n: usize, seed: u64) -> Result<Blocks> {
    let same_scale = 1.0 / SAME_SCALE_FACTOR..=SAME_SCALE_FACTOR;
    let mut windows = Vec::new();
    let mut loaded = Vec::new();
    for name in tiles {
        let tile = folder.tile(name)?;
        let candidates = folder.candidates(name)?;
        for r in WINDOW_HALF_SIDES {
            let step = r as usize;
            for y in (step..tile.height().saturating_sub(step)).step_by(step) {
                for x in (step..tile.width().saturating_sub(step)).step_by(step) {
                    let (x, y) = (x as f64, y as f64);
                    let labelled = candidates.iter().any(|c| {
                        same_scale.contains(&(c.r / r)) && (c.x - x).hypot(c.y - y) <= r * CANDIDATE_OVERLAP
                    });
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
    windows.sort_by(|a, b| {
        (a.0.cmp(&b.0))
            .then(a.1.total_cmp(&b.1))
            .then(a.2.total_cmp(&b.2))
            .then(a.3.total_cmp(&b.3))
    });
    let mut pixels = Vec::with_capacity(windows.len() * PATCH_PIXELS);
    let mut sources = Vec::with_capacity(windows.len());
    for (t, x, y, r) in windows {
        let (name, tile) = &loaded[t];
        // Grid windows lie inside the tile (checked when they were placed).
        pixels.extend(tile.reflected_block(x, y, r).unwrap_or_default());
        sources.push(BlockSource {
            tile: name.clone(),
            x,
            y,
            r,
            label: None,
            origin: "window",
        });
    }
    let data = Dataset::new(folder.root().join("tiles"), pixels, None)?;
    Ok(Blocks {
        data,
        sources,
        skipped: 0,
    })
}

/// Candidate views move the window centre by up to this share of its half-side, in x and
/// in y: the crater (radius about `r / 2.2`) stays inside the window's middle.
pub const CANDIDATE_VIEW_SHIFT: f64 = 0.15;
/// Candidate views rescale the window by a factor within this, either way (log-uniform).
pub const CANDIDATE_VIEW_SCALE: f64 = 1.2;
/// At most this many views per candidate: more would repeat them, and `n_extra` comes from
/// a config, so it is checked before anything is allocated.
pub const MAX_VIEWS_PER_CANDIDATE: usize = 16;
/// Keeps the candidate-view draw apart from the other draws of the same seed.
const CANDIDATE_VIEW_STREAM: u64 = 0x0ca9_d1da_7e5e;

/// Unlabelled blocks that look like the test set: `n` views of the training tiles'
/// candidate positions, craters or not (the labels are not read), each window moved by up
/// to [`CANDIDATE_VIEW_SHIFT`] × `r` and rescaled by up to [`CANDIDATE_VIEW_SCALE`], drawn
/// with `seed`. The candidates are taken in a shuffled order, each once before any twice.
/// FixMatch's unlabelled set holds its labelled images too; these are other views of them,
/// at the places the benchmark's candidate finder chose. Blocks that leave the tile are
/// mirrored at its border. More than [`MAX_VIEWS_PER_CANDIDATE`] views per candidate is an
/// error naming `n_extra`.
pub fn candidate_views(folder: &HrscFolder, tiles: &[String], n: usize, seed: u64) -> Result<Blocks> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ CANDIDATE_VIEW_STREAM);
    let mut loaded = Vec::new();
    let mut places = Vec::new();
    for name in tiles {
        let tile = folder.tile(name)?;
        for c in folder.candidates(name)? {
            places.push((loaded.len(), c.x, c.y, c.r));
        }
        loaded.push((name.clone(), tile));
    }
    if n > places.len() * MAX_VIEWS_PER_CANDIDATE {
        return Err(Error::InvalidParam {
            name: "n_extra",
            value: n as f64,
            expected: "at most 16 views per candidate of the training tiles (extra_windows = \"candidates\")",
        });
    }
    places.shuffle(&mut rng);
    let mut pixels = Vec::with_capacity(n * PATCH_PIXELS);
    let mut sources = Vec::with_capacity(n);
    let mut skipped = 0;
    let log_scale = CANDIDATE_VIEW_SCALE.ln();
    for &(t, x, y, r) in places.iter().cycle().take(n) {
        let (name, tile) = &loaded[t];
        let r = r * rng.random_range(-log_scale..=log_scale).exp();
        let shift = CANDIDATE_VIEW_SHIFT * r;
        let x = x + rng.random_range(-shift..=shift);
        let y = y + rng.random_range(-shift..=shift);
        let Some(block) = tile.reflected_block(x, y, r) else {
            skipped += 1;
            continue;
        };
        pixels.extend(block);
        sources.push(BlockSource {
            tile: name.clone(),
            x,
            y,
            r,
            label: None,
            origin: "candidate_view",
        });
    }
    let data = Dataset::new(folder.root().join("candidates"), pixels, None)?;
    Ok(Blocks {
        data,
        sources,
        skipped,
    })
}
