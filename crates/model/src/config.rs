//! The network's shape, as plain data.

use crate::error::{Error, Result};

/// Hyper-parameters of [`crate::SeedCnn`]; `Default` is the seed experiment's network.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedCnnConfig {
    /// Side of the square grayscale input. Default 48.
    pub input_size: usize,
    /// Filters of the first convolution. Default 16.
    pub conv1_filters: usize,
    /// Filters of the second convolution. Default 32.
    pub conv2_filters: usize,
    /// Side of both (valid, stride 1) convolution kernels. Default 3.
    pub kernel: usize,
    /// Side and stride of the first max-pool. Default 3.
    pub pool1: usize,
    /// Side and stride of the second max-pool. Default 2.
    pub pool2: usize,
    /// Width of the hidden dense layer. Default 8.
    pub dense: usize,
    /// Dropout rate before the output layer, in [0, 1). Default 0.5.
    pub dropout: f64,
    /// How the convolution blocks are computed. Default fused.
    pub kernels: Kernels,
    /// What each image goes through before the first convolution. Default raw. Saved with
    /// the model, so prediction applies it by itself.
    pub input_norm: InputNorm,
}

/// Per-image preprocessing inside the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputNorm {
    /// Pixels as given (the seed network: [0, 1]).
    #[default]
    Raw,
    /// Each image shifted to mean 0 and divided by its standard deviation (plus 1e-3, so
    /// that a flat patch stays finite): contrast normalisation, for real images whose
    /// brightness and contrast vary from block to block.
    PerImage,
    /// Pixels as given, from an image that was standardised as a whole
    /// (`craters_dataset::Stretch::Standardise`) before the windows were cut: training
    /// blocks come from standardised tiles, and a detector standardises the image it scans.
    /// The network itself passes pixels through as `Raw` does; unlike `PerImage`, the
    /// normalisation commutes with the convolutions, so detection runs fully
    /// convolutionally.
    PerTile,
    /// Pixels standardised one by one over the 48×48 square around each
    /// (`craters_dataset::Stretch::Local`), before the windows were cut: training blocks
    /// are cut that way, and a detector standardises each pyramid level likewise. The
    /// network maps them as for `PerTile`. Adapts to the crater size as `PerImage` does,
    /// and commutes with the convolutions as `PerTile` does.
    Local,
}

impl InputNorm {
    /// Whether a detector scanning an image can share work between overlapping windows:
    /// true when no window is normalised on its own.
    pub fn convolves(&self) -> bool {
        !matches!(self, InputNorm::PerImage)
    }
}

/// How the convolution blocks (conv + bias + ReLU + max-pool) are computed. Both give the
/// same function and gradients up to float rounding; checkpoints are interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernels {
    /// One candle custom op per block with a hand-written backward pass (fast on CPU).
    #[default]
    Fused,
    /// candle's own `conv2d`, `relu` and reshape-based pooling: the reference.
    Candle,
}

impl Default for SeedCnnConfig {
    fn default() -> Self {
        SeedCnnConfig {
            input_size: 48,
            conv1_filters: 16,
            conv2_filters: 32,
            kernel: 3,
            pool1: 3,
            pool2: 2,
            dense: 8,
            dropout: 0.5,
            kernels: Kernels::Fused,
            input_norm: InputNorm::Raw,
        }
    }
}

/// Spatial sizes through the network, from input to the last pooled map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shapes {
    /// Input side (48).
    pub input: usize,
    /// After the first convolution (46).
    pub conv1: usize,
    /// After the first pool (15).
    pub pool1: usize,
    /// After the second convolution (13).
    pub conv2: usize,
    /// After the second pool (6).
    pub pool2: usize,
    /// Length of the flattened features (1152).
    pub flat: usize,
}

/// The largest input side a network may take.
pub const MAX_INPUT_SIZE: usize = 1024;
/// The most trainable parameters a network may have (200 MB of f32 weights; the seed
/// network has 14,033).
pub const MAX_PARAMETERS: usize = 50_000_000;

