//! `craters data fetch hrsc`: the public benchmark, downloaded and checked file by file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use craters_dataset::hrsc::{BenchmarkFile, FILES, UPSTREAM_URL};
use craters_dataset::{OutputParams, write_atomic};

use crate::args::{FetchArgs, FetchWhat};

/// Where the files come from.
enum Source {
    /// A base URL; each file is `BASE/<its path in the public repository>`.
    Http { base: String, agent: ureq::Agent },
    /// A folder with the repository's layout or the benchmark's own.
    Folder(PathBuf),
}

impl Source {
    fn parse(from: &str) -> anyhow::Result<Source> {
        if from.starts_with("http://") || from.starts_with("https://") {
            // A slow server is waited for; a silent one is not waited for forever.
            let agent = ureq::Agent::config_builder()
                .timeout_connect(Some(Duration::from_secs(30)))
                .timeout_recv_body(Some(Duration::from_secs(300)))
                .build()
                .into();
            return Ok(Source::Http {
                base: from.trim_end_matches('/').to_string(),
                agent,
            });
        }
        let path = from.strip_prefix("file://").unwrap_or(from);
        if from.contains("://") && !from.starts_with("file://") {
            bail!("--from {from}: expected an http(s) URL, a file:// URL or a folder");
        }
        let dir = PathBuf::from(path);
        if !dir.is_dir() {
            bail!("--from {from}: no such folder");
        }
        Ok(Source::Folder(dir))
    }

    /// The file's checked bytes, and where they came from.
    fn read(&self, file: &BenchmarkFile) -> anyhow::Result<(Vec<u8>, String)> {
        match self {
            Source::Http { base, agent } => {
                let url = format!("{base}/{}", file.upstream);
                let mut response = agent
                    .get(&url)
                    .call()
                    .with_context(|| format!("{}: GET {url}", file.path))?;
                let bytes = file.read_checked(response.body_mut().as_reader(), &url)?;
                Ok((bytes, url))
            }
            Source::Folder(dir) => {
                let candidates = [dir.join(file.upstream), dir.join(file.path)];
                let Some(path) = candidates.iter().find(|p| p.is_file()) else {
                    bail!(
                        "{}: not in {} (looked for {} and {})",
                        file.path,
                        dir.display(),
                        file.upstream,
                        file.path
                    );
                };
                let name = path.display().to_string();
                let opened = File::open(path).with_context(|| format!("{name}: cannot open"))?;
                Ok((file.read_checked(opened, &name)?, name))
            }
        }
    }
}

pub fn run(args: &FetchArgs) -> anyhow::Result<()> {
    match args.what {
        FetchWhat::Hrsc => hrsc(args),
    }
}

fn hrsc(args: &FetchArgs) -> anyhow::Result<()> {
    let output = OutputParams::new(&args.out).force(args.force).check()?;
    let from = args.from.as_deref().unwrap_or(UPSTREAM_URL);
    let source = Source::parse(from)?;
    let started = Instant::now();
    let total = output.write_folder(|dir: &Path| -> anyhow::Result<u64> {
        let mut total = 0;
        for (i, file) in FILES.iter().enumerate() {
            let (bytes, _) = source.read(file)?;
            let path = dir.join(file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("{}: cannot create", parent.display()))?;
            }
            write_atomic(&path, &bytes)?;
            total += bytes.len() as u64;
            println!(
                "[{}/{}] {} ({} bytes, sha256 checked)",
                i + 1,
                FILES.len(),
                file.path,
                bytes.len()
            );
        }
        Ok(total)
    })?;
    println!(
        "fetched the HRSC benchmark into {}: {} files, {:.1} MB, every size and sha256 as expected, from {from} in {:.1} s",
        args.out.display(),
        FILES.len(),
        total as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!(
        "use it with `craters data hrsc --root {0}` or `root = \"{0}\"` under [data.hrsc] in a config",
        args.out.display()
    );
    Ok(())
}
