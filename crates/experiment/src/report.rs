//! `metrics.json` and `report.md`.

use craters_dataset::hrsc::HrscParams;
use craters_metrics::Report;
use craters_selftrain::{ConsistencyParams, Teacher, Threshold};

use crate::config::ExperimentConfig;
use crate::results::{SeedRun, TileRun};

/// The published result the run is compared with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SlidesResult {
    /// F1 of class 1.
    pub f1: f64,
    /// Recall of class 1.
    pub recall: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Confusion counts (TN, FP, FN, TP).
    pub confusion: [u64; 4],
}

/// The slides' figures (their confusion matrix gives F1 0.9128, not the 0.9016 they state).
pub const SLIDES: SlidesResult = SlidesResult {
    f1: 0.9016,
    recall: 0.941,
    accuracy: 0.8953,
    val_loss: 0.2989,
    confusion: [260, 43, 21, 335],
};

/// A published candidate-classification result on the HRSC benchmark tiles.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PublishedResult {
    /// Who, where.
    pub source: &'static str,
    /// What they report.
    pub figures: &'static str,
    /// F1 (stated or derived from their figures).
    pub f1: f64,
}

/// The reference points an HRSC run is stated next to.
pub const PUBLISHED_HRSC: &[PublishedResult] = &[
    PublishedResult {
        source: "Bandeira, Ding & Stepinski 2012 (Adv. Space Res. 49)",
        figures: "detection rate 0.81, branching factor 0.14",
        f1: 0.84,
    },
    PublishedResult {
        source: "Ding et al. 2011",
        figures: "F1 above 0.85",
        f1: 0.85,
    },
];

