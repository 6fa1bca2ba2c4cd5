//! The targets of consistency training step by step, where they depend on what the model
//! predicted before: distribution alignment and self-adaptive thresholds keep moving
//! averages of the teacher's predictions on the unlabelled views.
//!
//! Why: with few labels the model first calls most patches craters (the class it sees
//! most), and FixMatch's fixed τ then hands it almost only crater targets, which confirm
//! the bias (measured on the default data at 10% labels: for tens of epochs nearly every
//! confident target says crater). Both methods here push back against that drift.

use crate::consistency::{ConsistencyParams, Threshold, ValidConsistencyParams, targets_above};

/// Targets for the unlabelled loss of one batch ([`TargetPicker::pick`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// The target per patch (0 where masked).
    pub targets: Vec<f32>,
    /// 1 where the patch counts, 0 where it adds nothing.
    pub mask: Vec<f32>,
    /// The teacher's crater probability after distribution alignment (the input
    /// unchanged without it): what the class of a target was decided on.
    pub aligned: Vec<f32>,
}

/// Picks the confident targets of each unlabelled batch, keeping the moving averages
/// that distribution alignment and self-adaptive thresholds need. With neither, it is
/// [`confident_targets`](crate::confident_targets) and keeps no state.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPicker {
    params: ConsistencyParams,
    /// Crater share of the labelled training set, the distribution aligned to.
    prior: f64,
    /// Moving mean of the teacher's crater probability (before alignment); `None` until
    /// the first batch.
    mean_crater: Option<f64>,
    /// FreeMatch's global threshold: moving mean of max(p, 1 − p), starting at 1/2.
    global: f64,
    /// FreeMatch's class means: moving mean of [1 − p, p], starting at [1/2, 1/2].
    class_mean: [f64; 2],
}

impl TargetPicker {
    /// A picker for `params`; `labelled_crater_share` is the share of craters among the
    /// labelled training patches (clamped into [0.01, 0.99], so the alignment stays finite).
    pub fn new(params: &ValidConsistencyParams, labelled_crater_share: f64) -> Self {
        TargetPicker {
            params: *params.params(),
            prior: labelled_crater_share.clamp(0.01, 0.99),
            mean_crater: None,
            global: 0.5,
            class_mean: [0.5, 0.5],
        }
    }

    /// The thresholds the last batch was masked with, `[crater-free, crater]`.
    pub fn thresholds(&self) -> [f64; 2] {
        match self.params.threshold {
            Threshold::Fixed => [self.params.confidence; 2],
            Threshold::SelfAdaptive => {
                let top = self.class_mean[0].max(self.class_mean[1]);
                self.class_mean.map(|m| self.global * m / top)
            }
        }
    }

    /// Targets and mask for a batch of the teacher's crater probabilities on weak views;
    /// updates the moving averages with this batch first (as FreeMatch does).
    pub fn pick(&mut self, probabilities: &[f32]) -> Targets {
        let decay = self.params.adaptive_decay;
        let aligned = if self.params.distribution_alignment && !probabilities.is_empty() {
            let mean = mean(probabilities.iter().map(|&p| f64::from(p)));
            let running = match self.mean_crater {
                Some(m) => decay * m + (1.0 - decay) * mean,
                None => mean,
            }
            .clamp(1e-3, 1.0 - 1e-3);
            self.mean_crater = Some(running);
            let (up, down) = (self.prior / running, (1.0 - self.prior) / (1.0 - running));
            probabilities
                .iter()
                .map(|&p| {
                    let (crater, free) = (f64::from(p) * up, f64::from(1.0 - p) * down);
                    (crater / (crater + free)) as f32
                })
                .collect()
        } else {
            probabilities.to_vec()
        };
        if self.params.threshold == Threshold::SelfAdaptive && !aligned.is_empty() {
            let confidence = mean(aligned.iter().map(|&p| f64::from(p.max(1.0 - p))));
            let crater = mean(aligned.iter().map(|&p| f64::from(p)));
            self.global = decay * self.global + (1.0 - decay) * confidence;
            for (m, batch) in self.class_mean.iter_mut().zip([1.0 - crater, crater]) {
                *m = decay * *m + (1.0 - decay) * batch;
            }
        }
        let (targets, mask) = targets_above(&aligned, self.thresholds(), &self.params);
        Targets {
            targets,
            mask,
            aligned,
        }
    }
}

