//! Does self-training help? Supervised-only against the seed's self-training protocol on
//! the default generated data, with a fraction of the labels, over several seeds.
//!
//! ```sh
//! cargo run --release --example selftrain_study -- [--seeds 1,2,3] [--fractions 0.1,0.25,1]
//! ```
//! For each seed and fraction: a stratified sample of that fraction of the 3000 labelled
//! patches, split 80/20 (seed 42, as the original), stage 1 (75 epochs, lr 3e-4, best by
//! validation loss) → "supervised"; then p < 0.25 on the 3000 extra patches → class 0,
//! stage 2 from scratch on the union (50 epochs, lr 4e-4) → "self-training". Both are
//! scored on the 1000 test patches (F1 of class 1 at 0.5); the pseudo-labels against the
//! extra set's hidden labels.

use std::error::Error;

use craters::dataset::synth::{SynthParams, generate};
use craters::dataset::{SplitParams, stratified_split};
use craters::experiment::CnnClassifier;
use craters::metrics::ConfusionMatrix;
use craters::model::{SeedCnnConfig, TrainConfig};
use craters::selftrain::{SelfTrainingParams, self_train};

fn list<T: std::str::FromStr>(args: &[String], flag: &str, default: &str) -> Result<Vec<T>, Box<dyn Error>> {
    let text = args
        .iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map_or(default, String::as_str);
    text.split(',')
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| format!("{flag}: cannot read {v:?}").into())
        })
        .collect()
}

/// Mean ± sample std of the finite values (runs that added no pseudo-labels have no
/// precision), with how many there were when some are missing.
fn mean_std(values: &[f64]) -> String {
    let xs: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return "–".into();
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let text = format!("{mean:.4} ± {:.4}", var.sqrt());
    if xs.len() < values.len() {
        format!("{text} (of {} runs)", xs.len())
    } else {
        text
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seeds: Vec<u64> = list(&args, "--seeds", "1,2,3")?;
    let fractions: Vec<f64> = list(&args, "--fractions", "0.1,0.25,1")?;
    let data = generate(&SynthParams::default().check()?);
    let train = data.train.to_dataset("generated Xtrain1")?;
    let extra = data.extra.to_dataset("generated Xtrain1_extra (hidden labels)")?;
    let test = data.test.to_dataset("generated Xtest1 (hidden labels)")?;
    println!(
        "| labels used | supervised test F1 | self-training test F1 | pseudo-labels added | their precision (class 0) |"
    );
    println!("|---|---|---|---|---|");
    for &fraction in &fractions {
        let (mut supervised, mut selftrained, mut added, mut precision) = (vec![], vec![], vec![], vec![]);
        for &seed in &seeds {
            let labelled = if fraction < 1.0 {
                let sample = SplitParams::default()
                    .validation_fraction(fraction)
                    .seed(seed)
                    .check()?;
                train.subset(&stratified_split(train.labels().unwrap(), &sample)?.validation)?
            } else {
                train.clone()
            };
            let split = stratified_split(
                labelled.labels().unwrap(),
                &SplitParams::default().seed(42).check()?,
            )?;
            let (fit_set, validation) = (
                labelled.subset(&split.train)?,
                labelled.subset(&split.validation)?,
            );
            let stage = |epochs, learning_rate| TrainConfig {
                epochs,
                learning_rate,
                seed,
                ..TrainConfig::default()
            };
            // Test F1 after every fit: round 0 is the supervised model.
            let mut f1 = Vec::new();
            let test_labels = test.labels().ok_or("the generated test set has labels")?;
            let mut cnn = CnnClassifier::new(
                &SeedCnnConfig::default(),
                seed,
                stage(75, 3e-4).check()?,
                stage(50, 4e-4).check()?,
                Some(validation),
            )?
            .after_fit(|_round, model| {
                let probabilities = model.predict_proba(&test)?;
                f1.push(ConfusionMatrix::from_scores(test_labels, &probabilities, 0.5)?.f1());
                Ok(())
            });
            let result = self_train(
                &mut cnn,
                &SelfTrainingParams::default().check()?,
                &fit_set,
                &extra,
            )?;
            drop(cnn);
            let round = result.rounds.first();
            supervised.push(f1[0]);
            selftrained.push(*f1.last().unwrap());
            added.push(round.map_or(0.0, |r| r.added.len() as f64));
            precision.push(round.and_then(|r| r.precision[0]).unwrap_or(f64::NAN));
            eprintln!(
                "seed {seed}, {:.0}% labels ({} to fit): supervised F1 {:.4}, self-training F1 {:.4}, {} pseudo-labels, precision {:.4}",
                fraction * 100.0,
                fit_set.len(),
                f1[0],
                f1.last().unwrap(),
                added.last().unwrap(),
                precision.last().unwrap()
            );
        }
        println!(
            "| {:.0}% | {} | {} | {} | {} |",
            fraction * 100.0,
            mean_std(&supervised),
            mean_std(&selftrained),
            mean_std(&added),
            mean_std(&precision)
        );
    }
    Ok(())
}
