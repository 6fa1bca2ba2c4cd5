//! Training, saving, loading and resuming on small generated sets.

mod common;
use common::weights_of;

use std::ops::ControlFlow;
use std::path::Path;

use craters_dataset::Dataset;
use craters_dataset::synth::{SynthParams, generate};
use craters_model::{
    CONFIG_FILE, ClassWeighting, CraterCnn, EarlyStopping, Error, History, RESUME_FILE, SeedCnnConfig,
    StopReason, TrainConfig, Trainer, Validation, WEIGHTS_FILE,
};

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

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        learning_rate: 1e-3,
        seed: 11,
        ..TrainConfig::default()
    }
}

fn train(epochs: usize, train: &Dataset, validation: &Dataset) -> (CraterCnn, History) {
    let model = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let outcome = Trainer::new(config(epochs).check().unwrap())
        .fit(&model, train, None, Some(validation))
        .unwrap();
    (model, outcome.history)
}

#[test]
fn same_seed_same_weights_and_history_bit_for_bit() {
    let (tr, va) = data();
    let (a, history_a) = train(2, &tr, &va);
    let (b, history_b) = train(2, &tr, &va);
    assert_eq!(history_a, history_b);
    assert_eq!(weights_of(&a), weights_of(&b));
    // A different training seed shuffles and drops out differently.
    let other = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    Trainer::new(
        TrainConfig {
            seed: 12,
            ..config(2)
        }
        .check()
        .unwrap(),
    )
    .fit(&other, &tr, None, Some(&va))
    .unwrap();
    assert_ne!(weights_of(&a), weights_of(&other));
}

#[test]
fn history_has_every_epoch_and_the_model_ends_on_the_best_one() {
    let (tr, va) = data();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let outcome = Trainer::new(config(4).check().unwrap())
        .fit(&model, &tr, None, Some(&va))
        .unwrap();
    let h = &outcome.history;
    assert_eq!(h.epochs.iter().map(|r| r.epoch).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(outcome.epoch_seconds.len(), 4);
    assert_eq!(outcome.stop, StopReason::Completed);
    let losses: Vec<f64> = h
        .epochs
        .iter()
        .map(|r| r.validation.as_ref().unwrap().loss)
        .collect();
    let (best_epoch, best_loss) = outcome.best.unwrap();
    assert_eq!(best_loss, losses.iter().cloned().fold(f64::INFINITY, f64::min));
    assert_eq!(losses[best_epoch - 1], best_loss);
    // Restored: the model now scores exactly the best epoch's validation figures.
    let now = Validation::measure(&model, &va).unwrap();
    assert_eq!(&now, h.epochs[best_epoch - 1].validation.as_ref().unwrap());
    for r in &h.epochs {
        assert!(r.loss.is_finite() && (0.0..=1.0).contains(&r.accuracy));
        let v = r.validation.as_ref().unwrap();
        assert_eq!(v.confusion.n(), 48);
        assert!((v.accuracy - v.confusion.accuracy()).abs() < 1e-15);
    }
    let csv = h.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], History::CSV_HEADER);
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with("1,"), "{}", lines[1]);
    assert_eq!(lines[1].split(',').count(), 8);
}

#[test]
fn learns_an_easy_task() {
    // Bright noisy patches are craters, dark ones are not: separable within a few epochs.
    let n = 128;
    let mut pixels = Vec::with_capacity(n * 2304);
    let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 3 != 0)).collect();
    for (i, &y) in labels.iter().enumerate() {
        let base = if y == 1 { 0.6 } else { 0.4 };
        pixels.extend((0..2304).map(|p| base + 0.2 * (((i * 2304 + p) * 7919 % 101) as f32 / 101.0 - 0.5)));
    }
    let set = Dataset::new("easy", pixels, Some(labels)).unwrap();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 0).unwrap();
    let outcome = Trainer::new(
        TrainConfig {
            epochs: 5,
            batch_size: 8,
            learning_rate: 1e-2,
            ..TrainConfig::default()
        }
        .check()
        .unwrap(),
    )
    .fit(&model, &set, None, Some(&set))
    .unwrap();
    let first = outcome.history.epochs[0].loss;
    let v = Validation::measure(&model, &set).unwrap();
    assert!(
        v.loss < first && v.accuracy == 1.0,
        "first loss {first}, then {v:?}"
    );
}

