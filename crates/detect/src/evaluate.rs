//! Detections against a catalogue: which craters are scored, one-to-one matching, figures.

use craters_dataset::hrsc::Crater;
use craters_metrics::detection::{Circle, Detection, DetectionReport, detection_report, match_detections};

use crate::config::ValidDetectConfig;
use crate::error::Result;

/// Catalogue craters as circles, split into those inside the diameter range (scored) and
/// the rest (a detection that finds one of those is neither right nor wrong).
pub fn catalogue_circles(catalogue: &[Crater], config: &ValidDetectConfig) -> (Vec<Circle>, Vec<Circle>) {
    let circle = |c: &Crater| Circle {
        x: c.x,
        y: c.y,
        r: c.diameter / 2.0,
    };
    let (inside, outside): (Vec<&Crater>, Vec<&Crater>) = catalogue
        .iter()
        .partition(|c| (config.min_diameter..=config.max_diameter).contains(&c.diameter));
    (
        inside.into_iter().map(circle).collect(),
        outside.into_iter().map(circle).collect(),
    )
}

/// Detections scored against a catalogue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// Figures over the craters inside the diameter range.
    pub report: DetectionReport,
    /// Catalogue craters inside the range.
    pub n_scored_craters: usize,
    /// Detections left out because they found a crater outside the range.
    pub n_ignored_detections: usize,
    /// Per detection (input order): whether it found a scored crater; `None` if ignored.
    #[serde(skip)]
    pub found: Vec<Option<bool>>,
    /// Per scored crater: whether a detection at or above the threshold found it.
    #[serde(skip)]
    pub recalled: Vec<bool>,
}

/// Matches `detections` against the catalogue, ignoring detections of craters outside the
/// diameter range.
pub fn evaluate(
    detections: &[Detection],
    catalogue: &[Crater],
    config: &ValidDetectConfig,
) -> Result<Evaluation> {
    let (scored, outside) = catalogue_circles(catalogue, config);
    let in_range = match_detections(detections, &scored, &config.matching)?;
    let out_of_range = match_detections(detections, &outside, &config.matching)?;
    let found: Vec<Option<bool>> = (0..detections.len())
        .map(
            |d| match (in_range.detection_to_truth[d], out_of_range.detection_to_truth[d]) {
                (Some(_), _) => Some(true),
                (None, Some(_)) => None,
                (None, None) => Some(false),
            },
        )
        .collect();
    let kept: Vec<Detection> = detections
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_some())
        .map(|(d, _)| *d)
        .collect();
    let report = detection_report(&kept, &scored, &config.matching, config.threshold)?;
    let recalled = in_range
        .truth_to_detection
        .iter()
        .map(|d| d.is_some_and(|d| detections[d].score >= config.threshold))
        .collect();
    Ok(Evaluation {
        n_scored_craters: scored.len(),
        n_ignored_detections: detections.len() - kept.len(),
        report,
        found,
        recalled,
    })
}
