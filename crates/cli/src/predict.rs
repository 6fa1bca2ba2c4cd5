//! `craters predict`.

use craters_dataset::{Dataset, OutputParams, load_unlabelled_folder, seed_files, write_atomic, write_npy};
use craters_model::CraterCnn;

use crate::args::PredictArgs;

pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.threshold) {
        anyhow::bail!("--threshold {}: expected a probability in [0, 1]", args.threshold);
    }
    let output = OutputParams::new(&args.out)
        .force(args.force)
        .input(&args.model)
        .input(&args.input)
        .check()?;
    let model = CraterCnn::load(&args.model)?;
    let input = &args.input;
    let seed_test = input.join(seed_files::X_TEST);
    let seed_layout = input.join(seed_files::X_TRAIN).is_file();
    let data = if input.is_dir() && (seed_test.is_file() || seed_layout) {
        // A seed-layout folder: its test set is what gets predicted (named when missing).
        Dataset::from_npy(&seed_test, None)?
    } else if input.is_dir() {
        load_unlabelled_folder(input)?
    } else {
        Dataset::from_npy(input, None)?
    };
    for note in data.notes() {
        eprintln!("craters: note: {note}");
    }
    let probabilities = model.predict_proba(&data)?;
    let predictions: Vec<u8> = probabilities
        .iter()
        .map(|&p| u8::from(f64::from(p) >= args.threshold))
        .collect();
    let n = [data.len() as u64];
    // A whole new folder: no file of an earlier prediction (files.txt) is left beside these.
    output.write_folder(|dir| -> craters_dataset::Result<()> {
        write_npy(&dir.join("scores.npy"), &n, &probabilities)?;
        write_npy(&dir.join(seed_files::Y_PRED), &n, &predictions)?;
        if let Some(ids) = data.ids() {
            let mut listing = ids.join("\n");
            listing.push('\n');
            write_atomic(&dir.join("files.txt"), listing.as_bytes())?;
        }
        Ok(())
    })?;
    let craters = predictions.iter().filter(|&&p| p == 1).count();
    println!(
        "{} images from {}: {craters} craters at threshold {}; wrote {}/scores.npy and {}",
        data.len(),
        data.source().display(),
        args.threshold,
        args.out.display(),
        seed_files::Y_PRED
    );
    Ok(())
}
