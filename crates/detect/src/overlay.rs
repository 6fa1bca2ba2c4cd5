//! The overlay picture: the tile in gray with found, false and missed craters drawn.

use craters_dataset::Tile;
use craters_metrics::detection::{Circle, Detection};
use image::{Rgb, RgbImage};

use crate::evaluate::Evaluation;

/// The tile in gray with detections at or above the threshold drawn as circles: green if
/// they found a crater, red if not (yellow without a catalogue; ignored ones not drawn),
/// and the missed catalogue craters in blue.
pub fn overlay(
    tile: &Tile,
    detections: &[Detection],
    evaluation: Option<(&Evaluation, &[Circle])>,
    threshold: f64,
) -> RgbImage {
    let mut image = RgbImage::from_fn(tile.width() as u32, tile.height() as u32, |x, y| {
        let v = tile.image().get_pixel(x, y).0[0];
        Rgb([v, v, v])
    });
    for (d, detection) in detections.iter().enumerate() {
        if detection.score < threshold {
            continue;
        }
        let colour = match evaluation.map(|(e, _)| e.found[d]) {
            None => Rgb([255, 220, 0]),
            Some(None) => continue,
            Some(Some(true)) => Rgb([0, 220, 0]),
            Some(Some(false)) => Rgb([255, 40, 40]),
        };
        draw_circle(&mut image, &detection.circle, colour);
    }
    if let Some((evaluation, scored)) = evaluation {
        for (truth, recalled) in scored.iter().zip(&evaluation.recalled) {
            if !recalled {
                draw_circle(&mut image, truth, Rgb([40, 120, 255]));
            }
        }
    }
    image
}

/// A 2-px circle outline.
fn draw_circle(image: &mut RgbImage, c: &Circle, colour: Rgb<u8>) {
    let steps = (2.0 * std::f64::consts::PI * c.r * 2.0).ceil().max(16.0) as usize;
    for k in 0..steps {
        let angle = k as f64 / steps as f64 * std::f64::consts::TAU;
        for offset in [0.0, 1.0] {
            let radius = c.r + offset;
            let x = (c.x + radius * angle.cos()).round();
            let y = (c.y + radius * angle.sin()).round();
            if x >= 0.0 && y >= 0.0 && (x as u32) < image.width() && (y as u32) < image.height() {
                image.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}
