//! Per-epoch figures: the records, the history and its CSV.

use std::path::Path;

use craters_dataset::{Dataset, write_atomic};
use craters_metrics::ConfusionMatrix;

use crate::error::{Error, Result};
use crate::model::CraterCnn;

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
    /// What the unlabelled images did, in consistency training.
    #[serde(default)]
    pub unlabelled: Option<super::UnlabelledEpoch>,
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
        Self::measure_shifted(model, data, 0.0)
    }

    /// Evaluates `model` with `shift` added to every logit (a prior correction not yet in
    /// its weights).
    pub fn measure_shifted(model: &CraterCnn, data: &Dataset, shift: f32) -> Result<Validation> {
        let labels = labels_of(data)?;
        model.check_input(data)?;
        let mut logits = model.logits(data.pixels())?;
        logits.iter_mut().for_each(|z| *z += shift);
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

/// Binary cross-entropy of one logit, stably.
fn bce_one(z: f64, y: u8) -> f64 {
    z.max(0.0) - z * f64::from(y) + (-z.abs()).exp().ln_1p()
}

/// The labels of a set that training or validation needs labelled.
pub(super) fn labels_of(data: &Dataset) -> Result<&[u8]> {
    data.labels().ok_or_else(|| Error::Unlabelled {
        path: data.source().into(),
    })
}
