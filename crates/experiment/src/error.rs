//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong running an experiment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file that is not TOML of an [`ExperimentConfig`](crate::ExperimentConfig) (unknown keys included).
    #[error("{}: {message}", .path.display())]
    ConfigSyntax {
        /// The config file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// A problem found in a config file by [`ExperimentConfig::check`](crate::ExperimentConfig::check).
    #[error("{}: {source}", .path.display())]
    InConfig {
        /// The config file.
        path: PathBuf,
        /// The problem.
        source: Box<Error>,
    },
    /// `seeds = []`.
    #[error("seeds: empty; give at least one")]
    NoSeeds,
    /// A decision threshold outside [0, 1].
    #[error("threshold = {0}: expected a probability in [0, 1]")]
    Threshold(f64),
    /// A bad value in `[model]`, `[stage1]` or `[stage2]`.
    #[error("[{section}] {source}")]
    InvalidModelSection {
        /// The section.
        section: &'static str,
        /// What the model crate said.
        source: Box<craters_model::Error>,
    },
    /// A bad value in `[selftrain]`.
    #[error("[selftrain] {0}")]
    InvalidSelfTraining(craters_selftrain::Error),
    /// A bad value in `[consistency]`.
    #[error("[consistency] {0}")]
    InvalidConsistency(craters_selftrain::Error),
    /// A bad value in `[data]`, `[data.hrsc]` or `[split]`.
    #[error("[{section}] {source}")]
    InvalidDataSection {
        /// The section.
        section: &'static str,
        /// What the dataset crate said.
        source: Box<craters_dataset::Error>,
    },
    /// Leave-one-tile-out without the benchmark to cut tiles from.
    #[error("[cross_tile] tiles needs [data.hrsc] (the benchmark folder)")]
    CrossTileWithoutHrsc,
    /// `[model] input_norm` and `[data.hrsc] stretch` that do not go together.
    #[error(
        "invalid config: [model] input_norm = {input_norm:?} with [data.hrsc] stretch = {stretch:?}; \
         expected input_norm = \"per_tile\" with stretch = \"standardise\", \"local\" with \"local\", \
         and no stretch otherwise"
    )]
    StretchMismatch {
        /// The model's input normalisation.
        input_norm: craters_model::InputNorm,
        /// The tiles' stretch.
        stretch: craters_dataset::Stretch,
    },
    /// Leave-one-tile-out over fewer than two tiles.
    #[error("[cross_tile] tiles: name at least two tiles")]
    TooFewCrossTiles,
    /// The config could not be written back as TOML.
    #[error("cannot write the config as TOML: {0}")]
    ConfigToToml(toml::ser::Error),
    /// A data folder to generate or cut data into that holds files craters did not write.
    #[error("{}: {what} is missing, and the folder holds files craters did not write; craters writes data only into a new or empty folder or one it wrote before: set [data] dir to another folder", .dir.display())]
    NotOurDataFolder {
        /// The folder.
        dir: PathBuf,
        /// What the run looked for.
        what: &'static str,
    },
    /// A data set that a step needs labels for has none (a file is missing or unlabelled).
    #[error("{what} has no labels; {why}")]
    Unlabelled {
        /// The data set.
        what: String,
        /// Why they are needed.
        why: &'static str,
    },
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

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
