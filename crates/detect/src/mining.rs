//! Hard examples for detector training: the hypotheses a network finds on a training tile,
//! labelled by that tile's catalogue.
//!
//! Measured on the five HRSC tiles, nine in ten of a patch classifier's lost craters are
//! found at the right place and scale but score under texture that looks like a crater
//! (`tools/detect_errors.py`). Windows cut where the network itself fires teach it those
//! differences; random windows rarely show them.

use craters_dataset::hrsc::{BLOCK_PER_CRATER_RADIUS, Crater};
use craters_dataset::{Dataset, Stretch, Tile};
use craters_metrics::detection::{Circle, Detection, MatchRule};
use craters_model::CraterCnn;

use crate::config::ValidDetectConfig;
use crate::error::Result;
use crate::scan::{NoProgress, detect_with_progress};

/// A hypothesis is near a catalogued crater (and neither a clean positive nor a clean
/// negative) when its centre lies within this many crater radii…
pub const NEAR_CENTRE: f64 = 1.0;
/// …and its radius within this factor of the crater's, either way.
pub const NEAR_RADIUS_FACTOR: f64 = 3.0;

/// What the proposal network's hypotheses on the training tiles gave (summed over both
/// proposal networks with `flipped_proposal`).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Mined {
    /// Hypotheses on a catalogued crater.
    pub positives: usize,
    /// Hypotheses with no catalogued crater near.
    pub negatives: usize,
    /// Hypotheses near a crater but not on it, left out.
    pub left_out: usize,
}

impl std::ops::AddAssign for Mined {
    fn add_assign(&mut self, other: Mined) {
        self.positives += other.positives;
        self.negatives += other.negatives;
        self.left_out += other.left_out;
    }
}

/// `base` followed by the blocks of `proposal`'s hypotheses on each training tile, labelled
/// by the tile's catalogue ([`label_hypotheses`]; those near a crater but not on it are left
/// out), and how many of each.
pub(crate) fn mine(
    proposal: &CraterCnn,
    base: &Dataset,
    tile_data: &[(Tile, Vec<Crater>)],
    config: &ValidDetectConfig,
    stretch: Stretch,
) -> Result<(Dataset, Mined)> {
    let mut pixels = base.pixels().to_vec();
    let mut labels = base.labels().unwrap_or_default().to_vec();
    let mut mined = Mined::default();
    for (plain, catalogue) in tile_data {
        let found = detect_with_progress(std::slice::from_ref(proposal), plain, config, &NoProgress)?;
        let tile_labels = label_hypotheses(
            &found.detections,
            catalogue,
            &config.matching,
            config.min_diameter,
        );
        let stretched = plain.stretched(stretch);
        for (d, label) in found.detections.iter().zip(tile_labels) {
            let block = label.and_then(|_| {
                let half_side = (d.circle.r * BLOCK_PER_CRATER_RADIUS).round();
                stretched.reflected_block(d.circle.x, d.circle.y, half_side)
            });
            match (label, block) {
                (Some(label), Some(block)) => {
                    pixels.extend(block);
                    labels.push(label);
                    if label == 1 {
                        mined.positives += 1;
                    } else {
                        mined.negatives += 1;
                    }
                }
                _ => mined.left_out += 1,
            }
        }
    }
    Ok((
        Dataset::new(base.source().to_path_buf(), pixels, Some(labels))?,
        mined,
    ))
}

/// The label of each hypothesis: 1 when it matches (by `rule`) a catalogued crater of
/// diameter ≥ `min_diameter`; 0 when no catalogued crater of any size is near it (centre
/// within [`NEAR_CENTRE`] radii, radius within a factor [`NEAR_RADIUS_FACTOR`]); `None`
/// for the rest (off-centre or off-scale views of a crater, or craters under
/// `min_diameter`), which teach neither answer and are left out.
pub fn label_hypotheses(
    hypotheses: &[Detection],
    catalogue: &[Crater],
    rule: &MatchRule,
    min_diameter: f64,
) -> Vec<Option<u8>> {
    let craters: Vec<(Circle, bool)> = catalogue
        .iter()
        .map(|c| {
            let circle = Circle {
                x: c.x,
                y: c.y,
                r: c.diameter / 2.0,
            };
            (circle, c.diameter >= min_diameter)
        })
        .collect();
    hypotheses
        .iter()
        .map(|h| {
            let d = &h.circle;
            if craters.iter().any(|(c, large)| *large && rule.matches(d, c)) {
                return Some(1);
            }
            let near = craters.iter().any(|(c, _)| {
                let ratio = d.r / c.r;
                (d.x - c.x).hypot(d.y - c.y) < NEAR_CENTRE * c.r
                    && (1.0 / NEAR_RADIUS_FACTOR..=NEAR_RADIUS_FACTOR).contains(&ratio)
            });
            (!near).then_some(0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crater(x: f64, y: f64, diameter: f64) -> Crater {
        Crater { x, y, diameter }
    }

    #[test]
    fn hypotheses_are_labelled_by_the_catalogue() {
        let catalogue = [crater(100.0, 100.0, 40.0), crater(300.0, 300.0, 10.0)];
        let h = |x: f64, y: f64, r: f64| Detection::new(x, y, r, 0.9);
        let labels = label_hypotheses(
            &[
                h(104.0, 100.0, 18.0), // on the crater: 0.2 radii off, radius ratio 0.9
                h(115.0, 100.0, 20.0), // 0.75 radii off: near, not a match
                h(100.0, 100.0, 70.0), // 3.5 times the radius: another scale, a negative
                h(500.0, 500.0, 10.0), // nothing catalogued near
                h(300.0, 300.0, 5.0),  // on a crater under the smallest diameter
            ],
            &catalogue,
            &MatchRule::default(),
            16.0,
        );
        assert_eq!(labels, vec![Some(1), None, Some(0), Some(0), None]);
    }
}
