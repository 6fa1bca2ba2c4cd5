//! The self-training loop.

use craters_dataset::Dataset;

use crate::error::{Error, Result};
use crate::params::{Criterion, ValidSelfTrainingParams};

/// A probabilistic binary classifier of 48×48 patches.
pub trait Classifier {
    /// What fitting or predicting can fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fits on the labelled `train` set, sample `i` weighing `sample_weights[i]` in the
    /// loss. `round` 0 is the given labels alone, later rounds include pseudo-labels (so an
    /// implementation can train each stage differently). Without `warm_start` it starts
    /// from fresh weights; with it, from where the previous fit ended.
    fn fit(
        &mut self,
        round: usize,
        train: &Dataset,
        sample_weights: &[f32],
        warm_start: bool,
    ) -> std::result::Result<(), Self::Error>;

    /// Probability of class 1 for every image of `data`, in order.
    fn predict_proba(&self, data: &Dataset) -> std::result::Result<Vec<f32>, Self::Error>;

    /// [`predict_proba`](Classifier::predict_proba) calibrated on data the classifier
    /// holds out (temperature scaling on a validation split, say), which
    /// [`SelfTrainingParams::calibrated`](crate::SelfTrainingParams::calibrated)
    /// pseudo-labels on. `None`: this classifier cannot calibrate (the default).
    fn predict_proba_calibrated(&self, data: &Dataset) -> Option<std::result::Result<Vec<f32>, Self::Error>> {
        let _ = data;
        None
    }
}

/// One pseudo-label.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Added {
    /// Index in the pool.
    pub index: usize,
    /// The label given.
    pub label: u8,
    /// The probability it was given for.
    pub probability: f32,
}

/// What one round of pseudo-labelling did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoundLog {
    /// 1-based round.
    pub round: usize,
    /// Pseudo-labels added, most confident first.
    pub added: Vec<Added>,
    /// How many of class 0 and of class 1 were added.
    pub added_per_class: [usize; 2],
    /// Mean of max(p, 1 − p) over what was added.
    pub mean_confidence: Option<f64>,
    /// Per class, the share of added pseudo-labels that match the pool's hidden labels
    /// (when the pool carries them and some of that class were added).
    pub precision: [Option<f64>; 2],
}

/// Why self-training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// A round found nothing confident enough to add.
    NoNewLabels,
    /// Every pool sample has a label.
    AllLabelled,
    /// `max_rounds` rounds ran.
    MaxRounds,
}

/// In words, as a report states it.
impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Termination::NoNewLabels => "nothing left confident enough",
            Termination::AllLabelled => "every pool sample labelled",
            Termination::MaxRounds => "all rounds ran",
        })
    }
}

/// The outcome, as scikit-learn's `SelfTrainingClassifier` reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SelfTrainingResult {
    /// Per sample (the labelled set, then the pool): the round it got its label in; 0 for
    /// given labels, −1 for pool samples never labelled.
    pub labelled_round: Vec<i32>,
    /// Per sample, the label used for training; −1 for pool samples never labelled.
    pub transduction: Vec<i8>,
    /// One entry per round that ran.
    pub rounds: Vec<RoundLog>,
    /// Why it stopped.
    pub termination: Termination,
}

