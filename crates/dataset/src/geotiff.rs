//! Map-projected GeoTIFFs: one band of 8- or 16-bit integer or 32/64-bit float samples,
//! striped or tiled, with a nodata value, read chunk by chunk into an 8-bit [`Tile`]
//! (so that a float mosaic is never held as floats), with the georeferencing from the
//! GeoTIFF tags ([`crate::geokeys`]).

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use image::GrayImage;
use tiff::ColorType;
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

use crate::error::{Error, Result, shorten};
use crate::geokeys::read_georeference;
use crate::georef::Georeference;
use crate::image_io::{MAX_IMAGE_BYTES, decode_image_file};
use crate::npy::read_error;
use crate::tile::{STRETCH_MEAN, STRETCH_STD, Tile};

/// An image to detect craters on, with where it lies and which pixels hold data.
#[derive(Debug, Clone)]
pub struct GeoImage {
    /// The 8-bit image the detector scans: 8-bit samples as they are; wider samples with
    /// their valid values' mean moved to 128 and standard deviation to 32 gray levels (the
    /// spread of a standardised HRSC tile), clamped; nodata pixels at the valid pixels'
    /// mean, so that their edges look like no crater.
    pub tile: Tile,
    /// Which pixels hold data (row-major); `None` when all do.
    pub valid: Option<Vec<bool>>,
    /// Pixels that hold data.
    pub valid_pixels: usize,
    /// Where the pixels lie, when the file says so.
    pub georef: Option<Georeference>,
    /// The samples as stored: "uint8", "uint16", "int16", "float32", … ("8-bit" for PGM/PNG).
    pub samples: String,
    /// The nodata value, when the file has one.
    pub nodata: Option<f64>,
    /// What a user should know about how the file was read (one line each): no
    /// georeferencing found, a sphere radius assumed, contrast stretched.
    pub notes: Vec<String>,
}

impl GeoImage {
    /// Reads a GeoTIFF (`.tif`, `.tiff`) with [`read_geotiff`], any other image (PGM, PNG,
    /// JPEG) with [`Tile::load`] and no georeferencing.
    pub fn load(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("tif" | "tiff")) {
            return read_geotiff(path);
        }
        let image = decode_image_file(path, "a GeoTIFF, PGM, PNG or JPEG image")?.into_luma8();
        let pixels = image.len();
        Ok(GeoImage {
            tile: Tile::from_image(image),
            valid: None,
            valid_pixels: pixels,
            georef: None,
            samples: "8-bit".into(),
            nodata: None,
            notes: Vec::new(),
        })
    }

    /// Whether the pixel at column `x`, row `y` holds data (outside the image: no).
    pub fn is_valid(&self, x: i64, y: i64) -> bool {
        let (w, h) = (self.tile.width() as i64, self.tile.height() as i64);
        if x < 0 || y < 0 || x >= w || y >= h {
            return false;
        }
        self.valid.as_ref().is_none_or(|v| v[(y * w + x) as usize])
    }

    /// Whether no pixel of the image within `radius` of `(x, y)` is nodata: a crater on
    /// nodata is not counted (the part of a disc beyond the image border does not matter).
    pub fn disc_is_valid(&self, x: f64, y: f64, radius: f64) -> bool {
        let Some(valid) = &self.valid else {
            return true;
        };
        let (w, h) = (self.tile.width() as i64, self.tile.height() as i64);
        let r2 = radius * radius;
        let (y0, y1) = (
            ((y - radius).floor() as i64).max(0),
            ((y + radius).ceil() as i64).min(h - 1),
        );
        let (x0, x1) = (
            ((x - radius).floor() as i64).max(0),
            ((x + radius).ceil() as i64).min(w - 1),
        );
        for py in y0..=y1 {
            for px in x0..=x1 {
                let (dx, dy) = (px as f64 - x, py as f64 - y);
                if dx * dx + dy * dy <= r2 && !valid[(py * w + px) as usize] {
                    return false;
                }
            }
        }
        true
    }
}

/// Reads a GeoTIFF: its size is checked from the header before anything is allocated
/// (width × height ≤ [`MAX_IMAGE_BYTES`] 8-bit pixels), then its strips or tiles are decoded
/// one at a time (twice for samples wider than 8 bits: statistics, then the 8-bit map).
pub fn read_geotiff(path: &Path) -> Result<GeoImage> {
    geotiff_from(path, || {
        File::open(path)
            .map(BufReader::new)
            .map_err(|source| read_error(path, source))
    })
}

