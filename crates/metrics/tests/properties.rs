//! Invariants of the metrics, checked with proptest.

mod common;

use common::{distinct_samples, tied_samples};
use craters_metrics::{Accumulator, ConfusionMatrix, Report, precision_recall_curve, roc_auc};
use proptest::prelude::*;

const EPS: f64 = 1e-12;

proptest! {
    #[test]
    fn confusion_sums_to_n((labels, scores) in tied_samples(), threshold in 0.0f64..=1.0) {
        let cm = ConfusionMatrix::from_scores(&labels, &scores, threshold).unwrap();
        prop_assert_eq!(cm.n(), labels.len() as u64);
        prop_assert_eq!(cm.tp + cm.fn_, labels.iter().filter(|&&l| l == 1).count() as u64);
    }

    #[test]
    fn f1_is_harmonic_mean_of_precision_and_recall((labels, scores) in tied_samples(), threshold in 0.0f64..=1.0) {
        let cm = ConfusionMatrix::from_scores(&labels, &scores, threshold).unwrap();
        let (p, r) = (cm.precision(), cm.recall());
        let harmonic = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        prop_assert!((cm.f1() - harmonic).abs() < EPS);
        for value in [p, r, cm.f1(), cm.accuracy(), cm.specificity(), cm.f1_macro()] {
            prop_assert!((0.0..=1.0).contains(&value));
        }
        prop_assert!((-1.0..=1.0).contains(&cm.mcc()));
    }

    #[test]
    fn metrics_ignore_sample_order((labels, scores) in tied_samples(), rotation in 0usize..200) {
        let k = rotation % labels.len();
        let (mut l2, mut s2) = (labels.clone(), scores.clone());
        l2.rotate_left(k);
        s2.rotate_left(k);
        l2.reverse();
        s2.reverse();
        let a = Report::new(&labels, &scores, 0.5).unwrap();
        let b = Report::new(&l2, &s2, 0.5).unwrap();
        prop_assert_eq!(a.confusion, b.confusion);
        prop_assert_eq!(&a.pr_curve, &b.pr_curve);
        prop_assert!((a.log_loss - b.log_loss).abs() < EPS);
        prop_assert_eq!(a.roc_auc.map(|v| (v * 1e9).round()), b.roc_auc.map(|v| (v * 1e9).round()));
    }

    #[test]
    fn raising_threshold_never_adds_predicted_positives((labels, scores) in tied_samples(), t1 in 0.0f64..=1.0, t2 in 0.0f64..=1.0) {
        let (low, high) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
        let a = ConfusionMatrix::from_scores(&labels, &scores, low).unwrap();
        let b = ConfusionMatrix::from_scores(&labels, &scores, high).unwrap();
        prop_assert!(b.tp + b.fp <= a.tp + a.fp);
    }

    #[test]
    fn pr_curve_shape_and_monotone_recall((labels, scores) in tied_samples()) {
        if let Some(curve) = precision_recall_curve(&labels, &scores).unwrap() {
            prop_assert_eq!(curve.precision.len(), curve.thresholds.len() + 1);
            prop_assert_eq!(curve.recall.len(), curve.thresholds.len() + 1);
            prop_assert!(curve.thresholds.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(curve.recall.windows(2).all(|w| w[1] <= w[0]));
            prop_assert_eq!((curve.precision.last(), curve.recall.last()), (Some(&1.0), Some(&0.0)));
        }
    }

    #[test]
    fn ap_and_auc_in_unit_interval((labels, scores) in tied_samples()) {
        let r = Report::new(&labels, &scores, 0.5).unwrap();
        for value in [r.average_precision, r.roc_auc].into_iter().flatten() {
            prop_assert!((-EPS..=1.0 + EPS).contains(&value), "{}", value);
        }
        prop_assert_eq!(r.roc_auc.is_some(), labels.contains(&0) && labels.contains(&1));
    }

    #[test]
    fn auc_of_reversed_scores_is_complement((labels, scores) in distinct_samples()) {
        let reversed: Vec<f64> = scores.iter().map(|s| 1.0 - s).collect();
        let a = roc_auc(&labels, &scores).unwrap().unwrap();
        let b = roc_auc(&labels, &reversed).unwrap().unwrap();
        prop_assert!((a + b - 1.0).abs() < 1e-9, "{} + {}", a, b);
    }

    #[test]
    fn auc_ignores_increasing_score_maps((labels, scores) in distinct_samples()) {
        let squashed: Vec<f64> = scores.iter().map(|s| s * s * 0.5).collect();
        let a = roc_auc(&labels, &scores).unwrap().unwrap();
        let b = roc_auc(&labels, &squashed).unwrap().unwrap();
        prop_assert!((a - b).abs() < 1e-12);
    }

    #[test]
    fn best_f1_beats_every_threshold((labels, scores) in tied_samples(), threshold in 0.0f64..=1.0) {
        let r = Report::new(&labels, &scores, threshold).unwrap();
        if let Some(best) = r.best_f1 {
            prop_assert!(best.f1 + 1e-12 >= r.f1, "best {} < f1 {} at {}", best.f1, r.f1, threshold);
            let at_best = ConfusionMatrix::from_scores(&labels, &scores, best.threshold).unwrap();
            prop_assert!((at_best.f1() - best.f1).abs() < 1e-12);
        }
    }

    #[test]
    fn accumulator_equals_one_shot((labels, scores) in tied_samples(), cuts in prop::collection::vec(0usize..200, 0..6)) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (labels.len() + 1)).collect();
        cuts.push(0);
        cuts.push(labels.len());
        cuts.sort_unstable();
        let mut acc = Accumulator::new();
        for w in cuts.windows(2) {
            acc.update(&labels[w[0]..w[1]], &scores[w[0]..w[1]]).unwrap();
        }
        prop_assert_eq!(acc.finish(0.5).unwrap(), Report::new(&labels, &scores, 0.5).unwrap());
    }
}

#[test]
fn accumulator_errors_name_global_index() {
    let mut acc = Accumulator::new();
    acc.update(&[0u8, 1], &[0.1f32, 0.9]).unwrap();
    let err = acc.update(&[1u8], &[f32::NAN]).unwrap_err();
    assert_eq!(err.to_string(), "score NaN at index 2: scores must be finite");
    assert!(Accumulator::new().finish(0.5).is_err());
    assert!(acc.update(&[1u8, 0], &[0.5f32]).is_err());
}

#[test]
fn labels_as_bools_and_scores_as_f32() {
    let a = Report::new(&[false, true, true], &[0.25f32, 0.75, 0.5], 0.5).unwrap();
    let b = Report::new(&[0i64, 1, 1], &[0.25f64, 0.75, 0.5], 0.5).unwrap();
    assert_eq!(a, b);
}
