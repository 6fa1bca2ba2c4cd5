//! `craters reproduce`.

use std::path::PathBuf;

use craters::experiment::{ExperimentConfig, RunOptions, SLIDES, reproduce};
use craters::model::Progress;
use craters::selftrain::Criterion;

use crate::args::ReproduceArgs;

pub fn run(args: &ReproduceArgs) -> anyhow::Result<()> {
    let mut config = ExperimentConfig::load(&args.config)?;
    if let Some(seeds) = &args.seeds {
        config.seeds = seeds.clone();
    }
    if let Some(lr) = args.initial_lr {
        config.stage1.learning_rate = lr;
    }
    if let Some(lr) = args.final_lr {
        config.stage2.learning_rate = lr;
    }
    if let Some(epochs) = args.initial_epochs {
        config.stage1.epochs = epochs;
    }
    if let Some(epochs) = args.final_epochs {
        config.stage2.epochs = epochs;
    }
    if let Some(threshold) = args.threshold {
        config.threshold = threshold;
    }
    if args.pseudo_neg.is_some() || args.pseudo_pos.is_some() {
        let (neg, pos) = match config.selftrain.criterion {
            Criterion::Threshold { neg, pos } => (neg, pos),
            Criterion::KBest { .. } => (None, None),
        };
        config.selftrain.criterion = Criterion::Threshold {
            neg: args.pseudo_neg.or(neg),
            pos: args.pseudo_pos.or(pos),
        };
    }
    config.check()?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .map_or("run".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("runs").join(stem)
    });
    let summary = reproduce(
        &config,
        &RunOptions {
            out,
            force: args.force,
            progress: Progress::Auto,
        },
    )?;
    println!("run folder: {}", summary.out.display());
    for run in &summary.seeds {
        let (report, set) = match &run.test_final {
            Some(r) => (r, "test"),
            None => (&run.validation_final, "validation"),
        };
        let c = report.confusion;
        println!(
            "seed {}: {set} F1 {:.4}, recall {:.4}, accuracy {:.4}, val loss {:.4}, TN/FP/FN/TP {}/{}/{}/{}",
            run.seed,
            report.f1,
            report.recall,
            report.accuracy,
            run.validation_final.log_loss,
            c.tn,
            c.fp,
            c.fn_,
            c.tp
        );
    }
    println!(
        "slides: F1 {}, recall {}, accuracy {}, val loss {}",
        SLIDES.f1, SLIDES.recall, SLIDES.accuracy, SLIDES.val_loss
    );
    println!(
        "wrote {}/report.md, metrics.json, history.csv, models/, plots/ in {:.1} s",
        summary.out.display(),
        summary.seconds
    );
    Ok(())
}
