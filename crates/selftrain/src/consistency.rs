//! Consistency training in the FixMatch family: every step sees a labelled batch and μ
//! times as many unlabelled patches; where the model is confident on a weak view of an
//! unlabelled patch, that prediction is the target for its output on a strong view.
//!
//! Sohn et al. 2020 ("FixMatch") use τ = 0.95, μ = 7, λ = 1. The Mean Teacher variant
//! (Tarvainen & Valpola 2017) takes the targets from an exponential moving average of the
//! weights instead of the model itself. The training loop that runs either lives in
//! `craters-model`; what is decided without tensors is here.

use crate::augment::{AugmentParams, ValidAugment};
use crate::error::{Error, Result};

/// Where the targets on the weak views come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Teacher {
    /// The model being trained (FixMatch).
    #[default]
    Model,
    /// An exponential moving average of its weights (Mean Teacher's targets).
    MovingAverage,
}

/// How the confidence threshold on the weak views is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// `confidence` for both classes (FixMatch).
    #[default]
    Fixed,
    /// FreeMatch's self-adaptive thresholds (Wang et al. 2023): a global threshold that
    /// follows the model's mean confidence on the unlabelled views (a moving average),
    /// scaled per class by how often the model predicts that class, so the class it
    /// favours needs more confidence than the other. `confidence` is not used.
    SelfAdaptive,
}

/// Consistency-training settings; `Default` is FixMatch's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsistencyParams {
    /// Where the targets come from. Default the model itself (FixMatch).
    pub teacher: Teacher,
    /// Only weak-view predictions with max(p, 1 − p) ≥ this become targets. Default 0.95.
    pub confidence: f64,
    /// Unlabelled patches per labelled one in each step (μ). Default 7.
    pub unlabelled_ratio: usize,
    /// Weight of the unlabelled loss against the labelled one (λ). Default 1.
    pub weight: f64,
    /// Epochs over which λ ramps up linearly from 0 (a model that has seen few labels is
    /// confidently wrong at first). Default 0.
    pub ramp_up_epochs: usize,
    /// Decay of the moving-average teacher's weights per step. Default 0.999.
    pub ema_decay: f64,
    /// Validate and keep the moving-average teacher instead of the model being trained: its
    /// weights are the ones early stopping picks and the run returns, as Mean Teacher
    /// evaluates its teacher. Needs `teacher = "moving_average"`. Default false.
    pub keep_teacher: bool,
    /// Hard targets (the confident class, as FixMatch) or the teacher's probability.
    /// Default true.
    pub hard_targets: bool,
    /// Keep as many confident targets of each class per batch (the smaller count, the most
    /// confident first), so that the class the model already favours does not take over
    /// the unlabelled loss. Default false (FixMatch).
    pub balance_classes: bool,
    /// How the confidence threshold is set. Default fixed (FixMatch).
    pub threshold: Threshold,
    /// Distribution alignment (ReMixMatch, Berthelot et al. 2020): the teacher's
    /// probabilities are rescaled by the labelled crater share over their own moving
    /// mean before thresholding, so a model that calls most unlabelled patches craters
    /// does not turn that bias into targets. Default false.
    pub distribution_alignment: bool,
    /// Decay per step of the moving averages behind `threshold = "self_adaptive"` and
    /// `distribution_alignment`. Default 0.99 (a memory of about 100 steps).
    pub adaptive_decay: f64,
    /// The weak view, which the targets are predicted on.
    pub weak: AugmentParams,
    /// The strong view, which is trained towards them.
    pub strong: AugmentParams,
}

impl Default for ConsistencyParams {
    fn default() -> Self {
        ConsistencyParams {
            teacher: Teacher::Model,
            confidence: 0.95,
            unlabelled_ratio: 7,
            weight: 1.0,
            ramp_up_epochs: 0,
            ema_decay: 0.999,
            keep_teacher: false,
            hard_targets: true,
            balance_classes: false,
            threshold: Threshold::Fixed,
            distribution_alignment: false,
            adaptive_decay: 0.99,
            weak: AugmentParams::weak(),
            strong: AugmentParams::strong(),
        }
    }
}

/// [`ConsistencyParams`] that passed [`ConsistencyParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidConsistencyParams {
    params: ConsistencyParams,
    weak: ValidAugment,
    strong: ValidAugment,
}

impl ValidConsistencyParams {
    /// The checked parameters.
    pub fn params(&self) -> &ConsistencyParams {
        &self.params
    }

    /// The checked weak view.
    pub fn weak(&self) -> &ValidAugment {
        &self.weak
    }

    /// The checked strong view.
    pub fn strong(&self) -> &ValidAugment {
        &self.strong
    }

    /// λ in epoch `epoch` (1-based), after the ramp-up.
    pub fn weight_at(&self, epoch: usize) -> f64 {
        let ramp = self.params.ramp_up_epochs;
        if ramp == 0 {
            self.params.weight
        } else {
            self.params.weight * (epoch as f64 / ramp as f64).min(1.0)
        }
    }
}

