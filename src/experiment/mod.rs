//! The whole seed experiment as one call: data, split, stage 1, self-training, stage 2,
//! prediction, evaluation, a run folder with a report and plots.
//!
//! `cargo xtask reproduce` and `craters reproduce` are thin shells around [`reproduce`].

mod config;
mod plots;
mod report;
mod run;

use std::path::PathBuf;

pub use config::{CrossTileConfig, DataConfig, ExperimentConfig, SplitConfig};
pub use report::{SLIDES, SlidesResult};
pub use run::{RoundSummary, RunOptions, RunSummary, SeedRun, TileRun, reproduce, selftrain, train};

/// What can go wrong running an experiment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file that cannot be read as an [`ExperimentConfig`], or bad values in it.
    #[error("{}: {message}", .path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The run folder exists and overwriting was not asked for.
    #[error("{}: run folder exists; pass --force to replace it or choose another --out", .0.display())]
    RunExists(PathBuf),
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Bad data.
    #[error(transparent)]
    Data(#[from] craters_dataset::Error),
    /// A metric that could not be computed.
    #[error(transparent)]
    Metrics(#[from] craters_metrics::Error),
    /// Training, saving or loading the model failed.
    #[error(transparent)]
    Model(#[from] craters_model::Error),
    /// Self-training failed.
    #[error(transparent)]
    SelfTrain(#[from] craters_selftrain::Error),
    /// Drawing a plot failed.
    #[error("{}: cannot draw: {message}", .path.display())]
    Plot {
        /// The image.
        path: PathBuf,
        /// What the plotting library said.
        message: String,
    },
}

/// `Result` with this module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
