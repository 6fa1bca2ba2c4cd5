//! End to end: the smoke config through `craters_experiment::reproduce`.

use std::path::{Path, PathBuf};

use craters_dataset::read_npy;
use craters_experiment::{Error, ExperimentConfig, RunOptions, reproduce};
use craters_model::CraterCnn;

/// A committed config, by its path from the workspace root.
fn committed(config: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(config)
}

fn smoke(data: &Path) -> ExperimentConfig {
    let mut config = ExperimentConfig::read(&committed("configs/smoke.toml")).unwrap();
    config.data.dir = data.into();
    config
}

fn options(out: &Path, force: bool) -> RunOptions {
    RunOptions {
        force,
        ..RunOptions::new(out)
    }
}

#[test]
fn smoke_run_writes_a_complete_reproducible_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let config = smoke(&dir.path().join("data"));
    let out = dir.path().join("runs").join("smoke");
    let summary = reproduce(&config.check().unwrap(), &options(&out, false)).unwrap();
    assert_eq!(summary.out, out);
    for file in [
        "metrics.json",
        "history.csv",
        "report.md",
        "config.toml",
        "scores.npy",
        "y_pred_final.npy",
        "models/initial/model.safetensors",
        "models/final/config.json",
        "plots/learning_curve.png",
        "plots/pr_curve.png",
        "plots/confusion.png",
        "plots/f1_threshold.png",
        "plots/reliability.png",
    ] {
        assert!(out.join(file).is_file(), "missing {file}");
    }
    // Temperature scaling, fitted on validation, measured on both sets.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## Calibration") && report.contains("| seed | T | ECE, validation | ECE, test |"),
        "{report}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let calibration = &metrics["runs"][0]["calibration"];
    let t = calibration["temperature"].as_f64().unwrap();
    assert!((0.01..=100.0).contains(&t), "{calibration}");
    assert_eq!(calibration["test"][1]["bins"].as_array().unwrap().len(), 10);
    // Nothing left beside the run folder (the staging folder was renamed into place).
    let siblings: Vec<_> = std::fs::read_dir(out.parent().unwrap()).unwrap().collect();
    assert_eq!(siblings.len(), 1);

    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(
        history.lines().count(),
        1 + 3 + 2,
        "header, 3 stage-1 and 2 stage-2 epochs"
    );
    assert!(history.starts_with("stage,epoch,loss,"));
    let predictions = read_npy(&out.join("y_pred_final.npy")).unwrap();
    assert_eq!(predictions.shape, [120]);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["evaluated_on"], "test");
    assert_eq!(metrics["slides"]["f1"], 0.9016);
    assert_eq!(
        metrics["runs"][0]["selftrain_rounds"][0]["added_per_class"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| slides | 0.9016") && report.contains("plots/learning_curve.png"));
    // The saved final model predicts what the run wrote.
    let model = CraterCnn::load(&out.join("models/final")).unwrap();
    let test = craters_dataset::SeedData::load(&config.data.dir)
        .unwrap()
        .test
        .unwrap();
    let scores = read_npy(&out.join("scores.npy")).unwrap();
    let again: Vec<f64> = model
        .predict_proba(&test)
        .unwrap()
        .iter()
        .map(|&p| f64::from(p))
        .collect();
    assert_eq!(scores.values, again);

    // An existing run folder is kept unless --force; a forced rerun gives the same numbers.
    let err = reproduce(&config.check().unwrap(), &options(&out, false)).unwrap_err();
    assert!(
        matches!(err, Error::Data(craters_dataset::Error::OutputExists { .. })),
        "{err}"
    );
    reproduce(&config.check().unwrap(), &options(&out, true)).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("history.csv")).unwrap(), history);
    let rerun: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(rerun["summary"]["f1"], metrics["summary"]["f1"]);
}

#[test]
fn a_label_fraction_trains_on_that_share_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |fraction: f64, name: &str| {
        let mut config = smoke(&data);
        config.data.label_fraction = fraction;
        let out = dir.path().join(name);
        reproduce(&config.check().unwrap(), &options(&out, false)).unwrap();
        let report = std::fs::read_to_string(out.join("report.md")).unwrap();
        let scores = read_npy(&out.join("scores.npy")).unwrap().values;
        (report, scores)
    };
    let (all_report, all_scores) = run(1.0, "all");
    let (half_report, half_scores) = run(0.5, "half");
    let (again_report, again_scores) = run(0.5, "again");
    assert!(!all_report.contains("label_fraction"), "{all_report}");
    assert!(
        half_report.contains("Trained on a share of 0.5 of the labelled training split"),
        "{half_report}"
    );
    assert_ne!(half_scores, all_scores, "half the labels trains another model");
    assert_eq!(
        half_scores, again_scores,
        "the share is chosen with the split's seed"
    );
    assert_eq!(half_report.lines().count(), again_report.lines().count());
}

