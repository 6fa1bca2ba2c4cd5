//! Property tests of the stratified split.

use craters_dataset::{SplitParams, stratified_split};
use proptest::prelude::*;

fn labels() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..=1, 4..400)
}

proptest! {
    #[test]
    fn split_is_a_partition(labels in labels(), fraction in 0.05f64..0.95, seed in any::<u64>()) {
        let params = SplitParams::default().validation_fraction(fraction).seed(seed).check().unwrap();
        if let Ok(split) = stratified_split(&labels, &params) {
            let mut all: Vec<usize> = split.train.iter().chain(&split.validation).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn split_keeps_class_ratios(labels in labels(), fraction in 0.05f64..0.95, seed in any::<u64>()) {
        let params = SplitParams::default().validation_fraction(fraction).seed(seed).check().unwrap();
        if let Ok(split) = stratified_split(&labels, &params) {
            for class in [0u8, 1] {
                let total = labels.iter().filter(|&&l| l == class).count() as f64;
                let in_validation = split.validation.iter().filter(|&&i| labels[i] == class).count() as f64;
                prop_assert!((in_validation - fraction * total).abs() <= 1.0,
                    "class {}: {} of {} in validation at fraction {}", class, in_validation, total, fraction);
            }
        }
    }

    #[test]
    fn split_is_deterministic(labels in labels(), seed in any::<u64>()) {
        let params = SplitParams::default().seed(seed).check().unwrap();
        prop_assert_eq!(stratified_split(&labels, &params).ok(), stratified_split(&labels, &params).ok());
    }
}

#[test]
fn different_seeds_give_different_splits() {
    let labels: Vec<u8> = (0..200).map(|i| u8::from(i % 3 != 0)).collect();
    let split =
        |seed| stratified_split(&labels, &SplitParams::default().seed(seed).check().unwrap()).unwrap();
    assert_ne!(split(1).validation, split(2).validation);
}
