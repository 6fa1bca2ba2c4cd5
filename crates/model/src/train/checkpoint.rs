//! Checkpoints of a training run: the best model so far and everything needed to resume.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;

use super::config::TrainConfig;
use super::early_stopping::EarlyStopping;
use super::history::History;
use crate::error::{Error, Result};
use crate::model::{CraterCnn, read_tensors, save_model, write_tensors};
use crate::optim::{Adam, AdamState};

/// Folder of a checkpoint directory that holds the best model so far (a model folder).
pub const BEST_DIR: &str = "best";
/// File of a checkpoint directory from which an interrupted run resumes.
pub const RESUME_FILE: &str = "last.safetensors";

const STATE_KEY: &str = "craters.train_state";

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
pub(super) struct RunState {
    pub(super) config: TrainConfig,
    pub(super) epochs_done: usize,
    pub(super) adam_step: u64,
    // u128 word positions, as decimal strings: JSON numbers cannot hold them exactly.
    pub(super) shuffle_rng_word: String,
    pub(super) dropout_rng_word: String,
    // Checkpoints from before augmentation existed never drew from it: position 0.
    #[serde(default = "word_zero")]
    pub(super) augment_rng_word: String,
    pub(super) early_stopping: EarlyStopping,
    pub(super) history: History,
    pub(super) epoch_seconds: Vec<f64>,
}

fn word_zero() -> String {
    "0".into()
}

struct Resumed {
    state: RunState,
    weights: HashMap<String, Tensor>,
}

/// Where a resumed run picks up: what [`Checkpointer::restore`] did not put back into the
/// model, the optimiser and the RNGs itself.
pub(super) struct Restored {
    pub(super) epochs_done: usize,
    pub(super) early_stopping: EarlyStopping,
    pub(super) history: History,
    pub(super) epoch_seconds: Vec<f64>,
    pub(super) best_weights: Vec<(String, Tensor)>,
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

    pub(super) fn save_best(&self, model: &CraterCnn, weights: &[(String, Tensor)]) -> Result<()> {
        save_model(&self.best_dir(), model.config(), weights)
    }

    pub(super) fn save_state(
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

    /// Puts the run saved in `last.safetensors` back: weights into `model`, moments into
    /// `adam`, positions into the RNGs; returns the rest, or `None` when there is no saved
    /// run. The saved run must have had the same config except `epochs`.
    pub(super) fn restore(
        &self,
        config: &TrainConfig,
        model: &CraterCnn,
        adam: &mut Adam,
        [shuffle_rng, dropout_rng, augment_rng]: [&mut ChaCha8Rng; 3],
    ) -> Result<Option<Restored>> {
        let Some(resumed) = self.load_state()? else {
            return Ok(None);
        };
        let path = self.resume_file();
        let bad = |message: String| Error::Checkpoint {
            path: path.clone(),
            message,
        };
        let state = resumed.state;
        let same_run = TrainConfig {
            epochs: config.epochs,
            ..state.config.clone()
        };
        if same_run != *config {
            return Err(bad(
                "saved by a run with another training config; only `epochs` may change when resuming".into(),
            ));
        }
        model.set_weights(&resumed.weights, "weights.", &path)?;
        let tensor = |key: String| {
            resumed
                .weights
                .get(&key)
                .cloned()
                .ok_or_else(|| bad(format!("no tensor {key}")))
        };
        let moments = model
            .named_vars()
            .into_iter()
            .map(|(name, _)| {
                let m = tensor(format!("adam_m.{name}"))?;
                let v = tensor(format!("adam_v.{name}"))?;
                Ok((name, m, v))
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
            text.parse::<u128>()
                .map_err(|_| bad(format!("RNG position {text:?} is not a number")))
        };
        shuffle_rng.set_word_pos(word(&state.shuffle_rng_word)?);
        dropout_rng.set_word_pos(word(&state.dropout_rng_word)?);
        augment_rng.set_word_pos(word(&state.augment_rng_word)?);
        let best_weights = if state.early_stopping.best.is_some() {
            model
                .named_vars()
                .into_iter()
                .map(|(name, _)| Ok((name.clone(), tensor(format!("best.{name}"))?)))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(Some(Restored {
            epochs_done: state.epochs_done,
            early_stopping: EarlyStopping {
                patience: config.early_stopping_patience,
                ..state.early_stopping
            },
            history: state.history,
            epoch_seconds: state.epoch_seconds,
            best_weights,
        }))
    }
}
