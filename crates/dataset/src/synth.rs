//! A deterministic generator of Mars-like 48×48 crater patches in the seed's file layout.
//!
//! The original data set is not public; this makes the seed experiment meaningful out of the
//! box. Each patch is rendered from a height field under oblique sunlight:
//!
//! 1. terrain: multi-octave value noise (roughness and relief vary per patch), with dunes,
//!    ridges or channels, boulders and albedo variation mixed in at random;
//! 2. features by class (see the labelling rule below): craters are parabolic bowls with a
//!    raised rim, fresh (deep, sharp rim) to degraded (shallow, soft rim, infilled floor);
//!    hard negatives are mounds (inverted shading), craters whose centre lies far off the
//!    patch centre, rim fragments, dark albedo spots, rings of albedo and boulders, and
//!    small pits — and positives carry the same distractors elsewhere in the patch, so that
//!    none of them gives the class away;
//! 3. rendering: one sun per patch (from the west ± 35° in 90% of patches as in the HRSC
//!    strips, from anywhere in the rest; elevation 15°–45°), Lambert shading
//!    with cast shadows, Gaussian blur, sensor noise, a per-patch linear stretch to the
//!    brightness and contrast of real patches, 8-bit quantisation, and now and then a black
//!    no-data wedge as at the edge of an orbital image strip.
//!
//! **Labelling rule**: a patch is a crater (1) when it holds a crater of radius ≥ 3.5 px whose
//! centre lies in the central 20×20 window (at most 10 px from the patch centre along each
//! axis). Negatives hold no such crater: any crater in them is smaller than 2 px in radius
//! or centred at least 20 px off-centre along some axis (the gaps keep labels unambiguous).
//!
//! The statistics it was tuned to come from the real, unlabelled course patches in
//! `shared/data/course` (brightness, contrast, gradient energy, power spectrum, saturation).
//! Every patch has its own RNG derived from (seed, set, index), so the output is
//! byte-identical for a seed whatever the number of threads.

use std::f32::consts::PI;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dataset::{Dataset, PATCH_PIXELS, PATCH_SIDE, seed_files};
use crate::error::{Error, Result};
use crate::npy::{write_atomic, write_npy};
use crate::split::shuffle;

/// Bumped whenever the same parameters would give different patches (2: the shadow-sweep
/// renderer and the labelling rule of radius ≥ 3.5 px within 10 px).
pub const GENERATOR_VERSION: u32 = 2;

/// File beside generated data that records the generator version and parameters.
pub const MANIFEST: &str = "manifest.json";

/// Whether `dir` holds data this generator version wrote with exactly `params` (per its
/// manifest); false when the manifest is missing or unreadable.
pub fn is_current(dir: &Path, params: &ValidSynthParams) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(MANIFEST)) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    manifest["generator_version"] == GENERATOR_VERSION
        && serde_json::to_value(params.0).is_ok_and(|p| manifest["parameters"] == p)
}

/// Settings of [`generate`], checked into [`ValidSynthParams`] before use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SynthParams {
    seed: u64,
    n_train: usize,
    n_extra: usize,
    n_test: usize,
    positive_fraction: f64,
}

impl Default for SynthParams {
    /// The seed experiment's sizes: 3000 labelled at 64% craters, 3000 extra, 1000 test.
    fn default() -> Self {
        SynthParams {
            seed: 0,
            n_train: 3000,
            n_extra: 3000,
            n_test: 1000,
            positive_fraction: 0.64,
        }
    }
}

impl SynthParams {
    /// Seed of everything random. Default 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Labelled patches (`Xtrain1.npy`). Default 3000; at least 1.
    pub fn n_train(mut self, n: usize) -> Self {
        self.n_train = n;
        self
    }

    /// Unlabelled extra patches (`Xtrain1_extra.npy`). Default 3000; 0 writes no file.
    pub fn n_extra(mut self, n: usize) -> Self {
        self.n_extra = n;
        self
    }

    /// Test patches (`Xtest1.npy`). Default 1000; 0 writes no file.
    pub fn n_test(mut self, n: usize) -> Self {
        self.n_test = n;
        self
    }

    /// Share of craters in every set, in [0, 1]. Default 0.64.
    pub fn positive_fraction(mut self, fraction: f64) -> Self {
        self.positive_fraction = fraction;
        self
    }

