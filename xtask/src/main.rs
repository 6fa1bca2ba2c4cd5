//! Project chores, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const TASKS: &str = "\
Tasks:
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
        Some("lint") => lint(),
        Some(other) => Err(format!("unknown task {other:?}\n{TASKS}").into()),
        None => {
            print!("{TASKS}");
            Ok(())
        }
    }
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
