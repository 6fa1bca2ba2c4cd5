//! `craters detect`: load the model, the tile and the catalogue; detect; write
//! `detections.csv` (the detections at the operating threshold), `hypotheses.csv` (every
//! hypothesis the scan kept, for precision–recall work), `overlay.png` and `metrics.json`.

use std::path::Path;

use craters_dataset::hrsc::read_catalogue;
use craters_dataset::{OutputParams, PATCH_SIDE, Tile, write_atomic};
use craters_metrics::detection::Detection;
use craters_model::CraterCnn;

use crate::config::ValidDetectConfig;
use crate::error::{Error, Result};
use crate::evaluate::{Evaluation, catalogue_circles, evaluate};
use crate::overlay::overlay;
use crate::scan::{ScanProgress, TileDetections, detect_with_progress};

/// Largest image (pixels) that gets an `overlay.png`: 64 Mpx, an 8,192² mosaic.
pub const OVERLAY_MAX_PIXELS: usize = 1 << 26;

/// A detections file (`detections.csv`, `hypotheses.csv`): header `x,y,r,score`, highest
/// score first.
pub fn detections_csv(detections: &[Detection]) -> String {
    let mut csv = String::from("x,y,r,score\n");
    for d in detections {
        csv.push_str(&format!(
            "{:.2},{:.2},{:.2},{:.6}\n",
            d.circle.x, d.circle.y, d.circle.r, d.score
        ));
    }
    csv
}

/// What [`run`] wrote and measured.
#[derive(Debug, Clone)]
pub struct DetectSummary {
    /// The detections.
    pub detections: TileDetections,
    /// Their evaluation, with a catalogue.
    pub evaluation: Option<Evaluation>,
    /// Whether `overlay.png` was written (images up to [`OVERLAY_MAX_PIXELS`]).
    pub overlay: bool,
    /// Detections at the operating threshold (the rows of `detections.csv`).
    pub at_threshold: usize,
}

/// `craters detect`: loads the model and the tile (and catalogue), detects, and writes
/// `detections.csv` (score ≥ the config's threshold), `hypotheses.csv` (all that the scan
/// kept), `overlay.png` (images up to [`OVERLAY_MAX_PIXELS`]) and `metrics.json` into the folder `out`, atomically; an
/// existing folder only with `force`, only one craters wrote, and never one holding an input.
/// `progress` is told how far the scan is.
pub fn run(
    model_dir: &Path,
    tile_path: &Path,
    catalogue_path: Option<&Path>,
    out: OutputParams,
    config: &ValidDetectConfig,
    progress: &dyn ScanProgress,
) -> Result<DetectSummary> {
    let mut out = out.input(model_dir).input(tile_path);
    if let Some(catalogue) = catalogue_path {
        out = out.input(catalogue);
    }
    // Refused before the work, not after it.
    let out = out.check()?;
    let model = CraterCnn::load(model_dir)?;
    if model.config().input_size != PATCH_SIDE {
        return Err(Error::ModelInput {
            path: model_dir.into(),
            input: model.config().input_size,
        });
    }
    let tile = Tile::load(tile_path)?;
    let catalogue = catalogue_path.map(read_catalogue).transpose()?;
    let detections = detect_with_progress(&model, &tile, config, progress)?;
    let evaluation = catalogue
        .as_ref()
        .map(|c| evaluate(&detections.detections, c, config))
        .transpose()?;
    let scored = catalogue.as_ref().map(|c| catalogue_circles(c, config).0);
    // The overlay is an RGB copy of the image: three times its memory. Beyond
    // OVERLAY_MAX_PIXELS it is left out, so a mosaic's scan stays within its bound.
    let overlay_written = tile.width() * tile.height() <= OVERLAY_MAX_PIXELS;
    let operating: Vec<Detection> = detections
        .detections
        .iter()
        .filter(|d| d.score >= config.threshold)
        .copied()
        .collect();
    out.write_folder(|dir| -> Result<()> {
        // What a user gets are the detections at the operating threshold; every hypothesis
        // the scan kept (down to min_score) goes to a file of its own.
        write_atomic(&dir.join("detections.csv"), detections_csv(&operating).as_bytes())?;
        write_atomic(
            &dir.join("hypotheses.csv"),
            detections_csv(&detections.detections).as_bytes(),
        )?;
        if overlay_written {
            let picture = overlay(
                &tile,
                &detections.detections,
                evaluation.as_ref().zip(scored.as_deref()),
                config.threshold,
            );
            let mut png = Vec::new();
            let overlay_path = dir.join("overlay.png");
            picture
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| Error::Encode {
                    path: out.path().join("overlay.png"),
                    message: e.to_string(),
                })?;
            write_atomic(&overlay_path, &png)?;
        }
        let metrics = serde_json::json!({
            "model": model_dir,
            "tile": tile_path,
            "tile_size": [tile.width(), tile.height()],
            "catalogue": catalogue_path,
            "config": &**config,
            "pyramid_radii": config.radii(),
            "windows": detections.windows,
            "scan": detections.method,
            "pieces": detections.pieces,
            "seconds": detections.seconds,
            "threshold": config.threshold,
            "detections": operating.len(),
            "hypotheses": detections.detections.len(),
            "overlay": overlay_written,
            "evaluation": evaluation,
        });
        // A `serde_json::Value` always serialises (non-finite floats become null).
        let text = serde_json::to_string_pretty(&metrics).unwrap_or_default();
        write_atomic(&dir.join("metrics.json"), format!("{text}\n").as_bytes())?;
        Ok(())
    })?;
    Ok(DetectSummary {
        detections,
        evaluation,
        overlay: overlay_written,
        at_threshold: operating.len(),
    })
}
