//! `craters train-detector` on a miniature benchmark: a detector folder that `detect
//! --model` uses, the same bytes from the same recipe, the leave-one-out table, and bad
//! recipes and outputs refused with one line.

mod common;

use std::path::Path;

use common::{assert_one_line, craters, s};

/// A recipe for the toy benchmark at `root`: craters of 8–28 px, two small networks.
fn recipe(dir: &Path, root: &Path, members: usize) -> std::path::PathBuf {
    recipe_with(dir, root, members, "")
}

/// [`recipe`] with the top-level settings `top` (one `key = value` per line) added; the
/// file is named after them.
fn recipe_with(dir: &Path, root: &Path, members: usize, top: &str) -> std::path::PathBuf {
    let tag: String = top.chars().filter(char::is_ascii_alphanumeric).collect();
    let path = dir.join(format!("recipe-{members}{tag}.toml"));
    let text = format!(
        r#"{top}members = {members}
[data]
root = "{}"
train_tiles = ["a", "b", "c"]
test_tiles = []
catalogue_positives = true
catalogue_negatives = 60
stretch = "local"
[model]
input_norm = "local"
[proposal]
epochs = 2
[member]
epochs = 2
[detect]
min_diameter = 8.0
max_diameter = 28.0
"#,
        root.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `craters train-detector --config CONFIG --out OUT` with `extra` arguments.
fn train(config: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train-detector", "--config", s(config), "--out", s(out)];
    args.extend_from_slice(extra);
    craters(&args)
}

#[test]
fn a_trained_detector_is_a_model_folder_for_detect_and_the_same_recipe_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&root, &["a", "b", "c"], 160, 3).unwrap();
    let config = recipe(dir.path(), &root, 2);
    // The recipe ends in its [detect] section: the scan drops craters at the border.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}border_margin = 0.5\n")).unwrap();
    let mut weights = Vec::new();
    for run in ["one", "two"] {
        let out = dir.path().join(run);
        let trained = train(&config, &out, &[]);
        let stdout = String::from_utf8_lossy(&trained.stdout);
        assert!(
            trained.status.success(),
            "{}",
            String::from_utf8_lossy(&trained.stderr)
        );
        assert!(stdout.contains("2 networks, threshold "), "{stdout}");
        for file in [
            "member-1/model.safetensors",
            "member-2/config.json",
            "card.toml",
            "training.json",
        ] {
            assert!(out.join(file).is_file(), "{file}");
        }
        weights.push(std::fs::read(out.join("member-2/model.safetensors")).unwrap());
    }
    assert!(weights[0] == weights[1], "the same recipe gave other weights");
    // Different seeds per member: an ensemble, not two copies.
    let first = std::fs::read(dir.path().join("one/member-1/model.safetensors")).unwrap();
    assert!(first != weights[0]);

    // `detect --model` takes the folder, its card's threshold and border margin.
    let card = std::fs::read_to_string(dir.path().join("one/card.toml")).unwrap();
    assert!(card.contains("border_margin = 0.5"), "{card}");
    let threshold: f64 = card
        .lines()
        .find_map(|l| l.strip_prefix("threshold = "))
        .unwrap()
        .parse()
        .unwrap();
    let found = dir.path().join("found");
    let detect = craters(&[
        "detect",
        s(&root.join("tiles/tilea.pgm")),
        "--model",
        s(&dir.path().join("one")),
        "--out",
        s(&found),
    ]);
    assert!(
        detect.status.success(),
        "{}",
        String::from_utf8_lossy(&detect.stderr)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(found.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["threshold"].as_f64().unwrap(), threshold);
    assert_eq!(metrics["config"]["border_margin"].as_f64(), Some(0.5));

    // The output rule: an existing folder only with --force.
    let again = train(&config, &dir.path().join("one"), &[]);
    assert_one_line(&again, "--force");
}

#[test]
fn flipped_members_are_the_last_ones_and_learn_from_flipped_blocks_too_and_a_flipped_proposal_mines_for_them()
{
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&root, &["a", "b", "c"], 160, 3).unwrap();
    let plain = recipe(dir.path(), &root, 2);
    let mixed = recipe_with(dir.path(), &root, 2, "flipped_members = 1\n");
    let weights = |config: &Path, run: &str, member: usize| {
        let out = dir.path().join(run);
        if !out.exists() {
            let trained = train(config, &out, &[]);
            assert!(
                trained.status.success(),
                "{}",
                String::from_utf8_lossy(&trained.stderr)
            );
        }
        std::fs::read(out.join(format!("member-{member}/model.safetensors"))).unwrap()
    };
    // The first member and the proposal network (whose hard examples both learn from) see
    // the blocks as they are: the same weights as without flips.
    assert!(weights(&plain, "plain", 1) == weights(&mixed, "mixed", 1));
    // The last member, same seed and blocks, also learnt from their flips.
    assert!(weights(&plain, "plain", 2) != weights(&mixed, "mixed", 2));
    let summary = |run: &str| {
        let text = std::fs::read_to_string(dir.path().join(run).join("training.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    assert_eq!(summary("mixed")["recipe"]["flipped_members"], 1);

    // With a second, flipped proposal network the first member is still the same; the
    // flipped one learns from that network's hypotheses, and the card counts both's.
    let two = recipe_with(
        dir.path(),
        &root,
        2,
        "flipped_members = 1\nflipped_proposal = true\n",
    );
    assert!(weights(&plain, "plain", 1) == weights(&two, "two", 1));
    assert!(weights(&mixed, "mixed", 2) != weights(&two, "two", 2));
    let blocks = |run: &str| {
        let mined = &summary(run)["mined"];
        ["positives", "negatives", "left_out"]
            .map(|k| mined[k].as_u64().unwrap())
            .iter()
            .sum::<u64>()
    };
    assert!(
        blocks("two") > blocks("mixed"),
        "{} vs {}",
        blocks("two"),
        blocks("mixed")
    );
}

#[test]
fn leave_one_out_prints_a_row_per_tile_and_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bench");
    craters_dataset::hrsc::write_toy_benchmark(&root, &["a", "b", "c"], 160, 5).unwrap();
    let config = recipe(dir.path(), &root, 1);
    let out = dir.path().join("loo");
    let run = train(&config, &out, &["--leave-one-out"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for tile in ["a", "b", "c"] {
        assert!(stdout.contains(&format!("\n| {tile} | ")), "{stdout}");
        assert!(out.join(tile).join("member-1/model.safetensors").is_file());
        // Each fold learnt from the other two tiles only.
        let summary = std::fs::read_to_string(out.join(tile).join("training.json")).unwrap();
        let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
        let tiles = summary["recipe"]["data"]["train_tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), 2);
        assert!(!tiles.iter().any(|t| t == tile), "{tiles:?}");
    }
    assert!(stdout.contains("held-out F1 over 3 tiles: strict "), "{stdout}");
    assert!(out.join("leave-one-out.md").is_file());
}

#[test]
fn bad_recipes_are_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bench");
    let config = recipe(dir.path(), &root, 0);
    let run = train(&config, &dir.path().join("x"), &[]);
    assert_one_line(&run, "members = 0");
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "member_count = 3\n").unwrap();
    let run = train(&unknown, &dir.path().join("x"), &[]);
    assert_one_line(&run, "member_count");
    let flipped = recipe_with(dir.path(), &root, 2, "flipped_members = 3\n");
    let run = train(&flipped, &dir.path().join("x"), &[]);
    assert_one_line(&run, "flipped_members = 3");
    let alone = recipe_with(dir.path(), &root, 2, "flipped_proposal = true\n");
    let run = train(&alone, &dir.path().join("x"), &[]);
    assert_one_line(&run, "flipped_proposal = true");
    // A benchmark folder that is not there.
    let config = recipe(dir.path(), &dir.path().join("missing"), 1);
    let run = train(&config, &dir.path().join("x"), &[]);
    assert_one_line(&run, "missing");
    assert!(!dir.path().join("x").exists(), "nothing is left behind");
}
