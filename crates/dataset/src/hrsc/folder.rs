//! The benchmark folder and its CSV files: catalogues (`x,y,d`) and candidate lists
//! (`x,y,r`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, excerpt};
use crate::npy::read_error;
use crate::tile::{Stretch, Tile};

/// Paths of a benchmark folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrscFolder {
    pub(super) root: PathBuf,
    pub(super) stretch: Stretch,
}

impl HrscFolder {
    /// A benchmark folder at `root`; it must exist.
    pub fn open(root: &Path) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::NoBenchmark { path: root.into() });
        }
        Ok(HrscFolder {
            root: root.into(),
            stretch: Stretch::None,
        })
    }

    /// The same folder, its tiles read with `stretch` applied.
    pub fn with_stretch(self, stretch: Stretch) -> Self {
        HrscFolder { stretch, ..self }
    }

    /// The benchmark folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `tiles/tile{T}.pgm`.
    pub fn tile_path(&self, tile: &str) -> PathBuf {
        self.root.join("tiles").join(format!("tile{tile}.pgm"))
    }

    /// `gt/{T}_gt.csv`.
    pub fn catalogue_path(&self, tile: &str) -> PathBuf {
        self.root.join("gt").join(format!("{tile}_gt.csv"))
    }

    /// `candidates/{T}_tp.csv` (label 1) or `{T}_tn.csv` (label 0).
    pub fn candidates_path(&self, tile: &str, label: u8) -> PathBuf {
        let kind = if label == 1 { "tp" } else { "tn" };
        self.root.join("candidates").join(format!("{tile}_{kind}.csv"))
    }

    /// The tile image, stretched as the folder was opened with.
    pub fn tile(&self, tile: &str) -> Result<Tile> {
        Ok(Tile::load(&self.tile_path(tile))?.stretched(self.stretch))
    }

    /// The expert catalogue of a tile.
    pub fn catalogue(&self, tile: &str) -> Result<Vec<Crater>> {
        read_catalogue(&self.catalogue_path(tile))
    }

    /// The labelled candidates of a tile: craters (label 1) first, then the others.
    pub fn candidates(&self, tile: &str) -> Result<Vec<Candidate>> {
        let mut all = read_candidates(&self.candidates_path(tile, 1), 1)?;
        all.extend(read_candidates(&self.candidates_path(tile, 0), 0)?);
        Ok(all)
    }
}

/// A catalogued crater: centre and diameter in tile pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Crater {
    /// Column of the centre.
    pub x: f64,
    /// Row of the centre.
    pub y: f64,
    /// Diameter.
    pub diameter: f64,
}

/// A labelled crater candidate: centre and block half-side in tile pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    /// Column of the centre.
    pub x: f64,
    /// Row of the centre.
    pub y: f64,
    /// Half-side of the block.
    pub r: f64,
    /// 1 = crater, 0 = not a crater.
    pub label: u8,
}

/// The largest |x| or |y| a catalogue or candidate row may have, in pixels: no image is
/// larger than ten million pixels on a side.
pub const MAX_COORDINATE: f64 = 1e7;
/// The largest diameter or block half-side a row may have, in pixels.
pub const MAX_SIZE: f64 = 1e5;

/// Reads a headerless CSV of three positive finite numbers per row; the third must be
/// positive. Blank lines are skipped; anything else is an error naming file and line.
fn read_triples(path: &Path, columns: &'static str) -> Result<Vec<[f64; 3]>> {
    let text = fs::read_to_string(path).map_err(|source| read_error(path, source))?;
    parse_triples(path, &text, columns)
}

/// The rows of [`read_triples`] from the file's text.
fn parse_triples(path: &Path, text: &str, columns: &'static str) -> Result<Vec<[f64; 3]>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| Error::BadRow {
            path: path.into(),
            line: i + 1,
            message,
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 3 {
            return Err(bad(format!(
                "{} fields in {}; expected 3 ({columns})",
                fields.len(),
                excerpt(line)
            )));
        }
        let mut row = [0.0; 3];
        for (value, field) in row.iter_mut().zip(&fields) {
            *value = field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("{} is not a finite number ({columns})", excerpt(field))))?;
        }
        if let Some(v) = row[..2].iter().find(|v| v.abs() > MAX_COORDINATE) {
            return Err(bad(format!(
                "coordinate {v} is farther than {MAX_COORDINATE} px from the image ({columns})"
            )));
        }
        if !(row[2] > 0.0 && row[2] <= MAX_SIZE) {
            return Err(bad(format!(
                "size {}; expected more than 0 and at most {MAX_SIZE} px ({columns})",
                row[2]
            )));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(rows)
}

/// Reads a catalogue: rows `x,y,d` (centre, diameter in pixels).
pub fn read_catalogue(path: &Path) -> Result<Vec<Crater>> {
    Ok(read_triples(path, "x,y,d")?.into_iter().map(crater).collect())
}

/// A catalogue from its text; `path` names it in errors.
pub fn parse_catalogue(path: &Path, text: &str) -> Result<Vec<Crater>> {
    Ok(parse_triples(path, text, "x,y,d")?
        .into_iter()
        .map(crater)
        .collect())
}

fn crater([x, y, diameter]: [f64; 3]) -> Crater {
    Crater { x, y, diameter }
}

/// Reads a candidate list: rows `x,y,r` (centre, block half-side), all with `label`.
pub fn read_candidates(path: &Path, label: u8) -> Result<Vec<Candidate>> {
    parse_candidates(
        path,
        &fs::read_to_string(path).map_err(|e| read_error(path, e))?,
        label,
    )
}

/// A candidate list from its text; `path` names it in errors.
pub fn parse_candidates(path: &Path, text: &str, label: u8) -> Result<Vec<Candidate>> {
    Ok(parse_triples(path, text, "x,y,r")?
        .into_iter()
        .map(|[x, y, r]| Candidate { x, y, r, label })
        .collect())
}
