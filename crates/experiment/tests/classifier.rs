//! The CNN as a self-training classifier: stage configs by round, the after-fit hook.

use craters_dataset::Dataset;
use craters_dataset::synth::{SynthParams, generate};
use craters_experiment::{CnnClassifier, Error};
use craters_model::{SeedCnnConfig, TrainConfig};
use craters_selftrain::{Criterion, SelfTrainingParams, self_train};

/// 96 generated training patches and 48 validation patches.
fn data() -> (Dataset, Dataset) {
    let params = SynthParams::default()
        .seed(3)
        .n_train(96)
        .n_extra(0)
        .n_test(48)
        .check()
        .unwrap();
    let sets = generate(&params);
    (
        sets.train.to_dataset("train").unwrap(),
        sets.test.to_dataset("validation").unwrap(),
    )
}

fn stage(epochs: usize) -> craters_model::ValidTrainConfig {
    TrainConfig {
        epochs,
        learning_rate: 1e-3,
        seed: 11,
        ..TrainConfig::default()
    }
    .check()
    .unwrap()
}

#[test]
fn round_zero_trains_stage_one_later_rounds_stage_two_and_the_hook_sees_each_fit() {
    let (tr, va) = data();
    let pool = Dataset::new("pool", va.pixels().to_vec(), None).unwrap();
    let mut seen = Vec::new();
    let mut cnn = CnnClassifier::new(&SeedCnnConfig::default(), 5, stage(1), stage(2), Some(va.clone()))
        .unwrap()
        .after_fit(|round, model| {
            seen.push((round, model.predict_proba(&va)?));
            Ok(())
        });
    // Everything confident either way: the most confident 10 of the pool get labels.
    let params = SelfTrainingParams {
        criterion: Criterion::KBest { k: 10 },
        ..SelfTrainingParams::default()
    };
    let result = self_train(&mut cnn, &params.check().unwrap(), &tr, &pool).unwrap();
    assert_eq!(result.rounds.len(), 1);
    assert_eq!(result.rounds[0].added.len(), 10);
    let epochs: Vec<usize> = cnn.outcomes().iter().map(|o| o.history.epochs.len()).collect();
    assert_eq!(epochs, [1, 2], "stage 1 then stage 2 configs");
    let probs = cnn.model().predict_proba(&pool).unwrap();
    assert_eq!(probs.len(), pool.len());
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
    let last = cnn.model().predict_proba(&va).unwrap();
    drop(cnn);
    let rounds: Vec<usize> = seen.iter().map(|(r, _)| *r).collect();
    assert_eq!(rounds, [0, 1], "the hook ran after each fit");
    assert_eq!(seen[1].1, last, "and saw the model as the fit left it");
    assert_ne!(seen[0].1, seen[1].1);
}

#[test]
fn a_failing_hook_ends_self_training_with_its_error() {
    let (tr, va) = data();
    let pool = Dataset::new("pool", va.pixels().to_vec(), None).unwrap();
    let mut cnn = CnnClassifier::new(&SeedCnnConfig::default(), 5, stage(1), stage(1), None)
        .unwrap()
        .after_fit(|_, _| Err(Error::NoSeeds));
    let err = self_train(
        &mut cnn,
        &SelfTrainingParams::default().check().unwrap(),
        &tr,
        &pool,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("round 0") && err.contains("seeds: empty"), "{err}");
}
