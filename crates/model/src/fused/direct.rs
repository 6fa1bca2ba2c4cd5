//! The fused block's arithmetic on one image, as a direct convolution.
//!
//! Why direct and not im2col + gemm: the first convolution has 9 taps, too thin for a gemm
//! to run near the machine's rate, and the second needs a 144 × 144 im2col copy per image.
//! Here the image is turned once into (H, W, C) order, where the taps of one kernel row at a
//! position are `K · C` consecutive values, and each output position's filters are
//! accumulated together (in registers, by [`super::simd`], on machines with AVX2 and FMA).
//! The convolution is computed one band of `pool` rows at a time and pooled straight from
//! it, so it never leaves the cache.
//!
//! The backward pass only visits each pooled cell's winning position: max-pooling sends the
//! gradient nowhere else, so of the dense backward products (weight and input gradient,
//! `F × positions × C·K·K` each) only one position in `pool²` carries any work.

use multiversion::multiversion;

use super::{DEAD, Dims, Real};

/// Filters are padded to a multiple of this many (one AVX2 vector of f32).
pub(crate) const LANES: usize = 8;

/// A call's weights and biases, laid out for the direct convolution.
pub(crate) struct Packed<T> {
    /// `taps[(ki·K + kj)·C + c][f]`: filters padded with zeros to `fp`.
    pub taps: Vec<T>,
    /// `by_filter[f][(ki·K + kj)·C + c]`: the backward pass's order.
    pub by_filter: Vec<T>,
    /// Biases, padded with zeros to `fp`.
    pub bias: Vec<T>,
    /// Filters after padding.
    pub fp: usize,
}

impl<T: Real> Packed<T> {
    /// From candle's `(F, C, K, K)` weight and `(F,)` bias.
    pub fn new(d: Dims, weight: &[T], bias: &[T]) -> Self {
        let zero = T::from_f64(0.0);
        let fp = d.f.div_ceil(LANES) * LANES;
        let taps_per_filter = d.ckk();
        let mut taps = vec![zero; taps_per_filter * fp];
        let mut by_filter = vec![zero; taps_per_filter * d.f];
        for f in 0..d.f {
            for c in 0..d.c {
                for ki in 0..d.k {
                    for kj in 0..d.k {
                        let value = weight[((f * d.c + c) * d.k + ki) * d.k + kj];
                        let tap = (ki * d.k + kj) * d.c + c;
                        taps[tap * fp + f] = value;
                        by_filter[f * taps_per_filter + tap] = value;
                    }
                }
            }
        }
        let mut padded_bias = vec![zero; fp];
        padded_bias[..d.f].copy_from_slice(bias);
        Packed {
            taps,
            by_filter,
            bias: padded_bias,
            fp,
        }
    }
}

/// Per-thread buffers, reused from image to image.
pub(crate) struct Scratch<T> {
    /// The image in (H, W, C) order.
    hwc: Vec<T>,
    /// One band of the convolution, `band[(row·uw + col)·fp + f]`.
    band: Vec<T>,
    /// The running maximum and its position, per filter, of the cell being pooled.
    best: Vec<T>,
    winner: Vec<u32>,
    /// The input gradient in (H, W, C) order.
    grad_hwc: Vec<T>,
}

impl<T: Real> Scratch<T> {
    pub fn new(d: Dims, fp: usize) -> Self {
        let zero = T::from_f64(0.0);
        Scratch {
            hwc: vec![zero; d.image_len()],
            band: vec![zero; d.pool * d.used().1 * fp],
            best: vec![zero; fp],
            winner: vec![DEAD; fp],
            grad_hwc: Vec::new(),
        }
    }
}

/// Whether one image's input already is in (H, W, C) order (one channel, or channels last).
fn hwc_native(d: Dims) -> bool {
    d.c == 1 || d.hwc_in
}

/// One image `x` in (H, W, C) order: `x` itself when it already is, else `buffer` filled
/// from its (C, H, W) order.
fn image_hwc<'a, T: Real>(d: Dims, x: &'a [T], buffer: &'a mut [T]) -> &'a [T] {
    if hwc_native(d) {
        return x;
    }
    let plane = d.h * d.w;
    for (c, channel) in x.chunks_exact(plane).enumerate() {
        for (i, &v) in channel.iter().enumerate() {
            buffer[i * d.c + c] = v;
        }
    }
    buffer
}

