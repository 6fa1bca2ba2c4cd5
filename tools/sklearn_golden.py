#!/usr/bin/env python3
"""Recompute the scikit-learn golden values of crates/metrics/tests/fixtures/binary_metrics.json.

The fixture's inputs (each case's name, y_true, y_score, threshold; 66 cases drawn with seed 7
when the file was first made) are kept; every expected value is recomputed from them with
scikit-learn, following the conventions recorded in the file. Without --check the fixture is
rewritten in place; with --check it only reports whether the recomputed values match the file
(to 1e-12), which is how the committed file was verified.

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn==1.9.1
    /tmp/skl/bin/python tools/sklearn_golden.py --check
"""

import argparse
import json
import math
import pathlib

import numpy as np
import sklearn
from sklearn import metrics

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "crates/metrics/tests/fixtures/binary_metrics.json"


def expected(case):
    y = np.asarray(case["y_true"], dtype=int)
    s = np.asarray(case["y_score"], dtype=float)
    t = case["threshold"]
    pred = (s >= t).astype(int)
    tn, fp, fn, tp = (int(v) for v in metrics.confusion_matrix(y, pred, labels=[0, 1]).ravel())
    out = {
        "name": case["name"],
        "y_true": case["y_true"],
        "y_score": case["y_score"],
        "threshold": t,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "precision": metrics.precision_score(y, pred, zero_division=0.0),
        "recall": metrics.recall_score(y, pred, zero_division=0.0),
        "f1": metrics.f1_score(y, pred, zero_division=0.0),
        "f1_macro": metrics.f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0.0),
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": None,
        "mcc": metrics.matthews_corrcoef(y, pred),
        "log_loss": metrics.log_loss(y, np.clip(s, 1e-7, 1 - 1e-7), labels=[0, 1]),
    }
    if len(set(y.tolist())) == 2:
        out["balanced_accuracy"] = metrics.balanced_accuracy_score(y, pred)
        precision, recall, thresholds = metrics.precision_recall_curve(y, s)
        out["pr_curve"] = {
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "thresholds": thresholds.tolist(),
        }
        out["average_precision"] = metrics.average_precision_score(y, s)
        out["roc_auc"] = metrics.roc_auc_score(y, s)
        f1 = [2 * p * r / (p + r) if p + r > 0 else 0.0 for p, r in zip(precision[:-1], recall[:-1])]
        best = int(np.argmax(f1))
        out["best_f1"] = {"f1": f1[best], "threshold": float(thresholds[best])}
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in out.items()}


def differences(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                yield f"{path}.{key}: only in one"
            else:
                yield from differences(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, f"{path}[{i}]")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and a is not None and b is not None:
        if not math.isclose(a, b, rel_tol=0, abs_tol=1e-12):
            yield f"{path}: {a} vs {b}"
    elif a != b:
        yield f"{path}: {a!r} vs {b!r}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    data = json.loads(FIXTURE.read_text())
    cases = [expected(c) for c in data["cases"]]
    if args.check:
        diffs = [d for old, new in zip(data["cases"], cases) for d in differences(old, new, old["name"])]
        for d in diffs[:20]:
            print(d)
        print(f"{len(cases)} cases, {len(diffs)} differences (scikit-learn {sklearn.__version__})")
        raise SystemExit(1 if diffs else 0)
    data["generator"] = f"scikit-learn {sklearn.__version__}"
    data["cases"] = cases
    tmp = FIXTURE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data) + "\n")
    tmp.replace(FIXTURE)
    print(f"wrote {FIXTURE} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
