//! [`super::direct::conv_band`] and [`super::direct::pool_band`] for f32 with AVX2 and FMA.
//!
//! Why by hand: the portable loop keeps its sums in memory and cannot fuse the multiply and
//! add, so it runs at a fraction of the machine's rate. Here a block of `P` neighbouring
//! positions × `V` vectors of 8 filters is accumulated in 12 of the 16 vector registers
//! (6 × 2 or 12 × 1; with the `V` weight vectors and the broadcast value that is 15 or 14,
//! so nothing spills to the stack: 3 × 4 did, and ran at half speed). For each tap the
//! weight vectors are loaded once and each position's input value is broadcast once. Every
//! sum is taken in the same order (bias, then taps in `(ki, kj, c)` order), whatever the
//! thread count or the block a position falls in.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, _CMP_GT_OQ, _mm256_blendv_ps, _mm256_broadcast_ss, _mm256_castsi256_ps, _mm256_cmp_ps,
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_epi32, _mm256_setzero_ps, _mm256_storeu_ps,
};

use super::direct::{LANES, Packed};
use super::{DEAD, Dims};

/// Runs the kernel when this machine has AVX2 and FMA; `false` (nothing written) when not.
pub(crate) fn conv_band(d: Dims, packed: &Packed<f32>, hwc: &[f32], top: usize, band: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        let (uw, kc, fp) = (d.used().1, d.k * d.c, packed.fp);
        // The bounds every pointer below stays within.
        assert!(top + d.pool + d.k - 1 <= d.h && uw + d.k - 1 <= d.w);
        assert!(hwc.len() >= d.image_len() && band.len() >= d.pool * uw * fp);
        assert!(packed.taps.len() == d.k * kc * fp && packed.bias.len() == fp && fp % LANES == 0);
        // SAFETY: the CPU has the features (checked above), and the asserts keep every load
        // and store in its slice: positions reach column uw − 1 + K − 1 < W and row
        // top + pool − 1 + K − 1 < H; tap rows reach K · K · C · fp; band cells (row · uw +
        // col) · fp + fp ≤ pool · uw · fp.
        unsafe { avx2::conv_band(d, packed, hwc, top, band) };
        return true;
    }
    let _ = (d, packed, hwc, top, band);
    false
}