#[test]
fn consistency_training_uses_the_extra_set_in_stage_one_and_reports_its_targets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let semi = ExperimentConfig::read(&committed("configs/semi.toml")).unwrap();
    let mut config = smoke(&data);
    config.stage1 = craters_model::TrainConfig {
        epochs: 3,
        ..semi.stage1.clone()
    };
    config.selftrain.max_rounds = 0;
    // Three epochs make nothing 95% sure: every weak view is a target here instead.
    config.consistency = semi
        .consistency
        .map(|c| craters_selftrain::ConsistencyParams { confidence: 0.5, ..c });
    let run = |config: &ExperimentConfig, name: &str| {
        let out = dir.path().join(name);
        let summary = reproduce(&config.check().unwrap(), &options(&out, false)).unwrap();
        (summary, std::fs::read_to_string(out.join("report.md")).unwrap())
    };
    let (summary, report) = run(&config, "semi");
    let seed = &summary.seeds[0];
    assert!(
        seed.selftrain_rounds.is_empty(),
        "max_rounds = 0: no pseudo-labelling rounds"
    );
    assert_eq!(seed.histories.len(), 1, "stage 1 alone");
    let epochs = &seed.histories[0].epochs;
    assert_eq!(epochs.len(), 3);
    let unlabelled = epochs
        .iter()
        .map(|e| e.unlabelled.as_ref().unwrap())
        .collect::<Vec<_>>();
    // 192 labelled patches in batches of 32, each with 7 × 32 unlabelled ones (of 160).
    assert!(unlabelled.iter().all(|u| u.seen == 6 * 160), "{unlabelled:?}");
    assert!(report.contains("## Consistency training"), "{report}");
    assert!(report.contains("no self-training rounds"), "{report}");
    assert!(report.contains("| 1 | 3 | 960 |"), "{report}");
    // The same config without [consistency] trains another model; with it, the same again.
    let (plain, plain_report) = run(
        &ExperimentConfig {
            consistency: None,
            ..config.clone()
        },
        "plain",
    );
    assert!(!plain_report.contains("## Consistency training"));
    assert!(plain.seeds[0].histories[0].epochs[0].unlabelled.is_none());
    let (again, _) = run(&config, "again");
    let loss = |s: &craters_experiment::RunSummary| s.seeds[0].test_final.as_ref().unwrap().log_loss;
    assert!(
        loss(&again) == loss(&summary),
        "same config, same seed: the same model"
    );
    assert!(
        loss(&plain) != loss(&summary),
        "the unlabelled loss changed nothing"
    );
    assert!(
        unlabelled
            .iter()
            .all(|u| u.confident_share == 1.0 && u.target_precision.is_some())
    );
    assert!(unlabelled.iter().all(|u| u.thresholds == [0.5, 0.5]));

    // FreeMatch's thresholds and distribution alignment: the thresholds move with the
    // model's confidence, and the report says how the targets were chosen.
    let adaptive = ExperimentConfig {
        consistency: config.consistency.map(|c| craters_selftrain::ConsistencyParams {
            threshold: craters_selftrain::Threshold::SelfAdaptive,
            distribution_alignment: true,
            ..c
        }),
        ..config.clone()
    };
    let (moved, moved_report) = run(&adaptive, "adaptive");
    let last = moved.seeds[0].histories[0].epochs[2].unlabelled.as_ref().unwrap();
    // The model calls most views craters: that class needs more confidence.
    assert!(
        last.crater_share > 0.5 && last.thresholds[1] > 0.5 && last.thresholds[0] < last.thresholds[1],
        "{last:?}"
    );
    assert!(
        moved_report.contains("self-adaptive threshold") && moved_report.contains("distribution-aligned"),
        "{moved_report}"
    );
    assert!(loss(&moved) != loss(&summary));
}

