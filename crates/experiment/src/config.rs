//! The TOML experiment config.

use std::path::{Path, PathBuf};

use craters_dataset::hrsc::{HrscParams, ValidHrscParams};
use craters_dataset::synth::{SynthParams, ValidSynthParams};
use craters_dataset::{SplitParams, Stretch, ValidSplitParams};
use craters_model::{InputNorm, SeedCnnConfig, TrainConfig, ValidTrainConfig};
use craters_selftrain::{
    ConsistencyParams, SelfTrainingParams, ValidConsistencyParams, ValidSelfTrainingParams,
};

use crate::error::{Error, Result};

/// Everything one `reproduce` run does; `Default` is the seed experiment on the default
/// generated data. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentConfig {
    /// Training seeds (weights, shuffling, dropout); several give mean ± std. Default [1].
    pub seeds: Vec<u64>,
    /// Where the data comes from.
    pub data: DataConfig,
    /// The labelled set's train/validation split.
    pub split: SplitConfig,
    /// The network.
    pub model: SeedCnnConfig,
    /// Stage 1: the labelled data alone (seed: 75 epochs at lr 3e-4).
    pub stage1: TrainConfig,
    /// Stage 2: labelled + pseudo-labelled data (seed: 50 epochs at lr 4e-4).
    pub stage2: TrainConfig,
    /// Pseudo-labelling (seed: p < 0.25 → 0, one round).
    pub selftrain: SelfTrainingParams,
    /// Consistency training (FixMatch, Mean Teacher) on the extra set during stage 1;
    /// absent (the seed) trains stage 1 on the labels alone.
    pub consistency: Option<ConsistencyParams>,
    /// Decision threshold on the probability, for stage 1 and the final model. Default 0.5.
    pub threshold: f64,
    /// Leave-one-tile-out evaluation on HRSC data (needs `[data.hrsc]`).
    pub cross_tile: CrossTileConfig,
}

/// Leave-one-tile-out: for each listed tile, the whole experiment (every seed) trained on
/// the other listed tiles' candidates and tested on that tile's.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrossTileConfig {
    /// Tiles taking turns as the test tile; empty (the default) skips this evaluation.
    pub tiles: Vec<String>,
}

/// The data: a seed-layout folder, generated there first when missing (if allowed).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Seed-layout folder, or a labelled image folder (`crater/`, `non-crater/`; stage 1
    /// only). Default `data/default`.
    pub dir: PathBuf,
    /// Generate the default data into `dir` when `dir/Xtrain1.npy` is missing. Default true.
    pub generate_if_missing: bool,
    /// Generator seed. Default 0.
    pub generator_seed: u64,
    /// Generated labelled patches. Default 3000.
    pub n_train: usize,
    /// Generated extra (unlabelled) patches. Default 3000.
    pub n_extra: usize,
    /// Generated test patches. Default 1000.
    pub n_test: usize,
    /// Share of the labelled training split kept for training, in (0, 1], chosen per class
    /// with the split's seed (a study with few labels); the validation split is unchanged.
    /// Default 1.
    pub label_fraction: f64,
    /// Cut the seed layout in `dir` from the real HRSC benchmark instead of generating it
    /// (remade when `dir` holds a layout cut with other parameters). Default none.
    pub hrsc: Option<HrscParams>,
}

/// Stratified train/validation split of the labelled set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// Share held out for validation. Default 0.2.
    pub validation_fraction: f64,
    /// Seed of the split. Default 42 (the original's).
    pub seed: u64,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            seeds: vec![1],
            data: DataConfig::default(),
            split: SplitConfig::default(),
            model: SeedCnnConfig::default(),
            stage1: TrainConfig::default(),
            stage2: TrainConfig {
                epochs: 50,
                learning_rate: 4e-4,
                ..TrainConfig::default()
            },
            selftrain: SelfTrainingParams::default(),
            consistency: None,
            threshold: 0.5,
            cross_tile: CrossTileConfig::default(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: "data/default".into(),
            generate_if_missing: true,
            generator_seed: 0,
            n_train: 3000,
            n_extra: 3000,
            n_test: 1000,
            label_fraction: 1.0,
            hrsc: None,
        }
    }
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            validation_fraction: 0.2,
            seed: 42,
        }
    }
}

impl ExperimentConfig {
    /// Reads and checks a TOML config.
    pub fn load(path: &Path) -> Result<ValidExperimentConfig> {
        Self::read(path)?.check().map_err(|e| Error::InConfig {
            path: path.into(),
            source: Box::new(e),
        })
    }