#[test]
fn saved_model_loads_with_identical_predictions() {
    let (tr, va) = data();
    let (model, _) = train(1, &tr, &va);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    model.save(&out).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, [CONFIG_FILE, WEIGHTS_FILE], "no temporary files left");
    let loaded = CraterCnn::load(&out).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(
        model.predict_proba(&va).unwrap(),
        loaded.predict_proba(&va).unwrap()
    );
    assert_eq!(weights_of(&model), weights_of(&loaded));
}

fn load_error(dir: &Path) -> String {
    CraterCnn::load(dir).unwrap_err().to_string()
}

#[test]
fn bad_model_folders_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 0).unwrap();
    model.save(d).unwrap();

    // Weights of a network with 8 first-layer filters under the seed config.
    let narrow = CraterCnn::new(
        &SeedCnnConfig {
            conv1_filters: 8,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    let other = tempfile::tempdir().unwrap();
    narrow.save(other.path()).unwrap();
    std::fs::copy(other.path().join(WEIGHTS_FILE), d.join(WEIGHTS_FILE)).unwrap();
    let err = load_error(d);
    assert!(
        err.contains("model.safetensors")
            && err.contains("conv1.weight has shape 8 × 1 × 3 × 3; the config needs 16 × 1 × 3 × 3"),
        "{err}"
    );

    std::fs::write(d.join(CONFIG_FILE), r#"{"format": 1, "network": {"filters": 3}}"#).unwrap();
    let err = load_error(d);
    assert!(
        err.contains("config.json") && err.contains("unknown field `filters`"),
        "{err}"
    );

    std::fs::write(
        d.join(CONFIG_FILE),
        r#"{"format": 1, "network": {"input_size": 4}}"#,
    )
    .unwrap();
    let err = load_error(d);
    assert!(err.contains("config.json") && err.contains("pool1 = 3"), "{err}");

    model.save(d).unwrap();
    std::fs::write(d.join(WEIGHTS_FILE), b"not tensors").unwrap();
    let err = load_error(d);
    assert!(
        err.contains("model.safetensors") && err.contains("not a safetensors file"),
        "{err}"
    );

    std::fs::remove_file(d.join(WEIGHTS_FILE)).unwrap();
    assert!(load_error(d).contains("model.safetensors: no such file"));
    assert!(load_error(&d.join("nowhere")).contains("config.json: no such file"));
}

#[test]
fn interrupted_run_resumes_to_the_same_weights() {
    let cfg = TrainConfig {
        early_stopping_patience: Some(3),
        ..config(4)
    };
    resumes_to_the_same_weights(cfg.clone());
    // Augmentation draws and a prior correction resume too.
    resumes_to_the_same_weights(TrainConfig {
        augment: Some(craters_selftrain::AugmentParams::strong()),
        class_weights: ClassWeighting::Balanced,
        prior_correction: true,
        ..cfg
    });
}

fn resumes_to_the_same_weights(cfg: TrainConfig) {
    let (tr, va) = data();
    let dir = tempfile::tempdir().unwrap();

    let whole = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let expected = Trainer::new(cfg.clone().check().unwrap())
        .checkpoint_dir(dir.path().join("whole"))
        .fit(&whole, &tr, None, Some(&va))
        .unwrap();

    // Interrupted after epoch 2 …
    let ckpt = dir.path().join("parts");
    let first = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let partial = Trainer::new(cfg.clone().check().unwrap())
        .checkpoint_dir(&ckpt)
        .on_epoch_end(|r| {
            if r.epoch == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .fit(&first, &tr, None, Some(&va))
        .unwrap();
    assert_eq!(partial.stop, StopReason::Interrupted);
    assert_eq!(partial.history.epochs.len(), 2);
    assert!(ckpt.join(RESUME_FILE).exists() && ckpt.join("best").join(WEIGHTS_FILE).exists());

    // … then resumed in a fresh model (different init: the checkpoint must overwrite it).
    let resumed_model = CraterCnn::new(&SeedCnnConfig::default(), 99).unwrap();
    let resumed = Trainer::new(cfg.clone().check().unwrap())
        .checkpoint_dir(&ckpt)
        .resume(true)
        .fit(&resumed_model, &tr, None, Some(&va))
        .unwrap();
    assert_eq!(resumed.history, expected.history);
    assert_eq!(resumed.best, expected.best);
    assert_eq!(weights_of(&resumed_model), weights_of(&whole));
    let best = CraterCnn::load(&ckpt.join("best")).unwrap();
    assert_eq!(
        weights_of(&best),
        weights_of(&whole),
        "best/ holds the restored weights"
    );

    // Another config cannot resume this run.
    let err = Trainer::new(
        TrainConfig {
            learning_rate: 5e-4,
            ..cfg
        }
        .check()
        .unwrap(),
    )
    .checkpoint_dir(&ckpt)
    .resume(true)
    .fit(&resumed_model, &tr, None, Some(&va))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("last.safetensors") && err.contains("another training config"),
        "{err}"
    );
}

#[test]
fn diverging_loss_stops_with_its_epoch_and_batch() {
    let (tr, _) = data();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 0).unwrap();
    let err = Trainer::new(
        TrainConfig {
            learning_rate: 1e300,
            ..config(3)
        }
        .check()
        .unwrap(),
    )
    .fit(&model, &tr, None, None)
    .unwrap_err();
    match err {
        Error::NonFiniteLoss { epoch, batch, loss } => {
            assert!(!loss.is_finite());
            assert!(epoch >= 1 && batch >= 1);
            let text = err.to_string();
            assert!(text.contains(&format!("epoch {epoch}, batch {batch}")), "{text}");
        }
        other => panic!("expected a non-finite loss, got {other}"),
    }
}

#[test]
fn bad_training_input_is_a_clear_error() {
    let (tr, va) = data();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 0).unwrap();
    let fit = |cfg: TrainConfig, weights: Option<&[f32]>, train: &Dataset| {
        cfg.check()
            .and_then(|cfg| Trainer::new(cfg).fit(&model, train, weights, Some(&va)))
            .unwrap_err()
            .to_string()
    };
    assert!(
        fit(
            TrainConfig {
                batch_size: 0,
                ..config(1)
            },
            None,
            &tr
        )
        .contains("batch_size = 0")
    );
    assert!(
        fit(
            TrainConfig {
                learning_rate: -1.0,
                ..config(1)
            },
            None,
            &tr
        )
        .contains("learning_rate = -1")
    );
    assert!(
        fit(
            TrainConfig {
                beta2: 1.0,
                ..config(1)
            },
            None,
            &tr
        )
        .contains("beta2 = 1")
    );
    assert!(
        fit(
            TrainConfig {
                early_stopping_patience: Some(0),
                ..config(1)
            },
            None,
            &tr
        )
        .contains("patience")
    );
    let short = vec![1.0f32; 3];
    assert!(fit(config(1), Some(&short), &tr).contains("sample_weights = 3 weights"));
    let mut negative = vec![1.0f32; tr.len()];
    negative[7] = -1.0;
    assert!(fit(config(1), Some(&negative), &tr).contains("-1 at index 7"));
    let unlabelled = Dataset::new("unlabelled.npy", tr.pixels().to_vec(), None).unwrap();
    assert!(fit(config(1), None, &unlabelled).contains("unlabelled.npy: no labels"));
    let err = toml::from_str::<TrainConfig>("epochs = 3\nlearnig_rate = 0.1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `learnig_rate`"), "{err}");
    let balanced: TrainConfig = toml::from_str("class_weights = \"balanced\"").unwrap();
    assert_eq!(balanced.class_weights, ClassWeighting::Balanced);
}

