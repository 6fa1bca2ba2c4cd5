//! Helpers shared by the training tests.

use craters_model::CraterCnn;

/// Every weight tensor of `model`, by name, as flat values (to compare runs bit for bit).
pub fn weights_of(model: &CraterCnn) -> Vec<(String, Vec<f32>)> {
    model
        .weights()
        .unwrap()
        .into_iter()
        .map(|(name, t)| (name, t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}
