//! PNG plots with plotters; text is drawn with the embedded DejaVu Sans, so no system
//! fonts are needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use craters_metrics::{PrCurve, Reliability, Report};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};
use crate::results::SeedRun;

const SIZE: (u32, u32) = (720, 480);
const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
    });
}

fn failed<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Plot {
        path: path.into(),
        message: e.to_string(),
    }
}

/// Draws the learning curve, PR curve, confusion matrix and F1-by-threshold of `run` into
/// `dir`; returns (file relative to the run folder, caption) per plot.
pub(crate) fn draw_all(dir: &Path, run: &SeedRun, threshold: f64) -> Result<Vec<(String, String)>> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    let (report, set) = run.headline();
    let mut files = Vec::new();
    let mut add = |name: &str, caption: String| -> PathBuf {
        files.push((format!("plots/{name}"), caption));
        dir.join(name)
    };
    learning_curve(
        &add("learning_curve.png", "Learning curve (both stages)".into()),
        run,
    )?;
    confusion(
        &add(
            "confusion.png",
            format!("Confusion matrix, {set} set, threshold {threshold}"),
        ),
        report,
    )?;
    let (diagrams, on) = match &run.calibration.test {
        Some(test) => (test, "test"),
        None => (&run.calibration.validation, "validation"),
    };
    reliability(
        &add(
            "reliability.png",
            format!("Reliability diagram, {on} set, before and after temperature scaling"),
        ),
        diagrams,
        run.calibration.temperature,
    )?;
    if let Some(curve) = &report.pr_curve {
        pr_curve(
            &add("pr_curve.png", format!("Precision–recall curve, {set} set")),
            report,
            curve,
            threshold,
        )?;
        f1_by_threshold(
            &add("f1_threshold.png", format!("F1 by threshold, {set} set")),
            report,
            curve,
            threshold,
        )?;
    }
    Ok(files)
}

