//! The fuzzed entry points, one per kind of user input. Each takes arbitrary bytes and must
//! return (with `Ok` or a clean error) without panicking, aborting or hanging. The fuzz
//! targets call them; `tests/fuzz_corpus.rs` of the facade replays the committed corpus and
//! arbitrary bytes through the same functions on every `cargo test`.

use std::path::Path;

/// An npy file, then the checks of the seed layout on whatever parsed.
pub fn npy(bytes: &[u8]) {
    let path = Path::new("fuzz.npy");
    if let Ok(array) = craters_dataset::parse_npy(path, bytes) {
        let _ = craters_dataset::images_from_array(path, &array);
        let _ = craters_dataset::labels_from_array(path, &array);
    }
}

/// An image file, as a tile (then blocks cut from it) and as a patch of an image folder.
pub fn image(bytes: &[u8]) {
    let path = Path::new("fuzz.img");
    if let Ok(tile) = craters_dataset::Tile::decode(path, bytes) {
        let (w, h) = (tile.width() as f64, tile.height() as f64);
        for (x, y, r) in [(w / 2.0, h / 2.0, 3.0), (0.0, 0.0, 12.0), (w, h, w.max(h))] {
            let _ = tile.block(x, y, r, craters_dataset::hrsc::Border::Reflect);
        }
    }
    let _ = craters_dataset::decode_patch(path, bytes);
}

/// A GeoTIFF: pixels, nodata and georeferencing; then every pixel placed on the sphere
/// along one row and one column, and the counted area's pixel sizes.
pub fn geotiff(bytes: &[u8]) {
    let path = Path::new("fuzz.tif");
    if let Ok(image) = craters_dataset::decode_geotiff(path, bytes)
        && let Some(g) = &image.georef
    {
        let (w, h) = (image.tile.width(), image.tile.height());
        for (x, y) in (0..w.min(64))
            .map(|x| (x, 0))
            .chain((0..h.min(64)).map(|y| (0, y)))
        {
            let _ = g.lonlat(x as f64, y as f64);
            let _ = g.pixel_area_km2(x as f64, y as f64);
            let _ = g.ground_sampling_m(x as f64, y as f64);
        }
        let _ = image.disc_is_valid(w as f64 / 2.0, h as f64 / 2.0, 20.0);
    }
}

/// A catalogue (`x,y,d`) and a candidate list (`x,y,r`), as text.
pub fn csv(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let path = Path::new("fuzz.csv");
    let _ = craters_dataset::hrsc::parse_catalogue(path, text);
    let _ = craters_dataset::hrsc::parse_candidates(path, text, 1);
}

/// A model folder: the first two bytes say how long `config.json` is, the rest is
/// `model.safetensors`.
pub fn model(bytes: &[u8]) {
    let Some((head, rest)) = bytes.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*head)).min(rest.len());
    let (card, weights) = rest.split_at(split);
    let _ = craters_model::CraterCnn::from_bytes(Path::new("fuzz-model"), card, weights);
}

/// An experiment config and a detection config, as TOML, parsed and checked.
pub fn config(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    if let Ok(config) = craters_experiment::ExperimentConfig::from_toml(path, text) {
        let _ = config.check();
    }
    if let Ok(config) = craters_detect::DetectConfig::from_toml(path, text) {
        let _ = config.check().map(|c| c.radii());
    }
}
