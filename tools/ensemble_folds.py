#!/usr/bin/env python3
"""Scores the ensemble of several leave-one-out runs' detectors, tile by tile.

`craters train-detector --leave-one-out --out DIR` leaves one detector per tile in
`DIR/<tile>`. For each tile this joins the members of `DIR/<tile>` of every `--folds DIR`
(each trained without that tile) into one ensemble (a folder of links `member-1/`, … under
`--out`), chooses its threshold as `craters train-detector` does (the median of its best-F1
thresholds on the four training tiles) and scores the tile at it: a held-out figure for an
ensemble no single recipe trains.

    python3 tools/ensemble_folds.py --folds runs/detector-loo --folds runs/other-loo --out runs/joined
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

TILES = ["1_24", "1_25", "2_24", "2_25", "3_24"]


def detect(args, model, tile, out, threshold):
    cmd = [args.craters, "detect", f"{args.root}/tiles/tile{tile}.pgm", "--model", model,
           "--catalogue", f"{args.root}/gt/{tile}_gt.csv", "--out", out, "--threshold", str(threshold)]
    run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        sys.exit(f"ensemble_folds: {' '.join(cmd)} failed: {run.stderr.strip()}")
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)["evaluation"]["report"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folds", action="append", required=True, help="a leave-one-out run (repeat)")
    p.add_argument("--root", default="../shared/data/hrsc")
    p.add_argument("--craters", default="target/release/craters")
    p.add_argument("--out", required=True, help="a new folder for the ensembles and scans")
    args = p.parse_args()
    if os.path.exists(args.out):  # never into an existing folder: nothing of the user's is replaced
        sys.exit(f"ensemble_folds: {args.out} exists; expected a new folder for the ensembles")
    for run in args.folds:
        for tile in TILES:
            if not os.path.isdir(os.path.join(run, tile, "member-1")):
                sys.exit(f"ensemble_folds: {run}/{tile}/member-1 is missing; expected the --out of "
                         "craters train-detector --leave-one-out")
    os.makedirs(args.out)
    print("| tile left out | members | threshold (training tiles' best F1: median) | strict P / R / F1 |")
    print("|---|---|---|---|")
    f1s = []
    for tile in TILES:
        model = os.path.join(args.out, tile, "model")
        os.makedirs(model)
        members = [os.path.join(run, tile, m) for run in args.folds
                   for m in sorted(os.listdir(os.path.join(run, tile)), key=lambda m: (len(m), m))
                   if m.startswith("member-")]
        for i, member in enumerate(members, 1):
            os.symlink(os.path.abspath(member), os.path.join(model, f"member-{i}"))
        # The first run's card: the scan settings it carries (its border margin) apply as in
        # that run; its threshold is overridden below.
        card = os.path.join(args.folds[0], tile, "card.toml")
        if os.path.isfile(card):
            shutil.copyfile(card, os.path.join(model, "card.toml"))
        chosen = {u: detect(args, model, u, os.path.join(args.out, tile, f"train-{u}"), 0.5)["best"]["threshold"]
                  for u in TILES if u != tile}
        threshold = statistics.median(chosen.values())
        at = detect(args, model, tile, os.path.join(args.out, tile, "held-out"), threshold)["at_threshold"]
        f1s.append(at["f1"])
        per_tile = ", ".join(f"{u} {t:.3f}" for u, t in chosen.items())
        print(f"| {tile} | {len(members)} | {threshold:.3f} ({per_tile}) | "
              f"{at['precision']:.3f} / {at['recall']:.3f} / **{at['f1']:.3f}** |")
    print(f"held-out strict F1 over {len(f1s)} tiles: {statistics.mean(f1s):.3f} ± {statistics.stdev(f1s):.3f}")


if __name__ == "__main__":
    main()
