//! Detection on map-projected images: the catalogue files (craters.csv with longitude,
//! latitude and km, craters.scc, the shapefile pair, the CSFD), nodata, placement of plain
//! images, and ground sampling far from the detector's.

#[path = "../../../tests/support/geotiff_fixtures.rs"]
mod geotiff_fixtures;

use geotiff_fixtures::{NODATA_PIXELS, fixture};
use std::fs;
use std::path::{Path, PathBuf};

use craters_dataset::{GeoImage, OutputParams};
use craters_detect::{
    DetectConfig, DetectSummary, Detector, NoProgress, PlacementParams, ValidDetectConfig, run,
};
use craters_model::{CraterCnn, SeedCnnConfig};

/// An untrained network scores near 0.5: keep every peak, report the strongest.
fn small() -> ValidDetectConfig {
    DetectConfig {
        min_diameter: 16.0,
        max_diameter: 32.0,
        min_score: 0.0,
        threshold: 0.0,
        ..DetectConfig::default()
    }
    .check()
    .unwrap()
}

fn model(dir: &Path, card: Option<&str>) -> Detector {
    let path = dir.join("model");
    CraterCnn::new(&SeedCnnConfig::default(), 3)
        .unwrap()
        .save(&path)
        .unwrap();
    if let Some(card) = card {
        fs::write(path.join("card.toml"), card).unwrap();
    }
    Detector::load(&path).unwrap()
}

const CARD: &str = "name = \"test\"\ntrained_on = \"nothing\"\nground_sampling_m = 12.5\ninput = \"gray\"\nsmallest_reliable_diameter_m = 250.0\nthreshold = 0.0\n";

fn detect(
    detector: &Detector,
    image: &Path,
    placement: &PlacementParams,
    out: &Path,
) -> craters_detect::Result<DetectSummary> {
    run(
        detector,
        image,
        None,
        placement,
        OutputParams::new(out),
        &small(),
        &NoProgress,
    )
}

