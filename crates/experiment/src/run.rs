//! Running the experiment into a run folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use craters_dataset::hrsc::{self, HrscParams};
use craters_dataset::synth::{generate, is_current, is_generated, write_seed_layout};
use craters_dataset::{
    ClassFolders, Dataset, OutputParams, SeedData, ValidOutput, is_empty_folder, is_labelled_folder,
    load_labelled_folder, seed_files, stratified_split, write_atomic, write_npy, written_by_craters,
};
use craters_metrics::{Reliability, Report, fit_temperature, reliability, sigmoid};
use craters_model::{CraterCnn, History, SharedProgress, TrainOutcome, Trainer, silent};
use craters_selftrain::{Classifier, self_train};

use crate::classifier::CnnClassifier;
use crate::config::{ValidDataConfig, ValidExperimentConfig};
use crate::error::{Error, Result};
use crate::results::{CalibrationSummary, RoundSummary, RunSummary, SeedRun, TileRun};
use crate::{plots, report};

/// Where and how to run.
#[derive(Clone)]
pub struct RunOptions {
    /// The run folder to create.
    pub out: PathBuf,
    /// Replace an existing run folder that craters wrote (only once the new run has
    /// finished); a folder craters did not write, or one that holds the data, never is.
    pub force: bool,
    /// Where progress goes (training epochs, data generation, the tile left out).
    pub progress: SharedProgress,
}