#[test]
fn early_stopping_counts_epochs_without_improvement() {
    let mut early = EarlyStopping::new(Some(2));
    let verdicts: Vec<(bool, bool)> = [0.5, 0.4, 0.45, 0.4, 0.3, 0.35, 0.36]
        .iter()
        .enumerate()
        .map(|(i, &loss)| {
            let v = early.update(i + 1, loss);
            (v.improved, v.stop)
        })
        .collect();
    // 0.4 again is not an improvement (Keras: strictly lower).
    assert_eq!(
        verdicts,
        [
            (true, false),
            (true, false),
            (false, false),
            (false, true),
            (true, false),
            (false, false),
            (false, true)
        ]
    );
    assert_eq!(early.best(), Some((5, 0.3)));
    let mut never = EarlyStopping::new(None);
    assert!((1..50).all(|e| !never.update(e, 1.0).stop));
}

#[test]
fn a_model_file_with_nan_weights_or_a_huge_card_is_refused_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 0).unwrap();
    model.save(d).unwrap();
    // A NaN in dense2.bias.
    let mut tensors: std::collections::HashMap<String, candle_core::Tensor> =
        model.weights().unwrap().into_iter().collect();
    tensors.insert(
        "dense2.bias".into(),
        candle_core::Tensor::new(&[f32::NAN], &candle_core::Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&tensors, d.join(WEIGHTS_FILE)).unwrap();
    let err = load_error(d);
    assert!(
        err.contains("dense2.bias holds NaN") && err.contains("must be finite"),
        "{err}"
    );
    // A card that claims a billion filters: refused from its shapes, nothing allocated.
    model.save(d).unwrap();
    let card = std::fs::read_to_string(d.join(CONFIG_FILE)).unwrap();
    let huge = card.replace("\"conv1_filters\": 16", "\"conv1_filters\": 1000000000");
    assert_ne!(card, huge, "{card}");
    std::fs::write(d.join(CONFIG_FILE), huge).unwrap();
    let err = load_error(d);
    assert!(
        err.contains("config.json") && err.contains("at most 50000000 parameters"),
        "{err}"
    );
}

