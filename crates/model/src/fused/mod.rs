//! The fused CPU kernel: valid 3×3 convolution + bias + ReLU + max-pool in one candle
//! custom op, with its backward pass.
//!
//! Why: on this network plain candle spends most of a training step around the maths
//! (fresh buffers, broadcasting, the first layer's input gradient nobody needs). Here each
//! image is one rayon task: a direct convolution a band of rows at a time, pooled straight
//! from the band ([`direct`], with the register-blocked kernel of [`simd`]); the pooling
//! keeps the winning position, so the backward pass visits only those, and the input
//! gradient is computed only when asked for. Work is split by image and partial weight
//! gradients are summed in image order, so results do not depend on the thread count.

use std::ops::{Add, AddAssign, Mul};
use std::sync::Mutex;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType};
use gemm::Parallelism;
use rayon::prelude::*;

use direct::{Packed, Scratch};

mod direct;
mod simd;
#[cfg(test)]
mod tests;

/// Marks a pooled cell whose maximum was not positive: ReLU zeroed it, no gradient flows.
const DEAD: u32 = u32::MAX;

/// Element types the kernel runs on (f32 for training, f64 for the gradient checks).
pub(crate) trait Real:
    WithDType + Copy + Send + Sync + PartialOrd + Add<Output = Self> + AddAssign + Mul<Output = Self>
{
    /// `self · a + b` with one rounding: an FMA instruction in the kernels built for CPUs
    /// with FMA, exact software arithmetic (slow) on a CPU without.
    fn mul_add(self, a: Self, b: Self) -> Self;

    /// Computes and pools pooled row `qi` ([`direct::conv_band`] and [`direct::pool_band`])
    /// with the fastest kernels this machine has for the type; `false` (nothing done) when
    /// there are none beyond the portable ones.
    fn band_simd(
        d: Dims,
        packed: &Packed<Self>,
        hwc: &[Self],
        qi: usize,
        band: &mut [Self],
        out: &mut [Self],
        winners: &mut [u32],
    ) -> bool {
        let _ = (d, packed, hwc, qi, band, out, winners);
        false
    }
}
impl Real for f32 {
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32) -> f32 {
        f32::mul_add(self, a, b)
    }
    fn band_simd(
        d: Dims,
        packed: &Packed<f32>,
        hwc: &[f32],
        qi: usize,
        band: &mut [f32],
        out: &mut [f32],
        winners: &mut [u32],
    ) -> bool {
        simd::conv_band(d, packed, hwc, qi * d.pool, band)
            && simd::pool_band(d, packed.fp, qi, band, out, winners)
    }
}
impl Real for f64 {
    #[inline(always)]
    fn mul_add(self, a: f64, b: f64) -> f64 {
        f64::mul_add(self, a, b)
    }
}

/// Where the channels are in a block's input and output tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// `(N, C, H, W)`, candle's and PyTorch's order.
    First,
    /// `(N, H, W, C)`: the order the kernel computes in. Between two fused blocks it saves
    /// two transpositions per image and block.
    Last,
}

/// Conv(valid, stride 1) → + bias → ReLU → max-pool(size = stride = `pool`, overhang
/// dropped), on input with `input` channel order (`(N, C, H, W)` or `(N, H, W, C)`),
/// `(F, C, K, K)` weight and `(F,)` bias, giving output in `output` channel order.
pub fn conv_relu_pool(
    xs: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    pool: usize,
    input_grad: bool,
    (input, output): (Channels, Channels),
) -> Result<Tensor> {
    let op = ConvReluPool {
        pool,
        input_grad,
        channels_last: (input == Channels::Last, output == Channels::Last),
        saved: Mutex::new(None),
    };
    xs.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)
}

struct ConvReluPool {
    pool: usize,
    input_grad: bool,
    /// Input and output in `(N, H, W, C)` order.
    channels_last: (bool, bool),
    // What the backward pass needs from the forward pass of this very call.
    saved: Mutex<Option<Saved>>,
}

struct Saved {
    dims: Dims,
    /// Per output value (same order): the winning position, as `row · W + col`.
    winners: Vec<u32>,
}

/// Gradients of one call: input (when asked for), weight, bias.
struct Grads<T> {
    input: Option<Vec<T>>,
    weight: Vec<T>,
    bias: Vec<T>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    k: usize,
    pool: usize,
    /// Pooled rows and columns.
    qh: usize,
    qw: usize,
    /// Input and output in (H, W, C) order.
    hwc_in: bool,
    hwc_out: bool,
}

