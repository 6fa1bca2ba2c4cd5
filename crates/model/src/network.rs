//! The seed network in candle.

use std::cell::RefCell;

use candle_core::{D, Module, ModuleT, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{InputNorm, Kernels, SeedCnnConfig, Shapes};
use crate::error::Result;
use crate::fused::{Channels, conv_relu_pool};

/// Conv(16, 3×3) + ReLU → max-pool 3 → Conv(32, 3×3) + ReLU → max-pool 2 → flatten →
/// Dense(8) + ReLU → dropout → Dense(1), giving one logit per image.
///
/// Tensors are named `conv1.weight`, `conv1.bias`, `conv2.*`, `dense1.*`, `dense2.*`.
///
/// # Shapes
/// Input `(N, 1, 48, 48)`, pixels in [0, 1]; output `(N,)` logits.
#[derive(Debug)]
pub struct SeedCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    dense1: Linear,
    dense2: Linear,
    config: SeedCnnConfig,
    shapes: Shapes,
    // Dropout masks come from a seeded RNG: candle's CPU device cannot be seeded.
    dropout_rng: RefCell<ChaCha8Rng>,
}

impl SeedCnn {
    /// Builds the network, fetching or creating its tensors through `vb`. Dropout masks are
    /// drawn from a ChaCha8 RNG seeded with `dropout_seed`.
    pub fn new(config: &SeedCnnConfig, vb: VarBuilder, dropout_seed: u64) -> Result<Self> {
        let shapes = config.shapes()?;
        let conv = Conv2dConfig::default();
        Ok(SeedCnn {
            conv1: candle_nn::conv2d(1, config.conv1_filters, config.kernel, conv, vb.pp("conv1"))?,
            conv2: candle_nn::conv2d(
                config.conv1_filters,
                config.conv2_filters,
                config.kernel,
                conv,
                vb.pp("conv2"),
            )?,
            dense1: candle_nn::linear(shapes.flat, config.dense, vb.pp("dense1"))?,
            dense2: candle_nn::linear(config.dense, 1, vb.pp("dense2"))?,
            config: *config,
            shapes,
            dropout_rng: RefCell::new(ChaCha8Rng::seed_from_u64(dropout_seed)),
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &SeedCnnConfig {
        &self.config
    }

    /// Spatial sizes through the network.
    pub fn shapes(&self) -> Shapes {
        self.shapes
    }

    /// A copy of the dropout RNG in its current state (resumable runs save its position).
    pub fn dropout_rng(&self) -> ChaCha8Rng {
        self.dropout_rng.borrow().clone()
    }

    /// Replaces the dropout RNG, e.g. with one restored from a checkpoint.
    pub fn set_dropout_rng(&self, rng: ChaCha8Rng) {
        *self.dropout_rng.borrow_mut() = rng;
    }

    fn dropout(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let p = self.config.dropout;
        if p == 0.0 {
            return Ok(xs.clone());
        }
        let keep = 1.0 - p;
        let mut rng = self.dropout_rng.borrow_mut();
        let mask: Vec<f64> = (0..xs.elem_count())
            .map(|_| {
                if rng.random::<f64>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, xs.shape(), xs.device())?.to_dtype(xs.dtype())?;
        xs * mask
    }
}

/// Max-pooling with stride = size, windows that overhang the edge dropped (as Keras does).
///
/// Not candle's `max_pool2d`: in candle 0.11 its backward pass routes gradients to the
/// wrong pixels when the side is not a multiple of the size (46 / 3 and 13 / 2 here) and,
/// even when it is, multiplies them by the window's share of maxima (1/size² for a single
/// maximum) instead of dividing by the number of maxima. Here the map is cropped to whole
/// windows, split into them by a reshape and reduced with `max`, whose backward pass sends
/// the gradient to the maximum unscaled.
pub fn max_pool(xs: &Tensor, size: usize) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = xs.dims4()?;
    let (rows, cols) = (h / size, w / size);
    xs.narrow(2, 0, rows * size)?
        .narrow(3, 0, cols * size)?
        .contiguous()?
        .reshape((n, c, rows, size, cols, size))?
        .max(5)?
        .max(3)
}

impl ModuleT for SeedCnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let normalised;
        let xs = match self.config.input_norm {
            InputNorm::Raw => xs,
            InputNorm::PerTile | InputNorm::Local => {
                let (scale, shift) = PER_TILE_AFFINE;
                normalised = xs.affine(f64::from(scale), f64::from(shift))?;
                &normalised
            }
            InputNorm::PerImage => {
                normalised = per_image_standardise(xs)?;
                &normalised
            }
        };
        let xs = match self.config.kernels {
            Kernels::Fused => {
                let block = |conv: &Conv2d, xs: &Tensor, pool: usize, input_grad: bool, channels| {
                    let bias = conv.bias().expect("convolutions are built with a bias");
                    conv_relu_pool(xs, conv.weight(), bias, pool, input_grad, channels)
                };
                // The first block's input is data: its gradient is never needed. Between
                // the blocks, channels last (the kernels' order); after them, candle's
                // order, which the dense layer's weights follow.
                let xs = block(
                    &self.conv1,
                    xs,
                    self.config.pool1,
                    false,
                    (Channels::First, Channels::Last),
                )?;
                block(
                    &self.conv2,
                    &xs,
                    self.config.pool2,
                    true,
                    (Channels::Last, Channels::First),
                )?
            }
            Kernels::Candle => {
                let xs = max_pool(&self.conv1.forward(xs)?.relu()?, self.config.pool1)?;
                max_pool(&self.conv2.forward(&xs)?.relu()?, self.config.pool2)?
            }
        };
        let xs = self.dense1.forward(&xs.flatten_from(1)?)?.relu()?;
        let xs = if train { self.dropout(&xs)? } else { xs };
        self.dense2.forward(&xs)?.squeeze(D::Minus1)
    }
}

/// `x · scale + shift` of [`InputNorm::PerTile`] and [`InputNorm::Local`]: a pixel of a standardised tile (mean
/// `STRETCH_MEAN`, standard deviation `STRETCH_STD` gray levels, given in [0, 1]) becomes a
/// value of mean 0 and standard deviation 1, the scale per-image standardisation gives. At
/// the [0, 1] scale (standard deviation 0.125) the first convolution's weights would have to
/// grow eightfold before the network could tell craters apart, and some leave-one-tile-out
/// runs ended as constant detectors.
pub const PER_TILE_AFFINE: (f32, f32) = (
    (255.0 / craters_dataset::STRETCH_STD) as f32,
    (-craters_dataset::STRETCH_MEAN / craters_dataset::STRETCH_STD) as f32,
);

/// Each image of `(N, C, H, W)` minus its mean, divided by its standard deviation + 1e-3.
pub fn per_image_standardise(xs: &Tensor) -> candle_core::Result<Tensor> {
    let flat = xs.flatten_from(1)?;
    let centred = flat.broadcast_sub(&flat.mean_keepdim(1)?)?;
    let std = (centred.sqr()?.mean_keepdim(1)?.sqrt()? + 1e-3)?;
    centred.broadcast_div(&std)?.reshape(xs.shape())
}

/// Initialises every tensor in `varmap` as Keras does: Glorot-uniform kernels, zero
/// biases, drawn in name order from a ChaCha8 RNG seeded with `seed`.
pub fn keras_init(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        if name.ends_with(".bias") {
            var.set(&var.zeros_like()?)?;
            continue;
        }
        // Keras' fans: (out, in) for dense kernels, (out, in) × receptive field for convs.
        let receptive: usize = dims[2..].iter().product();
        let (fan_out, fan_in) = (dims[0] * receptive, dims[1] * receptive);
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
        let values: Vec<f64> = (0..var.elem_count())
            .map(|_| rng.random_range(-limit..limit))
            .collect();
        var.set(&Tensor::from_vec(values, dims, var.device())?.to_dtype(var.dtype())?)?;
    }
    Ok(())
}

/// Mean binary cross-entropy of logits against 0/1 targets, computed stably as
/// max(z, 0) − z·y + ln(1 + e^−|z|). With per-sample weights it is mean(w · loss), as in
/// Keras (`sum_over_batch_size`) and PyTorch, so a weight below 1 makes a sample count less
/// in absolute terms, not just relative to the rest of its batch.
pub fn bce_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    weights: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let per_sample =
        ((logits.relu()? - (logits * targets)?)? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    match weights {
        None => per_sample.mean_all(),
        Some(w) => (per_sample * w)?.mean_all(),
    }
}
