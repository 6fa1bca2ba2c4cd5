//! Consistency training (FixMatch, Mean Teacher's targets) in the training loop.

mod common;
use common::weights_of;

use craters_dataset::Dataset;
use craters_dataset::synth::{SynthParams, generate};
use craters_model::{CraterCnn, History, SeedCnnConfig, TrainConfig, Trainer, consistency_loss};
use craters_selftrain::{AugmentParams, ConsistencyParams, Teacher};

/// 96 labelled, 64 unlabelled (with hidden labels) and 48 validation patches.
fn data() -> (Dataset, Dataset, Dataset) {
    let params = SynthParams::default()
        .seed(3)
        .n_train(96)
        .n_extra(64)
        .n_test(48)
        .check()
        .unwrap();
    let sets = generate(&params);
    (
        sets.train.to_dataset("train").unwrap(),
        sets.extra.to_dataset("extra").unwrap(),
        sets.test.to_dataset("validation").unwrap(),
    )
}

fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        learning_rate: 1e-3,
        seed,
        augment: Some(AugmentParams::weak()),
        ..TrainConfig::default()
    }
}

/// Trains a fresh model (init seed 5) with `train_seed`, with consistency on `extra` when
/// given.
fn fit(train_seed: u64, unlabelled: Option<(&Dataset, ConsistencyParams)>) -> (CraterCnn, History) {
    let (tr, _, va) = data();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let mut trainer = Trainer::new(config(train_seed).check().unwrap());
    if let Some((extra, params)) = unlabelled {
        trainer = trainer.unlabelled(extra, params.check().unwrap());
    }
    let outcome = trainer.fit(&model, &tr, None, Some(&va)).unwrap();
    (model, outcome.history)
}

#[test]
fn the_consistency_loss_is_zero_with_its_gradient_when_nothing_is_confident() {
    use candle_core::{Device, Var};
    let logits = Var::from_slice(&[2.0f32, -1.0, 0.5], 3, &Device::Cpu).unwrap();
    let masked = consistency_loss(logits.as_tensor(), &[1.0, 0.0, 1.0], &[0.0; 3]).unwrap();
    assert_eq!(masked.to_scalar::<f32>().unwrap(), 0.0);
    let grads = masked.backward().unwrap();
    let g: Vec<f32> = grads.get(&logits).unwrap().to_vec1().unwrap();
    assert_eq!(g, [0.0; 3]);
    // One confident patch: its cross-entropy over all three (FixMatch's mean over μB).
    let one = consistency_loss(logits.as_tensor(), &[1.0, 0.0, 1.0], &[1.0, 0.0, 0.0]).unwrap();
    let expected = (1.0 + (-2.0f32).exp()).ln() / 3.0;
    assert!((one.to_scalar::<f32>().unwrap() - expected).abs() < 1e-6);
}

#[test]
fn with_every_target_masked_the_unlabelled_set_changes_nothing() {
    let (_, extra, _) = data();
    // No sigmoid output of this network reaches max(p, 1 − p) = 1 on these patches.
    let never = ConsistencyParams {
        confidence: 1.0,
        ..ConsistencyParams::default()
    };
    let (plain, plain_history) = fit(11, None);
    let (masked, masked_history) = fit(11, Some((&extra, never)));
    assert!(
        weights_of(&plain) == weights_of(&masked),
        "the masked run trained differently"
    );
    for (a, b) in plain_history.epochs.iter().zip(&masked_history.epochs) {
        assert_eq!((a.loss, &a.validation), (b.loss, &b.validation));
        let u = b
            .unlabelled
            .as_ref()
            .expect("consistency epochs record the unlabelled set");
        // Three labelled batches of 32 per epoch, each with the whole (smaller than μ · 32)
        // unlabelled set.
        assert_eq!((u.confident_share, u.loss, u.seen), (0.0, 0.0, 3 * 64));
        assert_eq!(u.target_precision, None);
    }
    // And where everything is confident, the unlabelled loss does change the model.
    let always = ConsistencyParams {
        confidence: 0.5,
        ..ConsistencyParams::default()
    };
    let (trained, history) = fit(11, Some((&extra, always)));
    assert!(
        weights_of(&plain) != weights_of(&trained),
        "the unlabelled loss did nothing"
    );
    let u = history.epochs[1].unlabelled.as_ref().unwrap();
    assert_eq!(u.confident_share, 1.0);
    assert!(u.loss > 0.0 && u.target_precision.is_some());
}

#[test]
fn keep_teacher_validates_and_returns_the_moving_average_not_the_model() {
    let (_, extra, _) = data();
    let mean_teacher = |ema_decay: f64, keep_teacher: bool| ConsistencyParams {
        confidence: 0.6,
        teacher: Teacher::MovingAverage,
        ema_decay,
        keep_teacher,
        ..ConsistencyParams::default()
    };
    // With decay 0 the teacher is the model after every step: keeping it changes nothing.
    let (model, model_history) = fit(11, Some((&extra, mean_teacher(0.0, false))));
    let (teacher, teacher_history) = fit(11, Some((&extra, mean_teacher(0.0, true))));
    assert_eq!(model_history, teacher_history);
    assert!(weights_of(&model) == weights_of(&teacher));
    // A slow teacher: the model trains the same way, but what is validated and returned
    // is the average, which lags behind it.
    let (model, model_history) = fit(11, Some((&extra, mean_teacher(0.9, false))));
    let (teacher, teacher_history) = fit(11, Some((&extra, mean_teacher(0.9, true))));
    for (m, t) in model_history.epochs.iter().zip(&teacher_history.epochs) {
        assert_eq!(
            (m.loss, m.accuracy, &m.unlabelled),
            (t.loss, t.accuracy, &t.unlabelled)
        );
        assert_ne!(m.validation, t.validation, "epoch {}", m.epoch);
    }
    assert!(weights_of(&model) != weights_of(&teacher));
}

#[test]
fn consistency_training_is_deterministic_with_a_seed() {
    let (_, extra, _) = data();
    for teacher in [Teacher::Model, Teacher::MovingAverage] {
        let params = ConsistencyParams {
            confidence: 0.6,
            teacher,
            ema_decay: 0.9,
            ..ConsistencyParams::default()
        };
        let (a, history_a) = fit(11, Some((&extra, params)));
        let (b, history_b) = fit(11, Some((&extra, params)));
        assert_eq!(history_a, history_b, "{teacher:?}");
        assert!(
            weights_of(&a) == weights_of(&b),
            "{teacher:?}: same seed, other weights"
        );
        let (c, _) = fit(12, Some((&extra, params)));
        assert!(
            weights_of(&a) != weights_of(&c),
            "{teacher:?}: other seed, same weights"
        );
    }
}

#[test]
fn a_consistency_run_cannot_resume_and_bad_views_are_refused() {
    let (tr, extra, va) = data();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = Trainer::new(config(1).check().unwrap())
        .checkpoint_dir(dir.path())
        .resume(true)
        .unlabelled(&extra, ConsistencyParams::default().check().unwrap())
        .fit(&model, &tr, None, Some(&va))
        .unwrap_err()
        .to_string();
    assert!(err.contains("resume"), "{err}");
    let bad = TrainConfig {
        augment: Some(AugmentParams {
            max_shift: 9,
            ..AugmentParams::weak()
        }),
        ..config(1)
    };
    let err = bad.check().unwrap_err().to_string();
    assert!(err.contains("augment: max_shift 9 is beyond 4 px"), "{err}");
}
