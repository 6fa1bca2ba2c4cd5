//! The training loop. Its pieces live beside it: [`config`] (what a run is asked to do),
//! [`history`] (per-epoch figures), [`early_stopping`], [`checkpoint`] (best model and
//! resumable state) and [`progress`] (how a run reports, without printing).

mod batches;
mod checkpoint;
mod config;
mod early_stopping;
mod history;
mod progress;
mod unlabelled;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, ModuleT, Tensor};
use craters_dataset::{ClassWeights, Dataset};
use craters_selftrain::ValidConsistencyParams;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use checkpoint::{BEST_DIR, Checkpointer, RESUME_FILE};
pub use config::{ClassWeighting, TrainConfig, ValidTrainConfig};
pub use early_stopping::{EarlyStopping, Verdict};
pub use history::{EpochRecord, History, Validation};
pub use unlabelled::{UnlabelledEpoch, consistency_loss};

use history::labels_of;
pub use progress::{ProgressSink, SharedProgress, Silent, epoch_line, silent};

use crate::error::{Error, Result};
use crate::model::CraterCnn;
use crate::network::bce_with_logits;
use crate::optim::Adam;
use batches::{BatchCycle, gather};
use checkpoint::{Restored, RunState};
use unlabelled::Unlabelled;

/// `weights` with `shift` added to the output layer's bias (the logit of every image).
fn shift_output_bias(weights: &[(String, Tensor)], shift: f32) -> Result<Vec<(String, Tensor)>> {
    weights
        .iter()
        .map(|(name, t)| {
            let t = if name == OUTPUT_BIAS && shift != 0.0 {
                (t + f64::from(shift))?
            } else {
                t.clone()
            };
            Ok((name.clone(), t))
        })
        .collect()
}

/// The output layer's bias, the one weight a prior correction moves.
const OUTPUT_BIAS: &str = "dense2.bias";

// Independent ChaCha streams of the run's seed, so that shuffling and dropout never share
// random numbers (stream 0 initialises the weights).
const DROPOUT_STREAM: u64 = 1;
const SHUFFLE_STREAM: u64 = 2;
const AUGMENT_STREAM: u64 = 3;
const UNLABELLED_SHUFFLE_STREAM: u64 = 4;
const UNLABELLED_AUGMENT_STREAM: u64 = 5;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All configured epochs ran.
    Completed,
    /// Early stopping's patience ran out.
    EarlyStopped,
    /// The epoch callback asked to stop.
    Interrupted,
}

/// What [`Trainer::fit`] returns; the model itself is updated in place.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Per-epoch figures, including epochs run before a resume.
    pub history: History,
    /// Wall-clock seconds of each epoch (training and validation), kept apart from the
    /// history so that the history is reproducible.
    pub epoch_seconds: Vec<f64>,
    /// The epoch with the lowest monitored loss, and that loss.
    pub best: Option<(usize, f64)>,
    /// Why it ended.
    pub stop: StopReason,
}

type EpochCallback<'a> = Box<dyn FnMut(&EpochRecord) -> ControlFlow<()> + 'a>;

/// Trains a [`CraterCnn`] with Adam and binary cross-entropy, as configured.
pub struct Trainer<'a> {
    config: ValidTrainConfig,
    checkpointer: Option<Checkpointer>,
    resume: bool,
    progress: SharedProgress,
    label: String,
    on_epoch_end: Option<EpochCallback<'a>>,
    unlabelled: Option<(&'a Dataset, ValidConsistencyParams)>,
}

impl<'a> Trainer<'a> {
    /// A trainer for a checked config ([`TrainConfig::check`]); it reports no progress
    /// unless given a receiver.
    pub fn new(config: ValidTrainConfig) -> Self {
        Trainer {
            config,
            checkpointer: None,
            resume: false,
            progress: silent(),
            label: "train".into(),
            on_epoch_end: None,
            unlabelled: None,
        }
    }

