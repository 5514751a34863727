#!/usr/bin/env python3
"""How to score the residual map: raw window maximum (residual_max) against the map
standardised per pixel by the training normals (residual_z), over floors and windows,
and the fusions built on each. Reads the files of build/dump_residuals (one per trained
model); validation decides, the test AUROC is printed beside it for the report.

    build/dump_residuals runs/bottle_s42/model.gnm data/mvtec/bottle 42 d/b30_42.bin
    /usr/bin/python3 tools/residual_study.py d/b30_*.bin d/g30_*.bin

Files are grouped by the name before the last "_" (b30_42.bin -> b30). Needs numpy.
"""
import argparse
import os
from collections import defaultdict

import numpy as np


def read_dump(path):
    blocks = []
    with open(path, "rb") as f:
        for _ in range(3):
            n, h, w = np.frombuffer(f.read(12), np.int32)
            block = {"labels": np.frombuffer(f.read(4 * n), np.int32)}
            for name in ("latent", "feature", "residual_max"):
                block[name] = np.frombuffer(f.read(4 * n), np.float32).astype(np.float64)
            block["maps"] = np.frombuffer(f.read(4 * n * h * w), np.float32).reshape(n, h, w).astype(np.float64)
            blocks.append(block)
    return blocks  # train, validation, test


def auroc(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))


def window_max(maps, k):
    c = np.pad(maps, ((0, 0), (1, 0), (1, 0))).cumsum(1).cumsum(2)
    s = c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]
    return (s / (k * k)).reshape(len(maps), -1).max(1)


def residual_z(train, block, floor, k):
    mean, spread = train["maps"].mean(0), train["maps"].std(0)
    return window_max((block["maps"] - mean) / (spread + floor * spread.mean()), k)


def fused(parts, val, test, margin=0.1):
    """ganomaly_train's fusion: standardise on validation normals, weigh 1 - gap / margin."""
    aurocs = {n: auroc(v, val["labels"]) for n, (v, t) in parts.items()}
    best = max(aurocs.values())
    fv, ft = 0, 0
    for name, (v, t) in parts.items():
        w = max(0.0, 1 - (best - aurocs[name]) / margin)
        ref = v[val["labels"] == 0]
        fv, ft = fv + w * (v - ref.mean()) / ref.std(), ft + w * (t - ref.mean()) / ref.std()
    return auroc(fv, val["labels"]), auroc(ft, test["labels"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dumps", nargs="+")
    ap.add_argument("--floors", default="0.1,0.3,1,3")
    ap.add_argument("--windows", default="2,4,6,8")
    a = ap.parse_args()
    runs = defaultdict(list)
    for path in a.dumps:
        runs[os.path.basename(path).rsplit("_", 1)[0]].append(read_dump(path))
    groups = sorted(runs)
    print("residual_z grid: mean validation AUROC over all %d models | mean test AUROC per group (%s)"
          % (sum(len(r) for r in runs.values()), " ".join(groups)))
    rows = []
    for floor in map(float, a.floors.split(",")):
        for k in map(int, a.windows.split(",")):
            val, test = [], defaultdict(list)
            for g in groups:
                for tr, va, te in runs[g]:
                    val.append(auroc(residual_z(tr, va, floor, k), va["labels"]))
                    test[g].append(auroc(residual_z(tr, te, floor, k), te["labels"]))
            rows.append((np.mean(val), floor, k))
            print("floor %.1f window %d: validation %.4f | test %s" % (
                floor, k, np.mean(val), " ".join("%.3f" % np.mean(test[g]) for g in groups)))
    best = max(rows)
    print("best on validation: floor %.1f, window %d" % (best[1], best[2]))
    floor, k = best[1], best[2]
    print("\nscores and fusions (tapered weights, margin 0.1): validation / test per model")
    for combo in (["residual_max"], ["residual_z"], ["latent", "feature", "residual_max"],
                  ["latent", "feature", "residual_z"], ["latent", "feature", "residual_max", "residual_z"]):
        cells = []
        for g in groups:
            for tr, va, te in runs[g]:
                parts = {}
                for name in combo:
                    if name == "residual_z":
                        parts[name] = (residual_z(tr, va, floor, k), residual_z(tr, te, floor, k))
                    else:
                        parts[name] = (va[name], te[name])
                v, t = fused(parts, va, te)
                cells.append("%s %.3f/%.3f" % (g, v, t))
        print("%-40s %s" % ("+".join(combo), "  ".join(cells)))


if __name__ == "__main__":
    main()
