//! The fused block checked three ways: the portable direct convolution against the
//! definition (conv, bias, ReLU, pool written out naively, in f64), the register-blocked
//! kernel against the portable one, and every shape's backward pass against the dense
//! gradient the definition gives.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::direct::{self, Packed, Scratch};
use super::{DEAD, Dims};

fn dims(c: usize, h: usize, w: usize, f: usize, k: usize, pool: usize) -> Dims {
    let (oh, ow) = (h - k + 1, w - k + 1);
    Dims {
        n: 1,
        c,
        h,
        w,
        f,
        k,
        pool,
        qh: oh / pool,
        qw: ow / pool,
        hwc_in: false,
        hwc_out: false,
    }
}

/// The seed network's two blocks, a square odd one, one with a filter count that is not a
/// multiple of 8 and more than 32 filters, and a non-square image.
fn shapes() -> Vec<Dims> {
    vec![
        dims(1, 48, 48, 16, 3, 3),
        dims(16, 15, 15, 32, 3, 2),
        dims(3, 11, 11, 5, 3, 2),
        dims(2, 9, 14, 37, 3, 3),
        dims(4, 12, 9, 8, 5, 1),
    ]
}

fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// conv[f][r][c] with bias, straight from the definition.
fn conv_naive(d: Dims, x: &[f64], w: &[f64], b: &[f64], f: usize, r: usize, col: usize) -> f64 {
    let mut sum = b[f];
    for c in 0..d.c {
        for ki in 0..d.k {
            for kj in 0..d.k {
                sum += w[((f * d.c + c) * d.k + ki) * d.k + kj] * x[(c * d.h + r + ki) * d.w + col + kj];
            }
        }
    }
    sum
}

/// Pooled outputs and winners from the definition (first maximum in column-major order).
fn forward_naive(d: Dims, x: &[f64], w: &[f64], b: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let mut out = vec![0.0; d.cells()];
    let mut winners = vec![DEAD; d.cells()];
    for f in 0..d.f {
        for qi in 0..d.qh {
            for qj in 0..d.qw {
                let cell = (f * d.qh + qi) * d.qw + qj;
                for col in qj * d.pool..(qj + 1) * d.pool {
                    for r in qi * d.pool..(qi + 1) * d.pool {
                        let v = conv_naive(d, x, w, b, f, r, col);
                        if v > out[cell] {
                            out[cell] = v;
                            winners[cell] = (r * d.w + col) as u32;
                        }
                    }
                }
            }
        }
    }
    (out, winners)
}

fn forward<T: super::Real>(d: Dims, x: &[T], w: &[T], b: &[T]) -> (Vec<T>, Vec<u32>) {
    let packed = Packed::new(d, w, b);
    let mut scratch = Scratch::new(d, packed.fp);
    let mut out = vec![T::from_f64(0.0); d.cells()];
    let mut winners = vec![0; d.cells()];
    direct::forward_image(d, &packed, x, &mut out, &mut winners, &mut scratch);
    (out, winners)
}

/// One image's gradients (packed weight order), with the input gradient when `input_grad`.
fn backward(
    d: Dims,
    packed: &Packed<f64>,
    (x, g, winners): (&[f64], &[f64], &[u32]),
    input_grad: bool,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut scratch = Scratch::new(d, packed.fp);
    let (mut gw, mut gb) = (vec![0.0; d.f * d.ckk()], vec![0.0; d.f]);
    let mut gx = vec![f64::NAN; if input_grad { d.image_len() } else { 0 }];
    let grad_x = input_grad.then_some(&mut gx[..]);
    direct::backward_image(d, packed, x, g, winners, &mut gw, &mut gb, grad_x, &mut scratch);
    (gw, gb, gx)
}

#[test]
fn direct_forward_is_the_definition() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for d in shapes() {
        let x = random(d.image_len(), &mut rng);
        let w = random(d.f * d.ckk(), &mut rng);
        let b = random(d.f, &mut rng);
        let (out, winners) = forward(d, &x, &w, &b);
        let (expected, expected_winners) = forward_naive(d, &x, &w, &b);
        for (a, e) in out.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-12, "{d:?}: {a} vs {e}");
        }
        assert_eq!(winners, expected_winners, "{d:?}");
        assert!(
            winners.contains(&DEAD) && winners.iter().any(|&w| w != DEAD),
            "{d:?}"
        );
    }
}

#[test]
fn register_blocked_kernel_matches_the_portable_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut ran = false;
    for d in shapes() {
        let to32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect::<Vec<f32>>();
        let x = to32(random(d.image_len(), &mut rng));
        let packed = Packed::new(
            d,
            &to32(random(d.f * d.ckk(), &mut rng)),
            &to32(random(d.f, &mut rng)),
        );
        let mut hwc = vec![0.0f32; d.image_len()];
        for c in 0..d.c {
            for i in 0..d.h * d.w {
                hwc[i * d.c + c] = x[c * d.h * d.w + i];
            }
        }
        let len = d.pool * d.used().1 * packed.fp;
        for top in (0..d.qh).map(|qi| qi * d.pool) {
            let (mut fast, mut portable) = (vec![f32::NAN; len], vec![f32::NAN; len]);
            if !super::simd::conv_band(d, &packed, &hwc, top, &mut fast) {
                continue;
            }
            ran = true;
            direct::conv_band(d, &packed, &hwc, top, &mut portable);
            for (a, b) in fast.iter().zip(&portable) {
                // Same order of sums; only the fused multiply-add's single rounding differs.
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{d:?} row {top}: {a} vs {b}"
                );
            }
        }
    }
    if !ran {
        eprintln!(
            "register_blocked_kernel_matches_the_portable_one: this CPU has no AVX2/FMA, the portable kernel runs"
        );
    }
}