/// `1, 2, 3`.
fn list<T: std::fmt::Display>(values: &[T]) -> String {
    values.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn cell(values: &[f64]) -> String {
    let (mean, std) = mean_std(values);
    if values.len() > 1 {
        format!("{mean:.4} ± {std:.4}")
    } else {
        format!("{mean:.4}")
    }
}

/// `{ "mean", "std", "values" }` of one figure over seeds.
fn summary_json(values: Vec<f64>) -> serde_json::Value {
    let (mean, std) = mean_std(&values);
    serde_json::json!({ "mean": mean, "std": std, "values": values })
}

/// `metrics.json`: every seed's reports, the summary and the slides' figures.
pub fn metrics_json(
    config: &ExperimentConfig,
    runs: &[SeedRun],
    cross_tile: &[TileRun],
    seconds: f64,
) -> String {
    let summary = |f: fn(&Report) -> f64| summary_json(runs.iter().map(|r| f(r.headline().0)).collect());
    let value = serde_json::json!({
        "seeds": config.seeds,
        "evaluated_on": runs[0].headline().1,
        "summary": {
            "f1": summary(|r| r.f1),
            "precision": summary(|r| r.precision),
            "recall": summary(|r| r.recall),
            "accuracy": summary(|r| r.accuracy),
            "val_loss": {
                "values": runs.iter().map(|r| r.validation_final.log_loss).collect::<Vec<_>>(),
            },
        },
        "slides": SLIDES,
        "cross_tile": cross_tile.iter().map(|t| {
            let of = |f: fn(&Report) -> f64| summary_json(t.test_final.iter().map(|(_, r)| f(r)).collect());
            serde_json::json!({
                "tile": t.tile,
                "trained_on": t.trained_on,
                "n_test": t.n_test,
                "f1": of(|r| r.f1),
                "precision": of(|r| r.precision),
                "recall": of(|r| r.recall),
                "reports": t.test_final,
            })
        }).collect::<Vec<_>>(),
        "published_candidate_classification": if config.data.hrsc.is_some() { PUBLISHED_HRSC } else { &[] },
        "wall_seconds": seconds,
        "runs": runs,
    });
    // A `serde_json::Value` always serialises (non-finite floats become null).
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// `report.md`: the run next to the slides, self-training, plots and where files are.
pub fn markdown(
    config: &ExperimentConfig,
    runs: &[SeedRun],
    cross_tile: &[TileRun],
    plots: &[(String, String)],
    seconds: f64,
) -> String {
    let (_, on) = runs[0].headline();
    let column = |f: fn(&Report) -> f64| cell(&runs.iter().map(|r| f(r.headline().0)).collect::<Vec<_>>());
    let val_loss = cell(
        &runs
            .iter()
            .map(|r| r.validation_final.log_loss)
            .collect::<Vec<_>>(),
    );
    let first = runs[0].headline().0.confusion;
    let mut md = String::new();
    md.push_str(if config.data.hrsc.is_some() {
        "# Crater classification on real HRSC data, by the seed experiment's recipe\n\n"
    } else {
        "# Crater classification: reproduction of the seed experiment\n\n"
    });
    md.push_str(&format!(
        "Data `{}`; seeds {}; stage 1 {} epochs at lr {}{}, {}; threshold {}. Wall time {:.1} s.\n\n",
        config.data.dir.display(),
        list(&config.seeds),
        config.stage1.epochs,
        config.stage1.learning_rate,
        if config.consistency.is_some() {
            " with consistency training on the extra set"
        } else {
            ""
        },
        if config.selftrain.max_rounds == 0 {
            "no self-training rounds".to_string()
        } else {
            format!(
                "self-training {}{} (up to {} round{}), stage 2 {} epochs at lr {}",
                config.selftrain.criterion,
                if config.selftrain.calibrated {
                    " on temperature-scaled probabilities (T fitted on the validation split each round)"
                } else {
                    ""
                },
                config.selftrain.max_rounds,
                if config.selftrain.max_rounds == 1 { "" } else { "s" },
                config.stage2.epochs,
                config.stage2.learning_rate
            )
        },
        config.threshold,
        seconds
    ));
    if config.data.label_fraction < 1.0 {
        md.push_str(&format!(
            "Trained on a share of {} of the labelled training split, per class (`[data] label_fraction`); the validation split is whole.\n\n",
            config.data.label_fraction
        ));
    }
    md.push_str(&format!(
        "Final model on the {on} set{}, next to the slides (their confusion matrix gives F1 0.9128 and accuracy 0.9029, not the 0.9016 / 0.8953 they state):\n\n",
        if runs.len() > 1 { " (mean ± std over seeds)" } else { "" }
    ));
    md.push_str("| | F1 | precision | recall | accuracy | val loss | TN / FP / FN / TP |\n|---|---|---|---|---|---|---|\n");
    md.push_str(&format!(
        "| this run | {} | {} | {} | {} | {} | {} / {} / {} / {}{} |\n",
        column(|r| r.f1),
        column(|r| r.precision),
        column(|r| r.recall),
        column(|r| r.accuracy),
        val_loss,
        first.tn,
        first.fp,
        first.fn_,
        first.tp,
        if runs.len() > 1 { " (first seed)" } else { "" }
    ));
    let [tn, fp, fn_, tp] = SLIDES.confusion;
    md.push_str(&format!(
        "| slides | {} | {:.4} | {} | {} | {} | {tn} / {fp} / {fn_} / {tp} |\n\n",
        SLIDES.f1,
        tp as f64 / (tp + fp) as f64,
        SLIDES.recall,
        SLIDES.accuracy,
        SLIDES.val_loss
    ));
    if let Some(hrsc) = &config.data.hrsc {
        md.push_str(&hrsc_section(hrsc, runs, cross_tile));
    }
    md.push_str("## Per seed\n\n| seed | stage-1 F1 | final F1 | pseudo-labels (0 / 1) | their precision (0 / 1) | termination | best epochs | seconds |\n|---|---|---|---|---|---|---|---|\n");
    for r in runs {
        let stage1 = r.headline_initial();
        let added = r.selftrain_rounds.iter().fold([0, 0], |acc, s| {
            [acc[0] + s.added_per_class[0], acc[1] + s.added_per_class[1]]
        });
        let precision = r.selftrain_rounds.first().map_or("–".to_string(), |s| {
            let p = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.3}"));
            format!("{} / {}", p(s.precision[0]), p(s.precision[1]))
        });
        md.push_str(&format!(
            "| {} | {:.4} | {:.4} | {} / {} | {} | {} | {} | {:.1} |\n",
            r.seed,
            stage1.f1,
            r.headline().0.f1,
            added[0],
            added[1],
            precision,
            r.selftrain_termination
                .map_or("no extra set".into(), |t| t.to_string()),
            list(&r.best_epochs),
            r.seconds
        ));
    }
    md.push_str(&rounds_section(runs));
    if let Some(consistency) = &config.consistency {
        md.push_str(&consistency_section(consistency, runs));
    }
    md.push_str(&calibration_section(runs));
    md.push_str("\n## Plots\n\n");
    for (file, caption) in plots {
        md.push_str(&format!("### {caption}\n\n![{caption}]({file})\n\n"));
    }
    md.push_str("## Files\n\n- `metrics.json`: every report (validation and test, stage 1 and final), per seed\n- `history.csv`: per-epoch loss and validation metrics of both stages\n- `models/initial/`, `models/final/`: model folders for `craters predict --model`\n- `scores.npy`, `y_pred_final.npy`: test probabilities and 0/1 predictions\n- `config.toml`: the resolved config\n");
    if runs.len() > 1 {
        md.push_str("- `seeds/<seed>/`: the same files for every further seed\n");
    }
    md
}

/// Every self-training round of every seed: what was pseudo-labelled and how much of it was
/// right by the extra set's hidden labels (when it has them).
fn rounds_section(runs: &[SeedRun]) -> String {
    if runs.iter().all(|r| r.selftrain_rounds.is_empty()) {
        return String::new();
    }
    let mut md = String::from(
        "\n## Pseudo-labels per round\n\nPrecision against the extra set's hidden labels (never trained on); – where that class got none or the set has no labels.\n\n| seed | round | added (0 / 1) | mean confidence | precision (0 / 1) |\n|---|---|---|---|---|\n",
    );
    let p = |x: Option<f64>| x.map_or("–".into(), |v| format!("{v:.3}"));
    for r in runs {
        for round in &r.selftrain_rounds {
            md.push_str(&format!(
                "| {} | {} | {} / {} | {} | {} / {} |\n",
                r.seed,
                round.round,
                round.added_per_class[0],
                round.added_per_class[1],
                p(round.mean_confidence),
                p(round.precision[0]),
                p(round.precision[1])
            ));
        }
    }
    md
}

/// Consistency training, per seed, at about ten epochs of stage 1: how many unlabelled
/// patches had a confident target and how many of those targets were right.
fn consistency_section(consistency: &ConsistencyParams, runs: &[SeedRun]) -> String {
    let threshold = match consistency.threshold {
        Threshold::Fixed => format!("max(p, 1 − p) ≥ {}", consistency.confidence),
        Threshold::SelfAdaptive => "max(p, 1 − p) over its class's self-adaptive threshold τ (FreeMatch; the table gives τ for crater-free / crater at the epoch's end)".into(),
    };
    let alignment = if consistency.distribution_alignment {
        " Probabilities were distribution-aligned first (to the labelled crater share), and the target's class is the aligned one."
    } else {
        ""
    };
    let mut md = format!(
        "\n## Consistency training\n\nStage 1 trained with {} unlabelled extra patches per labelled one (μ); a weak view's prediction with {threshold} became the target of a strong view (weight λ = {}, teacher: {}).{alignment} Targets right: against the extra set's hidden labels, never trained on.\n\n| seed | epoch | unlabelled seen | confident | of them craters | τ | targets right | unlabelled loss |\n|---|---|---|---|---|---|---|---|\n",
        consistency.unlabelled_ratio,
        consistency.weight,
        match consistency.teacher {
            Teacher::Model => "the model itself (FixMatch)",
            Teacher::MovingAverage => "a moving average of its weights (Mean Teacher)",
        }
    );
    for r in runs {
        let Some(history) = r.histories.first() else {
            continue;
        };
        let n = history.epochs.len();
        let step = n.div_ceil(10).max(1);
        for record in history
            .epochs
            .iter()
            .filter(|e| e.epoch % step == 0 || e.epoch == n)
        {
            let Some(u) = &record.unlabelled else {
                continue;
            };
            md.push_str(&format!(
                "| {} | {} | {} | {:.1}% | {:.1}% | {:.3} / {:.3} | {} | {:.4} |\n",
                r.seed,
                record.epoch,
                u.seen,
                100.0 * u.confident_share,
                100.0 * u.crater_share,
                u.thresholds[0],
                u.thresholds[1],
                u.target_precision
                    .map_or("–".into(), |p| format!("{:.1}%", 100.0 * p)),
                u.loss
            ));
        }
    }
    md
}

/// Temperature scaling per seed: the temperature and the expected calibration error before
/// and after it.
fn calibration_section(runs: &[SeedRun]) -> String {
    let mut md = String::from(
        "\n## Calibration\n\nTemperature scaling of the final model: probabilities `sigmoid(logit / T)`, `T` fitted on the validation split by log loss. Expected calibration error (ECE) over 10 equal-width bins, before → after; the test set was used neither for training nor for `T`.\n\n| seed | T | ECE, validation | ECE, test |\n|---|---|---|---|\n",
    );
    for r in runs {
        let c = &r.calibration;
        let pair = |p: &[craters_metrics::Reliability; 2]| format!("{:.4} → {:.4}", p[0].ece, p[1].ece);
        md.push_str(&format!(
            "| {} | {:.3} | {} | {} |\n",
            r.seed,
            c.temperature,
            pair(&c.validation),
            c.test.as_ref().map_or("–".into(), pair)
        ));
    }
    md
}

/// The HRSC candidate-classification results next to the published ones.
fn hrsc_section(hrsc: &HrscParams, runs: &[SeedRun], cross_tile: &[TileRun]) -> String {
    let mut md = String::from("## Real data: HRSC crater candidates\n\n");
    let test: Vec<&Report> = runs.iter().filter_map(|r| r.test_final.as_ref()).collect();
    let stage1: Vec<&Report> = runs.iter().filter_map(|r| r.test_initial.as_ref()).collect();
    let of =
        |reports: &[&Report], f: fn(&Report) -> f64| cell(&reports.iter().map(|r| f(r)).collect::<Vec<_>>());
    md.push_str(&format!(
        "Trained on the candidates of {} (validation: a stratified split of them), tested on those of {}.\n\n",
        hrsc.train_tiles.join(", "),
        hrsc.test_tiles.join(", ")
    ));
    md.push_str("| | F1 | precision | recall |\n|---|---|---|---|\n");
    if !test.is_empty() {
        md.push_str(&format!(
            "| this run, final model, test tile(s) {} | {} | {} | {} |\n",
            hrsc.test_tiles.join(", "),
            of(&test, |r| r.f1),
            of(&test, |r| r.precision),
            of(&test, |r| r.recall)
        ));
    }
    if !stage1.is_empty() {
        md.push_str(&format!(
            "| this run, stage 1 alone (no self-training) | {} | {} | {} |\n",
            of(&stage1, |r| r.f1),
            of(&stage1, |r| r.precision),
            of(&stage1, |r| r.recall)
        ));
    }
    for p in PUBLISHED_HRSC {
        md.push_str(&format!("| {} ({}) | ≈ {:.2} | | |\n", p.source, p.figures, p.f1));
    }
    if !cross_tile.is_empty() {
        md.push_str("\n### Leave one tile out\n\nEach tile's candidates scored by the final model trained on the other tiles (mean ± std over seeds):\n\n| test tile | candidates | F1 | precision | recall |\n|---|---|---|---|---|\n");
        for t in cross_tile {
            let reports: Vec<&Report> = t.test_final.iter().map(|(_, r)| r).collect();
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                t.tile,
                t.n_test,
                of(&reports, |r| r.f1),
                of(&reports, |r| r.precision),
                of(&reports, |r| r.recall)
            ));
        }
    }
    md.push('\n');
    md
}