/// The 8-bit pixels of the image `from` saved as the plain image `to`.
fn as_pgm(from: &Path, to: &Path) -> PathBuf {
    GeoImage::load(from).unwrap().tile.image().save(to).unwrap();
    to.into()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_geotiff_gives_the_pgm_detections_placed_on_mars() {
    let dir = tempfile::tempdir().unwrap();
    let detector = model(dir.path(), Some(CARD));
    let tif = fixture("equirectangular.tif");
    // The same pixels as a plain PGM.
    let pgm = as_pgm(&tif, &dir.path().join("equirectangular.pgm"));
    let geo = detect(
        &detector,
        &tif,
        &PlacementParams::default(),
        &dir.path().join("geo"),
    )
    .unwrap();
    let plain = detect(
        &detector,
        &pgm,
        &PlacementParams::default(),
        &dir.path().join("plain"),
    )
    .unwrap();
    assert_eq!(
        read(&dir.path().join("geo/hypotheses.csv")),
        read(&dir.path().join("plain/hypotheses.csv"))
    );
    assert!(!geo.craters.is_empty());
    assert_eq!(geo.craters.len(), plain.craters.len());
    let g = geo.placement.georeference().unwrap();
    for (a, b) in geo.craters.iter().zip(&plain.craters) {
        assert_eq!((a.x_px, a.y_px, a.r_px), (b.x_px, b.y_px, b.r_px));
        assert_eq!(a.lonlat, g.lonlat(a.x_px, a.y_px));
        let d = a.diameter_km.unwrap();
        // 12.5 m/px, up to the stretch of rows away from the standard parallel (±0.01°).
        assert!(
            (d / (2.0 * a.r_px * 0.0125) - 1.0).abs() < 1e-4,
            "{d} for r {}",
            a.r_px
        );
        assert!(b.lonlat.is_none() && b.diameter_km.is_none());
    }
    // Counted area: 160 × 120 pixels of 12.5 m at the standard parallel.
    let km2 = geo.area.km2.unwrap();
    assert!((km2 - 160.0 * 120.0 * 0.0125 * 0.0125).abs() < 1e-3, "{km2}");
    let out = dir.path().join("geo");
    let csv = read(&out.join("craters.csv"));
    let first = csv.lines().nth(1).unwrap();
    let fields: Vec<f64> = first.split(',').map(|f| f.parse().unwrap()).collect();
    assert_eq!(fields.len(), 7);
    // The crop lies around 48° W, 5° N.
    assert!(
        (fields[3] + 48.0).abs() < 0.02 && (fields[4] - 5.0).abs() < 0.02,
        "{first}"
    );
    let scc = read(&out.join("craters.scc"));
    assert!(scc.contains("a_axis_radius = 3396.19 <km>"), "{scc}");
    assert!(scc.contains(&format!("Total_area = {km2:.6} <km^2>")));
    assert_eq!(
        scc.lines().skip_while(|l| !l.starts_with("crater = {")).count(),
        geo.craters.len() + 2
    );
    for file in [
        "equirectangular_CRATER.shp",
        "equirectangular_CRATER.shx",
        "equirectangular_CRATER.dbf",
        "equirectangular_AREA.shp",
        "csfd.png",
    ] {
        assert!(fs::metadata(out.join(file)).unwrap().len() > 100, "{file}");
    }
    assert!(read(&out.join("equirectangular_CRATER.prj")).contains("GCS_Mars_2000_Sphere"));
    // Every crater is counted, and diameters below the card's 250 m are marked.
    let csfd = read(&out.join("csfd.csv"));
    let rows: Vec<Vec<&str>> = csfd.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][4].parse::<usize>().unwrap(), geo.craters.len());
    for row in &rows {
        let reliable = row[1].parse::<f64>().unwrap() >= 0.25 - 1e-9;
        assert_eq!(row[7], reliable.to_string(), "{row:?}");
    }
    // The catalogue files alone, from the detections and the area's row spans (a mosaic
    // scanned window by window), are those of the run.
    let spans: Vec<Option<(usize, usize, usize)>> = (0..120).map(|_| Some((0, 159, 160))).collect();
    let area = craters_detect::CountedArea::from_spans(&spans, 160, &geo.placement);
    assert_eq!(area, geo.area);
    let kept: Vec<_> = geo
        .detections
        .detections
        .iter()
        .filter(|d| d.score >= small().threshold)
        .copied()
        .collect();
    let alone = dir.path().join("alone");
    let files = craters_detect::write_catalogue_files(
        OutputParams::new(&alone),
        "equirectangular",
        &kept,
        &area,
        &geo.placement,
        0.25,
    )
    .unwrap();
    assert!(
        files.contains(&"equirectangular_CRATER.shp".to_string()),
        "{files:?}"
    );
    for file in [
        "craters.csv",
        "craters.scc",
        "csfd.csv",
        "equirectangular_CRATER.dbf",
    ] {
        assert_eq!(
            fs::read(out.join(file)).unwrap(),
            fs::read(alone.join(file)).unwrap(),
            "{file}"
        );
    }
    // Deterministic.
    detect(
        &detector,
        &tif,
        &PlacementParams::default(),
        &dir.path().join("again"),
    )
    .unwrap();
    for file in [
        "craters.csv",
        "craters.scc",
        "csfd.csv",
        "csfd.png",
        "equirectangular_CRATER.shp",
        "equirectangular_CRATER.dbf",
    ] {
        assert_eq!(
            fs::read(out.join(file)).unwrap(),
            fs::read(dir.path().join("again").join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn nodata_is_never_part_of_a_crater_nor_of_the_area() {
    let dir = tempfile::tempdir().unwrap();
    let detector = model(dir.path(), Some(CARD));
    let tif = fixture("float32_tiled_nodata.tif");
    let image = GeoImage::load(&tif).unwrap();
    let summary = detect(
        &detector,
        &tif,
        &PlacementParams::default(),
        &dir.path().join("out"),
    )
    .unwrap();
    assert!(!summary.detections.detections.is_empty());
    for d in &summary.detections.detections {
        assert!(image.disc_is_valid(d.circle.x, d.circle.y, d.circle.r), "{d:?}");
    }
    // The same scan without the mask finds craters on the collar: the mask removed them.
    let pgm = dir.path().join("filled.pgm");
    image.tile.image().save(&pgm).unwrap();
    let unmasked = detect(
        &detector,
        &pgm,
        &PlacementParams::default(),
        &dir.path().join("unmasked"),
    )
    .unwrap();
    assert!(
        unmasked
            .detections
            .detections
            .iter()
            .any(|d| !image.disc_is_valid(d.circle.x, d.circle.y, d.circle.r))
    );
    assert_eq!(summary.area.pixels, 160 * 120 - NODATA_PIXELS);
    let km2 = summary.area.km2.unwrap();
    assert!(
        (km2 - (160.0 * 120.0 - NODATA_PIXELS as f64) * 0.0125 * 0.0125).abs() < 1e-3,
        "{km2}"
    );
    // The outline leaves the 20-column collar out.
    assert!(summary.area.outline_px.iter().all(|&(x, _)| x >= 19.5));
}

#[test]
fn plain_images_are_placed_by_pixel_size_and_centre() {
    let dir = tempfile::tempdir().unwrap();
    let detector = model(dir.path(), Some(CARD));
    let pgm = as_pgm(&fixture("equirectangular.tif"), &dir.path().join("plain.pgm"));
    let scaled = PlacementParams {
        pixel_size_m: Some(12.5),
        ..PlacementParams::default()
    };
    let summary = detect(&detector, &pgm, &scaled, &dir.path().join("scaled")).unwrap();
    assert!(
        summary
            .craters
            .iter()
            .all(|c| c.lonlat.is_none() && c.diameter_km.is_some())
    );
    assert!(dir.path().join("scaled/csfd.png").is_file());
    assert!(
        !dir.path().join("scaled/craters.scc").exists(),
        "no positions, no .scc"
    );
    let placed = PlacementParams {
        pixel_size_m: Some(12.5),
        centre_lonlat: Some((-48.0, 5.0)),
        ..PlacementParams::default()
    };
    let summary = detect(&detector, &pgm, &placed, &dir.path().join("placed")).unwrap();
    let (lon, lat) = summary.placement.lonlat(79.5, 59.5).unwrap();
    assert!((lon + 48.0).abs() < 1e-9 && (lat - 5.0).abs() < 1e-9);
    assert!(dir.path().join("placed/craters.scc").is_file());
    assert!(dir.path().join("placed/plain_CRATER.shp").is_file());
}

#[test]
fn far_off_ground_sampling_is_rescaled_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let detector = model(dir.path(), Some(CARD));
    let pgm = as_pgm(&fixture("equirectangular.tif"), &dir.path().join("plain.pgm"));
    let at = |metres: f64, any_gsd: bool| PlacementParams {
        pixel_size_m: Some(metres),
        any_gsd,
        ..PlacementParams::default()
    };
    // 6.25 m/px: the same ground sizes are twice as many pixels.
    let summary = detect(&detector, &pgm, &at(6.25, false), &dir.path().join("fine")).unwrap();
    assert_eq!(summary.size_factor, 2.0);
    assert!(
        summary.notes.iter().any(|n| n.contains("32.0–64.0 px")),
        "{:?}",
        summary.notes
    );
    assert!(summary.detections.detections.iter().all(|d| d.circle.r >= 16.0));
    // 12.0 m/px is close enough: nothing rescaled.
    assert_eq!(
        detect(&detector, &pgm, &at(12.0, false), &dir.path().join("near"))
            .unwrap()
            .size_factor,
        1.0
    );
    // 100 m/px is 8 × off: refused in one line, nothing written; with --any-gsd, scanned.
    let out = dir.path().join("coarse");
    let e = detect(&detector, &pgm, &at(100.0, false), &out)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("plain.pgm") && e.contains("8.00 ×") && e.contains("--any-gsd"),
        "{e}"
    );
    assert!(!e.contains('\n') && !out.exists());
    let summary = detect(&detector, &pgm, &at(100.0, true), &out).unwrap();
    assert_eq!(summary.size_factor, 0.125);
}

#[test]
fn placement_that_cannot_be_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let detector = model(dir.path(), None);
    let tif = fixture("equirectangular.tif");
    let out = dir.path().join("out");
    let cases = [
        (
            tif.clone(),
            PlacementParams {
                pixel_size_m: Some(10.0),
                ..PlacementParams::default()
            },
            "the image is georeferenced",
        ),
        (
            fixture("plain.tif"),
            PlacementParams {
                centre_lonlat: Some((0.0, 0.0)),
                ..PlacementParams::default()
            },
            "--lon and --lat need --pixel-size",
        ),
        (
            fixture("plain.tif"),
            PlacementParams {
                pixel_size_m: Some(-3.0),
                ..PlacementParams::default()
            },
            "--pixel-size -3: expected a positive number",
        ),
        (
            fixture("mercator.tif"),
            PlacementParams::default(),
            "unsupported projection Mercator",
        ),
    ];
    for (image, placement, needle) in cases {
        let e = detect(&detector, &image, &placement, &out)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(needle) && !e.contains('\n'),
            "{e:?} should say {needle:?}"
        );
        assert!(!out.exists());
    }
    // A TIFF without georeferencing is detected in pixels, and says so.
    let summary = detect(
        &detector,
        &fixture("plain.tif"),
        &PlacementParams::default(),
        &out,
    )
    .unwrap();
    assert!(summary.notes.iter().any(|n| n.contains("no georeferencing")));
    assert!(summary.craters.iter().all(|c| c.lonlat.is_none()));
}
