//! The fully convolutional pass against the network run on each cut window.

use craters_model::{CraterCnn, InputNorm, SeedCnnConfig, sigmoid};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn image(width: usize, height: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Smooth structure plus noise, so ReLUs and pools take both branches.
    (0..width * height)
        .map(|i| {
            let (x, y) = ((i % width) as f32, (i / width) as f32);
            0.5 + 0.3 * (x / 7.0).sin() * (y / 5.0).cos() + 0.2 * rng.random::<f32>()
        })
        .collect()
}

/// A network with non-zero biases (Keras initialises them to zero).
fn network(input_norm: InputNorm, seed: u64) -> CraterCnn {
    let config = SeedCnnConfig {
        input_norm,
        ..SeedCnnConfig::default()
    };
    let model = CraterCnn::new(&config, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
    for (name, var) in model.named_vars() {
        if name.ends_with(".bias") {
            let n = var.elem_count();
            let values: Vec<f32> = (0..n).map(|_| rng.random_range(-0.2..0.2)).collect();
            var.set(&candle_core::Tensor::from_vec(values, var.shape(), var.device()).unwrap())
                .unwrap();
        }
    }
    model
}

fn cut(image: &[f32], width: usize, left: usize, top: usize) -> Vec<f32> {
    (0..48)
        .flat_map(|dy| image[(top + dy) * width + left..(top + dy) * width + left + 48].to_vec())
        .collect()
}

#[test]
fn dense_scores_equal_the_scores_of_the_cut_windows_at_every_step() {
    for norm in [InputNorm::Raw, InputNorm::PerTile] {
        dense_equals_cut_windows(norm);
    }
}

fn dense_equals_cut_windows(norm: InputNorm) {
    let model = network(norm, 3);
    let dense = model.dense().unwrap();
    assert_eq!((dense.stride(), dense.window()), (6, 48));
    let (width, height) = (97, 73);
    let pixels = image(width, height, 9);
    for step in [6, 3, 2, 1] {
        let got = dense.window_scores(&pixels, width, height, step).unwrap();
        assert_eq!(got.cols, (width - 48) / step + 1);
        assert_eq!(got.rows, (height - 48) / step + 1);
        let mut windows = Vec::new();
        for j in 0..got.rows {
            for i in 0..got.cols {
                windows.extend(cut(&pixels, width, i * step, j * step));
            }
        }
        let expected: Vec<f32> = model.logits(&windows).unwrap().into_iter().map(sigmoid).collect();
        let worst = got
            .scores
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{norm:?} step {step}: largest difference {worst}");
        // Not a constant map: the comparison means something.
        let spread = expected
            .iter()
            .fold(0.0f32, |m, &v| m.max((v - expected[0]).abs()));
        assert!(spread > 1e-3, "step {step}: scores barely vary ({spread})");
    }
}

#[test]
fn per_tile_networks_run_densely_and_per_image_ones_are_refused() {
    assert!(network(InputNorm::PerTile, 4).dense().is_ok());
    let err = network(InputNorm::PerImage, 4).dense().unwrap_err().to_string();
    assert!(err.contains("input_norm") && err.contains("per_image"), "{err}");
}

#[test]
fn bad_steps_and_images_are_errors() {
    let dense = network(InputNorm::Raw, 5).dense().unwrap();
    let pixels = image(50, 50, 1);
    for step in [0, 4, 5, 7, 12] {
        let err = dense
            .window_scores(&pixels, 50, 50, step)
            .unwrap_err()
            .to_string();
        assert!(err.contains("divisor of the network's stride 6"), "{err}");
    }
    assert!(dense.window_scores(&pixels, 50, 49, 6).is_err(), "pixel count");
    assert!(
        dense.window_scores(&pixels[..47 * 50], 50, 47, 6).is_err(),
        "smaller than a window"
    );
    assert!(
        (dense.flops_per_pixel(6) - 1824.44).abs() < 0.01,
        "{}",
        dense.flops_per_pixel(6)
    );
}
