//! The TOML experiment config.

use std::path::{Path, PathBuf};

use craters_dataset::hrsc::HrscParams;
use craters_model::{SeedCnnConfig, TrainConfig};
use craters_selftrain::SelfTrainingParams;

use super::{Error, Result};

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
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let config: ExperimentConfig = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.into(),
            message: e.to_string(),
        })?;
        config.check().map_err(|e| Error::Config {
            path: path.into(),
            message: e.to_string(),
        })?;
        Ok(config)
    }

    /// Checks every part, naming the first problem.
    pub fn check(&self) -> Result<()> {
        let bad = |message: String| Error::Config {
            path: PathBuf::from("config"),
            message,
        };
        if self.seeds.is_empty() {
            return Err(bad("seeds: empty; give at least one".into()));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(bad(format!(
                "threshold = {}: expected a probability in [0, 1]",
                self.threshold
            )));
        }
        self.model.shapes().map_err(|e| bad(format!("[model] {e}")))?;
        self.stage1.check().map_err(|e| bad(format!("[stage1] {e}")))?;
        self.stage2.check().map_err(|e| bad(format!("[stage2] {e}")))?;
        self.selftrain
            .check()
            .map_err(|e| bad(format!("[selftrain] {e}")))?;
        if let Some(hrsc) = &self.data.hrsc {
            hrsc.check().map_err(|e| bad(format!("[data.hrsc] {e}")))?;
        }
        if !self.cross_tile.tiles.is_empty() {
            if self.data.hrsc.is_none() {
                return Err(bad(
                    "[cross_tile] tiles needs [data.hrsc] (the benchmark folder)".into()
                ));
            }
            if self.cross_tile.tiles.len() < 2 {
                return Err(bad("[cross_tile] tiles: name at least two tiles".into()));
            }
        }
        craters_dataset::SplitParams::default()
            .validation_fraction(self.split.validation_fraction)
            .check()
            .map_err(|e| bad(format!("[split] {e}")))?;
        Ok(())
    }

    /// The config as TOML, as a run folder records it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("an experiment config always serialises")
    }
}
