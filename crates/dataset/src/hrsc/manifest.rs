//! The benchmark's files: where the public repository keeps each one, its size and its
//! sha256, so that a copy fetched from anywhere can be checked byte for byte.
//!
//! The sums are those of the copies this project was developed on (`../shared/data/hrsc/`,
//! whose README lists the tiles' sums too). The repository is `ieee8023/CraterDataset`:
//! tiles in `urbach2009_tile_images/`, catalogues in `bandeira2010_gt/`, candidate lists in
//! `bandeira2010_candidates/`, under the same file names as the local layout.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The public repository the benchmark comes from.
pub const UPSTREAM_REPOSITORY: &str = "ieee8023/CraterDataset";

/// The commit of [`UPSTREAM_REPOSITORY`] the default download reads (pinned, so that the
/// sums below keep matching).
pub const UPSTREAM_COMMIT: &str = "8d04559c87709e74777c9f9e5ba4edd5be3843f5";

/// Where `craters data fetch hrsc` downloads from by default: raw files of
/// [`UPSTREAM_REPOSITORY`] at [`UPSTREAM_COMMIT`].
pub const UPSTREAM_URL: &str =
    "https://raw.githubusercontent.com/ieee8023/CraterDataset/8d04559c87709e74777c9f9e5ba4edd5be3843f5";

/// One file of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchmarkFile {
    /// Its path in the local layout (`tiles/`, `gt/`, `candidates/`).
    pub path: &'static str,
    /// Its path in [`UPSTREAM_REPOSITORY`].
    pub upstream: &'static str,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256, lowercase hex.
    pub sha256: &'static str,
}

const fn file(path: &'static str, upstream: &'static str, bytes: u64, sha256: &'static str) -> BenchmarkFile {
    BenchmarkFile {
        path,
        upstream,
        bytes,
        sha256,
    }
}

/// The 20 files: five tiles, five catalogues, ten candidate lists.
pub const FILES: [BenchmarkFile; 20] = [
    file(
        "tiles/tile1_24.pgm",
        "urbach2009_tile_images/tile1_24.pgm",
        2890017,
        "69670909c13b442346295030d6f17ff52a97e941b222ec98ea3ffa33db3ec016",
    ),
    file(
        "tiles/tile1_25.pgm",
        "urbach2009_tile_images/tile1_25.pgm",
        2890017,
        "d97270481cb63ecfd4c623ba64e1170accd0f8b7d9e0460306f4de5378d6cb75",
    ),
    file(
        "tiles/tile2_24.pgm",
        "urbach2009_tile_images/tile2_24.pgm",
        2890017,
        "6dcbdd40fc6f9a2dde59208887e89940e2cd85be4a0e41100cedbe0edb281cd4",
    ),
    file(
        "tiles/tile2_25.pgm",
        "urbach2009_tile_images/tile2_25.pgm",
        2890017,
        "7e120f2e7a1e976335ded1ebbc7d07974c1cf3b92f99e0e3c6d5ce6667cd0b9c",
    ),
    file(
        "tiles/tile3_24.pgm",
        "urbach2009_tile_images/tile3_24.pgm",
        2890017,
        "8d4275e549204d81ffcbf9f0dbc704e776552e8ed8ed354c66b6f7ed6e71a4c0",
    ),
    file(
        "gt/1_24_gt.csv",
        "bandeira2010_gt/1_24_gt.csv",
        14573,
        "77b3f557f68bfc5aeb4e85a2339bb4a5afc0e948b2232133b9883f1fa9fb5396",
    ),
    file(
        "gt/1_25_gt.csv",
        "bandeira2010_gt/1_25_gt.csv",
        24550,
        "d11a52b96c1cc0fa4d2aafe344db4c8a3aec85f52435861072c8f5e9e3a757fb",
    ),
    file(
        "gt/2_24_gt.csv",
        "bandeira2010_gt/2_24_gt.csv",
        6649,
        "adce93b44041cfedfd38db5b075cd8e675b1a21d5272f566a96debd149fa2d7b",
    ),
    file(
        "gt/2_25_gt.csv",
        "bandeira2010_gt/2_25_gt.csv",
        7683,
        "a39a5e453bc9a97ef5a82ccc2c1905f0c289cf513cc0d4421006b4a7acda5324",
    ),
    file(
        "gt/3_24_gt.csv",
        "bandeira2010_gt/3_24_gt.csv",
        7861,
        "d6a99d5a036512427cc80c06d3843000d8506fbc89d15d029c7e87d0e176c8cf",
    ),
    file(
        "candidates/1_24_tn.csv",
        "bandeira2010_candidates/1_24_tn.csv",
        7196,
        "11600099b5c314da54eba7c872d7b780ccd21ee2a2bb2694146aa71441c65673",
    ),
    file(
        "candidates/1_24_tp.csv",
        "bandeira2010_candidates/1_24_tp.csv",
        5616,
        "ad8ee264b2c5ff33813c969ea7b34e5440b718e24b75d38b56f1dfb38bd3ec42",
    ),
    file(
        "candidates/1_25_tn.csv",
        "bandeira2010_candidates/1_25_tn.csv",
        8981,
        "2c2dc3cd6cd3245254ca4b30692671e59352ffae19cb7b9a0bf61c090d0a439b",
    ),
    file(
        "candidates/1_25_tp.csv",
        "bandeira2010_candidates/1_25_tp.csv",
        7665,
        "3e6df425de9839abdd748b0898a0fd6296960a33053efc39a1fc96d591c59c28",
    ),
    file(
        "candidates/2_24_tn.csv",
        "bandeira2010_candidates/2_24_tn.csv",
        4142,
        "d9cf3999e69ed0b8407aecb62ccbfb12f678fb947210854de85234d5cd9e3982",
    ),
    file(
        "candidates/2_24_tp.csv",
        "bandeira2010_candidates/2_24_tp.csv",
        2546,
        "d81089bf7c6248a6cdc63970f2d7a75fecc32acde516203b86f6c056ec19e3d2",
    ),
    file(
        "candidates/2_25_tn.csv",
        "bandeira2010_candidates/2_25_tn.csv",
        4456,
        "581d84dbd562366a50b7f1e2aed7f4326bf79510e140dd6b4527bba3810fcafb",
    ),
    file(
        "candidates/2_25_tp.csv",
        "bandeira2010_candidates/2_25_tp.csv",
        2557,
        "32d79c8387d6976017b8898cebc74fb5bf6d222f069d6845145e362e7c3467ef",
    ),
    file(
        "candidates/3_24_tn.csv",
        "bandeira2010_candidates/3_24_tn.csv",
        3446,
        "9fee00e78013265564a85c7bdacdd8a376dcf6bda84a454d6c66c2c2d1e94adc",
    ),
    file(
        "candidates/3_24_tp.csv",
        "bandeira2010_candidates/3_24_tp.csv",
        2411,
        "a51d013d0babc7de44b4c92f6e6b3e57356600cf80e215f69425c637b48c6d6d",
    ),
];

