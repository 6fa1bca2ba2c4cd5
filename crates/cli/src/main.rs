//! The `craters` command: parses arguments, calls the library crates, prints results.
//!
//! Errors are printed as one line on stderr (`craters: <file>: <problem>`) with exit code 1;
//! clap's own usage errors exit with 2.

mod args;
mod bench;
mod bench_peers;
mod data;
mod detect;
mod evaluate;
mod fetch;
mod predict;
mod progress;
mod reproduce;
mod train_detector;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, DataCommand};

fn main() -> ExitCode {
    one_thread_pool();
    let cli = Cli::parse();
    // Ctrl-C or a termination signal: remove the outputs still being built, so an
    // interrupted command leaves nothing half-written behind (an existing output is only
    // replaced at the very end, so it is untouched).
    let _ = ctrlc::set_handler(|| {
        craters_dataset::remove_unfinished_outputs();
        eprintln!("craters: interrupted; nothing was written");
        std::process::exit(130);
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("craters: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// Leaves every parallel loop to rayon's pool.
///
/// candle 0.11 runs element-wise operations on more than 64 Ki values (the first
/// convolution's output of a batch of 32 is 115,200) on a pool of its own, whose threads then
/// spin 25,000 times waiting for the next job. Beside rayon's workers on the same cores, that
/// spinning took a tenth of the machine and halved training speed on 2 cores. With
/// `CANDLE_NUM_THREADS=1` candle starts no such thread and runs those operations inline;
/// a value the user set is kept.
fn one_thread_pool() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: the first statement of `main`: no other thread exists yet.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
}

/// The error and its causes as one line: a cause whose text the message already holds
/// (an OS error that a library error prints and also keeps as its source) is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data { command } => match command {
            DataCommand::Inspect(args) => data::inspect(&args),
            DataCommand::Generate(args) => data::generate(&args),
            DataCommand::Preview(args) => data::preview(&args),
            DataCommand::Hrsc(args) => data::hrsc(&args),
            DataCommand::Fetch(args) => fetch::run(&args),
        },
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Detect(args) => detect::run(&args),
        Command::TrainDetector(args) => train_detector::run(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::Train(args) => reproduce::train(&args),
        Command::Selftrain(args) => reproduce::selftrain(&args),
        Command::Predict(args) => predict::run(&args),
    }
}
