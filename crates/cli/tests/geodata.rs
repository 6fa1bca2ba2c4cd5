//! `craters detect` on real orbital image formats: a GeoTIFF in, the catalogue files out,
//! with the shipped detector; bad GeoTIFFs and impossible placements are one line each and
//! leave nothing behind; the independent readers' check (GDAL, PROJ, craterstats).

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_one_line, craters, geotiff, model, s, shared};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_geotiff_goes_through_with_the_shipped_detector() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("found");
    let image = geotiff("equirectangular.tif");
    let run = craters(&["detect", s(&image), "--out", s(&out)]);
    assert!(run.status.success(), "{}", stderr(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("with models/hrsc-detector"), "{stdout}");
    assert!(
        stdout.contains("12.50 m/px at the centre; counted area 3.00 km²"),
        "{stdout}"
    );
    assert!(
        stderr(&run).contains("note: placed by its geo tags: equirectangular"),
        "{}",
        stderr(&run)
    );
    for file in [
        "craters.csv",
        "craters.scc",
        "csfd.csv",
        "csfd.png",
        "equirectangular_CRATER.shp",
        "equirectangular_AREA.shp",
        "equirectangular_AREA.prj",
        "metrics.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["model_card"]["ground_sampling_m"], 12.5);
    assert_eq!(metrics["threshold"], metrics["model_card"]["threshold"]);
    assert_eq!(metrics["placement"]["projection"]["kind"], "equirectangular");
}

#[test]
fn a_plain_image_takes_a_pixel_size_and_a_centre() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let out = dir.path().join("found");
    let tif = geotiff("plain.tif");
    let run = craters(&[
        "detect",
        s(&tif),
        "--model",
        s(&model),
        "--out",
        s(&out),
        "--pixel-size",
        "12.5",
        "--lon",
        "-48",
        "--lat",
        "5",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("no georeferencing tags"),
        "{}",
        stderr(&run)
    );
    assert!(out.join("craters.scc").is_file() && out.join("plain_CRATER.shp").is_file());
    // Without --pixel-size: pixels only, said on stdout.
    let bare = dir.path().join("bare");
    let run = craters(&["detect", s(&tif), "--model", s(&model), "--out", s(&bare)]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("no georeferencing: positions and sizes in pixels")
    );
    assert!(!bare.join("craters.scc").exists());
}

#[test]
fn bad_geotiffs_and_placements_are_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let truncated = dir.path().join("truncated.tif");
    let bytes = std::fs::read(geotiff("uint16_nodata.tif")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let pgm = dir.path().join("plain.pgm");
    craters_dataset::GeoImage::load(&geotiff("equirectangular.tif"))
        .unwrap()
        .tile
        .image()
        .save(&pgm)
        .unwrap();
    let out = dir.path().join("out");
    let cases: [(&Path, &[&str], &str); 7] = [
        (
            &geotiff("mercator.tif"),
            &[],
            "unsupported projection Mercator (ProjCoordTransGeoKey 7)",
        ),
        (
            &geotiff("earth.tif"),
            &[],
            "GeographicTypeGeoKey EPSG:4326 is an Earth datum",
        ),
        (&truncated, &[], "corrupt or truncated TIFF"),
        (&geotiff("huge.tif"), &[], "a 60000 × 60000 image is larger than"),
        (&geotiff("blank.tif"), &[], "every pixel is nodata"),
        (&pgm, &["--pixel-size", "100"], "8.00 × the detector's 12.5 m/px"),
        (
            &geotiff("equirectangular.tif"),
            &["--pixel-size", "10"],
            "the image is georeferenced",
        ),
    ];
    for (image, extra, needle) in cases {
        // The shipped detector has a card (12.5 m/px); the untrained model has none.
        let mut args = vec!["detect", s(image), "--out", s(&out)];
        if !needle.contains("12.5 m/px") {
            args.extend(["--model", s(&model)]);
        }
        args.extend(extra);
        let run = craters(&args);
        assert_one_line(&run, needle);
        assert!(
            stderr(&run).contains(image.file_name().unwrap().to_str().unwrap()),
            "{}",
            stderr(&run)
        );
        assert!(!out.exists(), "nothing written for {needle}");
    }
    // --lon without --lat is refused by the parser.
    let run = craters(&["detect", s(&pgm), "--out", s(&out), "--lon", "3"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(!out.exists());
}

/// GDAL (rasterio, pyogrio), PROJ (pyproj) and craterstats read what `craters detect`
/// wrote and agree with craters.csv (tools/check_readers.py). Needs a Python with those
/// packages: .ci/run makes one and names it in CRATERS_READERS_PYTHON.
#[test]
fn gis_and_crater_counting_tools_read_the_catalogue() {
    let Some(python) = std::env::var_os("CRATERS_READERS_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CRATERS_READERS_PYTHON is unset; .ci/run sets it to the readers' virtual environment"
        );
        eprintln!(
            "skipped: set CRATERS_READERS_PYTHON to a Python with tools/readers-requirements.txt installed"
        );
        return;
    };
    let Some(tile) = shared("data/hrsc/tiles/tile3_24.pgm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/check_readers.py");
    let run = Command::new(python)
        .arg(script)
        .args([
            "--craters",
            env!("CARGO_BIN_EXE_craters"),
            "--tile",
            s(&tile),
            "--work",
            s(dir.path()),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(run.status.success(), "{stdout}\n{}", stderr(&run));
    assert!(stdout.contains("readers: 22 passed, 0 failed"), "{stdout}");
}

/// The shipped detector scores tile 3_24 at the figures its card states (a training tile of
/// the shipped detector: the check that the committed model is the one its card describes;
/// the held-out figures are the card's leave-one-out table).
#[test]
fn the_shipped_detector_scores_what_its_card_states() {
    let (Some(tile), Some(catalogue)) = (
        shared("data/hrsc/tiles/tile3_24.pgm"),
        shared("data/hrsc/gt/3_24_gt.csv"),
    ) else {
        return;
    };
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/hrsc-detector");
    let card = std::fs::read_to_string(models.join("README.md")).unwrap();
    let threshold = std::fs::read_to_string(models.join("card.toml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("threshold = ").map(str::to_string))
        .expect("the card's threshold");
    // | 0.798 (card) | precision | recall | F1 | AP |
    let row = card
        .lines()
        .find(|l| l.starts_with(&format!("| {threshold} (card) |")))
        .expect("the card's figure row");
    let figures: Vec<&str> = row.split('|').map(str::trim).filter(|f| !f.is_empty()).collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("found");
    let run = craters(&["detect", s(&tile), "--catalogue", s(&catalogue), "--out", s(&out)]);
    assert!(run.status.success(), "{}", stderr(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let expected = format!(
        "at score ≥ {threshold}: precision {}, recall {}, F1 {}",
        figures[1], figures[2], figures[3]
    );
    assert!(stdout.contains(&expected), "{stdout}\nshould contain {expected}");
    assert!(stdout.contains(&format!("AP {}", figures[4])), "{stdout}");
}
