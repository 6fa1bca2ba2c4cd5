//! Crater detection on whole tiles: the pipeline's files, the scoring rules, bad input.

use std::fs;
use std::path::{Path, PathBuf};

use craters_dataset::hrsc::{Crater, HrscFolder, write_toy_benchmark};
use craters_dataset::{OutputParams, Tile};
use craters_detect::{
    DetectConfig, DetectSummary, Detector, ImageWindow, NoProgress, Placement, PlacementParams,
    ValidDetectConfig, core_hypotheses, craters_csv, detect_with_progress, evaluate, overlay, run,
};
use craters_metrics::detection::{Circle, Detection};
use craters_model::{CraterCnn, SeedCnnConfig};

fn setup(dir: &Path) -> (HrscFolder, PathBuf) {
    let root = dir.join("bench");
    write_toy_benchmark(&root, &["a"], 160, 2).unwrap();
    let model = dir.join("model");
    CraterCnn::new(&SeedCnnConfig::default(), 3)
        .unwrap()
        .save(&model)
        .unwrap();
    (HrscFolder::open(&root).unwrap(), model)
}

/// `craters detect` with the model folder `model` on a plain image.
fn detect_files(
    model: &Path,
    image: &Path,
    catalogue: Option<&Path>,
    out: OutputParams,
    config: &ValidDetectConfig,
) -> craters_detect::Result<DetectSummary> {
    let detector = Detector::load(model)?;
    run(
        &detector,
        image,
        catalogue,
        &PlacementParams::default(),
        out,
        config,
        &NoProgress,
    )
}

fn small() -> DetectConfig {
    DetectConfig {
        min_diameter: 10.0,
        max_diameter: 24.0,
        // An untrained network scores near 0.5 (its peaks 0.50–0.51 here): keep every peak,
        // report the strongest.
        min_score: 0.0,
        threshold: 0.503,
        ..DetectConfig::default()
    }
}

