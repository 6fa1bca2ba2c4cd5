//! Decoding image files with their size checked first: a small file whose header claims a
//! 60,000 × 60,000 image is an error, not an allocation of gigabytes.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageReader, Limits};

use crate::error::{Error, Result, shorten};

/// The most memory one decoded image may take (8 bytes per pixel are assumed, the widest
/// layout the decoders produce: 16-bit RGBA): 512 MiB, e.g. an 8-bit gray image of 23,000²
/// pixels decodes, a 16-bit RGBA one of 8,000² does.
pub const MAX_IMAGE_BYTES: u64 = 512 * 1024 * 1024;

/// Decodes the bytes of an image file (any format the `image` crate reads, guessed from the
/// content); `path` names it in errors, `expected` says what it should have been.
pub(crate) fn decode_image(path: &Path, bytes: &[u8], expected: &str) -> Result<DynamicImage> {
    let unreadable = |e: &dyn std::fmt::Display| Error::UnreadableImage {
        path: path.into(),
        reason: format!("{}; expected {expected}", shorten(&e.to_string())),
    };
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| unreadable(&e))
    };
    let (width, height) = reader()?.into_dimensions().map_err(|e| unreadable(&e))?;
    if width == 0 || height == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    let needed = u64::from(width) * u64::from(height) * 8;
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
    let mut reader = reader()?;
    reader.limits(limits);
    reader.decode().map_err(|e| unreadable(&e))
}
