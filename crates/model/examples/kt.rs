use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{VarBuilder, VarMap};
use craters_model::{SeedCnn, SeedCnnConfig, bce_with_logits, keras_init};
use std::time::Instant;
fn main() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let model = SeedCnn::new(&SeedCnnConfig::default(), vb, 7).unwrap();
    keras_init(&varmap, 1).unwrap();
    let n = 256;
    let x: Vec<f32> = (0..n * 2304).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
    let xs = Tensor::from_vec(x, (n, 1, 48, 48), &Device::Cpu).unwrap();
    for _ in 0..3 {
        model.forward_t(&xs, false).unwrap();
    }
    let t = Instant::now();
    for _ in 0..20 {
        model.forward_t(&xs, false).unwrap();
    }
    let per = t.elapsed().as_secs_f64() / (20.0 * n as f64);
    println!(
        "inference forward: {:.1} us/image ({:.0} img/s)",
        per * 1e6,
        1.0 / per
    );
    let xb = xs.narrow(0, 0, 32).unwrap();
    let y = Tensor::from_vec(
        (0..32).map(|i| (i % 2) as f32).collect::<Vec<_>>(),
        32,
        &Device::Cpu,
    )
    .unwrap();
    let t = Instant::now();
    let (mut tf, mut tb) = (0.0, 0.0);
    for _ in 0..200 {
        let t0 = Instant::now();
        let l = bce_with_logits(&model.forward_t(&xb, true).unwrap(), &y, None).unwrap();
        tf += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let _g = l.backward().unwrap();
        tb += t1.elapsed().as_secs_f64();
    }
    let per = t.elapsed().as_secs_f64() / (200.0 * 32.0);
    println!(
        "train fwd+bwd: {:.1} us/image (fwd {:.1}, bwd {:.1})",
        per * 1e6,
        tf / 6400.0 * 1e6,
        tb / 6400.0 * 1e6
    );
}
