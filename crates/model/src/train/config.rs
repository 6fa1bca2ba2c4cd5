//! What a training run is asked to do, checked before it starts.

use craters_dataset::ClassWeights;
use craters_selftrain::AugmentParams;

use crate::error::{Error, Result};
use crate::optim::AdamConfig;

/// How classes are weighted in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClassWeighting {
    /// Every sample counts 1 (the seed).
    #[default]
    None,
    /// n / (2 · n_class), as scikit-learn's `class_weight="balanced"`.
    Balanced,
    /// Given weights.
    Explicit {
        /// Weight of class 0.
        negative: f64,
        /// Weight of class 1.
        positive: f64,
    },
}

/// How a training run is driven; `Default` is the seed's first stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Passes over the training set. Default 75.
    pub epochs: usize,
    /// Images per gradient step. Default 32.
    pub batch_size: usize,
    /// Adam step size. Default 3e-4.
    pub learning_rate: f64,
    /// Adam β₁. Default 0.9.
    pub beta1: f64,
    /// Adam β₂. Default 0.999.
    pub beta2: f64,
    /// Adam ε. Default 1e-7 (Keras).
    pub epsilon: f64,
    /// Class weights in the loss. Default none.
    pub class_weights: ClassWeighting,
    /// Stop after this many epochs without a lower monitored loss. Default: never.
    pub early_stopping_patience: Option<usize>,
    /// End with the weights of the epoch with the lowest monitored loss (validation loss,
    /// or training loss without a validation set) rather than the last. Default true.
    pub restore_best: bool,
    /// Seed of the shuffling, dropout and augmentation RNGs. Default 0.
    pub seed: u64,
    /// With class weights, add log(w₀ / w₁) to the output logit (validation and the final
    /// model), so that probabilities answer for the training data's own class shares
    /// again: weighting moves every probability towards the lighter class (logit
    /// adjustment, Menon et al. 2021). Default false.
    pub prior_correction: bool,
    /// Augmentation of the labelled batches (the weak view, in consistency training).
    /// Default none (the seed).
    pub augment: Option<AugmentParams>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        let adam = AdamConfig::default();
        TrainConfig {
            epochs: 75,
            batch_size: 32,
            learning_rate: 3e-4,
            beta1: adam.beta1,
            beta2: adam.beta2,
            epsilon: adam.epsilon,
            class_weights: ClassWeighting::None,
            early_stopping_patience: None,
            restore_best: true,
            seed: 0,
            prior_correction: false,
            augment: None,
        }
    }
}

impl TrainConfig {
    /// Checks every value, naming the first one out of range; only a checked config trains.
    pub fn check(&self) -> Result<ValidTrainConfig> {
        let invalid = |field: &'static str, value: String, expected: &str| {
            Err(Error::InvalidConfig {
                field,
                value,
                expected: expected.into(),
            })
        };
        if self.epochs == 0 {
            return invalid("epochs", "0".into(), "at least 1");
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "0".into(), "at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid(
                "learning_rate",
                self.learning_rate.to_string(),
                "a positive number",
            );
        }
        for (field, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return invalid(field, beta.to_string(), "in [0, 1)");
            }
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return invalid("epsilon", self.epsilon.to_string(), "a positive number");
        }
        if self.early_stopping_patience == Some(0) {
            return invalid("early_stopping_patience", "0".into(), "at least 1, or absent");
        }
        if let ClassWeighting::Explicit { negative, positive } = self.class_weights {
            ClassWeights::explicit(negative, positive)?;
        }
        if let Some(augment) = &self.augment {
            augment.check("augment")?;
        }
        Ok(ValidTrainConfig(self.clone()))
    }

    pub(super) fn adam(&self) -> AdamConfig {
        AdamConfig {
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        }
    }
}

/// A [`TrainConfig`] that passed [`TrainConfig::check`]; reads as the config.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct ValidTrainConfig(TrainConfig);

impl std::ops::Deref for ValidTrainConfig {
    type Target = TrainConfig;

    fn deref(&self) -> &TrainConfig {
        &self.0
    }
}

impl ValidTrainConfig {
    /// The same config with another RNG seed (every seed is valid).
    pub fn with_seed(&self, seed: u64) -> ValidTrainConfig {
        ValidTrainConfig(TrainConfig {
            seed,
            ..self.0.clone()
        })
    }
}
