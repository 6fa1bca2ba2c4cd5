//! `craters bench`.

use anyhow::Context;
use craters_dataset::Tile;
use craters_detect::{DetectConfig, ScanMethod, dense_work};
use craters_model::Kernels;
use craters_model::bench::{self, BenchParams, sgemm_gflops};

use crate::args::{BenchArgs, KernelsArg};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.peers {
        // Every run is a process of its own, with its own thread settings.
        return crate::bench_peers::run(args);
    }
    let threads = match args.threads {
        Some(0) => anyhow::bail!("--threads 0: expected at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // candle sizes its matmul work from RAYON_NUM_THREADS and runs it on rayon's global
    // pool; both must say the same before the first tensor operation.
    // SAFETY: no other thread exists yet (nothing has touched rayon or candle so far).
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .context("cannot start the worker threads")?;
    if args.detect {
        return detect(args, threads);
    }
    let params = BenchParams {
        n_train: args.n_train,
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        kernels: match args.kernels {
            KernelsArg::Fused => Kernels::Fused,
            KernelsArg::Candle => Kernels::Candle,
        },
    };
    let report = bench::run(&params, threads)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "seed CNN ({} parameters, {} kernels), {} generated images, batch {}, {} thread(s)",
            report.params,
            match report.kernels {
                Kernels::Fused => "fused",
                Kernels::Candle => "candle",
            },
            report.n_train,
            report.batch_size,
            report.threads
        );
        println!(
            "training:  {:>9.1} images/s (epochs after the first; epoch seconds {})",
            report.train_images_per_s,
            report
                .epoch_secs
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "inference: {:>9.1} images/s (batches of 256)",
            report.infer_images_per_s
        );
        println!("final training loss {}", report.final_loss);
    }
    Ok(())
}

/// `craters bench --detect`: both scans of one image, alternately, and the dense pass's
/// arithmetic against the machine's matrix-multiply rate.
fn detect(args: &BenchArgs, threads: usize) -> anyhow::Result<()> {
    let (Some(model_dir), Some(tile_path)) = (&args.model, &args.tile) else {
        anyhow::bail!("--detect needs --model and --tile");
    };
    if args.rounds == 0 {
        anyhow::bail!("--rounds 0: expected at least 1");
    }
    // A model folder or a detector folder (an ensemble scans with every member).
    let detector = craters_detect::Detector::load(model_dir)?;
    let model = detector.model();
    let tile = Tile::load(tile_path)?;
    let config = DetectConfig::default().check()?;
    let with = |scan: ScanMethod| -> anyhow::Result<_> {
        Ok(DetectConfig {
            scan,
            ..(*config).clone()
        }
        .check()?)
    };
    let (dense, windows) = (with(ScanMethod::Dense)?, with(ScanMethod::Windows)?);
    let mut seconds: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut counts = [0usize; 2];
    let mut found = [0usize; 2];
    for round in 1..=args.rounds {
        for (k, config) in [&dense, &windows].into_iter().enumerate() {
            let d = craters_detect::detect_with_progress(
                &detector.members,
                &tile,
                config,
                &craters_detect::NoProgress,
            )?;
            eprintln!(
                "round {round}: {} {:.3} s ({} windows)",
                ["dense", "per window"][k],
                d.seconds,
                d.windows
            );
            seconds[k].push(d.seconds);
            counts[k] = d.windows;
            found[k] = d.detections.len();
        }
    }
    let gflops = sgemm_gflops(threads);
    let (level_pixels, flops) = dense_work(model, &dense, tile.width(), tile.height())?;
    let flops = flops * detector.members.len() as f64;
    let bound = flops / (gflops * 1e9);
    println!(
        "{} ({}×{}), model {}, {} thread(s), {} rounds alternating; medians (min–max)",
        tile_path.display(),
        tile.width(),
        tile.height(),
        model_dir.display(),
        threads,
        args.rounds
    );
    println!("| scan | seconds | windows | windows/s | detections |");
    println!("|---|---|---|---|---|");
    for (k, name) in ["dense", "per window"].into_iter().enumerate() {
        let (median, lo, hi) = spread(&seconds[k]);
        println!(
            "| {name} | {median:.3} ({lo:.3}–{hi:.3}) | {} | {:.0} | {} |",
            counts[k],
            counts[k] as f64 / median,
            found[k]
        );
    }
    let dense_median = spread(&seconds[0]).0;
    println!(
        "dense is {:.1}× per window; its arithmetic: {:.1} M level pixels, {:.1} GFLOP, {:.3} s at this machine's {:.0} GFLOP/s sgemm = {:.0}% of that bound",
        spread(&seconds[1]).0 / dense_median,
        level_pixels / 1e6,
        flops / 1e9,
        bound,
        gflops,
        100.0 * bound / dense_median
    );
    Ok(())
}

/// Median, minimum and maximum.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}
