//! Scoring circle detections (craters) against a catalogue.
//!
//! Matching is one-to-one and greedy by score, as in object-detection benchmarks: the
//! detections are taken from the highest score down, and each claims the closest (centre
//! distance relative to the true radius) still unclaimed true crater that satisfies the
//! [`MatchRule`]. Because a detection's match never depends on lower-scored ones, the
//! matching at threshold `t` is the full matching restricted to scores ≥ `t`, so one pass
//! gives the whole precision–recall curve.

use crate::error::{Error, Result};

/// A circle in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Circle {
    /// Column of the centre.
    pub x: f64,
    /// Row of the centre.
    pub y: f64,
    /// Radius.
    pub r: f64,
}

/// A detected circle with its score (higher = more confident).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    /// Where.
    pub circle: Circle,
    /// How confident.
    pub score: f64,
}

impl Detection {
    /// A circle at (x, y) of radius r, with its score.
    pub fn new(x: f64, y: f64, r: f64, score: f64) -> Self {
        Detection {
            circle: Circle { x, y, r },
            score,
        }
    }
}

/// When a detection counts as finding a true crater.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchRule {
    /// Largest centre distance, as a fraction of the true radius. Default 0.5.
    pub max_centre_distance: f64,
    /// Smallest detected / true radius. Default 0.5.
    pub min_radius_ratio: f64,
    /// Largest detected / true radius. Default 2.
    pub max_radius_ratio: f64,
    /// Measure the centre distance in units of the smaller of the two radii instead of the
    /// true radius (the DeepMoon rule's convention). Default false.
    pub centre_per_smaller_radius: bool,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            max_centre_distance: 0.5,
            min_radius_ratio: 0.5,
            max_radius_ratio: 2.0,
            centre_per_smaller_radius: false,
        }
    }
}

impl MatchRule {
    /// The looser rule of DeepMoon (Silburt et al. 2019) and the papers that follow it:
    /// (Δx² + Δy²) / min(r)² < 1.8 and |Δr| / min(r) < 1, that is a centre within √1.8 of
    /// the smaller radius and radii within a factor 2 (here inclusive at both bounds).
    pub fn deepmoon() -> MatchRule {
        MatchRule {
            max_centre_distance: 1.8f64.sqrt(),
            min_radius_ratio: 0.5,
            max_radius_ratio: 2.0,
            centre_per_smaller_radius: true,
        }
    }

    /// Checks that the tolerances are positive and the ratio range not empty.
    pub fn check(&self) -> Result<()> {
        let positive = [
            ("max_centre_distance", self.max_centre_distance),
            ("min_radius_ratio", self.min_radius_ratio),
            ("max_radius_ratio", self.max_radius_ratio),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::InvalidMatchRule {
                    message: format!("{name} = {value}: expected a finite number > 0"),
                });
            }
        }
        if self.min_radius_ratio > self.max_radius_ratio {
            return Err(Error::InvalidMatchRule {
                message: format!(
                    "min_radius_ratio {} > max_radius_ratio {}",
                    self.min_radius_ratio, self.max_radius_ratio
                ),
            });
        }
        Ok(())
    }

    /// Whether `detected` finds `truth` by this rule (one pair, no one-to-one matching).
    pub fn matches(&self, detected: &Circle, truth: &Circle) -> bool {
        self.distance(detected, truth).is_some()
    }

    /// How far `detected` is from `truth` (centre distance / true radius) if it matches.
    fn distance(&self, detected: &Circle, truth: &Circle) -> Option<f64> {
        let ratio = detected.r / truth.r;
        let unit = if self.centre_per_smaller_radius {
            detected.r.min(truth.r)
        } else {
            truth.r
        };
        let distance = (detected.x - truth.x).hypot(detected.y - truth.y) / unit;
        ((self.min_radius_ratio..=self.max_radius_ratio).contains(&ratio)
            && distance <= self.max_centre_distance)
            .then_some(distance)
    }
}

/// The one-to-one matching.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Matching {
    /// Per detection (input order): the index of the true crater it found.
    pub detection_to_truth: Vec<Option<usize>>,
    /// Per true crater: the index of the detection that found it.
    pub truth_to_detection: Vec<Option<usize>>,
    /// Detection indices from the highest score down (ties: input order).
    pub order: Vec<usize>,
}

fn check_circle(index: usize, c: &Circle, what: &'static str) -> Result<()> {
    if !(c.x.is_finite() && c.y.is_finite() && c.r.is_finite() && c.r > 0.0) {
        return Err(Error::BadCircle {
            what,
            index,
            message: format!("({}, {}, r {}): expected finite numbers and r > 0", c.x, c.y, c.r),
        });
    }
    Ok(())
}

