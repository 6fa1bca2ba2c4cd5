//! Input as a hostile user would give it: every case is one clear line on stderr naming the
//! file or setting, exit code 1, no panic, no abort, no hang, and no allocation the input
//! did not pay for. (Output safety has its own file, no_data_loss.rs.)

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use craters_dataset::{seed_files, write_npy};
mod common;

use common::{assert_one_line, detect_args, model, predict_args, s};

/// Runs `craters` and checks the contract: exit 1, one line on stderr holding `needle`,
/// within 60 s.
fn fails(args: &[&str], needle: &str) {
    let started = Instant::now();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_craters"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{args:?} took {:?}",
        started.elapsed()
    );
    assert_one_line(&out, needle);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 600, "{args:?}: a long message: {stderr}");
}

/// An npy file of format version 1 with the given header text and no data.
fn npy_v1(path: &Path, header: &str) {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    fs::write(path, bytes).unwrap();
}

#[test]
fn npy_headers_that_claim_more_than_the_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    // A 4 KB file whose version-2 header claims 4 GiB.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.resize(4096, b' ');
    let huge_header = dir.path().join("header.npy");
    fs::write(&huge_header, &bytes).unwrap();
    fails(
        &["data", "inspect", s(&huge_header)],
        "the header claims 4294967295 bytes",
    );
    // A shape whose product overflows, and one far beyond the file.
    for (name, shape, needle) in [
        ("overflow.npy", "(4294967296, 4294967296)", "larger than any file"),
        ("beyond.npy", "(100000, 2304)", "truncated"),
    ] {
        let header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
        let path = dir.path().join(name);
        npy_v1(&path, &header);
        fails(&["data", "inspect", s(&path)], needle);
    }
    // Brackets nested to make the header parser backtrack for ever (a fuzzing finding).
    let header = format!("{{'descr':{}", "[".repeat(70));
    let nested = dir.path().join("nested.npy");
    npy_v1(&nested, &header);
    fails(&["data", "inspect", s(&nested)], "nested more than 8 deep");
    // A malformed 8 KB header is not echoed back (`fails` checks the line's length).
    let header = format!("{{{}}}", "B".repeat(8000));
    let long = dir.path().join("long.npy");
    npy_v1(&long, &header);
    fails(&["data", "inspect", s(&long)], "long.npy: malformed npy header");
}

#[test]
fn image_headers_that_claim_gigapixels_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    for (name, bytes) in [
        ("bomb.pgm", b"P5\n60000 60000\n255\n".to_vec()),
        ("wide.pgm", b"P5\n20000 20000\n65535\n".to_vec()),
    ] {
        let tile = dir.path().join(name);
        fs::write(&tile, bytes).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        fails(
            &detect_args(&model, &tile, &out),
            "larger than the 512 MiB one decoded image may take",
        );
        assert!(!out.exists());
    }
    // A folder of images with one bomb among them.
    let images = dir.path().join("images");
    fs::create_dir_all(&images).unwrap();
    fs::write(images.join("a.pgm"), b"P5\n60000 60000\n255\n").unwrap();
    let out = dir.path().join("pred");
    fails(
        &predict_args(&model, &images, &out),
        "a.pgm: a 60000 × 60000 image is larger",
    );
}

#[test]
fn detection_on_images_and_settings_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let tiny = dir.path().join("tiny.pgm");
    fs::write(&tiny, b"P5\n1 1\n255\n\x80").unwrap();
    let out = dir.path().join("out");
    fails(
        &detect_args(&model, &tiny, &out),
        "the image is 1 × 1 px, smaller than the smallest window",
    );
    let tile = dir.path().join("tile.pgm");
    let mut pgm = b"P5\n200 200\n255\n".to_vec();
    pgm.extend((0..200 * 200).map(|i| (i % 251) as u8));
    fs::write(&tile, pgm).unwrap();
    for (settings, needle) in [
        (
            "levels_per_octave = 1000000000000\n",
            "levels_per_octave = 1000000000000",
        ),
        ("max_diameter = 1e300\n", "fewer than 256 pyramid levels"),
        ("batch_size = 100000000000\n", "batch_size = 100000000000"),
        ("min_diameter = nan\n", "min_diameter = NaN"),
    ] {
        let path = dir.path().join("detect.toml");
        fs::write(&path, settings).unwrap();
        fails(
            &[&detect_args(&model, &tile, &out)[..], &["--config", s(&path)]].concat(),
            needle,
        );
    }
    // A catalogue crater a thousand light years away, and a 1 MB line.
    let catalogue = dir.path().join("gt.csv");
    let with_catalogue = |needle: &str| {
        let args = detect_args(&model, &tile, &out);
        fails(&[&args[..], &["--catalogue", s(&catalogue)]].concat(), needle);
    };
    fs::write(&catalogue, "10,10,20\n1e30,5,20\n").unwrap();
    with_catalogue("gt.csv: line 2: coordinate 1000000000000000000000000000000 is farther than 10000000 px");
    fs::write(&catalogue, format!("10,10,{}\n", "9".repeat(1_000_000))).unwrap();
    with_catalogue("\"… is not a finite number");
    fs::write(&catalogue, format!("10;10;{}\n", "x".repeat(1_000_000))).unwrap();
    with_catalogue("…; expected 3 (x,y,d)");
}