    /// Checks the values; only checked params generate.
    pub fn check(&self) -> Result<ValidSynthParams> {
        let f = self.positive_fraction;
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::InvalidParam {
                name: "positive_fraction",
                value: f,
                expected: "a number in [0, 1]",
            });
        }
        if self.n_train == 0 {
            return Err(Error::InvalidParam {
                name: "n_train",
                value: 0.0,
                expected: "at least 1 labelled patch",
            });
        }
        Ok(ValidSynthParams(*self))
    }
}

/// [`SynthParams`] that passed [`SynthParams::check`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ValidSynthParams(SynthParams);

/// Generated patches (uint8, N × 2304) and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSet {
    /// Pixels, one patch after another, row-major.
    pub pixels: Vec<u8>,
    /// 0/1 labels, one per patch.
    pub labels: Vec<u8>,
}

impl SynthSet {
    /// Number of patches.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set has no patch.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The patches as a labelled [`Dataset`] (pixels scaled by 1/255), `name` standing in
    /// for the file it would have come from.
    pub fn to_dataset(&self, name: &str) -> Result<Dataset> {
        let pixels = self.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        Dataset::new(name, pixels, Some(self.labels.clone()))
    }
}

/// The three sets of the seed layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthData {
    /// Labelled training patches.
    pub train: SynthSet,
    /// Extra patches (their labels are written as hidden labels).
    pub extra: SynthSet,
    /// Test patches (their labels are written as hidden labels).
    pub test: SynthSet,
}

/// Generates the three sets, using all available cores.
pub fn generate(params: &ValidSynthParams) -> SynthData {
    let p = params.0;
    SynthData {
        train: generate_set(p.seed, 0, p.n_train, p.positive_fraction),
        extra: generate_set(p.seed, 1, p.n_extra, p.positive_fraction),
        test: generate_set(p.seed, 2, p.n_test, p.positive_fraction),
    }
}

/// Writes `data` into `dir` in the seed layout plus `manifest.json`; each file is written
/// atomically. Empty extra or test sets write no file.
pub fn write_seed_layout(dir: &Path, data: &SynthData, params: &ValidSynthParams) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.into(),
        source,
    })?;
    let sets = [
        (&data.train, seed_files::X_TRAIN, seed_files::Y_TRAIN),
        (&data.extra, seed_files::X_EXTRA, seed_files::Y_EXTRA_HIDDEN),
        (&data.test, seed_files::X_TEST, seed_files::Y_TEST_HIDDEN),
    ];
    for (set, x_name, y_name) in sets {
        if set.is_empty() {
            continue;
        }
        let n = set.len() as u64;
        write_npy(&dir.join(x_name), &[n, PATCH_PIXELS as u64], &set.pixels)?;
        write_npy(&dir.join(y_name), &[n], &set.labels)?;
    }
    let manifest = manifest(data, params);
    let path = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Write {
        path: path.clone(),
        source: e.into(),
    })?;
    write_atomic(&path, format!("{text}\n").as_bytes())
}

fn manifest(data: &SynthData, params: &ValidSynthParams) -> serde_json::Value {
    let set = |s: &SynthSet| {
        let positives = s.labels.iter().filter(|&&l| l == 1).count();
        serde_json::json!({
            "n": s.len(),
            "positives": positives,
            "positive_fraction": if s.is_empty() { 0.0 } else { positives as f64 / s.len() as f64 },
        })
    };
    serde_json::json!({
        "generator": "craters-dataset synth",
        "generator_version": GENERATOR_VERSION,
        "seed": params.0.seed,
        "parameters": params.0,
        "sets": { "train": set(&data.train), "extra": set(&data.extra), "test": set(&data.test) },
        "files": {
            "train": [seed_files::X_TRAIN, seed_files::Y_TRAIN],
            "extra": [seed_files::X_EXTRA, seed_files::Y_EXTRA_HIDDEN],
            "test": [seed_files::X_TEST, seed_files::Y_TEST_HIDDEN],
        },
        "labelling_rule": "1 when a crater of radius >= 3.5 px has its centre within 10 px of the patch centre \
            along each axis; negatives hold no crater of radius >= 2 px centred within 20 px along each axis",
    })
}