/// Matches `detections` to `truth` one-to-one, greedily by score.
pub fn match_detections(detections: &[Detection], truth: &[Circle], rule: &MatchRule) -> Result<Matching> {
    rule.check()?;
    for (i, d) in detections.iter().enumerate() {
        check_circle(i, &d.circle, "detection")?;
        if !d.score.is_finite() {
            return Err(Error::NonFiniteScore {
                index: i,
                value: d.score,
            });
        }
    }
    for (i, t) in truth.iter().enumerate() {
        check_circle(i, t, "true crater")?;
    }
    let mut order: Vec<usize> = (0..detections.len()).collect();
    order.sort_by(|&a, &b| detections[b].score.total_cmp(&detections[a].score));
    // Bucket the truth by a coarse grid so each detection looks at nearby craters only.
    let cell = truth.iter().map(|t| t.r).fold(1.0, f64::max) * rule.max_centre_distance.max(1.0);
    let key = |x: f64, y: f64| ((x / cell).floor() as i64, (y / cell).floor() as i64);
    let mut grid: std::collections::HashMap<(i64, i64), Vec<usize>> = std::collections::HashMap::new();
    for (i, t) in truth.iter().enumerate() {
        grid.entry(key(t.x, t.y)).or_default().push(i);
    }
    let mut detection_to_truth = vec![None; detections.len()];
    let mut truth_to_detection = vec![None; truth.len()];
    for &d in &order {
        let circle = &detections[d].circle;
        let (cx, cy) = key(circle.x, circle.y);
        let mut best: Option<(f64, usize)> = None;
        for gx in cx - 1..=cx + 1 {
            for gy in cy - 1..=cy + 1 {
                for &t in grid.get(&(gx, gy)).map_or(&[][..], Vec::as_slice) {
                    if truth_to_detection[t].is_some() {
                        continue;
                    }
                    if let Some(distance) = rule.distance(circle, &truth[t])
                        && best.is_none_or(|(b, bt)| distance < b || (distance == b && t < bt))
                    {
                        best = Some((distance, t));
                    }
                }
            }
        }
        if let Some((_, t)) = best {
            detection_to_truth[d] = Some(t);
            truth_to_detection[t] = Some(d);
        }
    }
    Ok(Matching {
        detection_to_truth,
        truth_to_detection,
        order,
    })
}

/// Precision, recall and F1 when detections scoring ≥ `threshold` are kept.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DetectionPoint {
    /// The score threshold.
    pub threshold: f64,
    /// Kept detections that found a crater.
    pub true_positives: usize,
    /// Kept detections that found none.
    pub false_positives: usize,
    /// Craters not found.
    pub false_negatives: usize,
    /// TP / (TP + FP); 0 with no detections.
    pub precision: f64,
    /// TP / number of true craters; 0 with none.
    pub recall: f64,
    /// Harmonic mean of the two; 0 when both are 0.
    pub f1: f64,
}

impl DetectionPoint {
    fn new(threshold: f64, tp: usize, kept: usize, n_truth: usize) -> Self {
        let precision = if kept == 0 { 0.0 } else { tp as f64 / kept as f64 };
        let recall = if n_truth == 0 {
            0.0
        } else {
            tp as f64 / n_truth as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        DetectionPoint {
            threshold,
            true_positives: tp,
            false_positives: kept - tp,
            false_negatives: n_truth - tp,
            precision,
            recall,
            f1,
        }
    }
}

/// Detection scores of a set of detections against a catalogue.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectionReport {
    /// True craters.
    pub n_truth: usize,
    /// Detections (all scores).
    pub n_detections: usize,
    /// The figures at the chosen threshold.
    pub at_threshold: DetectionPoint,
    /// One point per distinct score, highest first.
    pub curve: Vec<DetectionPoint>,
    /// The curve's point with the highest F1, the highest threshold on ties (`None` without
    /// detections).
    pub best: Option<DetectionPoint>,
    /// Area under the precision–recall steps, Σ (R_k − R_{k−1}) · P_k.
    pub average_precision: f64,
}