/// Conv + bias + ReLU + max-pool of one image: `out[f][qi][qj]` and each cell's winning
/// position as `row · W + col`, the offset of its first tap in the image's pixel grid.
pub(crate) fn forward_image<T: Real>(
    d: Dims,
    packed: &Packed<T>,
    x: &[T],
    out: &mut [T],
    winners: &mut [u32],
    scratch: &mut Scratch<T>,
) {
    let Scratch {
        hwc,
        band,
        best,
        winner,
        ..
    } = scratch;
    let hwc = image_hwc(d, x, hwc);
    for qi in 0..d.qh {
        let top = qi * d.pool;
        if !T::band_simd(d, packed, hwc, qi, band, out, winners) {
            conv_band(d, packed, hwc, top, band);
            pool_band(d, packed.fp, qi, out, winners, band, best, winner);
        }
    }
}

/// Conv + bias of rows `top .. top + pool` at every used column, all filters:
/// `band[(row·uw + col)·fp + f]`. The portable version of [`super::simd`]'s kernel.
pub(crate) fn conv_band<T: Real>(d: Dims, packed: &Packed<T>, hwc: &[T], top: usize, band: &mut [T]) {
    let (uw, fp, kc) = (d.used().1, packed.fp, d.k * d.c);
    for row in 0..d.pool {
        let r = top + row;
        for col in 0..uw {
            let acc = &mut band[(row * uw + col) * fp..][..fp];
            acc.copy_from_slice(&packed.bias);
            for ki in 0..d.k {
                let xs = &hwc[((r + ki) * d.w + col) * d.c..][..kc];
                let ws = &packed.taps[ki * kc * fp..][..kc * fp];
                for (&x, w) in xs.iter().zip(ws.chunks_exact(fp)) {
                    for (a, &w) in acc.iter_mut().zip(w) {
                        *a += w * x;
                    }
                }
            }
        }
    }
}

/// Pools pooled row `qi` from its band: each cell's maximum over its `pool × pool`
/// positions if positive (ReLU), else 0 with no winner. Ties go to the leftmost column,
/// then the top row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pool_band<T: Real>(
    d: Dims,
    fp: usize,
    qi: usize,
    out: &mut [T],
    winners: &mut [u32],
    band: &[T],
    best: &mut [T],
    winner: &mut [u32],
) {
    let zero = T::from_f64(0.0);
    let uw = d.used().1;
    for qj in 0..d.qw {
        best.fill(zero);
        winner.fill(DEAD);
        for col in qj * d.pool..(qj + 1) * d.pool {
            for row in 0..d.pool {
                let position = ((qi * d.pool + row) * d.w + col) as u32;
                let values = &band[(row * uw + col) * fp..][..fp];
                // Branch-free (a data-dependent branch mispredicts half the time here), so
                // it runs across the filters in vector lanes.
                for ((b, w), &v) in best.iter_mut().zip(winner.iter_mut()).zip(values) {
                    let greater = v > *b;
                    *b = if greater { v } else { *b };
                    *w = if greater { position } else { *w };
                }
            }
        }
        for f in 0..d.f {
            let cell = d.cell(f, qi * d.qw + qj);
            out[cell] = best[f];
            winners[cell] = winner[f];
        }
    }
}

