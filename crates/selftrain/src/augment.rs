//! Augmentations of square grayscale patches that keep a crater label true.
//!
//! A patch is a crater when a crater's centre lies within 10 px of the patch centre, and
//! its look depends on the sun: rim bright on the far side, shadow on the near side. So:
//! - a top–bottom flip is safe when the sun comes from the west or east (as in HRSC strips
//!   and the generated data): the lit side stays lit. A left–right flip or a rotation
//!   moves the shadow to the other side, where a mound (inverted shading) would now look
//!   like a crater; it is off by default and measured, not assumed (see the README);
//! - shifts are bounded well inside the labelling rule's 10 px ([`MAX_SHIFT`]);
//! - brightness, contrast, noise and blur change no geometry at all.
//!
//! Everything is drawn from the caller's RNG, so a seeded run sees the same views.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// Largest shift allowed (px): a crater at the patch centre stays well inside the
/// labelling rule's 10 px, and one at its edge moves by at most half the gap (20 px) to
/// the nearest negative.
pub const MAX_SHIFT: usize = 4;

/// One augmentation policy; every part is optional. `Default` changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentParams {
    /// Flip top–bottom with probability ½ (keeps a west or east sun on its side).
    pub flip_top_bottom: bool,
    /// Flip left–right with probability ½ (moves the sun to the other side).
    pub flip_left_right: bool,
    /// Shift by up to this many px along each axis (edges repeated), at most [`MAX_SHIFT`].
    pub max_shift: usize,
    /// Add b · σ (the patch's standard deviation), b uniform in ±this.
    pub brightness: f32,
    /// Scale the patch's deviations from its mean by c, uniform in 1 ± this (below 1).
    pub contrast: f32,
    /// Add Gaussian noise of up to this · σ (its strength uniform in [0, this]).
    pub noise: f32,
    /// Probability of a 3×3 binomial blur.
    pub blur: f32,
}

impl Default for AugmentParams {
    fn default() -> Self {
        AugmentParams {
            flip_top_bottom: false,
            flip_left_right: false,
            max_shift: 0,
            brightness: 0.0,
            contrast: 0.0,
            noise: 0.0,
            blur: 0.0,
        }
    }
}

impl AugmentParams {
    /// A weak view, as FixMatch's: flip (sun-respecting) and a small shift.
    pub fn weak() -> Self {
        AugmentParams {
            flip_top_bottom: true,
            max_shift: 2,
            ..AugmentParams::default()
        }
    }

    /// A strong view: the weak one's geometry with a larger shift, and photometric
    /// changes (brightness, contrast, noise, blur) that keep every shape.
    pub fn strong() -> Self {
        AugmentParams {
            flip_top_bottom: true,
            max_shift: MAX_SHIFT,
            brightness: 0.5,
            contrast: 0.5,
            noise: 0.3,
            blur: 0.5,
            ..AugmentParams::default()
        }
    }

    /// Checks every range, naming the first value outside it.
    pub fn check(&self, name: &'static str) -> Result<ValidAugment> {
        let invalid = |message: String| Err(Error::InvalidParam { name, message });
        if self.max_shift > MAX_SHIFT {
            return invalid(format!(
                "max_shift {} is beyond {MAX_SHIFT} px (a crater must stay within the labelling rule's 10 px)",
                self.max_shift
            ));
        }
        for (field, value, range) in [
            ("brightness", self.brightness, 0.0..=2.0),
            ("contrast", self.contrast, 0.0..=0.95),
            ("noise", self.noise, 0.0..=2.0),
            ("blur", self.blur, 0.0..=1.0),
        ] {
            if !range.contains(&value) {
                return invalid(format!(
                    "{field} {value} is outside [{}, {}]",
                    range.start(),
                    range.end()
                ));
            }
        }
        Ok(ValidAugment(*self))
    }
}

/// [`AugmentParams`] that passed [`AugmentParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidAugment(AugmentParams);

impl ValidAugment {
    /// The checked parameters.
    pub fn params(&self) -> &AugmentParams {
        &self.0
    }

