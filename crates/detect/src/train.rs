//! Training a crater detector on benchmark tiles: a proposal network, hard examples mined
//! where it fires, an ensemble trained on both, and an operating threshold from the
//! training tiles (`craters train-detector`, `configs/detector.toml`).
//!
//! 1. The proposal network learns from the tiles' labelled blocks: the benchmark's
//!    candidates, every catalogued crater, windows the catalogue says hold none.
//! 2. It scans each training tile; its hypotheses become blocks labelled by the catalogue
//!    ([`label_hypotheses`]): craters it found, and the texture it mistook for craters.
//! 3. `members` networks (seeds `seed`, `seed + 1`, …) learn from all of it (with
//!    `flip_top_bottom`, also from each block flipped top to bottom; with `flipped_members
//!    = k`, only the last k do; with `flipped_proposal`, those learn from the hypotheses
//!    of a second proposal network that learnt the flipped blocks too); the detector
//!    scores a window by their mean ([`detect_with_progress`]).
//! 4. The threshold is the median over the training tiles of the best-F1 threshold of the
//!    ensemble on each: no tile the detector is scored on takes part.

use std::path::Path;
use std::time::Instant;

use craters_dataset::hrsc::{HrscFolder, HrscParams, candidate_blocks, catalogue_blocks};
use craters_dataset::{Dataset, SplitParams, Stretch, Tile, stratified_split};
use craters_metrics::detection::MatchRule;
use craters_model::{CraterCnn, InputNorm, SeedCnnConfig, SharedProgress, TrainConfig, Trainer};

use crate::card::ModelCard;
use crate::config::{DetectConfig, ValidDetectConfig};
use crate::error::{Error, Result};
use crate::evaluate::evaluate;
use crate::mining::{Mined, mine};
use crate::scan::{NoProgress, detect_with_progress};

/// Most ensemble members a recipe may ask for.
pub use crate::card::MAX_MEMBERS;

/// How a detector is trained. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorRecipe {
    /// The benchmark and what is cut from its training tiles (`test_tiles` is not used:
    /// `craters train-detector --leave-one-out` chooses the tile left out).
    pub data: HrscParams,
    /// The network of the proposal and of every member. `input_norm` must convolve
    /// (`local`, `per_tile` or `raw`) so that a tile is scored in one dense pass.
    pub model: SeedCnnConfig,
    /// Training of the proposal network.
    pub proposal: TrainConfig,
    /// Networks in the ensemble. Default 3.
    pub members: usize,
    /// Training of each member (its seed is `seed + member index`).
    pub member: TrainConfig,
    /// Add each training block flipped top to bottom: the tiles are lit from the west, and
    /// this flip keeps the lit and the shadowed side (a left–right flip would not).
    /// Default false.
    pub flip_top_bottom: bool,
    /// How many members, the last ones, learn from every block flipped top to bottom as
    /// well (as `flip_top_bottom` does for all networks); the others and the proposal
    /// network see the blocks as they are: an ensemble of two views of the data. Default 0
    /// (on the HRSC tiles six members, three of them flipped, scored no better held out
    /// than the three unflipped ones: README, "The shipped detector").
    pub flipped_members: usize,
    /// Train a second proposal network on the blocks and their top–bottom flips, and let
    /// the flipped members learn from its mined hypotheses instead of the first one's: two
    /// detectors in one ensemble. Needs `flipped_members` ≥ 1 and `flip_top_bottom = false`.
    /// Default false.
    pub flipped_proposal: bool,
    /// Share of the labelled blocks kept apart for early stopping. Default 0.1.
    pub validation_fraction: f64,
    /// Seed of the split, the proposal network and the first member. Default 1.
    pub seed: u64,
    /// The scan used for mining and for choosing the threshold (its `threshold` is not
    /// used).
    pub detect: DetectConfig,
}

