//! End-to-end runs of the `craters` binary.

use std::path::Path;
use std::process::Output;

use craters_dataset::{seed_files, write_npy};
mod common;

use common::{assert_one_line, craters};

fn seed_dir(dir: &Path) {
    let pixels: Vec<u8> = (0..4 * 2304).map(|i| (i % 251) as u8).collect();
    write_npy(&dir.join(seed_files::X_TRAIN), &[4, 2304], &pixels).unwrap();
    write_npy(&dir.join(seed_files::Y_TRAIN), &[4], &[0u8, 1, 1, 1]).unwrap();
}

/// A failure is exactly one line on stderr, names the path, exits 1 and prints nothing else.
fn assert_one_line_error(out: &Output, needle: &str) {
    assert_one_line(out, needle);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("craters: "), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"));
    assert!(out.stdout.is_empty());
}

#[test]
fn inspect_prints_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    seed_dir(dir.path());
    let path = dir.path().to_str().unwrap();
    let out = craters(&["data", "inspect", path]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Xtrain1.npy") && text.contains("(4, 2304)"),
        "{text}"
    );
    assert!(
        text.contains("0: 1, 1: 3 (75.00% craters); balanced weights 0: 2.0000, 1: 0.6667"),
        "{text}"
    );

    let out = craters(&["data", "inspect", path, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["layout"], "seed_layout");
    assert_eq!(json["files"][0]["shape"], serde_json::json!([4, 2304]));
    assert_eq!(json["files"][1]["class_balance"]["positives"], 3);
}

#[test]
fn inspect_bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    assert_one_line_error(
        &craters(&["data", "inspect", missing.to_str().unwrap()]),
        "no such file",
    );

    seed_dir(dir.path());
    write_npy(
        &dir.path().join(seed_files::Y_TRAIN),
        &[4],
        &[0.0f32, 1.0, 2.0, 1.0],
    )
    .unwrap();
    let out = craters(&["data", "inspect", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "Ytrain1.npy: label 2 at index 2");

    let not_npy = dir.path().join(seed_files::X_TRAIN);
    std::fs::write(&not_npy, "hello").unwrap();
    let out = craters(&["data", "inspect", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "not an npy file");
}

#[test]
fn inspect_image_folder() {
    let dir = tempfile::tempdir().unwrap();
    for (class, name) in [("crater", "a.png"), ("non-crater", "b.png"), ("crater", "c.png")] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        image::GrayImage::new(10, 10)
            .save(dir.path().join(class).join(name))
            .unwrap();
    }
    let out = craters(&["data", "inspect", dir.path().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("image folder") && text.contains("images: 3"),
        "{text}"
    );
    assert!(text.contains("0: 1, 1: 2"), "{text}");
}

fn labels_and_scores(dir: &Path, labels: &[u8], scores: &[f32]) -> (String, String) {
    let (y, p) = (dir.join("y.npy"), dir.join("p.npy"));
    write_npy(&y, &[labels.len() as u64], labels).unwrap();
    write_npy(&p, &[scores.len() as u64], scores).unwrap();
    (y.to_str().unwrap().to_string(), p.to_str().unwrap().to_string())
}

#[test]
fn evaluate_prints_table_and_exact_json_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (y, p) = labels_and_scores(dir.path(), &[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]);
    let out = craters(&["evaluate", "--labels", &y, "--scores", &p]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("precision          1.0000") && text.contains("recall             0.5000"),
        "{text}"
    );
    assert!(text.contains("roc auc            0.7500"), "{text}");

    let out = craters(&[
        "evaluate",
        "--labels",
        &y,
        "--scores",
        &p,
        "--json",
        "--threshold",
        "0.3",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "accuracy",
            "average_precision",
            "balanced_accuracy",
            "best_f1",
            "confusion",
            "f1",
            "f1_macro",
            "log_loss",
            "mcc",
            "pr_curve",
            "precision",
            "recall",
            "roc_auc"
        ]
    );
    assert_eq!(
        json["confusion"],
        serde_json::json!({"tn": 1, "fp": 1, "fn": 0, "tp": 2})
    );
    assert_eq!(json["pr_curve"]["thresholds"].as_array().unwrap().len(), 4);
}

