//! Accepted label and score types, and the checks every metric runs first.

use crate::error::{Error, Result};

/// A binary label: 0/1 integers or `bool`.
pub trait Label: Copy {
    /// The value as a number, for checks and error messages.
    fn value(self) -> f64;
}

/// A score: `f32` or `f64`.
pub trait Score: Copy {
    /// The score widened to `f64`.
    fn to_f64(self) -> f64;
}

macro_rules! int_labels {
    ($($t:ty),*) => {$(
        impl Label for $t {
            fn value(self) -> f64 {
                self as f64
            }
        }
    )*};
}
int_labels!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl Label for bool {
    fn value(self) -> f64 {
        f64::from(u8::from(self))
    }
}

impl Score for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Score for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

/// Checks labels and converts them to `bool`; `offset` shifts the indices in errors.
pub(crate) fn labels_to_bool<L: Label>(labels: &[L], offset: usize) -> Result<Vec<bool>> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| match l.value() {
            0.0 => Ok(false),
            1.0 => Ok(true),
            value => Err(Error::BadLabel {
                index: offset + i,
                value,
            }),
        })
        .collect()
}

/// Checks scores (probabilities: finite and in [0, 1]) and widens them; `-0.0` becomes
/// `0.0` so that equal scores sort together.
pub(crate) fn scores_to_f64<S: Score>(scores: &[S], offset: usize) -> Result<Vec<f64>> {
    scores
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let value = s.to_f64();
            if !value.is_finite() {
                Err(Error::NonFiniteScore {
                    index: offset + i,
                    value,
                })
            } else if !(0.0..=1.0).contains(&value) {
                Err(Error::ScoreOutOfRange {
                    index: offset + i,
                    value,
                })
            } else {
                Ok(value + 0.0)
            }
        })
        .collect()
}

pub(crate) fn check_lengths(labels: usize, scores: usize) -> Result<()> {
    if labels != scores {
        return Err(Error::LengthMismatch { labels, scores });
    }
    if labels == 0 {
        return Err(Error::Empty);
    }
    Ok(())
}

/// Checked labels and scores.
pub(crate) fn checked<L: Label, S: Score>(labels: &[L], scores: &[S]) -> Result<(Vec<bool>, Vec<f64>)> {
    check_lengths(labels.len(), scores.len())?;
    Ok((labels_to_bool(labels, 0)?, scores_to_f64(scores, 0)?))
}

pub(crate) fn check_threshold(threshold: f64) -> Result<()> {
    if (0.0..=1.0).contains(&threshold) {
        Ok(())
    } else {
        Err(Error::ThresholdOutOfRange { threshold })
    }
}
