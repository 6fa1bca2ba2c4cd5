//! Running the experiment into a run folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use craters_dataset::synth::{MANIFEST, SynthParams, generate, is_current, write_seed_layout};
use craters_dataset::{
    ClassFolders, Dataset, SeedData, SplitParams, is_labelled_folder, load_labelled_folder, seed_files,
    stratified_split, write_atomic, write_npy,
};
use craters_metrics::Report;
use craters_model::{CnnClassifier, CraterCnn, History, Progress, TrainConfig, TrainOutcome, Trainer};
use craters_selftrain::{Classifier, RoundLog, Termination, self_train};

use super::config::{DataConfig, ExperimentConfig};
use super::{Error, Result, plots, report};

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder to create.
    pub out: PathBuf,
    /// Replace an existing run folder (only once the new run has finished).
    pub force: bool,
    /// Training progress output.
    pub progress: Progress,
}

/// Figures of one seed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedRun {
    /// The training seed.
    pub seed: u64,
    /// Folder with this seed's models, predictions and history.
    pub dir: PathBuf,
    /// Stage-1 model on the validation split.
    pub validation_initial: Report,
    /// Final model on the validation split.
    pub validation_final: Report,
    /// Stage-1 model on the test set, when it has hidden labels.
    pub test_initial: Option<Report>,
    /// Final model on the test set, when it has hidden labels.
    pub test_final: Option<Report>,
    /// Pseudo-labelling rounds (without the per-sample lists).
    pub selftrain_rounds: Vec<RoundSummary>,
    /// Why self-training stopped; `None` without an extra set.
    pub selftrain_termination: Option<Termination>,
    /// Epoch with the lowest validation loss, per stage that ran.
    pub best_epochs: Vec<usize>,
    /// Wall-clock seconds of this seed.
    pub seconds: f64,
    #[serde(skip)]
    pub(crate) histories: Vec<History>,
}

/// One pseudo-labelling round in brief.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundSummary {
    /// 1-based round.
    pub round: usize,
    /// Added per class.
    pub added_per_class: [usize; 2],
    /// Mean confidence of what was added.
    pub mean_confidence: Option<f64>,
    /// Precision of the added pseudo-labels per class (hidden labels).
    pub precision: [Option<f64>; 2],
}

impl From<&RoundLog> for RoundSummary {
    fn from(r: &RoundLog) -> Self {
        RoundSummary {
            round: r.round,
            added_per_class: r.added_per_class,
            mean_confidence: r.mean_confidence,
            precision: r.precision,
        }
    }
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run folder.
    pub out: PathBuf,
    /// Per seed, in config order.
    pub seeds: Vec<SeedRun>,
    /// Wall-clock seconds of the whole run (data generation included).
    pub seconds: f64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.into(),
        source,
    }
}

