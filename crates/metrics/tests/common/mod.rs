//! Input strategies shared by the property tests.

use proptest::prelude::*;

/// Largest sample size drawn.
pub const MAX_LEN: usize = 200;

/// Labels and scores of equal length (1..=MAX_LEN), scores in [0, 1] on a coarse grid so that
/// ties are common.
pub fn tied_samples() -> impl Strategy<Value = (Vec<u8>, Vec<f64>)> {
    (1..=MAX_LEN).prop_flat_map(|n| {
        (
            prop::collection::vec(0u8..=1, n),
            prop::collection::vec((0u32..=20).prop_map(|k| f64::from(k) / 20.0), n),
        )
    })
}

/// Like [`tied_samples`] but with distinct scores and both classes present.
pub fn distinct_samples() -> impl Strategy<Value = (Vec<u8>, Vec<f64>)> {
    (2..=MAX_LEN)
        .prop_flat_map(|n| (prop::collection::vec(0u8..=1, n), Just(n), any::<u64>()))
        .prop_filter("both classes", |(labels, _, _)| {
            labels.contains(&0) && labels.contains(&1)
        })
        .prop_map(|(labels, n, seed)| {
            // A permutation of evenly spaced scores: distinct by construction.
            let mut scores: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
            let mut state = seed | 1;
            for i in (1..n).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                scores.swap(i, (state % (i as u64 + 1)) as usize);
            }
            (labels, scores)
        })
}
