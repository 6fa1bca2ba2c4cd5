//! `craters train-detector`: a detector folder, or the leave-one-tile-out table.

use std::fmt::Write as _;
use std::path::Path;

use craters_dataset::{OutputParams, write_atomic};
use craters_detect::{
    DetectorRecipe, HeldOutFigures, ModelCard, TrainedDetector, score_held_out, train_detector,
};

use crate::args::TrainDetectorArgs;
use crate::progress;

pub fn run(args: &TrainDetectorArgs) -> anyhow::Result<()> {
    let mut recipe = match &args.config {
        Some(path) => (*DetectorRecipe::load(path)?).clone(),
        None => DetectorRecipe::default(),
    };
    if let Some(root) = &args.root {
        recipe.data.root = root.clone();
    }
    let recipe = recipe.check()?;
    let mut output = OutputParams::new(&args.out).force(args.force);
    if let Some(config) = &args.config {
        output = output.input(config);
    }
    let output = output.input(&recipe.data.root).check()?;
    let progress = progress::stderr();
    output.write_folder(|dir: &Path| -> anyhow::Result<()> {
        if !args.leave_one_out {
            let trained = train_detector(&recipe, &progress)?;
            trained.save(dir, &card(&recipe, args.config.as_deref()))?;
            write_summary(dir, &recipe, &trained, None)?;
            println!(
                "{}: {} networks, threshold {:.3} (median of the training tiles' best-F1 thresholds: {}); {:.0} s",
                args.out.display(),
                trained.members.len(),
                trained.threshold,
                tile_thresholds(&trained),
                trained.seconds
            );
            return Ok(());
        }
        let tiles = recipe.data.train_tiles.clone();
        let mut table = String::from(TABLE_HEADER);
        println!("{}", TABLE_HEADER.trim_end());
        let mut rows = Vec::new();
        for tile in &tiles {
            let fold = recipe.leaving_out(&tiles, tile).check()?;
            let trained = train_detector(&fold, &progress)?;
            let figures = score_held_out(
                &trained.members,
                &fold.data.root,
                tile,
                trained.threshold,
                fold.detect_config(),
            )?;
            let fold_dir = dir.join(tile);
            std::fs::create_dir_all(&fold_dir)?;
            trained.save(&fold_dir, &card(&fold, args.config.as_deref()))?;
            write_summary(&fold_dir, &fold, &trained, Some(&figures))?;
            let line = row(&figures, &trained);
            println!("{line}");
            table.push_str(&line);
            table.push('\n');
            rows.push(figures);
        }
        let summary = mean_line(&rows);
        println!("{summary}");
        table.push_str(&format!("\n{summary}\n"));
        write_atomic(&dir.join("leave-one-out.md"), table.as_bytes())?;
        write_atomic(
            &dir.join("leave-one-out.json"),
            serde_json::to_string_pretty(&rows)?.as_bytes(),
        )?;
        Ok(())
    })
}

const TABLE_HEADER: &str = "| tile left out | craters 16–200 px | threshold (median of the training tiles' best) | strict P / R / F1 | DeepMoon P / R / F1 | AP (strict) | scan s | train s |\n|---|---|---|---|---|---|---|---|\n";

fn row(f: &HeldOutFigures, trained: &TrainedDetector) -> String {
    let (sp, sr, sf) = f.strict;
    let (dp, dr, df) = f.deepmoon;
    format!(
        "| {} | {} | {:.3} ({}) | {sp:.3} / {sr:.3} / **{sf:.3}** | {dp:.3} / {dr:.3} / {df:.3} | {:.3} | {:.2} | {:.0} |",
        f.tile,
        f.craters,
        f.threshold,
        tile_thresholds(trained),
        f.average_precision,
        f.seconds,
        trained.seconds
    )
}

/// Mean ± sample standard deviation of the held-out F1 under both rules.
fn mean_line(rows: &[HeldOutFigures]) -> String {
    let stats = |values: Vec<f64>| {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        (mean, var.sqrt())
    };
    let (sm, ss) = stats(rows.iter().map(|r| r.strict.2).collect());
    let (dm, ds) = stats(rows.iter().map(|r| r.deepmoon.2).collect());
    format!(
        "held-out F1 over {} tiles: strict {sm:.3} ± {ss:.3}, DeepMoon {dm:.3} ± {ds:.3}",
        rows.len()
    )
}

fn tile_thresholds(trained: &TrainedDetector) -> String {
    let mut s = String::new();
    for (i, t) in trained.tile_thresholds.iter().enumerate() {
        let _ = write!(
            s,
            "{}{} {:.3}",
            if i > 0 { ", " } else { "" },
            t.tile,
            t.threshold
        );
    }
    s
}

/// The card of a detector trained by `recipe`: its threshold is filled in on saving, and it
/// carries the recipe's border margin, under which that threshold was chosen.
fn card(recipe: &DetectorRecipe, config: Option<&Path>) -> ModelCard {
    let tiles = &recipe.data.train_tiles;
    let margin = recipe.detect.border_margin;
    let recipe = config.map_or("the built-in recipe".into(), |p| p.display().to_string());
    ModelCard {
        name: "hrsc-detector".into(),
        trained_on: format!(
            "HRSC h0905_0000 tiles {} (Xanthe Terra, Mars): labelled candidates, catalogue craters and mined hypotheses ({recipe}, craters train-detector)",
            tiles.join(", ")
        ),
        ground_sampling_m: 12.5,
        input: "one band of gray levels, north up, lit from the west; 8-bit as the HRSC nadir panchromatic tiles, wider samples stretched; each pixel standardised over the 48×48 square around it".into(),
        smallest_reliable_diameter_m: 200.0,
        threshold: 0.5,
        border_margin: (margin > 0.0).then_some(margin),
    }
}

fn write_summary(
    dir: &Path,
    recipe: &DetectorRecipe,
    trained: &TrainedDetector,
    held_out: Option<&HeldOutFigures>,
) -> anyhow::Result<()> {
    let summary = serde_json::json!({
        "recipe": recipe,
        "threshold": trained.threshold,
        "tile_thresholds": trained.tile_thresholds,
        "base_blocks": trained.base_blocks,
        "mined": trained.mined,
        "members": trained.members.len(),
        "seconds": trained.seconds,
        "held_out": held_out,
    });
    write_atomic(
        &dir.join("training.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(())
}