#[test]
fn calibrated_self_training_thresholds_temperature_scaled_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |calibrated: bool, name: &str| {
        let mut config = smoke(&data);
        config.selftrain.calibrated = calibrated;
        let out = dir.path().join(name);
        let summary = reproduce(&config.check().unwrap(), &options(&out, false)).unwrap();
        (summary, std::fs::read_to_string(out.join("report.md")).unwrap())
    };
    let (raw, raw_report) = run(false, "raw");
    let (calibrated, report) = run(true, "calibrated");
    assert!(report.contains("on temperature-scaled probabilities"), "{report}");
    assert!(!raw_report.contains("temperature-scaled probabilities"));
    // The same first fit; the pool's probabilities, and so its pseudo-labels, differ.
    let first = |s: &craters_experiment::RunSummary| s.seeds[0].test_initial.as_ref().unwrap().log_loss;
    assert_eq!(first(&raw), first(&calibrated));
    let added = |s: &craters_experiment::RunSummary| {
        let round = &s.seeds[0].selftrain_rounds[0];
        (round.added_per_class, round.mean_confidence)
    };
    assert_ne!(added(&raw), added(&calibrated));
}

#[test]
fn bad_configs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let load = |text: &str| {
        std::fs::write(&path, text).unwrap();
        ExperimentConfig::load(&path).unwrap_err().to_string()
    };
    let err = load("seeds = [1]\n[stage1]\nepochz = 3\n");
    assert!(
        err.contains("bad.toml") && err.contains("unknown field `epochz`"),
        "{err}"
    );
    assert!(load("threshold = 1.5\n").contains("threshold = 1.5"));
    assert!(load("[stage2]\nlearning_rate = -1.0\n").contains("[stage2] invalid config: learning_rate = -1"));
    assert!(
        load("[selftrain]\ncriterion = { threshold = { neg = 0.9, pos = 0.1 } }\n")
            .contains("neg 0.9 must be below pos 0.1")
    );
    assert!(load("seeds = []\n").contains("seeds: empty"));
    for fraction in ["0.0", "1.5", "-0.1"] {
        let err = load(&format!("[data]\nlabel_fraction = {fraction}\n"));
        assert!(err.contains("[data]") && err.contains("label_fraction"), "{err}");
    }
    assert!(load("[cross_tile]\ntiles = [\"a\", \"b\"]\n").contains("[cross_tile] tiles needs [data.hrsc]"));
    assert!(
        load("[data.hrsc]\ntrain_tiles = [\"a\"]\ntest_tiles = [\"a\"]\n")
            .contains("[data.hrsc] tile a is in both")
    );
    assert!(load("[data.hrsc]\ntilez = []\n").contains("unknown field `tilez`"));
    assert!(load("[model]\ninput_norm = \"global\"\n").contains("unknown variant `global`"));
    // Consistency training and augmentation: the section and the value.
    for (text, expected) in [
        (
            "[consistency]\nconfidence = 0.2\n",
            "[consistency] invalid self-training parameter consistency.confidence: 0.2 is outside [0.5, 1]",
        ),
        (
            "[consistency]\nunlabelled_ratio = 0\n",
            "consistency.unlabelled_ratio: 0; expected at least 1",
        ),
        (
            "[consistency]\nteacher = \"student\"\n",
            "unknown variant `student`",
        ),
        (
            "[consistency]\nadaptive_decay = 1.0\n",
            "consistency.adaptive_decay: 1 is outside [0, 1)",
        ),
        (
            "[consistency]\nthreshold = \"sometimes\"\n",
            "unknown variant `sometimes`",
        ),
        (
            "[consistency]\nkeep_teacher = true\n",
            "consistency.keep_teacher: true without a teacher to keep",
        ),
        (
            "[data.hrsc]\nextra_windows = \"everywhere\"\n",
            "unknown variant `everywhere`, expected `grid` or `candidates`",
        ),
        (
            "[consistency.strong]\nmax_shift = 11\n",
            "consistency.strong: max_shift 11 is beyond 4 px",
        ),
        (
            "[stage1]\naugment = { noise = -1.0 }\n",
            "[stage1] invalid self-training parameter augment: noise -1 is outside [0, 2]",
        ),
    ] {
        let err = load(text);
        assert!(err.contains(expected) && !err.contains('\n'), "{text}: {err}");
    }
    // The blocks' stretch and the model's input must go together.
    for (norm, stretch) in [
        ("per_tile", "none"),
        ("per_image", "standardise"),
        ("local", "standardise"),
        ("per_tile", "local"),
    ] {
        let err = load(&format!(
            "[model]\ninput_norm = \"{norm}\"\n[data.hrsc]\nstretch = \"{stretch}\"\n"
        ));
        assert!(
            err.contains("input_norm") && err.contains("stretch"),
            "{norm} {stretch}: {err}"
        );
    }
    let missing = ExperimentConfig::load(&dir.path().join("nope.toml"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.toml"), "{missing}");
    // The committed configs load.
    for config in [
        "configs/default.toml",
        "configs/smoke.toml",
        "configs/semi.toml",
        "configs/hrsc.toml",
        "configs/hrsc-semi.toml",
        "configs/hrsc-detect.toml",
        "configs/hrsc-detect-per-tile.toml",
        "configs/hrsc-detect-per-image.toml",
    ] {
        ExperimentConfig::load(&committed(config)).unwrap();
    }
    assert_eq!(
        *ExperimentConfig::load(&committed("configs/default.toml")).unwrap(),
        ExperimentConfig::default(),
        "configs/default.toml spells out the defaults"
    );
}

#[test]
fn an_image_folder_trains_stage_one_and_reports_on_validation() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    for (class, base) in [("crater", 150u8), ("non-crater", 60u8)] {
        std::fs::create_dir_all(images.join(class)).unwrap();
        for i in 0..15u8 {
            let patch = image::GrayImage::from_fn(48, 48, |x, y| {
                image::Luma([base.wrapping_add(((x * 7 + y * 3) as u8 ^ i) % 40)])
            });
            patch
                .save(images.join(class).join(format!("{i:02}.png")))
                .unwrap();
        }
    }
    let config = smoke(&images);
    let out = dir.path().join("run");
    let summary = reproduce(&config.check().unwrap(), &options(&out, false)).unwrap();
    let run = &summary.seeds[0];
    assert!(run.test_final.is_none() && run.selftrain_termination.is_none());
    assert_eq!(run.validation_final.confusion.n(), 6, "20% of 30 images");
    assert!(!out.join("scores.npy").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("Final model on the validation set") && report.contains("no extra set"),
        "{report}"
    );
}

