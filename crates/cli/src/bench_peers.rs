//! `craters bench --peers`: the seed network's speed beside its PyTorch and Keras twins
//! (`../shared/peer/`), measured in the same session.
//!
//! Why alternate: on a shared 2-core machine the same run varies by ±20% from minute to
//! minute, so a ratio against peer figures taken at another time says little. Here each
//! round runs craters and both peers one after the other, in a rotating order, with the
//! same thread settings and on the same generated images, and the table gives medians
//! with the minimum and maximum of every column. Each run is a process of its own, so
//! every thread pool starts fresh.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use craters_dataset::synth::{SynthParams, generate, write_seed_layout};
use serde::Deserialize;

use crate::args::BenchArgs;

/// The frameworks compared, in the first round's order.
const FRAMEWORKS: [Framework; 3] = [Framework::Craters, Framework::Torch, Framework::Keras];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    Craters,
    Torch,
    Keras,
}

impl Framework {
    fn name(self) -> &'static str {
        match self {
            Framework::Craters => "craters",
            Framework::Torch => "PyTorch",
            Framework::Keras => "Keras",
        }
    }

    fn script(self) -> Option<&'static str> {
        match self {
            Framework::Craters => None,
            Framework::Torch => Some("torch_cnn.py"),
            Framework::Keras => Some("keras_cnn.py"),
        }
    }
}

/// The keys of one run's JSON line that the table uses (craters and both peers print them).
#[derive(Debug, Clone, Deserialize)]
struct RunFigures {
    version: String,
    train_images_per_s: f64,
    infer_images_per_s: f64,
}

/// A column's median, minimum and maximum.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// `None` for no values. The median of an even count is the mean of the middle two.
    fn of(values: &[f64]) -> Option<Spread> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }

    fn cell(&self) -> String {
        format!(
            "{} ({}–{})",
            thousands(self.median),
            thousands(self.min),
            thousands(self.max)
        )
    }
}

/// Whole images per second with thousands separated: 12,345.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// craters' median over the best peer median: the ratio the table reports.
fn ratio_to_best_peer(craters: f64, peers: &[f64]) -> Option<f64> {
    let best = peers.iter().copied().fold(f64::NAN, f64::max);
    (best > 0.0).then(|| craters / best)
}

