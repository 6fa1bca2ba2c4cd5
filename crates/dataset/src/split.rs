//! Seeded shuffling and the stratified train/validation split.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// Settings of [`stratified_split`], checked into [`ValidSplitParams`] before use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitParams {
    validation_fraction: f64,
    label_fraction: f64,
    seed: u64,
}

impl Default for SplitParams {
    /// The seed experiment's split: 20% validation, every other labelled sample trained
    /// on, seed 42.
    fn default() -> Self {
        SplitParams {
            validation_fraction: 0.2,
            label_fraction: 1.0,
            seed: 42,
        }
    }
}

impl SplitParams {
    /// Share of each class that goes to validation, in (0, 1). Default 0.2.
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.validation_fraction = fraction;
        self
    }

    /// Share of each class's training side that is kept, in (0, 1]: the rest is left out,
    /// as if it had no label (for studies with few labels). Default 1.
    pub fn label_fraction(mut self, fraction: f64) -> Self {
        self.label_fraction = fraction;
        self
    }

    /// Seed of the shuffle. Default 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the values; only checked params can split.
    pub fn check(&self) -> Result<ValidSplitParams> {
        let f = self.validation_fraction;
        if !(f.is_finite() && f > 0.0 && f < 1.0) {
            return Err(Error::InvalidParam {
                name: "validation_fraction",
                value: f,
                expected: "a number strictly between 0 and 1",
            });
        }
        let l = self.label_fraction;
        if !(l.is_finite() && l > 0.0 && l <= 1.0) {
            return Err(Error::InvalidParam {
                name: "label_fraction",
                value: l,
                expected: "a number above 0 and at most 1",
            });
        }
        Ok(ValidSplitParams {
            validation_fraction: f,
            label_fraction: l,
            seed: self.seed,
        })
    }
}

/// [`SplitParams`] that passed [`SplitParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidSplitParams {
    validation_fraction: f64,
    label_fraction: f64,
    seed: u64,
}

impl ValidSplitParams {
    /// The validation fraction.
    pub fn validation_fraction(&self) -> f64 {
        self.validation_fraction
    }

    /// The share of the training side kept.
    pub fn label_fraction(&self) -> f64 {
        self.label_fraction
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Sample indices of the two sides of a split, each in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Indices for training.
    pub train: Vec<usize>,
    /// Indices for validation.
    pub validation: Vec<usize>,
    /// Indices of the training side left out by the label fraction (empty at 1).
    pub left_out: Vec<usize>,
}

/// Shuffles `items` in place (Fisher–Yates) with draws that are the same on every platform.
pub fn shuffle<T>(items: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..items.len()).rev() {
        // u64 draws keep the sequence independent of the platform's usize width.
        let j = rng.random_range(0..=i as u64) as usize;
        items.swap(i, j);
    }
}

