//! How a training run tells the outside world how far it is. The library prints nothing:
//! a command-line tool renders these calls as a progress bar or as lines, a test ignores
//! them.

use std::sync::Arc;

use super::history::EpochRecord;

/// Receives the progress of training runs (and of whatever drives them: data generation,
/// the tile left out, …). Every method has an empty default, so an implementation picks
/// what it shows.
pub trait ProgressSink: Send + Sync {
    /// A message about what is happening now (one line, no trailing newline).
    fn note(&self, _message: &str) {}

    /// A run (one stage) begins: `epochs` in all, of which `done` already ran before a
    /// resume, `batches` gradient steps per epoch.
    fn stage_started(&self, _label: &str, _epochs: usize, _done: usize, _batches: usize) {}

    /// One gradient step of `epoch` finished; `mean_loss` is the epoch's mean loss so far.
    fn batch_done(&self, _epoch: usize, _epochs: usize, _mean_loss: f64) {}

    /// An epoch finished, after `seconds` (training and validation).
    fn epoch_done(&self, _label: &str, _epochs: usize, _record: &EpochRecord, _seconds: f64) {}

    /// The run ended (completed, stopped early or interrupted).
    fn stage_finished(&self, _label: &str) {}
}

/// A shareable progress receiver, as the trainer and the experiment hold it.
pub type SharedProgress = Arc<dyn ProgressSink>;

/// Shows nothing: the default of every trainer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl ProgressSink for Silent {}

/// The silent receiver, shared.
pub fn silent() -> SharedProgress {
    Arc::new(Silent)
}

/// The one-line summary of an epoch that command-line tools print, e.g.
/// `stage 1 epoch 3/75: loss 0.4123, accuracy 0.8200, val_loss …, val_f1 0.8811 (1.1 s)`.
pub fn epoch_line(label: &str, epochs: usize, r: &EpochRecord, seconds: f64) -> String {
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
    if let Some(u) = &r.unlabelled {
        line.push_str(&format!(
            ", unlabelled: {:.1}% confident ({:.0}% craters; τ {:.2}/{:.2}), loss {:.4}",
            100.0 * u.confident_share,
            100.0 * u.crater_share,
            u.thresholds[0],
            u.thresholds[1],
            u.loss
        ));
        if let Some(precision) = u.target_precision {
            line.push_str(&format!(", targets {:.1}% right", 100.0 * precision));
        }
    }
    line.push_str(&format!(" ({seconds:.1} s)"));
    line
}
