//! What a benchmark-derived seed layout is cut with, checked before use.

use std::path::PathBuf;

use super::blocks::Border;
use crate::error::{Error, Result};
use crate::tile::Stretch;

/// What [`write_layout`] cuts from a benchmark folder. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HrscParams {
    /// The benchmark folder. Default `../shared/data/hrsc`.
    pub root: PathBuf,
    /// Tiles whose candidates form the labelled set (and whose other windows form the
    /// unlabelled pool). Default the West and Centre tiles 1_24, 1_25, 2_24, 2_25.
    pub train_tiles: Vec<String>,
    /// Tiles whose candidates form the test set (labels hidden). Default the East tile 3_24.
    pub test_tiles: Vec<String>,
    /// Tiles whose windows form the unlabelled pool instead of the training tiles' (no
    /// label of theirs is read): images that have no catalogue yet. Never a test tile.
    /// Default none (the training tiles). Left out of the manifest when none, so layouts
    /// written before it existed stay current.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_tiles: Vec<String>,
    /// Unlabelled windows drawn for self-training. Default 3000.
    pub n_extra: usize,
    /// Seed of that draw. Default 0.
    pub extra_seed: u64,
    /// Where the unlabelled windows lie. Default a grid away from the candidates. Left out
    /// of the manifest when the default, so layouts written before it existed stay current.
    #[serde(skip_serializing_if = "ExtraWindows::is_grid")]
    pub extra_windows: ExtraWindows,
    /// Blocks that leave the tile. Default reflect.
    pub border: Border,
    /// Detection training: also label, from the training tiles' catalogues, every crater of
    /// diameter ≥ 16 px as a positive block. Default false (the benchmark's candidates only).
    pub catalogue_positives: bool,
    /// Detection training: also add this many negative blocks that, by the catalogue, hold
    /// no crater at their scale: half near a crater (centre off by 0.75–2 radii, or the
    /// scale off by a factor 2.5–4), half anywhere. Default 0.
    pub catalogue_negatives: usize,
    /// Gray values of every tile before blocks are cut (a detector trained on standardised
    /// tiles scans standardised images). Default none. Left out of the manifest when none, so
    /// layouts written before it existed stay current.
    #[serde(skip_serializing_if = "Stretch::is_none")]
    pub stretch: Stretch,
}

impl Default for HrscParams {
    fn default() -> Self {
        HrscParams {
            root: "../shared/data/hrsc".into(),
            train_tiles: ["1_24", "1_25", "2_24", "2_25"].map(String::from).to_vec(),
            test_tiles: vec!["3_24".into()],
            extra_tiles: Vec::new(),
            n_extra: 3000,
            extra_seed: 0,
            extra_windows: ExtraWindows::Grid,
            border: Border::Reflect,
            catalogue_positives: false,
            catalogue_negatives: 0,
            stretch: Stretch::None,
        }
    }
}

/// Where [`HrscParams::n_extra`]'s unlabelled windows are cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraWindows {
    /// Windows on a grid of each training tile (or extra tile), at the candidates' scales,
    /// that are not a candidate (see [`unlabelled_blocks`](super::unlabelled_blocks)). Few hold a
    /// centred crater.
    #[default]
    Grid,
    /// Shifted and rescaled views of the training tiles' (or extra tiles') candidates,
    /// craters or not (the labels are not read; see [`candidate_views`](super::candidate_views)): windows like
    /// the test set's, which the benchmark's candidate finder made.
    Candidates,
}

impl ExtraWindows {
    /// Whether this is the default, [`ExtraWindows::Grid`].
    pub fn is_grid(&self) -> bool {
        *self == ExtraWindows::Grid
    }
}

impl HrscParams {
    /// Checks that there are training tiles, that no tile is both trained and tested on,
    /// and that no test tile gives unlabelled windows; only checked parameters cut a layout.
    pub fn check(&self) -> Result<ValidHrscParams> {
        if self.train_tiles.is_empty() {
            return Err(Error::NoTrainTiles);
        }
        if let Some(t) = self.test_tiles.iter().find(|t| self.train_tiles.contains(t)) {
            return Err(Error::TileInBothSets { tile: t.clone() });
        }
        if let Some(t) = self.test_tiles.iter().find(|t| self.extra_tiles.contains(t)) {
            return Err(Error::TestTileUnlabelled { tile: t.clone() });
        }
        Ok(ValidHrscParams(self.clone()))
    }
}

impl ValidHrscParams {
    /// The tiles the unlabelled windows are cut from: [`HrscParams::extra_tiles`], or the
    /// training tiles when there are none.
    pub fn unlabelled_tiles(&self) -> &[String] {
        if self.extra_tiles.is_empty() {
            &self.train_tiles
        } else {
            &self.extra_tiles
        }
    }
}

/// [`HrscParams`] that passed [`HrscParams::check`]; reads as the parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct ValidHrscParams(HrscParams);

impl std::ops::Deref for ValidHrscParams {
    type Target = HrscParams;

    fn deref(&self) -> &HrscParams {
        &self.0
    }
}