/// SplitMix64: spreads (seed, set, index) into independent RNG seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn generate_set(seed: u64, set: u64, n: usize, positive_fraction: f64) -> SynthSet {
    let set_seed = mix(mix(seed) ^ set);
    let n_positive = (positive_fraction * n as f64).round() as usize;
    let mut labels: Vec<u8> = (0..n).map(|i| u8::from(i < n_positive)).collect();
    shuffle(&mut labels, &mut ChaCha8Rng::seed_from_u64(set_seed));
    let mut pixels = vec![0u8; n * PATCH_PIXELS];
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (c, (out, labels)) in pixels
            .chunks_mut(chunk * PATCH_PIXELS)
            .zip(labels.chunks(chunk))
            .enumerate()
        {
            scope.spawn(move || {
                for (k, (patch, &label)) in out.chunks_mut(PATCH_PIXELS).zip(labels).enumerate() {
                    let index = (c * chunk + k) as u64;
                    let mut rng = ChaCha8Rng::seed_from_u64(mix(set_seed ^ mix(index)));
                    render_patch(&mut rng, label == 1, patch);
                }
            });
        }
    });
    SynthSet { pixels, labels }
}

/// Working canvas: the patch plus a margin, so that blur and shadows see beyond its edge.
const MARGIN: usize = 5;
const SIDE: usize = PATCH_SIDE + 2 * MARGIN;
const CENTRE: f32 = SIDE as f32 / 2.0;

struct Canvas {
    height: Vec<f32>,
    albedo: Vec<f32>,
}

impl Canvas {
    fn new() -> Self {
        Canvas {
            height: vec![0.0; SIDE * SIDE],
            albedo: vec![1.0; SIDE * SIDE],
        }
    }

    /// Adds `f(dx, dy)` to the height around (cx, cy) within `reach` pixels.
    fn add_height(&mut self, cx: f32, cy: f32, reach: f32, f: impl Fn(f32, f32) -> f32) {
        for_each_near(cx, cy, reach, |i, dx, dy| self.height[i] += f(dx, dy));
    }

    fn scale_albedo(&mut self, cx: f32, cy: f32, reach: f32, f: impl Fn(f32, f32) -> f32) {
        for_each_near(cx, cy, reach, |i, dx, dy| self.albedo[i] *= f(dx, dy));
    }
}

fn for_each_near(cx: f32, cy: f32, reach: f32, mut f: impl FnMut(usize, f32, f32)) {
    let x0 = (cx - reach).floor().max(0.0) as usize;
    let x1 = ((cx + reach).ceil() as usize).min(SIDE - 1);
    let y0 = (cy - reach).floor().max(0.0) as usize;
    let y1 = ((cy + reach).ceil() as usize).min(SIDE - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            f(y * SIDE + x, x as f32 - cx, y as f32 - cy);
        }
    }
}

fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

fn chance(rng: &mut ChaCha8Rng, p: f32) -> bool {
    rng.random::<f32>() < p
}

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box–Muller; 1 − u keeps the logarithm finite.
    let (u, v) = (1.0 - rng.random::<f32>(), rng.random::<f32>());
    (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
}

/// Log-uniform in [lo, hi].
fn log_uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f32>()).exp()
}

/// Value noise: random values on a grid of `cell` pixels, smoothly interpolated.
fn value_noise(rng: &mut ChaCha8Rng, cell: f32, out: &mut [f32], amplitude: f32) {
    let g = (SIDE as f32 / cell).ceil() as usize + 2;
    let grid: Vec<f32> = (0..g * g).map(|_| uniform(rng, -1.0, 1.0)).collect();
    let (ox, oy) = (rng.random::<f32>(), rng.random::<f32>());
    // Grid column and weight of every x, computed once rather than per pixel.
    let columns: Vec<(usize, f32)> = (0..SIDE)
        .map(|x| {
            let fx = x as f32 / cell + ox;
            (fx as usize, smooth(fx - fx.floor()))
        })
        .collect();
    for y in 0..SIDE {
        let fy = y as f32 / cell + oy;
        let (iy, ty) = (fy as usize, smooth(fy - fy.floor()));
        let (upper, lower) = (&grid[iy * g..(iy + 1) * g], &grid[(iy + 1) * g..(iy + 2) * g]);
        let row = &mut out[y * SIDE..(y + 1) * SIDE];
        for (o, &(ix, tx)) in row.iter_mut().zip(&columns) {
            let top = upper[ix] + (upper[ix + 1] - upper[ix]) * tx;
            let bottom = lower[ix] + (lower[ix + 1] - lower[ix]) * tx;
            *o += amplitude * (top + (bottom - top) * ty);
        }
    }
}

fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// Fractal terrain: octaves from 32 px down to 1 px cells, amplitude ∝ cell^hurst.
fn fractal(rng: &mut ChaCha8Rng, out: &mut [f32], relief: f32, hurst: f32) {
    let mut cell = 32.0f32;
    while cell >= 1.0 {
        value_noise(rng, cell, out, relief * (cell / 32.0).powf(hurst));
        cell /= 2.0;
    }
}

/// The height profile of a crater of radius `r`: a parabolic bowl with a raised rim.
/// `fresh` in [0, 1] sets depth and rim sharpness; `infill` flattens the floor.
fn crater_profile(r: f32, fresh: f32, infill: f32) -> impl Fn(f32, f32) -> f32 {
    let depth = r * (0.06 + 0.3 * fresh);
    let rim = r * (0.03 + 0.09 * fresh);
    let width = 0.1 + 0.3 * (1.0 - fresh);
    let floor = -depth * (1.0 - infill);
    move |dx, dy| {
        let rho = (dx * dx + dy * dy).sqrt() / r;
        let bowl = if rho < 1.0 {
            (-depth * (1.0 - rho * rho)).max(floor)
        } else {
            0.0
        };
        let t = (rho - 1.0) / width;
        bowl + rim * (-t * t).exp()
    }
}

fn add_crater(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32, r: f32) {
    let fresh = 0.45 + 0.55 * rng.random::<f32>().powf(0.6);
    // Small craters stay sharp: a degraded 4 px crater is invisible at this resolution.
    let fresh = if r < 6.0 { fresh.max(0.6) } else { fresh };
    let infill = uniform(rng, 0.0, 0.7) * (1.0 - fresh);
    let profile = crater_profile(r, fresh, infill);
    // Slightly elliptical craters (oblique impacts, projection).
    let (stretch, angle) = (uniform(rng, 0.85, 1.0), uniform(rng, 0.0, PI));
    let (c, s) = (angle.cos(), angle.sin());
    canvas.add_height(cx, cy, r * 1.8 + 2.0, |dx, dy| {
        let (u, v) = (c * dx + s * dy, -s * dx + c * dy);
        profile(u, v / stretch)
    });
}

/// A dome: inverted crater shading, the classic fooler of crater detectors.
fn add_mound(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32, r: f32) {
    let h = r * uniform(rng, 0.15, 0.45);
    canvas.add_height(cx, cy, r + 1.0, |dx, dy| {
        let rho2 = (dx * dx + dy * dy) / (r * r);
        if rho2 < 1.0 {
            h * (1.0 - rho2).powf(1.5)
        } else {
            0.0
        }
    });
}

/// An arc of raised rim without a bowl: what is left of a buried or eroded crater edge.
fn add_rim_fragment(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32, r: f32) {
    let (start, extent) = (uniform(rng, 0.0, 2.0 * PI), uniform(rng, 0.6, 1.8));
    let (h, w) = (r * uniform(rng, 0.06, 0.14), uniform(rng, 0.8, 2.0));
    canvas.add_height(cx, cy, r + 3.0 * w, |dx, dy| {
        let angle = (dy.atan2(dx) - start).rem_euclid(2.0 * PI);
        if angle > extent {
            return 0.0;
        }
        let t = ((dx * dx + dy * dy).sqrt() - r) / w;
        h * (-t * t).exp()
    });
}

fn add_dark_spot(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32, r: f32) {
    let darkness = uniform(rng, 0.25, 0.6);
    canvas.scale_albedo(cx, cy, r * 2.0, |dx, dy| {
        let rho2 = (dx * dx + dy * dy) / (r * r);
        1.0 - darkness * (-rho2 * rho2).exp()
    });
}

/// A ring of albedo or of small boulders: circular-looking texture with no relief bowl.
fn add_ring(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32, r: f32) {
    if chance(rng, 0.5) {
        let (gain, w) = (uniform(rng, -0.35, 0.35), uniform(rng, 0.8, 2.0));
        canvas.scale_albedo(cx, cy, r + 3.0 * w, |dx, dy| {
            let t = ((dx * dx + dy * dy).sqrt() - r) / w;
            1.0 + gain * (-t * t).exp()
        });
    } else {
        let n = (r * uniform(rng, 0.8, 1.6)) as usize + 4;
        for _ in 0..n {
            let a = uniform(rng, 0.0, 2.0 * PI);
            let rr = r + normal(rng) * 0.8;
            add_boulder(canvas, rng, cx + rr * a.cos(), cy + rr * a.sin());
        }
    }
}

