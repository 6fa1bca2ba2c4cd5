//! The CNN as a [`craters_selftrain::Classifier`].

use craters_dataset::Dataset;
use craters_selftrain::Classifier;

use crate::config::SeedCnnConfig;
use crate::error::{Error, Result};
use crate::model::CraterCnn;
use crate::train::{Progress, TrainConfig, TrainOutcome, Trainer};

/// Trains a [`CraterCnn`] for self-training: round 0 with the first training config, later
/// rounds with the second (the seed: 75 epochs at lr 3e-4, then 50 at 4e-4), validating on
/// a fixed set after every epoch. A fit without warm start begins from the same seeded
/// initial weights.
#[derive(Debug)]
pub struct CnnClassifier {
    network: SeedCnnConfig,
    init_seed: u64,
    stages: [TrainConfig; 2],
    validation: Option<Dataset>,
    progress: Progress,
    model: CraterCnn,
    outcomes: Vec<TrainOutcome>,
}

impl CnnClassifier {
    /// A classifier whose weights are initialised from `init_seed`; both training configs
    /// are checked now.
    pub fn new(
        network: &SeedCnnConfig,
        init_seed: u64,
        initial: TrainConfig,
        later: TrainConfig,
        validation: Option<Dataset>,
    ) -> Result<Self> {
        initial.check()?;
        later.check()?;
        Ok(CnnClassifier {
            network: *network,
            init_seed,
            stages: [initial, later],
            validation,
            progress: Progress::Auto,
            model: CraterCnn::new(network, init_seed)?,
            outcomes: Vec::new(),
        })
    }

    /// How training reports progress.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// The model as the last fit left it.
    pub fn model(&self) -> &CraterCnn {
        &self.model
    }

    /// One training outcome (history, best epoch) per fit so far.
    pub fn outcomes(&self) -> &[TrainOutcome] {
        &self.outcomes
    }
}

impl Classifier for CnnClassifier {
    type Error = Error;

    fn fit(&mut self, round: usize, train: &Dataset, sample_weights: &[f32], warm_start: bool) -> Result<()> {
        if !warm_start {
            self.model = CraterCnn::new(&self.network, self.init_seed)?;
        }
        let stage = if round == 0 { 0 } else { 1 };
        let outcome = Trainer::new(self.stages[stage].clone())?
            .progress(self.progress)
            .label(format!("stage {} (round {round})", stage + 1))
            .fit(&self.model, train, Some(sample_weights), self.validation.as_ref())?;
        self.outcomes.push(outcome);
        Ok(())
    }

    fn predict_proba(&self, data: &Dataset) -> Result<Vec<f32>> {
        self.model.predict_proba(data)
    }
}
