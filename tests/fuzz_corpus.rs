//! The fuzz targets' property on every `cargo test`: any input gives `Ok` or a clean error,
//! never a panic, an abort or a hang. The committed corpus (`fuzz/corpus/<target>/`, the
//! seeds of `fuzz/make_seeds.py` and what `cargo fuzz` found and kept) is replayed through
//! the same entry points as the fuzz targets, and proptest adds arbitrary and mutated bytes.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

/// A fuzzed entry point.
type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("npy", harness::npy),
    ("image", harness::image),
    ("geotiff", harness::geotiff),
    ("csv", harness::csv),
    ("model", harness::model),
    ("config", harness::config),
];

/// The time bound of one input, generous for an unoptimised test build.
const TIME_BOUND: Duration = Duration::from_secs(20);

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_committed_corpus_gives_ok_or_a_clean_error_in_time() {
    for (target, run) in TARGETS {
        let files = corpus(target);
        assert!(!files.is_empty(), "fuzz/corpus/{target} is empty");
        for (name, bytes) in files {
            let started = Instant::now();
            run(&bytes);
            let took = started.elapsed();
            assert!(took < TIME_BOUND, "{target}/{name} took {took:?}");
        }
    }
}

/// A corpus file with some bytes overwritten.
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let files = corpus(target);
    (
        0..files.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    )
        .prop_map(move |(file, edits)| {
            let mut bytes = files[file].1.clone();
            if !bytes.is_empty() {
                for (at, value) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_give_ok_or_a_clean_error(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for (_, run) in TARGETS {
            run(&bytes);
        }
    }

    #[test]
    fn mutated_npy_files(bytes in mutated("npy")) { harness::npy(&bytes) }

    #[test]
    fn mutated_images(bytes in mutated("image")) { harness::image(&bytes) }

    #[test]
    fn mutated_geotiffs(bytes in mutated("geotiff")) { harness::geotiff(&bytes) }

    #[test]
    fn mutated_csv(bytes in mutated("csv")) { harness::csv(&bytes) }

    #[test]
    fn mutated_models(bytes in mutated("model")) { harness::model(&bytes) }

    #[test]
    fn mutated_configs(bytes in mutated("config")) { harness::config(&bytes) }
}
