//! `craters evaluate`.

use std::path::Path;

use anyhow::Context;
use craters_dataset::{load_labels, read_npy, shape_text};
use craters_metrics::Report;

use crate::args::EvaluateArgs;

pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let labels = load_labels(&args.labels)?;
    let scores = load_scores(&args.scores)?;
    if labels.len() != scores.len() {
        anyhow::bail!(
            "{}: {} scores for {} labels in {}",
            args.scores.display(),
            scores.len(),
            labels.len(),
            args.labels.display()
        );
    }
    let report =
        Report::new(&labels, &scores, args.threshold).with_context(|| args.scores.display().to_string())?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report, args.threshold);
    }
    Ok(())
}

fn load_scores(path: &Path) -> anyhow::Result<Vec<f64>> {
    let array = read_npy(path)?;
    if !matches!(array.shape.as_slice(), [_] | [_, 1]) {
        anyhow::bail!(
            "{}: shape {}; expected (N,) or (N, 1) scores",
            path.display(),
            shape_text(&array.shape)
        );
    }
    Ok(array.values)
}

fn print_table(r: &Report, threshold: f64) {
    let optional = |v: Option<f64>| v.map_or("undefined (one class)".to_string(), |v| format!("{v:.4}"));
    let c = &r.confusion;
    println!("samples            {}", c.n());
    println!("threshold          {threshold}");
    println!("precision          {:.4}", r.precision);
    println!("recall             {:.4}", r.recall);
    println!("f1                 {:.4}", r.f1);
    println!("f1 (macro)         {:.4}", r.f1_macro);
    println!("accuracy           {:.4}", r.accuracy);
    println!("balanced accuracy  {}", optional(r.balanced_accuracy));
    println!("mcc                {:.4}", r.mcc);
    println!("log loss           {:.4}", r.log_loss);
    println!("average precision  {}", optional(r.average_precision));
    println!("roc auc            {}", optional(r.roc_auc));
    match r.best_f1 {
        Some(best) => println!(
            "best f1            {:.4} at threshold {:.4}",
            best.f1, best.threshold
        ),
        None => println!("best f1            undefined (one class)"),
    }
    println!();
    println!("confusion          predicted 0  predicted 1");
    println!("  actual 0         {:>11}  {:>11}", c.tn, c.fp);
    println!("  actual 1         {:>11}  {:>11}", c.fn_, c.tp);
}
