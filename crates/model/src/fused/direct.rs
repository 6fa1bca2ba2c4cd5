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

    /// Fills `hwc` with `x` (one image, (C, H, W)).
    fn load(&mut self, d: Dims, x: &[T]) {
        if d.c == 1 {
            self.hwc.copy_from_slice(x);
            return;
        }
        let plane = d.h * d.w;
        for (c, channel) in x.chunks_exact(plane).enumerate() {
            for (i, &v) in channel.iter().enumerate() {
                self.hwc[i * d.c + c] = v;
            }
        }
    }
}

/// Conv + bias + ReLU + max-pool of one image: `out[f][qi][qj]` and the winning position
/// (`row · uw + col` in the pooled region) of each cell.
pub(crate) fn forward_image<T: Real>(
    d: Dims,
    packed: &Packed<T>,
    x: &[T],
    out: &mut [T],
    winners: &mut [u32],
    scratch: &mut Scratch<T>,
) {
    scratch.load(d, x);
    for qi in 0..d.qh {
        let top = qi * d.pool;
        if !T::band_simd(d, packed, &scratch.hwc, qi, &mut scratch.band, out, winners) {
            conv_band(d, packed, &scratch.hwc, top, &mut scratch.band);
            pool_band(d, packed.fp, qi, out, winners, scratch);
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
pub(crate) fn pool_band<T: Real>(
    d: Dims,
    fp: usize,
    qi: usize,
    out: &mut [T],
    winners: &mut [u32],
    scratch: &mut Scratch<T>,
) {
    let zero = T::from_f64(0.0);
    let (uw, plane) = (d.used().1, d.qh * d.qw);
    let Scratch {
        band, best, winner, ..
    } = scratch;
    for qj in 0..d.qw {
        best.fill(zero);
        winner.fill(DEAD);
        for col in qj * d.pool..(qj + 1) * d.pool {
            for row in 0..d.pool {
                let position = ((qi * d.pool + row) * uw + col) as u32;
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
            let cell = f * plane + qi * d.qw + qj;
            out[cell] = best[f];
            winners[cell] = winner[f];
        }
    }
}

/// One image's gradients, added to `grad_w` (`[f][(ki·K + kj)·C + c]`, [`Packed::by_filter`]'s
/// order), `grad_b` and, when given, `grad_x` ((C, H, W), overwritten).
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
    scratch.load(d, x);
    let want_x = grad_x.is_some();
    if want_x {
        scratch.grad_hwc.clear();
        scratch.grad_hwc.resize(d.image_len(), zero);
    }
    let (uw, kc, plane) = (d.used().1, d.k * d.c, d.qh * d.qw);
    let taps = d.ckk();
    for f in 0..d.f {
        let gw = &mut grad_w[f * taps..][..taps];
        let wf = &packed.by_filter[f * taps..][..taps];
        for cell in f * plane..(f + 1) * plane {
            let winner = winners[cell];
            if winner == DEAD {
                continue;
            }
            let g = grad_out[cell];
            grad_b[f] += g;
            let (r, col) = (winner as usize / uw, winner as usize % uw);
            for ki in 0..d.k {
                let at = ((r + ki) * d.w + col) * d.c;
                let xs = &scratch.hwc[at..at + kc];
                for (a, &x) in gw[ki * kc..][..kc].iter_mut().zip(xs) {
                    *a += g * x;
                }
                if want_x {
                    let gx = &mut scratch.grad_hwc[at..at + kc];
                    for (a, &w) in gx.iter_mut().zip(&wf[ki * kc..][..kc]) {
                        *a += g * w;
                    }
                }
            }
        }
    }
    if let Some(grad_x) = grad_x {
        let pixels = d.h * d.w;
        for (c, channel) in grad_x.chunks_exact_mut(pixels).enumerate() {
            for (i, v) in channel.iter_mut().enumerate() {
                *v = scratch.grad_hwc[i * d.c + c];
            }
        }
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
