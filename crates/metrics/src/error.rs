//! The one error type of `craters-metrics`.

/// Input that metrics cannot be computed from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// No samples.
    #[error("empty input: no samples to score")]
    Empty,
    /// Labels and scores (or predictions) differ in length.
    #[error("length mismatch: {labels} labels but {scores} scores")]
    LengthMismatch {
        /// Number of labels.
        labels: usize,
        /// Number of scores or predictions.
        scores: usize,
    },
    /// A label (or prediction) other than 0 or 1.
    #[error("label {value} at index {index}: labels must be 0 or 1")]
    BadLabel {
        /// Position of the first bad label.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A NaN or infinite score.
    #[error("score {value} at index {index}: scores must be finite")]
    NonFiniteScore {
        /// Position of the first such score.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A score that is not a probability.
    #[error("score {value} at index {index}: scores must be probabilities in [0, 1]")]
    ScoreOutOfRange {
        /// Position of the first such score.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A reliability diagram of no bins.
    #[error("{n_bins} bins: expected at least 1")]
    InvalidBins {
        /// The number given.
        n_bins: usize,
    },
    /// A decision threshold outside [0, 1].
    #[error("threshold {threshold}: expected a probability threshold in [0, 1]")]
    ThresholdOutOfRange {
        /// The threshold given.
        threshold: f64,
    },
    /// An F-beta with beta not finite and positive.
    #[error("beta {beta}: expected a finite number greater than 0")]
    InvalidBeta {
        /// The beta given.
        beta: f64,
    },
    /// A detection match rule with a non-positive tolerance or an empty ratio range.
    #[error("invalid match rule: {message}")]
    InvalidMatchRule {
        /// What is wrong.
        message: String,
    },
    /// A circle with a non-finite coordinate or a radius ≤ 0.
    #[error("{what} {index}: {message}")]
    BadCircle {
        /// "detection" or "true crater".
        what: &'static str,
        /// Its position in the input.
        index: usize,
        /// The circle and what was expected.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