/// The georeferencing of the GeoTIFF at `path` alone (its tags; no pixel is decoded), for
/// placing results of a mosaic scanned window by window. `None` without geo tags.
pub fn read_georeference_only(path: &Path) -> Result<Option<Georeference>> {
    let file = File::open(path).map_err(|source| read_error(path, source))?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(|e| corrupt(path, &e))?;
    read_georeference(&mut decoder, path, &mut Vec::new())
}

/// [`read_geotiff`] on the bytes of a GeoTIFF; `path` names it in errors.
pub fn decode_geotiff(path: &Path, bytes: &[u8]) -> Result<GeoImage> {
    geotiff_from(path, || Ok(Cursor::new(bytes)))
}

fn geotiff_from<R: Read + Seek>(path: &Path, reader: impl Fn() -> Result<R>) -> Result<GeoImage> {
    let open = || -> Result<Decoder<R>> {
        let mut limits = Limits::default();
        // One strip or tile may be as large as a whole image may.
        limits.decoding_buffer_size = MAX_IMAGE_BYTES as usize;
        Ok(Decoder::new(reader()?)
            .map_err(|e| corrupt(path, &e))?
            .with_limits(limits))
    };
    let mut decoder = open()?;
    let (width, height) = decoder.dimensions().map_err(|e| corrupt(path, &e))?;
    if width == 0 || height == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    if u64::from(width) * u64::from(height) > MAX_IMAGE_BYTES {
        return Err(Error::ImageTooLarge {
            path: path.into(),
            width,
            height,
            limit_mib: MAX_IMAGE_BYTES >> 20,
        });
    }
    let colour = decoder.colortype().map_err(|e| corrupt(path, &e))?;
    let ColorType::Gray(bits) = colour else {
        return Err(Error::UnreadableImage {
            path: path.into(),
            reason: format!("{colour:?} samples; expected one band of gray samples"),
        });
    };
    let format = decoder
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(|e| corrupt(path, &e))?
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    let samples = match (format, bits) {
        (1, 8) => "uint8",
        (1, 16) => "uint16",
        (2, 16) => "int16",
        (1, 32) => "uint32",
        (2, 32) => "int32",
        (3, 32) => "float32",
        (3, 64) => "float64",
        _ => {
            return Err(Error::UnreadableImage {
                path: path.into(),
                reason: format!(
                    "{bits}-bit samples of format {format}; expected 8- or 16-bit integers or 32/64-bit floats"
                ),
            });
        }
    };
    let nodata = match decoder.find_tag(Tag::GdalNodata).map_err(|e| corrupt(path, &e))? {
        Some(value) => {
            let text = value.into_string().map_err(|e| corrupt(path, &e))?;
            let text = text.trim_matches(char::from(0)).trim();
            Some(text.parse::<f64>().map_err(|_| Error::UnreadableImage {
                path: path.into(),
                reason: format!("GDAL_NODATA {:?} is not a number", shorten(text)),
            })?)
        }
        None => None,
    };
    let mut notes = Vec::new();
    let georef = read_georeference(&mut decoder, path, &mut notes)?;

    let (w, h) = (width as usize, height as usize);
    let eight_bit = samples == "uint8";
    // Pass 1 (wider samples): the valid samples' mean and spread, summed in f64 in file order.
    let mut stats = SampleStats::new(nodata);
    if !eight_bit {
        for_each_chunk(&mut decoder, path, w, h, |_, _, _, chunk| {
            (0..samples_in(chunk)).for_each(|i| stats.add(sample(chunk, i)));
        })?;
        decoder = open()?;
    }
    let mut image = EightBit::new(path, w, h, &stats, eight_bit, samples, &mut notes)?;
    // Pass 2: the 8-bit image and the mask.
    for_each_chunk(&mut decoder, path, w, h, |x0, y0, cw, chunk| {
        for i in 0..samples_in(chunk) {
            let (x, y) = (x0 + i % cw.max(1), y0 + i / cw.max(1));
            if x < w && y < h {
                image.put(y * w + x, sample(chunk, i));
            }
        }
    })?;
    image.finish(georef, samples, notes)
}

