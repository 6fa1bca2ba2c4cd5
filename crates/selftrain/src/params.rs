//! Parameters, checked before use.

use crate::error::{Error, Result};

/// Which pool samples get a pseudo-label in a round.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Criterion {
    /// p < `neg` → class 0, p > `pos` → class 1; either side may be off.
    Threshold {
        /// Upper bound of the probability for a pseudo-label 0.
        neg: Option<f64>,
        /// Lower bound of the probability for a pseudo-label 1.
        pos: Option<f64>,
    },
    /// The `k` most confident samples (confidence = max(p, 1 − p)), labelled p ≥ 0.5.
    KBest {
        /// How many per round.
        k: usize,
    },
}

/// In words, as a report states it: "p < 0.25 → 0", "p < 0.1 → 0, p > 0.9 → 1", "the 40
/// most confident per round → their predicted class".
impl std::fmt::Display for Criterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Criterion::Threshold { neg, pos } => {
                let rules: Vec<String> = [
                    neg.map(|n| format!("p < {n} → 0")),
                    pos.map(|p| format!("p > {p} → 1")),
                ]
                .into_iter()
                .flatten()
                .collect();
                if rules.is_empty() {
                    f.write_str("no pseudo-labels (both thresholds off)")
                } else {
                    f.write_str(&rules.join(", "))
                }
            }
            Criterion::KBest { k } => write!(f, "the {k} most confident per round → their predicted class"),
        }
    }
}

/// Self-training settings; `Default` is the seed protocol (one round, p < 0.25 → 0).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelfTrainingParams {
    /// How samples are chosen.
    pub criterion: Criterion,
    /// Rounds of pseudo-labelling and refitting after the first fit; 0 keeps the first
    /// fit (as after consistency training, which used the pool already). Default 1.
    pub max_rounds: usize,
    /// At most this many pseudo-labels per round, the most confident first. Default: no cap.
    pub max_per_round: Option<usize>,
    /// Add as many of each class per round (the smaller count; most confident first).
    /// Needs both sides of a threshold. Default false.
    pub balance: bool,
    /// Sample weight of pseudo-labelled images in the loss (given labels weigh 1). Default 1.
    pub pseudo_weight: f32,
    /// Continue from the previous round's weights instead of refitting from scratch.
    /// Default false.
    pub warm_start: bool,
    /// Apply the criterion to calibrated probabilities
    /// ([`Classifier::predict_proba_calibrated`](crate::Classifier::predict_proba_calibrated)),
    /// so that "p < 0.25" means what it says on held-out data. Default false (the seed).
    pub calibrated: bool,
}

impl Default for SelfTrainingParams {
    fn default() -> Self {
        SelfTrainingParams {
            criterion: Criterion::Threshold {
                neg: Some(0.25),
                pos: None,
            },
            max_rounds: 1,
            max_per_round: None,
            balance: false,
            pseudo_weight: 1.0,
            warm_start: false,
            calibrated: false,
        }
    }
}

/// [`SelfTrainingParams`] that passed [`SelfTrainingParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidSelfTrainingParams(pub(crate) SelfTrainingParams);

impl ValidSelfTrainingParams {
    /// The checked parameters.
    pub fn params(&self) -> &SelfTrainingParams {
        &self.0
    }
}

fn invalid(name: &'static str, message: String) -> Error {
    Error::InvalidParam { name, message }
}

impl SelfTrainingParams {
    /// Checks ranges and consistency, naming the first problem.
    pub fn check(&self) -> Result<ValidSelfTrainingParams> {
        match self.criterion {
            Criterion::Threshold { neg, pos } => {
                for (name, value) in [("criterion.neg", neg), ("criterion.pos", pos)] {
                    if let Some(v) = value
                        && !(0.0..=1.0).contains(&v)
                    {
                        return Err(invalid(name, format!("{v} is outside [0, 1]")));
                    }
                }
                match (neg, pos) {
                    (None, None) => {
                        return Err(invalid(
                            "criterion",
                            "a threshold with neither neg nor pos never labels anything".into(),
                        ));
                    }
                    (Some(n), Some(p)) if n >= p => {
                        return Err(invalid("criterion", format!("neg {n} must be below pos {p}")));
                    }
                    _ => {}
                }
                if self.balance && (neg.is_none() || pos.is_none()) {
                    return Err(invalid(
                        "balance",
                        "balancing classes needs both neg and pos thresholds".into(),
                    ));
                }
            }
            Criterion::KBest { k: 0 } => return Err(invalid("criterion.k", "0; expected at least 1".into())),
            Criterion::KBest { .. } => {}
        }
        if self.max_per_round == Some(0) {
            return Err(invalid(
                "max_per_round",
                "0; expected at least 1, or no cap".into(),
            ));
        }
        if !(self.pseudo_weight.is_finite() && self.pseudo_weight > 0.0) {
            return Err(invalid(
                "pseudo_weight",
                format!("{}; expected a positive number", self.pseudo_weight),
            ));
        }
        Ok(ValidSelfTrainingParams(*self))
    }
}