/// [`super::direct::pool_band`] for f32 with AVX2: the filters of a cell side by side in
/// vector lanes, compared and blended without branches. `false` when the CPU lacks AVX2.
pub(crate) fn pool_band(
    d: Dims,
    fp: usize,
    qi: usize,
    band: &[f32],
    out: &mut [f32],
    winners: &mut [u32],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let uw = d.used().1;
        assert!(band.len() >= d.pool * uw * fp && fp % LANES == 0 && fp >= d.f);
        assert!(qi < d.qh && out.len() >= d.cells() && winners.len() >= d.cells());
        // SAFETY: AVX2 is there (checked above); the band reads stay below pool · uw · fp
        // and the cell writes below F · qh · qw, as the asserts guarantee.
        unsafe { avx2::pool_band(d, fp, qi, band, out, winners) };
        return true;
    }
    let _ = (d, fp, qi, band, out, winners);
    false
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    /// See [`super::conv_band`], whose asserts this relies on.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn conv_band(d: Dims, packed: &Packed<f32>, hwc: &[f32], top: usize, band: &mut [f32]) {
        let vectors = packed.fp / LANES;
        let mut first = 0;
        while first < vectors {
            // Filter groups of up to 2 vectors (16 filters): 6 positions × 2 vectors or 12
            // × 1, with a shorter block for the row's tail.
            if vectors - first == 1 {
                unsafe { rows::<12, 4, 1>(d, packed, hwc, top, band, first) };
            } else {
                unsafe { rows::<6, 3, 2>(d, packed, hwc, top, band, first) };
            }
            first += 2;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows<const P: usize, const TAIL: usize, const V: usize>(
        d: Dims,
        packed: &Packed<f32>,
        hwc: &[f32],
        top: usize,
        band: &mut [f32],
        first: usize,
    ) {
        let uw = d.used().1;
        for row in 0..d.pool {
            let mut col = 0;
            while col + P <= uw {
                unsafe { block::<P, V>(d, packed, hwc, top, band, first, row, col) };
                col += P;
            }
            while col + TAIL <= uw {
                unsafe { block::<TAIL, V>(d, packed, hwc, top, band, first, row, col) };
                col += TAIL;
            }
            while col < uw {
                unsafe { block::<1, V>(d, packed, hwc, top, band, first, row, col) };
                col += 1;
            }
        }
    }

    /// Positions `col .. col + P` of band row `row`, filter vectors `first .. first + V`.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn block<const P: usize, const V: usize>(
        d: Dims,
        packed: &Packed<f32>,
        hwc: &[f32],
        top: usize,
        band: &mut [f32],
        first: usize,
        row: usize,
        col: usize,
    ) {
        let (uw, kc, fp) = (d.used().1, d.k * d.c, packed.fp);
        unsafe {
            let bias = packed.bias.as_ptr().add(first * LANES);
            let mut acc: [[__m256; V]; P] = [[_mm256_loadu_ps(bias); V]; P];
            for a in acc.iter_mut() {
                for (v, a) in a.iter_mut().enumerate() {
                    *a = _mm256_loadu_ps(bias.add(v * LANES));
                }
            }
            for ki in 0..d.k {
                let x = hwc.as_ptr().add(((top + row + ki) * d.w + col) * d.c);
                let w = packed.taps.as_ptr().add(ki * kc * fp + first * LANES);
                for t in 0..kc {
                    let wt = w.add(t * fp);
                    let mut wv = [_mm256_loadu_ps(wt); V];
                    for (v, wv) in wv.iter_mut().enumerate().skip(1) {
                        *wv = _mm256_loadu_ps(wt.add(v * LANES));
                    }
                    for (p, a) in acc.iter_mut().enumerate() {
                        let xb = _mm256_broadcast_ss(&*x.add(p * d.c + t));
                        for (a, &wv) in a.iter_mut().zip(&wv) {
                            *a = _mm256_fmadd_ps(wv, xb, *a);
                        }
                    }
                }
            }
            let out = band.as_mut_ptr().add((row * uw + col) * fp + first * LANES);
            for (p, a) in acc.iter().enumerate() {
                for (v, &a) in a.iter().enumerate() {
                    _mm256_storeu_ps(out.add(p * fp + v * LANES), a);
                }
            }
        }
    }

    /// See [`super::pool_band`], whose asserts this relies on.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn pool_band(
        d: Dims,
        fp: usize,
        qi: usize,
        band: &[f32],
        out: &mut [f32],
        winners: &mut [u32],
    ) {
        let uw = d.used().1;
        let mut best = [0.0f32; LANES];
        let mut winner = [0u32; LANES];
        for qj in 0..d.qw {
            for first in (0..d.f).step_by(LANES) {
                unsafe {
                    let mut b = _mm256_setzero_ps();
                    let mut w = _mm256_castsi256_ps(_mm256_set1_epi32(DEAD as i32));
                    // Column by column, top row first, strictly greater: the same winner
                    // as the portable loop.
                    for col in qj * d.pool..(qj + 1) * d.pool {
                        for row in 0..d.pool {
                            let position = ((qi * d.pool + row) * d.w + col) as i32;
                            let v = _mm256_loadu_ps(band.as_ptr().add((row * uw + col) * fp + first));
                            let greater = _mm256_cmp_ps::<_CMP_GT_OQ>(v, b);
                            b = _mm256_blendv_ps(b, v, greater);
                            w = _mm256_blendv_ps(
                                w,
                                _mm256_castsi256_ps(_mm256_set1_epi32(position)),
                                greater,
                            );
                        }
                    }
                    _mm256_storeu_ps(best.as_mut_ptr(), b);
                    _mm256_storeu_ps(winner.as_mut_ptr().cast(), w);
                }
                let lanes = LANES.min(d.f - first);
                if d.hwc_out {
                    let cell = d.cell(first, qi * d.qw + qj);
                    out[cell..cell + lanes].copy_from_slice(&best[..lanes]);
                    winners[cell..cell + lanes].copy_from_slice(&winner[..lanes]);
                } else {
                    for lane in 0..lanes {
                        let cell = d.cell(first + lane, qi * d.qw + qj);
                        out[cell] = best[lane];
                        winners[cell] = winner[lane];
                    }
                }
            }
        }
    }
}