fn add_boulder(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32) {
    let (r, h) = (uniform(rng, 0.5, 1.0), uniform(rng, 0.3, 0.9));
    canvas.add_height(cx, cy, 2.0 * r, |dx, dy| {
        h * (-(dx * dx + dy * dy) / (r * r)).exp()
    });
}

/// Dunes, ridges, channels, boulders and albedo patches on top of the fractal base.
fn add_terrain(canvas: &mut Canvas, rng: &mut ChaCha8Rng) {
    let (relief, hurst) = (log_uniform(rng, 0.3, 1.6), uniform(rng, 0.3, 1.0));
    fractal(rng, &mut canvas.height, relief, hurst);
    if chance(rng, 0.4) {
        // Etched, cracked ground: ridged noise has sharp crests where plain noise is smooth.
        let mut ridged = vec![0.0; SIDE * SIDE];
        let cell = uniform(rng, 2.0, 5.0);
        value_noise(rng, cell, &mut ridged, 1.0);
        let amplitude = log_uniform(rng, 0.15, 0.7);
        for (h, n) in canvas.height.iter_mut().zip(ridged) {
            *h += amplitude * (1.0 - 2.0 * n.abs());
        }
    }
    if chance(rng, 0.12) {
        // Dunes: an asymmetric wave pattern whose crests wander.
        let (lambda, phi) = (uniform(rng, 3.5, 10.0), uniform(rng, 0.0, PI));
        let a = uniform(rng, 0.2, 0.8) * lambda / 6.0;
        let mut warp = vec![0.0; SIDE * SIDE];
        let wander = uniform(rng, 1.0, 4.0);
        value_noise(rng, 16.0, &mut warp, wander);
        let (c, s) = (phi.cos(), phi.sin());
        for y in 0..SIDE {
            for x in 0..SIDE {
                let i = y * SIDE + x;
                let u = 2.0 * PI * ((c * x as f32 + s * y as f32) / lambda) + warp[i];
                canvas.height[i] += a * (u.sin() + 0.3 * (2.0 * u).sin());
            }
        }
    }
    if chance(rng, 0.3) {
        // Ridges (raised) or channels (cut) along gently curving lines.
        for _ in 0..rng.random_range(1..=3) {
            let (phi, offset) = (uniform(rng, 0.0, PI), uniform(rng, -20.0, 20.0));
            let (bend, w) = (uniform(rng, -0.006, 0.006), uniform(rng, 1.0, 4.0));
            let h = uniform(rng, 0.5, 2.5) * if chance(rng, 0.5) { 1.0 } else { -1.0 };
            let (c, s) = (phi.cos(), phi.sin());
            for y in 0..SIDE {
                for x in 0..SIDE {
                    let (dx, dy) = (x as f32 - CENTRE, y as f32 - CENTRE);
                    let along = c * dx + s * dy;
                    let across = -s * dx + c * dy - offset - bend * along * along;
                    canvas.height[y * SIDE + x] += h * (-(across / w).powi(2)).exp();
                }
            }
        }
    }
    if chance(rng, 0.2) {
        for _ in 0..rng.random_range(3..15) {
            let (x, y) = (uniform(rng, 0.0, SIDE as f32), uniform(rng, 0.0, SIDE as f32));
            add_boulder(canvas, rng, x, y);
        }
    }
    let mut albedo_noise = vec![0.0; SIDE * SIDE];
    let (cell, amplitude) = (uniform(rng, 8.0, 32.0), uniform(rng, 0.0, 0.25));
    value_noise(rng, cell, &mut albedo_noise, amplitude);
    for (a, n) in canvas.albedo.iter_mut().zip(albedo_noise) {
        *a *= 1.0 + n;
    }
}

