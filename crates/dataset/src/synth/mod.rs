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
//! **Labelling rule**: a patch is a crater (1) when it holds a crater of radius ≥
//! [`LABEL_MIN_RADIUS`] (3.5 px) whose centre lies at most [`LABEL_MAX_OFFSET`] (10 px) from
//! the patch centre along each axis. Negatives hold no such crater: any crater in them is
//! smaller than [`NEGATIVE_MAX_RADIUS`] (2 px) in radius or centred at least
//! [`NEGATIVE_MIN_OFFSET`] (20 px) off-centre along some axis (the gaps keep labels
//! unambiguous). [`labelling_rule`] states it in words, as the manifest records it.
//!
//! The statistics it was tuned to come from the real, unlabelled course patches in
//! `shared/data/course` (brightness, contrast, gradient energy, power spectrum, saturation).
//! Every patch has its own RNG derived from (seed, set, index), so the output is
//! byte-identical for a seed whatever the number of threads.

mod canvas;
mod features;
mod labelling;
mod render;
mod terrain;

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::{Dataset, PATCH_PIXELS, seed_files};
use crate::error::{Error, Result};
use crate::npy::{write_atomic, write_npy};
use crate::split::shuffle;

pub use labelling::{
    LABEL_MAX_OFFSET, LABEL_MAX_RADIUS, LABEL_MIN_RADIUS, NEGATIVE_MAX_RADIUS, NEGATIVE_MIN_OFFSET,
    labelling_rule,
};

/// Bumped whenever the same parameters would give different patches (2: the shadow-sweep
/// renderer and the labelling rule of radius ≥ 3.5 px within 10 px).
pub const GENERATOR_VERSION: u32 = 2;

/// File beside generated data that records the generator version and parameters.
pub const MANIFEST: &str = "manifest.json";

/// Whether `dir` holds data this generator wrote (any version or parameters), per its
/// manifest; false when the manifest is missing or unreadable.
pub fn is_generated(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|manifest| manifest["generator"] == GENERATOR)
}

/// The writer named in the manifest of generated data.
pub const GENERATOR: &str = "craters-dataset synth";

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

/// Most patches of one generated set: a million 48×48 patches are 2.3 GB.
pub const MAX_PATCHES: usize = 1_000_000;

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
        for (name, n) in [
            ("n_train", self.n_train),
            ("n_extra", self.n_extra),
            ("n_test", self.n_test),
        ] {
            if n > MAX_PATCHES {
                return Err(Error::InvalidParam {
                    name,
                    value: n as f64,
                    expected: "at most 1,000,000 patches per set (2.3 GB)",
                });
            }
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

/// Writes `data` into the folder `dir` (created if needed) in the seed layout plus
/// `manifest.json`; each file is written atomically. Empty extra or test sets write no file.
/// Commands write into a staging folder of an [`OutputParams`](crate::OutputParams) output,
/// so that no user file is overwritten.
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
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "seed": params.0.seed,
        "parameters": params.0,
        "sets": { "train": set(&data.train), "extra": set(&data.extra), "test": set(&data.test) },
        "files": {
            "train": [seed_files::X_TRAIN, seed_files::Y_TRAIN],
            "extra": [seed_files::X_EXTRA, seed_files::Y_EXTRA_HIDDEN],
            "test": [seed_files::X_TEST, seed_files::Y_TEST_HIDDEN],
        },
        "labelling_rule": labelling_rule(),
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
                    features::render_patch(&mut rng, label == 1, patch);
                }
            });
        }
    });
    SynthSet { pixels, labels }
}

#[cfg(test)]
mod tests {
    use std::f32::consts::PI;

    use super::canvas::{CENTRE, Canvas, SIDE};
    use super::features::crater_profile;
    use super::render::{mean_std, sunlit};
    use super::*;

    #[test]
    fn the_rule_in_words_is_the_one_the_manifest_always_recorded() {
        assert_eq!(
            labelling_rule(),
            "1 when a crater of radius >= 3.5 px has its centre within 10 px of the patch centre \
            along each axis; negatives hold no crater of radius >= 2 px centred within 20 px along each axis"
        );
    }

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
