//! The ground every patch starts from: fractal relief, dunes, ridges, channels, boulders
//! and albedo variation.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::canvas::{CENTRE, Canvas, SIDE, chance, log_uniform, uniform};

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

pub(super) fn add_boulder(canvas: &mut Canvas, rng: &mut ChaCha8Rng, cx: f32, cy: f32) {
    let (r, h) = (uniform(rng, 0.5, 1.0), uniform(rng, 0.3, 0.9));
    canvas.add_height(cx, cy, 2.0 * r, |dx, dy| {
        h * (-(dx * dx + dy * dy) / (r * r)).exp()
    });
}

/// Dunes, ridges, channels, boulders and albedo patches on top of the fractal base.
pub(super) fn add_terrain(canvas: &mut Canvas, rng: &mut ChaCha8Rng) {
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
