//! `craters detect`.

use craters_dataset::OutputParams;
use craters_detect::{DetectConfig, Detector, Placement, PlacementParams, ScanMethod, run as detect_image};

use crate::args::DetectArgs;
use crate::progress::ScanBar;

pub fn run(args: &DetectArgs) -> anyhow::Result<()> {
    let image = match (&args.image, &args.tile) {
        (Some(image), _) | (None, Some(image)) => image,
        (None, None) => anyhow::bail!("IMAGE: expected the image to detect craters on"),
    };
    let detector = match &args.model {
        Some(dir) => Detector::load(dir)?,
        None => Detector::shipped()?,
    };
    // The settings file's, else the defaults with the model card's threshold and border
    // margin; --threshold over either.
    let settings = match &args.config {
        Some(path) => Some((*DetectConfig::load(path)?).clone()),
        None => None,
    };
    let mut config = detector.settings(settings, args.threshold)?;
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
    let placement = PlacementParams {
        pixel_size_m: args.pixel_size,
        centre_lonlat: args.lon.zip(args.lat),
        any_gsd: args.any_gsd,
    };
    let bar = ScanBar::stderr();
    let summary = detect_image(
        &detector,
        image,
        args.catalogue.as_deref(),
        &placement,
        out,
        &config,
        &bar,
    )?;
    for note in &summary.notes {
        eprintln!("note: {note}");
    }
    let d = &summary.detections;
    println!(
        "{}: {} windows ({}, {} piece{}) in {:.2} s ({:.0} windows/s) with {}; {} craters at score ≥ {} ({} hypotheses)",
        image.display(),
        d.windows,
        match d.method {
            ScanMethod::Dense => "dense",
            _ => "per window",
        },
        d.pieces,
        if d.pieces == 1 { "" } else { "s" },
        d.seconds,
        d.windows as f64 / d.seconds,
        detector.source.display(),
        summary.craters.len(),
        config.threshold,
        d.detections.len(),
    );
    match (&summary.placement, summary.area.km2, summary.metres_per_pixel) {
        (Placement::Pixels, _, _) => {
            println!("no georeferencing: positions and sizes in pixels (give --pixel-size for km)")
        }
        (_, Some(km2), Some(gsd)) => println!(
            "{gsd:.2} m/px at the centre; counted area {km2:.2} km² ({} pixels hold data)",
            summary.area.pixels
        ),
        _ => {}
    }
    println!("wrote {}/{}", args.out.display(), summary.files.join(", "));
    if let Some(e) = &summary.evaluation {
        let p = e.report.at_threshold;
        println!(
            "{} catalogued craters of {:.1}–{:.1} px: at score ≥ {}: precision {:.4}, recall {:.4}, F1 {:.4} (TP {}, FP {}, FN {}); AP {:.4}",
            e.n_scored_craters,
            config.min_diameter * summary.size_factor,
            config.max_diameter * summary.size_factor,
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