    /// Whether it changes anything at all.
    pub fn is_identity(&self) -> bool {
        self.0 == AugmentParams::default()
    }

    /// Augments every `side`×`side` patch of `pixels` (row-major, one after another) in
    /// place, each with its own draws from `rng`; values stay in [0, 1].
    pub fn apply(&self, pixels: &mut [f32], side: usize, rng: &mut ChaCha8Rng) {
        if self.is_identity() || side == 0 {
            return;
        }
        let mut scratch = vec![0.0f32; side * side];
        for patch in pixels.chunks_exact_mut(side * side) {
            self.apply_one(patch, side, &mut scratch, rng);
        }
    }

    fn apply_one(&self, patch: &mut [f32], side: usize, scratch: &mut [f32], rng: &mut ChaCha8Rng) {
        let p = &self.0;
        // Every draw is made whether or not it is used, so that one setting's change does
        // not shift the random stream of the others.
        let flip_tb = rng.random_bool(0.5) && p.flip_top_bottom;
        let flip_lr = rng.random_bool(0.5) && p.flip_left_right;
        let shift = p.max_shift as i64;
        let dy = rng.random_range(-shift..=shift);
        let dx = rng.random_range(-shift..=shift);
        let b = rng.random_range(-1.0f32..=1.0) * p.brightness;
        let c = 1.0 + rng.random_range(-1.0f32..=1.0) * p.contrast;
        let noise = rng.random_range(0.0f32..=1.0) * p.noise;
        let blur = rng.random_range(0.0f32..1.0) < p.blur;

        if flip_tb || flip_lr || dx != 0 || dy != 0 {
            let last = side as i64 - 1;
            for y in 0..side {
                for x in 0..side {
                    // Output (y, x) shows input (y − dy, x − dx), flipped first; edges repeat.
                    let sy = (y as i64 - dy).clamp(0, last) as usize;
                    let sx = (x as i64 - dx).clamp(0, last) as usize;
                    let sy = if flip_tb { side - 1 - sy } else { sy };
                    let sx = if flip_lr { side - 1 - sx } else { sx };
                    scratch[y * side + x] = patch[sy * side + sx];
                }
            }
            patch.copy_from_slice(scratch);
        }
        if blur {
            blur_3x3(patch, side, scratch);
        }
        if b != 0.0 || c != 1.0 || noise > 0.0 {
            let n = patch.len() as f32;
            let mean = patch.iter().sum::<f32>() / n;
            let sigma = (patch.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
            for v in patch.iter_mut() {
                let z = if noise > 0.0 { gaussian(rng) } else { 0.0 };
                *v = (mean + c * (*v - mean) + (b + noise * z) * sigma).clamp(0.0, 1.0);
            }
        }
    }
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0f32..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Separable [1 2 1]/4 blur with edges repeated.
fn blur_3x3(patch: &mut [f32], side: usize, scratch: &mut [f32]) {
    let last = side - 1;
    for y in 0..side {
        for x in 0..side {
            let at = |xx: usize| patch[y * side + xx];
            scratch[y * side + x] =
                0.25 * at(x.saturating_sub(1)) + 0.5 * at(x) + 0.25 * at((x + 1).min(last));
        }
    }
    for y in 0..side {
        for x in 0..side {
            let at = |yy: usize| scratch[yy * side + x];
            patch[y * side + x] = 0.25 * at(y.saturating_sub(1)) + 0.5 * at(y) + 0.25 * at((y + 1).min(last));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_identity_leaves_pixels_alone() {
        let mut pixels: Vec<f32> = (0..2 * 16).map(|i| i as f32 / 32.0).collect();
        let before = pixels.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        AugmentParams::default()
            .check("augment")
            .unwrap()
            .apply(&mut pixels, 4, &mut rng);
        assert_eq!(pixels, before);
    }

    #[test]
    fn blur_keeps_a_constant_patch() {
        let mut patch = vec![0.3f32; 25];
        let mut scratch = vec![0.0; 25];
        blur_3x3(&mut patch, 5, &mut scratch);
        assert!(patch.iter().all(|v| (v - 0.3).abs() < 1e-6));
    }
}
