//! The fused CPU kernel: valid 3×3 convolution + bias + ReLU + max-pool in one candle
//! custom op, with its backward pass.
//!
//! Why: on this network plain candle spends most of a training step around the maths
//! (fresh buffers, broadcasting, the first layer's input gradient nobody needs). Here each
//! image is handled by one rayon task (im2col + a single-threaded `gemm`), the pooling keeps
//! the winning position so the backward pass scatters straight to it, and the input
//! gradient is computed only when asked for. Work is split by image and partial weight
//! gradients are summed in image order, so results do not depend on the thread count.

use std::ops::{Add, AddAssign, Mul};
use std::sync::Mutex;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType};
use gemm::Parallelism;
use multiversion::multiversion;
use rayon::prelude::*;

/// Marks a pooled cell whose maximum was not positive: ReLU zeroed it, no gradient flows.
const DEAD: u32 = u32::MAX;

/// Element types the kernel runs on (f32 for training, f64 for the gradient checks).
pub(crate) trait Real:
    WithDType + Copy + Send + Sync + PartialOrd + Add<Output = Self> + AddAssign + Mul<Output = Self>
{
}
impl Real for f32 {}
impl Real for f64 {}

/// Conv(valid, stride 1) → + bias → ReLU → max-pool(size = stride = `pool`, overhang
/// dropped), on `(N, C, H, W)` input, `(F, C, K, K)` weight and `(F,)` bias.
pub fn conv_relu_pool(
    xs: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    pool: usize,
    input_grad: bool,
) -> Result<Tensor> {
    let op = ConvReluPool {
        pool,
        input_grad,
        saved: Mutex::new(None),
    };
    xs.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)
}

struct ConvReluPool {
    pool: usize,
    input_grad: bool,
    // What the backward pass needs from the forward pass of this very call.
    saved: Mutex<Option<Saved>>,
}

struct Saved {
    dims: Dims,
    /// Per image, channel and pooled cell: the winning position in the `U × U` region.
    /// (The im2col matrices are rebuilt from the input in the backward pass: cheaper than
    /// keeping megabytes of them alive through every forward pass, inference included.)
    winners: Vec<u32>,
}

/// Gradients of one call: input (when asked for), weight, bias.
struct Grads<T> {
    input: Option<Vec<T>>,
    weight: Vec<T>,
    bias: Vec<T>,
}

#[derive(Debug, Clone, Copy)]
struct Dims {
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
}

impl Dims {
    /// Conv rows/columns that pooling uses (the rest is cropped, as Keras does).
    fn used(&self) -> (usize, usize) {
        (self.qh * self.pool, self.qw * self.pool)
    }
    fn positions(&self) -> usize {
        let (uh, uw) = self.used();
        uh * uw
    }
    fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }
    fn cells(&self) -> usize {
        self.f * self.qh * self.qw
    }
    fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }
}

fn shape_error(msg: String) -> candle_core::Error {
    candle_core::Error::Msg(msg)
}

