//! Helpers shared by the end-to-end tests of the `craters` binary.
#![allow(dead_code)] // each test file uses its own share of them

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use craters_model::{CraterCnn, SeedCnnConfig};

/// Runs the `craters` binary with `args`.
pub fn craters(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_craters"))
        .args(args)
        .output()
        .unwrap()
}

/// A path as a command-line argument.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The error contract: exit code 1 and one line on stderr that contains `needle`.
pub fn assert_one_line(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.contains(needle),
        "stderr: {stderr:?} should contain {needle:?}"
    );
}

/// `craters detect IMAGE --model MODEL --out OUT`, for more arguments to follow.
pub fn detect_args<'a>(model: &'a Path, image: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec!["detect", s(image), "--model", s(model), "--out", s(out)]
}

#[path = "../../../../tests/support/geotiff_fixtures.rs"]
mod geotiff_fixtures;

/// A GeoTIFF fixture (tests/support/geotiff_fixtures.rs), written on first use.
pub fn geotiff(name: &str) -> PathBuf {
    geotiff_fixtures::fixture(name)
}

#[path = "../../../../tests/support/shared.rs"]
mod shared_data;
#[allow(unused_imports)] // each test file uses its own share of the helpers
pub use shared_data::shared;

/// `craters predict --model MODEL --input INPUT --out OUT`, for more arguments to follow.
pub fn predict_args<'a>(model: &'a Path, input: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "predict",
        "--model",
        s(model),
        "--input",
        s(input),
        "--out",
        s(out),
    ]
}

/// An untrained seed network saved as `dir/model`.
pub fn model(dir: &Path) -> PathBuf {
    let path = dir.join("model");
    CraterCnn::new(&SeedCnnConfig::default(), 3)
        .unwrap()
        .save(&path)
        .unwrap();
    path
}