fn invalid(name: &'static str, message: String) -> Error {
    Error::InvalidParam { name, message }
}

impl ConsistencyParams {
    /// Checks ranges, naming the first problem.
    pub fn check(&self) -> Result<ValidConsistencyParams> {
        if !(0.5..=1.0).contains(&self.confidence) {
            return Err(invalid(
                "consistency.confidence",
                format!(
                    "{} is outside [0.5, 1] (max(p, 1 − p) is never below 0.5)",
                    self.confidence
                ),
            ));
        }
        if self.unlabelled_ratio == 0 {
            return Err(invalid(
                "consistency.unlabelled_ratio",
                "0; expected at least 1".into(),
            ));
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(invalid(
                "consistency.weight",
                format!("{}; expected a finite number ≥ 0", self.weight),
            ));
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return Err(invalid(
                "consistency.ema_decay",
                format!("{} is outside [0, 1)", self.ema_decay),
            ));
        }
        if self.keep_teacher && self.teacher != Teacher::MovingAverage {
            return Err(invalid(
                "consistency.keep_teacher",
                "true without a teacher to keep; set teacher = \"moving_average\"".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.adaptive_decay) {
            return Err(invalid(
                "consistency.adaptive_decay",
                format!("{} is outside [0, 1)", self.adaptive_decay),
            ));
        }
        Ok(ValidConsistencyParams {
            params: *self,
            weak: self.weak.check("consistency.weak")?,
            strong: self.strong.check("consistency.strong")?,
        })
    }
}

/// Targets and mask for the unlabelled loss, from the teacher's probabilities on the weak
/// views: where max(p, 1 − p) ≥ τ, the target is the class (hard) or p itself (soft) and
/// the mask 1; elsewhere target and mask are 0, so that patch adds nothing. With
/// `balance_classes`, only the `k` most confident of each class keep their mask, `k` the
/// smaller class's count.
pub fn confident_targets(probabilities: &[f32], params: &ConsistencyParams) -> (Vec<f32>, Vec<f32>) {
    targets_above(probabilities, [params.confidence; 2], params)
}

/// [`confident_targets`] with a threshold per predicted class: `[crater-free, crater]`.
pub(crate) fn targets_above(
    probabilities: &[f32],
    thresholds: [f64; 2],
    params: &ConsistencyParams,
) -> (Vec<f32>, Vec<f32>) {
    let confidence = |p: f32| f64::from(p.max(1.0 - p));
    let (targets, mut mask): (Vec<f32>, Vec<f32>) = probabilities
        .iter()
        .map(|&p| {
            let threshold = thresholds[usize::from(p >= 0.5)];
            match (confidence(p) >= threshold, params.hard_targets) {
                (false, _) => (0.0, 0.0),
                (true, true) => (f32::from(u8::from(p >= 0.5)), 1.0),
                (true, false) => (p, 1.0),
            }
        })
        .unzip();
    if params.balance_classes {
        let mut by_class: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        for (i, &p) in probabilities.iter().enumerate() {
            if mask[i] > 0.0 {
                by_class[usize::from(p >= 0.5)].push(i);
            }
        }
        let keep = by_class[0].len().min(by_class[1].len());
        for class in &mut by_class {
            // Most confident first; ties by index, so the choice is deterministic.
            class.sort_by(|&a, &b| {
                confidence(probabilities[b])
                    .total_cmp(&confidence(probabilities[a]))
                    .then(a.cmp(&b))
            });
            for &i in &class[keep..] {
                mask[i] = 0.0;
            }
        }
    }
    (targets, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confident_predictions_become_targets() {
        let fixmatch = ConsistencyParams::default();
        let (targets, mask) = confident_targets(&[0.01, 0.5, 0.97, 0.94, 0.04], &fixmatch);
        assert_eq!(mask, [1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(targets, [0.0, 0.0, 1.0, 0.0, 0.0]);
        let soft = ConsistencyParams {
            hard_targets: false,
            ..fixmatch
        };
        assert_eq!(confident_targets(&[0.97], &soft).0, [0.97]);
    }

    #[test]
    fn balancing_keeps_the_most_confident_of_each_class_alike() {
        let balanced = ConsistencyParams {
            balance_classes: true,
            ..ConsistencyParams::default()
        };
        let p = [0.99, 0.02, 0.999, 0.5, 0.96, 0.97];
        let (_, mask) = confident_targets(&p, &balanced);
        // One confident crater-free patch (0.02): one crater, the surest (0.999), with it.
        assert_eq!(mask, [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        // All of one class: nothing left.
        let (_, mask) = confident_targets(&[0.99, 0.98], &balanced);
        assert_eq!(mask, [0.0, 0.0]);
    }

    #[test]
    fn the_weight_ramps_up() {
        let p = ConsistencyParams {
            ramp_up_epochs: 4,
            weight: 2.0,
            ..ConsistencyParams::default()
        }
        .check()
        .unwrap();
        assert_eq!(p.weight_at(1), 0.5);
        assert_eq!(p.weight_at(4), 2.0);
        assert_eq!(p.weight_at(9), 2.0);
    }
}
