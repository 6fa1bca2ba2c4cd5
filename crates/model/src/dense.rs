//! Fully convolutional scoring: the seed network run once over a whole image, giving the
//! score of every 48×48 window on a grid.
//!
//! Why: a detector slides the network over an image, and neighbouring windows share most of
//! their pixels. Cut out one by one, a 1700×1700 tile is 208,488 windows of 2.2 MFLOP each.
//! Run over the image instead, each convolution is computed once per image position: the
//! first block's map is shared by every window that covers it, the pools' strides (3 and 2)
//! make windows 6 pixels apart share the second block's map, and the dense layer over the
//! 6×6×32 map is a 6×6 convolution of it. Windows at other offsets (a step of 3, 2 or 1) are
//! the same passes started at shifted pooling phases.
//!
//! Each stage is a valid convolution + bias + ReLU + max-pool over the whole map, computed in
//! strips of output rows: the strip's im2col matrix is built with the "wide row" trick (a
//! row of the map and the `k − 1` values after it are one contiguous run, so each kernel tap
//! is a single copy; the columns that wrap into the next row are computed and dropped), then
//! one `gemm` per strip; deep kernels (the second block, the dense layer) skip the copy and
//! multiply each kernel tap straight from the map, one `gemm` per tap. The products go
//! through the fused kernels' bounds-checked `matmul`. Strips run in parallel; every output value is computed by one gemm
//! in one order, so the scores do not depend on the thread count.
//!
//! The scores equal those of [`CraterCnn::logits`] on the cut windows up to float rounding
//! (the sums run in another order); `tests/dense.rs` checks it at every offset.

use candle_core::Tensor;
use multiversion::multiversion;
use rayon::prelude::*;

use crate::config::InputNorm;
use crate::error::{Error, Result};
use crate::fused::matmul;
use crate::model::{CraterCnn, sigmoid};
use crate::network::PER_TILE_AFFINE;

/// About this many output columns (conv positions) per strip: the im2col matrix of a strip
/// of the second block is then 144 × 8192 floats, 4.5 MiB.
const STRIP_COLUMNS: usize = 8192;

/// Kernels with more taps × channels than this are computed tap by tap instead of through
/// an im2col matrix.
const TAPS_FROM: usize = 64;

/// The network's weights laid out for whole-image passes.
#[derive(Debug, Clone)]
pub struct DenseNet {
    conv1: Conv,
    conv2: Conv,
    /// The first dense layer as a convolution over the last pooled map.
    dense1: Conv,
    dense2_weight: Vec<f32>,
    dense2_bias: f32,
    pool1: usize,
    pool2: usize,
    input: usize,
}

/// Scores of windows on a grid: window (i, j) has its top-left corner at image pixel
/// (i · step, j · step).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowScores {
    /// Windows per row.
    pub cols: usize,
    /// Rows of windows.
    pub rows: usize,
    /// Pixels between neighbouring windows.
    pub step: usize,
    /// Crater probabilities, row-major.
    pub scores: Vec<f32>,
}

/// A convolution's weights `(f, c, k, k)` and bias `(f,)`.
#[derive(Debug, Clone)]
struct Conv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    f: usize,
    c: usize,
    k: usize,
}

impl Conv {
    fn from(weight: &Tensor, bias: &Tensor, f: usize, c: usize, k: usize) -> Result<Conv> {
        Ok(Conv {
            weight: weight.flatten_all()?.to_vec1::<f32>()?,
            bias: bias.flatten_all()?.to_vec1::<f32>()?,
            f,
            c,
            k,
        })
    }
}

/// A `(c, h, w)` map, row-major.
struct Map<'a> {
    values: &'a [f32],
    h: usize,
    w: usize,
}

