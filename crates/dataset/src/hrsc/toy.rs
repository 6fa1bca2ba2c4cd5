//! A miniature benchmark in the real one's layout, for trying the pipeline and for tests.

use std::fs;
use std::path::Path;

use image::{ImageBuffer, Luma};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::blocks::BLOCK_PER_CRATER_RADIUS;
use super::folder::HrscFolder;
use crate::error::{Error, Result};
use crate::npy::write_atomic;

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
    let folder = HrscFolder {
        root: root.into(),
        stretch: Default::default(),
    };
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
