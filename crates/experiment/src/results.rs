//! What a run produced: per seed, per held-out tile, and in all. `run` fills these;
//! `report` and `plots` only read them.

use std::path::PathBuf;

use craters_metrics::{Reliability, Report};
use craters_model::History;
use craters_selftrain::{RoundLog, Termination};

/// Figures of one seed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedRun {
    /// The training seed.
    pub seed: u64,
    /// Folder with this seed's models, predictions and history.
    pub dir: PathBuf,
    /// Stage-1 model on the validation split.
    pub validation_initial: Report,
    /// Final model on the validation split.
    pub validation_final: Report,
    /// Stage-1 model on the test set, when it has hidden labels.
    pub test_initial: Option<Report>,
    /// Final model on the test set, when it has hidden labels.
    pub test_final: Option<Report>,
    /// Pseudo-labelling rounds (without the per-sample lists).
    pub selftrain_rounds: Vec<RoundSummary>,
    /// Why self-training stopped; `None` without an extra set.
    pub selftrain_termination: Option<Termination>,
    /// Epoch with the lowest validation loss, per stage that ran.
    pub best_epochs: Vec<usize>,
    /// How well the final model's probabilities match frequencies, before and after
    /// temperature scaling.
    pub calibration: CalibrationSummary,
    /// Wall-clock seconds of this seed.
    pub seconds: f64,
    /// Per-epoch history of each stage that ran.
    #[serde(skip)]
    pub histories: Vec<History>,
}

/// Temperature scaling of the final model: the temperature fitted on the validation split's
/// logits, and reliability diagrams (10 bins) before and after it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CalibrationSummary {
    /// The fitted temperature: probabilities are `sigmoid(logit / temperature)`.
    pub temperature: f64,
    /// On the validation split, before and after (the split the temperature was fitted on).
    pub validation: [Reliability; 2],
    /// On the test set when it has hidden labels, before and after (held out: neither
    /// training nor the temperature saw it).
    pub test: Option<[Reliability; 2]>,
}

impl SeedRun {
    /// The figures a run is judged by: the final model on the test set when it has hidden
    /// labels, otherwise on the validation split; with the set's name.
    pub fn headline(&self) -> (&Report, &'static str) {
        match &self.test_final {
            Some(r) => (r, "test"),
            None => (&self.validation_final, "validation"),
        }
    }

    /// The stage-1 model's figures on the same set as [`SeedRun::headline`].
    pub fn headline_initial(&self) -> &Report {
        self.test_initial.as_ref().unwrap_or(&self.validation_initial)
    }
}

/// One pseudo-labelling round in brief.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundSummary {
    /// 1-based round.
    pub round: usize,
    /// Added per class.
    pub added_per_class: [usize; 2],
    /// Mean confidence of what was added.
    pub mean_confidence: Option<f64>,
    /// Precision of the added pseudo-labels per class (hidden labels).
    pub precision: [Option<f64>; 2],
}

impl From<&RoundLog> for RoundSummary {
    fn from(r: &RoundLog) -> Self {
        RoundSummary {
            round: r.round,
            added_per_class: r.added_per_class,
            mean_confidence: r.mean_confidence,
            precision: r.precision,
        }
    }
}

/// One tile of the leave-one-tile-out evaluation: the final model's test figures on it,
/// per seed, trained on the other tiles.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TileRun {
    /// The held-out tile.
    pub tile: String,
    /// The tiles trained on.
    pub trained_on: Vec<String>,
    /// Labelled candidates of the held-out tile.
    pub n_test: usize,
    /// (seed, final model on the held-out tile's candidates).
    pub test_final: Vec<(u64, Report)>,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run folder.
    pub out: PathBuf,
    /// Per seed, in config order.
    pub seeds: Vec<SeedRun>,
    /// Leave-one-tile-out results, in `[cross_tile] tiles` order.
    pub cross_tile: Vec<TileRun>,
    /// Wall-clock seconds of the whole run (data generation included).
    pub seconds: f64,
}
