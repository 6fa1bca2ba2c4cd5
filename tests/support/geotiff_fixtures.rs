//! GeoTIFF fixtures for the tests, written on the fly (no binary fixture in git): 160 × 120
//! crops (columns 700.., rows 800..) of the shared HRSC tile 3_24, centred at 48° W, 5° N on
//! the IAU 2015 Mars sphere, 12.5 m/px, with the tags GDAL 3.12 writes for the same rasters
//! (`tools/make_geotiff.py` through rasterio; the geo keys below were read from its output).
//! Without `../shared` (never in CI) the pixels are a synthetic pattern of rings instead.
//!
//! Included by the tests of craters-dataset, craters-detect and craters-cli with
//! `#[path = …] mod geotiff_fixtures;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const W: usize = 160;
const H: usize = 120;
const TIE_X: f64 = -1000.0;
const TIE_Y: f64 = 297_123.487_616_531_1;
/// The nodata collar: 20 columns on the left and a corner triangle (2,610 pixels).
pub const NODATA_PIXELS: usize = 2610;

/// The fixture `name` (written once per test binary into the target's temporary folder).
pub fn fixture(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(write_all).join(name)
}

fn gray() -> Vec<u8> {
    let tile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/hrsc/tiles/tile3_24.pgm");
    match image::open(&tile) {
        Ok(image) => {
            let image = image.into_luma8();
            image::imageops::crop_imm(&image, 700, 800, W as u32, H as u32)
                .to_image()
                .into_raw()
        }
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{}: {e}; CI must have it",
                tile.display()
            );
            eprintln!(
                "note: {} is absent: GeoTIFF fixtures of synthetic rings",
                tile.display()
            );
            (0..W * H)
                .map(|i| {
                    let (x, y) = ((i % W) as f64, (i / W) as f64);
                    let d = ((x - 60.0).powi(2) + (y - 50.0).powi(2)).sqrt();
                    let e = ((x - 120.0).powi(2) + (y - 85.0).powi(2)).sqrt();
                    (100.0 + 30.0 * (-(d - 12.0).powi(2) / 8.0).exp()
                        - 25.0 * (-(e - 9.0).powi(2) / 6.0).exp()
                        + ((x * 7.0 + y * 13.0) % 5.0)) as u8
                })
                .collect()
        }
    }
}

fn collar(i: usize) -> bool {
    let (x, y) = (i % W, i / W);
    x < 20 || (W - 1 - x) + y < 20
}

