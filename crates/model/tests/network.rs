//! The seed network: size, shapes, loss, determinism and gradients.

use candle_core::{DType, Device, ModuleT, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use craters_model::{Kernels, SeedCnn, SeedCnnConfig, bce_with_logits, keras_init, max_pool};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn build(dtype: DType, init_seed: u64) -> (VarMap, SeedCnn) {
    build_with(dtype, init_seed, Kernels::default())
}

fn build_with(dtype: DType, init_seed: u64, kernels: Kernels) -> (VarMap, SeedCnn) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
    let config = SeedCnnConfig {
        kernels,
        ..Default::default()
    };
    let model = SeedCnn::new(&config, vb, 7).unwrap();
    keras_init(&varmap, init_seed).unwrap();
    (varmap, model)
}

fn images(n: usize, seed: u64, dtype: DType) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pixels: Vec<f64> = (0..n * 48 * 48).map(|_| rng.random::<f64>()).collect();
    Tensor::from_vec(pixels, (n, 1, 48, 48), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

#[test]
fn has_14033_parameters_and_the_seed_shapes() {
    let config = SeedCnnConfig::default();
    let s = config.shapes().unwrap();
    assert_eq!(
        (s.input, s.conv1, s.pool1, s.conv2, s.pool2, s.flat),
        (48, 46, 15, 13, 6, 1152)
    );
    assert_eq!(config.parameter_count().unwrap(), 14_033);
    let (varmap, model) = build(DType::F32, 0);
    let total: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    assert_eq!(total, 14_033);
    let mut names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "conv1.bias",
            "conv1.weight",
            "conv2.bias",
            "conv2.weight",
            "dense1.bias",
            "dense1.weight",
            "dense2.bias",
            "dense2.weight"
        ]
    );
    let out = model.forward_t(&images(3, 0, DType::F32), false).unwrap();
    assert_eq!(out.dims(), [3]);
}

#[test]
fn rejects_configs_that_do_not_fit() {
    let small = SeedCnnConfig {
        input_size: 8,
        ..Default::default()
    };
    let err = small.shapes().unwrap_err().to_string();
    assert!(
        err.contains("input_size = 8") && err.contains("conv2 gets a 2 px map"),
        "{err}"
    );
    let tiny = SeedCnnConfig {
        input_size: 2,
        ..Default::default()
    };
    assert!(
        tiny.shapes()
            .unwrap_err()
            .to_string()
            .contains("conv1 gets a 2 px map")
    );
    let wide_pool = SeedCnnConfig {
        pool1: 50,
        ..Default::default()
    };
    let err = wide_pool.shapes().unwrap_err().to_string();
    assert!(
        err.contains("pool1 = 50") && err.contains("at most the 46 px map"),
        "{err}"
    );
    let dropout = SeedCnnConfig {
        dropout: 1.0,
        ..Default::default()
    };
    assert!(dropout.shapes().unwrap_err().to_string().contains("dropout"));
    let zero = SeedCnnConfig {
        dense: 0,
        ..Default::default()
    };
    assert!(
        zero.parameter_count()
            .unwrap_err()
            .to_string()
            .contains("dense = 0")
    );
}

