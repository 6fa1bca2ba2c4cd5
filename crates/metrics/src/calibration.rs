//! How well probabilities match observed frequencies (reliability diagram, expected
//! calibration error) and temperature scaling, which rescales logits to match them better.
//!
//! The bins follow scikit-learn's `calibration_curve(strategy="uniform")`: `n` equal-width
//! bins of the predicted probability of class 1, bin `k` holding `(k/n, (k+1)/n]` (the first
//! also holds 0). The expected calibration error is the sample-weighted mean gap between a
//! bin's mean probability and its share of class 1.

use crate::error::{Error, Result};
use crate::input::{Label, Score, check_lengths, checked, labels_to_bool};

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReliabilityBin {
    /// The bin's lower edge (exclusive, except for the first bin).
    pub lower: f64,
    /// The bin's upper edge (inclusive).
    pub upper: f64,
    /// Samples in the bin.
    pub count: usize,
    /// Their mean predicted probability of class 1 (`None` when the bin is empty).
    pub mean_probability: Option<f64>,
    /// Their share of class 1 (`None` when the bin is empty).
    pub frequency: Option<f64>,
}

/// A reliability diagram and its expected calibration error.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reliability {
    /// The bins, lowest first.
    pub bins: Vec<ReliabilityBin>,
    /// Σ over bins of (count / N) · |mean probability − frequency|.
    pub ece: f64,
}

