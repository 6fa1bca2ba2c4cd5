//! The one error type of `craters-selftrain`.

/// What can go wrong self-training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter out of range or parameters that contradict each other.
    #[error("invalid self-training parameter {name}: {message}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Bad data (unlabelled training set, hidden labels of the wrong length, ...).
    #[error(transparent)]
    Data(#[from] craters_dataset::Error),
    /// The classifier failed to fit or predict.
    #[error("classifier failed in round {round}: {source}")]
    Classifier {
        /// The round (0 = the labelled data alone).
        round: usize,
        /// Its error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The classifier returned a probability that is not in [0, 1].
    #[error("classifier returned probability {value} for pool sample {index} in round {round}")]
    BadProbability {
        /// The round.
        round: usize,
        /// Pool index.
        index: usize,
        /// The value.
        value: f32,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
