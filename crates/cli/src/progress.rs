//! Training progress on the terminal: one bar per stage with its ETA when stderr is a
//! terminal, one line per epoch otherwise (logs, CI). The library crates only call the
//! [`ProgressSink`] methods; this is where they become output.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

use craters_detect::ScanProgress;
use craters_model::{EpochRecord, ProgressSink, SharedProgress, epoch_line};
use indicatif::{ProgressBar, ProgressStyle};

/// Progress on stderr, as a bar on a terminal and as lines elsewhere.
pub fn stderr() -> SharedProgress {
    Arc::new(Stderr {
        bars: std::io::stderr().is_terminal(),
        bar: Mutex::new(None),
    })
}

struct Stderr {
    bars: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Stderr {
    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        f(&mut self.bar.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn line(&self, line: &str) {
        self.with_bar(|bar| match bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        });
    }
}

impl ProgressSink for Stderr {
    fn note(&self, message: &str) {
        self.line(message);
    }

    fn stage_started(&self, label: &str, epochs: usize, done: usize, batches: usize) {
        if !self.bars {
            return;
        }
        // One bar for the whole stage: its ETA is the stage's.
        let bar = ProgressBar::new((epochs.saturating_sub(done) * batches) as u64);
        if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {percent}%, {msg}, ETA {eta}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.to_string());
        self.with_bar(|slot| *slot = Some(bar));
    }

    fn batch_done(&self, epoch: usize, epochs: usize, mean_loss: f64) {
        self.with_bar(|bar| {
            if let Some(bar) = bar {
                bar.inc(1);
                bar.set_message(format!("epoch {epoch}/{epochs}, loss {mean_loss:.4}"));
            }
        });
    }

    fn epoch_done(&self, label: &str, epochs: usize, record: &EpochRecord, seconds: f64) {
        self.line(&epoch_line(label, epochs, record, seconds));
    }

    fn stage_finished(&self, _label: &str) {
        self.with_bar(|bar| {
            if let Some(bar) = bar.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// A bar with ETA for a scan on a terminal (nothing elsewhere): `craters detect`.
pub struct ScanBar {
    bar: Option<ProgressBar>,
}

impl ScanBar {
    pub fn stderr() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::hidden();
            if let Ok(style) = ProgressStyle::with_template("scanning [{bar:30}] {percent}%, ETA {eta}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        ScanBar { bar }
    }
}

impl ScanProgress for ScanBar {
    fn started(&self, work: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(work);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.reset_elapsed();
        }
    }

    fn advanced(&self, work: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(work);
        }
    }

    fn finished(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