#[test]
fn keras_init_is_seeded_glorot_uniform() {
    let (a, _) = build(DType::F32, 3);
    let (b, _) = build(DType::F32, 3);
    let (c, _) = build(DType::F32, 4);
    let values = |m: &VarMap, name: &str| -> Vec<f32> {
        m.data().lock().unwrap()[name]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    assert_eq!(values(&a, "conv2.weight"), values(&b, "conv2.weight"));
    assert_ne!(values(&a, "conv2.weight"), values(&c, "conv2.weight"));
    assert!(values(&a, "dense1.bias").iter().all(|&v| v == 0.0));
    // conv2: fan_in 16·9, fan_out 32·9 → limit sqrt(6 / 432); dense1: sqrt(6 / 1160).
    for (name, limit) in [
        ("conv2.weight", (6.0f32 / 432.0).sqrt()),
        ("dense1.weight", (6.0f32 / 1160.0).sqrt()),
    ] {
        let v = values(&a, name);
        let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(
            max < limit && max > 0.95 * limit,
            "{name}: max |w| {max}, limit {limit}"
        );
    }
}

#[test]
fn dropout_only_in_training_and_seeded() {
    let (_, model) = build(DType::F32, 1);
    let x = images(4, 1, DType::F32);
    let eval_a: Vec<f32> = model.forward_t(&x, false).unwrap().to_vec1().unwrap();
    let eval_b: Vec<f32> = model.forward_t(&x, false).unwrap().to_vec1().unwrap();
    assert_eq!(eval_a, eval_b);
    let train: Vec<f32> = model.forward_t(&x, true).unwrap().to_vec1().unwrap();
    assert_ne!(train, eval_a);
    let (_, twin) = build(DType::F32, 1);
    assert_eq!(
        twin.forward_t(&x, true).unwrap().to_vec1::<f32>().unwrap(),
        train,
        "same dropout seed, same masks"
    );
}

#[test]
fn loss_matches_reference_values() {
    // Reference: Python, max(z,0) − z·y + log1p(exp(−|z|)), mean and weighted mean.
    let dev = Device::Cpu;
    let z = Tensor::new(&[-2.0f64, 0.0, 3.0, -0.5], &dev).unwrap();
    let y = Tensor::new(&[0.0f64, 1.0, 1.0, 1.0], &dev).unwrap();
    let w = Tensor::new(&[1.0f64, 2.0, 0.5, 1.5], &dev).unwrap();
    let mean = bce_with_logits(&z, &y, None).unwrap().to_scalar::<f64>().unwrap();
    let weighted = bce_with_logits(&z, &y, Some(&w))
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!((mean - 0.46068488183919165).abs() < 1e-12, "{mean}");
    assert!((weighted - 0.7496578810549736).abs() < 1e-12, "{weighted}");
    // Stable for large logits, where a naive log(sigmoid) overflows.
    let big = Tensor::new(&[800.0f64, -800.0], &dev).unwrap();
    let loss = bce_with_logits(&big, &Tensor::new(&[0.0f64, 1.0], &dev).unwrap(), None).unwrap();
    assert_eq!(loss.to_scalar::<f64>().unwrap(), 800.0);
}

#[test]
fn max_pool_routes_one_gradient_per_window() {
    // One channel of the network's two pooled maps: 46 → 15 (pool 3) and 13 → 6 (pool 2).
    for (side, size) in [(46usize, 3usize), (13, 2)] {
        let mut rng = ChaCha8Rng::seed_from_u64(side as u64);
        let values: Vec<f64> = (0..side * side).map(|_| rng.random::<f64>()).collect();
        let x = Var::from_vec(values, (1, 1, side, side), &Device::Cpu).unwrap();
        let pooled = max_pool(x.as_tensor(), size).unwrap();
        let grads = pooled.sum_all().unwrap().backward().unwrap();
        let g: Vec<f64> = grads.get(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let windows = (side / size) * (side / size);
        assert_eq!(g.iter().filter(|&&v| v != 0.0).count(), windows, "{side}/{size}");
        assert!(g.iter().all(|&v| v == 0.0 || v == 1.0));
    }
}

#[test]
fn fused_kernels_gradients_match_finite_differences() {
    check_gradients(Kernels::Fused);
}

#[test]
fn candle_kernels_gradients_match_finite_differences() {
    check_gradients(Kernels::Candle);
}

/// Central finite differences of the loss, in f64, against the backward pass.
fn check_gradients(kernels: Kernels) {
    let (varmap, model) = build_with(DType::F64, 11, kernels);
    // Non-zero biases, so that ReLUs see varied pre-activations; drawn in name order, since
    // the VarMap's own order changes from run to run.
    let data = varmap.data().lock().unwrap().clone();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for name in names.iter().filter(|n| n.ends_with(".bias")) {
        let var = &data[*name];
        let b: Vec<f64> = (0..var.elem_count())
            .map(|_| rng.random_range(-0.1..0.1))
            .collect();
        var.set(&Tensor::from_vec(b, var.dims(), &Device::Cpu).unwrap())
            .unwrap();
    }
    let x = images(6, 2, DType::F64);
    let y = Tensor::new(&[0.0f64, 1.0, 1.0, 0.0, 1.0, 0.0], &Device::Cpu).unwrap();
    let loss = |m: &SeedCnn| bce_with_logits(&m.forward_t(&x, false).unwrap(), &y, None).unwrap();
    let grads = loss(&model).backward().unwrap();
    let eps = 1e-6;
    let mut worst = 0.0f64;
    for name in names {
        let var = &data[name];
        let analytic: Vec<f64> = grads.get(var).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let original: Vec<f64> = var.flatten_all().unwrap().to_vec1().unwrap();
        // Every conv1 entry (the layer behind both pools), about 500 of conv2's, 60 of each
        // dense tensor.
        let stride = match name.as_str() {
            "conv1.weight" | "conv1.bias" => 1,
            "conv2.weight" => 9,
            _ => (original.len() / 60).max(1),
        };
        let checked: Vec<usize> = (0..original.len()).step_by(stride).collect();
        for i in checked {
            let at = |delta: f64| {
                let mut v = original.clone();
                v[i] += delta;
                var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
                    .unwrap();
                loss(&model).to_scalar::<f64>().unwrap()
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            // Relative error, with a floor below which finite differences are round-off.
            let error = (numeric - analytic[i]).abs() / (numeric.abs() + analytic[i].abs()).max(1e-4);
            assert!(
                error < 1e-5,
                "{name}[{i}]: analytic {} numeric {numeric}",
                analytic[i]
            );
            worst = worst.max(error);
        }
        var.set(&Tensor::from_vec(original, var.dims(), &Device::Cpu).unwrap())
            .unwrap();
    }
    println!("gradient check ({kernels:?} kernels): max relative error {worst:.3e}");
}

/// Forward pass and gradients of both kernel paths on the same f32 weights and batch.
fn outputs_and_gradients(kernels: Kernels, threads: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (varmap, model) = build_with(DType::F32, 3, kernels);
        let x = images(32, 9, DType::F32);
        let y = Tensor::from_vec(
            (0..32).map(|i| (i % 3 % 2) as f32).collect::<Vec<_>>(),
            32,
            &Device::Cpu,
        )
        .unwrap();
        let logits = model.forward_t(&x, false).unwrap();
        let grads = bce_with_logits(&logits, &y, None).unwrap().backward().unwrap();
        let data = varmap.data().lock().unwrap();
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        let g = names
            .iter()
            .map(|n| {
                grads
                    .get(&data[*n])
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            })
            .collect();
        (logits.to_vec1().unwrap(), g)
    })
}

#[test]
fn fused_kernels_agree_with_candle_and_ignore_the_thread_count() {
    let (fused_out, fused_grads) = outputs_and_gradients(Kernels::Fused, 2);
    let (candle_out, candle_grads) = outputs_and_gradients(Kernels::Candle, 2);
    for (a, b) in fused_out.iter().zip(&candle_out) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "logit {a} vs {b}");
    }
    for (fused, candle) in fused_grads.iter().zip(&candle_grads) {
        let scale = candle.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (a, b) in fused.iter().zip(candle) {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "gradient {a} vs {b} (largest {scale})"
            );
        }
    }
    // Work is split by image, so one thread gives the same bits as two.
    let (one_out, one_grads) = outputs_and_gradients(Kernels::Fused, 1);
    assert_eq!(one_out, fused_out);
    assert_eq!(one_grads, fused_grads);
}
