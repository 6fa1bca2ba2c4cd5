//! GeoTIFFs with GDAL's tags (tests/support/geotiff_fixtures.rs): pixels, nodata and
//! georeferencing read as GDAL and PROJ read them; bad files are one clear error each.

mod common;
#[path = "../../../tests/support/geotiff_fixtures.rs"]
mod geotiff_fixtures;

use common::shared;
use geotiff_fixtures::{NODATA_PIXELS, fixture};
use std::path::Path;

use craters_dataset::{Error, GeoImage, Projection, read_geotiff};

/// Longitude and latitude of the pixel centres (10, 20) and (150, 110) of the same rasters
/// written by GDAL (tools/make_geotiff.py --crop 700 800 160 120, rasterio 1.4.4), from
/// rasterio's transform and pyproj 3.7.2 (PROJ 9.5.1).
const EXPECTED: [(&str, [(f64, f64); 2]); 3] = [
    (
        "equirectangular.tif",
        [(-48.0147123228, 5.0083298611), (-47.9850759891, 4.9893504307)],
    ),
    (
        "sinusoidal.tif",
        [(-48.0147125101, 5.0083298611), (-47.9850762315, 4.9893504307)],
    ),
    (
        "geographic.tif",
        [(-48.0146563380, 5.0083298611), (-47.9851327795, 4.9893504307)],
    ),
];

#[test]
fn positions_match_proj_for_each_projection() {
    for (name, points) in EXPECTED {
        let image = GeoImage::load(&fixture(name)).unwrap();
        assert_eq!((image.tile.width(), image.tile.height()), (160, 120), "{name}");
        assert!(image.valid.is_none(), "{name}");
        let g = image
            .georef
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no georeference"));
        assert!((g.radius_m - 3_396_190.0).abs() < 1e-6, "{name}");
        for ((x, y), (lon, lat)) in [(10.0, 20.0), (150.0, 110.0)].into_iter().zip(points) {
            let (got_lon, got_lat) = g.lonlat(x, y).unwrap();
            assert!(
                (got_lon - lon).abs() < 1e-9 && (got_lat - lat).abs() < 1e-9,
                "{name} ({x}, {y}): {got_lon}, {got_lat}; PROJ says {lon}, {lat}"
            );
        }
        // 12.5 m pixels at the centre; a geographic grid's rows are 12.5 m at the equator,
        // so 12.5 cos 5° m here.
        let (along_row, along_column) = g.ground_steps_m(80.0, 60.0).unwrap();
        let row = if name == "geographic.tif" {
            12.5 * 5f64.to_radians().cos()
        } else {
            12.5
        };
        assert!(
            (along_row - row).abs() < 0.01 && (along_column - 12.5).abs() < 0.01,
            "{name}: {along_row} × {along_column} m"
        );
    }
    let sinusoidal = read_geotiff(&fixture("sinusoidal.tif")).unwrap();
    assert!(matches!(
        sinusoidal.georef.unwrap().projection,
        Projection::Sinusoidal { centre_lon } if centre_lon == -48.0
    ));
    let equirect = read_geotiff(&fixture("equirectangular.tif")).unwrap();
    assert!(matches!(
        equirect.georef.unwrap().projection,
        Projection::Equirectangular { standard_parallel, .. } if standard_parallel == 5.0
    ));
}

#[test]
fn the_same_gray_values_in_every_projection() {
    let reference = GeoImage::load(&fixture("equirectangular.tif")).unwrap();
    assert_eq!(reference.samples, "uint8");
    for name in ["sinusoidal.tif", "geographic.tif"] {
        let other = GeoImage::load(&fixture(name)).unwrap();
        assert_eq!(
            other.tile.image().as_raw(),
            reference.tile.image().as_raw(),
            "{name}"
        );
    }
    // The fixtures are a crop of the shared tile 3_24 (columns 700.., rows 800..).
    if let Some(tile) = shared("data/hrsc/tiles/tile3_24.pgm") {
        let tile = craters_dataset::Tile::load(&tile).unwrap();
        let crop = image::imageops::crop_imm(tile.image(), 700, 800, 160, 120).to_image();
        assert_eq!(crop.as_raw(), reference.tile.image().as_raw());
    }
}