#[test]
fn a_batch_size_beyond_the_data_is_one_batch_of_all_of_it() {
    let (tr, _) = data();
    let model = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let outcome = Trainer::new(
        TrainConfig {
            batch_size: 1 << 40,
            ..config(1)
        }
        .check()
        .unwrap(),
    )
    .fit(&model, &tr, None, None)
    .unwrap();
    assert_eq!(outcome.history.epochs.len(), 1);
}

#[test]
fn a_prior_correction_moves_only_the_output_bias_by_the_log_weight_ratio() {
    let (tr, va) = data();
    let labels = tr.labels().unwrap();
    let n1 = labels.iter().filter(|&&y| y == 1).count() as f64;
    let n0 = labels.len() as f64 - n1;
    let fit = |prior_correction: bool| {
        let model = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
        let config = TrainConfig {
            class_weights: ClassWeighting::Balanced,
            restore_best: false,
            prior_correction,
            ..config(2)
        };
        let outcome = Trainer::new(config.check().unwrap())
            .fit(&model, &tr, None, Some(&va))
            .unwrap();
        (weights_of(&model), outcome.history)
    };
    let (plain, plain_history) = fit(false);
    let (corrected, corrected_history) = fit(true);
    // Balanced weights are n / (2 n_c): log(w0 / w1) = log(n1 / n0).
    let shift = (n1 / n0).ln() as f32;
    assert!(shift.abs() > 0.05, "the generated set is unbalanced");
    for ((name, a), (_, b)) in plain.iter().zip(&corrected) {
        if name == "dense2.bias" {
            assert!(
                (b[0] - a[0] - shift).abs() < 1e-5,
                "{} vs {} + {shift}",
                b[0],
                a[0]
            );
        } else {
            assert!(a == b, "{name} changed");
        }
    }
    // Validation during training already sees the corrected logits.
    let (a, b) = (&plain_history.epochs[1], &corrected_history.epochs[1]);
    assert_eq!(a.loss, b.loss);
    assert_ne!(
        a.validation.as_ref().unwrap().loss,
        b.validation.as_ref().unwrap().loss
    );
}