impl Dims {
    /// Conv rows/columns that pooling uses (the rest is cropped, as Keras does).
    pub(crate) fn used(&self) -> (usize, usize) {
        (self.qh * self.pool, self.qw * self.pool)
    }
    pub(crate) fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }
    pub(crate) fn cells(&self) -> usize {
        self.f * self.qh * self.qw
    }
    pub(crate) fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Index of filter `f`'s pooled cell `q = qi · qw + qj` in one image's output.
    #[inline(always)]
    pub(crate) fn cell(&self, f: usize, q: usize) -> usize {
        if self.hwc_out {
            q * self.f + f
        } else {
            f * self.qh * self.qw + q
        }
    }
}

fn shape_error(msg: String) -> candle_core::Error {
    candle_core::Error::Msg(msg)
}

impl ConvReluPool {
    fn dims(&self, l1: &Layout, l2: &Layout, l3: &Layout) -> Result<Dims> {
        let (n, c, h, w) = if self.channels_last.0 {
            let (n, h, w, c) = l1.shape().dims4()?;
            (n, c, h, w)
        } else {
            l1.shape().dims4()?
        };
        let (f, wc, k, k2) = l2.shape().dims4()?;
        let fb = l3.shape().dims1()?;
        let empty = c == 0 || f == 0 || k == 0 || self.pool == 0;
        if empty || wc != c || k != k2 || fb != f || k > h || k > w || (h - k + 1).min(w - k + 1) < self.pool
        {
            return Err(shape_error(format!(
                "conv_relu_pool: input {:?}, weight {:?}, bias {:?}, pool {}",
                l1.dims(),
                l2.dims(),
                l3.dims(),
                self.pool
            )));
        }
        let (oh, ow) = (h - k + 1, w - k + 1);
        Ok(Dims {
            n,
            c,
            h,
            w,
            f,
            k,
            pool: self.pool,
            qh: oh / self.pool,
            qw: ow / self.pool,
            hwc_in: self.channels_last.0,
            hwc_out: self.channels_last.1,
        })
    }

    fn forward<T: Real>(&self, d: Dims, x: &[T], weight: &[T], bias: &[T]) -> (Vec<T>, Saved) {
        let cells = d.cells();
        let packed = Packed::new(d, weight, bias);
        let mut out = vec![T::from_f64(0.0); d.n * cells];
        let mut winners = vec![DEAD; d.n * cells];
        out.par_chunks_mut(cells)
            .zip(winners.par_chunks_mut(cells))
            .enumerate()
            .for_each_init(
                || Scratch::new(d, packed.fp),
                |scratch, (img, (out, winners))| {
                    let x = &x[img * d.image_len()..(img + 1) * d.image_len()];
                    direct::forward_image(d, &packed, x, out, winners, scratch);
                },
            );
        (out, Saved { dims: d, winners })
    }

    fn backward<T: Real>(&self, saved: &Saved, x: &[T], grad_out: &[T], weight: &[T]) -> Grads<T> {
        let d = saved.dims;
        let (ckk, cells) = (d.ckk(), d.cells());
        let zero = T::from_f64(0.0);
        // Biases do not enter the backward pass.
        let packed = Packed::new(d, weight, &vec![zero; d.f]);
        let mut grad_w_parts = vec![zero; d.n * d.f * ckk];
        let mut grad_b_parts = vec![zero; d.n * d.f];
        let mut grad_x = vec![zero; if self.input_grad { d.n * d.image_len() } else { 0 }];
        let mut grad_x_chunks: Vec<Option<&mut [T]>> = if self.input_grad {
            grad_x.chunks_mut(d.image_len()).map(Some).collect()
        } else {
            (0..d.n).map(|_| None).collect()
        };
        grad_w_parts
            .par_chunks_mut(d.f * ckk)
            .zip(grad_b_parts.par_chunks_mut(d.f))
            .zip(grad_x_chunks.par_iter_mut())
            .enumerate()
            .for_each_init(
                || Scratch::new(d, packed.fp),
                |scratch, (img, ((grad_w, grad_b), grad_x))| {
                    direct::backward_image(
                        d,
                        &packed,
                        &x[img * d.image_len()..(img + 1) * d.image_len()],
                        &grad_out[img * cells..(img + 1) * cells],
                        &saved.winners[img * cells..(img + 1) * cells],
                        grad_w,
                        grad_b,
                        grad_x.as_deref_mut(),
                        scratch,
                    );
                },
            );
        // Sum per-image parts in image order: the same bits for any thread count.
        let sum_parts = |parts: &[T], len: usize| {
            let mut total = vec![zero; len];
            for part in parts.chunks(len) {
                for (acc, &v) in total.iter_mut().zip(part) {
                    *acc += v;
                }
            }
            total
        };
        let grad_w = direct::unpack_weight_grad(d, &sum_parts(&grad_w_parts, d.f * ckk));
        let grad_b = sum_parts(&grad_b_parts, d.f);
        Grads {
            input: self.input_grad.then_some(grad_x),
            weight: grad_w,
            bias: grad_b,
        }
    }
}

