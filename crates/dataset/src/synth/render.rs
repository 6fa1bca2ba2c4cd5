//! Rendering a canvas into an 8-bit patch: one sun with cast shadows, Lambert shading,
//! blur, noise, the real patches' stretch, quantisation and no-data wedges.

use std::f32::consts::PI;

use rand_chacha::ChaCha8Rng;

use super::canvas::{Canvas, MARGIN, SIDE, chance, log_uniform, normal, uniform};
use crate::dataset::{PATCH_PIXELS, PATCH_SIDE};

/// Which canvas pixels the sun reaches. A sweep from the sun side carries the height of the
/// shadow cast over each pixel: what is cast 2 px sunward, lowered by the sun's slope over
/// 2 px. Pixels are visited in half-pixel bands of distance from the sun; the 2 px step then
/// only ever reads bands already done (a bilinear sample strays at most √2 px back).
pub(super) fn sunlit(height: &[f32], sx: f32, sy: f32, rise: f32) -> Vec<bool> {
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

pub(super) fn render(canvas: &Canvas, rng: &mut ChaCha8Rng, out: &mut [u8]) {
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

pub(super) fn mean_std(values: &[f32]) -> (f32, f32) {
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
