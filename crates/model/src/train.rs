//! The training loop: config, history, early stopping, checkpoints, resuming.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, ModuleT, Tensor};
use craters_dataset::{ClassWeights, Dataset, shuffle, write_atomic};
use craters_metrics::ConfusionMatrix;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::model::{CraterCnn, read_tensors, save_model, write_tensors};
use crate::network::bce_with_logits;
use crate::optim::{Adam, AdamConfig, AdamState};

/// Folder of a checkpoint directory that holds the best model so far (a model folder).
pub const BEST_DIR: &str = "best";
/// File of a checkpoint directory from which an interrupted run resumes.
pub const RESUME_FILE: &str = "last.safetensors";

// Independent ChaCha streams of the run's seed, so that shuffling and dropout never share
// random numbers (stream 0 initialises the weights).
const DROPOUT_STREAM: u64 = 1;
const SHUFFLE_STREAM: u64 = 2;
const STATE_KEY: &str = "craters.train_state";

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
    /// Seed of the shuffling and dropout RNGs. Default 0.
    pub seed: u64,
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
        }
    }
}

impl TrainConfig {
    /// Checks every value, naming the first one out of range.
    pub fn check(&self) -> Result<()> {
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
        Ok(())
    }

    fn adam(&self) -> AdamConfig {
        AdamConfig {
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        }
    }
}

/// One epoch's figures (Keras' names: `loss`, `accuracy`, `val_*`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (with dropout, as Keras reports it).
    pub loss: f64,
    /// Training accuracy of the same forward passes.
    pub accuracy: f64,
    /// Figures on the validation set after the epoch, if there is one.
    pub validation: Option<Validation>,
}

/// Figures of a model on a labelled set, at threshold 0.5.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Validation {
    /// Mean binary cross-entropy.
    pub loss: f64,
    /// Share of correct predictions.
    pub accuracy: f64,
    /// Precision of class 1.
    pub precision: f64,
    /// Recall of class 1.
    pub recall: f64,
    /// F1 of class 1.
    pub f1: f64,
    /// Counts.
    pub confusion: ConfusionMatrix,
}

impl Validation {
    /// Evaluates `model` on the labelled `data` (no dropout).
    pub fn measure(model: &CraterCnn, data: &Dataset) -> Result<Validation> {
        let labels = labels_of(data)?;
        model.check_input(data)?;
        let logits = model.logits(data.pixels())?;
        let loss = logits
            .iter()
            .zip(labels)
            .map(|(&z, &y)| bce_one(f64::from(z), y))
            .sum::<f64>()
            / logits.len() as f64;
        let predicted: Vec<u8> = logits.iter().map(|&z| u8::from(z >= 0.0)).collect();
        let confusion = ConfusionMatrix::from_predictions(labels, &predicted)?;
        Ok(Validation {
            loss,
            accuracy: confusion.accuracy(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            confusion,
        })
    }
}

/// Per-epoch records of a run, in order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// One record per finished epoch.
    pub epochs: Vec<EpochRecord>,
}

impl History {
    /// Columns of [`History::to_csv`], as Keras' `CSVLogger` names them.
    pub const CSV_HEADER: &'static str =
        "epoch,loss,accuracy,val_loss,val_accuracy,val_precision,val_recall,val_f1";

    /// The history as CSV with [`History::CSV_HEADER`]; validation cells are empty when the
    /// run had no validation set.
    pub fn to_csv(&self) -> String {
        let mut out = format!("{}\n", Self::CSV_HEADER);
        for r in &self.epochs {
            out.push_str(&format!("{},{},{}", r.epoch, r.loss, r.accuracy));
            match &r.validation {
                Some(v) => out.push_str(&format!(
                    ",{},{},{},{},{}\n",
                    v.loss, v.accuracy, v.precision, v.recall, v.f1
                )),
                None => out.push_str(",,,,,\n"),
            }
        }
        out
    }

    /// Writes [`History::to_csv`] to `path` through a temporary file.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        Ok(write_atomic(path, self.to_csv().as_bytes())?)
    }
}

/// Keras' `EarlyStopping` and `ModelCheckpoint(save_best_only)` bookkeeping: the lowest
/// monitored loss so far and how many epochs have passed without beating it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EarlyStopping {
    patience: Option<usize>,
    best: Option<(usize, f64)>,
    wait: usize,
}

