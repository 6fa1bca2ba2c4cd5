//! Craters and the hard negatives that look like them, placed by the labelling rule.

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::canvas::{CENTRE, Canvas, chance, log_uniform, normal, uniform};
use super::labelling::{
    LABEL_MAX_OFFSET, LABEL_MAX_RADIUS, LABEL_MIN_RADIUS, NEGATIVE_MAX_RADIUS, NEGATIVE_MIN_OFFSET,
};
use super::render::render;
use super::terrain::{add_boulder, add_terrain};

/// The height profile of a crater of radius `r`: a parabolic bowl with a raised rim.
/// `fresh` in [0, 1] sets depth and rim sharpness; `infill` flattens the floor.
pub(super) fn crater_profile(r: f32, fresh: f32, infill: f32) -> impl Fn(f32, f32) -> f32 {
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

/// Radii (px) of the small pits among the hard negatives: too small to count as craters.
const PIT_RADIUS: (f32, f32) = (0.8, 1.5);
const _: () = assert!(PIT_RADIUS.1 < NEGATIVE_MAX_RADIUS);
/// Off-centre craters among the distractors: their centre this far (px) off along one axis.
const FAR_CRATER_OFFSET: (f32, f32) = (NEGATIVE_MIN_OFFSET, 34.0);

/// A position within the central window of the labelling rule.
fn centre_window(rng: &mut ChaCha8Rng) -> (f32, f32) {
    (
        CENTRE + uniform(rng, -LABEL_MAX_OFFSET, LABEL_MAX_OFFSET),
        CENTRE + uniform(rng, -LABEL_MAX_OFFSET, LABEL_MAX_OFFSET),
    )
}

/// Distractors shared by both classes, placed off the central crater.
fn add_distractor(canvas: &mut Canvas, rng: &mut ChaCha8Rng, central: bool) {
    let (cx, cy) = if central {
        centre_window(rng)
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
                let r = uniform(rng, PIT_RADIUS.0, PIT_RADIUS.1);
                add_crater(canvas, rng, x, y, r);
            }
        }
        _ => {
            // A crater far enough off-centre not to count.
            let (x, y) = off_centre(rng, FAR_CRATER_OFFSET.0, FAR_CRATER_OFFSET.1);
            let r = log_uniform(rng, 3.0, 10.0);
            add_crater(canvas, rng, x, y, r);
        }
    }
}

pub(super) fn render_patch(rng: &mut ChaCha8Rng, crater: bool, out: &mut [u8]) {
    let mut canvas = Canvas::new();
    add_terrain(&mut canvas, rng);
    if crater {
        let (cx, cy) = centre_window(rng);
        let r = log_uniform(rng, LABEL_MIN_RADIUS, LABEL_MAX_RADIUS);
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
