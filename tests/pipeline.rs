//! End-to-end use of the facade: write a seed-layout folder, load it, split it, weight it and
//! write predictions back, all through `craters::*`.

use craters::dataset::{
    ClassWeights, SeedData, SplitParams, read_npy, seed_files, stratified_split, write_npy,
};

#[test]
fn seed_layout_round_trip_through_the_facade() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 50;
    let pixels: Vec<u8> = (0..n * 2304).map(|i| (i * 7 % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 3 != 0)).collect();
    write_npy(&d.join(seed_files::X_TRAIN), &[n as u64, 2304], &pixels).unwrap();
    write_npy(&d.join(seed_files::Y_TRAIN), &[n as u64], &labels).unwrap();

    let data = SeedData::load(d).unwrap();
    assert_eq!(data.train.len(), n);
    assert_eq!(data.train.pixels()[1], 7.0 / 255.0);
    let split = stratified_split(
        data.train.labels().unwrap(),
        &SplitParams::default().check().unwrap(),
    )
    .unwrap();
    assert_eq!(split.validation.len(), 10); // round(0.2·17) + round(0.2·33) = 3 + 7
    let validation = data.train.subset(&split.validation).unwrap();
    let weights = ClassWeights::balanced(validation.labels().unwrap()).unwrap();
    assert!((weights.negative - 10.0 / 6.0).abs() < 1e-12);

    let predictions: Vec<u8> = validation.labels().unwrap().to_vec();
    let out = d.join(seed_files::Y_PRED);
    write_npy(&out, &[predictions.len() as u64], &predictions).unwrap();
    let back = read_npy(&out).unwrap();
    assert_eq!(back.shape, vec![10]);
    assert_eq!(
        back.values.iter().map(|&v| v as u8).collect::<Vec<_>>(),
        predictions
    );
}
