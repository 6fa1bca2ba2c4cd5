//! No command loses a user's data: outputs that exist are refused without --force,
//! --force replaces only what craters wrote and never a folder holding an input, data is
//! generated only into new, empty or generated folders, and a refusal comes before the
//! work. Each test creates the user's files first and checks them byte for byte after.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use craters_dataset::{seed_files, write_npy};
mod common;

use common::{assert_one_line, craters, detect_args, model, predict_args, s};

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A failure is one line on stderr that contains `needle`, with exit code 1.
fn refused(out: &Output, needle: &str) {
    assert_one_line(out, needle);
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A user's folder of precious files.
fn precious(dir: &Path) -> PathBuf {
    let folder = dir.join("mine");
    fs::create_dir_all(folder.join("sub")).unwrap();
    fs::write(folder.join("thesis.tex"), b"three years of work").unwrap();
    fs::write(folder.join("sub").join("notes.txt"), b"field notes").unwrap();
    folder
}

/// The smoke config with its data folder at `data`.
fn smoke_config(dir: &Path, data: &Path) -> PathBuf {
    let smoke =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.toml")).unwrap();
    let config = dir.join("smoke.toml");
    fs::write(
        &config,
        smoke.replace("dir = \"data/smoke\"", &format!("dir = {:?}", s(data))),
    )
    .unwrap();
    config
}

#[test]
fn detect_never_replaces_its_inputs_or_a_users_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bench = d.join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&bench, &["a"], 96, 1).unwrap();
    let model = model(d);
    let tile = bench.join("tiles").join("tilea.pgm");
    let before = snapshot(d);
    // --out is the model folder, the benchmark folder (holding the tile), a user's folder.
    for out in [&model, &bench] {
        for force in [false, true] {
            let mut args = detect_args(&model, &tile, out);
            if force {
                args.push("--force");
            }
            refused(&craters(&args), "holds the input");
        }
    }
    let mine = precious(d);
    let before_mine = snapshot(&mine);
    let args = detect_args(&model, &tile, &mine);
    refused(&craters(&args), "exists; pass --force");
    let forced = [&args[..], &["--force"]].concat();
    refused(&craters(&forced), "not written by craters");
    assert_eq!(snapshot(&mine), before_mine);
    fs::remove_dir_all(&mine).unwrap();
    assert_eq!(snapshot(d), before, "inputs untouched");

    // Its own output is replaced with --force only.
    let out = d.join("found");
    let args = detect_args(&model, &tile, &out);
    ok(&craters(&args));
    refused(&craters(&args), "exists; pass --force");
    ok(&craters(&[&args[..], &["--force"]].concat()));
    assert!(out.join("craters.csv").is_file());
}

#[test]
fn data_hrsc_never_replaces_the_benchmark_or_a_users_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bench = d.join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&bench, &["a", "b"], 128, 2).unwrap();
    let before = snapshot(&bench);
    let cut = |out: &Path, force: bool| {
        let mut args = vec![
            "data",
            "hrsc",
            "--root",
            s(&bench),
            "--tiles",
            "a",
            "--test-tiles",
            "b",
        ];
        args.extend(["--n-extra", "10", "--out", s(out)]);
        if force {
            args.push("--force");
        }
        craters(&args)
    };
    refused(&cut(&bench, true), "holds the input");
    refused(&cut(&bench.join("tiles"), true), "not written by craters");
    assert_eq!(snapshot(&bench), before);
    let mine = precious(d);
    let before_mine = snapshot(&mine);
    refused(&cut(&mine, false), "exists; pass --force");
    refused(&cut(&mine, true), "not written by craters");
    assert_eq!(snapshot(&mine), before_mine);
    let layout = d.join("layout");
    ok(&cut(&layout, false));
    refused(&cut(&layout, false), "exists; pass --force");
    ok(&cut(&layout, true));
}

#[test]
fn generate_if_missing_writes_only_into_new_empty_or_generated_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A user's folder without Xtrain1.npy but with their own test set and notes.
    let data = d.join("data");
    fs::create_dir_all(&data).unwrap();
    let pixels: Vec<u8> = (0..3 * 2304).map(|i| (i % 7) as u8).collect();
    write_npy(&data.join(seed_files::X_TEST), &[3, 2304], &pixels).unwrap();
    fs::write(data.join("notes.txt"), b"my own data").unwrap();
    let before = snapshot(&data);
    let config = smoke_config(d, &data);
    let run = craters(&["reproduce", "--config", s(&config), "--out", s(&d.join("run"))]);
    refused(
        &run,
        "Xtrain1.npy is missing, and the folder holds files craters did not write",
    );
    assert_eq!(snapshot(&data), before);
    assert!(!d.join("run").exists());

    // An empty folder is filled; a generated one is reused (or regenerated when stale).
    let empty = d.join("empty");
    fs::create_dir(&empty).unwrap();
    let config = smoke_config(d, &empty);
    ok(&craters(&[
        "reproduce",
        "--config",
        s(&config),
        "--out",
        s(&d.join("run")),
    ]));
    assert!(empty.join(seed_files::X_TRAIN).is_file());
}

