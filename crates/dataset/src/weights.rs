//! Class weights for imbalanced binary data.

use crate::error::{Error, Result};

/// A weight per class, multiplied into each sample's loss.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassWeights {
    /// Weight of class 0 (no crater).
    pub negative: f64,
    /// Weight of class 1 (crater).
    pub positive: f64,
}

impl ClassWeights {
    /// scikit-learn's `balanced` weights: `n_samples / (n_classes × count_c)`.
    ///
    /// ```
    /// use craters_dataset::ClassWeights;
    /// // 1 negative, 3 positives: 4 / (2·1) = 2 and 4 / (2·3) = 2/3.
    /// let w = ClassWeights::balanced(&[0, 1, 1, 1]).unwrap();
    /// assert_eq!(w.negative, 2.0);
    /// assert!((w.positive - 2.0 / 3.0).abs() < 1e-15);
    /// ```
    ///
    /// Fails when a class is absent (its weight would be infinite) or a label is not 0/1.
    pub fn balanced(labels: &[u8]) -> Result<Self> {
        if let Some(index) = labels.iter().position(|&l| l > 1) {
            return Err(Error::BadLabel {
                path: "<labels for class weights>".into(),
                index,
                value: f64::from(labels[index]),
            });
        }
        let positives = labels.iter().filter(|&&l| l == 1).count();
        let negatives = labels.len() - positives;
        for (count, class) in [(negatives, 0.0), (positives, 1.0)] {
            if count == 0 {
                return Err(Error::InvalidParam {
                    name: "class count",
                    value: class,
                    expected: "both classes present for balanced weights (this class has no sample)",
                });
            }
        }
        let n = labels.len() as f64;
        Ok(ClassWeights {
            negative: n / (2.0 * negatives as f64),
            positive: n / (2.0 * positives as f64),
        })
    }

    /// Explicit weights; each must be finite and positive.
    pub fn explicit(negative: f64, positive: f64) -> Result<Self> {
        for (name, value) in [
            ("negative class weight", negative),
            ("positive class weight", positive),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::InvalidParam {
                    name,
                    value,
                    expected: "a finite number greater than 0",
                });
            }
        }
        Ok(ClassWeights { negative, positive })
    }

    /// Weight 1 for both classes.
    pub fn uniform() -> Self {
        ClassWeights {
            negative: 1.0,
            positive: 1.0,
        }
    }

    /// The weight of a 0/1 label.
    pub fn weight(&self, label: u8) -> f64 {
        if label == 1 { self.positive } else { self.negative }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_matches_sklearn_on_seed_ratio() {
        // sklearn.utils.class_weight.compute_class_weight("balanced", classes=[0, 1], y=y)
        // with 1006 zeros and 1777 ones (the course data's 63.85%) gives these values.
        let mut labels = vec![0u8; 1006];
        labels.extend(std::iter::repeat_n(1u8, 1777));
        let w = ClassWeights::balanced(&labels).unwrap();
        assert!((w.negative - 2783.0 / 2012.0).abs() < 1e-12);
        assert!((w.positive - 2783.0 / 3554.0).abs() < 1e-12);
        // Weighted class totals are equal: that is what "balanced" means.
        assert!((w.negative * 1006.0 - w.positive * 1777.0).abs() < 1e-9);
    }

    #[test]
    fn balanced_rejects_missing_class_and_bad_labels() {
        assert!(ClassWeights::balanced(&[1, 1]).is_err());
        assert!(ClassWeights::balanced(&[]).is_err());
        assert!(matches!(
            ClassWeights::balanced(&[0, 3]),
            Err(Error::BadLabel { index: 1, .. })
        ));
    }

    #[test]
    fn explicit_rejects_non_positive() {
        assert!(ClassWeights::explicit(1.0, 0.0).is_err());
        assert!(ClassWeights::explicit(f64::NAN, 1.0).is_err());
        assert_eq!(ClassWeights::explicit(2.0, 0.5).unwrap().weight(0), 2.0);
    }
}