#[test]
fn detect_writes_detections_overlay_and_metrics_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let (folder, model) = setup(dir.path());
    let out = dir.path().join("out");
    let tile = folder.tile_path("a");
    let catalogue = folder.catalogue_path("a");
    let summary = detect_files(
        &model,
        &tile,
        Some(&catalogue),
        OutputParams::new(&out),
        &small().check().unwrap(),
    )
    .unwrap();
    assert!(summary.detections.windows > 0 && !summary.detections.detections.is_empty());
    // Every hypothesis in hypotheses.csv; those at the operating threshold in craters.csv.
    let all = fs::read_to_string(out.join("hypotheses.csv")).unwrap();
    assert!(all.starts_with("x,y,r,score\n"));
    assert_eq!(all.lines().count(), 1 + summary.detections.detections.len());
    let threshold = small().threshold;
    let kept: Vec<Detection> = summary
        .detections
        .detections
        .iter()
        .filter(|d| d.score >= threshold)
        .copied()
        .collect();
    let rows = fs::read_to_string(out.join("craters.csv")).unwrap();
    assert_eq!(
        rows,
        craters_csv(&craters_detect::catalogue(&kept, &Placement::Pixels))
    );
    // A plain image: pixel columns, no longitude, latitude or diameter in km.
    assert!(rows.starts_with("x_px,y_px,r_px,lon,lat,diameter_km,score\n"));
    assert!(rows.lines().nth(1).unwrap().contains(",,,"), "{rows}");
    assert_eq!(summary.craters.len(), kept.len());
    assert!(!kept.is_empty());
    assert!(
        kept.len() < summary.detections.detections.len(),
        "the threshold keeps fewer"
    );
    // Without a pixel size there is no area: no CSFD, no craterstats count, no GIS layer.
    for absent in ["craters.scc", "csfd.csv", "csfd.png", "a_CRATER.shp"] {
        assert!(!out.join(absent).exists(), "{absent}");
    }
    let radii = small().radii();
    assert_eq!(radii.len(), 6, "{radii:?}"); // 10 → 24 px diameters, 4 levels per octave
    for d in &summary.detections.detections {
        assert!(radii.contains(&d.circle.r));
        assert!(
            (0.0..160.0).contains(&d.circle.x) && (0.0..160.0).contains(&d.circle.y),
            "{d:?}"
        );
    }
    let scores: Vec<f64> = summary.detections.detections.iter().map(|d| d.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "highest score first");
    let picture = image::open(out.join("overlay.png")).unwrap();
    assert_eq!((picture.width(), picture.height()), (160, 160));
    let metrics: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let evaluation = &metrics["evaluation"]["report"];
    let n_truth = evaluation["n_truth"].as_u64().unwrap();
    let in_range = folder
        .catalogue("a")
        .unwrap()
        .iter()
        .filter(|c| (10.0..=24.0).contains(&c.diameter))
        .count();
    assert_eq!(n_truth as usize, in_range);
    assert!(evaluation["curve"].as_array().unwrap().len() > 1);
    assert!(evaluation["at_threshold"]["f1"].as_f64().is_some());
    // Same model, same tile: same bytes.
    let again = dir.path().join("again");
    detect_files(
        &model,
        &tile,
        Some(&catalogue),
        OutputParams::new(&again),
        &small().check().unwrap(),
    )
    .unwrap();
    for file in ["craters.csv", "hypotheses.csv", "overlay.png"] {
        assert_eq!(
            fs::read(out.join(file)).unwrap(),
            fs::read(again.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn craters_outside_the_diameter_range_neither_count_nor_penalise() {
    let config = DetectConfig {
        min_diameter: 16.0,
        max_diameter: 100.0,
        threshold: 0.5,
        ..DetectConfig::default()
    };
    let catalogue = [
        Crater {
            x: 20.0,
            y: 20.0,
            diameter: 20.0,
        }, // scored, found
        Crater {
            x: 80.0,
            y: 20.0,
            diameter: 30.0,
        }, // scored, missed
        Crater {
            x: 20.0,
            y: 80.0,
            diameter: 8.0,
        }, // too small: ignored
    ];
    let detections = [
        Detection::new(21.0, 20.0, 10.0, 0.9),  // finds the first
        Detection::new(20.0, 80.0, 4.5, 0.8),   // finds the small one: left out of the figures
        Detection::new(120.0, 120.0, 9.0, 0.7), // nothing there
        Detection::new(80.0, 20.0, 15.0, 0.3),  // finds the second, below the threshold
    ];
    let e = evaluate(&detections, &catalogue, &config.check().unwrap()).unwrap();
    assert_eq!(e.n_scored_craters, 2);
    assert_eq!(e.n_ignored_detections, 1);
    assert_eq!(e.found, vec![Some(true), None, Some(false), Some(true)]);
    assert_eq!(e.recalled, vec![true, false]);
    let p = e.report.at_threshold;
    assert_eq!(
        (p.true_positives, p.false_positives, p.false_negatives),
        (1, 1, 1)
    );
    assert_eq!(e.report.best.unwrap().true_positives, 2);
    // Overlay colours: found green, false red, missed blue, ignored not drawn.
    let tile = Tile::from_image(image::GrayImage::from_pixel(140, 140, image::Luma([100])));
    let scored: Vec<Circle> = catalogue[..2]
        .iter()
        .map(|c| Circle {
            x: c.x,
            y: c.y,
            r: c.diameter / 2.0,
        })
        .collect();
    let picture = overlay(&tile, &detections, Some((&e, &scored)), 0.5);
    assert_eq!(picture.get_pixel(31, 20).0, [0, 220, 0]); // right edge of detection 0
    assert_eq!(picture.get_pixel(129, 120).0, [255, 40, 40]); // detection 2
    assert_eq!(picture.get_pixel(95, 20).0, [40, 120, 255]); // crater 1, missed at 0.5
    assert_eq!(picture.get_pixel(25, 80).0, [100, 100, 100]); // ignored: not drawn
}

#[test]
fn bad_input_is_one_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (folder, model) = setup(dir.path());
    let out = dir.path().join("out");
    let tile = folder.tile_path("a");
    let catalogue = folder.catalogue_path("a");
    let fails = |model: &Path, tile: &Path, catalogue: Option<&Path>, config: &DetectConfig, needle: &str| {
        let err = config
            .check()
            .and_then(|config| detect_files(model, tile, catalogue, OutputParams::new(&out), &config))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        assert!(!out.exists());
        let hidden = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(hidden, 0, "no staging folder left after {err}");
    };
    let not_an_image = dir.path().join("tile.pgm");
    fs::write(&not_an_image, b"P5\n100 100\n255\n").unwrap();
    fails(
        &model,
        &not_an_image,
        None,
        &small(),
        "tile.pgm: unreadable image",
    );
    fails(
        &model,
        &dir.path().join("none.pgm"),
        None,
        &small(),
        "none.pgm: no such file",
    );
    let bad_catalogue = dir.path().join("gt.csv");
    fs::write(&bad_catalogue, "10,10,20\n10;10;20\n").unwrap();
    fails(
        &model,
        &tile,
        Some(&bad_catalogue),
        &small(),
        "gt.csv: line 2: 1 fields",
    );
    fails(&dir.path().join("bench"), &tile, None, &small(), "config.json");
    let wide = dir.path().join("wide");
    let config = SeedCnnConfig {
        input_size: 64,
        ..SeedCnnConfig::default()
    };
    CraterCnn::new(&config, 1).unwrap().save(&wide).unwrap();
    fails(
        &wide,
        &tile,
        Some(&catalogue),
        &small(),
        "the model takes 64 px images",
    );
    let inverted = DetectConfig {
        min_diameter: 50.0,
        max_diameter: 20.0,
        ..small()
    };
    fails(
        &model,
        &tile,
        None,
        &inverted,
        "detect config: max_diameter = 20: expected a finite number ≥ min_diameter",
    );
}

#[test]
fn a_settings_file_is_read_checked_and_its_faults_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("detect.toml");
    fs::write(&path, "min_diameter = 20.0\nthreshold = 0.8\n").unwrap();
    let config = DetectConfig::load(&path).unwrap();
    assert_eq!((config.min_diameter, config.threshold), (20.0, 0.8));
    assert_eq!(config.with_threshold(0.7).unwrap().threshold, 0.7);
    assert!(config.with_threshold(1.5).is_err());
    let load_err = |text: &str| {
        fs::write(&path, text).unwrap();
        DetectConfig::load(&path).unwrap_err().to_string()
    };
    let err = load_err("min_diametr = 20.0\n");
    assert!(
        err.contains("detect.toml") && err.contains("unknown field `min_diametr`"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
    assert_eq!(
        load_err("levels_per_octave = 0\n"),
        "detect config: levels_per_octave = 0: expected 1 to 64 levels per doubling of the diameter"
    );
    assert!(load_err("stride = 3.0\n").contains("stride = 3"));
    assert!(load_err("nms_radius_ratio = 0.5\n").contains("nms_radius_ratio = 0.5"));
    assert_eq!(
        load_err("border_margin = 2.5\n"),
        "detect config: border_margin = 2.5: expected a number of crater radii in [0, 2]"
    );
    assert!(load_err("border_margin = -0.1\n").contains("border_margin = -0.1"));
    let missing = DetectConfig::load(&dir.path().join("none.toml"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("none.toml"), "{missing}");
}

#[test]
fn a_border_margin_drops_the_hypotheses_centred_near_the_image_border() {
    let dir = tempfile::tempdir().unwrap();
    let (folder, model) = setup(dir.path());
    let tile = folder.tile("a").unwrap();
    let detector = Detector::load(&model).unwrap();
    let (w, h) = (tile.width(), tile.height());
    // Distance of a centre to the nearest border, in its radii.
    let margin = |d: &Detection| {
        let c = &d.circle;
        (c.x + 0.5)
            .min(c.y + 0.5)
            .min(w as f64 - 0.5 - c.x)
            .min(h as f64 - 0.5 - c.y)
            / c.r
    };
    // The hypotheses before suppression (the whole image as one core).
    let hypotheses = |border_margin: f64| {
        let config = DetectConfig {
            border_margin,
            ..small()
        };
        core_hypotheses(
            &detector.members,
            &ImageWindow::whole(tile.image()),
            (w, h),
            (0..w, 0..h),
            &config.check().unwrap(),
        )
        .unwrap()
    };
    let all = hypotheses(0.0);
    // The untrained network finds peaks everywhere, at the border too.
    assert!(
        all.iter().any(|d| margin(d) < 0.5),
        "no hypothesis near the border to drop"
    );
    let clear: Vec<Detection> = all.iter().filter(|d| margin(d) >= 0.5).copied().collect();
    assert_eq!(hypotheses(0.5), clear);
    // And the whole scan's detections keep clear of the border.
    let config = DetectConfig {
        border_margin: 0.5,
        ..small()
    };
    let found =
        detect_with_progress(&detector.members, &tile, &config.check().unwrap(), &NoProgress).unwrap();
    assert!(!found.detections.is_empty());
    assert!(found.detections.iter().all(|d| margin(d) >= 0.5));
}