#[test]
fn train_selftrain_and_reproduce_refuse_before_they_train() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data"); // absent: generating it would be the first work
    let config = smoke_config(d, &data);
    let mine = precious(d);
    let before = snapshot(&mine);
    for command in ["train", "selftrain", "reproduce"] {
        let run = craters(&[command, "--config", s(&config), "--out", s(&mine)]);
        refused(&run, "exists; pass --force");
        let run = craters(&[command, "--config", s(&config), "--out", s(&mine), "--force"]);
        refused(&run, "not written by craters");
        assert!(!data.exists(), "{command} refused before generating data");
    }
    assert_eq!(snapshot(&mine), before);

    // Their own outputs are replaced with --force, and nothing is left beside them.
    for command in ["train", "selftrain"] {
        let out = d.join(command);
        ok(&craters(&[command, "--config", s(&config), "--out", s(&out)]));
        refused(
            &craters(&[command, "--config", s(&config), "--out", s(&out)]),
            "exists; pass --force",
        );
        ok(&craters(&[
            command,
            "--config",
            s(&config),
            "--out",
            s(&out),
            "--force",
        ]));
    }
    // The run folder may not be the data folder (or hold it).
    for out in [d, data.as_path()] {
        let run = craters(&["reproduce", "--config", s(&config), "--out", s(out), "--force"]);
        refused(&run, "holds the input");
    }
    assert_eq!(snapshot(&mine), before);
    let hidden: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "staging folders left: {hidden:?}");
}

#[test]
fn predict_generate_and_preview_refuse_existing_outputs_and_force_replaces_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model(d);
    // An image folder: predict writes files.txt; a later npy input must not keep it.
    let images = d.join("images");
    fs::create_dir_all(&images).unwrap();
    for i in 0..3u8 {
        image::GrayImage::from_pixel(48, 48, image::Luma([40 * i]))
            .save(images.join(format!("{i}.png")))
            .unwrap();
    }
    let pred = d.join("pred");
    let predict = |input: &Path, force: bool| {
        let mut args = predict_args(&model, input, &pred);
        if force {
            args.push("--force");
        }
        craters(&args)
    };
    ok(&predict(&images, false));
    assert!(pred.join("files.txt").is_file());
    let npy = d.join("patches.npy");
    write_npy(&npy, &[2, 2304], &vec![7u8; 2 * 2304]).unwrap();
    refused(&predict(&npy, false), "exists; pass --force");
    ok(&predict(&npy, true));
    assert!(
        !pred.join("files.txt").exists(),
        "no stale files.txt beside new scores"
    );
    // --out is the model folder or the input folder.
    let before = snapshot(d);
    for out in [&model, &images] {
        let args = [&predict_args(&model, &images, out)[..], &["--force"]].concat();
        refused(&craters(&args), "holds the input");
    }
    assert_eq!(snapshot(d), before);

    // data generate into a user's folder.
    let mine = precious(d);
    let before_mine = snapshot(&mine);
    let generate = |out: &Path, force: bool| {
        let mut args = vec![
            "data",
            "generate",
            "--out",
            s(out),
            "--n-train",
            "4",
            "--n-extra",
            "0",
        ];
        args.extend(["--n-test", "0"]);
        if force {
            args.push("--force");
        }
        craters(&args)
    };
    refused(&generate(&mine, false), "exists; pass --force");
    refused(&generate(&mine, true), "not written by craters");
    assert_eq!(snapshot(&mine), before_mine);
    let generated = d.join("generated");
    ok(&generate(&generated, false));
    refused(&generate(&generated, false), "exists; pass --force");
    ok(&generate(&generated, true));

    // data preview over an existing PNG, and over its own input.
    let png = d.join("preview.png");
    fs::write(&png, b"my picture").unwrap();
    let preview = |out: &Path, force: bool| {
        let mut args = vec!["data", "preview", s(&generated), "--out", s(out)];
        if force {
            args.push("--force");
        }
        craters(&args)
    };
    refused(&preview(&png, false), "exists; pass --force");
    assert_eq!(fs::read(&png).unwrap(), b"my picture");
    ok(&preview(&png, true));
    assert_ne!(fs::read(&png).unwrap(), b"my picture");
    let input = generated.join(seed_files::X_TRAIN);
    let before_input = fs::read(&input).unwrap();
    let run = craters(&["data", "preview", s(&input), "--out", s(&input), "--force"]);
    refused(&run, "holds the input");
    assert_eq!(fs::read(&input).unwrap(), before_input);
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = smoke_config(d, &d.join("data"));
    let out = d.join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_craters"))
        .args(["reproduce", "--config", s(&config), "--out", s(&out)])
        .args(["--initial-epochs", "100000"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run folder is being built, then interrupt as Ctrl-C does.
    let staging = || {
        fs::read_dir(d).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".run.partial")
        })
    };
    let started = std::time::Instant::now();
    while !staging() {
        assert!(started.elapsed().as_secs() < 60, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!staging(), "the staging folder was removed");
    assert!(!out.exists());
}
