//! Every case of the scikit-learn golden vectors (`tests/fixtures/binary_metrics.json`, a
//! copy of `../shared/testvectors/binary_metrics.json`: scikit-learn 1.9.1, seed 7,
//! conventions inside the file; `tools/sklearn_golden.py --check` recomputes every value
//! with scikit-learn) must match to 1e-9 in every field.

use std::path::{Path, PathBuf};

use craters_metrics::Report;
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/binary_metrics.json")
}

fn close(field: &str, case: &str, expected: &Value, actual: f64) {
    let expected = expected
        .as_f64()
        .unwrap_or_else(|| panic!("{case}.{field}: not a number: {expected}"));
    assert!(
        (expected - actual).abs() <= TOLERANCE,
        "{case}.{field}: expected {expected}, got {actual}"
    );
}

fn close_all(field: &str, case: &str, expected: &Value, actual: &[f64]) {
    let expected = expected.as_array().unwrap();
    assert_eq!(expected.len(), actual.len(), "{case}.{field}: length");
    for (i, (e, &a)) in expected.iter().zip(actual).enumerate() {
        close(&format!("{field}[{i}]"), case, e, a);
    }
}

#[test]
fn matches_scikit_learn_golden_vectors() {
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 60,
        "expected the full set of cases, found {}",
        cases.len()
    );
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let labels: Vec<u8> = case["y_true"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect();
        let scores: Vec<f64> = case["y_score"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let threshold = case["threshold"].as_f64().unwrap();
        let r = Report::new(&labels, &scores, threshold).unwrap();

        let confusion = &case["confusion"];
        let counts = [
            ("tn", r.confusion.tn),
            ("fp", r.confusion.fp),
            ("fn", r.confusion.fn_),
            ("tp", r.confusion.tp),
        ];
        for (key, actual) in counts {
            assert_eq!(confusion[key].as_u64(), Some(actual), "{name}.confusion.{key}");
        }
        for (field, actual) in [
            ("precision", r.precision),
            ("recall", r.recall),
            ("f1", r.f1),
            ("f1_macro", r.f1_macro),
            ("accuracy", r.accuracy),
            ("mcc", r.mcc),
            ("log_loss", r.log_loss),
        ] {
            close(field, name, &case[field], actual);
        }
        match (&case["balanced_accuracy"], r.balanced_accuracy) {
            (Value::Null, None) => {}
            (expected, Some(actual)) => close("balanced_accuracy", name, expected, actual),
            (expected, None) => panic!("{name}.balanced_accuracy: expected {expected}, got None"),
        }
        let Some(pr) = case.get("pr_curve") else {
            // One-class labels: the file leaves out what is undefined.
            assert!(r.pr_curve.is_none() && r.average_precision.is_none(), "{name}");
            assert!(r.roc_auc.is_none() && r.best_f1.is_none(), "{name}");
            continue;
        };
        let curve = r
            .pr_curve
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no PR curve"));
        close_all("pr_curve.precision", name, &pr["precision"], &curve.precision);
        close_all("pr_curve.recall", name, &pr["recall"], &curve.recall);
        close_all("pr_curve.thresholds", name, &pr["thresholds"], &curve.thresholds);
        close(
            "average_precision",
            name,
            &case["average_precision"],
            r.average_precision.unwrap(),
        );
        close("roc_auc", name, &case["roc_auc"], r.roc_auc.unwrap());
        let best = r.best_f1.unwrap();
        close("best_f1.f1", name, &case["best_f1"]["f1"], best.f1);
        close(
            "best_f1.threshold",
            name,
            &case["best_f1"]["threshold"],
            best.threshold,
        );
    }
}

#[test]
fn report_json_has_exactly_the_documented_keys() {
    let r = Report::new(&[0u8, 1, 1], &[0.2, 0.7, 0.4], 0.5).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "accuracy",
            "average_precision",
            "balanced_accuracy",
            "best_f1",
            "confusion",
            "f1",
            "f1_macro",
            "log_loss",
            "mcc",
            "pr_curve",
            "precision",
            "recall",
            "roc_auc"
        ]
    );
    assert_eq!(
        json["confusion"],
        serde_json::json!({"tn": 1, "fp": 0, "fn": 1, "tp": 1})
    );
    let one_class = serde_json::to_value(Report::new(&[1u8, 1], &[0.2, 0.7], 0.5).unwrap()).unwrap();
    for key in [
        "balanced_accuracy",
        "average_precision",
        "roc_auc",
        "best_f1",
        "pr_curve",
    ] {
        assert_eq!(one_class[key], Value::Null, "{key}");
    }
}

#[test]
fn the_fixture_is_the_shared_test_vectors() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testvectors/binary_metrics.json");
    let Ok(text) = std::fs::read_to_string(&shared) else {
        // CI always has ../shared: there a missing file is a failure, elsewhere a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing; CI must have it",
            shared.display()
        );
        eprintln!("skipped: {} is absent", shared.display());
        return;
    };
    let fixture = std::fs::read_to_string(fixture_path()).unwrap();
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
    assert_eq!(
        parse(&fixture),
        parse(&text),
        "the committed copy drifted from ../shared"
    );
}

#[test]
fn scores_that_are_not_probabilities_are_errors() {
    for bad in [-3.0f64, 7.0, 255.0, 1.0 + 1e-9] {
        let err = Report::new(&[0u8, 1], &[0.5, bad], 0.5).unwrap_err();
        assert!(
            matches!(err, craters_metrics::Error::ScoreOutOfRange { index: 1, value } if value == bad),
            "{err}"
        );
        assert!(err.to_string().contains("probabilities in [0, 1]"));
    }
    Report::new(&[0u8, 1], &[0.0f64, 1.0], 0.5).unwrap();
}