/// What [`EarlyStopping::update`] decided about an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The epoch beat every earlier one.
    pub improved: bool,
    /// Patience ran out.
    pub stop: bool,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement; `None` never stops.
    pub fn new(patience: Option<usize>) -> Self {
        EarlyStopping {
            patience,
            best: None,
            wait: 0,
        }
    }

    /// Records the monitored loss of `epoch`.
    pub fn update(&mut self, epoch: usize, loss: f64) -> Verdict {
        let improved = self.best.is_none_or(|(_, best)| loss < best);
        if improved {
            self.best = Some((epoch, loss));
            self.wait = 0;
        } else {
            self.wait += 1;
        }
        Verdict {
            improved,
            stop: self.patience.is_some_and(|p| self.wait >= p),
        }
    }

    /// The best epoch and its loss.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}

/// Where a checkpointed run keeps its files: `best/` (a model folder, rewritten whenever
/// the monitored loss improves) and `last.safetensors` (everything needed to resume:
/// weights, Adam moments, RNG positions, history, best weights; rewritten every epoch).
/// Each file is written to a temporary name and renamed, so an interruption leaves the
/// previous version intact.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    dir: PathBuf,
}

/// The run state saved in the metadata of `last.safetensors`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RunState {
    config: TrainConfig,
    epochs_done: usize,
    adam_step: u64,
    // u128 word positions, as decimal strings: JSON numbers cannot hold them exactly.
    shuffle_rng_word: String,
    dropout_rng_word: String,
    early_stopping: EarlyStopping,
    history: History,
    epoch_seconds: Vec<f64>,
}

struct Resumed {
    state: RunState,
    weights: HashMap<String, Tensor>,
}

impl Checkpointer {
    /// Checkpoints into `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Checkpointer { dir: dir.into() }
    }

    /// The best model so far, as a model folder.
    pub fn best_dir(&self) -> PathBuf {
        self.dir.join(BEST_DIR)
    }

    /// The file a run resumes from.
    pub fn resume_file(&self) -> PathBuf {
        self.dir.join(RESUME_FILE)
    }

    fn save_best(&self, model: &CraterCnn, weights: &[(String, Tensor)]) -> Result<()> {
        save_model(&self.best_dir(), model.config(), weights)
    }

    fn save_state(
        &self,
        state: &RunState,
        model: &CraterCnn,
        adam: &AdamState,
        best: &[(String, Tensor)],
    ) -> Result<()> {
        let mut tensors = Vec::new();
        for (name, t) in model.weights()? {
            tensors.push((format!("weights.{name}"), t));
        }
        for (name, m, v) in &adam.moments {
            tensors.push((format!("adam_m.{name}"), m.clone()));
            tensors.push((format!("adam_v.{name}"), v.clone()));
        }
        for (name, t) in best {
            tensors.push((format!("best.{name}"), t.clone()));
        }
        let json = serde_json::to_string(state).expect("a run state always serialises");
        write_tensors(
            &self.resume_file(),
            &tensors,
            Some(HashMap::from([(STATE_KEY.to_string(), json)])),
        )
    }

    fn load_state(&self) -> Result<Option<Resumed>> {
        let path = self.resume_file();
        if !path.exists() {
            return Ok(None);
        }
        let (weights, metadata) = read_tensors(&path)?;
        let bad = |message: String| Error::Checkpoint {
            path: path.clone(),
            message,
        };
        let json = metadata
            .get(STATE_KEY)
            .ok_or_else(|| bad(format!("no {STATE_KEY} metadata; not a training checkpoint")))?;
        let state: RunState =
            serde_json::from_str(json).map_err(|e| bad(format!("unreadable run state: {e}")))?;
        Ok(Some(Resumed { state, weights }))
    }
}

/// How a run reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A bar when stderr is a terminal, one line per epoch otherwise.
    #[default]
    Auto,
    /// One bar per run (stage) with epoch, loss and ETA, above it one line per epoch.
    Bar,
    /// One line per epoch on stderr.
    Lines,
    /// Nothing.
    Silent,
}

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
    config: TrainConfig,
    checkpointer: Option<Checkpointer>,
    resume: bool,
    progress: Progress,
    label: String,
    on_epoch_end: Option<EpochCallback<'a>>,
}