/// Matches and scores `detections` against `truth`, keeping scores ≥ `threshold`.
pub fn detection_report(
    detections: &[Detection],
    truth: &[Circle],
    rule: &MatchRule,
    threshold: f64,
) -> Result<DetectionReport> {
    if !threshold.is_finite() {
        return Err(Error::NonFiniteScore {
            index: 0,
            value: threshold,
        });
    }
    let matching = match_detections(detections, truth, rule)?;
    let n_truth = truth.len();
    let mut curve = Vec::new();
    let mut tp = 0;
    let mut at_threshold = DetectionPoint::new(threshold, 0, 0, n_truth);
    for (k, &d) in matching.order.iter().enumerate() {
        tp += usize::from(matching.detection_to_truth[d].is_some());
        let score = detections[d].score;
        let last_of_score = matching
            .order
            .get(k + 1)
            .is_none_or(|&next| detections[next].score != score);
        if last_of_score {
            let point = DetectionPoint::new(score, tp, k + 1, n_truth);
            if score >= threshold {
                at_threshold = DetectionPoint { threshold, ..point };
            }
            curve.push(point);
        }
    }
    let mut average_precision = 0.0;
    let mut previous_recall = 0.0;
    for p in &curve {
        average_precision += (p.recall - previous_recall) * p.precision;
        previous_recall = p.recall;
    }
    // Ties go to the higher threshold (fewer detections for the same F1).
    let best = curve
        .iter()
        .copied()
        .fold(None, |best: Option<DetectionPoint>, p| match best {
            Some(b) if b.f1 >= p.f1 => Some(b),
            _ => Some(p),
        });
    Ok(DetectionReport {
        n_truth,
        n_detections: detections.len(),
        at_threshold,
        curve,
        best,
        average_precision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use Detection as D;

    #[test]
    fn greedy_matching_by_score_and_the_curve() {
        let truth = [
            Circle {
                x: 10.0,
                y: 10.0,
                r: 10.0,
            },
            Circle {
                x: 100.0,
                y: 100.0,
                r: 20.0,
            },
        ];
        let detections = [
            D::new(12.0, 10.0, 9.0, 0.9),    // finds crater 0
            D::new(10.0, 11.0, 10.0, 0.8),   // crater 0 already taken: false positive
            D::new(300.0, 300.0, 5.0, 0.7),  // nothing there
            D::new(100.0, 108.0, 25.0, 0.6), // finds crater 1 (distance 0.4 r, ratio 1.25)
            D::new(100.0, 100.0, 50.0, 0.5), // radius ratio 2.5: no match
        ];
        let report = detection_report(&detections, &truth, &MatchRule::default(), 0.65).unwrap();
        let m = match_detections(&detections, &truth, &MatchRule::default()).unwrap();
        assert_eq!(m.detection_to_truth, vec![Some(0), None, None, Some(1), None]);
        assert_eq!(m.truth_to_detection, vec![Some(0), Some(3)]);
        let at = report.at_threshold;
        assert_eq!(
            (at.true_positives, at.false_positives, at.false_negatives),
            (1, 2, 1)
        );
        assert!((at.precision - 1.0 / 3.0).abs() < 1e-12 && (at.recall - 0.5).abs() < 1e-12);
        assert_eq!(report.curve.len(), 5);
        let best = report.best.unwrap();
        // F1 2/3 both at 0.9 (P 1, R 0.5) and at 0.6 (P 0.5, R 1): the higher threshold wins.
        assert_eq!((best.threshold, best.true_positives), (0.9, 1));
        assert!((best.f1 - 2.0 / 3.0).abs() < 1e-12);
        // AP = 0.5 · 1 (first step) + 0.5 · 0.5 (fourth).
        assert!((report.average_precision - 0.75).abs() < 1e-12);
    }

    #[test]
    fn the_deepmoon_rule_measures_the_centre_by_the_smaller_radius() {
        let truth = [Circle {
            x: 0.0,
            y: 0.0,
            r: 10.0,
        }];
        let found = |d: Detection, rule: &MatchRule| {
            match_detections(&[d], &truth, rule).unwrap().detection_to_truth[0].is_some()
        };
        let (strict, deepmoon) = (MatchRule::default(), MatchRule::deepmoon());
        // 8 px off: 0.8 true radii (strict: no); 8² / 10² = 0.64 < 1.8 (DeepMoon: yes).
        assert!(!found(D::new(8.0, 0.0, 10.0, 1.0), &strict));
        assert!(found(D::new(8.0, 0.0, 10.0, 1.0), &deepmoon));
        // A detection of radius 6 that far: 8² / 6² = 1.78 < 1.8, yes; 8.1 px: 1.82, no.
        assert!(found(D::new(8.0, 0.0, 6.0, 1.0), &deepmoon));
        assert!(!found(D::new(8.1, 0.0, 6.0, 1.0), &deepmoon));
        // The radii within a factor 2 either way.
        assert!(found(D::new(0.0, 0.0, 19.9, 1.0), &deepmoon));
        assert!(!found(D::new(0.0, 0.0, 20.5, 1.0), &deepmoon));
        assert!(!found(D::new(0.0, 0.0, 4.9, 1.0), &deepmoon));
    }

    #[test]
    fn bad_input_is_an_error() {
        let truth = [Circle {
            x: 0.0,
            y: 0.0,
            r: 0.0,
        }];
        assert!(matches!(
            match_detections(&[], &truth, &MatchRule::default()),
            Err(Error::BadCircle { index: 0, .. })
        ));
        let nan = [D::new(0.0, 0.0, 1.0, f64::NAN)];
        assert!(matches!(
            match_detections(&nan, &[], &MatchRule::default()),
            Err(Error::NonFiniteScore { .. })
        ));
        let rule = MatchRule {
            min_radius_ratio: 3.0,
            ..MatchRule::default()
        };
        assert!(matches!(rule.check(), Err(Error::InvalidMatchRule { .. })));
    }
}
