//! Output folders and files that never lose a user's data.
//!
//! Every command that writes follows one rule: an output that exists is refused unless
//! `--force` is given; `--force` replaces only what craters wrote (a folder with the
//! [`OUTPUT_MARKER`] file, or a data layout whose manifest names craters as its writer),
//! never a folder that holds one of the command's own inputs; and the new output is built
//! under a temporary name and renamed into place, so an interrupted or failed command leaves
//! the old output (or nothing) behind. [`OutputParams::check`] applies the rule before the
//! work starts (so a long training run does not end in a refusal), and
//! [`ValidOutput::write_folder`] applies it again at the end, when it renames.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::npy::write_atomic;

/// The file that marks a folder as written by craters (so that `--force` may replace it).
pub const OUTPUT_MARKER: &str = ".craters-output";

/// Staging folders being filled right now, for [`remove_unfinished_outputs`].
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Where a command writes, checked into a [`ValidOutput`] before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputParams {
    path: PathBuf,
    force: bool,
    inputs: Vec<PathBuf>,
}

impl OutputParams {
    /// An output at `path`, not replacing anything.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OutputParams {
            path: path.into(),
            force: false,
            inputs: Vec::new(),
        }
    }

    /// Replace an existing output that craters wrote (`--force`).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// A file or folder the command reads: the output may never hold it or be it.
    pub fn input(mut self, path: impl Into<PathBuf>) -> Self {
        self.inputs.push(path.into());
        self
    }

    /// Checks the rule for a folder output: `path` is absent, an empty folder, or (with
    /// `force`) a folder craters wrote that holds none of the inputs.
    pub fn check(&self) -> Result<ValidOutput> {
        check_folder(&self.path, self.force, &self.inputs)?;
        Ok(ValidOutput(self.clone()))
    }

    /// Checks the rule for a single-file output: `path` is absent, or (with `force`) a
    /// file that is none of the inputs.
    pub fn check_file(&self) -> Result<ValidOutput> {
        let path = &self.path;
        if let Some(input) = self.inputs.iter().find(|i| same_file(i, path)) {
            return Err(Error::OutputHoldsInput {
                path: path.clone(),
                input: input.clone(),
            });
        }
        if let Ok(meta) = fs::symlink_metadata(path) {
            if !meta.is_file() {
                return Err(Error::OutputNotAFile { path: path.clone() });
            }
            if !self.force {
                return Err(Error::OutputExists { path: path.clone() });
            }
        }
        Ok(ValidOutput(self.clone()))
    }
}

/// An output whose path passed [`OutputParams::check`] or [`OutputParams::check_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOutput(OutputParams);

impl ValidOutput {
    /// The output's path.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Builds the output folder: `fill` writes into a hidden sibling folder, which gets the
    /// [`OUTPUT_MARKER`] and is renamed to the output path (replacing what was there, after
    /// checking the rule again). If `fill` fails, the sibling is removed and the output path
    /// is left as it was.
    pub fn write_folder<T, E: From<Error>>(
        &self,
        fill: impl FnOnce(&Path) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let dir = &self.0.path;
        let parent = parent_of(dir);
        fs::create_dir_all(parent).map_err(write_error(parent))?;
        let name = dir
            .file_name()
            .map_or("output".into(), |n| n.to_string_lossy().into_owned());
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            // A leftover of this very process id: ours by its name.
            fs::remove_dir_all(&staging).map_err(write_error(&staging))?;
        }
        fs::create_dir_all(&staging).map_err(write_error(&staging))?;
        register(&staging);
        let value = fill(&staging).and_then(|value| {
            write_atomic(&staging.join(OUTPUT_MARKER), b"written by craters\n")?;
            // The output may have appeared while the work ran: the rule again.
            check_folder(dir, self.0.force, &self.0.inputs)?;
            replace(dir, &staging, parent, &name)?;
            Ok(value)
        });
        unregister(&staging);
        if value.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        value
    }

    /// Writes a single-file output atomically (temporary sibling, then rename).
    pub fn write_file(&self, bytes: &[u8]) -> Result<()> {
        let path = &self.0.path;
        let parent = parent_of(path);
        fs::create_dir_all(parent).map_err(write_error(parent))?;
        write_atomic(path, bytes)
    }
}

/// Removes the staging folders of outputs still being built; for a signal handler, so
/// that an interrupted command leaves nothing behind.
pub fn remove_unfinished_outputs() {
    let staging = STAGING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for dir in staging.iter() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Whether craters wrote the folder `dir`: it holds the [`OUTPUT_MARKER`], or it is a data
/// layout whose `manifest.json` names the generator or the HRSC cutter as its writer (as
/// layouts written before the marker existed do).
pub fn written_by_craters(dir: &Path) -> bool {
    if dir.join(OUTPUT_MARKER).is_file() {
        return true;
    }
    let Ok(text) = fs::read_to_string(dir.join("manifest.json")) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    manifest["generator"] == crate::synth::GENERATOR || manifest["source"] == "hrsc"
}

/// Whether `dir` is a folder with nothing in it.
pub fn is_empty_folder(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

fn check_folder(dir: &Path, force: bool, inputs: &[PathBuf]) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(()); // absent
    };
    if !meta.is_dir() {
        return Err(Error::OutputNotAFolder { path: dir.into() });
    }
    if let Some(input) = inputs.iter().find(|i| inside(i, dir)) {
        return Err(Error::OutputHoldsInput {
            path: dir.into(),
            input: input.clone(),
        });
    }
    if is_empty_folder(dir) {
        return Ok(());
    }
    if !force {
        return Err(Error::OutputExists { path: dir.into() });
    }
    if !written_by_craters(dir) {
        return Err(Error::NotCratersOutput {
            path: dir.into(),
            marker: OUTPUT_MARKER,
        });
    }
    Ok(())
}