impl CraterCnn {
    /// The network for whole-image passes. Refused for a network that standardises each
    /// window on its own (`input_norm = "per_image"`): its windows share no work.
    pub fn dense(&self) -> Result<DenseNet> {
        let config = *self.config();
        if !config.input_norm.convolves() {
            return Err(Error::InvalidConfig {
                field: "input_norm",
                value: "per_image".into(),
                expected: "a network whose input normalisation convolves (raw or per_tile) for fully \
                           convolutional scanning; score each window on its own instead"
                    .into(),
            });
        }
        debug_assert!(config.input_norm != InputNorm::PerImage);
        let shapes = config.shapes()?;
        let weights: std::collections::HashMap<String, Tensor> = self.weights()?.into_iter().collect();
        let get = |name: &str| -> Result<&Tensor> {
            weights.get(name).ok_or_else(|| Error::InvalidConfig {
                field: "weights",
                value: name.into(),
                expected: "every tensor of the network".into(),
            })
        };
        let (c1, c2, k) = (config.conv1_filters, config.conv2_filters, config.kernel);
        let mut conv1 = Conv::from(get("conv1.weight")?, get("conv1.bias")?, c1, 1, k)?;
        if matches!(config.input_norm, InputNorm::PerTile | InputNorm::Local) {
            // The network's input map x · a + s, folded into the first convolution:
            // w ∗ (x · a + s) + b = (a · w) ∗ x + (b + s · Σw).
            let (a, shift) = PER_TILE_AFFINE;
            for (weights, bias) in conv1.weight.chunks_mut(k * k).zip(&mut conv1.bias) {
                *bias += shift * weights.iter().sum::<f32>();
                weights.iter_mut().for_each(|w| *w *= a);
            }
        }
        Ok(DenseNet {
            conv1,
            conv2: Conv::from(get("conv2.weight")?, get("conv2.bias")?, c2, c1, k)?,
            // dense1.weight is (dense, c2 · p · p), flattened from (c2, p, p): a (dense, c2, p,
            // p) convolution kernel as it stands.
            dense1: Conv::from(
                get("dense1.weight")?,
                get("dense1.bias")?,
                config.dense,
                c2,
                shapes.pool2,
            )?,
            dense2_weight: get("dense2.weight")?.flatten_all()?.to_vec1::<f32>()?,
            dense2_bias: get("dense2.bias")?.flatten_all()?.to_vec1::<f32>()?[0],
            pool1: config.pool1,
            pool2: config.pool2,
            input: config.input_size,
        })
    }
}

impl DenseNet {
    /// Pixels between windows that one pass scores: the product of the pools' strides (6).
    pub fn stride(&self) -> usize {
        self.pool1 * self.pool2
    }

    /// Side of a window (48).
    pub fn window(&self) -> usize {
        self.input
    }

    /// Floating-point operations per image pixel of [`DenseNet::window_scores`] at `step`
    /// (two per multiply-add): the first block runs once per pooling phase of its own, the
    /// later stages once per window offset. At step 6 the seed network needs 288 + 1,024 +
    /// 512 + 0.4 ≈ 1.8 k.
    pub fn flops_per_pixel(&self, step: usize) -> f64 {
        let conv = |c: &Conv| 2.0 * (c.f * c.c * c.k * c.k) as f64;
        let gcd = |mut a: usize, mut b: usize| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let step = step.max(1);
        let first_phases = (self.pool1 / gcd(step, self.pool1)).pow(2) as f64;
        let offsets = (self.stride() as f64 / gcd(step, self.stride()) as f64).powi(2);
        let (p1, p2) = ((self.pool1 * self.pool1) as f64, (self.pool2 * self.pool2) as f64);
        let head = conv(&self.dense1) + 2.0 * self.dense2_weight.len() as f64;
        conv(&self.conv1) * first_phases + conv(&self.conv2) * offsets / p1 + head * offsets / (p1 * p2)
    }

