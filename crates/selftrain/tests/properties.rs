//! Self-training with a cheap classifier: invariants under random data and parameters.

use std::convert::Infallible;

use craters_dataset::{Dataset, PATCH_PIXELS};
use craters_selftrain::{Classifier, Criterion, SelfTrainingParams, Termination, self_train};
use proptest::prelude::*;

/// Logistic regression on one feature, the mean brightness, fitted in closed form: the
/// boundary halfway between the weighted class means.
#[derive(Debug, Default)]
struct MeanBrightness {
    boundary: f32,
    slope: f32,
    fits: Vec<(usize, usize, bool)>,
    /// A temperature its calibrated probabilities divide the logit by; `None`: it cannot
    /// calibrate.
    temperature: Option<f32>,
}

fn brightness(data: &Dataset) -> Vec<f32> {
    data.pixels()
        .chunks(PATCH_PIXELS)
        .map(|p| p.iter().sum::<f32>() / PATCH_PIXELS as f32)
        .collect()
}

impl Classifier for MeanBrightness {
    type Error = Infallible;

    fn fit(
        &mut self,
        round: usize,
        train: &Dataset,
        weights: &[f32],
        warm_start: bool,
    ) -> Result<(), Infallible> {
        let mut sums = [0.0f32; 2];
        let mut totals = [0.0f32; 2];
        for ((b, &y), &w) in brightness(train).iter().zip(train.labels().unwrap()).zip(weights) {
            sums[y as usize] += w * b;
            totals[y as usize] += w;
        }
        let mean = |c: usize| {
            if totals[c] > 0.0 {
                sums[c] / totals[c]
            } else {
                c as f32
            }
        };
        self.boundary = (mean(0) + mean(1)) / 2.0;
        self.slope = 8.0 * (mean(1) - mean(0)).signum();
        self.fits.push((round, train.len(), warm_start));
        Ok(())
    }

    fn predict_proba(&self, data: &Dataset) -> Result<Vec<f32>, Infallible> {
        Ok(self.probabilities(data, 1.0))
    }

    fn predict_proba_calibrated(&self, data: &Dataset) -> Option<Result<Vec<f32>, Infallible>> {
        self.temperature.map(|t| Ok(self.probabilities(data, t)))
    }
}

impl MeanBrightness {
    fn probabilities(&self, data: &Dataset, temperature: f32) -> Vec<f32> {
        brightness(data)
            .iter()
            .map(|b| 1.0 / (1.0 + (-self.slope * (b - self.boundary) / temperature).exp()))
            .collect()
    }
}

fn set(values: &[f32], labels: Option<Vec<u8>>) -> Dataset {
    let pixels = values
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, PATCH_PIXELS))
        .collect();
    Dataset::new("test", pixels, labels).unwrap()
}

fn criterion() -> impl Strategy<Value = Criterion> {
    prop_oneof![
        (
            proptest::option::of(0.0f64..0.5),
            proptest::option::of(0.5f64..1.0)
        )
            .prop_filter("one side on", |(n, p)| n.is_some() || p.is_some())
            .prop_map(|(neg, pos)| Criterion::Threshold { neg, pos }),
        (1usize..8).prop_map(|k| Criterion::KBest { k }),
    ]
}

