#!/usr/bin/env python3
"""Compares threshold rules on finished runs trained with --log-test-auroc.

For each run folder: the kept epoch's validation scores (analysis/epoch_<best>.json) place
the threshold by each rule, without the test labels, as Calibration::place_threshold does
(src/ganomaly/eval/calibration.cpp); the test labels then give its F1 and false-positive
rate beside the oracle F1 (the best over all thresholds). The max column is the higher of
the best-F1 threshold and the one at --target-fpr (--threshold-rule max); midway moves the
one at --target-fpr halfway towards a higher best-F1 threshold (--threshold-rule midway).

    python3 tools/threshold_rules.py RUN_DIR [RUN_DIR ...] [--score fused] [--fprs 0.01,0.05,0.1] [--target-fpr 0.05]
"""
import argparse
import json
import math
import os
import statistics


def f1_at(scores, labels, t):
    tp = sum(1 for s, y in zip(scores, labels) if s >= t and y == 1)
    fp = sum(1 for s, y in zip(scores, labels) if s >= t and y == 0)
    fn = sum(labels) - tp
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    normals = len(labels) - sum(labels)
    return f1, fp / normals if normals else float("nan")


def best_f1_threshold(scores, labels):
    """The lowest threshold among those with the best F1 (metrics.h's best_f1)."""
    best = (-1.0, 0.0)
    for t in sorted(set(scores)):
        f1, _ = f1_at(scores, labels, t)
        if f1 > best[0]:
            best = (f1, t)
    return best


def normal_upper_quantile(tail):
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(mid / math.sqrt(2)) > tail:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def threshold_at_fpr(normals, fpr):
    mean, spread = statistics.fmean(normals), statistics.stdev(normals)
    tail = mean + normal_upper_quantile(fpr) * spread
    ordered = sorted(normals)
    allowed = math.floor(fpr * len(ordered))
    above_the_rest = math.nextafter(ordered[len(ordered) - 1 - min(allowed, len(ordered) - 1)], math.inf)
    return max(tail, above_the_rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--score", default="fused")
    ap.add_argument("--fprs", default="0.01,0.05,0.1")
    ap.add_argument("--target-fpr", type=float, default=0.05)
    a = ap.parse_args()
    fprs = [float(x) for x in a.fprs.split(",")]
    head = ["run", "AUROC", "oracle F1", "f1 rule: F1 / test FPR"] + [f"fpr {f:g}: F1 / test FPR" for f in fprs] + [
        f"max (f1, fpr {a.target_fpr:g}): F1 / test FPR", f"midway (fpr {a.target_fpr:g} to f1): F1 / test FPR"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for run in a.runs:
        summary = json.load(open(os.path.join(run, "summary.json")))
        dump = json.load(open(os.path.join(run, "analysis", f"epoch_{summary['best_epoch']}.json")))
        val, val_labels = dump["val"][a.score], dump["val_labels"]
        test, test_labels = dump["test"][a.score], dump["test_labels"]
        normals = [s for s, y in zip(val, val_labels) if y == 0]
        cells = [run, f"{summary['image_auroc']:.3f}", f"{best_f1_threshold(test, test_labels)[0]:.3f}"]
        at_f1 = best_f1_threshold(val, val_labels)[1]
        at_target = threshold_at_fpr(normals, a.target_fpr)
        higher = max(at_f1, at_target)
        for t in [at_f1] + [threshold_at_fpr(normals, f) for f in fprs] + [higher, at_target + 0.5 * (higher - at_target)]:
            f1, fpr = f1_at(test, test_labels, t)
            cells.append(f"{f1:.3f} / {100 * fpr:.0f}%")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
