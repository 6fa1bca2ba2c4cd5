//! Running the experiment into a run folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use craters_dataset::hrsc::{self, HrscParams};
use craters_dataset::synth::{MANIFEST, SynthParams, generate, is_current, write_seed_layout};
use craters_dataset::{
    ClassFolders, Dataset, SeedData, SplitParams, is_labelled_folder, load_labelled_folder, seed_files,
    stratified_split, write_atomic, write_folder_atomic, write_npy,
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

/// One tile of the leave-one-tile-out evaluation: the final model's test figures on it,
/// per seed, trained on the other tiles.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TileRun {
    /// The held-out tile.
    pub tile: String,
    /// The tiles trained on.
    pub trained_on: Vec<String>,
    /// Labelled candidates of the held-out tile.
    pub n_test: usize,
    /// (seed, final model on the held-out tile's candidates).
    pub test_final: Vec<(u64, Report)>,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run folder.
    pub out: PathBuf,
    /// Per seed, in config order.
    pub seeds: Vec<SeedRun>,
    /// Leave-one-tile-out results, in `[cross_tile] tiles` order.
    pub cross_tile: Vec<TileRun>,
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
    let (mut runs, cross_tile) = write_folder_atomic(out, |staging| -> Result<_> {
        let mut runs = Vec::new();
        for (i, &seed) in config.seeds.iter().enumerate() {
            let dir = if i == 0 {
                staging.to_path_buf()
            } else {
                staging.join("seeds").join(seed.to_string())
            };
            runs.push(run_seed(config, &data, seed, &dir, options.progress)?);
        }
        let cross_tile = cross_tile(config, &runs, &staging.join("cross_tile"), options.progress)?;
        let seconds = started.elapsed().as_secs_f64();
        write_atomic(&staging.join("config.toml"), config.to_toml().as_bytes())?;
        let metrics = report::metrics_json(config, &runs, &cross_tile, seconds);
        write_atomic(&staging.join("metrics.json"), metrics.as_bytes())?;
        let plot_files = plots::draw_all(&staging.join("plots"), &runs[0], config.threshold)?;
        let markdown = report::markdown(config, &runs, &cross_tile, &plot_files, seconds);
        write_atomic(&staging.join("report.md"), markdown.as_bytes())?;
        Ok((runs, cross_tile))
    })?;
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
        cross_tile,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Leave-one-tile-out over `[cross_tile] tiles`: each tile's layout is cut into
/// `<data.dir>-cross-tile/<tile>/` (kept for later runs) and every seed's run goes to
/// `dir/<tile>/<seed>/` — except for the tile whose split is the main one (the same
/// training and test tiles), whose figures are the main runs'.
fn cross_tile(
    config: &ExperimentConfig,
    main: &[SeedRun],
    dir: &Path,
    progress: Progress,
) -> Result<Vec<TileRun>> {
    let Some(base) = &config.data.hrsc else {
        return Ok(Vec::new());
    };
    let tiles = &config.cross_tile.tiles;
    let mut results = Vec::new();
    for tile in tiles {
        let trained_on: Vec<String> = tiles.iter().filter(|t| *t != tile).cloned().collect();
        let mut name = config.data.dir.as_os_str().to_owned();
        name.push("-cross-tile");
        let data_config = DataConfig {
            dir: PathBuf::from(name).join(tile),
            hrsc: Some(HrscParams {
                train_tiles: trained_on.clone(),
                test_tiles: vec![tile.clone()],
                ..base.clone()
            }),
            ..config.data.clone()
        };
        let mut test_final = Vec::new();
        if data_config.hrsc == config.data.hrsc {
            // The main split already is this tile left out: its runs are reused.
            let test = main[0]
                .test_final
                .as_ref()
                .expect("the main split has a test tile");
            results.push(TileRun {
                tile: tile.clone(),
                trained_on,
                n_test: test.confusion.n() as usize,
                test_final: main
                    .iter()
                    .map(|r| (r.seed, r.test_final.clone().expect("labelled test tile")))
                    .collect(),
            });
            continue;
        }
        let data = ensure_data(&data_config)?;
        let test = data
            .test
            .as_ref()
            .expect("a layout with test tiles has Xtest1.npy");
        for &seed in &config.seeds {
            eprintln!("leave-one-tile-out: test tile {tile}, seed {seed}");
            let run = run_seed(
                config,
                &data,
                seed,
                &dir.join(tile).join(seed.to_string()),
                progress,
            )?;
            let report = run
                .test_final
                .expect("the held-out tile's candidates are labelled");
            test_final.push((seed, report));
        }
        results.push(TileRun {
            tile: tile.clone(),
            trained_on,
            n_test: test.len(),
            test_final,
        });
    }
    Ok(results)
}

/// Loads the seed-layout folder, or a labelled image folder. With `generate_if_missing`, the default data is generated
/// there first when the folder has no `Xtrain1.npy`, or when it holds generated data from
/// another generator version or other parameters (its manifest says so); other data is
/// never overwritten.
fn ensure_data(config: &DataConfig) -> Result<SeedData> {
    if let Some(hrsc) = &config.hrsc {
        if !hrsc::is_current(&config.dir, hrsc) {
            eprintln!(
                "cutting HRSC blocks from {} into {}",
                hrsc.root.display(),
                config.dir.display()
            );
            hrsc::write_layout(hrsc, &config.dir)?;
        }
        return Ok(SeedData::load(&config.dir)?);
    }
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
