//! The one error type of `craters-dataset`.

use std::path::PathBuf;

/// Everything that can go wrong while reading, checking, splitting or writing data.
///
/// Each variant names the file (or folder) it is about, so that a command-line tool can print
/// the error as one line and the user knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file or folder does not exist.
    #[error("{}: no such file or folder", .path.display())]
    MissingFile {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// The operating system refused to read or list it.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        /// The path being read.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file does not start with the npy magic string.
    #[error("{}: not an npy file (it does not start with \\x93NUMPY)", .path.display())]
    NotNpy {
        /// The file.
        path: PathBuf,
    },
    /// The npy header could not be parsed.
    #[error("{}: malformed npy header: {reason}", .path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The header promises more data than the file holds.
    #[error("{}: truncated: the header promises {expected} data bytes, the file holds {found}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the shape and dtype call for.
        expected: u64,
        /// Bytes present after the header.
        found: u64,
    },
    /// The dtype is not one this loader reads.
    #[error("{}: unsupported dtype {dtype}; expected {expected}", .path.display())]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The numpy type string found.
        dtype: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A multi-dimensional array stored in Fortran (column-major) order.
    #[error("{}: Fortran-order array; save it in C order (numpy.ascontiguousarray)", .path.display())]
    FortranOrder {
        /// The file.
        path: PathBuf,
    },
    /// A big-endian dtype.
    #[error("{}: big-endian dtype {dtype}; save it little-endian (arr.astype(arr.dtype.newbyteorder('<')))", .path.display())]
    BigEndian {
        /// The file.
        path: PathBuf,
        /// The numpy type string found.
        dtype: String,
    },
    /// The array does not have the shape that its role calls for.
    #[error("{}: shape {}; expected {expected}", .path.display(), shape_text(.shape))]
    WrongShape {
        /// The file.
        path: PathBuf,
        /// The shape found.
        shape: Vec<u64>,
        /// The shapes that would have been accepted.
        expected: &'static str,
    },
    /// Images and labels disagree on the number of samples.
    #[error("{}: {n_labels} labels for {n_images} images in {}", .labels.display(), .images.display())]
    LengthMismatch {
        /// Where the images came from.
        images: PathBuf,
        /// Number of images.
        n_images: usize,
        /// Where the labels came from.
        labels: PathBuf,
        /// Number of labels.
        n_labels: usize,
    },
    /// A label other than 0 or 1.
    #[error("{}: label {value} at index {index}; labels must be exactly 0 or 1", .path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Position of the first bad label.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// NaN or infinity where a number is needed.
    #[error("{}: non-finite value {value} at index {index}", .path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Position of the first such value.
        index: usize,
        /// The value (NaN or ±inf).
        value: f64,
    },
    /// A NaN or infinite pixel.
    #[error("{}: non-finite pixel {value} in sample {sample}, pixel {pixel}", .path.display())]
    NonFinitePixel {
        /// The file.
        path: PathBuf,
        /// Index of the patch.
        sample: usize,
        /// Index of the pixel within the patch (row-major).
        pixel: usize,
        /// The value (NaN or ±inf).
        value: f64,
    },
    /// A pixel outside the range its dtype implies.
    #[error("{}: pixel value {value} at index {index}; expected {expected}", .path.display())]
    PixelRange {
        /// The file.
        path: PathBuf,
        /// Position of the first such value.
        index: usize,
        /// The value.
        value: f64,
        /// The accepted range.
        expected: &'static str,
    },
    /// No samples at all.
    #[error("{}: empty set (0 samples)", .path.display())]
    Empty {
        /// The file or folder.
        path: PathBuf,
    },
    /// An image file that the `image` crate cannot decode.
    #[error("{}: unreadable image: {reason}", .path.display())]
    UnreadableImage {
        /// The image file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// An image whose header claims more pixels than may be decoded.
    #[error("{}: a {width} × {height} image is larger than the {limit_mib} MiB one decoded image may take", .path.display())]
    ImageTooLarge {
        /// The image file.
        path: PathBuf,
        /// Its width as the header states it.
        width: u32,
        /// Its height.
        height: u32,
        /// The limit.
        limit_mib: u64,
    },
    /// A GeoTIFF whose georeferencing cannot be used: an unsupported projection, an Earth
    /// datum, malformed geo keys.
    #[error("{}: georeferencing: {reason}", .path.display())]
    Georeference {
        /// The image file.
        path: PathBuf,
        /// What is wrong, naming the tag or key.
        reason: String,
    },
    /// An image in which every pixel is nodata.
    #[error("{}: every pixel is nodata; nothing to detect craters on", .path.display())]
    AllNodata {
        /// The image file.
        path: PathBuf,
    },
    /// A subfolder of a labelled image folder that is neither class.
    #[error("{}: unexpected class folder {name:?}; expected {positive:?} (label 1) and {negative:?} (label 0)", .path.display())]
    UnknownClassFolder {
        /// The image folder.
        path: PathBuf,
        /// The subfolder found.
        name: String,
        /// Folder name of class 1.
        positive: String,
        /// Folder name of class 0.
        negative: String,
    },
    /// A folder that holds no seed-layout npy file and no image folder.
    #[error("{}: no seed-layout npy files ({expected}) and no images found", .path.display())]
    NothingToLoad {
        /// The folder.
        path: PathBuf,
        /// The file names looked for.
        expected: &'static str,
    },
    /// A parameter outside its valid range.
    #[error("invalid {name} = {value}: expected {expected}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The accepted range.
        expected: &'static str,
    },
    /// A split that would leave one side without samples.
    #[error("split leaves the {side} set empty ({n} samples, validation fraction {fraction})")]
    EmptySplit {
        /// "training" or "validation".
        side: &'static str,
        /// Samples to split.
        n: usize,
        /// The validation fraction asked for.
        fraction: f64,
    },
    /// A CSV row that is not what its file calls for.
    #[error("{}: line {line}: {message}", .path.display())]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// HRSC layout parameters without a training tile.
    #[error("train_tiles is empty; name at least one tile")]
    NoTrainTiles,
    /// A tile named both for training and for testing.
    #[error("tile {tile} is in both train_tiles and test_tiles")]
    TileInBothSets {
        /// The tile.
        tile: String,
    },
    /// A test tile named as a source of unlabelled windows: its images would be trained on.
    #[error(
        "tile {tile} is in both test_tiles and extra_tiles (a tested tile's windows may not be trained on, even unlabelled)"
    )]
    TestTileUnlabelled {
        /// The tile.
        tile: String,
    },
    /// An output that exists, without `--force`.
    #[error("{}: exists; pass --force to replace it, or choose another --out", .path.display())]
    OutputExists {
        /// The output.
        path: PathBuf,
    },
    /// An existing folder that craters did not write: never replaced.
    #[error("{}: exists and was not written by craters (no {marker} marker); it is never replaced, even with --force: choose another --out", .path.display())]
    NotCratersOutput {
        /// The folder.
        path: PathBuf,
        /// The marker file it lacks.
        marker: &'static str,
    },
    /// An output that is, or holds, one of the command's inputs: never replaced.
    #[error("{}: holds the input {}; choose an --out outside the command's inputs", .path.display(), .input.display())]
    OutputHoldsInput {
        /// The output.
        path: PathBuf,
        /// The input it holds.
        input: PathBuf,
    },
    /// A folder output whose path is a file (or something else).
    #[error("{}: exists and is not a folder; choose another --out", .path.display())]
    OutputNotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A file output whose path is a folder (or something else).
    #[error("{}: exists and is not a file; choose another --out", .path.display())]
    OutputNotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A candidate or catalogue block that is no view of its tile.
    #[error("{}: block of half-side {r} at ({x}, {y}) does not fit the {width} × {height} tile; expected a half-side of 0.5 to the tile's larger side, overlapping the tile", .path.display())]
    BlockOffTile {
        /// The list the block came from.
        path: PathBuf,
        /// Centre column.
        x: f64,
        /// Centre row.
        y: f64,
        /// Half-side.
        r: f64,
        /// Tile width.
        width: usize,
        /// Tile height.
        height: usize,
    },
    /// The HRSC benchmark's folder does not exist.
    #[error("{}: no such folder (the HRSC benchmark; `craters data fetch hrsc --out DIR` downloads it)", .path.display())]
    NoBenchmark {
        /// The folder asked for.
        path: PathBuf,
    },
    /// A file of the HRSC benchmark that is missing, unreadable or not the benchmark's.
    #[error("{path} (from {source_name}): {problem}", path = .path.display())]
    BenchmarkFile {
        /// The file's path in the benchmark's layout.
        path: PathBuf,
        /// Where it was read from (a URL or a path).
        source_name: String,
        /// What is wrong.
        problem: String,
    },
    /// Writing an output failed; nothing was left at the destination.
    #[error("{}: cannot write: {source}", .path.display())]
    Write {
        /// The destination.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// `text` quoted for an error message, cut to its first 60 characters with "…": a 1 MB
/// line is not echoed back.
pub(crate) fn excerpt(text: &str) -> String {
    let (head, cut) = first_chars(text, 60);
    format!("{head:?}{}", if cut { "…" } else { "" })
}

/// A message from a parser or decoder cut to its first 200 characters with "…", so that
/// a malformed 60 KB header is not echoed back.
pub(crate) fn shorten(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let (head, cut) = first_chars(&text, 200);
    format!("{head}{}", if cut { "…" } else { "" })
}

/// The first `max` characters of `text`, and whether anything was cut.
fn first_chars(text: &str, max: usize) -> (&str, bool) {
    match text.char_indices().nth(max) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

/// A shape as numpy prints it: `(3,)`, `(10, 48, 48)`.
pub fn shape_text(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
