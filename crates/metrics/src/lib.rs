//! Binary classification metrics that match scikit-learn.
//!
//! Class 1 is the positive class; a sample is predicted positive when its score is ≥ the
//! threshold. Ratios that would divide by zero are 0 (scikit-learn's `zero_division=0`), and
//! what is undefined when the labels hold one class (balanced accuracy, the curves, average
//! precision, ROC AUC, best F1) is `None`. Labels are 0/1 integers or `bool`, scores `f32` or
//! `f64`. Bad input (empty, mismatched lengths, a label other than 0/1, a NaN or infinite
//! score, a score outside [0, 1] for a [`Report`], a threshold outside [0, 1]) is an
//! [`Error`], never a panic.
//!
//! ```
//! use craters_metrics::{ConfusionMatrix, Report};
//! let labels = [0u8, 0, 1, 1];
//! let scores = [0.1, 0.4, 0.35, 0.8];
//! let cm = ConfusionMatrix::from_scores(&labels, &scores, 0.5)?;
//! assert_eq!(cm.precision(), 1.0);
//! let report = Report::new(&labels, &scores, 0.5)?;
//! assert_eq!(report.average_precision, Some(0.8333333333333333));
//! # Ok::<(), craters_metrics::Error>(())
//! ```
//!
//! [`detection`] scores circle detections (craters found on a whole image) against a
//! catalogue: one-to-one matching, precision, recall, F1 and their curve over the score.
//!
//! [`reliability`] bins probabilities against observed frequencies (a reliability diagram
//! and its expected calibration error), and [`fit_temperature`] fits temperature scaling.
//!
//! The curves, average precision and AUC sort the scores once: O(n log n).
#![deny(missing_docs)]

mod calibration;
mod confusion;
mod curves;
pub mod detection;
mod error;
mod input;
mod report;
mod sort;

pub use calibration::{
    Reliability, ReliabilityBin, TEMPERATURE_RANGE, fit_temperature, reliability, sigmoid,
};
pub use confusion::{ConfusionMatrix, log_loss};
pub use curves::{
    BestF1, PrCurve, RocCurve, average_precision, best_f1_threshold, precision_recall_curve, roc_auc,
    roc_curve,
};
pub use error::{Error, Result};
pub use input::{Label, Score};
pub use report::{Accumulator, Report};

// The crate README's example, compiled (and run unless marked no_run) as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
