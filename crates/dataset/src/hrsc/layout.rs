//! The parameters of a benchmark-derived seed layout and the writer of that layout.

use std::fs;
use std::path::Path;

use super::blocks::{Blocks, candidate_blocks};
use super::folder::HrscFolder;
use super::params::{ExtraWindows, HrscParams, ValidHrscParams};
use super::samplers::{candidate_views, catalogue_blocks, unlabelled_blocks};
use crate::dataset::{Dataset, PATCH_PIXELS};
use crate::error::Result;
use crate::npy::{write_atomic, write_npy};
use crate::output::OutputParams;

/// Writes `blocks.csv` (`set,row,tile,x,y,r,label,origin`) for the named block sets,
/// atomically.
pub fn write_blocks_csv(path: &Path, sets: &[(&str, &Blocks)]) -> Result<()> {
    let mut csv = String::from("set,row,tile,x,y,r,label,origin\n");
    for (set, blocks) in sets {
        for (row, s) in blocks.sources.iter().enumerate() {
            let label = s.label.map_or(String::new(), |l| l.to_string());
            csv.push_str(&format!(
                "{set},{row},{},{},{},{},{label},{}\n",
                s.tile, s.x, s.y, s.r, s.origin
            ));
        }
    }
    write_atomic(path, csv.as_bytes())
}

/// File of a benchmark-derived seed-layout folder recording how it was made.
pub const MANIFEST: &str = "manifest.json";

/// What [`write_layout`] wrote.
#[derive(Debug, Clone)]
pub struct LayoutSummary {
    /// Labelled blocks of the training tiles.
    pub train: Blocks,
    /// Unlabelled windows of the training tiles (or of the extra tiles).
    pub extra: Blocks,
    /// Labelled blocks of the test tiles, if any.
    pub test: Option<Blocks>,
}

/// Whether `dir` holds a layout written by [`write_layout`] with these parameters.
pub fn is_current(dir: &Path, params: &HrscParams) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(MANIFEST)) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    manifest["source"] == "hrsc" && serde_json::to_value(params).is_ok_and(|p| manifest["parameters"] == p)
}

/// Cuts the blocks of `params` and writes them to `out` in the seed layout: `Xtrain1.npy` +
/// `Ytrain1.npy` (training-tile candidates), `Xtrain1_extra.npy` (unlabelled windows),
/// `Xtest1.npy` + `Ytest1_hidden.npy` (test-tile candidates), `blocks.csv` (where each row
/// came from) and `manifest.json`. Pixels are uint8. Everything is written to a sibling
/// folder first and renamed into place (see [`ValidOutput::write_folder`](crate::ValidOutput::write_folder)); the output
/// may not hold the benchmark folder.
pub fn write_layout(params: &ValidHrscParams, out: OutputParams) -> Result<LayoutSummary> {
    let out = out.input(&params.root).check()?;
    let folder = HrscFolder::open(&params.root)?.with_stretch(params.stretch);
    let mut train = candidate_blocks(&folder, &params.train_tiles, params.border)?;
    if params.catalogue_positives || params.catalogue_negatives > 0 {
        let examples = catalogue_blocks(&folder, params)?;
        train = train.concat(examples)?;
    }
    let extra = match params.extra_windows {
        ExtraWindows::Grid => unlabelled_blocks(
            &folder,
            params.unlabelled_tiles(),
            params.n_extra,
            params.extra_seed,
        )?,
        ExtraWindows::Candidates => candidate_views(
            &folder,
            params.unlabelled_tiles(),
            params.n_extra,
            params.extra_seed,
        )?,
    };
    let test = if params.test_tiles.is_empty() {
        None
    } else {
        Some(candidate_blocks(&folder, &params.test_tiles, params.border)?)
    };
    out.write_folder(|out| -> Result<()> {
        let to_u8 =
            |d: &Dataset| -> Vec<u8> { d.pixels().iter().map(|&p| (p * 255.0).round() as u8).collect() };
        let mut sets = vec![
            (
                crate::seed_files::X_TRAIN,
                Some(crate::seed_files::Y_TRAIN),
                &train,
            ),
            (crate::seed_files::X_EXTRA, None, &extra),
        ];
        if let Some(test) = &test {
            sets.push((
                crate::seed_files::X_TEST,
                Some(crate::seed_files::Y_TEST_HIDDEN),
                test,
            ));
        }
        for (x_name, y_name, blocks) in &sets {
            let n = blocks.data.len() as u64;
            write_npy(&out.join(x_name), &[n, PATCH_PIXELS as u64], &to_u8(&blocks.data))?;
            if let (Some(y_name), Some(labels)) = (y_name, blocks.data.labels()) {
                write_npy(&out.join(y_name), &[n], labels)?;
            }
        }
        let mut csv_sets = vec![("train", &train), ("extra", &extra)];
        if let Some(test) = &test {
            csv_sets.push(("test", test));
        }
        write_blocks_csv(&out.join("blocks.csv"), &csv_sets)?;
        let count = |b: &Blocks| {
            let positives = b.sources.iter().filter(|s| s.label == Some(1)).count();
            serde_json::json!({ "n": b.data.len(), "positives": positives, "skipped": b.skipped })
        };
        let manifest = serde_json::json!({
            "source": "hrsc",
            "parameters": &**params,
            "sets": {
                "train": count(&train),
                "extra": count(&extra),
                "test": test.as_ref().map(count),
            },
        });
        let text = serde_json::to_string_pretty(&manifest).expect("the manifest serialises");
        write_atomic(&out.join(MANIFEST), format!("{text}\n").as_bytes())
    })?;
    Ok(LayoutSummary { train, extra, test })
}