/// A random position with its offset from the centre at least `min` px along one axis and
/// at most `max` px along both.
fn off_centre(rng: &mut ChaCha8Rng, min: f32, max: f32) -> (f32, f32) {
    let far = uniform(rng, min, max) * if chance(rng, 0.5) { 1.0 } else { -1.0 };
    let near = uniform(rng, -max, max);
    let (dx, dy) = if chance(rng, 0.5) {
        (far, near)
    } else {
        (near, far)
    };
    (CENTRE + dx, CENTRE + dy)
}

/// Distractors shared by both classes, placed off the central crater.
fn add_distractor(canvas: &mut Canvas, rng: &mut ChaCha8Rng, central: bool) {
    let (cx, cy) = if central {
        (
            CENTRE + uniform(rng, -10.0, 10.0),
            CENTRE + uniform(rng, -10.0, 10.0),
        )
    } else {
        off_centre(rng, 14.0, 30.0)
    };
    let r = log_uniform(rng, 3.0, 14.0);
    match rng.random_range(0..6) {
        0 => add_mound(canvas, rng, cx, cy, r),
        1 => add_rim_fragment(canvas, rng, cx, cy, r),
        2 => add_dark_spot(canvas, rng, cx, cy, r * 0.7),
        3 => add_ring(canvas, rng, cx, cy, r * 0.8),
        4 => {
            // Small pits: craters too small to count.
            for _ in 0..rng.random_range(1..4) {
                let (x, y) = (cx + normal(rng) * 6.0, cy + normal(rng) * 6.0);
                let r = uniform(rng, 0.8, 1.5);
                add_crater(canvas, rng, x, y, r);
            }
        }
        _ => {
            // A crater far enough off-centre not to count.
            let (x, y) = off_centre(rng, 20.0, 34.0);
            let r = log_uniform(rng, 3.0, 10.0);
            add_crater(canvas, rng, x, y, r);
        }
    }
}

fn render_patch(rng: &mut ChaCha8Rng, crater: bool, out: &mut [u8]) {
    let mut canvas = Canvas::new();
    add_terrain(&mut canvas, rng);
    if crater {
        let (cx, cy) = (
            CENTRE + uniform(rng, -10.0, 10.0),
            CENTRE + uniform(rng, -10.0, 10.0),
        );
        let r = log_uniform(rng, 3.5, 16.0);
        add_crater(&mut canvas, rng, cx, cy, r);
        if chance(rng, 0.3) {
            // Smaller craters overlapping the main one.
            for _ in 0..rng.random_range(1..=2) {
                let a = uniform(rng, 0.0, 2.0 * PI);
                let d = r * uniform(rng, 0.5, 1.3);
                let small = uniform(rng, 1.5, r / 2.0 + 1.0);
                add_crater(&mut canvas, rng, cx + d * a.cos(), cy + d * a.sin(), small);
            }
        }
        for _ in 0..usize::from(chance(rng, 0.35)) + usize::from(chance(rng, 0.1)) {
            add_distractor(&mut canvas, rng, false);
        }
    } else {
        // Half the negatives carry a hard negative near the centre; the rest are bare terrain.
        if chance(rng, 0.5) {
            add_distractor(&mut canvas, rng, true);
        }
        for _ in 0..usize::from(chance(rng, 0.35)) + usize::from(chance(rng, 0.1)) {
            add_distractor(&mut canvas, rng, false);
        }
    }
    render(&canvas, rng, out);
}

/// Which canvas pixels the sun reaches. A sweep from the sun side carries the height of the
/// shadow cast over each pixel: what is cast 2 px sunward, lowered by the sun's slope over
/// 2 px. Pixels are visited in half-pixel bands of distance from the sun; the 2 px step then
/// only ever reads bands already done (a bilinear sample strays at most √2 px back).
fn sunlit(height: &[f32], sx: f32, sy: f32, rise: f32) -> Vec<bool> {
    const STEP: f32 = 2.0;
    let bands: Vec<isize> = (0..SIDE * SIDE)
        .map(|i| (-2.0 * ((i % SIDE) as f32 * sx + (i / SIDE) as f32 * sy)).floor() as isize)
        .collect();
    let first = bands.iter().copied().min().unwrap_or(0);
    let n_bands = (bands.iter().copied().max().unwrap_or(0) - first + 1) as usize;
    // Counting sort of pixel indices by band.
    let mut starts = vec![0usize; n_bands + 1];
    for &b in &bands {
        starts[(b - first) as usize + 1] += 1;
    }
    for k in 1..=n_bands {
        starts[k] += starts[k - 1];
    }
    let mut order = vec![0usize; SIDE * SIDE];
    for (i, &b) in bands.iter().enumerate() {
        let slot = &mut starts[(b - first) as usize];
        order[*slot] = i;
        *slot += 1;
    }
    let mut cast = height.to_vec();
    let mut lit = vec![true; SIDE * SIDE];
    let limit = (SIDE - 1) as f32;
    for i in order {
        let (x, y) = ((i % SIDE) as f32 + STEP * sx, (i / SIDE) as f32 + STEP * sy);
        if !(0.0..limit).contains(&x) || !(0.0..limit).contains(&y) {
            continue;
        }
        let shadow = sample(&cast, x, y) - STEP * rise;
        if shadow > height[i] {
            lit[i] = false;
            cast[i] = shadow;
        }
    }
    lit
}

