//! The seed crater CNN in candle.
//!
//! [`SeedCnn`] is the network of the published experiment (14,033 parameters with the
//! default [`SeedCnnConfig`]); [`keras_init`] initialises it as Keras does from a seeded RNG;
//! [`bce_with_logits`] is its loss. Its gradients are checked against finite differences.
//!
//! Not there yet: the training loop, checkpoints, resuming and the benchmark command.
#![deny(missing_docs)]

mod config;
mod error;
mod network;

pub use config::{SeedCnnConfig, Shapes};
pub use error::{Error, Result};
pub use network::{SeedCnn, bce_with_logits, keras_init, max_pool};