impl Default for DetectorRecipe {
    fn default() -> Self {
        DetectorRecipe {
            data: HrscParams {
                train_tiles: craters_dataset::hrsc::TILES.map(String::from).to_vec(),
                test_tiles: Vec::new(),
                catalogue_positives: true,
                catalogue_negatives: 3000,
                stretch: Stretch::Local,
                ..HrscParams::default()
            },
            model: SeedCnnConfig {
                input_norm: InputNorm::Local,
                ..SeedCnnConfig::default()
            },
            proposal: TrainConfig {
                epochs: 40,
                early_stopping_patience: Some(10),
                ..TrainConfig::default()
            },
            members: 3,
            member: TrainConfig {
                epochs: 40,
                learning_rate: 1e-3,
                early_stopping_patience: Some(8),
                ..TrainConfig::default()
            },
            flip_top_bottom: false,
            flipped_members: 0,
            flipped_proposal: false,
            validation_fraction: 0.1,
            seed: 1,
            detect: DetectConfig::default(),
        }
    }
}

impl DetectorRecipe {
    /// Reads a TOML recipe (unknown keys are errors) and checks it.
    pub fn load(path: &Path) -> Result<ValidDetectorRecipe> {
        crate::config::read_toml::<DetectorRecipe>(path)?.check()
    }

    /// Checks every setting, naming the first bad one.
    pub fn check(&self) -> Result<ValidDetectorRecipe> {
        let bad = |name: &'static str, value: String, expected: &'static str| {
            Err(Error::InvalidParam {
                name,
                value,
                expected,
            })
        };
        let stretch = match self.model.input_norm {
            InputNorm::Local => Stretch::Local,
            InputNorm::PerTile => Stretch::Standardise,
            InputNorm::Raw => Stretch::None,
            InputNorm::PerImage => {
                return bad(
                    "model.input_norm",
                    "per_image".into(),
                    "local, per_tile or raw: a normalisation a dense scan can apply",
                );
            }
        };
        if self.data.stretch != stretch {
            return bad(
                "data.stretch",
                format!("{:?}", self.data.stretch).to_lowercase(),
                "the stretch of model.input_norm (local → local, per_tile → standardise, raw → none)",
            );
        }
        if !(1..=MAX_MEMBERS).contains(&self.members) {
            return bad("members", self.members.to_string(), "1 to 16 networks");
        }
        if self.flipped_members > self.members {
            return bad(
                "flipped_members",
                self.flipped_members.to_string(),
                "at most `members` networks",
            );
        }
        if self.flipped_proposal && (self.flipped_members == 0 || self.flip_top_bottom) {
            return bad(
                "flipped_proposal",
                "true".into(),
                "false unless flipped_members ≥ 1 and flip_top_bottom = false (it mines for the flipped members only)",
            );
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 0.5) {
            return bad(
                "validation_fraction",
                self.validation_fraction.to_string(),
                "a share in (0, 0.5)",
            );
        }
        self.data.check()?;
        self.proposal.check()?;
        self.member.check()?;
        let detect = self.detect.check()?;
        Ok(ValidDetectorRecipe {
            recipe: self.clone(),
            detect,
        })
    }

    /// The same recipe trained on every tile of `tiles` but `left_out`.
    pub fn leaving_out(&self, tiles: &[String], left_out: &str) -> DetectorRecipe {
        let mut recipe = self.clone();
        recipe.data.train_tiles = tiles.iter().filter(|t| *t != left_out).cloned().collect();
        recipe.data.test_tiles = vec![left_out.to_string()];
        recipe
    }
}

/// A [`DetectorRecipe`] that passed [`DetectorRecipe::check`]; reads as the recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDetectorRecipe {
    recipe: DetectorRecipe,
    detect: ValidDetectConfig,
}

impl std::ops::Deref for ValidDetectorRecipe {
    type Target = DetectorRecipe;

    fn deref(&self) -> &DetectorRecipe {
        &self.recipe
    }
}

impl ValidDetectorRecipe {
    /// The checked scan settings.
    pub fn detect_config(&self) -> &ValidDetectConfig {
        &self.detect
    }
}

