//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Find impact craters on Mars in 48×48 orbital image patches.
#[derive(Debug, Parser)]
#[command(name = "craters", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look at data sets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Score probabilities against 0/1 labels (precision, recall, F1, AP, ROC AUC, ...).
    Evaluate(EvaluateArgs),
    /// Train stage 1 (the labelled split alone) into a model folder.
    Train(StageArgs),
    /// Stage 1, pseudo-labelling of the extra set, stage 2: models, history and test
    /// predictions in a folder (no report; see `reproduce`).
    Selftrain(StageArgs),
    /// Predict crater probabilities with a trained model folder (models/final of a run).
    Predict(PredictArgs),
    /// Run the whole seed experiment (data, stage 1, self-training, stage 2, prediction,
    /// evaluation) into a run folder with metrics.json, history.csv, models, report.md and
    /// plots.
    Reproduce(ReproduceArgs),
    /// Find craters on a whole image (a GeoTIFF, or a PGM/PNG/JPEG) with the shipped detector
    /// or --model: a crater catalogue (craters.csv with longitude, latitude and diameter in
    /// km; craters.scc for craterstats; a shapefile pair for GIS), its size-frequency
    /// distribution (csfd.csv, csfd.png), hypotheses.csv, overlay.png, metrics.json; with a
    /// catalogue, precision, recall and F1.
    Detect(DetectArgs),
    /// Train a crater detector on the HRSC benchmark tiles (a proposal network, hard
    /// examples mined where it fires, an ensemble, a threshold from the training tiles) into
    /// a detector folder for `detect --model`; with --leave-one-out, one detector per tile
    /// left out and the held-out table.
    TrainDetector(TrainDetectorArgs),
    /// Time training and inference of the seed network on generated patches (compare with
    /// the PyTorch and Keras peer scripts: same keys under --json).
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Images per training step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Epochs; the first one is a warm-up and not timed.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Generated training images.
    #[arg(long, default_value_t = 3000)]
    pub n_train: usize,
    /// Seed of the data, the weights and the run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Convolution kernels: `fused` (custom ops) or `candle` (candle's own ops, the reference).
    #[arg(long, value_enum, default_value_t = KernelsArg::Fused)]
    pub kernels: KernelsArg,
    /// Print one JSON line (the peer scripts' keys) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Time detection instead: the dense and the per-window scan of --tile with --model, in
    /// alternating rounds, side by side.
    #[arg(long, requires_all = ["model", "tile"])]
    pub detect: bool,
    /// Model folder for --detect.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Image for --detect.
    #[arg(long)]
    pub tile: Option<PathBuf>,
    /// Alternating rounds of --detect or --peers (medians reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Compare with the PyTorch and Keras twins of the seed network: craters and both peer
    /// scripts run alternately, on the same generated images and thread settings, for each
    /// of --thread-counts, and a side-by-side table of medians and spreads is printed.
    #[arg(long, conflicts_with_all = ["detect", "json", "threads"])]
    pub peers: bool,
    /// Folder of the peer scripts (torch_cnn.py, keras_cnn.py).
    #[arg(long, default_value = "../shared/peer")]
    pub peer_dir: PathBuf,
    /// Python interpreter with torch and tensorflow-cpu installed, for --peers.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Thread counts for --peers, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub thread_counts: Vec<usize>,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check and summarise a seed-layout folder, an image folder or one npy file.
    Inspect(InspectArgs),
    /// Generate the default data: Mars-like crater patches in the seed layout.
    Generate(GenerateArgs),
    /// Draw a PNG grid of random patches per set and class.
    Preview(PreviewArgs),
    /// Cut the real HRSC benchmark's candidate blocks into a seed-layout folder (plus
    /// blocks.csv naming each row's tile, x, y, r).
    Hrsc(HrscArgs),
    /// Download a public data set and check every file's sha256 (today: `hrsc`, the
    /// benchmark of five HRSC tiles, their catalogues and candidate lists).
    Fetch(FetchArgs),
}

