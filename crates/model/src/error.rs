//! The one error type of `craters-model`.

use std::path::PathBuf;

/// What can go wrong building, training, saving or loading the network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Bad data handed to training or prediction.
    #[error(transparent)]
    Data(#[from] craters_dataset::Error),
    /// A metric that could not be computed.
    #[error(transparent)]
    Metrics(#[from] craters_metrics::Error),
    /// A configuration that does not fit its input size, or a value out of range.
    #[error("invalid config: {field} = {value}: {expected}")]
    InvalidConfig {
        /// The config field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What would fit.
        expected: String,
    },
    /// A file a model folder or checkpoint needs is not there.
    #[error("{}: no such file", .path.display())]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A config file that is not valid JSON for [`crate::SeedCnnConfig`].
    #[error("{}: {source}", .path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        source: serde_json::Error,
    },
    /// A checkpoint that does not match the network or the run it is loaded into.
    #[error("{}: {message}", .path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What does not match.
        message: String,
    },
    /// Bad augmentation or consistency-training parameters.
    #[error(transparent)]
    Method(#[from] craters_selftrain::Error),
    /// A set that training or evaluation needs labelled has no labels.
    #[error("{}: no labels; training and validation need labelled images", .path.display())]
    Unlabelled {
        /// Where the set came from.
        path: PathBuf,
    },
    /// Training diverged.
    #[error("loss is {loss} at epoch {epoch}, batch {batch}; lower the learning rate or check the data")]
    NonFiniteLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// The loss value (NaN or infinite).
        loss: f64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
