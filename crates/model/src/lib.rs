//! The seed crater CNN in candle: the network, its training loop and its checkpoints.
//!
//! [`SeedCnn`] is the network of the published experiment (14,033 parameters with the
//! default [`SeedCnnConfig`]), [`CraterCnn`] holds it with its weights (predict, save, load
//! a model folder), and [`Trainer`] fits it with Adam on binary cross-entropy, keeping a
//! [`History`], the best weights by validation loss, optional early stopping and resumable
//! checkpoints, reporting progress to a [`ProgressSink`] (the library prints nothing);
//! [`bench`] measures its speed. Its gradients are checked against finite differences and
//! its outputs against PyTorch.
//!
//! ```no_run
//! use craters_model::{CraterCnn, SeedCnnConfig, TrainConfig, Trainer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = craters_dataset::SeedData::load("data/default".as_ref())?;
//! let model = CraterCnn::new(&SeedCnnConfig::default(), 0)?;
//! let config = TrainConfig { epochs: 5, ..TrainConfig::default() };
//! let outcome = Trainer::new(config.check()?).fit(&model, &data.train, None, None)?;
//! println!("{}", outcome.history.to_csv());
//! model.save("runs/example/model".as_ref())?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod bench;
mod config;
mod dense;
mod error;
mod fused;
mod model;
mod network;
mod optim;
mod train;

pub use config::{InputNorm, Kernels, SeedCnnConfig, Shapes};
pub use dense::{DenseNet, WindowScores};
pub use error::{Error, Result};
pub use model::{CONFIG_FILE, CraterCnn, ModelCard, PREDICT_BATCH, WEIGHTS_FILE, sigmoid};
pub use network::{PER_TILE_AFFINE, SeedCnn, bce_with_logits, keras_init, max_pool};
pub use optim::{Adam, AdamConfig, AdamState};
pub use train::{
    BEST_DIR, Checkpointer, ClassWeighting, EarlyStopping, EpochRecord, History, ProgressSink, RESUME_FILE,
    SharedProgress, Silent, StopReason, TrainConfig, TrainOutcome, Trainer, UnlabelledEpoch,
    ValidTrainConfig, Validation, Verdict, consistency_loss, epoch_line, silent,
};

// The crate README's example, compiled (and run unless marked no_run) as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
