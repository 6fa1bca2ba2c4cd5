//! `craters bench --peers` against stand-in peer scripts: the orchestration (alternating
//! processes, thread settings, shared images, the table) without PyTorch or TensorFlow.

mod common;

use std::path::Path;

use common::{assert_one_line, craters, s};

/// A peer script that checks what it was given and prints fixed figures.
fn stand_in(dir: &Path, name: &str, train: f64, infer: f64) {
    let script = format!(
        r#"import argparse, json, os, sys
p = argparse.ArgumentParser()
for flag in ("--threads", "--epochs", "--n-train", "--batch-size", "--seed"):
    p.add_argument(flag, type=int, required=True)
p.add_argument("--npy-dir", required=True)
a = p.parse_args()
if os.environ.get("OMP_NUM_THREADS") != str(a.threads):
    sys.exit("OMP_NUM_THREADS is not --threads")
x = os.path.getsize(os.path.join(a.npy_dir, "Xtrain1.npy"))
if x < a.n_train * 2304:
    sys.exit("Xtrain1.npy is smaller than --n-train images")
print("warming up")
print(json.dumps({{"framework": "{name}", "version": "stand-in", "threads": a.threads,
    "train_images_per_s": {train}, "infer_images_per_s": {infer}}}))
"#
    );
    std::fs::write(dir.join(name), script).unwrap();
}

#[test]
fn peers_run_alternately_and_the_table_compares_medians() {
    let dir = tempfile::tempdir().unwrap();
    stand_in(dir.path(), "torch_cnn.py", 1000.0, 2000.0);
    stand_in(dir.path(), "keras_cnn.py", 1500.0, 500.0);
    let out = peers(
        dir.path(),
        &[
            "--python",
            "python3",
            "--rounds",
            "2",
            "--thread-counts",
            "1,2",
            "--epochs",
            "2",
            "--n-train",
            "96",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    // Two thread counts × two rounds × three frameworks, each reported as it ends.
    assert_eq!(
        stderr.lines().filter(|l| l.contains("round")).count(),
        12,
        "{stderr}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | threads | craters | PyTorch | Keras | ratio | craters | PyTorch | Keras | ratio |
        assert_eq!(
            &cells[3..5],
            ["1,000 (1,000–1,000)", "1,500 (1,500–1,500)"],
            "{row}"
        );
        assert_eq!(&cells[7..9], ["2,000 (2,000–2,000)", "500 (500–500)"], "{row}");
        let median = |cell: &str| {
            cell.split(' ')
                .next()
                .unwrap()
                .replace(',', "")
                .parse::<f64>()
                .unwrap()
        };
        let ratio = |cell: &str| cell.trim_end_matches('×').parse::<f64>().unwrap();
        assert!(
            (ratio(cells[5]) - median(cells[2]) / 1500.0).abs() < 0.01,
            "{row}"
        );
        assert!(
            (ratio(cells[9]) - median(cells[6]) / 2000.0).abs() < 0.01,
            "{row}"
        );
    }
    assert!(stdout.contains("machine load"), "{stdout}");
}

/// `craters bench --peers --peer-dir DIR` and `more`.
fn peers(dir: &Path, more: &[&str]) -> std::process::Output {
    let mut args = vec!["bench", "--peers", "--peer-dir", s(dir)];
    args.extend_from_slice(more);
    craters(&args)
}

#[test]
fn bad_peer_settings_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = peers(dir.path(), &["--rounds", "1"]);
    assert_one_line(&missing, "torch_cnn.py: no such peer script");
    // A peer whose framework is missing stops before any timing.
    std::fs::write(dir.path().join("torch_cnn.py"), "import no_such_framework\n").unwrap();
    stand_in(dir.path(), "keras_cnn.py", 1.0, 1.0);
    let broken = peers(dir.path(), &["--python", "python3"]);
    assert_one_line(&broken, "No module named 'no_such_framework'");
    for (flag, value, needle) in [
        ("--rounds", "0", "--rounds 0"),
        ("--thread-counts", "1,0", "--thread-counts"),
    ] {
        let out = peers(dir.path(), &[flag, value]);
        assert_one_line(&out, needle);
    }
    let python = peers(dir.path(), &["--python", "/no/such/python"]);
    assert_one_line(&python, "/no/such/python");
}