/// Splits 0/1 labels into training and validation indices, class by class.
///
/// Each class sends `round(fraction × count)` of its samples, chosen by a ChaCha8 shuffle
/// seeded with the params' seed, to validation, so class proportions hold to within one
/// sample per class, and the same seed gives the same split on any machine. Of the rest,
/// each class keeps `round(label_fraction × count)` (at least one) for training, the
/// next ones in the same shuffle, so a smaller fraction keeps a subset of what a larger one
/// keeps, and the validation side does not depend on it.
pub fn stratified_split(labels: &[u8], params: &ValidSplitParams) -> Result<Split> {
    if let Some(i) = labels.iter().position(|&l| l > 1) {
        return Err(Error::BadLabel {
            path: "<labels to split>".into(),
            index: i,
            value: f64::from(labels[i]),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut split = Split {
        train: Vec::with_capacity(labels.len()),
        validation: Vec::new(),
        left_out: Vec::new(),
    };
    for class in [0u8, 1] {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        shuffle(&mut members, &mut rng);
        let n_validation = (params.validation_fraction * members.len() as f64).round() as usize;
        split.validation.extend_from_slice(&members[..n_validation]);
        let rest = &members[n_validation..];
        let kept = ((params.label_fraction * rest.len() as f64).round() as usize)
            .clamp(1.min(rest.len()), rest.len());
        split.train.extend_from_slice(&rest[..kept]);
        split.left_out.extend_from_slice(&rest[kept..]);
    }
    for (side, indices) in [("training", &split.train), ("validation", &split.validation)] {
        if indices.is_empty() {
            return Err(Error::EmptySplit {
                side,
                n: labels.len(),
                fraction: params.validation_fraction,
            });
        }
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    split.left_out.sort_unstable();
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_fraction_outside_unit_interval() {
        for f in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            let err = SplitParams::default().validation_fraction(f).check().unwrap_err();
            assert!(err.to_string().contains("validation_fraction"), "{err}");
        }
    }

    #[test]
    fn rejects_label_fraction_outside_zero_to_one() {
        for f in [0.0, -0.1, 1.01, f64::NAN, f64::INFINITY] {
            let err = SplitParams::default().label_fraction(f).check().unwrap_err();
            assert!(err.to_string().contains("label_fraction"), "{err}");
        }
        assert!(SplitParams::default().label_fraction(1.0).check().is_ok());
    }

    #[test]
    fn label_fraction_keeps_a_stratified_nested_subset_of_the_training_side() {
        // 400 craters, 600 others.
        let labels: Vec<u8> = (0..1000).map(|i| u8::from(i % 5 < 2)).collect();
        let split = |fraction: f64| {
            let params = SplitParams::default().label_fraction(fraction).check().unwrap();
            stratified_split(&labels, &params).unwrap()
        };
        let (all, tenth, quarter) = (split(1.0), split(0.1), split(0.25));
        assert!(all.left_out.is_empty());
        assert_eq!((all.train.len(), all.validation.len()), (800, 200));
        for (part, n_ones, n_zeros) in [(&tenth, 32, 48), (&quarter, 80, 120)] {
            assert_eq!(part.validation, all.validation);
            let ones = part.train.iter().filter(|&&i| labels[i] == 1).count();
            assert_eq!((ones, part.train.len() - ones), (n_ones, n_zeros));
            let mut whole = [part.train.clone(), part.left_out.clone()].concat();
            whole.sort_unstable();
            assert_eq!(whole, all.train);
        }
        assert!(tenth.train.iter().all(|i| quarter.train.contains(i)));
        // A tiny fraction still keeps one sample of each class.
        let few = split(1e-6);
        assert_eq!(few.train.len(), 2);
    }

    #[test]
    fn rejects_split_with_empty_side() {
        let params = SplitParams::default().check().unwrap();
        let err = stratified_split(&[1, 0], &params).unwrap_err();
        assert!(
            matches!(
                err,
                Error::EmptySplit {
                    side: "validation",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn rejects_non_binary_labels() {
        let params = SplitParams::default().check().unwrap();
        let err = stratified_split(&[0, 1, 2, 1, 0], &params).unwrap_err();
        assert!(matches!(err, Error::BadLabel { index: 2, .. }), "{err}");
    }

    #[test]
    fn known_split_is_stable() {
        // Pins the exact output so that a change of RNG or algorithm is noticed.
        let labels = [0u8, 1, 1, 0, 1, 1, 0, 1, 1, 1];
        let params = SplitParams::default()
            .validation_fraction(0.3)
            .seed(7)
            .check()
            .unwrap();
        let split = stratified_split(&labels, &params).unwrap();
        assert_eq!(split.validation.len(), 3); // round(0.3·3) + round(0.3·7) = 1 + 2
        let again = stratified_split(&labels, &params).unwrap();
        assert_eq!(split, again);
        assert_eq!(split.validation.iter().filter(|&&i| labels[i] == 0).count(), 1);
    }
}
