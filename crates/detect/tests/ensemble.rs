//! Ensembles: a detector folder of `member-N/` networks scores each window by the members'
//! mean, on both scans; members must share one architecture.

use std::path::Path;

use craters_dataset::hrsc::write_toy_benchmark;
use craters_dataset::{Dataset, Tile};
use craters_detect::{
    DetectConfig, Detector, Error, NoProgress, ScanMethod, detect, detect_with_progress, member_dir,
};
use craters_model::{CraterCnn, InputNorm, SeedCnnConfig};

fn config() -> SeedCnnConfig {
    SeedCnnConfig {
        input_norm: InputNorm::Local,
        ..SeedCnnConfig::default()
    }
}

fn tile(dir: &Path) -> Tile {
    let root = dir.join("bench");
    write_toy_benchmark(&root, &["a"], 160, 2).unwrap();
    Tile::load(&root.join("tiles/tilea.pgm")).unwrap()
}

#[test]
fn an_ensemble_scores_each_window_by_the_members_mean() {
    let dir = tempfile::tempdir().unwrap();
    let tile = tile(dir.path());
    let settings = |scan| {
        DetectConfig {
            min_diameter: 8.0,
            max_diameter: 24.0,
            min_score: 0.0,
            scan,
            ..DetectConfig::default()
        }
        .check()
        .unwrap()
    };
    let first = CraterCnn::new(&config(), 1).unwrap();
    for scan in [ScanMethod::Dense, ScanMethod::Windows] {
        let config = settings(scan);
        // Two copies of one network: exactly that network's detections.
        let copies = [
            CraterCnn::new(&self::config(), 1).unwrap(),
            CraterCnn::new(&self::config(), 1).unwrap(),
        ];
        let one = detect(&first, &tile, &config).unwrap().detections;
        let twice = detect_with_progress(&copies, &tile, &config, &NoProgress)
            .unwrap()
            .detections;
        assert_eq!(one.len(), twice.len());
        for (a, b) in one.iter().zip(&twice) {
            assert_eq!(a.circle, b.circle);
            assert!((a.score - b.score).abs() < 1e-6, "{a:?} {b:?}");
        }
        // Two networks that score every window alike (all weights 0, output biases 2 and 0:
        // probabilities 0.881 and 0.5): one hypothesis per level, at the same place for
        // both, scored by the mean probability 0.690 (a mean of the logits would give 0.731).
        let flat = |bias: f64| {
            let m = CraterCnn::new(&self::config(), 9).unwrap();
            for (name, var) in m.named_vars() {
                let zeros = var.as_tensor().zeros_like().unwrap();
                let value = if name == "dense2.bias" {
                    zeros.affine(0.0, bias).unwrap()
                } else {
                    zeros
                };
                var.set(&value).unwrap();
            }
            m
        };
        let pair = [flat(2.0), flat(0.0)];
        let found = |m: &[CraterCnn]| {
            detect_with_progress(m, &tile, &config, &NoProgress)
                .unwrap()
                .detections
        };
        let (a, b, both) = (found(&pair[..1]), found(&pair[1..]), found(&pair));
        assert_eq!(a.len(), both.len());
        assert_eq!(b.len(), both.len());
        let expected = (sigmoid(2.0) + sigmoid(0.0)) / 2.0;
        for ((x, y), z) in a.iter().zip(&b).zip(&both) {
            assert_eq!((x.circle, y.circle), (z.circle, z.circle));
            assert!((z.score - expected).abs() < 1e-6, "{z:?}, expected {expected}");
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn a_detector_folder_of_members_loads_and_predicts_their_mean() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("detector");
    for (i, seed) in [(1, 4), (2, 5)] {
        CraterCnn::new(&config(), seed)
            .unwrap()
            .save(&member_dir(&folder, i))
            .unwrap();
    }
    let detector = Detector::load(&folder).unwrap();
    assert_eq!(detector.members.len(), 2);
    let patches = Dataset::new(
        "p",
        (0..2 * 48 * 48).map(|i| (i % 7) as f32 / 7.0).collect(),
        None,
    )
    .unwrap();
    let mean = detector.predict_proba(&patches).unwrap();
    let a = detector.members[0].predict_proba(&patches).unwrap();
    let b = detector.members[1].predict_proba(&patches).unwrap();
    for i in 0..2 {
        assert!((mean[i] - (a[i] + b[i]) / 2.0).abs() < 1e-6);
    }

    // A member of another architecture is refused, naming it.
    let wide = SeedCnnConfig {
        dense: 16,
        ..config()
    };
    CraterCnn::new(&wide, 6)
        .unwrap()
        .save(&member_dir(&folder, 3))
        .unwrap();
    let e = Detector::load(&folder).unwrap_err();
    assert!(matches!(e, Error::MemberMismatch { member: 3 }), "{e}");
    assert!(e.to_string().contains("member 3"), "{e}");
    // No members at all: the folder is not a model.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(Detector::load(&empty).is_err());
}
