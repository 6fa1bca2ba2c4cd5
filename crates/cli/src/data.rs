//! `craters data ...`.

use std::time::Instant;

use craters_dataset::synth::{SynthParams, generate as generate_sets, write_seed_layout};
use craters_dataset::{ClassBalance, ClassFolders, OutputParams, inspect as inspect_path, write_preview};

use craters_dataset::hrsc::{Border, HrscParams, write_layout};

use crate::args::{GenerateArgs, HrscArgs, InspectArgs, PreviewArgs};

pub fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let params = SynthParams::default()
        .seed(args.seed)
        .n_train(args.n_train)
        .n_extra(args.n_extra)
        .n_test(args.n_test)
        .positive_fraction(args.positive_fraction)
        .check()?;
    let output = OutputParams::new(&args.out).force(args.force).check()?;
    let start = Instant::now();
    let data = generate_sets(&params);
    let generated = start.elapsed().as_secs_f64();
    output.write_folder(|dir| write_seed_layout(dir, &data, &params))?;
    let total = data.train.len() + data.extra.len() + data.test.len();
    println!(
        "wrote {total} patches to {} in {:.2} s ({generated:.2} s generating): train {}, extra {}, test {} (seed {})",
        args.out.display(),
        start.elapsed().as_secs_f64(),
        data.train.len(),
        data.extra.len(),
        data.test.len(),
        args.seed
    );
    Ok(())
}

pub fn hrsc(args: &HrscArgs) -> anyhow::Result<()> {
    let params = HrscParams {
        root: args.root.clone(),
        train_tiles: args.tiles.clone(),
        test_tiles: args.test_tiles.clone(),
        extra_tiles: args.extra_tiles.clone(),
        n_extra: args.n_extra,
        extra_seed: args.seed,
        extra_windows: args.extra_windows.into(),
        border: if args.skip_border {
            Border::Skip
        } else {
            Border::Reflect
        },
        catalogue_positives: args.catalogue_positives,
        catalogue_negatives: args.catalogue_negatives,
        stretch: args.stretch.into(),
    };
    let start = Instant::now();
    let out = OutputParams::new(&args.out).force(args.force);
    let params = params.check()?;
    let written = write_layout(&params, out)?;
    let describe = |blocks: &craters_dataset::hrsc::Blocks| {
        let positives = blocks.sources.iter().filter(|s| s.label == Some(1)).count();
        format!(
            "{} ({positives} craters, {} skipped at the border)",
            blocks.data.len(),
            blocks.skipped
        )
    };
    println!(
        "wrote {} in {:.1} s: train {} from {}; extra {} unlabelled windows from {}{}",
        args.out.display(),
        start.elapsed().as_secs_f64(),
        describe(&written.train),
        params.train_tiles.join(","),
        written.extra.data.len(),
        params.unlabelled_tiles().join(","),
        written.test.as_ref().map_or(String::new(), |t| format!(
            "; test {} from {}",
            describe(t),
            params.test_tiles.join(",")
        ))
    );
    Ok(())
}

pub fn preview(args: &PreviewArgs) -> anyhow::Result<()> {
    let out = OutputParams::new(&args.out).force(args.force);
    let rows = write_preview(&args.path, out, args.per_row, args.seed)?;
    println!(
        "wrote {} (rows top to bottom; frame colour by class)",
        args.out.display()
    );
    for (i, row) in rows.iter().enumerate() {
        println!(
            "  row {:>2}: {} ({} patches, {} frames)",
            i + 1,
            row.caption,
            row.shown,
            row.colour
        );
    }
    Ok(())
}

pub fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let classes = ClassFolders {
        positive: args.positive_class.clone(),
        negative: args.negative_class.clone(),
    };
    let report = inspect_path(&args.path, &classes)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("{} ({})", report.path, report.layout.replace('_', " "));
    if !report.files.is_empty() {
        println!(
            "{:<26} {:<7} {:<15} {:<6} {:>6} {:>8} {:>8}  notes",
            "file", "role", "shape", "dtype", "count", "min", "max"
        );
    }
    for file in &report.files {
        let shape = format!(
            "({})",
            file.shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
                + if file.shape.len() == 1 { "," } else { "" }
        );
        let notes = match (&file.pixel_scale, &file.class_balance) {
            (Some(scale), _) => scale.describe().to_string(),
            (_, Some(balance)) => describe_balance(balance),
            _ => String::new(),
        };
        println!(
            "{:<26} {:<7} {:<15} {:<6} {:>6} {:>8} {:>8}  {notes}",
            file.file,
            file.role,
            shape,
            file.dtype,
            file.count,
            format_value(file.min),
            format_value(file.max)
        );
    }
    if let Some(folder) = &report.folder {
        println!("images: {} (grayscale, resized to 48x48)", folder.images);
        match &folder.class_balance {
            Some(balance) => println!("labels: {}", describe_balance(balance)),
            None => println!("labels: none (no class subfolders)"),
        }
    }
    Ok(())
}

fn describe_balance(balance: &ClassBalance) -> String {
    let weights = match balance.balanced_weights {
        Some(w) => format!("balanced weights 0: {:.4}, 1: {:.4}", w.negative, w.positive),
        None => "balanced weights undefined (one class only)".into(),
    };
    format!(
        "0: {}, 1: {} ({:.2}% craters); {weights}",
        balance.negatives,
        balance.positives,
        100.0 * balance.positive_fraction
    )
}

/// Whole numbers as they are, others to four decimals (pixel ranges read at a glance).
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v}")
    } else {
        format!("{v:.4}")
    }
}