impl<'a> Trainer<'a> {
    /// A trainer for `config`, checked.
    pub fn new(config: TrainConfig) -> Result<Self> {
        config.check()?;
        Ok(Trainer {
            config,
            checkpointer: None,
            resume: false,
            progress: Progress::Auto,
            label: "train".into(),
            on_epoch_end: None,
        })
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

    /// How to report progress.
    pub fn progress(mut self, progress: Progress) -> Self {
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
        let config = self.config.clone();
        let labels = labels_of(train)?;
        model.check_input(train)?;
        if let Some(v) = validation {
            labels_of(v)?;
            model.check_input(v)?;
        }
        let weights = self.sample_weights(labels, sample_weights)?;

        let mut adam = Adam::new(model.named_vars(), config.adam())?;
        let mut shuffle_rng = ChaCha8Rng::seed_from_u64(config.seed);
        shuffle_rng.set_stream(SHUFFLE_STREAM);
        let mut dropout_rng = ChaCha8Rng::seed_from_u64(config.seed);
        dropout_rng.set_stream(DROPOUT_STREAM);
        let mut early = EarlyStopping::new(config.early_stopping_patience);
        let mut history = History::default();
        let mut epoch_seconds = Vec::new();
        let mut best_weights = Vec::new();
        let mut start = 0;

        if self.resume
            && let Some(checkpointer) = &self.checkpointer
            && let Some(resumed) = checkpointer.load_state()?
        {
            let path = checkpointer.resume_file();
            let state = resumed.state;
            let same_run = TrainConfig {
                epochs: config.epochs,
                ..state.config.clone()
            };
            if same_run != config {
                return Err(Error::Checkpoint {
                    path,
                    message:
                        "saved by a run with another training config; only `epochs` may change when resuming"
                            .into(),
                });
            }
            model.set_weights(&resumed.weights, "weights.", &path)?;
            let moments = model
                .named_vars()
                .into_iter()
                .map(|(name, _)| {
                    let get = |kind: &str| {
                        resumed
                            .weights
                            .get(&format!("{kind}.{name}"))
                            .cloned()
                            .ok_or_else(|| Error::Checkpoint {
                                path: path.clone(),
                                message: format!("no tensor {kind}.{name}"),
                            })
                    };
                    Ok((name.clone(), get("adam_m")?, get("adam_v")?))
                })
                .collect::<Result<_>>()?;
            adam.load_state(
                &AdamState {
                    step: state.adam_step,
                    moments,
                },
                &path,
            )?;
            let word = |text: &str| {
                text.parse::<u128>().map_err(|_| Error::Checkpoint {
                    path: path.clone(),
                    message: format!("RNG position {text:?} is not a number"),
                })
            };
            shuffle_rng.set_word_pos(word(&state.shuffle_rng_word)?);
            dropout_rng.set_word_pos(word(&state.dropout_rng_word)?);
            if state.early_stopping.best.is_some() {
                best_weights = model
                    .named_vars()
                    .into_iter()
                    .map(|(name, _)| {
                        let key = format!("best.{name}");
                        let t = resumed
                            .weights
                            .get(&key)
                            .cloned()
                            .ok_or_else(|| Error::Checkpoint {
                                path: path.clone(),
                                message: format!("no tensor {key}"),
                            })?;
                        Ok((name, t))
                    })
                    .collect::<Result<_>>()?;
            }
            early = EarlyStopping {
                patience: config.early_stopping_patience,
                ..state.early_stopping
            };
            start = state.epochs_done;
            history = state.history;
            epoch_seconds = state.epoch_seconds;
        }
        model.net().set_dropout_rng(dropout_rng);

        let n = train.len();
        let side = model.config().input_size;
        let per_image = side * side;
        let batches = n.div_ceil(config.batch_size);
        let mode = match self.progress {
            Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
            Progress::Auto => Progress::Lines,
            other => other,
        };
        let mut stop = StopReason::Completed;
        if early.best.is_some() && early.patience.is_some_and(|p| early.wait >= p) {
            stop = StopReason::EarlyStopped;
        }
        let mut order: Vec<usize> = (0..n).collect();
        let mut epoch = start;
        // One bar for the whole stage: its ETA is the stage's.
        let bar = (mode == Progress::Bar)
            .then(|| stage_bar(&self.label, config.epochs.saturating_sub(start) * batches));
        while stop == StopReason::Completed && epoch < config.epochs {
            epoch += 1;
            let started = Instant::now();
            order.sort_unstable();
            shuffle(&mut order, &mut shuffle_rng);
            let (mut loss_sum, mut correct) = (0.0f64, 0usize);
            let mut pixels = Vec::with_capacity(config.batch_size * per_image);
            for (b, batch) in order.chunks(config.batch_size).enumerate() {
                pixels.clear();
                for &i in batch {
                    pixels.extend_from_slice(&train.pixels()[i * per_image..(i + 1) * per_image]);
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
                adam.step(&loss.backward()?)?;
                loss_sum += value * batch.len() as f64;
                correct += logits
                    .to_vec1::<f32>()?
                    .iter()
                    .zip(&batch_labels)
                    .filter(|&(&z, &y)| (z >= 0.0) == (y == 1.0))
                    .count();
                if let Some(bar) = &bar {
                    bar.inc(1);
                    bar.set_message(format!(
                        "epoch {epoch}/{}, loss {:.4}",
                        config.epochs,
                        loss_sum / ((b * config.batch_size + batch.len()) as f64)
                    ));
                }
            }
            let record = EpochRecord {
                epoch,
                loss: loss_sum / n as f64,
                accuracy: correct as f64 / n as f64,
                validation: validation.map(|v| Validation::measure(model, v)).transpose()?,
            };
            let monitored = record.validation.as_ref().map_or(record.loss, |v| v.loss);
            let verdict = early.update(epoch, monitored);
            if verdict.improved {
                best_weights = model.weights()?;
            }
            let seconds = started.elapsed().as_secs_f64();
            let line = epoch_line(&self.label, config.epochs, &record, seconds);
            match (&bar, mode) {
                (Some(bar), _) => bar.println(line),
                (None, Progress::Lines) => eprintln!("{line}"),
                _ => {}
            }
            history.epochs.push(record);
            epoch_seconds.push(seconds);
            if let Some(checkpointer) = &self.checkpointer {
                if verdict.improved {
                    checkpointer.save_best(model, &best_weights)?;
                }
                let state = RunState {
                    config: config.clone(),
                    epochs_done: epoch,
                    adam_step: adam.state()?.step,
                    shuffle_rng_word: shuffle_rng.get_word_pos().to_string(),
                    dropout_rng_word: model.net().dropout_rng().get_word_pos().to_string(),
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
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if config.restore_best && stop != StopReason::Interrupted && !best_weights.is_empty() {
            let restored: HashMap<String, Tensor> = best_weights.into_iter().collect();
            model.set_weights(&restored, "", Path::new("best weights in memory"))?;
        }
        Ok(TrainOutcome {
            history,
            epoch_seconds,
            best: early.best(),
            stop,
        })
    }

    fn sample_weights(&self, labels: &[u8], given: Option<&[f32]>) -> Result<Option<Vec<f32>>> {
        let class = match self.config.class_weights {
            ClassWeighting::None => None,
            ClassWeighting::Balanced => Some(ClassWeights::balanced(labels)?),
            ClassWeighting::Explicit { negative, positive } => {
                Some(ClassWeights::explicit(negative, positive)?)
            }
        };
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

fn labels_of(data: &Dataset) -> Result<&[u8]> {
    data.labels().ok_or_else(|| Error::Unlabelled {
        path: data.source().into(),
    })
}

/// Binary cross-entropy of one logit, stably.
fn bce_one(z: f64, y: u8) -> f64 {
    z.max(0.0) - z * f64::from(y) + (-z.abs()).exp().ln_1p()
}

fn stage_bar(label: &str, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent}%, {msg}, ETA {eta}")
            .expect("a fixed, valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

fn epoch_line(label: &str, epochs: usize, r: &EpochRecord, seconds: f64) -> String {
    let mut line = format!(
        "{label} epoch {}/{epochs}: loss {:.4}, accuracy {:.4}",
        r.epoch, r.loss, r.accuracy
    );
    if let Some(v) = &r.validation {
        line.push_str(&format!(
            ", val_loss {:.4}, val_accuracy {:.4}, val_f1 {:.4}",
            v.loss, v.accuracy, v.f1
        ));
    }
    line.push_str(&format!(" ({seconds:.1} s)"));
    line
}