impl GeoImage {
    /// An image from `width × height` row-major samples (8-bit ones kept as they are,
    /// wider ones stretched, nodata masked, exactly as [`read_geotiff`] does); `name` names
    /// it in errors and `samples` says what they were ("uint16", …). No georeference.
    pub fn from_samples<T: Copy + Into<f64>>(
        name: &Path,
        width: usize,
        height: usize,
        values: &[T],
        samples: &str,
        nodata: Option<f64>,
    ) -> Result<GeoImage> {
        if width == 0 || height == 0 || values.len() != width * height {
            return Err(Error::UnreadableImage {
                path: name.into(),
                reason: format!("{} samples for a {width} × {height} image", values.len()),
            });
        }
        if (width * height) as u64 > MAX_IMAGE_BYTES {
            return Err(Error::ImageTooLarge {
                path: name.into(),
                width: width.min(u32::MAX as usize) as u32,
                height: height.min(u32::MAX as usize) as u32,
                limit_mib: MAX_IMAGE_BYTES >> 20,
            });
        }
        let eight_bit = samples == "uint8";
        let mut stats = SampleStats::new(nodata);
        if !eight_bit {
            values.iter().for_each(|&v| stats.add(v.into()));
        }
        let mut notes = Vec::new();
        let mut image = EightBit::new(name, width, height, &stats, eight_bit, samples, &mut notes)?;
        for (at, &v) in values.iter().enumerate() {
            image.put(at, v.into());
        }
        image.finish(None, samples, notes)
    }
}

/// Count, sum and sum of squares of the valid samples (finite, not nodata).
struct SampleStats {
    nodata: Option<f64>,
    n: u64,
    sum: f64,
    sum_sq: f64,
}

impl SampleStats {
    fn new(nodata: Option<f64>) -> Self {
        SampleStats {
            nodata,
            n: 0,
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    fn is_valid(&self, v: f64) -> bool {
        v.is_finite() && self.nodata.is_none_or(|n| v != n)
    }

    fn add(&mut self, v: f64) {
        if self.is_valid(v) {
            self.n += 1;
            self.sum += v;
            self.sum_sq += v * v;
        }
    }
}

/// The 8-bit image and nodata mask being filled, sample by sample.
struct EightBit<'a> {
    path: &'a Path,
    width: usize,
    height: usize,
    nodata: Option<f64>,
    gain: f64,
    offset: f64,
    pixels: Vec<u8>,
    valid: Option<Vec<bool>>,
    count: usize,
    sum: u64,
}

impl<'a> EightBit<'a> {
    /// 8-bit samples map as they are; wider ones by `stats`: mean → 128, spread → 32.
    fn new(
        path: &'a Path,
        width: usize,
        height: usize,
        stats: &SampleStats,
        eight_bit: bool,
        samples: &str,
        notes: &mut Vec<String>,
    ) -> Result<Self> {
        let (gain, offset) = if eight_bit {
            (1.0, 0.0)
        } else {
            if stats.n == 0 {
                return Err(Error::AllNodata { path: path.into() });
            }
            let mean = stats.sum / stats.n as f64;
            let std = (stats.sum_sq / stats.n as f64 - mean * mean).max(0.0).sqrt();
            let gain = if std > 0.0 { STRETCH_STD / std } else { 0.0 };
            notes.push(format!(
                "{samples} samples stretched to 8 bits: mean {mean:.6} → {STRETCH_MEAN}, standard deviation {std:.6} → {STRETCH_STD} gray levels"
            ));
            (gain, STRETCH_MEAN - mean * gain)
        };
        Ok(EightBit {
            path,
            width,
            height,
            nodata: stats.nodata,
            gain,
            offset,
            pixels: vec![0u8; width * height],
            valid: None,
            count: 0,
            sum: 0,
        })
    }

    fn put(&mut self, at: usize, v: f64) {
        if v.is_finite() && self.nodata.is_none_or(|n| v != n) {
            let p = (v * self.gain + self.offset).round().clamp(0.0, 255.0) as u8;
            self.pixels[at] = p;
            self.count += 1;
            self.sum += u64::from(p);
        } else {
            let n = self.pixels.len();
            self.valid.get_or_insert_with(|| vec![true; n])[at] = false;
        }
    }

