//! Invariants of the suppression of overlapping detections, checked with proptest.

use craters_detect::suppress_overlaps;
use craters_metrics::detection::Detection;
use proptest::prelude::*;

fn detections() -> impl Strategy<Value = Vec<Detection>> {
    // Scores on a coarse grid, so that ties happen.
    prop::collection::vec((0.0f64..100.0, 0.0f64..100.0, 2.0f64..20.0, 0u8..10), 0..40).prop_map(|v| {
        v.into_iter()
            .map(|(x, y, r, s)| Detection::new(x, y, r, f64::from(s) / 10.0))
            .collect()
    })
}

proptest! {
    #[test]
    fn suppression_keeps_no_overlapping_pair(found in detections()) {
        let kept = suppress_overlaps(&found, 1.0, 2.0);
        prop_assert!(kept.windows(2).all(|w| w[0].score >= w[1].score));
        for (i, a) in kept.iter().enumerate() {
            for b in &kept[i + 1..] {
                let (a, b) = (&a.circle, &b.circle);
                let ratio = a.r.max(b.r) / a.r.min(b.r);
                prop_assert!(!(ratio <= 2.0 && (a.x - b.x).hypot(a.y - b.y) < a.r.min(b.r)));
            }
        }
        // Every dropped detection overlaps a kept one with at least its score.
        for d in &found {
            if !kept.contains(d) {
                let covered = kept.iter().any(|k| {
                    let ratio = k.circle.r.max(d.circle.r) / k.circle.r.min(d.circle.r);
                    k.score >= d.score
                        && ratio <= 2.0
                        && (k.circle.x - d.circle.x).hypot(k.circle.y - d.circle.y) < k.circle.r.min(d.circle.r)
                });
                prop_assert!(covered, "{:?} dropped without a kept overlap", d);
            }
        }
    }

    #[test]
    fn suppression_does_not_depend_on_the_input_order(found in detections(), seed in any::<u64>()) {
        // A permutation of the input (ties in score are frequent with these scores).
        let mut shuffled = found.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(suppress_overlaps(&found, 1.0, 2.0), suppress_overlaps(&shuffled, 1.0, 2.0));
    }
}
