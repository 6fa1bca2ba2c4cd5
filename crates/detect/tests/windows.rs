//! A mosaic scanned window by window (one task each, anywhere): the cores' hypotheses,
//! concatenated and suppressed, are exactly the detections of one scan of the whole image.

#[path = "../../../tests/support/geotiff_fixtures.rs"]
mod geotiff_fixtures;

use geotiff_fixtures::fixture;
use std::ops::Range;

use craters_dataset::{GeoImage, Tile};
use craters_detect::{
    DetectConfig, Detector, Error, ImageWindow, ValidDetectConfig, core_hypotheses, core_source, detect,
    suppress_overlaps,
};
use craters_model::{CraterCnn, InputNorm, SeedCnnConfig};
use image::GrayImage;

fn tile() -> Tile {
    GeoImage::load(&fixture("equirectangular.tif")).unwrap().tile
}

fn config(piece: usize) -> ValidDetectConfig {
    DetectConfig {
        min_diameter: 16.0,
        max_diameter: 48.0,
        min_score: 0.3,
        piece,
        ..DetectConfig::default()
    }
    .check()
    .unwrap()
}

/// The cores' hypotheses, each scored from exactly the window `core_source` names.
fn by_windows(
    model: &CraterCnn,
    image: &GrayImage,
    cores: &[(Range<usize>, Range<usize>)],
    config: &ValidDetectConfig,
) -> Vec<craters_metrics::detection::Detection> {
    let size = (image.width() as usize, image.height() as usize);
    let mut all = Vec::new();
    for core in cores {
        let (cols, rows) = core_source(std::slice::from_ref(model), config, size, core.clone()).unwrap();
        let pixels = image::imageops::crop_imm(
            image,
            cols.start as u32,
            rows.start as u32,
            cols.len() as u32,
            rows.len() as u32,
        )
        .to_image();
        let window = ImageWindow {
            pixels: &pixels,
            x0: cols.start,
            y0: rows.start,
        };
        all.extend(
            core_hypotheses(std::slice::from_ref(model), &window, size, core.clone(), config).unwrap(),
        );
    }
    suppress_overlaps(&all, config.nms_overlap, config.nms_radius_ratio)
}

fn grid(w: usize, h: usize, xs: &[usize], ys: &[usize]) -> Vec<(Range<usize>, Range<usize>)> {
    let cuts = |side: usize, at: &[usize]| -> Vec<Range<usize>> {
        let mut edges = vec![0];
        edges.extend(at);
        edges.push(side);
        edges.windows(2).map(|e| e[0]..e[1]).collect()
    };
    let (cols, rows) = (cuts(w, xs), cuts(h, ys));
    rows.iter()
        .flat_map(|r| cols.iter().map(move |c| (c.clone(), r.clone())))
        .collect()
}

#[test]
fn cores_that_partition_the_image_give_the_whole_scan() {
    let tile = tile();
    let (w, h) = (tile.width(), tile.height());
    let shipped = Detector::shipped().unwrap().members.remove(0);
    let raw = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    for model in [&shipped, &raw] {
        for piece in [64, 2048] {
            let config = config(piece);
            let whole = detect(model, &tile, &config).unwrap().detections;
            assert!(whole.len() > 3, "{}", whole.len());
            for cores in [
                grid(w, h, &[70], &[55]),
                grid(w, h, &[33, 101, 102], &[90]),
                grid(w, h, &[], &[]),
            ] {
                let windows = by_windows(model, tile.image(), &cores, &config);
                assert_eq!(windows, whole, "{} cores, piece {piece}", cores.len());
            }
        }
    }
}

#[test]
fn a_core_needs_a_margin_and_a_window_without_it_is_named() {
    let tile = tile();
    let size = (tile.width(), tile.height());
    let model = Detector::shipped().unwrap().members.remove(0);
    let config = config(2048);
    let core = (40..80, 30..60);
    let (cols, rows) = core_source(std::slice::from_ref(&model), &config, size, core.clone()).unwrap();
    // The largest window (48 px craters: 107 px blocks) and the local square reach past the core.
    assert!(
        cols.start < 40 && cols.end > 80 && rows.start < 30 && rows.end > 60,
        "{cols:?} {rows:?}"
    );
    // The core alone is not enough.
    let pixels = image::imageops::crop_imm(tile.image(), 40, 30, 40, 30).to_image();
    let window = ImageWindow {
        pixels: &pixels,
        x0: 40,
        y0: 30,
    };
    let e = core_hypotheses(std::slice::from_ref(&model), &window, size, core, &config).unwrap_err();
    assert!(matches!(e, Error::WindowTooSmall { .. }), "{e}");
    assert!(e.to_string().contains("core_source"), "{e}");
    // A core off the image, and a model that needs the whole image, are refused.
    let whole = ImageWindow::whole(tile.image());
    let e = core_hypotheses(
        std::slice::from_ref(&model),
        &whole,
        size,
        (100..200, 0..10),
        &config,
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not inside the 160 × 120 image"), "{e}");
    let per_tile = CraterCnn::new(
        &SeedCnnConfig {
            input_norm: InputNorm::PerTile,
            ..SeedCnnConfig::default()
        },
        1,
    )
    .unwrap();
    let e = core_hypotheses(
        std::slice::from_ref(&per_tile),
        &whole,
        size,
        (0..10, 0..10),
        &config,
    )
    .unwrap_err();
    assert!(matches!(e, Error::NeedsWholeImage), "{e}");
}
