//! Adam whose state can be saved and restored.

use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::error::{Error, Result};

/// Adam hyper-parameters; `Default` is Keras' (lr 1e-3, β 0.9 / 0.999, ε 1e-7).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }
    }
}

/// Adam, computed exactly as candle's `AdamW` with `weight_decay = 0` (and as PyTorch's
/// `Adam`). Not candle's type itself because that one keeps its moments private, and a
/// resumable run has to save them.
#[derive(Debug)]
pub struct Adam {
    config: AdamConfig,
    params: Vec<Param>,
    step: u64,
}

#[derive(Debug)]
struct Param {
    name: String,
    var: Var,
    first_moment: Tensor,
    second_moment: Tensor,
}

/// Everything a resumed run needs to continue Adam where it stopped.
#[derive(Debug, Clone)]
pub struct AdamState {
    /// Steps taken so far.
    pub step: u64,
    /// `(name, first moment, second moment)` per parameter.
    pub moments: Vec<(String, Tensor, Tensor)>,
}

impl Adam {
    /// Optimises the named variables, in the order given.
    pub fn new(vars: Vec<(String, Var)>, config: AdamConfig) -> Result<Self> {
        let params = vars
            .into_iter()
            .map(|(name, var)| {
                let zeros = var.as_tensor().zeros_like()?;
                Ok(Param {
                    name,
                    first_moment: zeros.clone(),
                    second_moment: zeros,
                    var,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Adam {
            config,
            params,
            step: 0,
        })
    }

    /// Its hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Takes one step along the gradients in `grads`; variables without one are left alone.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let AdamConfig {
            learning_rate: lr,
            beta1,
            beta2,
            epsilon,
        } = self.config;
        let t = i32::try_from(self.step).unwrap_or(i32::MAX);
        let scale_m = 1.0 / (1.0 - beta1.powi(t));
        let scale_v = 1.0 / (1.0 - beta2.powi(t));
        for p in &mut self.params {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            // Detached: a gradient can carry the step's whole autograd graph, and moments
            // built from it would keep every step's graph alive.
            let g = g.detach();
            p.first_moment = ((&p.first_moment * beta1)? + (&g * (1.0 - beta1))?)?.detach();
            p.second_moment = ((&p.second_moment * beta2)? + (g.sqr()? * (1.0 - beta2))?)?.detach();
            let m_hat = (&p.first_moment * scale_m)?;
            let v_hat = (&p.second_moment * scale_v)?;
            let update = ((m_hat / (v_hat.sqrt()? + epsilon)?)? * lr)?;
            p.var.set(&(p.var.as_tensor() - update)?)?;
        }
        Ok(())
    }

    /// A copy of its state, for a checkpoint.
    pub fn state(&self) -> Result<AdamState> {
        let moments = self
            .params
            .iter()
            .map(|p| Ok((p.name.clone(), p.first_moment.copy()?, p.second_moment.copy()?)))
            .collect::<Result<_>>()?;
        Ok(AdamState {
            step: self.step,
            moments,
        })
    }

    /// Restores a state saved by [`Adam::state`] and read from `source`; every parameter
    /// must be present with its shape.
    pub fn load_state(&mut self, state: &AdamState, source: &Path) -> Result<()> {
        let mismatch = |message: String| Error::Checkpoint {
            path: source.into(),
            message,
        };
        for p in &mut self.params {
            let Some((_, m, v)) = state.moments.iter().find(|(name, _, _)| *name == p.name) else {
                return Err(mismatch(format!("optimizer state has no moments for {}", p.name)));
            };
            for moment in [m, v] {
                if moment.dims() != p.var.dims() {
                    return Err(mismatch(format!(
                        "optimizer moment of {} has shape {:?}; expected {:?}",
                        p.name,
                        moment.dims(),
                        p.var.dims()
                    )));
                }
            }
            p.first_moment = m.to_dtype(p.var.dtype())?;
            p.second_moment = v.to_dtype(p.var.dtype())?;
        }
        self.step = state.step;
        Ok(())
    }
}
