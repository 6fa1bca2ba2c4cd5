//! The HRSC crater benchmark of Bandeira, Ding & Stepinski (2012): five 1700×1700 tiles of
//! Mars Express HRSC image h0905_0000, their crater catalogues and ~4,200 labelled crater
//! candidates.
//!
//! Folder layout (as in `../shared/data/hrsc/`): `tiles/tile{T}.pgm`, `gt/{T}_gt.csv`
//! (`x,y,d`: centre and diameter) and `candidates/{T}_tp.csv` / `{T}_tn.csv` (`x,y,r`:
//! candidates that are / are not craters), no headers.
//!
//! **Block convention.** A candidate's block is the square `[x−r, x+r]²` of tile pixels
//! (side `2r+1`, `r` rounded to whole pixels), resized to 48×48 with a triangle
//! (antialiasing) filter — the benchmark's normalisation. The crater radius is about
//! `r / 2.2` ([`BLOCK_PER_CRATER_RADIUS`]). Pixels of a block that leave the tile are
//! filled by mirror reflection at the border ([`Border::Reflect`], the default); with
//! [`Border::Skip`] such blocks are left out and counted.

mod blocks;
mod folder;
mod layout;
mod manifest;
mod params;
mod samplers;
mod toy;

pub use blocks::{BLOCK_PER_CRATER_RADIUS, TILES};
pub use blocks::{BlockSource, Blocks, Border, candidate_blocks};
pub use folder::{
    Candidate, Crater, HrscFolder, MAX_COORDINATE, MAX_SIZE, parse_candidates, parse_catalogue,
    read_candidates, read_catalogue,
};
pub use layout::{LayoutSummary, MANIFEST, is_current, write_blocks_csv, write_layout};
pub use manifest::{
    BenchmarkFile, FILES, UPSTREAM_COMMIT, UPSTREAM_REPOSITORY, UPSTREAM_URL, sha256_hex, verify,
};
pub use params::{ExtraWindows, HrscParams, ValidHrscParams};
pub use samplers::{
    CANDIDATE_OVERLAP, CANDIDATE_VIEW_SCALE, CANDIDATE_VIEW_SHIFT, CATALOGUE_MIN_DIAMETER,
    MAX_VIEWS_PER_CANDIDATE, MIN_NEGATIVE_HALF_SIDE, NEAR_MISS_DISTANCE, RANDOM_HALF_SIDE, SAME_SCALE_FACTOR,
    WINDOW_HALF_SIDES, WRONG_SCALE_FACTOR, candidate_views, catalogue_blocks, unlabelled_blocks,
};
pub use toy::write_toy_benchmark;
