//! Reading and writing numpy `.npy` files.
//!
//! Reading checks everything a crater pipeline has been bitten by: the magic string, the
//! header, a truncated body, Fortran order and big-endian dtypes, each reported as its own
//! [`Error`] variant naming the file. Values are widened to `f64` (exact for every dtype read
//! here except 64-bit integers beyond 2^53, which no pixel or label reaches).
//!
//! Writing goes to a temporary file in the destination folder that is renamed into place, so
//! a crash never leaves half a file behind.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use npyz::{DType, Endianness, NpyFile, NpyHeader, Order, TypeChar, WriterBuilder};

use crate::error::{Error, Result, shape_text, shorten};

/// Which family a numpy dtype belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DtypeKind {
    /// `bool`.
    Bool,
    /// Signed or unsigned integers of any width.
    Int,
    /// `float32` or `float64`.
    Float,
}

/// A numeric npy array, widened to `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The array's shape as stored.
    pub shape: Vec<u64>,
    /// The numpy type string, such as `|u1` or `<f4`.
    pub dtype: String,
    /// The dtype's family.
    pub kind: DtypeKind,
    /// The values in C order.
    pub values: Vec<f64>,
}

const MAGIC: &[u8] = b"\x93NUMPY";
/// The longest header read: numpy's own `max_header_size` default.
const MAX_HEADER_BYTES: u64 = 10_000;
/// The deepest bracket nesting read in a header (numpy's structured dtypes nest a few).
const MAX_HEADER_NESTING: usize = 8;
const NUMERIC: &str = "bool, (u)int8/16/32/64, float32 or float64";

/// Reads a numeric npy file (bool, integer or float; little-endian; C order).
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = fs::read(path).map_err(|source| read_error(path, source))?;
    parse_npy(path, &bytes)
}

/// Parses the bytes of a numeric npy file; `path` names it in errors. Every size the
/// header states is checked against the bytes present before anything is allocated.
pub fn parse_npy(path: &Path, bytes: &[u8]) -> Result<NpyArray> {
    if !bytes.starts_with(MAGIC) {
        return Err(Error::NotNpy { path: path.into() });
    }
    check_header_length(path, bytes)?;
    let mut body: &[u8] = bytes;
    let header = NpyHeader::from_reader(&mut body).map_err(|e| Error::BadHeader {
        path: path.into(),
        reason: shorten(&e.to_string()),
    })?;
    let npy = NpyFile::with_header(header, body);
    let shape = npy.shape().to_vec();
    let DType::Plain(type_str) = npy.dtype() else {
        return Err(Error::UnsupportedDtype {
            path: path.into(),
            dtype: npy.dtype().descr(),
            expected: NUMERIC,
        });
    };
    let dtype = type_str.to_string();
    if npy.order() == Order::Fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(Error::FortranOrder { path: path.into() });
    }
    if type_str.endianness() == Endianness::Big && type_str.size_field() > 1 {
        return Err(Error::BigEndian {
            path: path.into(),
            dtype,
        });
    }
    let unsupported = || Error::UnsupportedDtype {
        path: path.into(),
        dtype: dtype.clone(),
        expected: NUMERIC,
    };
    let item_size = type_str.num_bytes().ok_or_else(unsupported)? as u64;
    let too_large = || Error::BadHeader {
        path: path.into(),
        reason: format!("shape {} is larger than any file", shape_text(&shape)),
    };
    let n = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .ok_or_else(too_large)?;
    let expected = n.checked_mul(item_size).ok_or_else(too_large)?;
    if (body.len() as u64) < expected {
        return Err(Error::Truncated {
            path: path.into(),
            expected,
            found: body.len() as u64,
        });
    }
    let read = |e: io::Error| Error::BadHeader {
        path: path.into(),
        reason: shorten(&e.to_string()),
    };
    let (kind, values) = match (type_str.type_char(), item_size) {
        (TypeChar::Bool, 1) => (DtypeKind::Bool, widen::<bool>(npy, |v| f64::from(u8::from(v)))),
        (TypeChar::Int, 1) => (DtypeKind::Int, widen::<i8>(npy, f64::from)),
        (TypeChar::Int, 2) => (DtypeKind::Int, widen::<i16>(npy, f64::from)),
        (TypeChar::Int, 4) => (DtypeKind::Int, widen::<i32>(npy, f64::from)),
        (TypeChar::Int, 8) => (DtypeKind::Int, widen::<i64>(npy, |v| v as f64)),
        (TypeChar::Uint, 1) => (DtypeKind::Int, widen::<u8>(npy, f64::from)),
        (TypeChar::Uint, 2) => (DtypeKind::Int, widen::<u16>(npy, f64::from)),
        (TypeChar::Uint, 4) => (DtypeKind::Int, widen::<u32>(npy, f64::from)),
        (TypeChar::Uint, 8) => (DtypeKind::Int, widen::<u64>(npy, |v| v as f64)),
        (TypeChar::Float, 4) => (DtypeKind::Float, widen::<f32>(npy, f64::from)),
        (TypeChar::Float, 8) => (DtypeKind::Float, widen::<f64>(npy, |v| v)),
        _ => return Err(unsupported()),
    };
    Ok(NpyArray {
        shape,
        dtype,
        kind,
        values: values.map_err(read)?,
    })
}

