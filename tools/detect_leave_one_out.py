#!/usr/bin/env python3
"""Scores `craters detect` leave-one-tile-out on the five HRSC tiles and prints the table.

With `--folds DIR` (the folder of `craters train-detector --leave-one-out --out DIR`), each
tile is scanned with `DIR/<tile>`, the detector trained without it, at the threshold of its
card (chosen on its training tiles). Otherwise (a `craters reproduce` run), each tile is scanned with the model of the leave-one-tile-out run that never saw it
(`RUN/cross_tile/<tile>/<seed>/models/final`, or `RUN/models/final` for the run's own test
tile); its threshold is the best-F1 threshold of that same model on one of its training
tiles (1_24 ↔ 1_25, 2_24 ↔ 2_25, 3_24 → 2_24), so the scored tile chooses nothing.

    python3 tools/detect_leave_one_out.py --run runs/hrsc-detect [--scan dense|windows]
    python3 tools/detect_leave_one_out.py --folds runs/detector-loo --out runs/detect-loo-detector
"""
import argparse
import json
import os
import subprocess

THRESHOLD_TILE = {"1_24": "1_25", "1_25": "1_24", "2_24": "2_25", "2_25": "2_24", "3_24": "2_24"}


def detect(args, model, tile, out, threshold=None):
    root = args.root
    cmd = [args.craters, "detect", "--model", model,
           "--tile", f"{root}/tiles/tile{tile}.pgm", "--catalogue", f"{root}/gt/{tile}_gt.csv",
           "--out", out, "--force", "--scan", args.scan]
    if threshold is not None:
        cmd += ["--threshold", str(threshold)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.load(open(os.path.join(out, "metrics.json")))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run")
    p.add_argument("--folds")
    p.add_argument("--seed", default="1")
    p.add_argument("--scan", default="auto")
    p.add_argument("--root", default="../shared/data/hrsc")
    p.add_argument("--craters", default="target/release/craters")
    p.add_argument("--out", default="runs/detect-loo")
    args = p.parse_args()
    if args.folds:
        return folds(args)
    test_tile = open(os.path.join(args.run, "config.toml")).read().split("test_tiles = [\"")[1].split("\"")[0]
    print(f"run {args.run}, scan {args.scan}")
    print("| tile (held out) | craters 16–200 px | threshold (chosen on) | precision / recall / F1 | best F1 on the tile itself (at) | AP | seconds | windows |")
    print("|---|---|---|---|---|---|---|---|")
    f1s = []
    for tile, chooser in THRESHOLD_TILE.items():
        model = (os.path.join(args.run, "models", "final") if tile == test_tile
                 else os.path.join(args.run, "cross_tile", tile, args.seed, "models", "final"))
        chosen = detect(args, model, chooser, os.path.join(args.out, f"{tile}-threshold-{args.scan}"))
        threshold = round(chosen["evaluation"]["report"]["best"]["threshold"], 4)
        m = detect(args, model, tile, os.path.join(args.out, f"{tile}-{args.scan}"), threshold)
        e = m["evaluation"]
        at, best = e["report"]["at_threshold"], e["report"]["best"]
        f1s.append(at["f1"])
        print(f"| {tile} | {e['n_scored_craters']} | {threshold:.3f} ({chooser}) | "
              f"{at['precision']:.3f} / {at['recall']:.3f} / **{at['f1']:.3f}** | "
              f"{best['f1']:.3f} ({best['threshold']:.3f}) | {e['report']['average_precision']:.3f} | "
              f"{m['seconds']:.2f} | {m['windows']} |")
    mean = sum(f1s) / len(f1s)
    std = (sum((f - mean) ** 2 for f in f1s) / (len(f1s) - 1)) ** 0.5
    print(f"mean F1 over the five tiles {mean:.3f} ± {std:.3f}")


def folds(args):
    print(f"detectors {args.folds}/<tile>, scan {args.scan}")
    print("| tile (held out) | craters 16–200 px | threshold (card) | precision / recall / F1 | best F1 on the tile itself (at) | AP | seconds |")
    print("|---|---|---|---|---|---|---|")
    f1s = []
    for tile in THRESHOLD_TILE:
        m = detect(args, os.path.join(args.folds, tile), tile, os.path.join(args.out, f"{tile}-{args.scan}"))
        e = m["evaluation"]
        at, best = e["report"]["at_threshold"], e["report"]["best"]
        f1s.append(at["f1"])
        print(f"| {tile} | {e['n_scored_craters']} | {m['threshold']:.3f} | "
              f"{at['precision']:.3f} / {at['recall']:.3f} / **{at['f1']:.3f}** | "
              f"{best['f1']:.3f} ({best['threshold']:.3f}) | {e['report']['average_precision']:.3f} | {m['seconds']:.2f} |")
    mean = sum(f1s) / len(f1s)
    std = (sum((f - mean) ** 2 for f in f1s) / (len(f1s) - 1)) ** 0.5
    print(f"mean F1 over the five tiles {mean:.3f} ± {std:.3f}")


if __name__ == "__main__":
    main()