    /// Scores of every window of the `width × height` image (pixels row-major, as the
    /// network takes them) whose top-left corner is a multiple of `step` and which lies
    /// inside the image. `step` must divide [`DenseNet::stride`].
    pub fn window_scores(
        &self,
        image: &[f32],
        width: usize,
        height: usize,
        step: usize,
    ) -> Result<WindowScores> {
        let stride = self.stride();
        if step == 0 || stride % step != 0 {
            return Err(Error::InvalidConfig {
                field: "step",
                value: step.to_string(),
                expected: format!("a divisor of the network's stride {stride}"),
            });
        }
        if image.len() != width * height || width < self.input || height < self.input {
            return Err(Error::InvalidConfig {
                field: "image",
                value: format!("{width}×{height} with {} pixels", image.len()),
                expected: format!("at least {0}×{0} pixels, width × height of them", self.input),
            });
        }
        let cols = (width - self.input) / step + 1;
        let rows = (height - self.input) / step + 1;
        let mut scores = vec![f32::NAN; cols * rows];
        let offsets: Vec<usize> = (0..stride).step_by(step).collect();
        // Offset o = r + pool1 · q: pooling phase r of the first block, q of the second.
        let mut first_phases: Vec<usize> = offsets.iter().map(|o| o % self.pool1).collect();
        first_phases.sort_unstable();
        first_phases.dedup();
        for &ry in &first_phases {
            for &rx in &first_phases {
                let map = Map {
                    values: image,
                    h: height,
                    w: width,
                };
                let (p1, h1, w1) = conv_relu_pool(&self.conv1, &map, self.pool1, (ry, rx));
                let p1 = Map {
                    values: &p1,
                    h: h1,
                    w: w1,
                };
                let phases = |r: usize| {
                    offsets
                        .iter()
                        .filter(move |&&o| o % self.pool1 == r)
                        .map(|&o| o / self.pool1)
                        .collect::<Vec<_>>()
                };
                for qy in phases(ry) {
                    for qx in phases(rx) {
                        let (p2, h2, w2) = conv_relu_pool(&self.conv2, &p1, self.pool2, (qy, qx));
                        if h2 < self.dense1.k || w2 < self.dense1.k {
                            continue;
                        }
                        let (hidden, h3, w3) = conv_relu_pool(
                            &self.dense1,
                            &Map {
                                values: &p2,
                                h: h2,
                                w: w2,
                            },
                            1,
                            (0, 0),
                        );
                        let (oy, ox) = (ry + self.pool1 * qy, rx + self.pool1 * qx);
                        let plane = h3 * w3;
                        for a in 0..h3 {
                            let top = oy + stride * a;
                            if top + self.input > height {
                                break;
                            }
                            for b in 0..w3 {
                                let left = ox + stride * b;
                                if left + self.input > width {
                                    break;
                                }
                                let mut logit = self.dense2_bias;
                                for (h, &weight) in self.dense2_weight.iter().enumerate() {
                                    logit += weight * hidden[h * plane + a * w3 + b];
                                }
                                scores[(top / step) * cols + left / step] = sigmoid(logit);
                            }
                        }
                    }
                }
            }
        }
        debug_assert!(scores.iter().all(|s| !s.is_nan()), "every window scored");
        Ok(WindowScores {
            cols,
            rows,
            step,
            scores,
        })
    }
}

