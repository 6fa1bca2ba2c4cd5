//! Invariants of detection matching and scoring, checked with proptest.

use craters_metrics::detection::{Circle, Detection, MatchRule, detection_report, match_detections};
use proptest::prelude::*;

fn circles() -> impl Strategy<Value = Vec<Circle>> {
    prop::collection::vec((0.0f64..100.0, 0.0f64..100.0, 2.0f64..20.0), 0..25)
        .prop_map(|v| v.into_iter().map(|(x, y, r)| Circle { x, y, r }).collect())
}

fn detections() -> impl Strategy<Value = Vec<Detection>> {
    // Scores on a coarse grid, so that ties happen.
    prop::collection::vec((0.0f64..100.0, 0.0f64..100.0, 2.0f64..20.0, 0u8..10), 0..40).prop_map(|v| {
        v.into_iter()
            .map(|(x, y, r, s)| Detection::new(x, y, r, f64::from(s) / 10.0))
            .collect()
    })
}

proptest! {
    #[test]
    fn matching_is_one_to_one_and_obeys_the_rule(found in detections(), truth in circles()) {
        let rule = MatchRule::default();
        let m = match_detections(&found, &truth, &rule).unwrap();
        for (d, t) in m.detection_to_truth.iter().enumerate() {
            if let Some(t) = *t {
                prop_assert_eq!(m.truth_to_detection[t], Some(d));
                let (a, b) = (&found[d].circle, &truth[t]);
                prop_assert!((a.x - b.x).hypot(a.y - b.y) <= rule.max_centre_distance * b.r);
                prop_assert!((rule.min_radius_ratio..=rule.max_radius_ratio).contains(&(a.r / b.r)));
            }
        }
        let matched = m.detection_to_truth.iter().filter(|t| t.is_some()).count();
        prop_assert_eq!(matched, m.truth_to_detection.iter().filter(|d| d.is_some()).count());
    }

    #[test]
    fn each_threshold_scores_as_if_only_the_kept_detections_existed(
        found in detections(), truth in circles(), threshold in 0u8..11,
    ) {
        let threshold = f64::from(threshold) / 10.0;
        let rule = MatchRule::default();
        let report = detection_report(&found, &truth, &rule, threshold).unwrap();
        let kept: Vec<Detection> = found.iter().copied().filter(|d| d.score >= threshold).collect();
        let alone = match_detections(&kept, &truth, &rule).unwrap();
        let tp = alone.detection_to_truth.iter().filter(|t| t.is_some()).count();
        let p = report.at_threshold;
        prop_assert_eq!(p.true_positives, tp);
        prop_assert_eq!(p.false_positives, kept.len() - tp);
        prop_assert_eq!(p.false_negatives, truth.len() - tp);
        for point in &report.curve {
            for v in [point.precision, point.recall, point.f1] {
                prop_assert!((0.0..=1.0).contains(&v));
            }
        }
        // Lower thresholds keep more: recall never falls along the curve.
        prop_assert!(report.curve.windows(2).all(|w| w[0].threshold > w[1].threshold && w[0].recall <= w[1].recall));
        prop_assert!((0.0..=1.0 + 1e-12).contains(&report.average_precision));
        if let Some(best) = report.best {
            prop_assert!(report.curve.iter().all(|p| p.f1 <= best.f1));
        }
    }
}
