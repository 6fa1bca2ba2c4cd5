//! The working canvas (height and albedo of the patch plus a margin) and the random draws
//! the generator is made of.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::PATCH_SIDE;

/// Working canvas: the patch plus a margin, so that blur and shadows see beyond its edge.
pub(super) const MARGIN: usize = 5;
pub(super) const SIDE: usize = PATCH_SIDE + 2 * MARGIN;
pub(super) const CENTRE: f32 = SIDE as f32 / 2.0;

pub(super) struct Canvas {
    pub(super) height: Vec<f32>,
    pub(super) albedo: Vec<f32>,
}

impl Canvas {
    pub(super) fn new() -> Self {
        Canvas {
            height: vec![0.0; SIDE * SIDE],
            albedo: vec![1.0; SIDE * SIDE],
        }
    }

    /// Adds `f(dx, dy)` to the height around (cx, cy) within `reach` pixels.
    pub(super) fn add_height(&mut self, cx: f32, cy: f32, reach: f32, f: impl Fn(f32, f32) -> f32) {
        for_each_near(cx, cy, reach, |i, dx, dy| self.height[i] += f(dx, dy));
    }

    pub(super) fn scale_albedo(&mut self, cx: f32, cy: f32, reach: f32, f: impl Fn(f32, f32) -> f32) {
        for_each_near(cx, cy, reach, |i, dx, dy| self.albedo[i] *= f(dx, dy));
    }
}

pub(super) fn for_each_near(cx: f32, cy: f32, reach: f32, mut f: impl FnMut(usize, f32, f32)) {
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

pub(super) fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

pub(super) fn chance(rng: &mut ChaCha8Rng, p: f32) -> bool {
    rng.random::<f32>() < p
}

pub(super) fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box–Muller; 1 − u keeps the logarithm finite.
    let (u, v) = (1.0 - rng.random::<f32>(), rng.random::<f32>());
    (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
}

/// Log-uniform in [lo, hi].
pub(super) fn log_uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f32>()).exp()
}
