//! The confusion matrix and the metrics that follow from it.

use crate::error::{Error, Result};
use crate::input::{Label, Score, check_lengths, check_threshold, checked, labels_to_bool};

/// Counts of a binary decision against the truth (class 1 = positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ConfusionMatrix {
    /// True negatives.
    pub tn: u64,
    /// False positives.
    pub fp: u64,
    /// False negatives (`fn` in JSON).
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// True positives.
    pub tp: u64,
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    // scikit-learn's zero_division = 0.
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

impl ConfusionMatrix {
    /// Counts predictions: a sample is positive when its score is ≥ `threshold` (in [0, 1]).
    ///
    /// ```
    /// use craters_metrics::ConfusionMatrix;
    /// let cm = ConfusionMatrix::from_scores(&[0u8, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], 0.5).unwrap();
    /// assert_eq!((cm.tn, cm.fp, cm.fn_, cm.tp), (2, 0, 1, 1));
    /// assert_eq!(cm.recall(), 0.5);
    /// ```
    pub fn from_scores<L: Label, S: Score>(labels: &[L], scores: &[S], threshold: f64) -> Result<Self> {
        check_threshold(threshold)?;
        let (labels, scores) = checked(labels, scores)?;
        let mut cm = ConfusionMatrix::default();
        for (&truth, &score) in labels.iter().zip(&scores) {
            cm.add(truth, score >= threshold);
        }
        Ok(cm)
    }

    /// Counts 0/1 (or bool) predictions against labels.
    pub fn from_predictions<L: Label, P: Label>(labels: &[L], predictions: &[P]) -> Result<Self> {
        check_lengths(labels.len(), predictions.len())?;
        let labels = labels_to_bool(labels, 0)?;
        let predictions = labels_to_bool(predictions, 0)?;
        let mut cm = ConfusionMatrix::default();
        for (&truth, &predicted) in labels.iter().zip(&predictions) {
            cm.add(truth, predicted);
        }
        Ok(cm)
    }

    pub(crate) fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (false, false) => self.tn += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (true, true) => self.tp += 1,
        }
    }

    fn counts(&self) -> (f64, f64, f64, f64) {
        (self.tn as f64, self.fp as f64, self.fn_ as f64, self.tp as f64)
    }

    /// Number of samples.
    pub fn n(&self) -> u64 {
        self.tn + self.fp + self.fn_ + self.tp
    }

    /// tp / (tp + fp); 0 when nothing is predicted positive.
    pub fn precision(&self) -> f64 {
        let (_, fp, _, tp) = self.counts();
        ratio(tp, tp + fp)
    }

    /// tp / (tp + fn); 0 when there is no positive sample.
    pub fn recall(&self) -> f64 {
        let (_, _, fn_, tp) = self.counts();
        ratio(tp, tp + fn_)
    }

    /// tn / (tn + fp); 0 when there is no negative sample.
    pub fn specificity(&self) -> f64 {
        let (tn, fp, _, _) = self.counts();
        ratio(tn, tn + fp)
    }

    /// F1 of class 1: 2tp / (2tp + fp + fn); 0 when that is 0/0.
    pub fn f1(&self) -> f64 {
        let (_, fp, fn_, tp) = self.counts();
        ratio(2.0 * tp, 2.0 * tp + fp + fn_)
    }

    /// F-beta of class 1: (1 + β²)tp / ((1 + β²)tp + β²fn + fp); β must be finite and > 0.
    pub fn fbeta(&self, beta: f64) -> Result<f64> {
        if !(beta.is_finite() && beta > 0.0) {
            return Err(Error::InvalidBeta { beta });
        }
        let (_, fp, fn_, tp) = self.counts();
        let b2 = beta * beta;
        Ok(ratio((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * fn_ + fp))
    }

    /// Mean of the F1 of class 0 and of class 1 (scikit-learn's `average="macro"` over both
    /// labels, each 0 when undefined).
    pub fn f1_macro(&self) -> f64 {
        let (tn, fp, fn_, _) = self.counts();
        let f1_negative = ratio(2.0 * tn, 2.0 * tn + fp + fn_);
        (f1_negative + self.f1()) / 2.0
    }

    /// (tp + tn) / n.
    pub fn accuracy(&self) -> f64 {
        let (tn, _, _, tp) = self.counts();
        ratio(tp + tn, self.n() as f64)
    }

    /// Mean of recall and specificity; `None` unless both classes occur in the labels.
    pub fn balanced_accuracy(&self) -> Option<f64> {
        let both = self.tp + self.fn_ > 0 && self.tn + self.fp > 0;
        both.then(|| (self.recall() + self.specificity()) / 2.0)
    }

    /// Matthews correlation coefficient, computed as scikit-learn does; 0 when undefined.
    pub fn mcc(&self) -> f64 {
        let (tn, fp, fn_, tp) = self.counts();
        let n = tn + fp + fn_ + tp;
        let (true_neg, true_pos) = (tn + fp, fn_ + tp);
        let (pred_neg, pred_pos) = (tn + fn_, fp + tp);
        let cov_true_pred = (tn + tp) * n - (true_neg * pred_neg + true_pos * pred_pos);
        let cov_pred = n * n - (pred_neg * pred_neg + pred_pos * pred_pos);
        let cov_true = n * n - (true_neg * true_neg + true_pos * true_pos);
        if cov_pred * cov_true == 0.0 {
            0.0
        } else {
            cov_true_pred / (cov_true * cov_pred).sqrt()
        }
    }
}

