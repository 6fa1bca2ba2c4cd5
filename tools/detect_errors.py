#!/usr/bin/env python3
"""Where detection F1 is lost: misses and false detections of `craters detect` by cause.

Reads the folders `tools/detect_leave_one_out.py` wrote (`OUT/<tile>-<scan>/hypotheses.csv`
and `metrics.json`, whose threshold was chosen on another tile) and the catalogues, matches
the detections at the threshold with the strict rule (centre within 0.5 × the true radius,
radius ratio in [0.5, 2], one to one by score, catalogued diameters 16–200 px scored) and
sorts every error:

misses (catalogued craters no detection found)
  centre     an unmatched detection lies near (centre within 1 × r, radius ratio in
             [1/3, 3]) and has the radius right but the centre off
  radius     ... has the centre right but the radius off
  both       ... has both off
  score      no such detection, but a hypothesis under the threshold would match
  proposal   no hypothesis at any score lies near: the scan never proposed it
false detections
  localised  near a missed crater (the other half of "centre", "radius", "both")
  duplicate  near a crater another detection already found
  part       inside a catalogued crater more than twice its radius (a rim, a wall)
  small      near a catalogued crater under 16 px or over 200 px that it does not match
  texture    nothing catalogued near

    python3 tools/detect_errors.py --out runs/detect-loo [--scan auto]
"""
import argparse
import csv
import json
import math
import os

TILES = ["1_24", "1_25", "2_24", "2_25", "3_24"]


def read_rows(path, skip_header):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[1:] if skip_header else rows


def strict(det, gt):
    dist = math.hypot(det[0] - gt[0], det[1] - gt[1])
    ratio = det[2] / gt[2]
    return dist <= 0.5 * gt[2] and 0.5 <= ratio <= 2.0, dist


def near(det, gt):
    ratio = det[2] / gt[2]
    return math.hypot(det[0] - gt[0], det[1] - gt[1]) < gt[2] and 1 / 3 <= ratio <= 3


def match(dets, gts):
    """One-to-one, by score (dets sorted highest first), nearest unmatched crater."""
    d2t, t2d = [None] * len(dets), [None] * len(gts)
    for i, d in enumerate(dets):
        best = None
        for j, g in enumerate(gts):
            if t2d[j] is not None:
                continue
            ok, dist = strict(d, g)
            if ok and (best is None or dist < best[0]):
                best = (dist, j)
        if best:
            d2t[i], t2d[best[1]] = best[1], i
    return d2t, t2d


def analyse(folder, tile, root):
    metrics = json.load(open(os.path.join(folder, "metrics.json")))
    threshold = metrics["threshold"]
    hyps = [tuple(map(float, r)) for r in read_rows(os.path.join(folder, "hypotheses.csv"), True)]
    hyps.sort(key=lambda h: -h[3])
    gt_all = [tuple(map(float, r)) for r in read_rows(os.path.join(root, "gt", f"{tile}_gt.csv"), False)]
    scored = [(x, y, d / 2) for x, y, d in gt_all if 16 <= d <= 200]
    outside = [(x, y, d / 2) for x, y, d in gt_all if not 16 <= d <= 200]
    dets = [h for h in hyps if h[3] >= threshold]
    d2t, t2d = match(dets, scored)
    d2o, _ = match(dets, outside)
    fp = [i for i in range(len(dets)) if d2t[i] is None and d2o[i] is None]
    tp = sum(1 for t in t2d if t is not None)
    missed = [j for j in range(len(scored)) if t2d[j] is None]
    counts = {k: 0 for k in ["centre", "radius", "both", "score", "proposal",
                             "localised", "duplicate", "part", "small", "texture"]}
    for j in missed:
        g = scored[j]
        nearby = [dets[i] for i in fp if near(dets[i], g)]
        if nearby:
            d = nearby[0]
            centre_ok = math.hypot(d[0] - g[0], d[1] - g[1]) <= 0.5 * g[2]
            radius_ok = 0.5 <= d[2] / g[2] <= 2
            counts["radius" if centre_ok else "centre" if radius_ok else "both"] += 1
        elif any(strict(h, g)[0] for h in hyps if h[3] < threshold):
            counts["score"] += 1
        else:
            counts["proposal"] += 1
    missed_set = set(missed)
    for i in fp:
        d = dets[i]
        if any(near(d, scored[j]) for j in missed_set):
            counts["localised"] += 1
        elif any(near(d, g) for j, g in enumerate(scored) if t2d[j] is not None):
            counts["duplicate"] += 1
        elif any(math.hypot(d[0] - g[0], d[1] - g[1]) < g[2] and d[2] < 0.5 * g[2] for g in scored + outside):
            counts["part"] += 1
        elif any(near(d, g) for g in outside):
            counts["small"] += 1
        else:
            counts["texture"] += 1
    p = tp / max(tp + len(fp), 1)
    r = tp / max(len(scored), 1)
    f1 = 2 * p * r / max(p + r, 1e-12)
    return threshold, len(scored), tp, len(fp), len(missed), f1, counts


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/detect-loo")
    p.add_argument("--scan", default="auto")
    p.add_argument("--root", default="../shared/data/hrsc")
    args = p.parse_args()
    print("| tile | threshold | craters | found | false | missed | F1 | misses: centre / radius / both / "
          "under threshold / never proposed | false: mislocalised / duplicate / part of a larger crater / "
          "outside 16–200 px / texture |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = None
    for tile in TILES:
        thr, n, tp, fp, fn, f1, c = analyse(os.path.join(args.out, f"{tile}-{args.scan}"), tile, args.root)
        total = c if total is None else {k: total[k] + c[k] for k in c}
        print(f"| {tile} | {thr:.3f} | {n} | {tp} | {fp} | {fn} | {f1:.3f} | "
              f"{c['centre']} / {c['radius']} / {c['both']} / {c['score']} / {c['proposal']} | "
              f"{c['localised']} / {c['duplicate']} / {c['part']} / {c['small']} / {c['texture']} |")
    c = total
    print(f"| all | | | | | | | {c['centre']} / {c['radius']} / {c['both']} / {c['score']} / {c['proposal']} | "
          f"{c['localised']} / {c['duplicate']} / {c['part']} / {c['small']} / {c['texture']} |")


if __name__ == "__main__":
    main()