/// Runs the experiment of `config` into `options.out`.
///
/// Everything is written into a hidden sibling folder first and renamed into place at the
/// end, so an interrupted or failed run leaves no half-written run folder.
pub fn reproduce(config: &ExperimentConfig, options: &RunOptions) -> Result<RunSummary> {
    config.check()?;
    let out = &options.out;
    if out.exists() && !options.force {
        return Err(Error::RunExists(out.clone()));
    }
    let started = Instant::now();
    let data = ensure_data(&config.data)?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = out
        .file_name()
        .map_or("run".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    fs::create_dir_all(&staging).map_err(io(&staging))?;

    let result = (|| -> Result<Vec<SeedRun>> {
        let mut runs = Vec::new();
        for (i, &seed) in config.seeds.iter().enumerate() {
            let dir = if i == 0 {
                staging.clone()
            } else {
                staging.join("seeds").join(seed.to_string())
            };
            runs.push(run_seed(config, &data, seed, &dir, options.progress)?);
        }
        let seconds = started.elapsed().as_secs_f64();
        write_atomic(&staging.join("config.toml"), config.to_toml().as_bytes())?;
        let metrics = report::metrics_json(config, &runs, seconds);
        write_atomic(&staging.join("metrics.json"), metrics.as_bytes())?;
        let plot_files = plots::draw_all(&staging.join("plots"), &runs[0], config.threshold)?;
        let markdown = report::markdown(config, &runs, &plot_files, seconds);
        write_atomic(&staging.join("report.md"), markdown.as_bytes())?;
        Ok(runs)
    })();
    let mut runs = match result {
        Ok(runs) => runs,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if out.exists() {
        let old = parent.join(format!(".{name}.replaced-{}", std::process::id()));
        fs::rename(out, &old).map_err(io(out))?;
        fs::rename(&staging, out).map_err(io(out))?;
        fs::remove_dir_all(&old).map_err(io(&old))?;
    } else {
        fs::rename(&staging, out).map_err(io(out))?;
    }
    for (i, run) in runs.iter_mut().enumerate() {
        run.dir = if i == 0 {
            out.clone()
        } else {
            out.join("seeds").join(run.seed.to_string())
        };
    }
    Ok(RunSummary {
        out: out.clone(),
        seeds: runs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Loads the seed-layout folder, or a labelled image folder. With `generate_if_missing`, the default data is generated
/// there first when the folder has no `Xtrain1.npy`, or when it holds generated data from
/// another generator version or other parameters (its manifest says so); other data is
/// never overwritten.
fn ensure_data(config: &DataConfig) -> Result<SeedData> {
    let classes = ClassFolders::default();
    if !config.dir.join(seed_files::X_TRAIN).exists() && is_labelled_folder(&config.dir, &classes) {
        // An ImageFolder (`crater/`, `non-crater/`): labelled images only, so no
        // self-training and no test set.
        return Ok(SeedData {
            train: load_labelled_folder(&config.dir, &classes)?,
            extra: None,
            test: None,
        });
    }
    if config.generate_if_missing {
        let params = SynthParams::default()
            .seed(config.generator_seed)
            .n_train(config.n_train)
            .n_extra(config.n_extra)
            .n_test(config.n_test)
            .check()?;
        let missing = !config.dir.join(seed_files::X_TRAIN).exists();
        let stale = config.dir.join(MANIFEST).exists() && !is_current(&config.dir, &params);
        if missing || stale {
            let why = if missing {
                "missing"
            } else {
                "from another generator version or parameters"
            };
            eprintln!(
                "generating the default data into {} ({why})",
                config.dir.display()
            );
            write_seed_layout(&config.dir, &generate(&params), &params)?;
        }
    }
    Ok(SeedData::load(&config.dir)?)
}

/// The labelled set's stratified (training, validation) split.
fn split_labelled(config: &ExperimentConfig, data: &SeedData) -> Result<(Dataset, Dataset)> {
    let labels = data.train.labels().expect("SeedData::load requires Ytrain1.npy");
    let params = SplitParams::default()
        .validation_fraction(config.split.validation_fraction)
        .seed(config.split.seed)
        .check()?;
    let split = stratified_split(labels, &params)?;
    Ok((
        data.train.subset(&split.train)?,
        data.train.subset(&split.validation)?,
    ))
}

/// Stage 1 alone: trains on the labelled split (validating on the rest) and writes a model
/// folder to `out`, with the stage's `history.csv` beside the weights.
pub fn train(config: &ExperimentConfig, seed: u64, out: &Path, progress: Progress) -> Result<TrainOutcome> {
    config.check()?;
    let data = ensure_data(&config.data)?;
    let (fit_set, validation) = split_labelled(config, &data)?;
    let model = CraterCnn::new(&config.model, seed)?;
    let outcome = Trainer::new(TrainConfig {
        seed,
        ..config.stage1.clone()
    })?
    .progress(progress)
    .label("stage 1")
    .fit(&model, &fit_set, None, Some(&validation))?;
    model.save(out)?;
    outcome.history.write_csv(&out.join("history.csv"))?;
    Ok(outcome)
}

/// Stage 1, self-training and stage 2 for one seed into `dir`: `models/initial|final/`,
/// `history.csv` and the test predictions, without the report.
pub fn selftrain(config: &ExperimentConfig, seed: u64, dir: &Path, progress: Progress) -> Result<SeedRun> {
    config.check()?;
    let data = ensure_data(&config.data)?;
    run_seed(config, &data, seed, dir, progress)
}

/// Saves the model after each fit: stage 1 as `models/initial`, later ones as `models/final`.
struct Staged<'a> {
    inner: CnnClassifier,
    dir: &'a Path,
}

impl Classifier for Staged<'_> {
    type Error = craters_model::Error;

    fn fit(
        &mut self,
        round: usize,
        train: &Dataset,
        weights: &[f32],
        warm: bool,
    ) -> craters_model::Result<()> {
        self.inner.fit(round, train, weights, warm)?;
        let stage = if round == 0 { "initial" } else { "final" };
        self.inner.model().save(&self.dir.join("models").join(stage))
    }

    fn predict_proba(&self, data: &Dataset) -> craters_model::Result<Vec<f32>> {
        self.inner.predict_proba(data)
    }
}

fn evaluate(model: &CraterCnn, data: &Dataset, threshold: f64) -> Result<(Report, Vec<f32>)> {
    let probabilities = model.predict_proba(data)?;
    let labels = data.labels().expect("evaluated sets are labelled");
    Ok((Report::new(labels, &probabilities, threshold)?, probabilities))
}

fn run_seed(
    config: &ExperimentConfig,
    data: &SeedData,
    seed: u64,
    dir: &Path,
    progress: Progress,
) -> Result<SeedRun> {
    let started = Instant::now();
    fs::create_dir_all(dir).map_err(io(dir))?;
    let (fit_set, validation) = split_labelled(config, data)?;
    let stage = |c: &TrainConfig| TrainConfig { seed, ..c.clone() };
    let cnn = CnnClassifier::new(
        &config.model,
        seed,
        stage(&config.stage1),
        stage(&config.stage2),
        Some(validation.clone()),
    )?
    .progress(progress);
    let mut staged = Staged { inner: cnn, dir };
    let (rounds, termination) = match &data.extra {
        Some(extra) => {
            let result = self_train(&mut staged, &config.selftrain.check()?, &fit_set, extra)?;
            (
                result.rounds.iter().map(RoundSummary::from).collect(),
                Some(result.termination),
            )
        }
        None => {
            staged.fit(0, &fit_set, &vec![1.0; fit_set.len()], false)?;
            (Vec::new(), None)
        }
    };
    let initial = CraterCnn::load(&dir.join("models").join("initial"))?;
    let final_model = staged.inner.model();
    if staged.inner.outcomes().len() == 1 {
        // No stage 2 ran (nothing pseudo-labelled): the final model is the stage-1 model.
        final_model.save(&dir.join("models").join("final"))?;
    }
    let (validation_initial, _) = evaluate(&initial, &validation, config.threshold)?;
    let (validation_final, _) = evaluate(final_model, &validation, config.threshold)?;
    let (mut test_initial, mut test_final) = (None, None);
    if let Some(test) = &data.test {
        let probabilities = final_model.predict_proba(test)?;
        let predictions: Vec<u8> = probabilities
            .iter()
            .map(|&p| u8::from(f64::from(p) >= config.threshold))
            .collect();
        write_npy(&dir.join("scores.npy"), &[test.len() as u64], &probabilities)?;
        write_npy(&dir.join(seed_files::Y_PRED), &[test.len() as u64], &predictions)?;
        if test.labels().is_some() {
            test_initial = Some(evaluate(&initial, test, config.threshold)?.0);
            test_final = Some(evaluate(final_model, test, config.threshold)?.0);
        }
    }
    let histories: Vec<History> = staged
        .inner
        .outcomes()
        .iter()
        .map(|o| o.history.clone())
        .collect();
    let mut csv = format!("stage,{}\n", History::CSV_HEADER);
    for (i, history) in histories.iter().enumerate() {
        for line in history.to_csv().lines().skip(1) {
            csv.push_str(&format!("{},{line}\n", i + 1));
        }
    }
    write_atomic(&dir.join("history.csv"), csv.as_bytes())?;
    Ok(SeedRun {
        seed,
        dir: dir.into(),
        validation_initial,
        validation_final,
        test_initial,
        test_final,
        selftrain_rounds: rounds,
        selftrain_termination: termination,
        best_epochs: staged
            .inner
            .outcomes()
            .iter()
            .filter_map(|o| o.best.map(|(epoch, _)| epoch))
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
        histories,
    })
}