/// GDAL's geo keys for a user-defined projected Mars CRS (`ct`: 17 equirectangular, 24
/// sinusoidal, 7 Mercator) or the geographic one, and their double parameters.
fn geokeys(projection: &str) -> (Vec<u16>, Vec<f64>) {
    let geog = |first: u16| -> Vec<[u16; 4]> {
        vec![
            [2048, 0, 1, 32767],
            [2049, 34737, 84, first],
            [2050, 0, 1, 32767],
            [2054, 0, 1, 9102],
            [2056, 0, 1, 32767],
        ]
    };
    let (mut keys, doubles): (Vec<[u16; 4]>, Vec<f64>) = match projection {
        "geographic" => {
            let mut k = vec![[1024, 0, 1, 2], [1025, 0, 1, 1]];
            k.extend(geog(0));
            k.extend([[2057, 34736, 1, 0], [2058, 34736, 1, 1], [2061, 34736, 1, 2]]);
            (k, vec![3_396_190.0, 3_396_190.0, 0.0])
        }
        "earth" => (
            vec![
                [1024, 0, 1, 2],
                [1025, 0, 1, 1],
                [2048, 0, 1, 4326],
                [2049, 34737, 7, 0],
                [2054, 0, 1, 9102],
                [2057, 34736, 1, 1],
                [2059, 34736, 1, 0],
            ],
            vec![298.257223563, 6_378_137.0],
        ),
        _ => {
            let mut k = vec![[1024, 0, 1, 1], [1025, 0, 1, 1], [1026, 34737, 8, 0]];
            k.extend(geog(8));
            let (ct, params, doubles): (u16, Vec<[u16; 4]>, Vec<f64>) = match projection {
                "sinusoidal" => (
                    24,
                    vec![[3082, 34736, 1, 1], [3083, 34736, 1, 2], [3088, 34736, 1, 0]],
                    vec![-48.0, 0.0, 0.0, 3_396_190.0, 3_396_190.0, 0.0],
                ),
                "mercator" => (
                    7,
                    vec![
                        [3080, 34736, 1, 1],
                        [3081, 34736, 1, 0],
                        [3082, 34736, 1, 3],
                        [3083, 34736, 1, 4],
                        [3092, 34736, 1, 2],
                    ],
                    vec![0.0, -48.0, 1.0, 0.0, 0.0, 3_396_190.0, 3_396_190.0, 0.0],
                ),
                _ => (
                    17,
                    vec![
                        [3078, 34736, 1, 2],
                        [3082, 34736, 1, 3],
                        [3083, 34736, 1, 4],
                        [3088, 34736, 1, 1],
                        [3089, 34736, 1, 0],
                    ],
                    vec![0.0, -48.0, 5.0, 0.0, 0.0, 3_396_190.0, 3_396_190.0, 0.0],
                ),
            };
            let sphere = (doubles.len() - 3) as u16;
            k.extend([
                [2057, 34736, 1, sphere],
                [2058, 34736, 1, sphere + 1],
                [2061, 34736, 1, sphere + 2],
            ]);
            k.extend([
                [3072, 0, 1, 32767],
                [3074, 0, 1, 32767],
                [3075, 0, 1, ct],
                [3076, 0, 1, 9001],
            ]);
            k.extend(params);
            (k, doubles)
        }
    };
    keys.sort_by_key(|k| k[0]);
    let mut directory = vec![1, 1, 0, keys.len() as u16];
    directory.extend(keys.iter().flatten());
    (directory, doubles)
}