#[test]
fn wider_samples_and_nodata_are_stretched_and_masked() {
    // uint16 = 10 × gray + 1000 (striped), float32 = gray / 255 (tiled 256², deflate): both
    // with the same nodata collar (20 columns and a corner triangle: 2,610 pixels).
    let u16 = GeoImage::load(&fixture("uint16_nodata.tif")).unwrap();
    let f32 = GeoImage::load(&fixture("float32_tiled_nodata.tif")).unwrap();
    assert_eq!(
        (u16.samples.as_str(), f32.samples.as_str()),
        ("uint16", "float32")
    );
    assert_eq!(u16.nodata, Some(0.0));
    for image in [&u16, &f32] {
        assert_eq!(image.valid_pixels, 160 * 120 - NODATA_PIXELS);
        let valid = image.valid.as_ref().unwrap();
        assert!(!image.is_valid(0, 60) && !image.is_valid(159, 0) && image.is_valid(80, 60));
        assert_eq!(valid.iter().filter(|&&v| !v).count(), NODATA_PIXELS);
        assert!(
            image.notes.iter().any(|n| n.contains("stretched to 8 bits")),
            "{:?}",
            image.notes
        );
        assert!(
            image
                .notes
                .iter()
                .any(|n| n.contains(&format!("{NODATA_PIXELS} nodata pixels"))),
            "{:?}",
            image.notes
        );
        // A crater disc touching the collar does not count; one inside does.
        assert!(!image.disc_is_valid(25.0, 60.0, 8.0));
        assert!(image.disc_is_valid(80.0, 60.0, 8.0));
    }
    // Both are affine maps of the same gray values, so standardised they agree (up to the
    // rounding of float32 near .5).
    let (a, b) = (u16.tile.image().as_raw(), f32.tile.image().as_raw());
    let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
    assert!(a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= 1));
    assert!(differ < 20, "{differ} pixels differ");
    // Standardised: the valid pixels' mean is 128 give or take the rounding, their spread 32.
    let mask = u16.valid.as_ref().unwrap();
    let values: Vec<f64> = a
        .iter()
        .zip(mask)
        .filter(|(_, ok)| **ok)
        .map(|(p, _)| f64::from(*p))
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    assert!(
        (mean - 128.0).abs() < 1.0 && (std - 32.0).abs() < 1.5,
        "{mean} {std}"
    );
}

#[test]
fn a_tiff_without_georeferencing_falls_back_to_pixels_and_says_so() {
    let image = GeoImage::load(&fixture("plain.tif")).unwrap();
    assert!(image.georef.is_none());
    assert!(
        image.notes.iter().any(|n| n.contains("no georeferencing")),
        "{:?}",
        image.notes
    );
}

/// The error of a read that must fail (without printing the image it did read).
fn failure(result: craters_dataset::Result<GeoImage>) -> Error {
    match result {
        Ok(image) => panic!(
            "read a {}×{} image; expected an error",
            image.tile.width(),
            image.tile.height()
        ),
        Err(e) => e,
    }
}

fn one_line(error: Error, needles: &[&str]) {
    let text = error.to_string();
    assert!(!text.contains('\n'), "{text}");
    for needle in needles {
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}

#[test]
fn unsupported_projections_and_earth_datums_are_named() {
    one_line(
        failure(read_geotiff(&fixture("mercator.tif"))),
        &[
            "mercator.tif",
            "unsupported projection Mercator",
            "ProjCoordTransGeoKey 7",
        ],
    );
    one_line(
        failure(read_geotiff(&fixture("earth.tif"))),
        &["earth.tif", "EPSG:4326", "Earth"],
    );
}

#[test]
fn corrupt_truncated_huge_and_empty_files_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Truncated: the first 2 KB of a striped GeoTIFF (the header and its first strip).
    let bytes = std::fs::read(fixture("uint16_nodata.tif")).unwrap();
    let truncated = dir.path().join("truncated.tif");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    one_line(
        failure(read_geotiff(&truncated)),
        &["truncated.tif", "corrupt or truncated TIFF"],
    );
    // Not a TIFF at all.
    let text = dir.path().join("text.tif");
    std::fs::write(&text, b"this is not an image").unwrap();
    one_line(failure(read_geotiff(&text)), &["text.tif", "expected a GeoTIFF"]);
    // A 60,000 × 60,000 header with no data: refused from the header, nothing allocated.
    let error = failure(read_geotiff(&fixture("huge.tif")));
    assert!(
        matches!(error, Error::ImageTooLarge { width: 60_000, .. }),
        "{error}"
    );
    one_line(error, &["huge.tif", "60000 × 60000"]);
    // Every pixel nodata.
    let error = failure(read_geotiff(&fixture("blank.tif")));
    assert!(matches!(error, Error::AllNodata { .. }), "{error}");
    one_line(error, &["blank.tif", "every pixel is nodata"]);
}

#[test]
fn samples_in_memory_read_as_the_geotiff_does() {
    use craters_dataset::read_georeference_only;
    let path = fixture("uint16_nodata.tif");
    let file = std::fs::File::open(&path).unwrap();
    let mut decoder = tiff::decoder::Decoder::new(std::io::BufReader::new(file)).unwrap();
    let tiff::decoder::DecodingResult::U16(samples) = decoder.read_image().unwrap() else {
        panic!("uint16 samples expected");
    };
    let from_file = read_geotiff(&path).unwrap();
    let in_memory =
        GeoImage::from_samples(Path::new("array"), 160, 120, &samples, "uint16", Some(0.0)).unwrap();
    assert_eq!(in_memory.tile.image().as_raw(), from_file.tile.image().as_raw());
    assert_eq!(in_memory.valid, from_file.valid);
    assert_eq!(in_memory.notes, from_file.notes);
    // The wrong number of samples is named.
    let e = failure(GeoImage::from_samples(
        Path::new("array"),
        10,
        10,
        &samples[..99],
        "uint16",
        None,
    ));
    one_line(e, &["array", "99 samples for a 10 × 10 image"]);
    // The georeference alone, without the pixels.
    for name in ["equirectangular.tif", "sinusoidal.tif", "geographic.tif"] {
        let g = read_georeference_only(&fixture(name)).unwrap();
        assert_eq!(g, read_geotiff(&fixture(name)).unwrap().georef, "{name}");
    }
    assert_eq!(read_georeference_only(&fixture("plain.tif")).unwrap(), None);
}
