//! The unlabelled half of a consistency-training step (FixMatch, or Mean Teacher's
//! moving-average targets): targets from the teacher on weak views, a masked loss on the
//! model's output for strong views of the same patches.

use candle_core::{Device, ModuleT, Tensor};
use craters_dataset::Dataset;
use craters_selftrain::{TargetPicker, Teacher, ValidConsistencyParams};
use rand_chacha::ChaCha8Rng;

use super::batches::{BatchCycle, gather};
use crate::error::Result;
use crate::model::{CraterCnn, sigmoid};
use crate::network::bce_with_logits;

/// The consistency loss: binary cross-entropy of `logits` against `targets`, each patch
/// weighted by its mask and averaged over all patches (masked ones included, as FixMatch),
/// so that a batch where nothing is confident contributes exactly nothing.
pub fn consistency_loss(logits: &Tensor, targets: &[f32], mask: &[f32]) -> candle_core::Result<Tensor> {
    let n = targets.len();
    let ys = Tensor::from_slice(targets, n, logits.device())?;
    let ws = Tensor::from_slice(mask, n, logits.device())?;
    bce_with_logits(logits, &ys, Some(&ws))
}

/// What the unlabelled patches did over one epoch.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnlabelledEpoch {
    /// Unlabelled patches seen (with repeats when the set is passed more than once).
    pub seen: usize,
    /// Share of them whose weak-view prediction was confident enough to be a target.
    pub confident_share: f64,
    /// Share of those targets that say crater.
    pub crater_share: f64,
    /// Mean consistency loss per unlabelled patch (before λ).
    pub loss: f64,
    /// Share of the confident targets that match the set's hidden labels, when it has
    /// them (never used in training: it tells how good the pseudo-labels were).
    pub target_precision: Option<f64>,
    /// The confidence thresholds at the end of the epoch, `[crater-free, crater]`
    /// (moving with `threshold = "self_adaptive"`).
    #[serde(default)]
    pub thresholds: [f64; 2],
}

/// The unlabelled set with its method, order and teacher.
pub(super) struct Unlabelled<'d> {
    pub(super) data: &'d Dataset,
    pub(super) params: ValidConsistencyParams,
    pub(super) cycle: BatchCycle,
    // Their own random streams, so that the labelled batches, their augmentation and the
    // dropout draws are the same with or without an unlabelled set.
    shuffle_rng: ChaCha8Rng,
    augment_rng: ChaCha8Rng,
    /// The moving-average teacher (Mean Teacher), absent for FixMatch.
    teacher: Option<CraterCnn>,
    picker: TargetPicker,
    weak: Vec<f32>,
    strong: Vec<f32>,
    // Running sums of the epoch.
    seen: usize,
    confident: usize,
    craters: usize,
    correct: usize,
    loss_sum: f64,
}

impl<'d> Unlabelled<'d> {
    pub(super) fn new(
        data: &'d Dataset,
        params: ValidConsistencyParams,
        model: &CraterCnn,
        labelled_crater_share: f64,
        [shuffle_rng, augment_rng]: [ChaCha8Rng; 2],
    ) -> Result<Self> {
        model.check_input(data)?;
        let teacher = match params.params().teacher {
            Teacher::Model => None,
            Teacher::MovingAverage => {
                let teacher = CraterCnn::new(model.config(), 0)?;
                teacher.set_weights(
                    &model.weights()?.into_iter().collect(),
                    "",
                    std::path::Path::new("the model being trained"),
                )?;
                Some(teacher)
            }
        };
        Ok(Unlabelled {
            data,
            params,
            cycle: BatchCycle::new(data.len()),
            shuffle_rng,
            augment_rng,
            teacher,
            picker: TargetPicker::new(&params, labelled_crater_share),
            weak: Vec::new(),
            strong: Vec::new(),
            seen: 0,
            confident: 0,
            craters: 0,
            correct: 0,
            loss_sum: 0.0,
        })
    }

