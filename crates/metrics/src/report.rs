//! Every metric at once, in one-shot and accumulating form.

use crate::confusion::{ConfusionMatrix, mean_log_loss};
use crate::curves::{BestF1, PrCurve, SortedScores};
use crate::error::{Error, Result};
use crate::input::{Label, Score, check_lengths, check_threshold, checked, labels_to_bool, scores_to_f64};

/// All metrics of a binary classifier at one threshold, plus the threshold-free ones.
///
/// Serialises to JSON with exactly these keys; what is undefined for one-class labels is
/// `null`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Precision of class 1.
    pub precision: f64,
    /// Recall of class 1.
    pub recall: f64,
    /// F1 of class 1.
    pub f1: f64,
    /// Mean F1 of both classes.
    pub f1_macro: f64,
    /// Share of correct predictions.
    pub accuracy: f64,
    /// Mean of recall and specificity; `None` for one-class labels.
    pub balanced_accuracy: Option<f64>,
    /// Matthews correlation coefficient.
    pub mcc: f64,
    /// Mean binary cross-entropy (scores clipped to [1e-7, 1 − 1e-7]).
    pub log_loss: f64,
    /// Counts at the threshold.
    pub confusion: ConfusionMatrix,
    /// Average precision; `None` for one-class labels.
    pub average_precision: Option<f64>,
    /// Area under the ROC curve; `None` for one-class labels.
    pub roc_auc: Option<f64>,
    /// Best F1 over thresholds; `None` for one-class labels.
    pub best_f1: Option<BestF1>,
    /// Precision–recall curve; `None` for one-class labels.
    pub pr_curve: Option<PrCurve>,
}

impl Report {
    /// Scores labels against probabilities, predicting positive at score ≥ `threshold`.
    ///
    /// ```
    /// let report = craters_metrics::Report::new(&[0u8, 0, 1, 1], &[0.1f32, 0.4, 0.35, 0.8], 0.5).unwrap();
    /// assert_eq!(report.roc_auc, Some(0.75));
    /// assert_eq!(report.best_f1.map(|b| b.threshold), Some(0.3499999940395355)); // 0.35f32
    /// ```
    pub fn new<L: Label, S: Score>(labels: &[L], scores: &[S], threshold: f64) -> Result<Report> {
        check_threshold(threshold)?;
        let (labels, scores) = checked(labels, scores)?;
        report(&labels, &scores, threshold)
    }
}

fn report(labels: &[bool], scores: &[f64], threshold: f64) -> Result<Report> {
    let mut confusion = ConfusionMatrix::default();
    for (&truth, &score) in labels.iter().zip(scores) {
        confusion.add(truth, score >= threshold);
    }
    let sorted = SortedScores::new(labels, scores)?;
    let pr_curve = sorted.as_ref().map(SortedScores::pr_curve);
    Ok(Report {
        precision: confusion.precision(),
        recall: confusion.recall(),
        f1: confusion.f1(),
        f1_macro: confusion.f1_macro(),
        accuracy: confusion.accuracy(),
        balanced_accuracy: confusion.balanced_accuracy(),
        mcc: confusion.mcc(),
        log_loss: mean_log_loss(labels, scores),
        confusion,
        average_precision: sorted.as_ref().map(SortedScores::average_precision),
        roc_auc: sorted.as_ref().map(SortedScores::roc_auc),
        best_f1: pr_curve.as_ref().map(PrCurve::best_f1),
        pr_curve,
    })
}

/// Collects labels and scores batch by batch (a training loop's validation pass) and gives
/// exactly the [`Report`] that the one-shot form gives on the concatenation.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    labels: Vec<bool>,
    scores: Vec<f64>,
}

impl Accumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch; errors name indices counted from the first batch.
    pub fn update<L: Label, S: Score>(&mut self, labels: &[L], scores: &[S]) -> Result<()> {
        // An empty batch is fine here; only `finish` needs samples.
        if labels.len() != scores.len() {
            return Err(Error::LengthMismatch {
                labels: labels.len(),
                scores: scores.len(),
            });
        }
        let offset = self.labels.len();
        let labels = labels_to_bool(labels, offset)?;
        let scores = scores_to_f64(scores, offset)?;
        self.labels.extend(labels);
        self.scores.extend(scores);
        Ok(())
    }

    /// Samples added so far.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The report over everything added.
    pub fn finish(&self, threshold: f64) -> Result<Report> {
        check_threshold(threshold)?;
        check_lengths(self.labels.len(), self.scores.len())?;
        report(&self.labels, &self.scores, threshold)
    }
}