fn learning_curve(path: &Path, run: &SeedRun) -> Result<()> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed(path))?;
    let mut train = Vec::new();
    let mut validation = Vec::new();
    let mut boundary = None;
    let mut offset = 0usize;
    for (stage, history) in run.histories.iter().enumerate() {
        if stage > 0 {
            boundary = Some(offset as f64 + 0.5);
        }
        for r in &history.epochs {
            let x = (offset + r.epoch) as f64;
            train.push((x, r.loss));
            if let Some(v) = &r.validation {
                validation.push((x, v.loss));
            }
        }
        offset += history.epochs.len();
    }
    let y_max = train
        .iter()
        .chain(&validation)
        .map(|p| p.1)
        .fold(0.0f64, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption("Training and validation loss", (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..offset.max(1) as f64 + 1.0, 0.0..y_max.max(1e-3))
        .map_err(failed(path))?;
    chart
        .configure_mesh()
        .x_desc("epoch (stage 1, then stage 2)")
        .y_desc("binary cross-entropy")
        .label_style((FONT, 14))
        .draw()
        .map_err(failed(path))?;
    chart
        .draw_series(LineSeries::new(train, BLUE.stroke_width(2)))
        .map_err(failed(path))?
        .label("train loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(validation, RED.stroke_width(2)))
        .map_err(failed(path))?
        .label("validation loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    if let Some(x) = boundary {
        chart
            .draw_series(LineSeries::new(vec![(x, 0.0), (x, y_max)], BLACK.mix(0.4)))
            .map_err(failed(path))?
            .label("stage 2 starts")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(failed(path))?;
    root.present().map_err(failed(path))
}

/// Mean predicted probability against the share of craters per bin, before and after
/// temperature scaling, with the diagonal of perfect calibration.
fn reliability(path: &Path, diagrams: &[Reliability; 2], temperature: f64) -> Result<()> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Reliability", (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(failed(path))?;
    chart
        .configure_mesh()
        .x_desc("mean predicted probability of a crater (per bin)")
        .y_desc("share of craters")
        .label_style((FONT, 14))
        .draw()
        .map_err(failed(path))?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.4)))
        .map_err(failed(path))?
        .label("perfect calibration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
    let colours = [RED, BLUE];
    for (diagram, (colour, name)) in diagrams.iter().zip(
        colours
            .into_iter()
            .zip(["before".to_string(), format!("after, T = {temperature:.3}")]),
    ) {
        let points: Vec<(f64, f64)> = diagram
            .bins
            .iter()
            .filter_map(|b| Some((b.mean_probability?, b.frequency?)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(failed(path))?
            .label(format!("{name} (ECE {:.3})", diagram.ece))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart
            .draw_series(points.into_iter().map(|p| Circle::new(p, 4, colour.filled())))
            .map_err(failed(path))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(failed(path))?;
    root.present().map_err(failed(path))
}

fn pr_curve(path: &Path, report: &Report, curve: &PrCurve, threshold: f64) -> Result<()> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Precision–recall (AP {:.3})",
                report.average_precision.unwrap_or(f64::NAN)
            ),
            (FONT, 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, 0.0..1.02)
        .map_err(failed(path))?;
    chart
        .configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .label_style((FONT, 14))
        .draw()
        .map_err(failed(path))?;
    chart
        .draw_series(LineSeries::new(
            curve.recall.iter().copied().zip(curve.precision.iter().copied()),
            BLUE.stroke_width(2),
        ))
        .map_err(failed(path))?
        .label("PR curve")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(std::iter::once(Circle::new(
            (report.recall, report.precision),
            6,
            RED.filled(),
        )))
        .map_err(failed(path))?
        .label(format!("threshold {threshold}: F1 {:.3}", report.f1))
        .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(failed(path))?;
    root.present().map_err(failed(path))
}

fn f1_by_threshold(path: &Path, report: &Report, curve: &PrCurve, threshold: f64) -> Result<()> {
    let points: Vec<(f64, f64)> = curve
        .thresholds
        .iter()
        .zip(curve.precision.iter().zip(&curve.recall))
        .map(|(&t, (&p, &r))| (t, if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 }))
        .collect();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("F1 of class 1 by decision threshold", (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, 0.0..1.02)
        .map_err(failed(path))?;
    chart
        .configure_mesh()
        .x_desc("threshold on the crater probability")
        .y_desc("F1")
        .label_style((FONT, 14))
        .draw()
        .map_err(failed(path))?;
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
        .map_err(failed(path))?
        .label("F1")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(std::iter::once(Circle::new(
            (threshold, report.f1),
            6,
            RED.filled(),
        )))
        .map_err(failed(path))?
        .label(format!("threshold {threshold}: F1 {:.3}", report.f1))
        .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
    if let Some(best) = report.best_f1 {
        chart
            .draw_series(std::iter::once(Circle::new(
                (best.threshold, best.f1),
                6,
                GREEN.filled(),
            )))
            .map_err(failed(path))?
            .label(format!("best: F1 {:.3} at {:.3}", best.f1, best.threshold))
            .legend(|(x, y)| Circle::new((x + 10, y), 5, GREEN.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(failed(path))?;
    root.present().map_err(failed(path))
}

/// Axis label of a cell centre (0.5 or 1.5); nothing at the edges.
fn class_name(at: f64, names: [&str; 2]) -> String {
    match at {
        v if (v - 0.5).abs() < 0.26 => names[0].into(),
        v if (v - 1.5).abs() < 0.26 => names[1].into(),
        _ => String::new(),
    }
}

fn confusion(path: &Path, report: &Report) -> Result<()> {
    let c = report.confusion;
    let root = BitMapBackend::new(path, (520, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(failed(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Confusion matrix", (FONT, 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..2.0, 0.0..2.0)
        .map_err(failed(path))?;
    chart
        .configure_mesh()
        .disable_mesh()
        // Ticks every half cell, so that the cell centres (0.5, 1.5) get the class names.
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&|x: &f64| class_name(*x, ["no crater", "crater"]))
        .y_label_formatter(&|y: &f64| class_name(*y, ["crater", "no crater"]))
        .x_desc("predicted")
        .y_desc("true")
        .label_style((FONT, 15))
        .draw()
        .map_err(failed(path))?;
    // Rows from the top: true "no crater", then true "crater".
    let cells = [
        (0, 1, c.tn, "TN"),
        (1, 1, c.fp, "FP"),
        (0, 0, c.fn_, "FN"),
        (1, 0, c.tp, "TP"),
    ];
    let largest = cells.iter().map(|cell| cell.2).max().unwrap_or(1).max(1) as f64;
    for &(col, row, count, name) in &cells {
        let (x, y) = (f64::from(col), f64::from(row));
        let shade = 0.15 + 0.7 * count as f64 / largest;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                BLUE.mix(shade).filled(),
            )))
            .map_err(failed(path))?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{name} {count}"),
                (x + 0.32, y + 0.55),
                (FONT, 26).into_font().color(&BLACK),
            )))
            .map_err(failed(path))?;
    }
    root.present().map_err(failed(path))
}
