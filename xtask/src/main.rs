//! Project chores, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const TASKS: &str = "\
Tasks:
  reproduce [--config configs/default.toml] [--out runs/NAME] [--seeds 1,2,3] [--force] [...]
          the whole seed experiment into a run folder with report.md and plots
          (`craters reproduce --help` lists every option; they are passed through)
  lint    cargo fmt --check and cargo clippy -D warnings over the workspace, as CI runs them
";

fn main() {
    if let Err(err) = try_main() {
        eprintln!("xtask: {err}");
        std::process::exit(1);
    }
}

fn try_main() -> Result<()> {
    match env::args().nth(1).as_deref() {
        Some("reproduce") => {
            let rest: Vec<String> = env::args().skip(2).collect();
            reproduce(&rest)
        }
        Some("lint") => lint(),
        Some(other) => Err(format!("unknown task {other:?}\n{TASKS}").into()),
        None => {
            print!("{TASKS}");
            Ok(())
        }
    }
}

/// Training needs an optimised build, so the experiment runs in the release `craters`
/// binary rather than in this (debug) xtask process.
fn reproduce(args: &[String]) -> Result<()> {
    let mut command = vec![
        "run",
        "--release",
        "--quiet",
        "--package",
        "craters-cli",
        "--",
        "reproduce",
    ];
    command.extend(args.iter().map(String::as_str));
    cargo(&command)
}

fn lint() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(project_root())
        .status()?;
    if !status.success() {
        return Err(format!("cargo {} failed ({status})", args.join(" ")).into());
    }
    Ok(())
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ sits in the project root")
        .to_path_buf()
}
