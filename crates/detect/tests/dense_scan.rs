//! The fully convolutional scan against the per-window reference, and big images in
//! pieces: the detections do not depend on how the image is cut.

use craters_dataset::Tile;
use craters_detect::{DetectConfig, ScanMethod, TileDetections, detect};
use craters_model::{CraterCnn, InputNorm, SeedCnnConfig};
use image::GrayImage;

/// Dark bowls with a lit rim on textured ground, so that scores vary over the image.
fn image(width: u32, height: u32) -> Tile {
    let bowls = [
        (60.0, 70.0, 14.0),
        (151.0, 96.0, 9.0),
        (230.0, 180.0, 20.0),
        (99.0, 201.0, 7.0),
    ];
    Tile::from_image(GrayImage::from_fn(width, height, |x, y| {
        let (x, y) = (f64::from(x), f64::from(y));
        let mut v = 110.0 + 12.0 * (x / 9.0).sin() * (y / 13.0).cos() + ((x * 7.0 + y * 3.0) % 11.0);
        for &(cx, cy, r) in &bowls {
            let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() / r;
            if d < 1.0 {
                v -= 40.0 * (1.0 - d * d) - 30.0 * (x - cx) / r;
            }
        }
        image::Luma([v.clamp(0.0, 255.0) as u8])
    }))
}

fn model(input_norm: InputNorm) -> CraterCnn {
    let config = SeedCnnConfig {
        input_norm,
        ..SeedCnnConfig::default()
    };
    CraterCnn::new(&config, 11).unwrap()
}

fn config(scan: ScanMethod, piece: usize) -> DetectConfig {
    DetectConfig {
        min_diameter: 10.0,
        max_diameter: 40.0,
        // An untrained network scores near 0.5: keep every peak.
        min_score: 0.0,
        scan,
        piece,
        ..DetectConfig::default()
    }
}

fn run(model: &CraterCnn, tile: &Tile, scan: ScanMethod, piece: usize) -> TileDetections {
    detect(model, tile, &config(scan, piece).check().unwrap()).unwrap()
}

/// Same circles (to 1e-9 px) and scores (to `tolerance`), in the same order.
fn assert_same(a: &TileDetections, b: &TileDetections, tolerance: f64, what: &str) {
    assert_eq!(a.windows, b.windows, "{what}: windows");
    assert_eq!(a.detections.len(), b.detections.len(), "{what}: detections");
    assert!(a.detections.len() > 20, "{what}: too few detections to compare");
    for (x, y) in a.detections.iter().zip(&b.detections) {
        assert!(
            (x.circle.x - y.circle.x).abs() < 1e-4
                && (x.circle.y - y.circle.y).abs() < 1e-4
                && x.circle.r == y.circle.r
                && (x.score - y.score).abs() < tolerance,
            "{what}: {x:?} against {y:?}"
        );
    }
}

#[test]
fn dense_and_per_window_scans_give_the_same_detections() {
    let tile = image(300, 260);
    for norm in [InputNorm::Raw, InputNorm::PerTile, InputNorm::Local] {
        let model = model(norm);
        let dense = run(&model, &tile, ScanMethod::Dense, 2048);
        let windows = run(&model, &tile, ScanMethod::Windows, 2048);
        assert_eq!(
            (dense.method, windows.method),
            (ScanMethod::Dense, ScanMethod::Windows)
        );
        assert_same(&dense, &windows, 1e-5, &format!("{norm:?}"));
        // Auto picks the dense pass for these models.
        assert_eq!(
            run(&model, &tile, ScanMethod::Auto, 2048).method,
            ScanMethod::Dense
        );
    }
}

#[test]
fn per_image_models_scan_window_by_window_and_refuse_the_dense_pass() {
    let tile = image(120, 100);
    let model = model(InputNorm::PerImage);
    assert_eq!(
        run(&model, &tile, ScanMethod::Auto, 2048).method,
        ScanMethod::Windows
    );
    let err = detect(&model, &tile, &config(ScanMethod::Dense, 2048).check().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("per_image"), "{err}");
}

#[test]
fn detections_do_not_depend_on_the_piece_size() {
    let tile = image(300, 260);
    for norm in [InputNorm::Raw, InputNorm::Local] {
        let model = model(norm);
        let whole = run(&model, &tile, ScanMethod::Dense, 2048);
        assert_eq!(whole.pieces, 1);
        for piece in [64, 100, 150] {
            let cut = run(&model, &tile, ScanMethod::Dense, piece);
            assert!(cut.pieces > 1);
            // The same level pixels and windows; the scores may differ in the last bits
            // (the gemm's blocking follows the strip width).
            assert_same(&whole, &cut, 1e-5, &format!("{norm:?}, piece {piece}"));
        }
        // The per-window path, in pieces, too.
        let windows = run(&model, &tile, ScanMethod::Windows, 100);
        assert_same(
            &whole,
            &windows,
            1e-5,
            &format!("{norm:?}, per window, piece 100"),
        );
    }
}

#[test]
fn a_crater_across_a_piece_border_is_found_once() {
    // The bowl at (151, 96), radius 9, lies across the border x = 150 of pieces of 150.
    let tile = image(300, 260);
    let model = model(InputNorm::Raw);
    let cut = run(&model, &tile, ScanMethod::Dense, 150);
    let whole = run(&model, &tile, ScanMethod::Dense, 2048);
    let near = |t: &TileDetections| -> Vec<(f64, f64, f64)> {
        let mut v: Vec<_> = t
            .detections
            .iter()
            .filter(|d| (d.circle.x - 151.0).abs() < 12.0 && (d.circle.y - 96.0).abs() < 12.0)
            .map(|d| (d.circle.x, d.circle.y, d.circle.r))
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    };
    assert!(!near(&whole).is_empty(), "hypotheses at the border crater");
    assert_eq!(
        near(&cut).len(),
        near(&whole).len(),
        "one hypothesis per window, not one per piece"
    );
    // Every hypothesis at most once: no two detections share a centre and radius.
    let mut all: Vec<_> = cut
        .detections
        .iter()
        .map(|d| (d.circle.x.to_bits(), d.circle.y.to_bits(), d.circle.r.to_bits()))
        .collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n);
}

#[test]
fn a_piece_size_out_of_range_is_named() {
    for piece in [0, 63, 16_385] {
        let err = config(ScanMethod::Auto, piece).check().unwrap_err().to_string();
        assert!(err.contains("piece") && err.contains("64 to 16384"), "{err}");
    }
}