    /// Steps per epoch this set asks for, at `batch` labelled images per step.
    pub(super) fn steps(&self, batch: usize) -> usize {
        self.data
            .len()
            .div_ceil(batch * self.params.params().unlabelled_ratio)
    }

    /// The next unlabelled batch's loss term, or `None` when no patch in it is confident
    /// (then no strong view is run, and the step is the labelled loss alone).
    pub(super) fn loss(&mut self, model: &CraterCnn, batch_size: usize) -> Result<Option<Tensor>> {
        let side = model.config().input_size;
        let per_image = side * side;
        let p = *self.params.params();
        let batch = self
            .cycle
            .batch(batch_size * p.unlabelled_ratio, &mut self.shuffle_rng)
            .to_vec();
        gather(self.data.pixels(), per_image, &batch, &mut self.weak);
        self.strong.clone_from(&self.weak);
        self.params
            .weak()
            .apply(&mut self.weak, side, &mut self.augment_rng);
        self.params
            .strong()
            .apply(&mut self.strong, side, &mut self.augment_rng);
        let teacher = self.teacher.as_ref().unwrap_or(model);
        let probabilities: Vec<f32> = teacher.logits(&self.weak)?.into_iter().map(sigmoid).collect();
        let picked = self.picker.pick(&probabilities);
        let (targets, mask) = (&picked.targets, &picked.mask);
        let says_crater = |k: usize| picked.aligned[k] >= 0.5;
        self.seen += batch.len();
        let confident: Vec<usize> = (0..batch.len()).filter(|&k| mask[k] > 0.0).collect();
        self.confident += confident.len();
        self.craters += confident.iter().filter(|&&k| says_crater(k)).count();
        if let Some(hidden) = self.data.labels() {
            self.correct += confident
                .iter()
                .filter(|&&k| says_crater(k) == (hidden[batch[k]] == 1))
                .count();
        }
        if confident.is_empty() {
            return Ok(None);
        }
        let xs = Tensor::from_slice(&self.strong, (batch.len(), 1, side, side), &Device::Cpu)?;
        let logits = model.net().forward_t(&xs, true)?;
        let loss = consistency_loss(&logits, targets, mask)?;
        self.loss_sum += f64::from(loss.to_scalar::<f32>()?) * batch.len() as f64;
        Ok(Some(loss))
    }

    /// The moving-average teacher when it, not the model, is the network the run keeps
    /// (`keep_teacher`).
    pub(super) fn kept_teacher(&self) -> Option<&CraterCnn> {
        self.teacher
            .as_ref()
            .filter(|_| self.params.params().keep_teacher)
    }

    /// Moves the moving-average teacher towards the model after an optimiser step.
    pub(super) fn update_teacher(&self, model: &CraterCnn) -> Result<()> {
        let Some(teacher) = &self.teacher else {
            return Ok(());
        };
        let decay = self.params.params().ema_decay;
        for ((_, t), (_, m)) in teacher.named_vars().iter().zip(model.named_vars()) {
            t.set(&((t.as_tensor() * decay)? + (m.as_tensor() * (1.0 - decay))?)?)?;
        }
        Ok(())
    }

    /// The epoch's figures, and a fresh start for the next.
    pub(super) fn finish_epoch(&mut self) -> UnlabelledEpoch {
        let record = UnlabelledEpoch {
            seen: self.seen,
            confident_share: self.confident as f64 / self.seen.max(1) as f64,
            crater_share: self.craters as f64 / self.confident.max(1) as f64,
            loss: self.loss_sum / self.seen.max(1) as f64,
            target_precision: (self.data.labels().is_some() && self.confident > 0)
                .then(|| self.correct as f64 / self.confident as f64),
            thresholds: self.picker.thresholds(),
        };
        (
            self.seen,
            self.confident,
            self.craters,
            self.correct,
            self.loss_sum,
        ) = (0, 0, 0, 0, 0.0);
        self.cycle.restart();
        record
    }
}