#[test]
fn evaluate_bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (y, p) = labels_and_scores(dir.path(), &[0, 1, 1], &[0.1, 0.4]);
    assert_one_line_error(
        &craters(&["evaluate", "--labels", &y, "--scores", &p]),
        "2 scores for 3 labels",
    );

    let (y, p) = labels_and_scores(dir.path(), &[0, 1], &[0.1, f32::NAN]);
    assert_one_line_error(
        &craters(&["evaluate", "--labels", &y, "--scores", &p]),
        "p.npy: score NaN at index 1",
    );

    let (y, p) = labels_and_scores(dir.path(), &[0, 3], &[0.1, 0.2]);
    assert_one_line_error(
        &craters(&["evaluate", "--labels", &y, "--scores", &p]),
        "y.npy: label 3 at index 1",
    );

    let (y, p) = labels_and_scores(dir.path(), &[0, 1], &[0.1, 0.2]);
    let out = craters(&["evaluate", "--labels", &y, "--scores", &p, "--threshold", "2"]);
    assert_one_line_error(&out, "threshold 2");

    let missing = dir.path().join("none.npy");
    let out = craters(&["evaluate", "--labels", &y, "--scores", missing.to_str().unwrap()]);
    assert_one_line_error(&out, "none.npy: no such file");

    write_npy(&dir.path().join("p.npy"), &[1, 2], &[0.1f32, 0.2]).unwrap();
    assert_one_line_error(
        &craters(&["evaluate", "--labels", &y, "--scores", &p]),
        "expected (N,) or (N, 1) scores",
    );
}

#[test]
fn generate_writes_seed_layout_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    let args = [
        "--n-train",
        "30",
        "--n-extra",
        "8",
        "--n-test",
        "6",
        "--seed",
        "3",
    ];
    for out in [&a, &b] {
        let mut full = vec!["data", "generate", "--out", out.to_str().unwrap()];
        full.extend(args);
        let run = craters(&full);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    }
    let run = craters(&[
        "data",
        "generate",
        "--out",
        c.to_str().unwrap(),
        "--n-train",
        "30",
        "--n-extra",
        "8",
        "--n-test",
        "6",
    ]);
    assert!(run.status.success());
    for name in [
        seed_files::X_TRAIN,
        seed_files::Y_TRAIN,
        seed_files::X_EXTRA,
        seed_files::Y_EXTRA_HIDDEN,
        seed_files::X_TEST,
        seed_files::Y_TEST_HIDDEN,
        "manifest.json",
    ] {
        let bytes = std::fs::read(a.join(name)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(b.join(name)).unwrap(),
            "{name} differs between equal seeds"
        );
    }
    assert_ne!(
        std::fs::read(a.join(seed_files::X_TRAIN)).unwrap(),
        std::fs::read(c.join(seed_files::X_TRAIN)).unwrap()
    );

    let data = craters_dataset::SeedData::load(&a).unwrap();
    assert_eq!(data.train.len(), 30);
    assert_eq!(
        data.train.labels().unwrap().iter().filter(|&&l| l == 1).count(),
        19
    ); // round(0.64 · 30)
    assert_eq!(data.test.as_ref().map(|t| t.labels().is_some()), Some(true));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 3);
    assert_eq!(manifest["sets"]["extra"]["n"], 8);
    assert!(
        manifest["labelling_rule"]
            .as_str()
            .unwrap()
            .contains("radius >= 3.5 px")
    );
}

#[test]
fn generate_rejects_bad_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let run = craters(&[
        "data",
        "generate",
        "--out",
        out.to_str().unwrap(),
        "--positive-fraction",
        "1.5",
    ]);
    assert_one_line_error(&run, "positive_fraction");
    assert!(!out.exists(), "nothing is written for bad parameters");
}

#[test]
fn preview_draws_a_row_per_set_and_class() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = craters(&[
        "data",
        "generate",
        "--out",
        data.to_str().unwrap(),
        "--n-train",
        "20",
        "--n-extra",
        "0",
        "--n-test",
        "5",
    ]);
    assert!(run.status.success());
    let png = dir.path().join("preview.png");
    let run = craters(&[
        "data",
        "preview",
        data.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
        "--per-row",
        "4",
    ]);
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(run.status.success(), "{text}");
    assert!(
        text.contains("row  1: Xtrain1.npy, label 1 (crater) (4 patches"),
        "{text}"
    );
    assert!(text.contains("row  4: Xtest1.npy, label 0 (no crater)"), "{text}");
    let image = image::open(&png).unwrap();
    assert_eq!((image.width(), image.height()), (4 * 102, 4 * 102));

    let missing = dir.path().join("none");
    let run = craters(&[
        "data",
        "preview",
        missing.to_str().unwrap(),
        "--out",
        dir.path().join("other.png").to_str().unwrap(),
    ]);
    assert_one_line_error(&run, "no such file");
}

