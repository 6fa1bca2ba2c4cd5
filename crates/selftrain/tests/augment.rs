//! Augmentations keep what defines the label: where the crater is and where the sun is.

use craters_selftrain::{AugmentParams, ConsistencyParams, MAX_SHIFT};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SIDE: usize = 48;

/// A bowl 6 px in radius at (cx, cy), lit from the west: its western inner wall in shadow,
/// its eastern inner wall bright, on flat ground of 0.5.
fn crater(cx: f32, cy: f32) -> Vec<f32> {
    let mut patch = vec![0.5f32; SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx.hypot(dy) < 6.0 {
                patch[y * SIDE + x] = 0.5 + 0.4 * dx / 6.0;
            }
        }
    }
    patch
}

/// Centre of the pixels that differ from the ground by more than 0.15 (after any photometric
/// change: measured against the patch's median).
fn centre(patch: &[f32]) -> (f32, f32) {
    let mut sorted = patch.to_vec();
    sorted.sort_by(f32::total_cmp);
    let ground = sorted[sorted.len() / 2];
    let spread = sorted[sorted.len() - 1] - sorted[0];
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for y in 0..SIDE {
        for x in 0..SIDE {
            if (patch[y * SIDE + x] - ground).abs() > 0.35 * spread {
                sx += x as f32 + 0.5;
                sy += y as f32 + 0.5;
                n += 1.0;
            }
        }
    }
    (sx / n, sy / n)
}

/// Mean brightness of the crater's eastern half minus its western half, around (cx, cy).
fn east_minus_west(patch: &[f32], cx: f32, cy: f32) -> f32 {
    let mut d = 0.0;
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx.hypot(dy) < 5.0 {
                d += dx.signum() * patch[y * SIDE + x];
            }
        }
    }
    d
}

#[test]
fn a_centred_crater_stays_within_the_labelling_rule_under_every_view() {
    let half = SIDE as f32 / 2.0;
    for params in [AugmentParams::weak(), AugmentParams::strong()] {
        let valid = params.check("view").unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut worst = 0.0f32;
        for _ in 0..300 {
            let mut patch = crater(half, half);
            valid.apply(&mut patch, SIDE, &mut rng);
            let (x, y) = centre(&patch);
            worst = worst.max((x - half).abs()).max((y - half).abs());
        }
        // Shifts are at most MAX_SHIFT px; the centre estimate adds under a pixel (noise).
        assert!(worst <= MAX_SHIFT as f32 + 1.0, "{params:?}: moved {worst} px");
        assert!(worst < 10.0);
        assert!(
            worst >= params.max_shift as f32 - 1.0,
            "{params:?}: never shifted ({worst} px)"
        );
    }
}

#[test]
fn the_default_views_keep_the_sun_in_the_west_and_a_left_right_flip_does_not() {
    let half = SIDE as f32 / 2.0;
    let lit = east_minus_west(&crater(half, half), half, half);
    assert!(lit > 0.0);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for params in [AugmentParams::weak(), AugmentParams::strong()] {
        let valid = params.check("view").unwrap();
        for _ in 0..100 {
            let mut patch = crater(half, half);
            valid.apply(&mut patch, SIDE, &mut rng);
            let (x, y) = centre(&patch);
            assert!(east_minus_west(&patch, x, y) > 0.0, "{params:?} moved the sun");
        }
    }
    let mirror = AugmentParams {
        flip_left_right: true,
        ..AugmentParams::default()
    }
    .check("mirror")
    .unwrap();
    let flipped = (0..100)
        .filter(|_| {
            let mut patch = crater(half, half);
            mirror.apply(&mut patch, SIDE, &mut rng);
            east_minus_west(&patch, half, half) < 0.0
        })
        .count();
    assert!((30..=70).contains(&flipped), "{flipped} of 100 mirrored");
}

#[test]
fn the_same_seed_gives_the_same_views() {
    let strong = AugmentParams::strong().check("strong").unwrap();
    let views = |seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pixels: Vec<f32> = (0..4).flat_map(|k| crater(20.0 + k as f32, 26.0)).collect();
        strong.apply(&mut pixels, SIDE, &mut rng);
        pixels
    };
    assert_eq!(views(1), views(1));
    assert_ne!(views(1), views(2));
    assert!(views(1).iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn bad_method_parameters_are_clear_errors() {
    let check = |p: ConsistencyParams| p.check().unwrap_err().to_string();
    let base = ConsistencyParams::default();
    let cases = [
        (
            ConsistencyParams {
                confidence: 0.3,
                ..base
            },
            "consistency.confidence: 0.3 is outside [0.5, 1]",
        ),
        (
            ConsistencyParams {
                unlabelled_ratio: 0,
                ..base
            },
            "consistency.unlabelled_ratio: 0; expected at least 1",
        ),
        (
            ConsistencyParams {
                weight: f64::NAN,
                ..base
            },
            "consistency.weight: NaN; expected a finite number ≥ 0",
        ),
        (
            ConsistencyParams {
                ema_decay: 1.0,
                ..base
            },
            "consistency.ema_decay: 1 is outside [0, 1)",
        ),
        (
            ConsistencyParams {
                keep_teacher: true,
                ..base
            },
            "consistency.keep_teacher: true without a teacher to keep; set teacher = \"moving_average\"",
        ),
        (
            ConsistencyParams {
                strong: AugmentParams {
                    max_shift: 12,
                    ..AugmentParams::strong()
                },
                ..base
            },
            "consistency.strong: max_shift 12 is beyond 4 px",
        ),
        (
            ConsistencyParams {
                weak: AugmentParams {
                    contrast: 1.5,
                    ..AugmentParams::weak()
                },
                ..base
            },
            "consistency.weak: contrast 1.5 is outside [0, 0.95]",
        ),
    ];
    for (params, expected) in cases {
        let message = check(params);
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains('\n'));
    }
    // From TOML, an unknown key is an error too.
    let err = toml::from_str::<ConsistencyParams>("confidense = 0.9").unwrap_err();
    assert!(err.to_string().contains("unknown field `confidense`"), "{err}");
}
