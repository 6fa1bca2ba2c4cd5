//! The seed crater experiment as one call: data, split, stage 1, self-training, stage 2,
//! prediction, evaluation, and a run folder with a report and plots; optionally
//! leave-one-tile-out on the real HRSC benchmark.
//!
//! `cargo xtask reproduce` and `craters reproduce` are thin shells around [`reproduce`]; a
//! run is described by an [`ExperimentConfig`] (TOML), checked into a
//! [`ValidExperimentConfig`] before anything runs. The library prints nothing: progress
//! goes to the [`craters_model::ProgressSink`] in [`RunOptions`].
//!
//! ```no_run
//! use craters_experiment::{ExperimentConfig, RunOptions, reproduce};
//! # fn main() -> craters_experiment::Result<()> {
//! let config = ExperimentConfig::load("configs/smoke.toml".as_ref())?;
//! let summary = reproduce(&config, &RunOptions::new("runs/smoke"))?;
//! let (report, set) = summary.seeds[0].headline();
//! assert!(report.f1 >= 0.0, "F1 on the {set} set");
//! # Ok(()) }
//! ```
//!
//! Files: [`config`](ExperimentConfig) (what a run does), `results` (what it produced),
//! `run` (doing it), `classifier` (the CNN as a self-training classifier), `report`
//! (`metrics.json`, `report.md`), `plots` (PNG figures).
#![deny(missing_docs)]

mod classifier;
mod config;
mod error;
mod plots;
mod report;
mod results;
mod run;

pub use classifier::CnnClassifier;
pub use config::{
    CrossTileConfig, DataConfig, ExperimentConfig, SplitConfig, ValidDataConfig, ValidExperimentConfig,
};
pub use error::{Error, Result};
pub use report::{PUBLISHED_HRSC, PublishedResult, SLIDES, SlidesResult};
pub use results::{CalibrationSummary, RoundSummary, RunSummary, SeedRun, TileRun};
pub use run::{RunOptions, reproduce, selftrain, train};

// The crate README's example, compiled (and run unless marked no_run) as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