/// Bilinear height lookup at a point inside the canvas (0 ≤ x, y < SIDE − 1).
fn sample(height: &[f32], x: f32, y: f32) -> f32 {
    let (ix, iy) = (x as usize, y as usize);
    let (tx, ty) = (x - ix as f32, y - iy as f32);
    let i = iy * SIDE + ix;
    let top = height[i] * (1.0 - tx) + height[i + 1] * tx;
    let bottom = height[i + SIDE] * (1.0 - tx) + height[i + SIDE + 1] * tx;
    top * (1.0 - ty) + bottom * ty
}

fn render(canvas: &Canvas, rng: &mut ChaCha8Rng, out: &mut [u8]) {
    // Sun mostly from the west (image left), as in the HRSC strips; now and then anywhere.
    let azimuth = if chance(rng, 0.9) {
        PI + 0.6 * normal(rng)
    } else {
        uniform(rng, 0.0, 2.0 * PI)
    };
    let elevation = uniform(rng, 15.0, 45.0).to_radians();
    let (sx, sy) = (azimuth.cos(), azimuth.sin());
    let light = [elevation.cos() * sx, elevation.cos() * sy, elevation.sin()];
    let rise = elevation.tan();
    let h = &canvas.height;
    let lit = sunlit(h, sx, sy, rise);
    let ambient = uniform(rng, 0.05, 0.2);
    let mut image = vec![0.0f32; SIDE * SIDE];
    for y in 1..SIDE - 1 {
        for x in 1..SIDE - 1 {
            let i = y * SIDE + x;
            let gx = (h[i + 1] - h[i - 1]) / 2.0;
            let gy = (h[i + SIDE] - h[i - SIDE]) / 2.0;
            let norm = (gx * gx + gy * gy + 1.0).sqrt();
            let lambert = ((-gx * light[0] - gy * light[1] + light[2]) / norm).max(0.0);
            let lit = lit[i];
            let direct = if lit { lambert } else { 0.0 };
            image[i] = canvas.albedo[i] * (ambient + direct);
        }
    }
    let blurred = gaussian_blur(&image, uniform(rng, 0.3, 0.6));
    // Crop, add sensor noise, stretch to a real patch's brightness and contrast, quantise.
    let noise = log_uniform(rng, 0.06, 0.3);
    let mut patch = vec![0.0f32; PATCH_PIXELS];
    for y in 0..PATCH_SIDE {
        for x in 0..PATCH_SIDE {
            patch[y * PATCH_SIDE + x] = blurred[(y + MARGIN) * SIDE + x + MARGIN];
        }
    }
    let (mean, std) = mean_std(&patch);
    let scale = if std > 1e-6 { 1.0 / std } else { 0.0 };
    let target_mean = 124.0 + 4.0 * normal(rng);
    let target_std = log_uniform(rng, 19.0, 42.0);
    for p in &mut patch {
        *p = (*p - mean) * scale + noise * normal(rng);
    }
    let (_, std) = mean_std(&patch);
    for (o, p) in out.iter_mut().zip(&patch) {
        *o = (target_mean + target_std * p / std.max(1e-6))
            .round()
            .clamp(0.0, 255.0) as u8;
    }
    if chance(rng, 0.03) {
        // No-data wedge: pixels beyond a line are black, as at the edge of an image strip.
        let (phi, offset) = (uniform(rng, 0.0, 2.0 * PI), uniform(rng, 14.0, 24.0));
        let (c, s) = (phi.cos(), phi.sin());
        for y in 0..PATCH_SIDE {
            for x in 0..PATCH_SIDE {
                let (dx, dy) = (x as f32 - 23.5, y as f32 - 23.5);
                if c * dx + s * dy > offset {
                    out[y * PATCH_SIDE + x] = 0;
                }
            }
        }
    }
}