/// The reliability diagram of `scores` (probabilities of class 1, in [0, 1]) against
/// `labels`, in `n_bins` equal-width bins.
pub fn reliability<L: Label, S: Score>(labels: &[L], scores: &[S], n_bins: usize) -> Result<Reliability> {
    let (labels, scores) = checked(labels, scores)?;
    if n_bins == 0 {
        return Err(Error::InvalidBins { n_bins });
    }
    let mut count = vec![0usize; n_bins];
    let mut sum_p = vec![0.0f64; n_bins];
    let mut positives = vec![0usize; n_bins];
    for (&truth, &p) in labels.iter().zip(&scores) {
        // The number of inner edges k/n strictly below p.
        let bin = ((p * n_bins as f64).ceil() as usize)
            .saturating_sub(1)
            .min(n_bins - 1);
        count[bin] += 1;
        sum_p[bin] += p;
        positives[bin] += usize::from(truth);
    }
    let n = labels.len() as f64;
    let mut ece = 0.0;
    let bins = (0..n_bins)
        .map(|b| {
            let (mean_probability, frequency) = if count[b] == 0 {
                (None, None)
            } else {
                let c = count[b] as f64;
                let (mean, freq) = (sum_p[b] / c, positives[b] as f64 / c);
                ece += c / n * (mean - freq).abs();
                (Some(mean), Some(freq))
            };
            ReliabilityBin {
                lower: b as f64 / n_bins as f64,
                upper: (b + 1) as f64 / n_bins as f64,
                count: count[b],
                mean_probability,
                frequency,
            }
        })
        .collect();
    Ok(Reliability { bins, ece })
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Lower and upper bounds of the fitted temperature: sharper than 1/100 or flatter than
/// 100 is not a calibration but a sign that the logits carry no information.
pub const TEMPERATURE_RANGE: (f64, f64) = (0.01, 100.0);

/// The temperature `T` that minimises the mean log loss of `sigmoid(z / T)` against
/// `labels` (temperature scaling, Guo et al. 2017), within [`TEMPERATURE_RANGE`]. The
/// logits are any finite numbers.
///
/// The loss is convex in `a = 1/T`, so its derivative `mean((sigmoid(a·z) − y)·z)` grows
/// with `a` and is bisected to its zero: deterministic, no step size to tune.
pub fn fit_temperature<L: Label, S: Score>(labels: &[L], logits: &[S]) -> Result<f64> {
    check_lengths(labels.len(), logits.len())?;
    let labels = labels_to_bool(labels, 0)?;
    let logits: Vec<f64> = logits.iter().map(|z| z.to_f64()).collect();
    if let Some(i) = logits.iter().position(|z| !z.is_finite()) {
        return Err(Error::NonFiniteScore {
            index: i,
            value: logits[i],
        });
    }
    let slope = |a: f64| -> f64 {
        labels
            .iter()
            .zip(&logits)
            .map(|(&y, &z)| (sigmoid(a * z) - f64::from(u8::from(y))) * z)
            .sum::<f64>()
            / labels.len() as f64
    };
    let (t_min, t_max) = TEMPERATURE_RANGE;
    let (mut lo, mut hi) = (1.0 / t_max, 1.0 / t_min);
    if slope(lo) >= 0.0 {
        return Ok(t_max);
    }
    if slope(hi) <= 0.0 {
        return Ok(t_min);
    }
    // 100 halvings of a range of 10⁴: far below f64 resolution.
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if slope(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(2.0 / (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_and_ece_by_hand() {
        // Bins of 0.5: [0, 0.5] holds 0.0, 0.2, 0.5; (0.5, 1] holds 0.6, 1.0.
        let labels = [0u8, 1, 0, 1, 1];
        let scores = [0.0, 0.2, 0.5, 0.6, 1.0];
        let r = reliability(&labels, &scores, 2).unwrap();
        assert_eq!(r.bins[0].count, 3);
        assert_eq!(r.bins[1].count, 2);
        let (m0, f0) = (0.7 / 3.0, 1.0 / 3.0);
        let (m1, f1) = (0.8, 1.0);
        assert!((r.bins[0].mean_probability.unwrap() - m0).abs() < 1e-12);
        assert_eq!(r.bins[0].frequency, Some(f0));
        assert_eq!(r.bins[1].frequency, Some(f1));
        let ece = 3.0 / 5.0 * (m0 - f0).abs() + 2.0 / 5.0 * (m1 - f1).abs();
        assert!((r.ece - ece).abs() < 1e-12, "{} vs {ece}", r.ece);
        // Empty bins have no mean, and add nothing.
        let r = reliability(&[1u8], &[0.95], 10).unwrap();
        assert_eq!(r.bins[0].mean_probability, None);
        assert_eq!(r.bins[9].count, 1);
        assert!((r.ece - 0.05).abs() < 1e-12);
    }

    #[test]
    fn perfectly_calibrated_scores_have_zero_ece() {
        // In each bin the share of class 1 equals the probability.
        let labels = [0u8, 0, 0, 1, 1, 1, 1, 0];
        let scores = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
        assert!(reliability(&labels, &scores, 4).unwrap().ece < 1e-12);
    }

    #[test]
    fn temperature_undoes_a_known_sharpening() {
        // Labels drawn to be calibrated at logits z; the model reports 3·z (too sure).
        let mut labels = Vec::new();
        let mut logits = Vec::new();
        for i in 0..400 {
            let z = -4.0 + 8.0 * (i as f64 + 0.5) / 400.0;
            let p = sigmoid(z);
            // A deterministic stand-in for sampling: the fraction p of repeats is 1.
            for k in 0..200 {
                labels.push(u8::from((k as f64 + 0.5) / 200.0 < p));
                logits.push(3.0 * z);
            }
        }
        let t = fit_temperature(&labels, &logits).unwrap();
        assert!((t - 3.0).abs() < 0.05, "fitted {t}");
        let before: Vec<f64> = logits.iter().map(|&z| sigmoid(z)).collect();
        let after: Vec<f64> = logits.iter().map(|&z| sigmoid(z / t)).collect();
        let (e0, e1) = (
            reliability(&labels, &before, 10).unwrap().ece,
            reliability(&labels, &after, 10).unwrap().ece,
        );
        assert!(e1 < e0 / 3.0, "ECE {e0} → {e1}");
    }

    #[test]
    fn uninformative_or_separable_logits_hit_the_bounds() {
        // Logits that point the wrong way: no positive temperature helps.
        assert_eq!(
            fit_temperature(&[0u8, 1], &[1.0, -1.0]).unwrap(),
            TEMPERATURE_RANGE.1
        );
        // Perfectly separated: sharper is always better, down to the bound.
        assert_eq!(
            fit_temperature(&[0u8, 1], &[-1.0, 1.0]).unwrap(),
            TEMPERATURE_RANGE.0
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            reliability(&[0u8], &[1.5], 10),
            Err(Error::ScoreOutOfRange { .. })
        ));
        assert!(matches!(
            reliability(&[0u8], &[0.5], 0),
            Err(Error::InvalidBins { n_bins: 0 })
        ));
        assert!(matches!(reliability::<u8, f64>(&[], &[], 10), Err(Error::Empty)));
        assert!(matches!(
            fit_temperature(&[0u8, 2], &[0.1, 0.2]),
            Err(Error::BadLabel { .. })
        ));
        assert!(matches!(
            fit_temperature(&[0u8], &[f64::NAN]),
            Err(Error::NonFiniteScore { .. })
        ));
    }
}