    /// Nodata pixels filled with the valid mean; the image.
    fn finish(
        mut self,
        georef: Option<Georeference>,
        samples: &str,
        mut notes: Vec<String>,
    ) -> Result<GeoImage> {
        let (w, h) = (self.width, self.height);
        if self.count == 0 {
            return Err(Error::AllNodata {
                path: self.path.into(),
            });
        }
        if let Some(mask) = &self.valid {
            let fill = (self.sum as f64 / self.count as f64).round() as u8;
            for (p, &ok) in self.pixels.iter_mut().zip(mask) {
                if !ok {
                    *p = fill;
                }
            }
            notes.push(format!(
                "{} nodata pixels ({:.1}%) left out of the scan and the counted area",
                w * h - self.count,
                100.0 * (w * h - self.count) as f64 / (w * h) as f64
            ));
        }
        let image =
            GrayImage::from_raw(w as u32, h as u32, self.pixels).ok_or_else(|| Error::UnreadableImage {
                path: self.path.into(),
                reason: "pixel buffer does not match the image size".into(),
            })?;
        Ok(GeoImage {
            tile: Tile::from_image(image),
            valid: self.valid,
            valid_pixels: self.count,
            georef,
            samples: samples.into(),
            nodata: self.nodata,
            notes,
        })
    }
}

/// Decodes the image's strips or tiles one at a time, handing each to `visit` as
/// `(x0, y0, chunk width, samples)`; [`sample`] reads them as f64 (no widened copy of a
/// chunk, which may be as large as an image).
fn for_each_chunk<R: Read + Seek>(
    decoder: &mut Decoder<R>,
    path: &Path,
    width: usize,
    height: usize,
    mut visit: impl FnMut(usize, usize, usize, &DecodingResult),
) -> Result<()> {
    let count = match decoder.get_chunk_type() {
        ChunkType::Strip => decoder.strip_count(),
        ChunkType::Tile => decoder.tile_count(),
    }
    .map_err(|e| corrupt(path, &e))? as usize;
    let (cw, ch) = decoder.chunk_dimensions();
    let (cw, ch) = (cw.max(1) as usize, ch.max(1) as usize);
    let across = width.div_ceil(cw);
    let needed = across * height.div_ceil(ch);
    if count < needed {
        return Err(Error::UnreadableImage {
            path: path.into(),
            reason: format!("{count} strips or tiles where the image needs {needed}"),
        });
    }
    for index in 0..needed {
        let (dw, _) = decoder.chunk_data_dimensions(index as u32);
        let chunk = decoder.read_chunk(index as u32).map_err(|e| corrupt(path, &e))?;
        if matches!(
            chunk,
            DecodingResult::U64(_) | DecodingResult::I64(_) | DecodingResult::F16(_) | DecodingResult::I8(_)
        ) {
            return Err(Error::UnreadableImage {
                path: path.into(),
                reason: "unsupported sample type in a strip or tile".into(),
            });
        }
        visit((index % across) * cw, (index / across) * ch, dw as usize, &chunk);
    }
    Ok(())
}

/// Sample `i` of a decoded chunk as f64 (the types [`for_each_chunk`] lets through).
fn sample(chunk: &DecodingResult, i: usize) -> f64 {
    match chunk {
        DecodingResult::U8(v) => f64::from(v[i]),
        DecodingResult::U16(v) => f64::from(v[i]),
        DecodingResult::I16(v) => f64::from(v[i]),
        DecodingResult::U32(v) => f64::from(v[i]),
        DecodingResult::I32(v) => f64::from(v[i]),
        DecodingResult::F32(v) => f64::from(v[i]),
        DecodingResult::F64(v) => v[i],
        _ => f64::NAN,
    }
}

/// Samples in a decoded chunk.
fn samples_in(chunk: &DecodingResult) -> usize {
    match chunk {
        DecodingResult::U8(v) => v.len(),
        DecodingResult::U16(v) => v.len(),
        DecodingResult::I16(v) => v.len(),
        DecodingResult::U32(v) => v.len(),
        DecodingResult::I32(v) => v.len(),
        DecodingResult::F32(v) => v.len(),
        DecodingResult::F64(v) => v.len(),
        _ => 0,
    }
}

fn corrupt(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::UnreadableImage {
        path: path.into(),
        reason: format!(
            "corrupt or truncated TIFF ({}); expected a GeoTIFF",
            shorten(&e.to_string())
        ),
    }
}
