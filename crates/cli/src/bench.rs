//! `craters bench`.

use anyhow::Context;
use craters_model::Kernels;
use craters_model::bench::{self, BenchParams};

use crate::args::{BenchArgs, KernelsArg};

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
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
