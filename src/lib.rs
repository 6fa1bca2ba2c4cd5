//! craters: find impact craters on Mars in orbital images.
//!
//! This facade only re-exports the member crates under short names, so one dependency
//! gives all of them (as ripgrep's `grep` crate does):
//!
//! | module | crate | what for |
//! |---|---|---|
//! | [`dataset`] | `craters-dataset` | npy seed layout, image folders, tiles, HRSC benchmark, splits, generator |
//! | [`metrics`] | `craters-metrics` | classification and detection figures (scikit-learn-exact) |
//! | [`model`] | `craters-model` | the seed CNN in candle, fused CPU kernels, training loop |
//! | [`selftrain`] | `craters-selftrain` | self-training over any probabilistic classifier |
//! | [`experiment`] | `craters-experiment` | the seed experiment into a run folder with report and plots |
//! | [`detect`] | `craters-detect` | craters on whole images: pyramid scan, suppression, evaluation |
//!
//! ```
//! use craters::dataset::{ClassWeights, PATCH_PIXELS};
//! assert_eq!(PATCH_PIXELS, 48 * 48);
//! assert_eq!(ClassWeights::balanced(&[0, 1]).unwrap(), ClassWeights::uniform());
//! ```
#![deny(missing_docs)]

pub use craters_dataset as dataset;
pub use craters_detect as detect;
pub use craters_experiment as experiment;
pub use craters_metrics as metrics;
pub use craters_model as model;
pub use craters_selftrain as selftrain;

// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