#[test]
fn bench_prints_the_peer_scripts_keys() {
    let out = craters(&[
        "bench",
        "--threads",
        "1",
        "--n-train",
        "48",
        "--epochs",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "train_images_per_s",
        "infer_images_per_s",
        "threads",
        "batch_size",
        "n_train",
        "epochs",
        "params",
    ] {
        assert!(report.get(key).is_some(), "missing {key}: {stdout}");
    }
    assert_eq!(report["params"], 14033);
    assert_eq!(report["threads"], 1);
    assert_eq!(report["n_train"], 48);
    assert_eq!(report["epoch_secs"].as_array().unwrap().len(), 2);
    assert!(report["train_images_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["infer_images_per_s"].as_f64().unwrap() > 0.0);

    let bad = craters(&["bench", "--threads", "0"]);
    assert_one_line_error(&bad, "--threads 0");
    let bad = craters(&["bench", "--threads", "1", "--batch-size", "0"]);
    assert_one_line_error(&bad, "batch_size = 0");
}

#[test]
fn predict_writes_scores_and_predictions_in_input_order() {
    use craters_model::{CraterCnn, SeedCnnConfig};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model_dir = d.join("model");
    let model = CraterCnn::new(&SeedCnnConfig::default(), 3).unwrap();
    model.save(&model_dir).unwrap();
    let model_arg = model_dir.to_str().unwrap();

    // A seed-layout folder: Xtest1.npy is predicted.
    let pixels: Vec<u8> = (0..5 * 2304).map(|i| (i * 13 % 256) as u8).collect();
    write_npy(&d.join(seed_files::X_TEST), &[5, 2304], &pixels).unwrap();
    let out = d.join("pred");
    let run = craters(&[
        "predict",
        "--model",
        model_arg,
        "--input",
        d.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let scores = craters_dataset::read_npy(&out.join("scores.npy")).unwrap();
    assert_eq!((scores.shape.clone(), scores.dtype.as_str()), (vec![5], "<f4"));
    let test = craters_dataset::Dataset::from_npy(&d.join(seed_files::X_TEST), None).unwrap();
    let expected: Vec<f64> = model
        .predict_proba(&test)
        .unwrap()
        .iter()
        .map(|&p| f64::from(p))
        .collect();
    assert_eq!(scores.values, expected);
    let predictions = craters_dataset::read_npy(&out.join(seed_files::Y_PRED)).unwrap();
    let from_scores: Vec<f64> = expected.iter().map(|&p| f64::from(u8::from(p >= 0.5))).collect();
    assert_eq!(predictions.values, from_scores);

    // An image folder: files.txt lists the images in output order.
    let images = d.join("images");
    std::fs::create_dir_all(images.join("b")).unwrap();
    for name in ["b/z.png", "a.png"] {
        image::GrayImage::from_pixel(48, 48, image::Luma([90]))
            .save(images.join(name))
            .unwrap();
    }
    let out2 = d.join("pred2");
    let run = craters(&[
        "predict",
        "--model",
        model_arg,
        "--input",
        images.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(
        std::fs::read_to_string(out2.join("files.txt")).unwrap(),
        "a.png\nb/z.png\n"
    );

    // Bad model folder and bad threshold: one line each.
    let bad = craters(&[
        "predict",
        "--model",
        d.to_str().unwrap(),
        "--input",
        images.to_str().unwrap(),
        "--out",
        d.join("pred3").to_str().unwrap(),
    ]);
    assert_one_line_error(&bad, "config.json: no such file");
    let bad = craters(&[
        "predict",
        "--model",
        model_arg,
        "--input",
        images.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--threshold",
        "2",
    ]);
    assert_one_line_error(&bad, "--threshold 2");
}

#[test]
fn train_selftrain_and_reproduce_run_the_smoke_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let smoke =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.toml"))
            .unwrap();
    let data_dir = d.join("data");
    let config = d.join("smoke.toml");
    std::fs::write(
        &config,
        smoke.replace(
            "dir = \"data/smoke\"",
            &format!("dir = {:?}", data_dir.to_str().unwrap()),
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let model = d.join("model");
    let run = craters(&[
        "train",
        "--config",
        config,
        "--out",
        model.to_str().unwrap(),
        "--initial-epochs",
        "2",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let history = std::fs::read_to_string(model.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 3, "header and the 2 epochs asked for");
    // With [consistency], stage 1 trains on the extra set too and says how its targets fare.
    let semi = d.join("semi.toml");
    let semi_text = std::fs::read_to_string(config).unwrap();
    std::fs::write(&semi, format!("{semi_text}\n[consistency]\nconfidence = 0.5\n")).unwrap();
    let run = craters(&[
        "train",
        "--config",
        semi.to_str().unwrap(),
        "--out",
        d.join("semi-model").to_str().unwrap(),
        "--initial-epochs",
        "1",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("unlabelled: 100.0% confident"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::write(&semi, format!("{semi_text}\n[consistency]\nconfidence = 2.0\n")).unwrap();
    let bad = craters(&[
        "train",
        "--config",
        semi.to_str().unwrap(),
        "--out",
        d.join("bad-model").to_str().unwrap(),
    ]);
    assert_one_line_error(&bad, "consistency.confidence: 2 is outside [0.5, 1]");
    assert!(!d.join("bad-model").exists(), "a bad config writes nothing");
    let pred = d.join("pred");
    let run = craters(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        data_dir.to_str().unwrap(),
        "--out",
        pred.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let st = d.join("st");
    let run = craters(&["selftrain", "--config", config, "--out", st.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("round 1: added"));
    assert!(st.join("models/final/model.safetensors").is_file());

    let out = d.join("run");
    let run = craters(&["reproduce", "--config", config, "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("slides: F1 0.9016"));
    let again = craters(&["reproduce", "--config", config, "--out", out.to_str().unwrap()]);
    assert_one_line_error(&again, "exists; pass --force");
    let bad = craters(&[
        "reproduce",
        "--config",
        config,
        "--out",
        out.to_str().unwrap(),
        "--threshold",
        "7",
    ]);
    assert_one_line_error(&bad, "threshold = 7");
}

#[test]
fn data_hrsc_cuts_a_seed_layout_and_detect_scores_a_tile() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&root, &["a", "b"], 160, 4).unwrap();
    let root_arg = root.to_str().unwrap();
    let layout = dir.path().join("layout");
    let out = craters(&[
        "data",
        "hrsc",
        "--root",
        root_arg,
        "--tiles",
        "a",
        "--test-tiles",
        "b",
        "--n-extra",
        "30",
        "--out",
        layout.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("extra 30 unlabelled windows from a") && stdout.contains("from b"),
        "{stdout}"
    );
    for file in [
        "Xtrain1.npy",
        "Ytrain1.npy",
        "Xtrain1_extra.npy",
        "Xtest1.npy",
        "Ytest1_hidden.npy",
        "blocks.csv",
    ] {
        assert!(layout.join(file).is_file(), "{file}");
    }
    // The same tile on both sides is refused, and so is a test tile as a source of
    // unlabelled windows; nothing is written.
    let refused = dir.path().join("refused");
    for (test, extra, needle) in [
        ("a", "", "tile a is in both train_tiles and test_tiles"),
        ("b", "b", "tile b is in both test_tiles and extra_tiles"),
    ] {
        let mut args = vec!["data", "hrsc", "--root", root_arg, "--tiles", "a"];
        args.extend(["--test-tiles", test, "--out", refused.to_str().unwrap()]);
        if !extra.is_empty() {
            args.extend(["--extra-tiles", extra]);
        }
        assert_one_line_error(&craters(&args), needle);
        assert!(!refused.exists());
    }

    let model = dir.path().join("model");
    craters_model::CraterCnn::new(&craters_model::SeedCnnConfig::default(), 1)
        .unwrap()
        .save(&model)
        .unwrap();
    let settings = dir.path().join("detect.toml");
    std::fs::write(
        &settings,
        "min_diameter = 10.0\nmax_diameter = 20.0\nmin_score = 0.0\n",
    )
    .unwrap();
    let tile = root.join("tiles").join("tilea.pgm");
    let gt = root.join("gt").join("a_gt.csv");
    let found = dir.path().join("found");
    let args = |out: &Path, settings: &Path| -> Vec<String> {
        [
            "detect",
            "--model",
            model.to_str().unwrap(),
            "--tile",
            tile.to_str().unwrap(),
            "--catalogue",
            gt.to_str().unwrap(),
            "--config",
            settings.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let run = |a: Vec<String>| craters(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(args(&found, &settings));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("windows/s") && stdout.contains("precision") && stdout.contains("best F1"),
        "{stdout}"
    );
    for file in ["craters.csv", "hypotheses.csv", "overlay.png", "metrics.json"] {
        assert!(found.join(file).is_file(), "{file}");
    }
    std::fs::write(&settings, "min_diameter = 10.0\nstrid = 0.5\n").unwrap();
    let unknown = dir.path().join("unknown");
    let out = run(args(&unknown, &settings));
    assert_one_line_error(&out, "unknown field `strid`");
    assert!(!unknown.exists());
}
