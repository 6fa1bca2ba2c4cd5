//! `craters reproduce`, `craters train` and `craters selftrain`: the experiment's config
//! with the command line's overrides, handed to `craters_experiment`.

use std::path::PathBuf;

use anyhow::Context;
use craters_dataset::OutputParams;
use craters_experiment::{self as experiment, ExperimentConfig, RunOptions, SLIDES, ValidExperimentConfig};
use craters_metrics::Report;
use craters_selftrain::Criterion;

use crate::args::{ExperimentArgs, ReproduceArgs, StageArgs};
use crate::progress;

/// Reads the config, applies the flags given, and checks the result once.
fn resolve(args: &ExperimentArgs, seeds: Option<&[u64]>) -> anyhow::Result<ValidExperimentConfig> {
    let path = &args.config;
    let mut config = ExperimentConfig::read(path)?;
    let read = config.clone();
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
    if let Some(seeds) = seeds {
        config.seeds = seeds.to_vec();
    }
    let whose = if config == read {
        String::new()
    } else {
        " with the command line's options".into()
    };
    config
        .check()
        .with_context(|| format!("{}{whose}", path.display()))
}

fn line(report: &Report) -> String {
    let c = report.confusion;
    format!(
        "F1 {:.4}, recall {:.4}, accuracy {:.4}, TN/FP/FN/TP {}/{}/{}/{}",
        report.f1, report.recall, report.accuracy, c.tn, c.fp, c.fn_, c.tp
    )
}

pub fn run(args: &ReproduceArgs) -> anyhow::Result<()> {
    let config = resolve(&args.experiment, args.seeds.as_deref())?;
    let out = args.out.clone().unwrap_or_else(|| {
        let config_path = &args.experiment.config;
        let stem = config_path
            .file_stem()
            .map_or("run".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("runs").join(stem)
    });
    let summary = experiment::reproduce(
        &config,
        &RunOptions {
            out,
            force: args.force,
            progress: progress::stderr(),
        },
    )?;
    println!("run folder: {}", summary.out.display());
    for run in &summary.seeds {
        let (report, set) = run.headline();
        println!(
            "seed {}: {set} {}, val loss {:.4}",
            run.seed,
            line(report),
            run.validation_final.log_loss
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

pub fn train(args: &StageArgs) -> anyhow::Result<()> {
    let config = resolve(&args.experiment, None)?;
    let seed = args.seed.unwrap_or(config.seeds[0]);
    let out = OutputParams::new(&args.out).force(args.force);
    let outcome = experiment::train(&config, seed, out, &progress::stderr())?;
    if let Some((epoch, loss)) = outcome.best {
        println!("best epoch {epoch}: validation loss {loss:.4}");
    }
    println!(
        "wrote the model folder {} (model.safetensors, config.json, history.csv)",
        args.out.display()
    );
    Ok(())
}

pub fn selftrain(args: &StageArgs) -> anyhow::Result<()> {
    let config = resolve(&args.experiment, None)?;
    let seed = args.seed.unwrap_or(config.seeds[0]);
    let out = OutputParams::new(&args.out).force(args.force);
    let run = experiment::selftrain(&config, seed, out, &progress::stderr())?;
    for round in &run.selftrain_rounds {
        println!(
            "round {}: added {} as class 0 and {} as class 1",
            round.round, round.added_per_class[0], round.added_per_class[1]
        );
    }
    println!("validation: stage 1 {}", line(&run.validation_initial));
    println!("validation: final   {}", line(&run.validation_final));
    if let (Some(initial), Some(last)) = (&run.test_initial, &run.test_final) {
        println!("test: stage 1 {}", line(initial));
        println!("test: final   {}", line(last));
    }
    println!(
        "wrote {0}/models/initial, {0}/models/final, {0}/history.csv and the test predictions",
        args.out.display()
    );
    Ok(())
}
