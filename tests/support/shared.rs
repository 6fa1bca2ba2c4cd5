//! The shared real data beside the checkout, for the tests of the member crates (included
//! with `#[path = …] mod shared;`).

use std::path::{Path, PathBuf};

/// `../shared/<path>` beside the checkout. CI always has it, so there its absence fails the
/// test; elsewhere the test is skipped with the reason printed.
pub fn shared(path: &str) -> Option<PathBuf> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path);
    if full.exists() {
        return Some(full);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing; CI must have it",
        full.display()
    );
    eprintln!("skipped: {} is absent (the real HRSC data)", full.display());
    None
}
