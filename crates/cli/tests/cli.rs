//! End-to-end runs of the `craters` binary.

use std::path::Path;
use std::process::{Command, Output};

use craters_dataset::{seed_files, write_npy};

fn craters(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_craters"))
        .args(args)
        .output()
        .unwrap()
}

fn seed_dir(dir: &Path) {
    let pixels: Vec<u8> = (0..4 * 2304).map(|i| (i % 251) as u8).collect();
    write_npy(&dir.join(seed_files::X_TRAIN), &[4, 2304], &pixels).unwrap();
    write_npy(&dir.join(seed_files::Y_TRAIN), &[4], &[0u8, 1, 1, 1]).unwrap();
}

/// A failure is exactly one line on stderr, names the path, exits 1 and prints nothing else.
fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.starts_with("craters: ") && stderr.contains(needle),
        "stderr: {stderr}"
    );
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
