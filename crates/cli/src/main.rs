//! The `craters` command: parses arguments, calls the library crates, prints results.
//!
//! Errors are printed as one line on stderr (`craters: <file>: <problem>`) with exit code 1;
//! clap's own usage errors exit with 2.

mod args;
mod bench;
mod data;
mod detect;
mod evaluate;
mod predict;
mod progress;
mod reproduce;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, DataCommand};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("craters: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data { command } => match command {
            DataCommand::Inspect(args) => data::inspect(&args),
            DataCommand::Generate(args) => data::generate(&args),
            DataCommand::Preview(args) => data::preview(&args),
            DataCommand::Hrsc(args) => data::hrsc(&args),
        },
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Detect(args) => detect::run(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::Train(args) => reproduce::train(&args),
        Command::Selftrain(args) => reproduce::selftrain(&args),
        Command::Predict(args) => predict::run(&args),
    }
}