fn too_many(largest: usize) -> Error {
    Error::InvalidConfig {
        field: "network",
        value: format!("layers of up to {largest} units"),
        expected: format!("at most {MAX_PARAMETERS} parameters in all"),
    }
}

impl SeedCnnConfig {
    /// Checks the values and works out the sizes of every stage.
    pub fn shapes(&self) -> Result<Shapes> {
        let invalid = |field: &'static str, value: String, expected: String| Error::InvalidConfig {
            field,
            value,
            expected,
        };
        for (field, value) in [
            ("input_size", self.input_size),
            ("conv1_filters", self.conv1_filters),
            ("conv2_filters", self.conv2_filters),
            ("kernel", self.kernel),
            ("pool1", self.pool1),
            ("pool2", self.pool2),
            ("dense", self.dense),
        ] {
            if value == 0 {
                return Err(invalid(field, "0".into(), "at least 1".into()));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid(
                "dropout",
                self.dropout.to_string(),
                "a rate in [0, 1)".into(),
            ));
        }
        let input = self.input_size;
        let valid = |side: usize, stage: &str| -> Result<usize> {
            if side < self.kernel {
                return Err(invalid(
                    "input_size",
                    input.to_string(),
                    format!(
                        "large enough for every stage, but {stage} gets a {side} px map, smaller than its {} px kernel",
                        self.kernel
                    ),
                ));
            }
            Ok(side - self.kernel + 1)
        };
        let pool = |side: usize, size: usize, field: &'static str| -> Result<usize> {
            if size > side {
                return Err(invalid(
                    field,
                    size.to_string(),
                    format!("at most the {side} px map it pools (from input_size {input})"),
                ));
            }
            Ok(side / size)
        };
        if input > MAX_INPUT_SIZE {
            return Err(invalid(
                "input_size",
                input.to_string(),
                format!("at most {MAX_INPUT_SIZE} px"),
            ));
        }
        let conv1 = valid(input, "conv1")?;
        let pool1 = pool(conv1, self.pool1, "pool1")?;
        let conv2 = valid(pool1, "conv2")?;
        let pool2 = pool(conv2, self.pool2, "pool2")?;
        Ok(Shapes {
            input: self.input_size,
            conv1,
            pool1,
            conv2,
            pool2,
            flat: (pool2 * pool2)
                .checked_mul(self.conv2_filters)
                .ok_or_else(|| too_many(self.conv2_filters))?,
        })
    }

    /// The shape of every trainable tensor, by its name in a model file; checked against
    /// [`MAX_PARAMETERS`] before anything is allocated.
    pub fn parameter_shapes(&self) -> Result<Vec<(&'static str, Vec<usize>)>> {
        let s = self.shapes()?;
        let (c1, c2, k, dense) = (self.conv1_filters, self.conv2_filters, self.kernel, self.dense);
        let shapes = vec![
            ("conv1.weight", vec![c1, 1, k, k]),
            ("conv1.bias", vec![c1]),
            ("conv2.weight", vec![c2, c1, k, k]),
            ("conv2.bias", vec![c2]),
            ("dense1.weight", vec![dense, s.flat]),
            ("dense1.bias", vec![dense]),
            ("dense2.weight", vec![1, dense]),
            ("dense2.bias", vec![1]),
        ];
        let count = shapes.iter().try_fold(0usize, |total, (_, dims)| {
            dims.iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .and_then(|n| total.checked_add(n))
        });
        match count {
            Some(n) if n <= MAX_PARAMETERS => Ok(shapes),
            _ => Err(too_many(c1.max(c2).max(dense))),
        }
    }

    /// Number of trainable parameters (weights and biases).
    pub fn parameter_count(&self) -> Result<usize> {
        Ok(self
            .parameter_shapes()?
            .iter()
            .map(|(_, dims)| dims.iter().product::<usize>())
            .sum())
    }
}
