//! The seed CNN as a [`craters_selftrain::Classifier`], with the experiment's policy: round
//! 0 trains stage 1, later rounds stage 2.

use craters_dataset::Dataset;
use craters_metrics::{fit_temperature, sigmoid};
use craters_model::{
    CraterCnn, SeedCnnConfig, SharedProgress, TrainOutcome, Trainer, ValidTrainConfig, silent,
};
use craters_selftrain::{Classifier, ValidConsistencyParams};

use crate::error::Result;

type AfterFit<'a> = Box<dyn FnMut(usize, &CraterCnn) -> Result<()> + 'a>;

/// Trains a [`CraterCnn`] for self-training: round 0 with the stage-1 config, later rounds
/// with the stage-2 config (the seed: 75 epochs at lr 3e-4, then 50 at 4e-4), validating on
/// a fixed set after every epoch. A fit without warm start begins from the same seeded
/// initial weights. A hook set with [`CnnClassifier::after_fit`] sees the model after each
/// fit (to save it, or score it on a test set).
pub struct CnnClassifier<'a> {
    network: SeedCnnConfig,
    init_seed: u64,
    stages: [ValidTrainConfig; 2],
    validation: Option<Dataset>,
    progress: SharedProgress,
    model: CraterCnn,
    outcomes: Vec<TrainOutcome>,
    after_fit: Option<AfterFit<'a>>,
    unlabelled: Option<(&'a Dataset, ValidConsistencyParams)>,
}

impl std::fmt::Debug for CnnClassifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CnnClassifier")
            .field("network", &self.network)
            .field("init_seed", &self.init_seed)
            .field("stages", &self.stages)
            .field("fits", &self.outcomes.len())
            .finish_non_exhaustive()
    }
}

impl<'a> CnnClassifier<'a> {
    /// A classifier whose weights are initialised from `init_seed`.
    pub fn new(
        network: &SeedCnnConfig,
        init_seed: u64,
        stage1: ValidTrainConfig,
        stage2: ValidTrainConfig,
        validation: Option<Dataset>,
    ) -> Result<Self> {
        Ok(CnnClassifier {
            network: *network,
            init_seed,
            stages: [stage1, stage2],
            validation,
            progress: silent(),
            model: CraterCnn::new(network, init_seed)?,
            outcomes: Vec::new(),
            after_fit: None,
            unlabelled: None,
        })
    }

    /// Where training reports progress; silent by default.
    pub fn progress(mut self, progress: SharedProgress) -> Self {
        self.progress = progress;
        self
    }

    /// Calls `hook(round, model)` after each fit; an error ends self-training with it.
    pub fn after_fit(mut self, hook: impl FnMut(usize, &CraterCnn) -> Result<()> + 'a) -> Self {
        self.after_fit = Some(Box::new(hook));
        self
    }

    /// Trains round 0 (stage 1) with consistency on `data` as well (see
    /// [`Trainer::unlabelled`]); later rounds train on labels and pseudo-labels alone.
    pub fn unlabelled(mut self, data: &'a Dataset, params: ValidConsistencyParams) -> Self {
        self.unlabelled = Some((data, params));
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

impl Classifier for CnnClassifier<'_> {
    type Error = crate::error::Error;

    fn fit(&mut self, round: usize, train: &Dataset, sample_weights: &[f32], warm_start: bool) -> Result<()> {
        if !warm_start {
            self.model = CraterCnn::new(&self.network, self.init_seed)?;
        }
        let stage = usize::from(round > 0);
        let mut trainer = Trainer::new(self.stages[stage].clone())
            .progress(self.progress.clone())
            .label(format!("stage {} (round {round})", stage + 1));
        if round == 0
            && let Some((data, params)) = self.unlabelled
        {
            trainer = trainer.unlabelled(data, params);
        }
        let outcome = trainer.fit(&self.model, train, Some(sample_weights), self.validation.as_ref())?;
        self.outcomes.push(outcome);
        if let Some(hook) = &mut self.after_fit {
            hook(round, &self.model)?;
        }
        Ok(())
    }

    fn predict_proba(&self, data: &Dataset) -> Result<Vec<f32>> {
        Ok(self.model.predict_proba(data)?)
    }

    /// Temperature scaling: `sigmoid(logit / T)`, `T` fitted by log loss on the validation
    /// split for the model as it is now (each round's model has its own).
    fn predict_proba_calibrated(&self, data: &Dataset) -> Option<Result<Vec<f32>>> {
        let validation = self.validation.as_ref()?;
        let labels = validation.labels()?;
        let calibrated = || -> Result<Vec<f32>> {
            let temperature = fit_temperature(labels, &self.model.logits(validation.pixels())?)?;
            self.model.check_input(data)?;
            Ok(self
                .model
                .logits(data.pixels())?
                .into_iter()
                .map(|z| sigmoid(f64::from(z) / temperature) as f32)
                .collect())
        };
        Some(calibrated())
    }
}
