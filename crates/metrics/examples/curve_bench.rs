//! Times the O(n log n) metrics on many scores:
//! `cargo run --release -p craters-metrics --example curve_bench -- [N]` (default 10 million).
//! Prints one JSON line; runs on one thread.

use std::time::Instant;

use craters_metrics::{Report, average_precision, precision_recall_curve, roc_auc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    // A fixed xorshift stream: scores on a 2^-24 grid (as f32 probabilities are) so ties occur.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let labels: Vec<u8> = (0..n).map(|_| (next() % 100 < 64) as u8).collect();
    let scores: Vec<f32> = labels
        .iter()
        .map(|&l| {
            let noise = (next() >> 40) as f32 / (1u64 << 24) as f32;
            (0.35 * f32::from(l) + 0.65 * noise).min(1.0)
        })
        .collect();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    let pr_s = time(&|| drop(precision_recall_curve(&labels, &scores).unwrap()));
    let ap_s = time(&|| {
        average_precision(&labels, &scores).unwrap();
    });
    let auc_s = time(&|| {
        roc_auc(&labels, &scores).unwrap();
    });
    let report_s = time(&|| drop(Report::new(&labels, &scores, 0.5).unwrap()));
    println!(
        "{{\"n\": {n}, \"pr_curve_s\": {pr_s:.3}, \"average_precision_s\": {ap_s:.3}, \"roc_auc_s\": {auc_s:.3}, \"full_report_s\": {report_s:.3}}}"
    );
    Ok(())
}