/// The sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl BenchmarkFile {
    /// Checks a copy of this file (read from `source`, named in the error) by size and sha256.
    pub fn check(&self, bytes: &[u8], source: &str) -> Result<()> {
        let problem = if bytes.len() as u64 != self.bytes {
            format!("{} bytes, expected {}", bytes.len(), self.bytes)
        } else {
            let actual = sha256_hex(bytes);
            if actual == self.sha256 {
                return Ok(());
            }
            format!("sha256 {actual}, expected {}", self.sha256)
        };
        Err(Error::BenchmarkFile {
            path: self.path.into(),
            source_name: source.into(),
            problem: format!("{problem}: not the benchmark's file (changed or damaged)"),
        })
    }

    /// Reads this file from `reader`, refusing more than its size (a wrong URL can serve a
    /// page of any length), and checks it.
    pub fn read_checked(&self, reader: impl Read, source: &str) -> Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(self.bytes as usize);
        reader
            .take(self.bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::BenchmarkFile {
                path: self.path.into(),
                source_name: source.into(),
                problem: format!("cannot read: {e}"),
            })?;
        self.check(&bytes, source)?;
        Ok(bytes)
    }
}

/// Checks every file of the benchmark under `root` (local layout) by size and sha256.
pub fn verify(root: &Path) -> Result<()> {
    for file in &FILES {
        let path = root.join(file.path);
        let name = path.display().to_string();
        let opened = std::fs::File::open(&path).map_err(|e| Error::BenchmarkFile {
            path: file.path.into(),
            source_name: name.clone(),
            problem: format!("cannot open: {e}"),
        })?;
        file.read_checked(opened, &name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_copy_of_another_size_or_content_is_refused_by_name() {
        let f = BenchmarkFile {
            path: "gt/x.csv",
            upstream: "bandeira2010_gt/x.csv",
            bytes: 3,
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        assert!(f.check(b"abc", "mirror").is_ok());
        let size = f.check(b"abcd", "mirror").unwrap_err().to_string();
        assert!(
            size.contains("gt/x.csv") && size.contains("4 bytes, expected 3"),
            "{size}"
        );
        let content = f.check(b"abd", "mirror").unwrap_err().to_string();
        assert!(
            content.contains("sha256") && content.contains("mirror"),
            "{content}"
        );
        // Reading stops one byte past the size: a huge answer is never held.
        let long = f
            .read_checked(std::io::repeat(b'a'), "endless")
            .unwrap_err()
            .to_string();
        assert!(long.contains("4 bytes, expected 3"), "{long}");
    }

    #[test]
    fn every_file_is_listed_once_in_both_layouts() {
        let mut paths: Vec<_> = FILES.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), FILES.len());
        for f in &FILES {
            let name = f.path.rsplit('/').next().unwrap();
            assert!(f.upstream.ends_with(name), "{f:?}");
            assert_eq!(f.sha256.len(), 64);
        }
    }
}