/// Data sets `craters data fetch` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FetchWhat {
    /// The HRSC crater benchmark (Bandeira, Ding & Stepinski 2012), 20 files, 14.5 MB.
    Hrsc,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The data set.
    #[arg(value_enum)]
    pub what: FetchWhat,
    /// Folder to create (tiles/, gt/, candidates/).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to read from instead of the public repository: an http(s) URL or a folder
    /// (a path or file:// URL) holding its files, in its layout or in the benchmark's.
    #[arg(long)]
    pub from: Option<String>,
    /// Replace --out if craters wrote it before.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct HrscArgs {
    /// The benchmark folder (tiles/, gt/, candidates/).
    #[arg(long, default_value = "../shared/data/hrsc")]
    pub root: PathBuf,
    /// Tiles whose candidates become the labelled set (Xtrain1/Ytrain1), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1_24,1_25,2_24,2_25")]
    pub tiles: Vec<String>,
    /// Tiles whose candidates become the test set (Xtest1, labels in Ytest1_hidden), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub test_tiles: Vec<String>,
    /// Tiles whose windows become the unlabelled set instead of the training tiles' (their
    /// labels are not read; never a test tile), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub extra_tiles: Vec<String>,
    /// Unlabelled windows of the training tiles (or of --extra-tiles) for self-training (Xtrain1_extra).
    #[arg(long, default_value_t = 3000)]
    pub n_extra: usize,
    /// Seed of the unlabelled windows' draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the unlabelled windows lie: a grid away from the candidates, or shifted and
    /// rescaled views of the training tiles' (or --extra-tiles') candidates (labels not read).
    #[arg(long, value_enum, default_value_t = ExtraWindowsArg::Grid)]
    pub extra_windows: ExtraWindowsArg,
    /// Leave out candidate blocks that leave the tile instead of reflecting at the border.
    #[arg(long)]
    pub skip_border: bool,
    /// Detection training: also label every catalogued crater ≥ 16 px of the training tiles.
    #[arg(long)]
    pub catalogue_positives: bool,
    /// Detection training: also add this many windows the catalogue says hold no crater.
    #[arg(long, default_value_t = 0)]
    pub catalogue_negatives: usize,
    /// Gray values of the blocks: as the tile holds them, the tile standardised as a whole
    /// (for `input_norm = "per_tile"`), or each pixel over the 48×48 square around it (for
    /// `input_norm = "local"`).
    #[arg(long, value_enum, default_value_t = StretchArg::None)]
    pub stretch: StretchArg,
    /// The folder to write (an existing one only with --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output that craters wrote (a folder that holds an input, or files
    /// craters did not write, is never replaced).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TrainDetectorArgs {
    /// The recipe (TOML; unknown keys are errors) [default: the built-in recipe, as
    /// configs/detector.toml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The benchmark folder, instead of the recipe's `[data] root`.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Folder to create: the detector (member-N/, card.toml, training.json), or with
    /// --leave-one-out one detector per tile and leave-one-out.md.
    #[arg(long)]
    pub out: PathBuf,
    /// Train once per tile of the recipe, leaving it out, and score it.
    #[arg(long)]
    pub leave_one_out: bool,
    /// Replace --out if craters wrote it before.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The image: a GeoTIFF (8/16-bit integer or float samples, equirectangular, sinusoidal
    /// or geographic, with nodata), or a PGM, PNG or JPEG (up to 512 Mpx).
    #[arg(
        value_name = "IMAGE",
        required_unless_present = "tile",
        conflicts_with = "tile"
    )]
    pub image: Option<PathBuf>,
    /// The image (the older spelling of IMAGE).
    #[arg(long, hide = true)]
    pub tile: Option<PathBuf>,
    /// Model folder (model.safetensors + config.json, optional card.toml), e.g.
    /// runs/hrsc-detect/models/final; without it, the shipped detector (models/hrsc-detector).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Metres per pixel of an image without georeferencing (diameters in km, the CSFD).
    #[arg(long, value_name = "METRES")]
    pub pixel_size: Option<f64>,
    /// Longitude (degrees east) of such an image's centre (with --lat and --pixel-size:
    /// longitudes, latitudes, craters.scc and the shapefiles).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    pub lon: Option<f64>,
    /// Latitude (degrees north) of such an image's centre.
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    pub lat: Option<f64>,
    /// Scan an image whose ground sampling is more than 4 × off the detector's.
    #[arg(long)]
    pub any_gsd: bool,
    /// Crater catalogue (CSV rows x,y,d, no header) to score the detections against.
    #[arg(long)]
    pub catalogue: Option<PathBuf>,
    /// Output folder (an existing one only with --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output that craters wrote (a folder that holds an input, or files
    /// craters did not write, is never replaced).
    #[arg(long)]
    pub force: bool,

    /// Detection settings (TOML, the keys of craters_detect::DetectConfig; unknown keys are errors).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// How windows are scored: dense (one fully convolutional pass per level), windows
    /// (each on its own, the reference) or auto (dense when the model allows it); overrides
    /// the config.
    #[arg(long, value_enum)]
    pub scan: Option<ScanArg>,
    /// Side of the pieces a big image is scanned in, image pixels (overrides the config).
    #[arg(long)]
    pub piece: Option<usize>,
    /// Operating threshold: detections scoring ≥ this go to craters.csv, the figures and
    /// the overlay (overrides the config and the model card; hypotheses.csv keeps them all).
    #[arg(long)]
    pub threshold: Option<f64>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A folder in the seed layout (Xtrain1.npy, Ytrain1.npy, ...), an image folder, or an npy file.
    pub path: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Subfolder of class 1 in a labelled image folder.
    #[arg(long, default_value = "crater")]
    pub positive_class: String,
    /// Subfolder of class 0 in a labelled image folder.
    #[arg(long, default_value = "non-crater")]
    pub negative_class: String,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// 1-D npy file of 0/1 labels (any integer, float or bool dtype).
    #[arg(long)]
    pub labels: PathBuf,
    /// 1-D npy file of scores (probabilities of class 1), same length as the labels.
    #[arg(long)]
    pub scores: PathBuf,
    /// Predict a crater when score >= threshold.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write Xtrain1.npy, Ytrain1.npy, Xtrain1_extra.npy, Xtest1.npy, the hidden labels and manifest.json into.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the generator; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Labelled patches.
    #[arg(long, default_value_t = 3000)]
    pub n_train: usize,
    /// Unlabelled extra patches for self-training (their labels go to Ytrain1_extra_hidden.npy).
    #[arg(long, default_value_t = 3000)]
    pub n_extra: usize,
    /// Test patches (their labels go to Ytest1_hidden.npy).
    #[arg(long, default_value_t = 1000)]
    pub n_test: usize,
    /// Share of craters in every set.
    #[arg(long, default_value_t = 0.64)]
    pub positive_fraction: f64,
    /// Replace an existing output that craters wrote (a folder that holds an input, or files
    /// craters did not write, is never replaced).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// A seed-layout folder or one npy file of patches.
    pub path: PathBuf,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Patches per row (one row per set and class).
    #[arg(long, default_value_t = 16)]
    pub per_row: usize,
    /// Seed of the random choice of patches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace an existing PNG (never one of the inputs).
    #[arg(long)]
    pub force: bool,
}

