//! Training and inference throughput of the seed network, measured like the PyTorch and
//! Keras peer scripts (`../shared/peer/`) so that the figures compare one to one.

use std::time::Instant;

use craters_dataset::synth::{SynthParams, generate};

use crate::config::{Kernels, SeedCnnConfig};
use crate::error::Result;
use crate::model::{CraterCnn, PREDICT_BATCH};
use crate::train::{TrainConfig, Trainer};

/// What to measure. `Default`: 3000 generated patches, 3 epochs, batch 32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchParams {
    /// Training images (generated, 64% craters).
    pub n_train: usize,
    /// Epochs; the first is a warm-up and not timed when there are several.
    pub epochs: usize,
    /// Images per training step.
    pub batch_size: usize,
    /// Seed of the data, the weights and the run.
    pub seed: u64,
    /// Fused custom ops or candle's own (the reference).
    pub kernels: Kernels,
}

impl Default for BenchParams {
    fn default() -> Self {
        BenchParams {
            n_train: 3000,
            epochs: 3,
            batch_size: 32,
            seed: 0,
            kernels: Kernels::Fused,
        }
    }
}

/// The figures, under the peer scripts' key names.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchReport {
    /// "craters".
    pub framework: &'static str,
    /// Which convolution kernels ran.
    pub kernels: Kernels,
    /// Version of candle it runs on.
    pub version: &'static str,
    /// Worker threads (set by the caller; recorded here).
    pub threads: usize,
    /// Images per training step.
    pub batch_size: usize,
    /// Training images.
    pub n_train: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Training images per second over the timed epochs.
    pub train_images_per_s: f64,
    /// Inference images per second, batches of 256 after one warm-up batch.
    pub infer_images_per_s: f64,
    /// Trainable parameters.
    pub params: usize,
    /// Where the images came from.
    pub data: &'static str,
    /// Seconds of each epoch, warm-up included.
    pub epoch_secs: Vec<f64>,
    /// Mean training loss of the last epoch.
    pub final_loss: f64,
}

/// Candle's version, as the peer scripts report their framework's.
pub const CANDLE_VERSION: &str = "0.11";

/// Trains the seed network on generated patches and times training and inference.
pub fn run(params: &BenchParams, threads: usize) -> Result<BenchReport> {
    let synth = SynthParams::default()
        .seed(params.seed)
        .n_train(params.n_train)
        .n_extra(0)
        .n_test(0)
        .check()?;
    let train = generate(&synth).train.to_dataset("generated patches")?;
    let config = SeedCnnConfig {
        kernels: params.kernels,
        ..SeedCnnConfig::default()
    };
    let model = CraterCnn::new(&config, params.seed)?;
    let outcome = Trainer::new(
        TrainConfig {
            epochs: params.epochs,
            batch_size: params.batch_size,
            seed: params.seed,
            restore_best: false,
            ..TrainConfig::default()
        }
        .check()?,
    )
    .fit(&model, &train, None, None)?;
    let secs = &outcome.epoch_seconds;
    let timed = if secs.len() > 1 { &secs[1..] } else { &secs[..] };
    let train_images_per_s = (params.n_train * timed.len()) as f64 / timed.iter().sum::<f64>();

    let pixels = train.pixels();
    let warm_up = PREDICT_BATCH.min(train.len()) * train.pixels().len() / train.len();
    model.logits(&pixels[..warm_up])?;
    let started = Instant::now();
    model.logits(pixels)?;
    let infer_images_per_s = train.len() as f64 / started.elapsed().as_secs_f64();

    Ok(BenchReport {
        framework: "craters",
        kernels: params.kernels,
        version: CANDLE_VERSION,
        threads,
        batch_size: params.batch_size,
        n_train: params.n_train,
        epochs: params.epochs,
        train_images_per_s: round1(train_images_per_s),
        infer_images_per_s: round1(infer_images_per_s),
        params: config.parameter_count()?,
        data: "generated",
        epoch_secs: secs.iter().map(|s| (s * 1000.0).round() / 1000.0).collect(),
        final_loss: outcome
            .history
            .epochs
            .last()
            .map_or(f64::NAN, |r| (r.loss * 1e4).round() / 1e4),
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// This machine's single-precision matrix-multiply rate in GFLOP/s: the best of three
/// 1024 × 1024 × 1024 products with the `gemm` crate on `threads` threads (rayon's global
/// pool). The bound a convolution's FLOP count is compared against.
pub fn sgemm_gflops(threads: usize) -> f64 {
    const N: usize = 1024;
    let a: Vec<f32> = (0..N * N).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect();
    let b: Vec<f32> = (0..N * N).map(|i| ((i % 13) as f32 - 6.0) / 6.0).collect();
    let mut c = vec![0.0f32; N * N];
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        // SAFETY: three contiguous row-major N × N matrices, strides (1, N).
        unsafe {
            gemm::gemm(
                N,
                N,
                N,
                c.as_mut_ptr(),
                1,
                N as isize,
                false,
                a.as_ptr(),
                1,
                N as isize,
                b.as_ptr(),
                1,
                N as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    2.0 * (N * N * N) as f64 / best / 1e9
}