/// The 1-minute load average, from /proc/loadavg (Linux); `None` elsewhere.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.rounds == 0 {
        bail!("--rounds 0: expected at least 1");
    }
    if args.thread_counts.is_empty() || args.thread_counts.contains(&0) {
        bail!("--thread-counts: expected thread counts of at least 1, such as 1,2");
    }
    for script in FRAMEWORKS.iter().filter_map(|f| f.script()) {
        let path = args.peer_dir.join(script);
        if !path.is_file() {
            bail!(
                "{}: no such peer script; --peer-dir names the folder holding torch_cnn.py and keras_cnn.py",
                path.display()
            );
        }
        check_peer(&args.python, &path)?;
    }

    // The peers read the very images craters generates for itself with these settings.
    let synth = SynthParams::default()
        .seed(args.seed)
        .n_train(args.n_train)
        .n_extra(0)
        .n_test(0)
        .check()?;
    let data_dir = tempfile::Builder::new()
        .prefix("craters-bench-peers-")
        .tempdir()
        .context("cannot create a temporary folder for the peers' images")?;
    write_seed_layout(data_dir.path(), &generate(&synth), &synth)?;

    let load_before = load_average();
    let mut highest_load = load_before.unwrap_or(0.0);
    let mut tables = Vec::new();
    let mut versions: Vec<(Framework, String)> = Vec::new();
    for &threads in &args.thread_counts {
        let mut train: [Vec<f64>; 3] = Default::default();
        let mut infer: [Vec<f64>; 3] = Default::default();
        for round in 0..args.rounds {
            // Rotate the order, so that no framework always runs first (or right after
            // the previous thread count's last run).
            for k in 0..FRAMEWORKS.len() {
                let index = (round + k) % FRAMEWORKS.len();
                let framework = FRAMEWORKS[index];
                let figures = run_one(args, framework, threads, data_dir.path())?;
                if let Some(load) = load_average() {
                    highest_load = highest_load.max(load);
                }
                eprintln!(
                    "{threads} thread(s), round {}/{}: {:<7} train {:>9.1} img/s, inference {:>9.1} img/s",
                    round + 1,
                    args.rounds,
                    framework.name(),
                    figures.train_images_per_s,
                    figures.infer_images_per_s
                );
                train[index].push(figures.train_images_per_s);
                infer[index].push(figures.infer_images_per_s);
                if !versions.iter().any(|(f, _)| *f == framework) {
                    versions.push((framework, figures.version));
                }
            }
        }
        tables.push((threads, train, infer));
    }

    println!(
        "seed CNN, {} generated images, batch {}, {} epochs (first untimed), inference in batches of 256; {} alternating rounds per thread count, OMP_NUM_THREADS = threads",
        args.n_train, args.batch_size, args.epochs, args.rounds
    );
    println!(
        "versions: {}",
        versions
            .iter()
            .map(|(f, v)| match f {
                Framework::Craters => format!("craters {} (candle {v})", env!("CARGO_PKG_VERSION")),
                _ => format!("{} {v}", f.name()),
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!();
    println!(
        "| threads | craters train img/s | PyTorch | Keras | craters ÷ best peer | craters inference img/s | PyTorch | Keras | craters ÷ best peer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (threads, train, infer) in &tables {
        let mut row = format!("| {threads} |");
        for column in [train, infer] {
            let spreads: Vec<Spread> = column
                .iter()
                .map(|v| Spread::of(v).expect("every round ran every framework"))
                .collect();
            for s in &spreads {
                row.push_str(&format!(" {} |", s.cell()));
            }
            let peers: Vec<f64> = spreads[1..].iter().map(|s| s.median).collect();
            match ratio_to_best_peer(spreads[0].median, &peers) {
                Some(r) => row.push_str(&format!(" {r:.2}× |")),
                None => row.push_str(" – |"),
            }
        }
        println!("{row}");
    }
    println!();
    match load_before {
        Some(before) => println!(
            "machine load (1-minute average): {before:.2} before the runs, at most {highest_load:.2} between them (these benchmarks' own threads included)"
        ),
        None => println!("machine load: not available on this system"),
    }
    Ok(())
}

/// The last non-blank line of a process's stderr: where Python puts the exception.
fn last_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// Fails early, with one line, when a peer script cannot start (its framework missing
/// from the interpreter, typically): `--help` loads its imports and stops there.
fn check_peer(python: &Path, script: &Path) -> anyhow::Result<()> {
    let output = Command::new(python)
        .arg(script)
        .arg("--help")
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .with_context(|| format!("--python {}: cannot run it", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = last_line(&stderr);
        bail!(
            "{}: does not start with --python {} ({}); install numpy, torch and tensorflow-cpu as the peers' README says and pass that interpreter",
            script.display(),
            python.display(),
            last
        );
    }
    Ok(())
}

/// One timed run in a process of its own; its JSON line's figures.
fn run_one(
    args: &BenchArgs,
    framework: Framework,
    threads: usize,
    data: &Path,
) -> anyhow::Result<RunFigures> {
    let common = [
        "--threads".to_string(),
        threads.to_string(),
        "--epochs".into(),
        args.epochs.to_string(),
        "--n-train".into(),
        args.n_train.to_string(),
        "--batch-size".into(),
        args.batch_size.to_string(),
        "--seed".into(),
        args.seed.to_string(),
    ];
    let (program, mut command_args): (PathBuf, Vec<String>) = match framework.script() {
        None => (
            std::env::current_exe().context("cannot find the craters executable to run")?,
            vec!["bench".into(), "--json".into()],
        ),
        Some(script) => (
            args.python.clone(),
            vec![args.peer_dir.join(script).to_string_lossy().into_owned()],
        ),
    };
    command_args.extend(common);
    if framework.script().is_some() {
        command_args.extend(["--npy-dir".into(), data.to_string_lossy().into_owned()]);
    }
    let output = Command::new(&program)
        .args(&command_args)
        .env("OMP_NUM_THREADS", threads.to_string())
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = last_line(&stderr);
        bail!(
            "{} run ({threads} threads) failed ({}): {}",
            framework.name(),
            output.status,
            last
        );
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("{} run printed no JSON line", framework.name()))?;
    serde_json::from_str(line)
        .with_context(|| format!("{} run: unreadable JSON line {line}", framework.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_median_min_max() {
        assert_eq!(Spread::of(&[]), None);
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(s.cell(), "2 (1–3)");
        let s = Spread::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(12_345.6), "12,346");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    #[test]
    fn ratio_is_against_the_fastest_peer() {
        assert_eq!(ratio_to_best_peer(12_000.0, &[5_000.0, 6_000.0]), Some(2.0));
        assert_eq!(ratio_to_best_peer(1.0, &[]), None);
        assert_eq!(ratio_to_best_peer(1.0, &[0.0]), None);
    }
}
