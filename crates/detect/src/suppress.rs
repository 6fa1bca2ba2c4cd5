//! Suppression of overlapping detections: one crater, one detection. Not a metric (it
//! changes what is reported), so it lives here rather than in `craters-metrics`.

use std::collections::HashMap;

use craters_metrics::detection::{Circle, Detection};

/// Greedy non-maximum suppression: from the highest score down, keeps a detection unless a
/// kept one overlaps it — centre distance below `overlap` × the smaller radius and radii
/// within a factor `max_radius_ratio`. Returns the kept detections, highest score first;
/// equal scores are taken in order of radius, then row, then column, so the result does not
/// depend on the order of `detections` (a mosaic of repeated tiles has exact ties, and the
/// pieces of a big image deliver their hypotheses in an order of their own).
pub fn suppress_overlaps(detections: &[Detection], overlap: f64, max_radius_ratio: f64) -> Vec<Detection> {
    let mut sorted = detections.to_vec();
    sorted.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.circle.r.total_cmp(&b.circle.r))
            .then(a.circle.y.total_cmp(&b.circle.y))
            .then(a.circle.x.total_cmp(&b.circle.x))
    });
    let cell = sorted.iter().map(|d| d.circle.r).fold(1.0, f64::max) * overlap.max(1.0);
    let key = |c: &Circle| ((c.x / cell).floor() as i64, (c.y / cell).floor() as i64);
    let mut kept: Vec<Detection> = Vec::new();
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for d in sorted {
        let (cx, cy) = key(&d.circle);
        let overlapped = (cx - 1..=cx + 1).any(|gx| {
            (cy - 1..=cy + 1).any(|gy| {
                grid.get(&(gx, gy)).is_some_and(|ids| {
                    ids.iter().any(|&k| {
                        let (a, b) = (&kept[k].circle, &d.circle);
                        let ratio = a.r.max(b.r) / a.r.min(b.r);
                        ratio <= max_radius_ratio && (a.x - b.x).hypot(a.y - b.y) < overlap * a.r.min(b.r)
                    })
                })
            })
        });
        if !overlapped {
            grid.entry((cx, cy)).or_default().push(kept.len());
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    use Detection as D;

    #[test]
    fn suppression_keeps_the_best_of_overlapping_circles() {
        let kept = suppress_overlaps(
            &[
                D::new(0.0, 0.0, 10.0, 0.5),
                D::new(3.0, 0.0, 11.0, 0.9),
                D::new(50.0, 0.0, 10.0, 0.4),
                D::new(1.0, 0.0, 40.0, 0.3), // same centre, 4× the radius: another crater
            ],
            1.0,
            2.0,
        );
        let scores: Vec<f64> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, vec![0.9, 0.4, 0.3]);
    }
}