/// Mean of a non-empty sequence, summed in order (so it is the same on every run).
fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len().max(1) as f64;
    values.sum::<f64>() / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confident_targets;

    fn picker(params: ConsistencyParams, prior: f64) -> TargetPicker {
        TargetPicker::new(&params.check().unwrap(), prior)
    }

    #[test]
    fn without_adaptation_it_is_fixmatch() {
        let fixmatch = ConsistencyParams::default();
        let mut pick = picker(fixmatch, 0.6);
        let p = [0.01, 0.5, 0.97, 0.94, 0.04];
        for _ in 0..3 {
            let t = pick.pick(&p);
            assert_eq!((t.targets, t.mask), confident_targets(&p, &fixmatch));
            assert_eq!(t.aligned, p);
        }
        assert_eq!(pick.thresholds(), [0.95, 0.95]);
    }

    #[test]
    fn alignment_moves_a_biased_teacher_back_to_the_labelled_share() {
        let params = ConsistencyParams {
            distribution_alignment: true,
            ..ConsistencyParams::default()
        };
        // The teacher says 0.9 everywhere; the labels hold half craters: aligned, a
        // patch at the teacher's own mean is a coin toss, so nothing is confident.
        let mut pick = picker(params, 0.5);
        let t = pick.pick(&[0.9; 8]);
        for a in &t.aligned {
            assert!((a - 0.5).abs() < 1e-6, "{a}");
        }
        assert_eq!(t.mask, [0.0; 8]);
        // Patches far under the teacher's mean become confident crater-free targets,
        // far over it craters.
        let t = pick.pick(&[0.2, 0.999, 0.9, 0.9]);
        assert_eq!(t.mask, [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(t.targets, [0.0, 1.0, 0.0, 0.0]);
        // An unbiased teacher is left (nearly) alone.
        let mut fair = picker(params, 0.5);
        let t = fair.pick(&[0.2, 0.8]);
        assert!((t.aligned[0] - 0.2).abs() < 1e-6 && (t.aligned[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn self_adaptive_thresholds_ask_more_of_the_favoured_class() {
        let params = ConsistencyParams {
            threshold: Threshold::SelfAdaptive,
            adaptive_decay: 0.5,
            ..ConsistencyParams::default()
        };
        let mut pick = picker(params, 0.5);
        assert_eq!(pick.thresholds(), [0.5, 0.5]);
        // Three of four predictions say crater, all with confidence 0.9.
        let p = [0.9, 0.9, 0.9, 0.1];
        let t = pick.pick(&p);
        // global 0.5·0.5 + 0.5·0.9 = 0.7; class means 0.5·0.5 + 0.5·[0.3, 0.7] = [0.4, 0.6].
        let [free, crater] = pick.thresholds();
        assert!((crater - 0.7).abs() < 1e-6 && (free - 0.7 * 0.4 / 0.6).abs() < 1e-6);
        assert_eq!(t.mask, [1.0; 4]);
        // The global threshold climbs with the model's confidence, the crater one fastest.
        for _ in 0..20 {
            pick.pick(&p);
        }
        let [free, crater] = pick.thresholds();
        assert!(crater > 0.89 && free < crater * 0.45, "{free} {crater}");
        assert_eq!(pick.pick(&[0.88, 0.12]).mask, [0.0, 1.0]);
    }

    #[test]
    fn the_same_batches_give_the_same_targets() {
        let params = ConsistencyParams {
            threshold: Threshold::SelfAdaptive,
            distribution_alignment: true,
            ..ConsistencyParams::default()
        };
        let batches: Vec<Vec<f32>> = (0..50)
            .map(|b| (0..16).map(|i| ((b * 7 + i * 13) % 100) as f32 / 100.0).collect())
            .collect();
        let run = || {
            let mut pick = picker(params, 0.64);
            batches.iter().map(|b| pick.pick(b)).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