#[test]
fn hrsc_layout_runs_the_pipeline_and_leaves_each_tile_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&root, &["a", "b", "c"], 256, 1).unwrap();
    let mut config = smoke(&dir.path().join("data"));
    config.data.hrsc = Some(craters_dataset::hrsc::HrscParams {
        root: root.clone(),
        train_tiles: vec!["a".into(), "b".into()],
        test_tiles: vec!["c".into()],
        n_extra: 60,
        ..Default::default()
    });
    config.cross_tile.tiles = vec!["a".into(), "b".into(), "c".into()];
    config.model.input_norm = craters_model::InputNorm::PerImage;
    config.seeds = vec![1, 2];
    let out = dir.path().join("run");
    let summary = reproduce(&config.check().unwrap(), &options(&out, false)).unwrap();
    assert!(dir.path().join("data").join("blocks.csv").is_file());
    // The test set is tile c's candidates, with labels: figures on it.
    let n_c = craters_dataset::hrsc::HrscFolder::open(&root)
        .unwrap()
        .candidates("c")
        .unwrap()
        .len();
    let c = summary.seeds[0].test_final.as_ref().unwrap().confusion;
    assert_eq!((c.tn + c.fp + c.fn_ + c.tp) as usize, n_c);
    // Leave one tile out: each tile once, every seed, trained on the two others.
    let tiles: Vec<&str> = summary.cross_tile.iter().map(|t| t.tile.as_str()).collect();
    assert_eq!(tiles, ["a", "b", "c"]);
    assert_eq!(summary.cross_tile[0].trained_on, ["b", "c"]);
    assert_eq!(summary.cross_tile[2].n_test, n_c);
    assert!(summary.cross_tile.iter().all(|t| t.test_final.len() == 2));
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("| this run, stage 1 alone (no self-training) |")
    );
    // Tile c held out is the main split: its figures are the main runs'.
    assert_eq!(
        summary.cross_tile[2].test_final[0].1,
        *summary.seeds[0].test_final.as_ref().unwrap()
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## Real data: HRSC crater candidates"),
        "{report}"
    );
    assert!(report.contains("| test tile | candidates | F1 | precision | recall |"));
    assert!(report.contains("Bandeira, Ding & Stepinski 2012"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["cross_tile"].as_array().unwrap().len(), 3);
    assert_eq!(
        metrics["cross_tile"][1]["f1"]["values"].as_array().unwrap().len(),
        2
    );
    // The saved model normalises by itself.
    let model = CraterCnn::load(&out.join("models").join("final")).unwrap();
    assert_eq!(model.config().input_norm, craters_model::InputNorm::PerImage);
}