/// The best-F1 threshold of the detector on one training tile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TileThreshold {
    /// The tile.
    pub tile: String,
    /// Its best-F1 threshold.
    pub threshold: f64,
    /// The F1 there (a training tile: not a held-out figure).
    pub f1: f64,
}

/// A trained detector and how it came about.
#[derive(Debug)]
pub struct TrainedDetector {
    /// The ensemble.
    pub members: Vec<CraterCnn>,
    /// The operating threshold: the median of `tile_thresholds`.
    pub threshold: f64,
    /// Each training tile's best-F1 threshold.
    pub tile_thresholds: Vec<TileThreshold>,
    /// Labelled blocks cut from the benchmark before mining.
    pub base_blocks: usize,
    /// The mined blocks.
    pub mined: Mined,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl TrainedDetector {
    /// Writes the detector folder's contents into `dir` (which must exist): `member-1/`,
    /// `member-2/`, … and `card.toml` with this detector's threshold.
    pub fn save(&self, dir: &Path, card: &ModelCard) -> Result<()> {
        for (i, member) in self.members.iter().enumerate() {
            let member_dir = crate::card::member_dir(dir, i + 1);
            std::fs::create_dir_all(&member_dir).map_err(|source| Error::Io {
                path: member_dir.clone(),
                source,
            })?;
            member.save(&member_dir)?;
        }
        let card = ModelCard {
            threshold: self.threshold,
            ..card.clone()
        };
        let text = toml::to_string(&card).map_err(|e| Error::ConfigSyntax {
            path: dir.join("card.toml"),
            message: e.to_string(),
        })?;
        let text = format!(
            "# The detector's card (craters train-detector): what it expects, its operating threshold\n# (the median of its training tiles' best-F1 thresholds).\n{text}"
        );
        craters_dataset::write_atomic(&dir.join("card.toml"), text.as_bytes())?;
        Ok(())
    }
}

/// Trains a detector by `recipe` (see the module documentation); `progress` hears every
/// stage and epoch.
pub fn train_detector(recipe: &ValidDetectorRecipe, progress: &SharedProgress) -> Result<TrainedDetector> {
    let started = Instant::now();
    let params = recipe.data.check()?;
    let folder = HrscFolder::open(&params.root)?.with_stretch(params.stretch);
    let tiles = &params.train_tiles;
    let base =
        candidate_blocks(&folder, tiles, params.border)?.concat(catalogue_blocks(&folder, &params)?)?;
    let base_blocks = base.data.len();
    progress.note(&format!(
        "{base_blocks} labelled blocks from tiles {}",
        tiles.join(", ")
    ));

    let config = recipe.detect_config();
    // Mining keeps the hypotheses at the image border that the scan would drop: the
    // patterns the mirrored border makes there are hard examples the members learn to reject.
    let mining_config = DetectConfig {
        border_margin: 0.0,
        ..(**config).clone()
    }
    .check()?;
    // Each training tile and its catalogue, read once for mining and for the threshold.
    let tile_data = tiles
        .iter()
        .map(|name| Ok((Tile::load(&folder.tile_path(name))?, folder.catalogue(name)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut mined = Mined::default();
    let mut mine_with = |flipped: bool, label: &str| -> Result<Dataset> {
        let proposal = fit(
            recipe,
            &base.data,
            &recipe.proposal,
            recipe.seed,
            flipped,
            label,
            progress,
        )?;
        let (all, found) = mine(&proposal, &base.data, &tile_data, &mining_config, params.stretch)?;
        progress.note(&format!(
            "mined {} crater and {} non-crater blocks where the {label} network fired ({} near a crater left out)",
            found.positives, found.negatives, found.left_out
        ));
        mined += found;
        Ok(all)
    };
    let all = mine_with(recipe.flip_top_bottom, "proposal")?;
    let flipped_all = if recipe.flipped_proposal {
        Some(mine_with(true, "flipped proposal")?)
    } else {
        None
    };
    let members = (0..recipe.members)
        .map(|k| {
            let label = format!("member {}/{}", k + 1, recipe.members);
            let flipped = recipe.flip_top_bottom || k >= recipe.members - recipe.flipped_members;
            let data = match &flipped_all {
                Some(flipped_all) if flipped => flipped_all,
                _ => &all,
            };
            fit(
                recipe,
                data,
                &recipe.member,
                recipe.seed + k as u64,
                flipped,
                &label,
                progress,
            )
        })
        .collect::<Result<Vec<_>>>()?;

    let mut tile_thresholds = Vec::new();
    for (name, (plain, catalogue)) in tiles.iter().zip(&tile_data) {
        let found = detect_with_progress(&members, plain, config, &NoProgress)?;
        let evaluation = evaluate(&found.detections, catalogue, config)?;
        let best = evaluation
            .report
            .best
            .ok_or_else(|| Error::NoCraterFound { tile: name.clone() })?;
        tile_thresholds.push(TileThreshold {
            tile: name.clone(),
            threshold: best.threshold,
            f1: best.f1,
        });
    }
    let threshold = median(tile_thresholds.iter().map(|t| t.threshold).collect());
    Ok(TrainedDetector {
        members,
        threshold,
        tile_thresholds,
        base_blocks,
        mined,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One network trained on `data` (split for early stopping by the recipe's seed), with
/// `flipped`, also on the training split's blocks flipped top to bottom.
fn fit(
    recipe: &ValidDetectorRecipe,
    data: &Dataset,
    train: &TrainConfig,
    seed: u64,
    flipped: bool,
    label: &str,
    progress: &SharedProgress,
) -> Result<CraterCnn> {
    let labels = data.labels().unwrap_or_default();
    let split = SplitParams::default()
        .validation_fraction(recipe.validation_fraction)
        .seed(recipe.seed)
        .check()?;
    let split = stratified_split(labels, &split)?;
    let train_set = data.subset(&split.train)?;
    // Flipped copies join the training split only: the validation split stays unseen.
    let train_set = if flipped {
        with_top_bottom_flips(&train_set)?
    } else {
        train_set
    };
    let model = CraterCnn::new(&recipe.model, seed)?;
    let config = TrainConfig {
        seed,
        ..train.clone()
    }
    .check()?;
    Trainer::new(config).progress(progress.clone()).label(label).fit(
        &model,
        &train_set,
        None,
        Some(&data.subset(&split.validation)?),
    )?;
    Ok(model)
}

/// `data` followed by each of its images flipped top to bottom (same labels).
fn with_top_bottom_flips(data: &Dataset) -> Result<Dataset> {
    let side = craters_dataset::PATCH_SIDE;
    let mut pixels = data.pixels().to_vec();
    for image in data.pixels().chunks(side * side) {
        for row in image.chunks(side).rev() {
            pixels.extend_from_slice(row);
        }
    }
    let labels = data.labels().map(|l| [l, l].concat());
    Ok(Dataset::new(data.source().to_path_buf(), pixels, labels)?)
}

/// The median (the mean of the middle two for an even count); NaN-free input.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Figures of a detector on a tile it never saw, under the strict rule of the settings and
/// the DeepMoon rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeldOutFigures {
    /// The tile.
    pub tile: String,
    /// Catalogued craters scored (diameters in the settings' range).
    pub craters: usize,
    /// The threshold used (from the training tiles).
    pub threshold: f64,
    /// Precision, recall, F1 under the settings' rule.
    pub strict: (f64, f64, f64),
    /// Precision, recall, F1 under [`MatchRule::deepmoon`].
    pub deepmoon: (f64, f64, f64),
    /// Average precision under the settings' rule.
    pub average_precision: f64,
    /// Seconds of the scan.
    pub seconds: f64,
}

/// Scores `members` at `threshold` on `tile` of the benchmark `root`.
pub fn score_held_out(
    members: &[CraterCnn],
    root: &Path,
    tile: &str,
    threshold: f64,
    config: &ValidDetectConfig,
) -> Result<HeldOutFigures> {
    let folder = HrscFolder::open(root)?;
    let image = Tile::load(&folder.tile_path(tile))?;
    let catalogue = folder.catalogue(tile)?;
    let found = detect_with_progress(members, &image, config, &NoProgress)?;
    let strict_config = config.with_threshold(threshold)?;
    let deepmoon_config = DetectConfig {
        matching: MatchRule::deepmoon(),
        ..(*strict_config).clone()
    }
    .check()?;
    let figures = |c: &ValidDetectConfig| -> Result<_> {
        let e = evaluate(&found.detections, &catalogue, c)?;
        let at = e.report.at_threshold;
        Ok((
            (at.precision, at.recall, at.f1),
            e.report.average_precision,
            e.n_scored_craters,
        ))
    };
    let (strict, average_precision, craters) = figures(&strict_config)?;
    let (deepmoon, _, _) = figures(&deepmoon_config)?;
    Ok(HeldOutFigures {
        tile: tile.to_string(),
        craters,
        threshold,
        strict,
        deepmoon,
        average_precision,
        seconds: found.seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_even_and_odd_counts() {
        assert_eq!(median(vec![0.9, 0.7, 0.8]), 0.8);
        assert_eq!(median(vec![0.9, 0.7, 0.8, 0.6]), 0.75);
    }

    #[test]
    fn a_top_bottom_flip_reverses_the_rows_and_keeps_the_labels() {
        let side = craters_dataset::PATCH_SIDE;
        let image: Vec<f32> = (0..side * side).map(|i| (i / side) as f32).collect();
        let data = Dataset::new("x", image, Some(vec![1])).unwrap();
        let both = with_top_bottom_flips(&data).unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(both.labels().unwrap(), &[1, 1]);
        let flipped = both.image(1).unwrap();
        // Row r of the flip is row side − 1 − r of the original; each row is unchanged.
        assert_eq!(flipped[0], (side - 1) as f32);
        assert_eq!(flipped[side * side - 1], 0.0);
        assert!(flipped[..side].iter().all(|&v| v == (side - 1) as f32));
    }

    #[test]
    fn the_committed_recipes_load_and_differ_only_where_they_say() {
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let shipped = DetectorRecipe::load(&configs.join("detector.toml")).unwrap();
        let two = DetectorRecipe::load(&configs.join("detector-two-proposals.toml")).unwrap();
        assert!(two.flipped_proposal);
        let undone = DetectorRecipe {
            members: 3,
            flipped_members: 0,
            flipped_proposal: false,
            ..(*two).clone()
        };
        assert_eq!(undone, *shipped);
    }

    #[test]
    fn bad_recipes_name_the_setting() {
        let message = |r: DetectorRecipe| r.check().unwrap_err().to_string();
        let members = DetectorRecipe {
            members: 0,
            ..DetectorRecipe::default()
        };
        assert!(message(members).contains("members = 0"));
        let mut per_image = DetectorRecipe::default();
        per_image.model.input_norm = InputNorm::PerImage;
        assert!(message(per_image).contains("model.input_norm"));
        let mut stretch = DetectorRecipe::default();
        stretch.data.stretch = Stretch::None;
        assert!(message(stretch).contains("data.stretch"));
        let split = DetectorRecipe {
            validation_fraction: 0.0,
            ..DetectorRecipe::default()
        };
        assert!(message(split).contains("validation_fraction"));
        let flipped = DetectorRecipe {
            members: 3,
            flipped_members: 4,
            ..DetectorRecipe::default()
        };
        assert!(message(flipped).contains("flipped_members = 4"));
        for (flipped_members, flip_top_bottom) in [(0, false), (1, true)] {
            let proposal = DetectorRecipe {
                flipped_members,
                flip_top_bottom,
                flipped_proposal: true,
                ..DetectorRecipe::default()
            };
            assert!(message(proposal).contains("flipped_proposal = true"));
        }
        assert!(DetectorRecipe::default().check().is_ok());
    }
}