    /// Keeps checkpoints in `dir` (see [`Checkpointer`]).
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpointer = Some(Checkpointer::new(dir));
        self
    }

    /// Continues from the checkpoint directory's `last.safetensors` when there is one.
    /// The run must have the same config except `epochs`, which may grow.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Where to report progress (see [`ProgressSink`]); silent by default.
    pub fn progress(mut self, progress: SharedProgress) -> Self {
        self.progress = progress;
        self
    }

    /// Name shown in progress output (e.g. "stage 1").
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Called after each epoch (after checkpointing); `Break` ends the run there.
    pub fn on_epoch_end(mut self, callback: impl FnMut(&EpochRecord) -> ControlFlow<()> + 'a) -> Self {
        self.on_epoch_end = Some(Box::new(callback));
        self
    }

    /// Trains with consistency on `data` as well (FixMatch, or Mean Teacher's targets):
    /// each step adds μ unlabelled images per labelled one (see
    /// [`craters_selftrain::ConsistencyParams`]). Its labels, if any, are never trained on;
    /// they only measure the targets ([`UnlabelledEpoch::target_precision`]).
    pub fn unlabelled(mut self, data: &'a Dataset, params: ValidConsistencyParams) -> Self {
        self.unlabelled = Some((data, params));
        self
    }

    /// Trains `model` in place on `train` (labelled), each sample's loss multiplied by its
    /// class weight and by `sample_weights[i]` when given; evaluates on `validation` after
    /// every epoch.
    pub fn fit(
        &mut self,
        model: &CraterCnn,
        train: &Dataset,
        sample_weights: Option<&[f32]>,
        validation: Option<&Dataset>,
    ) -> Result<TrainOutcome> {
        let config: TrainConfig = (*self.config).clone();
        let labels = labels_of(train)?;
        model.check_input(train)?;
        if let Some(v) = validation {
            labels_of(v)?;
            model.check_input(v)?;
        }
        let weights = self.sample_weights(labels, sample_weights)?;
        let prior_shift = self.prior_shift(labels)?;
        let augment = match &config.augment {
            Some(a) => Some(a.check("augment")?),
            None => None,
        };
        if self.resume && self.unlabelled.is_some() {
            return Err(Error::InvalidConfig {
                field: "resume",
                value: "true".into(),
                expected: "a run without unlabelled data: consistency training starts afresh".into(),
            });
        }

        let mut adam = Adam::new(model.named_vars(), config.adam())?;
        let stream_rng = |stream: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            rng.set_stream(stream);
            rng
        };
        let mut shuffle_rng = stream_rng(SHUFFLE_STREAM);
        let mut dropout_rng = stream_rng(DROPOUT_STREAM);
        let mut augment_rng = stream_rng(AUGMENT_STREAM);
        let mut early = EarlyStopping::new(config.early_stopping_patience);
        let mut history = History::default();
        let mut epoch_seconds = Vec::new();
        let mut best_weights = Vec::new();
        let mut start = 0;

        if self.resume
            && let Some(checkpointer) = &self.checkpointer
            && let Some(restored) = checkpointer.restore(
                &config,
                model,
                &mut adam,
                [&mut shuffle_rng, &mut dropout_rng, &mut augment_rng],
            )?
        {
            Restored {
                epochs_done: start,
                early_stopping: early,
                history,
                epoch_seconds,
                best_weights,
            } = restored;
        }
        model.net().set_dropout_rng(dropout_rng);

        let n = train.len();
        let side = model.config().input_size;
        let per_image = side * side;
        let mut unlabelled = match self.unlabelled {
            Some((data, params)) => {
                let rngs = [UNLABELLED_SHUFFLE_STREAM, UNLABELLED_AUGMENT_STREAM].map(stream_rng);
                let craters = labels.iter().filter(|&&y| y == 1).count();
                let share = craters as f64 / labels.len().max(1) as f64;
                Some(Unlabelled::new(data, params, model, share, rngs)?)
            }
            None => None,
        };
        // Each epoch passes over the labelled set once, or as many times as it takes to
        // pass over the unlabelled set once at μ unlabelled images per labelled one.
        let batches = unlabelled
            .as_ref()
            .map_or(0, |u| u.steps(config.batch_size))
            .max(n.div_ceil(config.batch_size));
        let mut stop = StopReason::Completed;
        if early.exhausted() {
            stop = StopReason::EarlyStopped;
        }
        let mut cycle = BatchCycle::new(n);
        let mut epoch = start;
        let progress = &self.progress;
        progress.stage_started(&self.label, config.epochs, start, batches);
        let mut pixels = Vec::with_capacity(config.batch_size.min(n) * per_image);
        while stop == StopReason::Completed && epoch < config.epochs {
            epoch += 1;
            let started = Instant::now();
            cycle.restart();
            let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
            for b in 0..batches {
                let batch = cycle.batch(config.batch_size, &mut shuffle_rng);
                gather(train.pixels(), per_image, batch, &mut pixels);
                if let Some(augment) = &augment {
                    augment.apply(&mut pixels, side, &mut augment_rng);
                }
                let xs = Tensor::from_slice(&pixels, (batch.len(), 1, side, side), &Device::Cpu)?;
                let batch_labels: Vec<f32> = batch.iter().map(|&i| f32::from(labels[i])).collect();
                let ys = Tensor::from_vec(batch_labels.clone(), batch.len(), &Device::Cpu)?;
                let ws = match &weights {
                    Some(w) => Some(Tensor::from_vec(
                        batch.iter().map(|&i| w[i]).collect::<Vec<f32>>(),
                        batch.len(),
                        &Device::Cpu,
                    )?),
                    None => None,
                };
                let size = batch.len();
                let logits = model.net().forward_t(&xs, true)?;
                let loss = bce_with_logits(&logits, &ys, ws.as_ref())?;
                let value = f64::from(loss.to_scalar::<f32>()?);
                if !value.is_finite() {
                    return Err(Error::NonFiniteLoss {
                        epoch,
                        batch: b + 1,
                        loss: value,
                    });
                }
                let mut total = loss;
                if let Some(u) = &mut unlabelled {
                    let weight = u.params.weight_at(epoch);
                    if let Some(term) = u.loss(model, config.batch_size)?
                        && weight > 0.0
                    {
                        total = (total + (term * weight)?)?;
                    }
                }
                adam.step(&total.backward()?)?;
                if let Some(u) = &unlabelled {
                    u.update_teacher(model)?;
                }
                loss_sum += value * size as f64;
                seen += size;
                correct += logits
                    .to_vec1::<f32>()?
                    .iter()
                    .zip(&batch_labels)
                    .filter(|&(&z, &y)| (z >= 0.0) == (y == 1.0))
                    .count();
                progress.batch_done(epoch, config.epochs, loss_sum / seen as f64);
            }
            // The network this run keeps: the model, or Mean Teacher's moving average.
            let kept = unlabelled
                .as_ref()
                .and_then(Unlabelled::kept_teacher)
                .unwrap_or(model);
            let validated = validation
                .map(|v| Validation::measure_shifted(kept, v, prior_shift))
                .transpose()?;
            let loss = loss_sum / seen as f64;
            let verdict = early.update(epoch, validated.as_ref().map_or(loss, |v| v.loss));
            if verdict.improved {
                best_weights = kept.weights()?;
            }
            let record = EpochRecord {
                epoch,
                loss,
                accuracy: correct as f64 / seen as f64,
                validation: validated,
                unlabelled: unlabelled.as_mut().map(Unlabelled::finish_epoch),
            };
            let seconds = started.elapsed().as_secs_f64();
            progress.epoch_done(&self.label, config.epochs, &record, seconds);
            history.epochs.push(record);
            epoch_seconds.push(seconds);
            if let Some(checkpointer) = &self.checkpointer {
                if verdict.improved {
                    checkpointer.save_best(model, &shift_output_bias(&best_weights, prior_shift)?)?;
                }
                let state = RunState {
                    config: config.clone(),
                    epochs_done: epoch,
                    adam_step: adam.state()?.step,
                    shuffle_rng_word: shuffle_rng.get_word_pos().to_string(),
                    dropout_rng_word: model.net().dropout_rng().get_word_pos().to_string(),
                    augment_rng_word: augment_rng.get_word_pos().to_string(),
                    early_stopping: early.clone(),
                    history: history.clone(),
                    epoch_seconds: epoch_seconds.clone(),
                };
                checkpointer.save_state(&state, model, &adam.state()?, &best_weights)?;
            }
            if verdict.stop {
                stop = StopReason::EarlyStopped;
            } else if let Some(callback) = &mut self.on_epoch_end
                && callback(history.epochs.last().expect("just pushed")).is_break()
            {
                stop = StopReason::Interrupted;
            }
        }
        progress.stage_finished(&self.label);
        if let Some(teacher) = unlabelled.as_ref().and_then(Unlabelled::kept_teacher) {
            // The teacher's last weights, unless the best epoch's are restored below.
            let last: HashMap<String, Tensor> = teacher.weights()?.into_iter().collect();
            model.set_weights(&last, "", Path::new("the moving-average teacher"))?;
        }
        if config.restore_best && stop != StopReason::Interrupted && !best_weights.is_empty() {
            let restored: HashMap<String, Tensor> = best_weights.into_iter().collect();
            model.set_weights(&restored, "", Path::new("best weights in memory"))?;
        }
        if prior_shift != 0.0 {
            let shifted: HashMap<String, Tensor> = shift_output_bias(&model.weights()?, prior_shift)?
                .into_iter()
                .collect();
            model.set_weights(&shifted, "", Path::new("prior-corrected weights"))?;
        }
        Ok(TrainOutcome {
            history,
            epoch_seconds,
            best: early.best(),
            stop,
        })
    }

    /// log(w₀ / w₁) of the class weights when `prior_correction` is on, else 0.
    fn prior_shift(&self, labels: &[u8]) -> Result<f32> {
        if !self.config.prior_correction {
            return Ok(0.0);
        }
        Ok(self
            .class_weights(labels)?
            .map_or(0.0, |w| (w.weight(0) / w.weight(1)).ln() as f32))
    }

    /// The configured class weights for a training set with these labels, if any.
    fn class_weights(&self, labels: &[u8]) -> Result<Option<ClassWeights>> {
        Ok(match self.config.class_weights {
            ClassWeighting::None => None,
            ClassWeighting::Balanced => Some(ClassWeights::balanced(labels)?),
            ClassWeighting::Explicit { negative, positive } => {
                Some(ClassWeights::explicit(negative, positive)?)
            }
        })
    }

    fn sample_weights(&self, labels: &[u8], given: Option<&[f32]>) -> Result<Option<Vec<f32>>> {
        let class = self.class_weights(labels)?;
        if let Some(given) = given {
            if given.len() != labels.len() {
                return Err(Error::InvalidConfig {
                    field: "sample_weights",
                    value: format!("{} weights", given.len()),
                    expected: format!("one per training image ({})", labels.len()),
                });
            }
            if let Some(i) = given.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
                return Err(Error::InvalidConfig {
                    field: "sample_weights",
                    value: format!("{} at index {i}", given[i]),
                    expected: "finite and ≥ 0".into(),
                });
            }
        }
        if class.is_none() && given.is_none() {
            return Ok(None);
        }
        Ok(Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, &y)| {
                    let c = class.as_ref().map_or(1.0, |c| c.weight(y) as f32);
                    c * given.map_or(1.0, |g| g[i])
                })
                .collect(),
        ))
    }
}
