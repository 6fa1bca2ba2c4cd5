//! craters: impact-crater classification on Mars orbital image patches.
//!
//! This facade re-exports the member crates under short names, so one dependency gives all
//! of them; [`experiment`] runs the whole seed experiment into a run folder, and [`detect`]
//! finds craters on whole tiles:
//!
//! ```
//! use craters::dataset::{ClassWeights, PATCH_PIXELS};
//! assert_eq!(PATCH_PIXELS, 48 * 48);
//! assert_eq!(ClassWeights::balanced(&[0, 1]).unwrap(), ClassWeights::uniform());
//! ```
#![deny(missing_docs)]

pub use craters_dataset as dataset;
pub use craters_metrics as metrics;
pub use craters_model as model;
pub use craters_selftrain as selftrain;

pub mod detect;
pub mod experiment;

// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
