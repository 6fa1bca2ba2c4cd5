//! The one error type of `craters-model`.

/// What can go wrong building, running or training the network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A configuration that does not fit its input size, or a value out of range.
    #[error("invalid model config: {field} = {value}: {expected}")]
    InvalidConfig {
        /// The config field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What would fit.
        expected: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
