//! Keras' early stopping and best-checkpoint bookkeeping.

/// Keras' `EarlyStopping` and `ModelCheckpoint(save_best_only)` bookkeeping: the lowest
/// monitored loss so far and how many epochs have passed without beating it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EarlyStopping {
    pub(super) patience: Option<usize>,
    pub(super) best: Option<(usize, f64)>,
    pub(super) wait: usize,
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

    /// Whether patience had already run out (a run resumed after it stopped early).
    pub fn exhausted(&self) -> bool {
        self.best.is_some() && self.patience.is_some_and(|p| self.wait >= p)
    }

    /// The best epoch and its loss.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}