/// A tag's type and little-endian value bytes.
enum Value {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Double(Vec<f64>),
    Ascii(&'static str),
}

impl Value {
    fn encode(&self) -> (u16, u32, Vec<u8>) {
        match self {
            Value::Short(v) => (
                3,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Value::Long(v) => (
                4,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Value::Double(v) => (
                12,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Value::Ascii(s) => (2, s.len() as u32 + 1, [s.as_bytes(), &[0]].concat()),
        }
    }
}

/// A little-endian TIFF: one IFD with `tags` and the chunks (strips or tiles) after it.
fn tiff(mut tags: Vec<(u16, Value)>, chunks: &[Vec<u8>], tiled: bool) -> Vec<u8> {
    let (offsets_tag, counts_tag) = if tiled { (324, 325) } else { (273, 279) };
    tags.push((
        counts_tag,
        Value::Long(chunks.iter().map(|c| c.len() as u32).collect()),
    ));
    tags.push((offsets_tag, Value::Long(vec![0; chunks.len()])));
    tags.sort_by_key(|t| t.0);
    let ifd_len = 2 + 12 * tags.len() + 4;
    let mut extra = Vec::new();
    let mut entries = Vec::new();
    let data_start = 8 + ifd_len;
    // Values over 4 bytes go after the IFD; the chunks after them.
    let encoded: Vec<(u16, u16, u32, Vec<u8>)> = tags
        .iter()
        .map(|(t, v)| {
            let (ty, n, bytes) = v.encode();
            (*t, ty, n, bytes)
        })
        .collect();
    let extra_len: usize = encoded
        .iter()
        .filter(|e| e.3.len() > 4)
        .map(|e| e.3.len().next_multiple_of(2))
        .sum();
    let mut chunk_offsets = Vec::new();
    let mut at = data_start + extra_len;
    for c in chunks {
        chunk_offsets.push(at as u32);
        at += c.len();
    }
    for (tag, ty, n, mut bytes) in encoded {
        if tag == offsets_tag {
            bytes = chunk_offsets.iter().flat_map(|x| x.to_le_bytes()).collect();
        }
        entries.extend(tag.to_le_bytes());
        entries.extend(ty.to_le_bytes());
        entries.extend(n.to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            entries.extend(bytes);
        } else {
            entries.extend(((data_start + extra.len()) as u32).to_le_bytes());
            extra.extend(&bytes);
            if extra.len() % 2 == 1 {
                extra.push(0);
            }
        }
    }
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    out.extend((tags.len() as u16).to_le_bytes());
    out.extend(entries);
    out.extend(0u32.to_le_bytes());
    out.extend(extra);
    for c in chunks {
        out.extend(c);
    }
    out
}

/// One fixture's bytes: `projection` (or "none"), samples "uint8", "uint16" (10 × gray +
/// 1000) or "float32" (gray / 255), with the nodata collar or not, striped or tiled (256²).
fn geotiff(gray: &[u8], projection: &str, samples: &str, nodata: bool, tiled: bool) -> Vec<u8> {
    let (bits, format, nodata_text): (u16, u16, &'static str) = match samples {
        "uint16" => (16, 1, "0"),
        "float32" => (32, 3, "-3.4028234663852886e+38"),
        _ => (8, 1, "0"),
    };
    let sample = |i: usize| -> Vec<u8> {
        let g = gray[i];
        match (samples, nodata && collar(i)) {
            ("uint16", true) => 0u16.to_le_bytes().to_vec(),
            ("uint16", false) => (u16::from(g) * 10 + 1000).to_le_bytes().to_vec(),
            ("float32", true) => f32::MIN.to_le_bytes().to_vec(),
            ("float32", false) => (f32::from(g) / 255.0).to_le_bytes().to_vec(),
            (_, true) => vec![0],
            _ => vec![g],
        }
    };
    let bytes = usize::from(bits / 8);
    let chunks: Vec<Vec<u8>> = if tiled {
        // One 256² tile, padded: the image is smaller than a tile.
        let mut tile = vec![0u8; 256 * 256 * bytes];
        for i in 0..W * H {
            let (x, y) = (i % W, i / W);
            tile[(y * 256 + x) * bytes..][..bytes].copy_from_slice(&sample(i));
        }
        vec![tile]
    } else {
        let rows = 8192 / (W * bytes);
        (0..H)
            .step_by(rows)
            .map(|r0| (r0 * W..((r0 + rows).min(H)) * W).flat_map(sample).collect())
            .collect()
    };
    let mut tags = vec![
        (256, Value::Short(vec![W as u16])),
        (257, Value::Short(vec![H as u16])),
        (258, Value::Short(vec![bits])),
        (259, Value::Short(vec![1])),
        (262, Value::Short(vec![1])),
        (277, Value::Short(vec![1])),
        (284, Value::Short(vec![1])),
        (339, Value::Short(vec![format])),
    ];
    if tiled {
        tags.extend([(322, Value::Short(vec![256])), (323, Value::Short(vec![256]))]);
    } else {
        tags.push((278, Value::Short(vec![(8192 / (W * bytes)) as u16])));
    }
    if nodata {
        tags.push((42113, Value::Ascii(nodata_text)));
    }
    let m_per_deg = |r: f64| r * std::f64::consts::PI / 180.0;
    match projection {
        "none" => {}
        "geographic" | "earth" => {
            let r = if projection == "earth" {
                6_378_137.0
            } else {
                3_396_190.0
            };
            let step = 12.5 / m_per_deg(r);
            tags.push((33550, Value::Double(vec![step, step, 0.0])));
            tags.push((
                33922,
                Value::Double(vec![0.0, 0.0, 0.0, -48.0 - 80.0 * step, 5.0 + 60.0 * step, 0.0]),
            ));
        }
        "mercator" => {
            tags.push((33550, Value::Double(vec![12.5, 12.5, 0.0])));
            tags.push((33922, Value::Double(vec![0.0, 0.0, 0.0, TIE_X, 750.0, 0.0])));
        }
        _ => {
            tags.push((33550, Value::Double(vec![12.5, 12.5, 0.0])));
            tags.push((33922, Value::Double(vec![0.0, 0.0, 0.0, TIE_X, TIE_Y, 0.0])));
        }
    }
    if projection != "none" {
        let (directory, doubles) = geokeys(projection);
        tags.push((34735, Value::Short(directory)));
        tags.push((34736, Value::Double(doubles)));
        let ascii = match projection {
            "earth" => "WGS 84|",
            "geographic" => {
                "GCS Name = unknown|Datum = unknown|Ellipsoid = unknown|Primem = Reference meridian||"
            }
            _ => {
                "unknown|GCS Name = unknown|Datum = unknown|Ellipsoid = unknown|Primem = Reference meridian||"
            }
        };
        tags.push((34737, Value::Ascii(ascii)));
    }
    tiff(tags, &chunks, tiled)
}

/// A one-strip header (tags only) claiming `width × height` samples of `bits`, with
/// GDAL_NODATA "0", followed by `data`.
fn header_only(width: u32, height: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let tags = vec![
        (256, Value::Long(vec![width])),
        (257, Value::Long(vec![height])),
        (258, Value::Short(vec![bits])),
        (259, Value::Short(vec![1])),
        (262, Value::Short(vec![1])),
        (277, Value::Short(vec![1])),
        (278, Value::Long(vec![height])),
        (339, Value::Short(vec![1])),
        (42113, Value::Ascii("0")),
    ];
    let mut bytes = tiff(tags, &[data.to_vec()], false);
    // The strip's byte count says what the header promises, not what is there.
    let promised =
        (u64::from(width) * u64::from(height) * u64::from(bits / 8)).min(u64::from(u32::MAX)) as u32;
    if data.is_empty() {
        let at = find_entry(&bytes, 279);
        bytes[at + 8..at + 12].copy_from_slice(&promised.to_le_bytes());
    }
    bytes
}

fn find_entry(bytes: &[u8], tag: u16) -> usize {
    let n = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    (0..n)
        .map(|i| 10 + 12 * i)
        .find(|&at| u16::from_le_bytes([bytes[at], bytes[at + 1]]) == tag)
        .unwrap()
}

fn write_all() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("geotiff-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let gray = gray();
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "equirectangular.tif",
            geotiff(&gray, "equirectangular", "uint8", false, false),
        ),
        (
            "sinusoidal.tif",
            geotiff(&gray, "sinusoidal", "uint8", false, false),
        ),
        (
            "geographic.tif",
            geotiff(&gray, "geographic", "uint8", false, false),
        ),
        (
            "uint16_nodata.tif",
            geotiff(&gray, "equirectangular", "uint16", true, false),
        ),
        (
            "float32_tiled_nodata.tif",
            geotiff(&gray, "equirectangular", "float32", true, true),
        ),
        ("mercator.tif", geotiff(&gray, "mercator", "uint8", false, false)),
        ("earth.tif", geotiff(&gray, "earth", "uint8", false, false)),
        ("plain.tif", geotiff(&gray, "none", "uint8", false, false)),
        ("huge.tif", header_only(60_000, 60_000, 8, &[])),
        ("blank.tif", header_only(4, 3, 16, &[0; 24])),
    ];
    for (name, bytes) in files {
        // Unique temporary name, then a rename: test binaries may write at the same time.
        let part = dir.join(format!("{name}.{}.part", std::process::id()));
        std::fs::write(&part, bytes).unwrap();
        std::fs::rename(&part, dir.join(name)).unwrap();
    }
    dir
}