/// Valid convolution + bias, max-pool (size = stride = `pool`, windows starting `offset`
/// into the convolution's output, overhang dropped), ReLU: the pooled `(f, qh, qw)` map.
fn conv_relu_pool(conv: &Conv, map: &Map, pool: usize, (oy, ox): (usize, usize)) -> (Vec<f32>, usize, usize) {
    let (h, w, k) = (map.h, map.w, conv.k);
    let (oh, ow) = ((h + 1).saturating_sub(k), (w + 1).saturating_sub(k));
    let qh = oh.saturating_sub(oy) / pool;
    let qw = ow.saturating_sub(ox) / pool;
    if qh == 0 || qw == 0 {
        return (Vec::new(), 0, 0);
    }
    // Pooled rows per strip: about STRIP_COLUMNS convolution positions.
    let per_strip = (STRIP_COLUMNS / (pool * w)).max(1);
    let strips: Vec<(usize, usize)> = (0..qh)
        .step_by(per_strip)
        .map(|a0| (a0, (a0 + per_strip).min(qh)))
        .collect();
    // Each worker thread keeps its buffers from strip to strip and call to call: big
    // buffers freed go back to the system, and fresh ones cost more in page faults than the
    // copies that fill them.
    let parts: Vec<Vec<f32>> = strips
        .par_iter()
        .map(|&(a0, a1)| {
            SCRATCH.with(|scratch| strip(conv, map, pool, (oy, ox), (a0, a1), qw, &mut scratch.borrow_mut()))
        })
        .collect();
    // Parts are (f, a1 − a0, qw) each; the map is (f, qh, qw).
    let mut out = vec![0.0f32; conv.f * qh * qw];
    for (&(a0, a1), part) in strips.iter().zip(&parts) {
        let rows = a1 - a0;
        for f in 0..conv.f {
            out[(f * qh + a0) * qw..(f * qh + a1) * qw]
                .copy_from_slice(&part[f * rows * qw..(f + 1) * rows * qw]);
        }
    }
    (out, qh, qw)
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Buffers one strip needs, reused by the next on the same thread.
#[derive(Default)]
struct Scratch {
    cols: Vec<f32>,
    conv: Vec<f32>,
    column_max: Vec<f32>,
}

/// Pooled rows `a0..a1` of [`conv_relu_pool`], as `(f, a1 − a0, qw)`.
fn strip(
    conv: &Conv,
    map: &Map,
    pool: usize,
    (oy, ox): (usize, usize),
    (a0, a1): (usize, usize),
    qw: usize,
    scratch: &mut Scratch,
) -> Vec<f32> {
    let (h, w, k, c) = (map.h, map.w, conv.k, conv.c);
    let top = oy + pool * a0;
    let conv_rows = pool * (a1 - a0);
    // Wide rows: positions top·w .. (top + conv_rows)·w − (k − 1) of the flattened map; the
    // last k − 1 columns of each row wrap into the next and are never pooled.
    let n = conv_rows * w - (k - 1);
    debug_assert!(top + conv_rows + k - 1 <= h);
    let ckk = c * k * k;
    let out_conv = &mut scratch.conv;
    out_conv.clear();
    out_conv.reserve(conv.f * n);
    for &b in &conv.bias {
        out_conv.extend(std::iter::repeat_n(b, n));
    }
    if ckk > TAPS_FROM {
        // Deep input: one product per kernel tap, straight from the map (its channels are
        // h · w apart), accumulated into the output. No im2col copy: for the dense layer
        // as a 6×6 convolution that copy would be 1,152 values per position.
        for ki in 0..k {
            for kj in 0..k {
                let start = (top + ki) * w + kj;
                matmul(
                    (conv.f, n, c),
                    (out_conv, n, 1),
                    true,
                    (&conv.weight[ki * k + kj..], ckk, k * k),
                    (&map.values[start..], h * w, 1),
                );
            }
        }
    } else {
        let cols = &mut scratch.cols;
        cols.clear();
        cols.reserve(ckk * n);
        for ch in 0..c {
            for ki in 0..k {
                for kj in 0..k {
                    let start = ch * h * w + (top + ki) * w + kj;
                    cols.extend_from_slice(&map.values[start..start + n]);
                }
            }
        }
        matmul(
            (conv.f, n, ckk),
            (out_conv, n, 1),
            true,
            (&conv.weight, ckk, 1),
            (cols, n, 1),
        );
    }
    let rows = a1 - a0;
    let mut pooled = vec![0.0f32; conv.f * rows * qw];
    let used = ox + qw * pool;
    scratch.column_max.resize(used, 0.0);
    for (plane, out) in out_conv.chunks(n).zip(pooled.chunks_mut(rows * qw)) {
        for (a, out_row) in out.chunks_mut(qw).enumerate() {
            pool_rows(
                &plane[a * pool * w..],
                w,
                pool,
                ox,
                &mut scratch.column_max,
                out_row,
            );
        }
    }
    pooled
}

/// One pooled row: the maximum down `pool` rows of `plane` (rows `w` apart), then across
/// each run of `pool` columns from `ox`, then ReLU. Branch-free, so it vectorises.
#[multiversion(targets("x86_64+avx2+fma"))]
fn pool_rows(plane: &[f32], w: usize, pool: usize, ox: usize, column_max: &mut [f32], out: &mut [f32]) {
    let used = column_max.len();
    column_max.copy_from_slice(&plane[..used]);
    for dy in 1..pool {
        for (m, &v) in column_max.iter_mut().zip(&plane[dy * w..dy * w + used]) {
            *m = m.max(v);
        }
    }
    let row = &column_max[ox..];
    match pool {
        // The dense layer's map: ReLU alone.
        1 => {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = v.max(0.0);
            }
        }
        2 => {
            for (o, pair) in out.iter_mut().zip(row.chunks_exact(2)) {
                *o = pair[0].max(pair[1]).max(0.0);
            }
        }
        3 => {
            for (o, triple) in out.iter_mut().zip(row.chunks_exact(3)) {
                *o = triple[0].max(triple[1]).max(triple[2]).max(0.0);
            }
        }
        _ => {
            for (o, cell) in out.iter_mut().zip(row.chunks_exact(pool)) {
                *o = cell.iter().fold(0.0f32, |m, &v| m.max(v));
            }
        }
    }
}