fn params() -> impl Strategy<Value = SelfTrainingParams> {
    (
        criterion(),
        0usize..5,
        proptest::option::of(1usize..8),
        any::<bool>(),
        0.1f32..2.0,
        any::<bool>(),
    )
        .prop_map(
            |(criterion, max_rounds, max_per_round, balance, pseudo_weight, warm_start)| {
                let both = matches!(
                    criterion,
                    Criterion::Threshold {
                        neg: Some(_),
                        pos: Some(_)
                    }
                );
                SelfTrainingParams {
                    criterion,
                    max_rounds,
                    max_per_round,
                    balance: balance && both,
                    pseudo_weight,
                    warm_start,
                    calibrated: false,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold(
        given in proptest::collection::vec((0.0f32..1.0, 0u8..2), 2..12),
        pool in proptest::collection::vec((0.0f32..1.0, 0u8..2), 0..30),
        p in params(),
    ) {
        let labelled = set(&given.iter().map(|g| g.0).collect::<Vec<_>>(), Some(given.iter().map(|g| g.1).collect()));
        let pool_set = if pool.is_empty() {
            None
        } else {
            Some(set(&pool.iter().map(|g| g.0).collect::<Vec<_>>(), Some(pool.iter().map(|g| g.1).collect())))
        };
        prop_assume!(pool_set.is_some());
        let pool_set = pool_set.unwrap();
        let valid = p.check().unwrap();
        let mut clf = MeanBrightness::default();
        let result = self_train(&mut clf, &valid, &labelled, &pool_set).unwrap();
        let n = given.len();

        // Given labels are never changed and count as round 0.
        for (i, g) in given.iter().enumerate() {
            prop_assert_eq!(result.transduction[i], g.1 as i8);
            prop_assert_eq!(result.labelled_round[i], 0);
        }
        prop_assert!(result.rounds.len() <= p.max_rounds);
        let mut seen = std::collections::HashSet::new();
        for log in &result.rounds {
            if let Some(cap) = p.max_per_round {
                prop_assert!(log.added.len() <= cap);
            }
            if let Criterion::KBest { k } = p.criterion {
                prop_assert!(log.added.len() <= k);
            }
            if p.balance {
                prop_assert_eq!(log.added_per_class[0], log.added_per_class[1]);
            }
            prop_assert_eq!(log.added_per_class[0] + log.added_per_class[1], log.added.len());
            for a in &log.added {
                // Each sample is labelled once, in this round, with this label, for good.
                prop_assert!(seen.insert(a.index));
                prop_assert_eq!(result.labelled_round[n + a.index], log.round as i32);
                prop_assert_eq!(result.transduction[n + a.index], a.label as i8);
                let q = f64::from(a.probability);
                match p.criterion {
                    Criterion::Threshold { neg, pos } => {
                        if a.label == 0 { prop_assert!(neg.is_some_and(|t| q < t)); }
                        else { prop_assert!(pos.is_some_and(|t| q > t)); }
                    }
                    Criterion::KBest { .. } => prop_assert_eq!(a.label, u8::from(q >= 0.5)),
                }
            }
        }
        // Never labelled ⇔ round −1 and transduction −1.
        for i in 0..pool.len() {
            prop_assert_eq!(result.labelled_round[n + i] == -1, !seen.contains(&i));
            prop_assert_eq!(result.transduction[n + i] == -1, !seen.contains(&i));
        }
        // The reason matches what happened.
        match result.termination {
            Termination::MaxRounds => prop_assert_eq!(result.rounds.len(), p.max_rounds),
            Termination::AllLabelled => prop_assert_eq!(seen.len(), pool.len()),
            Termination::NoNewLabels => prop_assert!(result.rounds.len() < p.max_rounds && seen.len() < pool.len()),
        }
        // One fit per round plus the first; warm starts only after the first.
        prop_assert_eq!(clf.fits.len(), result.rounds.len() + 1);
        prop_assert_eq!(clf.fits[0], (0, n, false));
        for (k, &(round, len, warm)) in clf.fits.iter().enumerate().skip(1) {
            prop_assert_eq!(round, k);
            prop_assert_eq!(warm, p.warm_start);
            let labelled_so_far = result.rounds[..k].iter().map(|r| r.added.len()).sum::<usize>();
            prop_assert_eq!(len, n + labelled_so_far);
        }
        // Deterministic.
        let again = self_train(&mut MeanBrightness::default(), &valid, &labelled, &pool_set).unwrap();
        prop_assert_eq!(again, result);
    }
}

#[test]
fn seed_protocol_labels_confident_negatives_and_measures_them() {
    // Dark = no crater. The pool has confident dark and bright patches and unsure greys.
    let labelled = set(&[0.1, 0.2, 0.8, 0.9], Some(vec![0, 0, 1, 1]));
    let pool = set(&[0.05, 0.15, 0.5, 0.95, 0.45], Some(vec![0, 1, 0, 1, 0]));
    let valid = SelfTrainingParams::default().check().unwrap();
    let result = self_train(&mut MeanBrightness::default(), &valid, &labelled, &pool).unwrap();
    assert_eq!(result.termination, Termination::MaxRounds);
    assert_eq!(result.rounds.len(), 1);
    let log = &result.rounds[0];
    assert_eq!(log.added.iter().map(|a| a.index).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(log.added_per_class, [2, 0]);
    // Pool sample 1 is secretly a crater: half of the added zeros are right.
    assert_eq!(log.precision, [Some(0.5), None]);
    assert_eq!(result.labelled_round, [0, 0, 0, 0, 1, 1, -1, -1, -1]);
    assert_eq!(result.transduction, [0, 0, 1, 1, 0, 0, -1, -1, -1]);
}

#[test]
fn stops_when_nothing_is_confident_or_all_is_labelled() {
    let labelled = set(&[0.1, 0.9], Some(vec![0, 1]));
    let unsure = set(&[0.5, 0.52], None);
    let params = SelfTrainingParams {
        max_rounds: 3,
        ..SelfTrainingParams::default()
    };
    let result = self_train(
        &mut MeanBrightness::default(),
        &params.check().unwrap(),
        &labelled,
        &unsure,
    )
    .unwrap();
    assert_eq!(result.termination, Termination::NoNewLabels);
    assert!(result.rounds.is_empty());

    let easy = set(&[0.0, 1.0], None);
    let kbest = SelfTrainingParams {
        criterion: Criterion::KBest { k: 1 },
        max_rounds: 5,
        ..SelfTrainingParams::default()
    };
    let result = self_train(
        &mut MeanBrightness::default(),
        &kbest.check().unwrap(),
        &labelled,
        &easy,
    )
    .unwrap();
    assert_eq!(result.termination, Termination::AllLabelled);
    assert_eq!(result.rounds.len(), 2);
    assert_eq!(
        result.rounds[0].precision,
        [None, None],
        "no hidden labels, no precision"
    );
}

#[test]
fn bad_parameters_are_clear_errors() {
    let check = |p: SelfTrainingParams| p.check().unwrap_err().to_string();
    let base = SelfTrainingParams::default();
    let threshold = |neg, pos| SelfTrainingParams {
        criterion: Criterion::Threshold { neg, pos },
        ..base
    };
    assert!(check(threshold(Some(0.7), Some(0.3))).contains("neg 0.7 must be below pos 0.3"));
    assert!(check(threshold(Some(0.5), Some(0.5))).contains("neg 0.5 must be below pos 0.5"));
    assert!(check(threshold(Some(-0.1), None)).contains("criterion.neg: -0.1 is outside [0, 1]"));
    assert!(check(threshold(None, Some(1.5))).contains("criterion.pos: 1.5 is outside [0, 1]"));
    assert!(check(threshold(None, None)).contains("never labels anything"));
    assert!(
        check(SelfTrainingParams {
            criterion: Criterion::KBest { k: 0 },
            ..base
        })
        .contains("criterion.k: 0")
    );
    assert!(
        check(SelfTrainingParams {
            max_per_round: Some(0),
            ..base
        })
        .contains("max_per_round: 0")
    );
    assert!(
        check(SelfTrainingParams {
            pseudo_weight: 0.0,
            ..base
        })
        .contains("pseudo_weight")
    );
    assert!(
        check(SelfTrainingParams {
            balance: true,
            ..base
        })
        .contains("needs both neg and pos")
    );
    // From TOML, as configs give it.
    let p: SelfTrainingParams =
        toml::from_str("max_rounds = 2\n[criterion.threshold]\nneg = 0.2\npos = 0.9\n").unwrap();
    assert_eq!(
        p.criterion,
        Criterion::Threshold {
            neg: Some(0.2),
            pos: Some(0.9)
        }
    );
    let err = toml::from_str::<SelfTrainingParams>("rounds = 2")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `rounds`"), "{err}");
}

#[test]
fn calibrated_pseudo_labels_use_the_calibrated_probabilities() {
    // Labelled: dark = 0 (0.2), bright = 1 (0.8); boundary 0.5, slope 8. A pool patch at
    // 0.3 has raw p = sigmoid(−1.6) = 0.17 < 0.25, but with T = 2 p = sigmoid(−0.8) = 0.31.
    let labelled = set(&[0.2, 0.2, 0.8, 0.8], Some(vec![0, 0, 1, 1]));
    let pool = set(&[0.3, 0.05], None);
    let seed_protocol = SelfTrainingParams::default();
    let calibrated = SelfTrainingParams {
        calibrated: true,
        ..seed_protocol
    };
    let run = |params: SelfTrainingParams, temperature| {
        let mut clf = MeanBrightness {
            temperature,
            ..MeanBrightness::default()
        };
        self_train(&mut clf, &params.check().unwrap(), &labelled, &pool)
    };
    // Raw: both pool patches become class 0.
    assert_eq!(run(seed_protocol, Some(2.0)).unwrap().transduction[4..], [0, 0]);
    // Calibrated: only the darker one (p = sigmoid(−1.8) = 0.14) stays under 0.25.
    assert_eq!(run(calibrated, Some(2.0)).unwrap().transduction[4..], [-1, 0]);
    // A classifier that cannot calibrate: a clear error, not raw probabilities.
    let err = run(calibrated, None).unwrap_err().to_string();
    assert!(
        err.contains("calibrated") && err.contains("cannot calibrate"),
        "{err}"
    );
}
