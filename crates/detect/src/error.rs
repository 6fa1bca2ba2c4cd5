//! The one error type of this crate.

use std::path::PathBuf;

use craters_dataset::PATCH_SIDE;

/// What can go wrong detecting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting outside its range.
    #[error("detect config: {name} = {value}: expected {expected}")]
    InvalidParam {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A settings file that is not TOML of a [`DetectConfig`](crate::DetectConfig) (unknown keys included).
    #[error("{}: {message}", .path.display())]
    ConfigSyntax {
        /// The settings file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// Reading a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A training tile on which the detector found no catalogued crater at any score.
    #[error(
        "tile {tile}: the detector found none of its catalogued craters, so no threshold can be chosen there"
    )]
    NoCraterFound {
        /// The tile.
        tile: String,
    },
    /// A detector of no networks.
    #[error("a detector needs at least one network")]
    NoMembers,
    /// A detector folder with more members than [`MAX_MEMBERS`](crate::MAX_MEMBERS).
    #[error("{}: more than {max} member-N folders", .path.display())]
    TooManyMembers {
        /// The detector folder.
        path: PathBuf,
        /// The most accepted.
        max: usize,
    },
    /// Ensemble members of different architectures or inputs.
    #[error(
        "ensemble member {member} differs from member 1 in its config.json: every member must share the architecture and the input normalisation"
    )]
    MemberMismatch {
        /// The first differing member, counted from 1.
        member: usize,
    },
    /// A model whose input is not the 48×48 patch.
    #[error("{}: the model takes {input} px images; detection cuts {PATCH_SIDE}×{PATCH_SIDE} windows", .path.display())]
    ModelInput {
        /// The model folder.
        path: PathBuf,
        /// Its input side.
        input: usize,
    },
    /// An image smaller than the smallest detection window.
    #[error(
        "the image is {width} × {height} px, smaller than the smallest window ({window} px, for min_diameter); nothing to scan"
    )]
    ImageTooSmall {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// The smallest window's side.
        window: f64,
    },
    /// A piece of a pyramid level too large to hold.
    #[error(
        "detect config: min_diameter {diameter} with piece {piece} needs level pieces of {pixels} pixels, more than 268,435,456; raise min_diameter or lower piece"
    )]
    LevelTooLarge {
        /// The smallest diameter.
        diameter: f64,
        /// The piece side.
        piece: usize,
        /// The level pixels of the largest piece.
        pixels: usize,
    },
    /// The overlay picture could not be encoded.
    #[error("{}: cannot encode the overlay: {message}", .path.display())]
    Encode {
        /// The picture.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
    /// The image cannot be placed as asked (a pixel size for a georeferenced image, a
    /// position without a pixel size), or its ground sampling is far from the detector's.
    #[error("{}: {message}", .path.display())]
    Placement {
        /// The image.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A window of a mosaic that does not hold the pixels its core's scan reads.
    #[error(
        "the window of {width} × {height} pixels at ({x0}, {y0}) does not hold image pixels {needed}; load the window core_source gives"
    )]
    WindowTooSmall {
        /// Image columns × rows needed.
        needed: String,
        /// The window's first column.
        x0: usize,
        /// Its first row.
        y0: usize,
        /// Its width.
        width: usize,
        /// Its height.
        height: usize,
    },
    /// A core rectangle that is not inside the image.
    #[error("core {core} is not inside the {width} × {height} image")]
    CoreOffImage {
        /// The core asked for.
        core: String,
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
    },
    /// A model that standardises the whole image, asked to scan a window of one.
    #[error(
        "the model standardises the image as a whole (input_norm = \"per_tile\"); scan the whole image, not a window of it"
    )]
    NeedsWholeImage,
    /// Bad tile, catalogue or output.
    #[error(transparent)]
    Data(#[from] craters_dataset::Error),
    /// Bad detections for scoring, or a bad matching rule.
    #[error(transparent)]
    Metrics(#[from] craters_metrics::Error),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] craters_model::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
