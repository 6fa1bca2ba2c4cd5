//! The HRSC benchmark reader and layout writer, on a toy benchmark and (when present) the
//! real one.

mod common;

use common::shared;
use std::fs;
use std::path::{Path, PathBuf};

use craters_dataset::hrsc::{
    Border, CANDIDATE_VIEW_SCALE, CANDIDATE_VIEW_SHIFT, ExtraWindows, HrscFolder, HrscParams,
    MAX_VIEWS_PER_CANDIDATE, TILES, is_current, read_candidates, read_catalogue, write_layout,
    write_toy_benchmark,
};
use craters_dataset::{Error, OutputParams, PATCH_PIXELS, SeedData, Stretch, read_npy};

fn toy(dir: &Path) -> PathBuf {
    let root = dir.join("bench");
    write_toy_benchmark(&root, &["a", "b", "c"], 256, 7).unwrap();
    root
}

fn params(root: &Path) -> HrscParams {
    HrscParams {
        root: root.into(),
        train_tiles: vec!["a".into(), "b".into()],
        test_tiles: vec!["c".into()],
        n_extra: 50,
        extra_seed: 3,
        ..HrscParams::default()
    }
}

#[test]
fn the_layout_holds_every_candidate_block_and_says_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let folder = HrscFolder::open(&root).unwrap();
    let n_train: usize = ["a", "b"]
        .iter()
        .map(|t| folder.candidates(t).unwrap().len())
        .sum();
    let n_test = folder.candidates("c").unwrap().len();
    let out = dir.path().join("layout");
    let written = write_layout(&params(&root).check().unwrap(), OutputParams::new(&out)).unwrap();
    assert_eq!(written.train.data.len(), n_train);
    assert_eq!(written.extra.data.len(), 50);
    let data = SeedData::load(&out).unwrap();
    assert_eq!(data.train.len(), n_train);
    assert_eq!(data.test.as_ref().unwrap().len(), n_test);
    assert!(
        data.test.as_ref().unwrap().labels().is_some(),
        "test labels are kept as hidden labels"
    );
    assert_eq!(data.extra.as_ref().unwrap().len(), 50);
    let x = read_npy(&out.join("Xtrain1.npy")).unwrap();
    assert_eq!(x.shape, vec![n_train as u64, PATCH_PIXELS as u64]);
    assert_eq!(x.dtype, "|u1");
    // The labels follow the candidate files: craters (tp) first per tile.
    let labels = data.train.labels().unwrap();
    let tp_a = read_candidates(&folder.candidates_path("a", 1), 1).unwrap().len();
    assert!(labels[..tp_a].iter().all(|&l| l == 1));
    assert_eq!(labels[tp_a], 0);
    // blocks.csv: one row per patch of every set, with its origin.
    let csv = fs::read_to_string(out.join("blocks.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("set,row,tile,x,y,r,label,origin"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), n_train + 50 + n_test);
    let first = folder.candidates("a").unwrap()[0];
    assert_eq!(
        rows[0],
        [
            "train",
            "0",
            "a",
            &first.x.to_string(),
            &first.y.to_string(),
            &first.r.to_string(),
            "1",
            "candidate"
        ]
    );
    assert!(
        rows.iter()
            .filter(|r| r[0] == "extra")
            .all(|r| r[6].is_empty() && r[2] != "c" && r[7] == "window")
    );
    assert!(rows.iter().filter(|r| r[0] == "test").all(|r| r[2] == "c"));
    // The patch of row 0 is the block cut from the tile.
    let tile = folder.tile("a").unwrap();
    let block = tile.block(first.x, first.y, first.r, Border::Reflect).unwrap();
    let row0: Vec<f32> = data.train.image(0).unwrap().to_vec();
    assert!(block.iter().zip(&row0).all(|(a, b)| (a - b).abs() < 0.5 / 255.0));
    // The manifest ties the folder to its parameters.
    assert!(is_current(&out, &params(&root)));
    assert!(!is_current(
        &out,
        &HrscParams {
            n_extra: 51,
            ..params(&root)
        }
    ));
    // Same parameters, same bytes.
    let again = dir.path().join("again");
    write_layout(&params(&root).check().unwrap(), OutputParams::new(&again)).unwrap();
    for file in [
        "Xtrain1.npy",
        "Ytrain1.npy",
        "Xtrain1_extra.npy",
        "Xtest1.npy",
        "blocks.csv",
    ] {
        assert_eq!(
            fs::read(out.join(file)).unwrap(),
            fs::read(again.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn unlabelled_windows_avoid_the_labelled_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let out = dir.path().join("layout");
    let written = write_layout(&params(&root).check().unwrap(), OutputParams::new(&out)).unwrap();
    let folder = HrscFolder::open(&root).unwrap();
    for w in &written.extra.sources {
        for c in folder.candidates(&w.tile).unwrap() {
            let similar = (0.5..=2.0).contains(&(c.r / w.r));
            assert!(
                !(similar && (c.x - w.x).hypot(c.y - w.y) <= w.r / 2.0),
                "{w:?} is candidate {c:?}"
            );
        }
    }
}

#[test]
fn extra_tiles_give_the_unlabelled_windows_and_no_label_of_theirs_is_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let own = HrscParams {
        train_tiles: vec!["a".into()],
        ..params(&root)
    };
    let plain = dir.path().join("plain");
    let without = write_layout(&own.check().unwrap(), OutputParams::new(&plain)).unwrap();
    assert!(without.extra.sources.iter().all(|w| w.tile == "a"));
    for windows in [ExtraWindows::Grid, ExtraWindows::Candidates] {
        let with_extra = HrscParams {
            extra_tiles: vec!["b".into()],
            extra_windows: windows,
            ..own.clone()
        };
        let out = dir.path().join(format!("{windows:?}"));
        let written = write_layout(&with_extra.check().unwrap(), OutputParams::new(&out)).unwrap();
        assert_eq!(written.extra.data.len(), 50);
        assert!(
            written
                .extra
                .sources
                .iter()
                .all(|w| w.tile == "b" && w.label.is_none()),
            "{windows:?}: every unlabelled window is on tile b"
        );
        assert_eq!(written.extra.data.labels(), None);
        // The labelled set is tile a's alone, as without extra tiles.
        assert_eq!(written.train.sources, without.train.sources);
        assert_eq!(written.train.data.pixels(), without.train.data.pixels());
        let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
        assert!(manifest.contains(r#""extra_tiles": ["#), "{manifest}");
        assert!(is_current(&out, &with_extra));
        assert!(!is_current(&out, &own));
    }
    // Without extra tiles the manifest does not name them, so older layouts stay current.
    let manifest = fs::read_to_string(plain.join("manifest.json")).unwrap();
    assert!(!manifest.contains("extra_tiles"), "{manifest}");
    assert!(is_current(&plain, &own));
}

#[test]
fn candidate_views_are_moved_and_rescaled_candidates_of_the_training_tiles_each_once_first() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let folder = HrscFolder::open(&root).unwrap();
    let n_candidates: usize = ["a", "b"]
        .iter()
        .map(|t| folder.candidates(t).unwrap().len())
        .sum();
    let views = HrscParams {
        n_extra: n_candidates + 5,
        extra_windows: ExtraWindows::Candidates,
        ..params(&root)
    };
    let out = dir.path().join("views");
    let written = write_layout(&views.check().unwrap(), OutputParams::new(&out)).unwrap();
    let extra = &written.extra;
    assert_eq!(extra.data.len(), n_candidates + 5);
    assert_eq!(extra.data.labels(), None, "the views are unlabelled");
    let mut used = std::collections::HashMap::<(String, usize), usize>::new();
    for (i, v) in extra.sources.iter().enumerate() {
        assert!(v.tile == "a" || v.tile == "b", "{v:?} is not on a training tile");
        assert_eq!((v.label, v.origin), (None, "candidate_view"));
        // The nearest candidate whose shift and scale allow this view.
        let candidates = folder.candidates(&v.tile).unwrap();
        let source = candidates.iter().position(|c| {
            let scale = v.r / c.r;
            let shift = CANDIDATE_VIEW_SHIFT * v.r + 1e-9;
            (1.0 / CANDIDATE_VIEW_SCALE - 1e-9..=CANDIDATE_VIEW_SCALE + 1e-9).contains(&scale)
                && (v.x - c.x).abs() <= shift
                && (v.y - c.y).abs() <= shift
        });
        let source = source.unwrap_or_else(|| panic!("{v:?} is no view of a candidate"));
        *used.entry((v.tile.clone(), source)).or_default() += 1;
        let tile = folder.tile(&v.tile).unwrap();
        let block = tile.reflected_block(v.x, v.y, v.r).unwrap();
        let row = &extra.data.pixels()[i * PATCH_PIXELS..(i + 1) * PATCH_PIXELS];
        assert_eq!(row, &block[..], "row {i} is the block of {v:?}");
    }
    // Toy candidates may lie close enough to be confused, so count places, not exact
    // sources: nearly every candidate is seen before the first repeat.
    assert!(
        used.len() >= n_candidates * 9 / 10,
        "{} of {n_candidates} candidates viewed",
        used.len()
    );
    // The default (grid) is left out of the manifest, so that older layouts stay current;
    // candidate views are written into it.
    let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        manifest.contains(r#""extra_windows": "candidates""#),
        "{manifest}"
    );
    assert!(is_current(&out, &views));
    assert!(!is_current(&out, &params(&root)));
    let grid = dir.path().join("grid");
    write_layout(&params(&root).check().unwrap(), OutputParams::new(&grid)).unwrap();
    assert!(
        !fs::read_to_string(grid.join("manifest.json"))
            .unwrap()
            .contains("extra_windows")
    );
    // The same seed gives the same views; another seed other views.
    let again = dir.path().join("again");
    write_layout(&views.check().unwrap(), OutputParams::new(&again)).unwrap();
    assert_eq!(
        fs::read(out.join("Xtrain1_extra.npy")).unwrap(),
        fs::read(again.join("Xtrain1_extra.npy")).unwrap()
    );
    let other = dir.path().join("other");
    let reseeded = HrscParams {
        extra_seed: 4,
        ..views.clone()
    };
    write_layout(&reseeded.check().unwrap(), OutputParams::new(&other)).unwrap();
    assert_ne!(
        fs::read(out.join("Xtrain1_extra.npy")).unwrap(),
        fs::read(other.join("Xtrain1_extra.npy")).unwrap()
    );
    // More views than 16 per candidate is one clear error, before anything is allocated
    // or written.
    let too_many = HrscParams {
        n_extra: n_candidates * MAX_VIEWS_PER_CANDIDATE + 1,
        ..views.clone()
    };
    let refused = dir.path().join("refused");
    let err = write_layout(&too_many.check().unwrap(), OutputParams::new(&refused)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("invalid n_extra = ") && message.contains("16 views per candidate"),
        "{message}"
    );
    assert!(!refused.exists());
    let huge = HrscParams {
        n_extra: usize::MAX / 4,
        ..views.clone()
    };
    assert!(write_layout(&huge.check().unwrap(), OutputParams::new(&refused)).is_err());
    assert!(!refused.exists());
}

#[test]
fn skipping_border_blocks_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let folder = HrscFolder::open(&root).unwrap();
    let tile = folder.tile("a").unwrap();
    let outside = folder
        .candidates("a")
        .unwrap()
        .iter()
        .filter(|c| !tile.contains_block(c.x, c.y, c.r))
        .count();
    assert!(outside > 0, "the toy tile has border candidates");
    let skipping = HrscParams {
        border: Border::Skip,
        ..params(&root)
    };
    let written = write_layout(
        &skipping.check().unwrap(),
        OutputParams::new(dir.path().join("skip")),
    )
    .unwrap();
    let reflected = write_layout(
        &params(&root).check().unwrap(),
        OutputParams::new(dir.path().join("reflect")),
    )
    .unwrap();
    assert!(written.train.skipped >= outside);
    assert_eq!(
        written.train.data.len() + written.train.skipped,
        reflected.train.data.len()
    );
}

#[test]
fn stretched_layouts_standardise_blocks_and_name_the_stretch() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let mean_std = |values: &[f32]| {
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        (mean * 255.0, var.sqrt() * 255.0)
    };
    let plain = write_layout(
        &params(&root).check().unwrap(),
        OutputParams::new(dir.path().join("plain")),
    )
    .unwrap();
    for (stretch, name) in [(Stretch::Standardise, "standardise"), (Stretch::Local, "local")] {
        let out = dir.path().join(name);
        let stretched = HrscParams {
            stretch,
            ..params(&root)
        };
        let written = write_layout(&stretched.check().unwrap(), OutputParams::new(&out)).unwrap();
        assert_eq!(written.train.data.len(), plain.train.data.len());
        let (mean, std) = mean_std(written.train.data.pixels());
        // Standardised around 128 ± 32 gray levels (the toy tile is 60 ± 20 or so).
        assert!(
            (mean - 128.0).abs() < 12.0 && (std - 32.0).abs() < 12.0,
            "{name}: {mean} ± {std}"
        );
        assert_ne!(written.train.data.pixels(), plain.train.data.pixels());
        let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
        assert!(
            manifest.contains(&format!("\"stretch\": \"{name}\"")),
            "{manifest}"
        );
    }
    // No stretch: the manifest does not mention it (older layouts stay current).
    let manifest = fs::read_to_string(dir.path().join("plain").join("manifest.json")).unwrap();
    assert!(!manifest.contains("stretch"));
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
}

#[test]
fn bad_input_is_one_clear_error_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let folder = HrscFolder::open(&root).unwrap();
    let out = dir.path().join("layout");
    let expect_error = |params: &HrscParams, needle: &str| {
        let err = params
            .check()
            .and_then(|p| write_layout(&p, OutputParams::new(&out)))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        assert!(!out.exists(), "no output after: {err}");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    };
    // A tile in both lists; no training tile; a tile that does not exist.
    expect_error(
        &HrscParams {
            test_tiles: vec!["a".into()],
            ..params(&root)
        },
        "tile a is in both",
    );
    expect_error(
        &HrscParams {
            train_tiles: vec![],
            ..params(&root)
        },
        "train_tiles is empty",
    );
    // A tested tile's windows are never trained on, even unlabelled.
    expect_error(
        &HrscParams {
            extra_tiles: vec!["b".into(), "c".into()],
            ..params(&root)
        },
        "tile c is in both test_tiles and extra_tiles",
    );
    expect_error(
        &HrscParams {
            train_tiles: vec!["zz".into()],
            ..params(&root)
        },
        "tilezz.pgm: no such file",
    );
    // Bad candidate rows, each naming file and line.
    let tp = folder.candidates_path("b", 1);
    let original = fs::read(&tp).unwrap();
    for (row, needle) in [
        ("1,2\n", "line 2: 2 fields"),
        ("1,x,3\n", "line 2: \"x\" is not a finite number"),
        ("1,2,nan\n", "line 2: \"nan\" is not a finite number"),
        ("1,2,-3\n", "line 2: size -3; expected more than 0"),
    ] {
        let mut bytes = b"10,10,12\n".to_vec();
        bytes.extend_from_slice(row.as_bytes());
        write(&tp, &bytes);
        expect_error(&params(&root), needle);
        expect_error(&params(&root), "b_tp.csv");
    }
    write(&tp, b"\n");
    expect_error(&params(&root), "b_tp.csv: empty set");
    write(&tp, &original);
    // A tile that is not an image.
    let tile = folder.tile_path("c");
    write(&tile, b"P5\n12 12\n255\nshort");
    expect_error(&params(&root), "tilec.pgm: unreadable image");
    write(&tile, b"not an image at all");
    let err = craters_dataset::Tile::load(&tile).unwrap_err();
    assert!(matches!(err, Error::UnreadableImage { .. }), "{err}");
    // A missing benchmark folder.
    let missing = HrscParams {
        root: dir.path().join("nowhere"),
        ..params(&root)
    };
    expect_error(&missing, "nowhere: no such folder (the HRSC benchmark");
}

#[test]
fn the_real_benchmark_has_the_documented_counts() {
    let Some(root) = shared("data/hrsc") else {
        return;
    };
    let folder = HrscFolder::open(&root).unwrap();
    let catalogue = [771, 1337, 352, 409, 385];
    let craters = [470, 651, 219, 224, 204];
    let others = [616, 769, 359, 379, 292];
    for (i, tile) in TILES.iter().enumerate() {
        assert_eq!(
            read_catalogue(&folder.catalogue_path(tile)).unwrap().len(),
            catalogue[i],
            "{tile}"
        );
        let candidates = folder.candidates(tile).unwrap();
        assert_eq!(
            candidates.iter().filter(|c| c.label == 1).count(),
            craters[i],
            "{tile}"
        );
        assert_eq!(
            candidates.iter().filter(|c| c.label == 0).count(),
            others[i],
            "{tile}"
        );
    }
    let tile = folder.tile("1_24").unwrap();
    assert_eq!((tile.width(), tile.height()), (1700, 1700));
}

#[test]
fn catalogue_examples_label_craters_and_crater_free_windows() {
    let dir = tempfile::tempdir().unwrap();
    let root = toy(dir.path());
    let folder = HrscFolder::open(&root).unwrap();
    let with_examples = HrscParams {
        catalogue_positives: true,
        catalogue_negatives: 40,
        ..params(&root)
    };
    let plain = write_layout(
        &params(&root).check().unwrap(),
        OutputParams::new(dir.path().join("plain")),
    )
    .unwrap();
    let written = write_layout(
        &with_examples.check().unwrap(),
        OutputParams::new(dir.path().join("examples")),
    )
    .unwrap();
    let added = &written.train.sources[plain.train.sources.len()..];
    let large: usize = ["a", "b"]
        .iter()
        .map(|t| {
            folder
                .catalogue(t)
                .unwrap()
                .iter()
                .filter(|c| c.diameter >= 16.0)
                .count()
        })
        .sum();
    assert!(large > 0);
    assert_eq!(added.iter().filter(|s| s.label == Some(1)).count(), large);
    assert_eq!(added.iter().filter(|s| s.label == Some(0)).count(), 40);
    assert!(added.iter().all(|s| s.origin == "catalogue"));
    // No negative window holds a catalogued crater at its scale.
    for s in added.iter().filter(|s| s.label == Some(0)) {
        for c in folder.catalogue(&s.tile).unwrap() {
            let rho = c.diameter / 2.0;
            let same_scale = (0.5..=2.0).contains(&(s.r / 2.2 / rho));
            assert!(
                !(same_scale && (c.x - s.x).hypot(c.y - s.y) <= rho),
                "{s:?} holds {c:?}"
            );
        }
    }
    assert_eq!(
        written.train.data.labels().unwrap().len(),
        written.train.sources.len()
    );
}
