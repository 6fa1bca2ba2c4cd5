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
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check and summarise a seed-layout folder, an image folder or one npy file.
    Inspect(InspectArgs),
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
