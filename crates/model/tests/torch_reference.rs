//! The network against PyTorch: outputs, loss, gradients and three Adam steps, in f64.
//!
//! `fixtures/torch_reference.json` was written by `tools/torch_reference.py` (PyTorch,
//! float64), which builds the network as `../shared/peer/torch_cnn.py` does and fills
//! weights and inputs from the formulas mirrored below.

use std::collections::HashMap;

use candle_core::{DType, Device, ModuleT, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use craters_model::{Adam, AdamConfig, Kernels, SeedCnn, SeedCnnConfig, bce_with_logits};
use serde_json::Value;

const N_IMAGES: usize = 4;

fn fixture() -> Value {
    let text = include_str!("fixtures/torch_reference.json");
    serde_json::from_str(text).unwrap()
}

fn weight_value(tensor_index: usize, i: usize, scale: f64) -> f64 {
    scale * (0.7 * i as f64 + 1.3 * tensor_index as f64 + 0.1).sin()
}

fn input_value(i: usize) -> f64 {
    let i = i as f64;
    0.5 + 0.5 * ((0.013 * i * i) % 6.0 + 0.37 * i).sin()
}

/// The network in f64 with the fixture's weights, and its variables by name.
fn network(kernels: Kernels) -> (SeedCnn, Vec<(String, Var)>) {
    let varmap = VarMap::new();
    let net = SeedCnn::new(
        &SeedCnnConfig {
            kernels,
            ..Default::default()
        },
        VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu),
        0,
    )
    .unwrap();
    let mut vars: Vec<(String, Var)> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, (_, var)) in vars.iter().enumerate() {
        let dims = var.dims().to_vec();
        let fan: usize = if dims.len() == 1 {
            dims[0]
        } else {
            dims[1..].iter().product()
        };
        let scale = 1.0 / (fan as f64).sqrt();
        let values: Vec<f64> = (0..var.elem_count()).map(|i| weight_value(k, i, scale)).collect();
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu).unwrap())
            .unwrap();
    }
    (net, vars)
}

fn inputs() -> Tensor {
    let values: Vec<f64> = (0..N_IMAGES * 48 * 48).map(input_value).collect();
    Tensor::from_vec(values, (N_IMAGES, 1, 48, 48), &Device::Cpu).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(actual: f64, expected: f64, what: &str) {
    let tol = 1e-9 * expected.abs().max(1e-3);
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: candle {actual}, PyTorch {expected}"
    );
}

/// Compares a tensor with its fixture summary: every value, or count, sums, norm and samples.
fn compare(tensor: &Tensor, expected: &Value, what: &str) {
    let values: Vec<f64> = tensor.flatten_all().unwrap().to_vec1().unwrap();
    if let Some(all) = expected.get("values") {
        let all = floats(all);
        assert_eq!(values.len(), all.len(), "{what}");
        for (i, (a, e)) in values.iter().zip(&all).enumerate() {
            close(*a, *e, &format!("{what}[{i}]"));
        }
        return;
    }
    assert_eq!(values.len() as u64, expected["count"].as_u64().unwrap(), "{what}");
    close(
        values.iter().sum(),
        expected["sum"].as_f64().unwrap(),
        &format!("{what} sum"),
    );
    close(
        values.iter().map(|v| v.abs()).sum(),
        expected["sum_abs"].as_f64().unwrap(),
        &format!("{what} sum |x|"),
    );
    close(
        values.iter().map(|v| v * v).sum::<f64>().sqrt(),
        expected["l2"].as_f64().unwrap(),
        &format!("{what} l2"),
    );
    for pair in expected["samples"].as_array().unwrap() {
        let i = pair[0].as_u64().unwrap() as usize;
        close(values[i], pair[1].as_f64().unwrap(), &format!("{what}[{i}]"));
    }
}

#[test]
fn forward_loss_and_gradients_match_pytorch() {
    for kernels in [Kernels::Fused, Kernels::Candle] {
        forward_loss_and_gradients(kernels);
    }
}

fn forward_loss_and_gradients(kernels: Kernels) {
    let expected = fixture();
    let (net, vars) = network(kernels);
    let logits = net.forward_t(&inputs(), false).unwrap();
    for (i, (a, e)) in logits
        .to_vec1::<f64>()
        .unwrap()
        .iter()
        .zip(floats(&expected["logits"]))
        .enumerate()
    {
        close(*a, e, &format!("logit {i}"));
    }
    let labels = Tensor::new(floats(&expected["labels"]).as_slice(), &Device::Cpu).unwrap();
    let weights = Tensor::new(floats(&expected["sample_weights"]).as_slice(), &Device::Cpu).unwrap();
    let loss = bce_with_logits(&logits, &labels, None).unwrap();
    close(
        loss.to_scalar().unwrap(),
        expected["loss"].as_f64().unwrap(),
        "loss",
    );
    let weighted = bce_with_logits(&logits, &labels, Some(&weights)).unwrap();
    close(
        weighted.to_scalar().unwrap(),
        expected["weighted_loss"].as_f64().unwrap(),
        "weighted loss",
    );

    let grads = loss.backward().unwrap();
    let by_name: HashMap<&str, &Value> = expected["gradients"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    assert_eq!(by_name.len(), vars.len());
    for (name, var) in &vars {
        compare(
            grads.get(var).unwrap(),
            by_name[name.as_str()],
            &format!("gradient of {name}"),
        );
    }
}

#[test]
fn three_adam_steps_match_pytorch() {
    for kernels in [Kernels::Fused, Kernels::Candle] {
        three_adam_steps(kernels);
    }
}

fn three_adam_steps(kernels: Kernels) {
    let expected = fixture();
    let adam_expected = &expected["adam"];
    let (net, vars) = network(kernels);
    let labels = Tensor::new(floats(&expected["labels"]).as_slice(), &Device::Cpu).unwrap();
    let mut adam = Adam::new(
        vars.clone(),
        AdamConfig {
            learning_rate: adam_expected["learning_rate"].as_f64().unwrap(),
            epsilon: adam_expected["epsilon"].as_f64().unwrap(),
            ..AdamConfig::default()
        },
    )
    .unwrap();
    let x = inputs();
    for _ in 0..adam_expected["steps"].as_u64().unwrap() {
        let loss = bce_with_logits(&net.forward_t(&x, false).unwrap(), &labels, None).unwrap();
        adam.step(&loss.backward().unwrap()).unwrap();
    }
    for (name, var) in &vars {
        compare(
            var.as_tensor(),
            &adam_expected["weights_after"][name.as_str()],
            &format!("{name} after Adam"),
        );
    }
}