impl ConvReluPool {
    fn dims(&self, l1: &Layout, l2: &Layout, l3: &Layout) -> Result<Dims> {
        let (n, c, h, w) = l1.shape().dims4()?;
        let (f, wc, k, k2) = l2.shape().dims4()?;
        let fb = l3.shape().dims1()?;
        if wc != c || k != k2 || fb != f || k > h || k > w || self.pool == 0 {
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
        })
    }

    fn forward<T: Real>(&self, d: Dims, x: &[T], weight: &[T], bias: &[T]) -> (Vec<T>, Saved) {
        let (positions, ckk, cells) = (d.positions(), d.ckk(), d.cells());
        let zero = T::from_f64(0.0);
        let mut out = vec![zero; d.n * cells];
        let mut winners = vec![DEAD; d.n * cells];
        out.par_chunks_mut(cells)
            .zip(winners.par_chunks_mut(cells))
            .enumerate()
            .for_each(|(img, (out, winners))| {
                let mut cols = vec![zero; positions * ckk];
                im2col(d, &x[img * d.image_len()..(img + 1) * d.image_len()], &mut cols);
                // conv[f][pos] = bias[f] + Σ_kk weight[f][kk] · cols[kk][pos]
                let mut conv = vec![zero; d.f * positions];
                for (plane, &b) in conv.chunks_mut(positions).zip(bias) {
                    plane.fill(b);
                }
                matmul(
                    (d.f, positions, ckk),
                    (&mut conv, positions, 1),
                    true,
                    (weight, ckk, 1),
                    (&cols, positions, 1),
                );
                pool_relu(d, &conv, out, winners);
            });
        (out, Saved { dims: d, winners })
    }

    fn backward<T: Real>(&self, saved: &Saved, x: &[T], grad_out: &[T], weight: &[T]) -> Grads<T> {
        let d = saved.dims;
        let (positions, ckk, cells) = (d.positions(), d.ckk(), d.cells());
        let zero = T::from_f64(0.0);
        let mut grad_w_parts = vec![zero; d.n * d.f * ckk];
        let mut grad_b_parts = vec![zero; d.n * d.f];
        let mut grad_x = vec![zero; if self.input_grad { d.n * d.image_len() } else { 0 }];
        let mut grad_x_chunks: Vec<&mut [T]> = if self.input_grad {
            grad_x.chunks_mut(d.image_len()).collect()
        } else {
            (0..d.n).map(|_| &mut [][..]).collect()
        };
        grad_w_parts
            .par_chunks_mut(d.f * ckk)
            .zip(grad_b_parts.par_chunks_mut(d.f))
            .zip(grad_x_chunks.par_iter_mut())
            .enumerate()
            .for_each(|(img, ((grad_w, grad_b), grad_x))| {
                // Gradient of the conv output, grad_conv[f][pos]: the pooled gradient at each
                // winner, zero elsewhere.
                let mut grad_conv = vec![zero; d.f * positions];
                let winners = &saved.winners[img * cells..(img + 1) * cells];
                let g = &grad_out[img * cells..(img + 1) * cells];
                let plane = d.qh * d.qw;
                for ch in 0..d.f {
                    for cell in ch * plane..(ch + 1) * plane {
                        if winners[cell] != DEAD {
                            grad_conv[ch * positions + winners[cell] as usize] = g[cell];
                            grad_b[ch] += g[cell];
                        }
                    }
                }
                let mut cols = vec![zero; positions * ckk];
                im2col(d, &x[img * d.image_len()..(img + 1) * d.image_len()], &mut cols);
                // grad_w[f][kk] = Σ_pos grad_conv[f][pos] · cols[kk][pos]
                matmul(
                    (d.f, ckk, positions),
                    (grad_w, ckk, 1),
                    false,
                    (&grad_conv, positions, 1),
                    (&cols, 1, positions),
                );
                if self.input_grad {
                    // grad_cols[kk][pos] = Σ_f weight[f][kk] · grad_conv[f][pos]
                    let mut grad_cols = vec![zero; ckk * positions];
                    matmul(
                        (ckk, positions, d.f),
                        (&mut grad_cols, positions, 1),
                        false,
                        (weight, 1, ckk),
                        (&grad_conv, positions, 1),
                    );
                    col2im(d, &grad_cols, grad_x);
                }
            });
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
        let grad_w = sum_parts(&grad_w_parts, d.f * ckk);
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

/// Takes each pooled cell's maximum of `conv[f][pos]` (bias included) and where it is; a
/// maximum that is not positive is ReLU's zero and has no winner.
#[multiversion(targets("x86_64+avx2+fma"))]
fn pool_relu<T: Real>(d: Dims, conv: &[T], out: &mut [T], winners: &mut [u32]) {
    let (positions, uw) = (d.positions(), d.used().1);
    let zero = T::from_f64(0.0);
    // First the maximum down each column of a band of `pool` rows (branch-free, so it
    // vectorises), then along the band in steps of `pool`.
    let mut col_max = vec![zero; uw];
    let mut col_row = vec![0u32; uw];
    for ch in 0..d.f {
        let plane = &conv[ch * positions..(ch + 1) * positions];
        for qi in 0..d.qh {
            let top = qi * d.pool;
            col_max.copy_from_slice(&plane[top * uw..(top + 1) * uw]);
            col_row.fill(top as u32);
            for r in top + 1..top + d.pool {
                let row = r as u32;
                for ((m, arg), &v) in col_max
                    .iter_mut()
                    .zip(col_row.iter_mut())
                    .zip(&plane[r * uw..(r + 1) * uw])
                {
                    // Strictly greater: ties go to the upper row.
                    let gt = v > *m;
                    *m = if gt { v } else { *m };
                    *arg = if gt { row } else { *arg };
                }
            }
            for qj in 0..d.qw {
                let (mut best, mut winner) = (zero, DEAD);
                for c in qj * d.pool..(qj + 1) * d.pool {
                    if col_max[c] > best {
                        best = col_max[c];
                        winner = col_row[c] * uw as u32 + c as u32;
                    }
                }
                let cell = (ch * d.qh + qi) * d.qw + qj;
                out[cell] = best;
                winners[cell] = winner;
            }
        }
    }
}

/// Calls `run(cols_start, x_start)` for every run of `uw` values that im2col copies:
/// `x[x_start..][..uw]` goes to `cols[cols_start..][..uw]`, where `cols[(c, ki, kj)][pos]` is
/// the input pixel under kernel tap (ki, kj) of channel c at each position of the pooled
/// region.
#[inline(always)]
fn for_each_run(d: Dims, mut run: impl FnMut(usize, usize)) {
    let (uh, uw) = d.used();
    for ch in 0..d.c {
        for ki in 0..d.k {
            for kj in 0..d.k {
                let kk = (ch * d.k + ki) * d.k + kj;
                for r in 0..uh {
                    run(kk * uh * uw + r * uw, ch * d.h * d.w + (r + ki) * d.w + kj);
                }
            }
        }
    }
}

/// The im2col matrix of one image, rows of whole runs copied contiguously.
#[multiversion(targets("x86_64+avx2+fma"))]
fn im2col<T: Real>(d: Dims, x: &[T], cols: &mut [T]) {
    let uw = d.used().1;
    for_each_run(d, |c, i| cols[c..c + uw].copy_from_slice(&x[i..i + uw]));
}

/// The adjoint of [`im2col`]: adds each column entry back onto its input pixel.
#[multiversion(targets("x86_64+avx2+fma"))]
fn col2im<T: Real>(d: Dims, cols: &[T], x: &mut [T]) {
    let uw = d.used().1;
    for_each_run(d, |c, i| {
        for (o, &v) in x[i..i + uw].iter_mut().zip(&cols[c..c + uw]) {
            *o += v;
        }
    });
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
        Ok((out, Shape::from((d.n, d.f, d.qh, d.qw))))
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
                    .map(|v| Tensor::from_vec(v, (d.n, d.c, d.h, d.w), device))
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
