//! Helpers shared by the integration tests: raw npy files written byte by byte, so that
//! malformed and exotic files (Fortran order, big-endian, truncated) can be made too, and
//! the shared real data beside the checkout.
#![allow(dead_code)] // each test file uses its own share of them

use std::path::{Path, PathBuf};

/// Writes an npy (version 1.0) file with the given header fields and raw data bytes.
pub fn raw_npy(dir: &Path, name: &str, descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> PathBuf {
    let shape_str = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_str}, }}");
    // Pad so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `n` uint8 patches of 2304 pixels, pixel value = (sample + pixel) mod 256.
pub fn u8_patches(n: usize) -> Vec<u8> {
    (0..n * 2304)
        .map(|i| ((i / 2304 + i % 2304) % 256) as u8)
        .collect()
}

/// Little-endian bytes of f64 values.
pub fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes of f32 values.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[path = "../../../../tests/support/shared.rs"]
mod shared_data;
#[allow(unused_imports)] // each test file uses its own share of the helpers
pub use shared_data::shared;