impl RunOptions {
    /// Into `out`, not replacing it, silently.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        RunOptions {
            out: out.into(),
            force: false,
            progress: silent(),
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("out", &self.out)
            .field("force", &self.force)
            .finish_non_exhaustive()
    }
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
pub fn reproduce(config: &ValidExperimentConfig, options: &RunOptions) -> Result<RunSummary> {
    let out = &options.out;
    let output = output(config, OutputParams::new(out).force(options.force))?;
    let started = Instant::now();
    let progress = &options.progress;
    let data = ensure_data(config.data(), progress)?;
    let (mut runs, cross_tile) = output.write_folder(|staging| -> Result<_> {
        let mut runs = Vec::new();
        for (i, &seed) in config.seeds.iter().enumerate() {
            let dir = if i == 0 {
                staging.to_path_buf()
            } else {
                staging.join("seeds").join(seed.to_string())
            };
            runs.push(run_seed(config, &data, seed, &dir, progress)?);
        }
        let cross_tile = cross_tile(config, &runs, &staging.join("cross_tile"), progress)?;
        let seconds = started.elapsed().as_secs_f64();
        write_atomic(&staging.join("config.toml"), config.to_toml()?.as_bytes())?;
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

/// Checks a command's output folder against the rule of [`OutputParams`], with the run's
/// data (and benchmark) folders as inputs: refused now, not after hours of training.
fn output(config: &ValidExperimentConfig, out: OutputParams) -> Result<ValidOutput> {
    let mut out = out.input(&config.data.dir);
    if let Some(hrsc) = config.data().hrsc() {
        out = out.input(&hrsc.root);
    }
    Ok(out.check()?)
}

/// The final test report of a run whose test set must be labelled (a held-out tile).
fn labelled_test(run: &SeedRun, tile: &str) -> Result<Report> {
    run.test_final.clone().ok_or_else(|| Error::Unlabelled {
        what: format!("the test set of tile {tile}"),
        why: "leave-one-tile-out scores the held-out tile's candidates",
    })
}

/// Leave-one-tile-out over `[cross_tile] tiles`: each tile's layout is cut into
/// `<data.dir>-cross-tile/<tile>/` (kept for later runs) and every seed's run goes to
/// `dir/<tile>/<seed>/` — except for the tile whose split is the main one (the same
/// training and test tiles), whose figures are the main runs'.
fn cross_tile(
    config: &ValidExperimentConfig,
    main: &[SeedRun],
    dir: &Path,
    progress: &SharedProgress,
) -> Result<Vec<TileRun>> {
    let Some(base) = config.data().hrsc() else {
        return Ok(Vec::new());
    };
    let tiles = &config.cross_tile.tiles;
    let mut results = Vec::new();
    for tile in tiles {
        let trained_on: Vec<String> = tiles.iter().filter(|t| *t != tile).cloned().collect();
        let hrsc = HrscParams {
            train_tiles: trained_on.clone(),
            test_tiles: vec![tile.clone()],
            ..(**base).clone()
        };
        if hrsc == **base {
            // The main split already is this tile left out: its runs are reused.
            let test_final = main
                .iter()
                .map(|r| Ok((r.seed, labelled_test(r, tile)?)))
                .collect::<Result<Vec<_>>>()?;
            results.push(TileRun {
                tile: tile.clone(),
                trained_on,
                n_test: test_final[0].1.confusion.n() as usize,
                test_final,
            });
            continue;
        }
        let mut name = config.data.dir.as_os_str().to_owned();
        name.push("-cross-tile");
        let hrsc = hrsc.check().map_err(|source| Error::InvalidDataSection {
            section: "cross_tile",
            source: Box::new(source),
        })?;
        let data_config = config.data().with_hrsc(PathBuf::from(name).join(tile), hrsc);
        let data = ensure_data(&data_config, progress)?;
        let n_test = data.test.as_ref().map_or(0, Dataset::len);
        let mut test_final = Vec::new();
        for &seed in &config.seeds {
            progress.note(&format!("leave-one-tile-out: test tile {tile}, seed {seed}"));
            let run = run_seed(
                config,
                &data,
                seed,
                &dir.join(tile).join(seed.to_string()),
                progress,
            )?;
            test_final.push((seed, labelled_test(&run, tile)?));
        }
        results.push(TileRun {
            tile: tile.clone(),
            trained_on,
            n_test,
            test_final,
        });
    }
    Ok(results)
}

/// Loads the seed-layout folder, or a labelled image folder. With `generate_if_missing`, the default data is generated
/// there first when the folder has no `Xtrain1.npy`, or when it holds generated data from
/// another generator version or other parameters (its manifest says so); other data is
/// never overwritten.
fn ensure_data(config: &ValidDataConfig, progress: &SharedProgress) -> Result<SeedData> {
    let dir = &config.dir;
    if let Some(hrsc) = config.hrsc() {
        if !hrsc::is_current(dir, hrsc) {
            ours_or_empty(dir, "an HRSC layout cut with these [data.hrsc] settings")?;
            progress.note(&format!(
                "cutting HRSC blocks from {} into {}",
                hrsc.root.display(),
                dir.display()
            ));
            // Replaces only a layout craters cut before (see `ours_or_empty`).
            hrsc::write_layout(hrsc, OutputParams::new(dir).force(true))?;
        }
        return Ok(SeedData::load(dir)?);
    }
    let classes = ClassFolders::default();
    if !config.dir.join(seed_files::X_TRAIN).exists() && is_labelled_folder(&config.dir, &classes) {
        // An ImageFolder (`crater/`, `non-crater/`): labelled images only, so no
        // self-training and no test set.
        let train = load_labelled_folder(&config.dir, &classes)?;
        for note in train.notes() {
            progress.note(&format!("note: {note}"));
        }
        return Ok(SeedData {
            train,
            extra: None,
            test: None,
        });
    }
    if config.generate_if_missing {
        let params = config.synth();
        let missing = !dir.join(seed_files::X_TRAIN).exists();
        let stale = is_generated(dir) && !is_current(dir, params);
        if missing || stale {
            ours_or_empty(dir, seed_files::X_TRAIN)?;
            let why = if missing {
                "missing"
            } else {
                "from another generator version or parameters"
            };
            progress.note(&format!(
                "generating the default data into {} ({why})",
                dir.display()
            ));
            let data = generate(params);
            OutputParams::new(dir)
                .force(true)
                .check()?
                .write_folder(|staging| write_seed_layout(staging, &data, params))?;
        }
    }
    Ok(SeedData::load(&config.dir)?)
}

/// Data is generated or cut only into a folder that is new, empty, or written by craters
/// (by its marker or its manifest): never over a user's own files.
fn ours_or_empty(dir: &Path, what: &'static str) -> Result<()> {
    if dir.exists() && !is_empty_folder(dir) && !written_by_craters(dir) {
        return Err(Error::NotOurDataFolder {
            dir: dir.into(),
            what,
        });
    }
    Ok(())
}

/// The labels of a set that must have them.
fn labels_of<'d>(data: &'d Dataset, why: &'static str) -> Result<&'d [u8]> {
    data.labels().ok_or_else(|| Error::Unlabelled {
        what: data.source().display().to_string(),
        why,
    })
}

/// The labelled set's stratified (training, validation) split.
fn split_labelled(config: &ValidExperimentConfig, data: &SeedData) -> Result<(Dataset, Dataset)> {
    let labels = labels_of(&data.train, "the training set is split and trained on")?;
    let split = stratified_split(labels, config.split())?;
    Ok((
        data.train.subset(&split.train)?,
        data.train.subset(&split.validation)?,
    ))
}

/// Stage 1 alone: trains on the labelled split (validating on the rest; with `[consistency]`,
/// the extra set as unlabelled data too) and writes a model folder to `out`, with the
/// stage's `history.csv` beside the weights. The output is checked before training and
/// written atomically.
pub fn train(
    config: &ValidExperimentConfig,
    seed: u64,
    out: OutputParams,
    progress: &SharedProgress,
) -> Result<TrainOutcome> {
    let output = output(config, out)?;
    let data = ensure_data(config.data(), progress)?;
    let (fit_set, validation) = split_labelled(config, &data)?;
    let model = CraterCnn::new(&config.model, seed)?;
    let mut trainer = Trainer::new(config.stage1().with_seed(seed))
        .progress(progress.clone())
        .label("stage 1");
    if let (Some(params), Some(extra)) = (config.consistency(), &data.extra) {
        trainer = trainer.unlabelled(extra, *params);
    }
    let outcome = trainer.fit(&model, &fit_set, None, Some(&validation))?;
    output.write_folder(|staging| -> Result<()> {
        model.save(staging)?;
        Ok(outcome.history.write_csv(&staging.join("history.csv"))?)
    })?;
    Ok(outcome)
}

/// Stage 1, self-training and stage 2 for one seed into the folder `out`:
/// `models/initial|final/`, `history.csv` and the test predictions, without the report.
/// The output is checked before training and written atomically.
pub fn selftrain(
    config: &ValidExperimentConfig,
    seed: u64,
    out: OutputParams,
    progress: &SharedProgress,
) -> Result<SeedRun> {
    let output = output(config, out)?;
    let data = ensure_data(config.data(), progress)?;
    let mut run = output.write_folder(|staging| run_seed(config, &data, seed, staging, progress))?;
    run.dir = output.path().to_path_buf();
    Ok(run)
}

fn evaluate(model: &CraterCnn, data: &Dataset, threshold: f64) -> Result<(Report, Vec<f32>)> {
    let probabilities = model.predict_proba(data)?;
    let labels = labels_of(data, "it is scored")?;
    Ok((Report::new(labels, &probabilities, threshold)?, probabilities))
}

/// Bins of the reliability diagrams in the report.
const RELIABILITY_BINS: usize = 10;

/// Fits temperature scaling on the validation split and measures calibration there and, when
/// it has labels, on the test set.
fn calibrate(model: &CraterCnn, validation: &Dataset, test: Option<&Dataset>) -> Result<CalibrationSummary> {
    let logits = model.logits(validation.pixels())?;
    let labels = labels_of(validation, "the temperature is fitted on it")?;
    let temperature = fit_temperature(labels, &logits)?;
    let before_after = |labels: &[u8], logits: &[f32]| -> Result<[Reliability; 2]> {
        let at = |t: f64| -> Vec<f64> { logits.iter().map(|&z| sigmoid(f64::from(z) / t)).collect() };
        Ok([
            reliability(labels, &at(1.0), RELIABILITY_BINS)?,
            reliability(labels, &at(temperature), RELIABILITY_BINS)?,
        ])
    };
    let test = match test.and_then(|t| t.labels().map(|l| (t, l))) {
        Some((test, labels)) => Some(before_after(labels, &model.logits(test.pixels())?)?),
        None => None,
    };
    Ok(CalibrationSummary {
        temperature,
        validation: before_after(labels, &logits)?,
        test,
    })
}

fn run_seed(
    config: &ValidExperimentConfig,
    data: &SeedData,
    seed: u64,
    dir: &Path,
    progress: &SharedProgress,
) -> Result<SeedRun> {
    let started = Instant::now();
    fs::create_dir_all(dir).map_err(io(dir))?;
    let (fit_set, validation) = split_labelled(config, data)?;
    let models = dir.join("models");
    // Each fit saves its model: stage 1 as `models/initial`, later ones as `models/final`.
    let mut cnn = CnnClassifier::new(
        &config.model,
        seed,
        config.stage1().with_seed(seed),
        config.stage2().with_seed(seed),
        Some(validation.clone()),
    )?
    .progress(progress.clone())
    .after_fit(|round, model| {
        let stage = if round == 0 { "initial" } else { "final" };
        Ok(model.save(&models.join(stage))?)
    });
    if let (Some(params), Some(extra)) = (config.consistency(), &data.extra) {
        cnn = cnn.unlabelled(extra, *params);
    }
    let (rounds, termination) = match &data.extra {
        Some(extra) => {
            let result = self_train(&mut cnn, config.selftrain(), &fit_set, extra)?;
            (
                result.rounds.iter().map(RoundSummary::from).collect(),
                Some(result.termination),
            )
        }
        None => {
            cnn.fit(0, &fit_set, &vec![1.0; fit_set.len()], false)?;
            (Vec::new(), None)
        }
    };
    let initial = CraterCnn::load(&models.join("initial"))?;
    let final_model = cnn.model();
    if cnn.outcomes().len() == 1 {
        // No stage 2 ran (nothing pseudo-labelled): the final model is the stage-1 model.
        final_model.save(&models.join("final"))?;
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
    let calibration = calibrate(final_model, &validation, data.test.as_ref())?;
    let histories: Vec<History> = cnn.outcomes().iter().map(|o| o.history.clone()).collect();
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
        best_epochs: cnn
            .outcomes()
            .iter()
            .filter_map(|o| o.best.map(|(epoch, _)| epoch))
            .collect(),
        calibration,
        seconds: started.elapsed().as_secs_f64(),
        histories,
    })
}