#[test]
fn backward_visits_winners_only_and_matches_the_dense_gradient() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for d in shapes() {
        let x = random(d.image_len(), &mut rng);
        let w = random(d.f * d.ckk(), &mut rng);
        let b = random(d.f, &mut rng);
        let g = random(d.cells(), &mut rng);
        let (_, winners) = forward(d, &x, &w, &b);
        let packed = Packed::new(d, &w, &b);
        let (gw, gb, gx) = backward(d, &packed, (&x, &g, &winners), true);
        // Without the input gradient (the first block), 9-tap blocks take their own path.
        let (gw_only, gb_only, _) = backward(d, &packed, (&x, &g, &winners), false);
        for (a, b) in gw_only.iter().zip(&gw).chain(gb_only.iter().zip(&gb)) {
            assert!(
                (a - b).abs() < 1e-12,
                "{d:?} without the input gradient: {a} vs {b}"
            );
        }
        let gw = direct::unpack_weight_grad(d, &gw);

        // The dense gradient: every conv position, weighted by its pooled cell's gradient
        // when it is the cell's winner.
        let uw = d.used().1;
        let (mut ew, mut eb, mut ex) = (vec![0.0; gw.len()], vec![0.0; d.f], vec![0.0; d.image_len()]);
        #[allow(clippy::needless_range_loop)] // f indexes three arrays and a formula
        for f in 0..d.f {
            for r in 0..d.qh * d.pool {
                for col in 0..uw {
                    let cell = (f * d.qh + r / d.pool) * d.qw + col / d.pool;
                    let upstream = if winners[cell] == (r * d.w + col) as u32 {
                        g[cell]
                    } else {
                        0.0
                    };
                    eb[f] += upstream;
                    for c in 0..d.c {
                        for ki in 0..d.k {
                            for kj in 0..d.k {
                                let wi = ((f * d.c + c) * d.k + ki) * d.k + kj;
                                let xi = (c * d.h + r + ki) * d.w + col + kj;
                                ew[wi] += upstream * x[xi];
                                ex[xi] += upstream * w[wi];
                            }
                        }
                    }
                }
            }
        }
        for (got, expected) in [(&gw, &ew), (&gb, &eb), (&gx, &ex)] {
            for (a, e) in got.iter().zip(expected.iter()) {
                assert!((a - e).abs() < 1e-12, "{d:?}: {a} vs {e}");
            }
        }
    }
}

/// (C, H, W) → (H, W, C) of one image or one output.
fn to_hwc(v: &[f64], c: usize, pixels: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for ch in 0..c {
        for i in 0..pixels {
            out[i * c + ch] = v[ch * pixels + i];
        }
    }
    out
}

#[test]
fn channels_last_input_and_output_give_the_same_numbers_transposed() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for d in shapes() {
        let x = random(d.image_len(), &mut rng);
        let w = random(d.f * d.ckk(), &mut rng);
        let b = random(d.f, &mut rng);
        let g = random(d.cells(), &mut rng);
        let packed = Packed::new(d, &w, &b);
        let run = |d: Dims, x: &[f64], g: &[f64]| {
            let mut scratch = Scratch::new(d, packed.fp);
            let (mut out, mut winners) = (vec![0.0; d.cells()], vec![0; d.cells()]);
            direct::forward_image(d, &packed, x, &mut out, &mut winners, &mut scratch);
            let (gw, gb, gx) = backward(d, &packed, (x, g, &winners), true);
            (out, winners, gw, gb, gx)
        };
        let plane = d.qh * d.qw;
        let (out, winners, gw, gb, gx) = run(d, &x, &g);
        let last = Dims {
            hwc_in: true,
            hwc_out: true,
            ..d
        };
        let (out_l, winners_l, gw_l, gb_l, gx_l) =
            run(last, &to_hwc(&x, d.c, d.h * d.w), &to_hwc(&g, d.f, plane));
        assert_eq!(out_l, to_hwc(&out, d.f, plane), "{d:?}");
        let winners_hwc: Vec<u32> = (0..d.cells())
            .map(|i| winners[(i % d.f) * plane + i / d.f])
            .collect();
        assert_eq!(winners_l, winners_hwc, "{d:?}");
        assert_eq!((gw_l, gb_l), (gw, gb), "{d:?}");
        assert_eq!(gx_l, to_hwc(&gx, d.c, d.h * d.w), "{d:?}");
    }
}
