//! Threshold-free metrics: precision–recall and ROC curves, average precision, ROC AUC and
//! the best-F1 threshold, with scikit-learn's semantics.
//!
//! Scores are turned into integer keys, radix-sorted per class and merged: linear time and
//! little memory, since average precision and AUC are summed while merging, without building
//! a curve.

use crate::error::{Error, Result};
use crate::input::{Label, Score, check_lengths};
use crate::sort::{descending_key, from_descending_key, radix_sort};

/// Each class's scores as sort keys, highest score first.
pub(crate) struct SortedScores {
    positives: Vec<u64>,
    negatives: Vec<u64>,
}

/// One distinct score: predicting positive every sample scoring ≥ `threshold` gives `tp` true
/// and `fp` false positives.
struct Step {
    threshold: f64,
    tp: f64,
    fp: f64,
}

impl SortedScores {
    /// Checks the input while building keys; `None` when the labels hold one class.
    pub(crate) fn new<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<Option<Self>> {
        check_lengths(labels.len(), scores.len())?;
        let mut positives = Vec::new();
        let mut negatives = Vec::new();
        for (index, (&label, &score)) in labels.iter().zip(scores).enumerate() {
            let value = score.to_f64();
            if !value.is_finite() {
                return Err(Error::NonFiniteScore { index, value });
            }
            // `+ 0.0` turns -0.0 into 0.0 so that equal scores get equal keys.
            let key = descending_key(value + 0.0);
            match label.value() {
                0.0 => negatives.push(key),
                1.0 => positives.push(key),
                value => return Err(Error::BadLabel { index, value }),
            }
        }
        if positives.is_empty() || negatives.is_empty() {
            return Ok(None);
        }
        let mut scratch = Vec::with_capacity(positives.len().max(negatives.len()));
        radix_sort(&mut positives, &mut scratch);
        radix_sort(&mut negatives, &mut scratch);
        Ok(Some(SortedScores { positives, negatives }))
    }

    fn total_positives(&self) -> f64 {
        self.positives.len() as f64
    }

    fn total_negatives(&self) -> f64 {
        self.negatives.len() as f64
    }

    /// The distinct scores from highest to lowest with cumulative counts.
    fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        let (pos, neg) = (&self.positives, &self.negatives);
        let (mut i, mut j) = (0, 0);
        std::iter::from_fn(move || {
            let key = match (pos.get(i), neg.get(j)) {
                (Some(&p), Some(&n)) => p.min(n),
                (Some(&p), None) => p,
                (None, Some(&n)) => n,
                (None, None) => return None,
            };
            while i < pos.len() && pos[i] == key {
                i += 1;
            }
            while j < neg.len() && neg[j] == key {
                j += 1;
            }
            Some(Step {
                threshold: from_descending_key(key),
                tp: i as f64,
                fp: j as f64,
            })
        })
    }

    /// Σ (R_k − R_{k+1}) · P_k over the PR curve, no interpolation (scikit-learn's AP).
    pub(crate) fn average_precision(&self) -> f64 {
        let total_positives = self.total_positives();
        let mut previous_recall = 0.0;
        let mut sum = 0.0;
        for step in self.steps() {
            let recall = step.tp / total_positives;
            sum += (recall - previous_recall) * (step.tp / (step.tp + step.fp));
            previous_recall = recall;
        }
        sum
    }

    /// Area under the ROC curve by the trapezoid rule; a tie between a positive and a
    /// negative forms a diagonal step worth half a correct ordering, as in scikit-learn.
    pub(crate) fn roc_auc(&self) -> f64 {
        let (p, n) = (self.total_positives(), self.total_negatives());
        let (mut fpr, mut tpr, mut area) = (0.0, 0.0, 0.0);
        for step in self.steps() {
            let (next_fpr, next_tpr) = (step.fp / n, step.tp / p);
            area += (next_fpr - fpr) * (next_tpr + tpr) / 2.0;
            (fpr, tpr) = (next_fpr, next_tpr);
        }
        area
    }

    pub(crate) fn pr_curve(&self) -> PrCurve {
        let total_positives = self.total_positives();
        let mut curve = PrCurve {
            precision: Vec::new(),
            recall: Vec::new(),
            thresholds: Vec::new(),
        };
        for step in self.steps() {
            curve.precision.push(step.tp / (step.tp + step.fp));
            curve.recall.push(step.tp / total_positives);
            curve.thresholds.push(step.threshold);
        }
        curve.precision.reverse();
        curve.recall.reverse();
        curve.thresholds.reverse();
        curve.precision.push(1.0);
        curve.recall.push(0.0);
        curve
    }

    fn roc_curve(&self) -> RocCurve {
        let (p, n) = (self.total_positives(), self.total_negatives());
        let mut curve = RocCurve {
            fpr: vec![0.0],
            tpr: vec![0.0],
            thresholds: vec![f64::INFINITY],
        };
        for step in self.steps() {
            curve.fpr.push(step.fp / n);
            curve.tpr.push(step.tp / p);
            curve.thresholds.push(step.threshold);
        }
        curve
    }
}