/// `--kernels` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelsArg {
    /// Fused custom ops.
    Fused,
    /// candle's own ops.
    Candle,
}

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Run folder [default: runs/<config name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Training seeds, comma-separated (overrides `seeds`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Replace an existing run folder that craters wrote (once the new run has finished).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct StageArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Output folder (for `train`: a model folder for `craters predict --model`).
    #[arg(long)]
    pub out: PathBuf,
    /// Training seed [default: the config's first seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replace an existing output that craters wrote (a folder that holds an input, or files
    /// craters did not write, is never replaced).
    #[arg(long)]
    pub force: bool,
}

/// The experiment config and the original script's knobs, which override it.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// Experiment config (TOML; unknown keys are errors).
    #[arg(long, default_value = "configs/default.toml")]
    pub config: PathBuf,
    /// Stage-1 learning rate (the original's --initial_lr).
    #[arg(long)]
    pub initial_lr: Option<f64>,
    /// Stage-2 learning rate (--final_lr).
    #[arg(long)]
    pub final_lr: Option<f64>,
    /// Stage-1 epochs (--initial_epochs).
    #[arg(long)]
    pub initial_epochs: Option<usize>,
    /// Stage-2 epochs (--final_epochs).
    #[arg(long)]
    pub final_epochs: Option<usize>,
    /// Decision threshold on the crater probability (--threshold_initial/--threshold_final).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Pseudo-label p < this as class 0 (the seed: 0.25).
    #[arg(long)]
    pub pseudo_neg: Option<f64>,
    /// Pseudo-label p > this as class 1 (off in the seed).
    #[arg(long)]
    pub pseudo_pos: Option<f64>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model folder (model.safetensors + config.json), e.g. runs/default/models/final.
    #[arg(long)]
    pub model: PathBuf,
    /// A seed-layout folder (predicts Xtest1.npy), one npy file of patches, or a folder of
    /// images (read in lexicographic order of their relative paths).
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder: scores.npy (float32 probabilities), y_pred_final.npy (0/1) and, for
    /// image folders, files.txt (one relative path per row, in output order).
    #[arg(long)]
    pub out: PathBuf,
    /// Predict a crater at probability ≥ this.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Replace an existing output that craters wrote (a folder that holds an input, or files
    /// craters did not write, is never replaced).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanArg {
    Auto,
    Dense,
    Windows,
}

impl From<ScanArg> for craters_detect::ScanMethod {
    fn from(arg: ScanArg) -> Self {
        match arg {
            ScanArg::Auto => craters_detect::ScanMethod::Auto,
            ScanArg::Dense => craters_detect::ScanMethod::Dense,
            ScanArg::Windows => craters_detect::ScanMethod::Windows,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StretchArg {
    None,
    Standardise,
    Local,
}

impl From<StretchArg> for craters_dataset::Stretch {
    fn from(arg: StretchArg) -> Self {
        match arg {
            StretchArg::None => craters_dataset::Stretch::None,
            StretchArg::Standardise => craters_dataset::Stretch::Standardise,
            StretchArg::Local => craters_dataset::Stretch::Local,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExtraWindowsArg {
    Grid,
    Candidates,
}

impl From<ExtraWindowsArg> for craters_dataset::hrsc::ExtraWindows {
    fn from(arg: ExtraWindowsArg) -> Self {
        match arg {
            ExtraWindowsArg::Grid => craters_dataset::hrsc::ExtraWindows::Grid,
            ExtraWindowsArg::Candidates => craters_dataset::hrsc::ExtraWindows::Candidates,
        }
    }
}