/// The header length an npy file states (2 bytes after the version for version 1, 4 for
/// versions 2 and 3) must fit in the file: a tiny file that claims a 4 GiB header is an
/// error here, not a 4 GiB allocation in the parser.
fn check_header_length(path: &Path, bytes: &[u8]) -> Result<()> {
    let bad = |reason: String| Error::BadHeader {
        path: path.into(),
        reason,
    };
    let (length, start) = match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => (u64::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        Some(2 | 3) if bytes.len() >= 12 => (
            u64::from(u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]])),
            12,
        ),
        Some(1..=3) | None => return Err(bad("the file ends inside the header".into())),
        Some(v) => return Err(bad(format!("format version {v}; expected 1, 2 or 3"))),
    };
    let available = bytes.len() as u64 - start;
    if length > available {
        return Err(bad(format!(
            "the header claims {length} bytes, the file holds {available} after the preamble"
        )));
    }
    if length > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "the header claims {length} bytes; numpy writes at most {MAX_HEADER_BYTES}"
        )));
    }
    let header = String::from_utf8_lossy(&bytes[start as usize..(start + length) as usize]);
    // The parser backtracks exponentially on deeply nested brackets (a 900-byte header of
    // `[[[[…` never finishes); numpy's own headers nest a few levels at most.
    let mut depth = 0usize;
    for c in header.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_HEADER_NESTING {
            return Err(bad(format!(
                "brackets nested more than {MAX_HEADER_NESTING} deep; not a numpy header"
            )));
        }
    }
    // The parser multiplies the shape out unchecked: an overflowing shape is refused here.
    if let Some(dims) = stated_shape(&header)
        && dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).is_none()
    {
        return Err(bad(format!(
            "shape {} is larger than any file",
            shape_text(&dims)
        )));
    }
    Ok(())
}

/// The integers of the header's `'shape': (…)` (or `[…]`), when it reads as such; the
/// parser itself judges everything else.
fn stated_shape(header: &str) -> Option<Vec<u64>> {
    let after = &header[header.find("shape")? + "shape".len()..];
    let open = after.find(['(', '['])?;
    let close = after[open..].find([')', ']'])? + open;
    after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<u64>().ok())
        .collect()
}

fn widen<T: npyz::Deserialize>(npy: NpyFile<&[u8]>, f: impl Fn(T) -> f64) -> io::Result<Vec<f64>> {
    Ok(npy.into_vec::<T>()?.into_iter().map(f).collect())
}

/// Maps an I/O error on reading `path` to [`Error::MissingFile`] or [`Error::Io`].
pub(crate) fn read_error(path: &Path, source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::NotFound {
        Error::MissingFile { path: path.into() }
    } else {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Writes an npy file of the given shape atomically (temporary file, then rename).
///
/// `T` is any type npyz can serialise (`u8`, `f32`, `f64`, ...); numpy reads the result back
/// with `numpy.load`.
pub fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) -> Result<()> {
    let n: u64 = shape.iter().product();
    if n != data.len() as u64 {
        return Err(Error::Write {
            path: path.into(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "shape {} holds {n} values, {} given",
                    crate::error::shape_text(shape),
                    data.len()
                ),
            ),
        });
    }
    let mut bytes = Vec::with_capacity(std::mem::size_of_val(data) + 128);
    let to_write = |bytes: &mut Vec<u8>| -> io::Result<()> {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(bytes)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    };
    to_write(&mut bytes).map_err(|source| Error::Write {
        path: path.into(),
        source,
    })?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so
/// readers see either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |source| Error::Write {
        path: path.into(),
        source,
    };
    let tmp = temporary_sibling(path);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist if creating it was what failed.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_error)
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_u8_and_f32() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        write_npy(&path, &[2, 3], &[0u8, 1, 2, 253, 254, 255]).unwrap();
        let a = read_npy(&path).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.dtype, "|u1");
        assert_eq!(a.values, vec![0.0, 1.0, 2.0, 253.0, 254.0, 255.0]);
        write_npy(&path, &[2], &[0.25f32, 0.5]).unwrap();
        let a = read_npy(&path).unwrap();
        assert_eq!((a.dtype.as_str(), a.kind), ("<f4", DtypeKind::Float));
        assert_eq!(a.values, vec![0.25, 0.5]);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file was renamed away");
    }

    #[test]
    fn shape_mismatch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let err = write_npy(&path, &[3], &[1u8, 2]).unwrap_err();
        assert!(matches!(err, Error::Write { .. }), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-folder").join("a.npy");
        let err = write_npy(&path, &[1], &[1u8]).unwrap_err();
        assert!(err.to_string().contains("no-such-folder"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
