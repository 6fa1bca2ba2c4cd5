//! The seed crater CNN in candle.
//!
//! Not implemented yet: the network, its training loop and checkpoints arrive with the model
//! issue. This crate exists so that the workspace has its final shape; it exports nothing.
#![deny(missing_docs)]