/// `dst (m × n) [+]= lhs (m × k) · rhs (k × n)` on one thread; each matrix is given with its
/// row and column strides.
pub(crate) fn matmul<T: Real>(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs, dst_cs): (&mut [T], usize, usize),
    accumulate: bool,
    (lhs, lhs_rs, lhs_cs): (&[T], usize, usize),
    (rhs, rhs_rs, rhs_cs): (&[T], usize, usize),
) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(m > 0 && n > 0 && k > 0);
    assert!(last(m, n, dst_rs, dst_cs) < dst.len());
    assert!(last(m, k, lhs_rs, lhs_cs) < lhs.len());
    assert!(last(k, n, rhs_rs, rhs_cs) < rhs.len());
    let one = T::from_f64(1.0);
    // SAFETY: the asserts above keep every element the strides reach inside its slice.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            one,
            one,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

fn slice<'a, T: Real>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
    let (start, end) = l
        .contiguous_offsets()
        .ok_or_else(|| shape_error("conv_relu_pool needs contiguous tensors".into()))?;
    Ok(&T::cpu_storage_as_slice(s)?[start..end])
}

impl CustomOp3 for ConvReluPool {
    fn name(&self) -> &'static str {
        "conv-relu-pool"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = self.dims(l1, l2, l3)?;
        let (out, saved) = match s1.dtype() {
            DType::F32 => {
                let (o, s) = self.forward::<f32>(d, slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
                (CpuStorage::F32(o), s)
            }
            DType::F64 => {
                let (o, s) = self.forward::<f64>(d, slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
                (CpuStorage::F64(o), s)
            }
            other => {
                return Err(shape_error(format!(
                    "conv_relu_pool runs on f32 or f64, not {other:?}"
                )));
            }
        };
        *self.saved.lock().unwrap_or_else(|p| p.into_inner()) = Some(saved);
        let shape = if d.hwc_out {
            Shape::from((d.n, d.qh, d.qw, d.f))
        } else {
            Shape::from((d.n, d.f, d.qh, d.qw))
        };
        Ok((out, shape))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _arg3: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let guard = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        let saved = guard
            .as_ref()
            .ok_or_else(|| shape_error("conv_relu_pool: backward before forward".into()))?;
        let d = saved.dims;
        let device = arg1.device();
        let grad_res = grad_res.contiguous()?;
        macro_rules! grads {
            ($t:ty) => {{
                let g = grad_res.flatten_all()?.to_vec1::<$t>()?;
                let x = arg1.flatten_all()?.to_vec1::<$t>()?;
                let w = arg2.flatten_all()?.to_vec1::<$t>()?;
                let grads = self.backward::<$t>(saved, &x, &g, &w);
                let input = grads
                    .input
                    .map(|v| Tensor::from_vec(v, arg1.shape(), device))
                    .transpose()?;
                (
                    input,
                    Some(Tensor::from_vec(
                        grads.weight,
                        (d.f, d.c, d.k, d.k),
                        device,
                    )?),
                    Some(Tensor::from_vec(grads.bias, d.f, device)?),
                )
            }};
        }
        Ok(match arg1.dtype() {
            DType::F32 => grads!(f32),
            DType::F64 => grads!(f64),
            other => {
                return Err(shape_error(format!(
                    "conv_relu_pool runs on f32 or f64, not {other:?}"
                )));
            }
        })
    }
}