/// One image's gradients, added to `grad_w` (`[f][(ki·K + kj)·C + c]`, [`Packed::by_filter`]'s
/// order) and `grad_b`; when given, `grad_x` (the input's order) is overwritten with the
/// input gradient.
#[multiversion(targets("x86_64+avx2+fma"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_image<T: Real>(
    d: Dims,
    packed: &Packed<T>,
    x: &[T],
    grad_out: &[T],
    winners: &[u32],
    grad_w: &mut [T],
    grad_b: &mut [T],
    grad_x: Option<&mut [T]>,
    scratch: &mut Scratch<T>,
) {
    let zero = T::from_f64(0.0);
    let Scratch { hwc, grad_hwc, .. } = scratch;
    let hwc = image_hwc(d, x, hwc);
    let taps = d.ckk();
    if grad_x.is_none() && taps == 9 {
        one_channel_3x3(d, hwc, grad_out, winners, grad_w, grad_b);
        return;
    }
    // The input gradient in (H, W, C) order: straight into `grad_x` when that is its order.
    let (mut gx_hwc, gx_chw): (Option<&mut [T]>, Option<&mut [T]>) = match grad_x {
        Some(gx) if hwc_native(d) => (Some(gx), None),
        Some(gx) => {
            grad_hwc.resize(d.image_len(), zero);
            (Some(&mut grad_hwc[..]), Some(gx))
        }
        None => (None, None),
    };
    if let Some(g) = gx_hwc.as_deref_mut() {
        g.fill(zero);
    }
    let (kc, plane) = (d.k * d.c, d.qh * d.qw);
    for f in 0..d.f {
        let gw = &mut grad_w[f * taps..][..taps];
        let wf = &packed.by_filter[f * taps..][..taps];
        for cell in (0..plane).map(|q| d.cell(f, q)) {
            let winner = winners[cell];
            if winner == DEAD {
                continue;
            }
            let g = grad_out[cell];
            grad_b[f] += g;
            for ki in 0..d.k {
                let at = (winner as usize + ki * d.w) * d.c;
                for (a, &x) in gw[ki * kc..][..kc].iter_mut().zip(&hwc[at..at + kc]) {
                    *a = g.mul_add(x, *a);
                }
                if let Some(gx) = gx_hwc.as_deref_mut() {
                    for (a, &w) in gx[at..at + kc].iter_mut().zip(&wf[ki * kc..][..kc]) {
                        *a = g.mul_add(w, *a);
                    }
                }
            }
        }
    }
    if let (Some(from), Some(to)) = (gx_hwc, gx_chw) {
        for (c, channel) in to.chunks_exact_mut(d.h * d.w).enumerate() {
            for (i, v) in channel.iter_mut().enumerate() {
                *v = from[i * d.c + c];
            }
        }
    }
}

/// The weight gradient of a block with 9 taps (one channel, 3 × 3: the first block), its
/// sums held in registers. The general loop keeps them in memory, and with 3 taps per kernel
/// row each add waits for the store before it; a dead cell contributes a zero instead of a
/// branch that mispredicts on every other cell.
#[multiversion(targets("x86_64+avx2+fma"))]
fn one_channel_3x3<T: Real>(
    d: Dims,
    hwc: &[T],
    grad_out: &[T],
    winners: &[u32],
    grad_w: &mut [T],
    grad_b: &mut [T],
) {
    let zero = T::from_f64(0.0);
    let plane = d.qh * d.qw;
    let offsets: [usize; 9] = std::array::from_fn(|t| (t / 3) * d.w + t % 3);
    for f in 0..d.f {
        let mut acc = [zero; 9];
        let mut bias = zero;
        for cell in (0..plane).map(|q| d.cell(f, q)) {
            let live = winners[cell] != DEAD;
            let g = if live { grad_out[cell] } else { zero };
            let at = if live { winners[cell] as usize } else { 0 };
            bias += g;
            let patch = &hwc[at..at + offsets[8] + 1];
            for (a, &o) in acc.iter_mut().zip(&offsets) {
                *a = g.mul_add(patch[o], *a);
            }
        }
        for (w, a) in grad_w[f * 9..(f + 1) * 9].iter_mut().zip(acc) {
            *w += a;
        }
        grad_b[f] += bias;
    }
}

/// `[f][(ki·K + kj)·C + c]` → candle's `[f][c][ki][kj]`.
pub(crate) fn unpack_weight_grad<T: Real>(d: Dims, by_filter: &[T]) -> Vec<T> {
    let mut out = vec![T::from_f64(0.0); by_filter.len()];
    for f in 0..d.f {
        for c in 0..d.c {
            for ki in 0..d.k {
                for kj in 0..d.k {
                    out[((f * d.c + c) * d.k + ki) * d.k + kj] =
                        by_filter[f * d.ckk() + (ki * d.k + kj) * d.c + c];
                }
            }
        }
    }
    out
}
