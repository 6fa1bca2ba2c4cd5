//! Decoding image files with their size checked first: a small file whose header claims a
//! 60,000 × 60,000 image is an error, not an allocation of gigabytes.

use std::io::{BufRead, Cursor, Seek};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::error::{Error, Result, shorten};
use crate::npy::read_error;

/// The most memory one decoded image may take, counted from its header (width × height ×
/// bytes per pixel of its stored layout): 512 MiB, e.g. an 8-bit gray image of 23,000²
/// pixels decodes, a 16-bit one of 20,000² does not.
pub const MAX_IMAGE_BYTES: u64 = 512 * 1024 * 1024;

/// Decodes the bytes of an image file (any format the `image` crate reads, guessed from the
/// content); `path` names it in errors, `expected` says what it should have been.
pub(crate) fn decode_image(path: &Path, bytes: &[u8], expected: &str) -> Result<DynamicImage> {
    decode_with(path, expected, || {
        ImageReader::new(Cursor::new(bytes)).with_guessed_format()
    })
}

/// Decodes an image file streamed from disk, so that a big image is held once (decoded),
/// not twice (file bytes and decoded).
pub(crate) fn decode_image_file(path: &Path, expected: &str) -> Result<DynamicImage> {
    decode_with(path, expected, || ImageReader::open(path)?.with_guessed_format())
}

fn decode_with<R: BufRead + Seek>(
    path: &Path,
    expected: &str,
    reader: impl Fn() -> std::io::Result<ImageReader<R>>,
) -> Result<DynamicImage> {
    let unreadable = |e: &dyn std::fmt::Display| Error::UnreadableImage {
        path: path.into(),
        reason: format!("{}; expected {expected}", shorten(&e.to_string())),
    };
    let open = || reader().map_err(|source| read_error(path, source));
    let decoder = open()?.into_decoder().map_err(|e| unreadable(&e))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    // The decoded size from the header alone, before anything is allocated.
    let needed = decoder.total_bytes();
    drop(decoder);
    if needed > MAX_IMAGE_BYTES {
        return Err(Error::ImageTooLarge {
            path: path.into(),
            width,
            height,
            limit_mib: MAX_IMAGE_BYTES >> 20,
        });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_IMAGE_BYTES);
    let mut reader = open()?;
    reader.limits(limits);
    reader.decode().map_err(|e| unreadable(&e))
}