/// A precision–recall curve as scikit-learn's `precision_recall_curve` returns it.
///
/// `thresholds` are the distinct scores in ascending order; `precision` and `recall` have one
/// more element, the last being precision 1 at recall 0.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrCurve {
    /// Precision when predicting positive at score ≥ each threshold, then 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold, then 0 (non-increasing).
    pub recall: Vec<f64>,
    /// Distinct scores, ascending.
    pub thresholds: Vec<f64>,
}

impl PrCurve {
    /// The highest F1 over the curve's thresholds and the threshold giving it (the lowest
    /// threshold among ties).
    pub fn best_f1(&self) -> BestF1 {
        let mut best = BestF1 {
            f1: f64::NEG_INFINITY,
            threshold: self.thresholds[0],
        };
        for ((&p, &r), &threshold) in self.precision.iter().zip(&self.recall).zip(&self.thresholds) {
            let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
            if f1 > best.f1 {
                best = BestF1 { f1, threshold };
            }
        }
        best
    }
}

/// The best F1 over all thresholds and where it is reached.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestF1 {
    /// The F1 of class 1.
    pub f1: f64,
    /// Predict positive at score ≥ this.
    pub threshold: f64,
}

/// A ROC curve, every distinct score kept (scikit-learn's `drop_intermediate=False`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RocCurve {
    /// False-positive rate, from 0 up to 1.
    pub fpr: Vec<f64>,
    /// True-positive rate, from 0 up to 1.
    pub tpr: Vec<f64>,
    /// Distinct scores in descending order, after a first `+inf` (nothing predicted positive).
    pub thresholds: Vec<f64>,
}

/// scikit-learn's `precision_recall_curve`; `None` when the labels hold one class.
pub fn precision_recall_curve<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<Option<PrCurve>> {
    Ok(SortedScores::new(labels, scores)?.map(|s| s.pr_curve()))
}

/// scikit-learn's `average_precision_score`; `None` when the labels hold one class.
pub fn average_precision<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<Option<f64>> {
    Ok(SortedScores::new(labels, scores)?.map(|s| s.average_precision()))
}

/// The ROC curve; `None` when the labels hold one class.
pub fn roc_curve<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<Option<RocCurve>> {
    Ok(SortedScores::new(labels, scores)?.map(|s| s.roc_curve()))
}

/// scikit-learn's `roc_auc_score`; `None` when the labels hold one class.
pub fn roc_auc<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<Option<f64>> {
    Ok(SortedScores::new(labels, scores)?.map(|s| s.roc_auc()))
}

/// The best F1 over the PR curve's thresholds; `None` when the labels hold one class.
pub fn best_f1_threshold<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<Option<BestF1>> {
    Ok(precision_recall_curve(labels, scores)?.map(|c| c.best_f1()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_curve_of_tiny_case() {
        let curve = roc_curve(&[0u8, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])
            .unwrap()
            .unwrap();
        assert_eq!(curve.fpr, [0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(curve.tpr, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(curve.thresholds, [f64::INFINITY, 0.8, 0.4, 0.35, 0.1]);
    }
}
