//! Self-training: fit a classifier on labelled images, pseudo-label the confident part of
//! an unlabelled pool, refit on both, repeat — as scikit-learn's `SelfTrainingClassifier`.
//!
//! It works with any [`Classifier`] (the candle CNN implements it in `craters-experiment`;
//! nothing here depends on candle). Parameters are checked before fitting
//! ([`SelfTrainingParams::check`]).
//!
//! ```
//! use craters_selftrain::{Criterion, SelfTrainingParams};
//! // The seed protocol: one round, p < 0.25 → class 0.
//! let params = SelfTrainingParams::default();
//! assert_eq!(params.criterion, Criterion::Threshold { neg: Some(0.25), pos: None });
//! let bad = SelfTrainingParams { criterion: Criterion::Threshold { neg: Some(0.8), pos: Some(0.6) }, ..params };
//! assert!(bad.check().unwrap_err().to_string().contains("neg 0.8 must be below pos 0.6"));
//! ```
#![deny(missing_docs)]

mod augment;
mod consistency;
mod error;
mod params;
mod selftrain;
mod targets;

pub use augment::{AugmentParams, MAX_SHIFT, ValidAugment};
pub use consistency::{ConsistencyParams, Teacher, Threshold, ValidConsistencyParams, confident_targets};
pub use error::{Error, Result};
pub use params::{Criterion, SelfTrainingParams, ValidSelfTrainingParams};
pub use selftrain::{Added, Classifier, RoundLog, SelfTrainingResult, Termination, self_train};
pub use targets::{TargetPicker, Targets};

// The crate README's example, compiled (and run unless marked no_run) as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