#[test]
fn candidate_blocks_that_are_no_view_of_their_tile() {
    let dir = tempfile::tempdir().unwrap();
    let bench = dir.path().join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&bench, &["a"], 96, 1).unwrap();
    let tp = bench.join("candidates").join("a_tp.csv");
    let cut = || {
        let out = dir.path().join("layout");
        fails(
            &[
                "data",
                "hrsc",
                "--root",
                s(&bench),
                "--tiles",
                "a",
                "--n-extra",
                "5",
                "--out",
                s(&out),
            ],
            "a_tp.csv: block of half-side",
        );
        assert!(!out.exists());
    };
    fs::write(&tp, "40,40,90000\n").unwrap(); // larger than the tile
    cut();
    fs::write(&tp, "5000,40,10\n").unwrap(); // entirely outside it
    cut();
}

#[test]
fn models_whose_files_lie() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let patches = dir.path().join("x.npy");
    write_npy(&patches, &[2, 2304], &vec![9u8; 2 * 2304]).unwrap();
    let card = fs::read_to_string(model.join("config.json")).unwrap();
    fs::write(
        model.join("config.json"),
        card.replace("\"conv1_filters\": 16", "\"conv1_filters\": 1000000000"),
    )
    .unwrap();
    let out = dir.path().join("pred");
    fails(
        &predict_args(&model, &patches, &out),
        "config.json: invalid config: network",
    );
}

#[test]
fn values_that_were_accepted_but_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let labels = d.join("y.npy");
    write_npy(&labels, &[3], &[0u8, 1, 1]).unwrap();
    for bad in [-3.0f32, 7.0, 255.0] {
        let scores = d.join("p.npy");
        write_npy(&scores, &[3], &[0.2f32, 0.9, bad]).unwrap();
        fails(
            &["evaluate", "--labels", s(&labels), "--scores", s(&scores)],
            "scores must be probabilities in [0, 1]",
        );
    }
    // A seed-layout folder without its test set: the message names the missing file.
    let layout = d.join("layout");
    fs::create_dir_all(&layout).unwrap();
    write_npy(&layout.join(seed_files::X_TRAIN), &[1, 2304], &vec![1u8; 2304]).unwrap();
    let model = model(d);
    fails(
        &[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&layout),
            "--out",
            s(&d.join("p")),
        ],
        "Xtest1.npy: no such file",
    );
    // A folder with no images at all.
    let empty = d.join("empty");
    fs::create_dir_all(&empty).unwrap();
    fails(
        &[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&empty),
            "--out",
            s(&d.join("p")),
        ],
        "no seed-layout npy files (png, jpg",
    );
    // An OS error is printed once.
    let out = Command::new(env!("CARGO_BIN_EXE_craters"))
        .args(["evaluate", "--labels", s(d), "--scores", s(&labels)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}

#[test]
fn sizes_asked_for_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gen");
    fails(
        &["data", "generate", "--out", s(&out), "--n-train", "1000000000000"],
        "invalid n_train = 1000000000000",
    );
    assert!(!out.exists());
    let layout = dir.path().join("layout");
    fs::create_dir_all(&layout).unwrap();
    write_npy(&layout.join(seed_files::X_TRAIN), &[1, 2304], &vec![1u8; 2304]).unwrap();
    fails(
        &[
            "data",
            "preview",
            s(&layout),
            "--out",
            s(&dir.path().join("p.png")),
            "--per-row",
            "100000000",
        ],
        "invalid per_row = 100000000",
    );
}