fn mean_std(values: &[f32]) -> (f32, f32) {
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, var.sqrt())
}

fn gaussian_blur(image: &[f32], sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|k| (-((k * k) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let at = |v: isize| v.clamp(0, SIDE as isize - 1) as usize;
    let mut rows = vec![0.0; SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            rows[y * SIDE + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * image[y * SIDE + at(x as isize + k as isize - radius)])
                .sum();
        }
    }
    let mut out = vec![0.0; SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            out[y * SIDE + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * rows[at(y as isize + k as isize - radius) * SIDE + x])
                .sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> SynthData {
        generate(
            &SynthParams::default()
                .seed(seed)
                .n_train(40)
                .n_extra(10)
                .n_test(10)
                .check()
                .unwrap(),
        )
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_data() {
        let a = small(5);
        assert_eq!(a, small(5));
        let b = small(6);
        assert_ne!(a.train.pixels, b.train.pixels);
        assert_ne!(a.test.pixels, b.test.pixels);
    }

    #[test]
    fn sets_have_sizes_and_class_ratio() {
        let data = small(1);
        assert_eq!(
            (data.train.len(), data.extra.len(), data.test.len()),
            (40, 10, 10)
        );
        assert_eq!(data.train.pixels.len(), 40 * PATCH_PIXELS);
        assert_eq!(data.train.labels.iter().filter(|&&l| l == 1).count(), 26); // round(0.64 · 40)
    }

    #[test]
    fn patches_look_like_real_ones() {
        // Brightness and contrast of real course patches: mean ≈ 124, std ≈ 20–40.
        let data = small(2);
        for patch in data.train.pixels.chunks(PATCH_PIXELS) {
            let values: Vec<f32> = patch.iter().map(|&p| f32::from(p)).collect();
            let (mean, std) = mean_std(&values);
            assert!(
                (80.0..170.0).contains(&mean) && (12.0..60.0).contains(&std),
                "mean {mean} std {std}"
            );
        }
    }

    #[test]
    fn shadows_fall_away_from_the_sun() {
        let mut canvas = Canvas::new();
        let pit = crater_profile(10.0, 1.0, 0.0);
        canvas.add_height(CENTRE, CENTRE, 30.0, &pit);
        // Sun in the west (towards −x), 20° up.
        let lit = sunlit(&canvas.height, -1.0, 0.0, 20f32.to_radians().tan());
        let at = |dx: f32| lit[CENTRE as usize * SIDE + (CENTRE + dx) as usize];
        assert!(
            !at(-8.0),
            "the inside of the western wall lies in the rim's shadow"
        );
        assert!(at(8.0), "the eastern inside wall faces the sun");
        assert!(at(-25.0) && lit[SIDE + 1], "flat ground is lit");
        // A 10 px wall under a 20° sun casts a shadow 10 / tan 20° ≈ 27 px long: reaching 15 px
        // takes many 2 px steps, so this checks the sweep order too.
        let mut wall = Canvas::new();
        for y in 0..SIDE {
            for x in 10..12 {
                wall.height[y * SIDE + x] = 10.0;
            }
        }
        let lit = sunlit(&wall.height, -1.0, 0.0, 20f32.to_radians().tan());
        let row = &lit[30 * SIDE..31 * SIDE];
        assert!(!row[26] && !row[34], "within the wall's shadow");
        assert!(row[45] && row[5], "beyond the shadow, and on the sunny side");
        // Any sun direction: the flat corners stay lit and the pit's floor is not all lit.
        for k in 0..8 {
            let a = k as f32 * PI / 4.0;
            let lit = sunlit(&canvas.height, a.cos(), a.sin(), 0.2);
            assert!(lit[SIDE + 1] && lit[SIDE * SIDE - SIDE - 2]);
            assert!(lit.iter().filter(|&&l| !l).count() > 20, "azimuth {a}");
        }
    }

    #[test]
    fn rejects_bad_params() {
        assert!(SynthParams::default().positive_fraction(1.5).check().is_err());
        assert!(SynthParams::default().n_train(0).check().is_err());
    }
}