/// Mean binary cross-entropy of probabilities, each clipped to [1e-7, 1 − 1e-7].
pub fn log_loss<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<f64> {
    let (labels, scores) = checked(labels, scores)?;
    Ok(mean_log_loss(&labels, &scores))
}

pub(crate) fn mean_log_loss(labels: &[bool], scores: &[f64]) -> f64 {
    const EPS: f64 = 1e-7;
    let total: f64 = labels
        .iter()
        .zip(scores)
        .map(|(&truth, &score)| {
            let p = score.clamp(EPS, 1.0 - EPS);
            if truth { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    total / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_division_gives_zero() {
        let cm = ConfusionMatrix::default();
        assert_eq!(
            (cm.precision(), cm.recall(), cm.f1(), cm.mcc()),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(cm.balanced_accuracy(), None);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            ConfusionMatrix::from_scores::<u8, f64>(&[], &[], 0.5),
            Err(Error::Empty)
        );
        assert_eq!(
            ConfusionMatrix::from_scores(&[0u8, 1], &[0.5], 0.5),
            Err(Error::LengthMismatch { labels: 2, scores: 1 })
        );
        assert_eq!(
            ConfusionMatrix::from_scores(&[0u8, 2], &[0.5, 0.5], 0.5),
            Err(Error::BadLabel { index: 1, value: 2.0 })
        );
        assert!(matches!(
            ConfusionMatrix::from_scores(&[0u8, 1], &[0.5, f64::NAN], 0.5),
            Err(Error::NonFiniteScore { index: 1, .. })
        ));
        assert_eq!(
            ConfusionMatrix::from_scores(&[0u8], &[0.5f32], 1.5),
            Err(Error::ThresholdOutOfRange { threshold: 1.5 })
        );
        assert_eq!(
            ConfusionMatrix::from_predictions(&[true], &[-1i32]),
            Err(Error::BadLabel {
                index: 0,
                value: -1.0
            })
        );
        assert!(ConfusionMatrix::default().fbeta(0.0).is_err());
    }

    #[test]
    fn slides_confusion_matrix() {
        // The slides' matrix (TN 260, FP 43, FN 21, TP 335) gives their recall 0.941, but F1
        // 670/734 = 0.9128 and accuracy 595/659 = 0.9029, not the table's 0.9016 and 0.8953:
        // the slides' table and matrix disagree; these are the matrix's own values.
        let cm = ConfusionMatrix {
            tn: 260,
            fp: 43,
            fn_: 21,
            tp: 335,
        };
        assert_eq!(cm.f1(), 670.0 / 734.0);
        assert_eq!(cm.accuracy(), 595.0 / 659.0);
        assert!((cm.recall() - 0.941).abs() < 5e-4);
        assert!((cm.fbeta(1.0).unwrap() - cm.f1()).abs() < 1e-15);
    }
}