    /// Reads a TOML config without checking it (to apply overrides first, then check).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// A config from TOML text (unchecked); `path` names it in errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::ConfigSyntax {
            path: path.into(),
            // toml's own Display spans several lines (with a snippet); one line is the contract.
            message: e.message().trim().to_string(),
        })
    }

    /// Checks every part, naming the first problem; only a checked config runs.
    pub fn check(&self) -> Result<ValidExperimentConfig> {
        if self.seeds.is_empty() {
            return Err(Error::NoSeeds);
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(Error::Threshold(self.threshold));
        }
        let model = |section: &'static str| {
            move |source| Error::InvalidModelSection {
                section,
                source: Box::new(source),
            }
        };
        self.model.shapes().map_err(model("model"))?;
        let stage1 = self.stage1.check().map_err(model("stage1"))?;
        let stage2 = self.stage2.check().map_err(model("stage2"))?;
        let selftrain = self.selftrain.check().map_err(Error::InvalidSelfTraining)?;
        let consistency = self
            .consistency
            .as_ref()
            .map(ConsistencyParams::check)
            .transpose()
            .map_err(Error::InvalidConsistency)?;
        let data = |section: &'static str| {
            move |source| Error::InvalidDataSection {
                section,
                source: Box::new(source),
            }
        };
        let hrsc = self
            .data
            .hrsc
            .as_ref()
            .map(HrscParams::check)
            .transpose()
            .map_err(data("data.hrsc"))?;
        if let Some(hrsc) = &hrsc {
            // Training blocks and the model's card must agree on the stretch, or detection
            // would scan images unlike the ones the model learnt from.
            let matching = match self.model.input_norm {
                InputNorm::PerTile => Stretch::Standardise,
                InputNorm::Local => Stretch::Local,
                InputNorm::Raw | InputNorm::PerImage => Stretch::None,
            };
            if matching != hrsc.stretch {
                return Err(Error::StretchMismatch {
                    input_norm: self.model.input_norm,
                    stretch: hrsc.stretch,
                });
            }
        }
        if !self.cross_tile.tiles.is_empty() {
            if hrsc.is_none() {
                return Err(Error::CrossTileWithoutHrsc);
            }
            if self.cross_tile.tiles.len() < 2 {
                return Err(Error::TooFewCrossTiles);
            }
        }
        // The key lives in [data]: an error names that section.
        SplitParams::default()
            .label_fraction(self.data.label_fraction)
            .check()
            .map_err(data("data"))?;
        let split = SplitParams::default()
            .validation_fraction(self.split.validation_fraction)
            .label_fraction(self.data.label_fraction)
            .seed(self.split.seed)
            .check()
            .map_err(data("split"))?;
        let synth = SynthParams::default()
            .seed(self.data.generator_seed)
            .n_train(self.data.n_train)
            .n_extra(self.data.n_extra)
            .n_test(self.data.n_test)
            .check()
            .map_err(data("data"))?;
        Ok(ValidExperimentConfig {
            config: self.clone(),
            data: ValidDataConfig {
                config: self.data.clone(),
                hrsc,
                synth,
            },
            stage1,
            stage2,
            selftrain,
            consistency,
            split,
        })
    }

    /// The config as TOML, as a run folder records it.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(Error::ConfigToToml)
    }
}

/// An [`ExperimentConfig`] that passed [`ExperimentConfig::check`], with its parts checked
/// into the types their crates run on; reads as the config.
#[derive(Debug, Clone)]
pub struct ValidExperimentConfig {
    config: ExperimentConfig,
    data: ValidDataConfig,
    stage1: ValidTrainConfig,
    stage2: ValidTrainConfig,
    selftrain: ValidSelfTrainingParams,
    consistency: Option<ValidConsistencyParams>,
    split: ValidSplitParams,
}

impl std::ops::Deref for ValidExperimentConfig {
    type Target = ExperimentConfig;

    fn deref(&self) -> &ExperimentConfig {
        &self.config
    }
}

impl ValidExperimentConfig {
    /// The data settings, checked.
    pub fn data(&self) -> &ValidDataConfig {
        &self.data
    }

    /// Stage 1's training config.
    pub fn stage1(&self) -> &ValidTrainConfig {
        &self.stage1
    }

    /// Stage 2's training config.
    pub fn stage2(&self) -> &ValidTrainConfig {
        &self.stage2
    }

    /// The self-training parameters.
    pub fn selftrain(&self) -> &ValidSelfTrainingParams {
        &self.selftrain
    }

    /// The consistency-training parameters, when stage 1 uses the extra set.
    pub fn consistency(&self) -> Option<&ValidConsistencyParams> {
        self.consistency.as_ref()
    }

    /// The train/validation split.
    pub fn split(&self) -> &ValidSplitParams {
        &self.split
    }
}

/// A [`DataConfig`] whose generator and HRSC parameters passed their checks; reads as the
/// config.
#[derive(Debug, Clone)]
pub struct ValidDataConfig {
    config: DataConfig,
    hrsc: Option<ValidHrscParams>,
    synth: ValidSynthParams,
}

impl std::ops::Deref for ValidDataConfig {
    type Target = DataConfig;

    fn deref(&self) -> &DataConfig {
        &self.config
    }
}

impl ValidDataConfig {
    /// The HRSC layout parameters, when the data is cut from the benchmark.
    pub fn hrsc(&self) -> Option<&ValidHrscParams> {
        self.hrsc.as_ref()
    }

    /// The generator parameters of the default data.
    pub fn synth(&self) -> &ValidSynthParams {
        &self.synth
    }

    /// The same data settings for another folder and HRSC split (leave-one-tile-out).
    pub fn with_hrsc(&self, dir: PathBuf, hrsc: ValidHrscParams) -> ValidDataConfig {
        ValidDataConfig {
            config: DataConfig {
                dir,
                hrsc: Some((*hrsc).clone()),
                ..self.config.clone()
            },
            hrsc: Some(hrsc),
            synth: self.synth,
        }
    }
}