/// Fits `classifier` on `labelled`, then pseudo-labels `pool` and refits, as `params` say.
///
/// Labels the pool carries are never trained on: they are only compared with the
/// pseudo-labels, for [`RoundLog::precision`].
pub fn self_train<C: Classifier>(
    classifier: &mut C,
    params: &ValidSelfTrainingParams,
    labelled: &Dataset,
    pool: &Dataset,
) -> Result<SelfTrainingResult> {
    let p = params.params();
    let given = labelled
        .labels()
        .ok_or_else(|| craters_dataset::Error::InvalidParam {
            name: "labelled set",
            value: labelled.len() as f64,
            expected: "images with labels",
        })?;
    let wrap = |round: usize| {
        move |e: C::Error| Error::Classifier {
            round,
            source: Box::new(e),
        }
    };
    classifier
        .fit(0, labelled, &vec![1.0; labelled.len()], false)
        .map_err(wrap(0))?;

    let mut pseudo: Vec<Option<u8>> = vec![None; pool.len()];
    let mut round_of: Vec<i32> = vec![-1; pool.len()];
    let mut rounds = Vec::new();
    let mut termination = Termination::MaxRounds;
    for round in 1..=p.max_rounds {
        let remaining: Vec<usize> = (0..pool.len()).filter(|&i| pseudo[i].is_none()).collect();
        if remaining.is_empty() {
            termination = Termination::AllLabelled;
            break;
        }
        let unlabelled = pool.subset(&remaining)?;
        let probabilities = if p.calibrated {
            classifier
                .predict_proba_calibrated(&unlabelled)
                .ok_or(Error::InvalidParam {
                    name: "calibrated",
                    message:
                        "this classifier cannot calibrate its probabilities (it holds no validation data)"
                            .into(),
                })?
        } else {
            classifier.predict_proba(&unlabelled)
        }
        .map_err(wrap(round))?;
        if let Some((j, &value)) = probabilities
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(Error::BadProbability {
                round,
                index: remaining[j],
                value,
            });
        }
        let added = select(p, &remaining, &probabilities);
        if added.is_empty() {
            termination = Termination::NoNewLabels;
            break;
        }
        for a in &added {
            pseudo[a.index] = Some(a.label);
            round_of[a.index] = round as i32;
        }
        rounds.push(round_log(round, added, pool.labels()));

        let chosen: Vec<usize> = (0..pool.len()).filter(|&i| pseudo[i].is_some()).collect();
        let extra = pool.subset(&chosen)?;
        let mut pixels = labelled.pixels().to_vec();
        pixels.extend_from_slice(extra.pixels());
        let mut labels = given.to_vec();
        labels.extend(chosen.iter().map(|&i| pseudo[i].expect("chosen are labelled")));
        let mut weights = vec![1.0; labelled.len()];
        weights.extend(std::iter::repeat_n(p.pseudo_weight, chosen.len()));
        let union = Dataset::new(labelled.source(), pixels, Some(labels))?;
        classifier
            .fit(round, &union, &weights, p.warm_start)
            .map_err(wrap(round))?;
    }

    let mut labelled_round = vec![0; labelled.len()];
    labelled_round.extend(&round_of);
    let mut transduction: Vec<i8> = given.iter().map(|&y| y as i8).collect();
    transduction.extend(pseudo.iter().map(|l| l.map_or(-1, |y| y as i8)));
    Ok(SelfTrainingResult {
        labelled_round,
        transduction,
        rounds,
        termination,
    })
}

/// The pseudo-labels of one round, most confident first (ties by pool index).
fn select(p: &crate::params::SelfTrainingParams, remaining: &[usize], probabilities: &[f32]) -> Vec<Added> {
    let confidence = |a: &Added| f64::from(a.probability.max(1.0 - a.probability));
    let mut candidates: Vec<Added> = remaining
        .iter()
        .zip(probabilities)
        .filter_map(|(&index, &probability)| {
            let q = f64::from(probability);
            let label = match p.criterion {
                Criterion::Threshold { neg, pos } => {
                    if neg.is_some_and(|n| q < n) {
                        0
                    } else if pos.is_some_and(|t| q > t) {
                        1
                    } else {
                        return None;
                    }
                }
                Criterion::KBest { .. } => u8::from(q >= 0.5),
            };
            Some(Added {
                index,
                label,
                probability,
            })
        })
        .collect();
    candidates.sort_by(|a, b| {
        confidence(b)
            .total_cmp(&confidence(a))
            .then(a.index.cmp(&b.index))
    });
    if let Criterion::KBest { k } = p.criterion {
        candidates.truncate(k);
    }
    if p.balance {
        let per_class = |label| candidates.iter().filter(|a| a.label == label).count();
        let mut each = per_class(0).min(per_class(1));
        if let Some(cap) = p.max_per_round {
            each = each.min(cap / 2);
        }
        let mut taken = [0usize; 2];
        candidates.retain(|a| {
            let keep = taken[a.label as usize] < each;
            taken[a.label as usize] += usize::from(keep);
            keep
        });
    }
    if let Some(cap) = p.max_per_round {
        candidates.truncate(cap);
    }
    candidates
}

fn round_log(round: usize, added: Vec<Added>, hidden: Option<&[u8]>) -> RoundLog {
    let mut per_class = [0usize; 2];
    let mut correct = [0usize; 2];
    for a in &added {
        per_class[a.label as usize] += 1;
        if hidden.is_some_and(|h| h[a.index] == a.label) {
            correct[a.label as usize] += 1;
        }
    }
    let mean_confidence = (!added.is_empty()).then(|| {
        added
            .iter()
            .map(|a| f64::from(a.probability.max(1.0 - a.probability)))
            .sum::<f64>()
            / added.len() as f64
    });
    let precision = [0, 1]
        .map(|c| (hidden.is_some() && per_class[c] > 0).then(|| correct[c] as f64 / per_class[c] as f64));
    RoundLog {
        round,
        added,
        added_per_class: per_class,
        mean_confidence,
        precision,
    }
}