/// Renames `staging` to `dir`, moving an existing `dir` aside first and removing it last.
fn replace(dir: &Path, staging: &Path, parent: &Path, name: &str) -> Result<()> {
    if fs::symlink_metadata(dir).is_ok() {
        let old = parent.join(format!(".{name}.replaced-{}", std::process::id()));
        fs::rename(dir, &old).map_err(write_error(dir))?;
        if let Err(source) = fs::rename(staging, dir) {
            // Put the old output back: the user keeps what they had.
            let _ = fs::rename(&old, dir);
            return Err(Error::Write {
                path: dir.into(),
                source,
            });
        }
        fs::remove_dir_all(&old).map_err(write_error(&old))?;
    } else {
        fs::rename(staging, dir).map_err(write_error(dir))?;
    }
    Ok(())
}

/// Whether `path` is `dir` or lies inside it (symbolic links resolved where they exist).
fn inside(path: &Path, dir: &Path) -> bool {
    let (Ok(path), Ok(dir)) = (fs::canonicalize(path), fs::canonicalize(dir)) else {
        return false;
    };
    path.starts_with(dir)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.into(),
        source,
    }
}

fn register(staging: &Path) {
    STAGING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(staging.into());
}

fn unregister(staging: &Path) {
    STAGING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|p| p != staging);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(source: std::io::Error) -> Error {
        Error::Write {
            path: "staging".into(),
            source,
        }
    }

    fn user_folder(dir: &Path) -> PathBuf {
        let folder = dir.join("mine");
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("thesis.txt"), b"three years of work").unwrap();
        folder
    }

    fn still_there(folder: &Path) {
        assert_eq!(
            fs::read(folder.join("thesis.txt")).unwrap(),
            b"three years of work"
        );
    }

    #[test]
    fn a_folder_craters_did_not_write_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let folder = user_folder(dir.path());
        let err = OutputParams::new(&folder).check().unwrap_err().to_string();
        assert!(err.contains("exists; pass --force"), "{err}");
        let err = OutputParams::new(&folder)
            .force(true)
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains("not written by craters"), "{err}");
        still_there(&folder);
    }

    #[test]
    fn a_folder_holding_an_input_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputParams::new(dir.path().join("run")).check().unwrap();
        out.write_folder(|staging| fs::write(staging.join("model.bin"), b"weights").map_err(io))
            .unwrap();
        let input = dir.path().join("run").join("model.bin");
        let err = OutputParams::new(dir.path().join("run"))
            .force(true)
            .input(&input)
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds the input"), "{err}");
        assert_eq!(fs::read(&input).unwrap(), b"weights");
    }

    #[test]
    fn force_replaces_what_craters_wrote_and_a_failure_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let write = |text: &'static [u8], force: bool| {
            OutputParams::new(&path)
                .force(force)
                .check()?
                .write_folder(|staging| fs::write(staging.join("a.txt"), text).map_err(io))
        };
        write(b"first", false).unwrap();
        assert!(path.join(OUTPUT_MARKER).is_file());
        assert!(write(b"second", false).is_err());
        write(b"second", true).unwrap();
        assert_eq!(fs::read(path.join("a.txt")).unwrap(), b"second");
        let failed: Result<()> = OutputParams::new(&path)
            .force(true)
            .check()
            .unwrap()
            .write_folder(|_| Err(Error::Empty { path: "x".into() }));
        assert!(failed.is_err());
        assert_eq!(fs::read(path.join("a.txt")).unwrap(), b"second");
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["out"], "no staging folder left behind");
    }

    #[test]
    fn an_empty_folder_is_used_and_a_file_output_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        OutputParams::new(&empty).check().unwrap();
        let file = dir.path().join("preview.png");
        fs::write(&file, b"old").unwrap();
        let err = OutputParams::new(&file).check_file().unwrap_err().to_string();
        assert!(err.contains("exists; pass --force"), "{err}");
        let err = OutputParams::new(&file)
            .force(true)
            .input(&file)
            .check_file()
            .unwrap_err();
        assert!(err.to_string().contains("holds the input"), "{err}");
        OutputParams::new(&file)
            .force(true)
            .check_file()
            .unwrap()
            .write_file(b"new")
            .unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
        let err = OutputParams::new(dir.path())
            .check_file()
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a file"), "{err}");
    }
}
