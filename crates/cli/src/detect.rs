//! `craters detect`.

use craters_dataset::OutputParams;
use craters_detect::{DetectConfig, ScanMethod, run as detect_tile};

use crate::progress::ScanBar;

use crate::args::DetectArgs;

pub fn run(args: &DetectArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => DetectConfig::load(path)?,
        None => DetectConfig::default().check()?,
    };
    if let Some(threshold) = args.threshold {
        config = config.with_threshold(threshold)?;
    }
    if args.scan.is_some() || args.piece.is_some() {
        let mut settings = (*config).clone();
        settings.scan = args.scan.map_or(settings.scan, Into::into);
        settings.piece = args.piece.unwrap_or(settings.piece);
        config = settings.check()?;
    }
    let mut out = OutputParams::new(&args.out).force(args.force);
    if let Some(settings) = &args.config {
        out = out.input(settings);
    }
    let bar = ScanBar::stderr();
    let summary = detect_tile(
        &args.model,
        &args.tile,
        args.catalogue.as_deref(),
        out,
        &config,
        &bar,
    )?;
    let d = &summary.detections;
    println!(
        "{}: {} windows ({}, {} piece{}) in {:.2} s ({:.0} windows/s), {} detections at score ≥ {} ({} hypotheses); wrote {}/detections.csv, hypotheses.csv, {}metrics.json",
        args.tile.display(),
        d.windows,
        match d.method {
            ScanMethod::Dense => "dense",
            _ => "per window",
        },
        d.pieces,
        if d.pieces == 1 { "" } else { "s" },
        d.seconds,
        d.windows as f64 / d.seconds,
        summary.at_threshold,
        config.threshold,
        d.detections.len(),
        args.out.display(),
        if summary.overlay { "overlay.png, " } else { "" }
    );
    if let Some(e) = &summary.evaluation {
        let p = e.report.at_threshold;
        println!(
            "{} catalogued craters of {}–{} px: at score ≥ {}: precision {:.4}, recall {:.4}, F1 {:.4} (TP {}, FP {}, FN {}); AP {:.4}",
            e.n_scored_craters,
            config.min_diameter,
            config.max_diameter,
            config.threshold,
            p.precision,
            p.recall,
            p.f1,
            p.true_positives,
            p.false_positives,
            p.false_negatives,
            e.report.average_precision
        );
        if let Some(b) = e.report.best {
            println!(
                "best F1 {:.4} at score ≥ {:.4} (precision {:.4}, recall {:.4})",
                b.f1, b.threshold, b.precision, b.recall
            );
        }
    }
    Ok(())
}
