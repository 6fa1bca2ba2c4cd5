//! Does unlabelled data help? For each share of labels: supervised training alone, the
//! seed's self-training protocol, supervised training with the better recipe, and
//! consistency training (FixMatch) with that recipe — each over several seeds.
//!
//! ```sh
//! cargo run --release --example selftrain_study -- [--seeds 1,2,3] [--fractions 0.1,0.25,1] \
//!     [--seed-config configs/default.toml] [--semi-config configs/semi.toml] \
//!     [--out runs/selftrain-study] [--force] [--leave-one-out]
//! ```
//! The HRSC rows: `--seed-config configs/hrsc.toml --semi-config configs/hrsc-semi.toml
//! --fractions 1` (the East tile), with `--leave-one-out` each tile in turn as well (the
//! configs' `[cross_tile]`; without the flag it is skipped).
//! Every cell is one `craters reproduce` run (`--config` plus `[data] label_fraction` and
//! `seeds`), kept under `--out`:
//! - "supervised" and "seed protocol": the seed config's stage 1, and its final model
//!   after p < 0.25 → class 0 and stage 2;
//! - "recipe alone": the semi config without its `[consistency]` section (augmentation that
//!   keeps the sun's side, balanced class weights, more steps): what the labels alone give
//!   with the same training;
//! - "consistency": the semi config as it is, the extra set as unlabelled data.
//!
//! Test F1 (class 1, threshold 0.5) on the hidden test labels, mean ± sample std over the
//! seeds; the test set is used for nothing else. The last column is the share of correct
//! targets among the confident weak-view predictions in consistency training's last epoch
//! (the extra set's hidden labels; never trained on).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use craters::experiment::{ExperimentConfig, RunOptions, RunSummary, reproduce};

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn list<T: std::str::FromStr>(args: &[String], name: &str, default: &str) -> Result<Vec<T>, Box<dyn Error>> {
    flag(args, name)
        .unwrap_or(default)
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| format!("{name}: cannot read {v:?}").into())
        })
        .collect()
}

/// Mean ± sample std.
fn mean_std(values: &[f64]) -> String {
    if values.is_empty() {
        return "–".into();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    format!("{mean:.4} ± {:.4}", var.sqrt())
}

/// Runs `config` with `seeds` and `fraction` of the labels into `out/name`.
fn run(
    config: &ExperimentConfig,
    seeds: &[u64],
    fraction: f64,
    out: &Path,
    name: &str,
    (force, leave_one_out): (bool, bool),
) -> Result<RunSummary, Box<dyn Error>> {
    let mut config = config.clone();
    config.seeds = seeds.to_vec();
    config.data.label_fraction = fraction;
    if !leave_one_out {
        config.cross_tile.tiles.clear();
    }
    let started = Instant::now();
    let mut options = RunOptions::new(out.join(name));
    options.force = force;
    let summary = reproduce(&config.check()?, &options)?;
    eprintln!("{name}: {:.0} s", started.elapsed().as_secs_f64());
    Ok(summary)
}

fn test_f1(summary: &RunSummary, initial: bool) -> Result<Vec<f64>, Box<dyn Error>> {
    summary
        .seeds
        .iter()
        .map(|run| {
            let report = if initial {
                &run.test_initial
            } else {
                &run.test_final
            };
            Ok(report.as_ref().ok_or("the test set has hidden labels")?.f1)
        })
        .collect()
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seeds: Vec<u64> = list(&args, "--seeds", "1,2,3")?;
    let fractions: Vec<f64> = list(&args, "--fractions", "0.1,0.25,1")?;
    let seed_config = ExperimentConfig::read(Path::new(
        flag(&args, "--seed-config").unwrap_or("configs/default.toml"),
    ))?;
    let semi = ExperimentConfig::read(Path::new(
        flag(&args, "--semi-config").unwrap_or("configs/semi.toml"),
    ))?;
    if semi.consistency.is_none() {
        return Err("--semi-config: the config has no [consistency] section".into());
    }
    let recipe = ExperimentConfig {
        consistency: None,
        ..semi.clone()
    };
    let out = PathBuf::from(flag(&args, "--out").unwrap_or("runs/selftrain-study"));
    let flags = (
        args.iter().any(|a| a == "--force"),
        args.iter().any(|a| a == "--leave-one-out"),
    );
    let started = Instant::now();
    println!(
        "| labels used | supervised | seed protocol | recipe alone | consistency | consistency targets right (last epoch) |"
    );
    println!("|---|---|---|---|---|---|");
    for &fraction in &fractions {
        let tag = format!("{:.0}pct", fraction * 100.0);
        let seed_runs = run(
            &seed_config,
            &seeds,
            fraction,
            &out,
            &format!("seed-{tag}"),
            flags,
        )?;
        let recipe_runs = run(&recipe, &seeds, fraction, &out, &format!("recipe-{tag}"), flags)?;
        let semi_runs = run(
            &semi,
            &seeds,
            fraction,
            &out,
            &format!("consistency-{tag}"),
            flags,
        )?;
        let targets: Vec<f64> = semi_runs
            .seeds
            .iter()
            .filter_map(|r| {
                r.histories
                    .first()?
                    .epochs
                    .last()?
                    .unlabelled
                    .as_ref()?
                    .target_precision
            })
            .collect();
        println!(
            "| {:.0}% | {} | {} | {} | {} | {} |",
            fraction * 100.0,
            mean_std(&test_f1(&seed_runs, true)?),
            mean_std(&test_f1(&seed_runs, false)?),
            mean_std(&test_f1(&recipe_runs, false)?),
            mean_std(&test_f1(&semi_runs, false)?),
            mean_std(&targets),
        );
        // Each tile left out in turn (final models only).
        for (k, tile) in semi_runs.cross_tile.iter().enumerate() {
            let f1 = |runs: &RunSummary| -> Vec<f64> {
                runs.cross_tile
                    .get(k)
                    .map(|t| t.test_final.iter().map(|(_, r)| r.f1).collect())
                    .unwrap_or_default()
            };
            println!(
                "| {:.0}%, tile {} left out | – | {} | {} | {} | |",
                fraction * 100.0,
                tile.tile,
                mean_std(&f1(&seed_runs)),
                mean_std(&f1(&recipe_runs)),
                mean_std(&f1(&semi_runs)),
            );
        }
    }
    println!(
        "\n{} seeds ({seeds:?}), test F1 on the hidden test labels, mean ± std; {:.0} s in all; runs in {}",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}
