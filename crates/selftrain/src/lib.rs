//! Confidence-threshold pseudo-labelling (self-training) over a classifier trait.
//!
//! Not implemented yet: the trait, the parameters and the rounds arrive with the self-training
//! issue. This crate exists so that the workspace has its final shape; it exports nothing.
#![deny(missing_docs)]
