#!/usr/bin/env python3
"""Per-epoch curves of training runs, and what honest selection would have delivered
with other selection settings, without retraining.

usage: tools/quality_curves.py RUN_DIR... [--score S] [--fuse A+B+C] [--fusion-margin M]
                               [--tolerance T] [--patience P] [--epochs E] [--quiet] [--track]

RUN_DIR is a ganomaly_train --out folder trained with --log-test-auroc (and --patience 0
to see every epoch). Selection replays the training loop's rule on the logged validation
AUROCs: the latest epoch whose validation AUROC is within --tolerance of the best so far
(strictly better when 0), patience counted the same way. --fuse recomputes the fused score
from the raw scores in analysis/epoch_N.json, standardised on the validation normals as
Calibration::fit_fusion does, to compare fusions; with --fusion-margin each part is weighed
as fit_fusion weighs it (1 - gap to the best part's validation AUROC / margin), else all
weigh 1. Test AUROCs are for analysis only.
"""
import argparse
import glob
import json
import os
import statistics

SCORES = ["latent", "reconstruction", "feature", "residual_max", "residual_z", "residual_nn", "fused"]
SHORT = {"latent": "lat", "reconstruction": "rec", "feature": "fea", "residual_max": "rmx", "residual_z": "rz ",
         "residual_nn": "rnn", "fused": "fus"}


def auroc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def fusion_weight(gap, margin):
    if margin is None:
        return 1.0
    if margin <= 0:
        return 1.0 if gap <= 0 else 0.0
    return max(0.0, 1.0 - gap / margin)


def fused_auroc(dump, parts, margin=None):
    """Validation and test AUROC of the weighted sum of `parts`, each standardised on the validation normals."""
    normal = [i for i, y in enumerate(dump["val_labels"]) if y == 0]
    val_auroc = {name: auroc(dump["val"][name], dump["val_labels"]) for name in parts}
    best = max(val_auroc.values())
    weight = {name: fusion_weight(best - val_auroc[name], margin) for name in parts}
    out = []
    for split, labels in (("val", dump["val_labels"]), ("test", dump["test_labels"])):
        total = [0.0] * len(labels)
        for name in parts:
            ref = [dump["val"][name][i] for i in normal]
            mean, dev = statistics.mean(ref), statistics.pstdev(ref) or 1e-12
            total = [t + weight[name] * (v - mean) / dev for t, v in zip(total, dump[split][name])]
        out.append(auroc(total, labels))
    return out


def load(run_dir, fuse, margin):
    with open(os.path.join(run_dir, "train_log.jsonl")) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    if fuse:
        for e in entries:
            path = os.path.join(run_dir, "analysis", "epoch_%d.json" % e["epoch"])
            with open(path) as f:
                v, t = fused_auroc(json.load(f), fuse, margin)
            e["val_auroc"]["fused"] = v
            e.setdefault("test_auroc_for_analysis", {})["fused"] = t
    return entries


def rank_correlation(a, b):
    """Spearman's rho (average ranks for ties)."""
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2.0
            i = j + 1
        return r
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return cov / den if den else float("nan")


def select(entries, patience, max_epochs, score_name, tolerance):
    best, chosen, chosen_score, stale = -1.0, None, None, 0
    for e in entries[:max_epochs]:
        names = [s for s in SCORES if s in e["val_auroc"]] if score_name == "auto" else [score_name]
        score, metric = max(((s, e["val_auroc"][s]) for s in names), key=lambda p: p[1])
        if (metric > best - tolerance) if tolerance > 0 else (metric > best):
            best, chosen, chosen_score, stale = max(best, metric), e, score, 0
        else:
            stale += 1
        if patience and stale >= patience:
            break
    return chosen, chosen_score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dirs", nargs="+")
    ap.add_argument("--score", default="fused", help="fused, auto, or one score")
    ap.add_argument("--fuse", default="", help="recompute fused from these scores, e.g. latent+feature+residual_z")
    ap.add_argument("--fusion-margin", type=float, default=None,
                    help="with --fuse: weigh the parts as ganomaly_train's --fusion-margin does")
    ap.add_argument("--tolerance", type=float, default=0.005)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--quiet", action="store_true", help="only the selection lines")
    ap.add_argument("--track", action="store_true",
                    help="how closely validation tracks test: rank correlation over epochs, regret of the choice")
    a = ap.parse_args()
    fuse = a.fuse.split("+") if a.fuse else None
    results = []
    for run_dir in a.run_dirs:
        entries = load(run_dir, fuse, a.fusion_margin)
        if not a.quiet:
            # Runs from before residual_z have no such column: "-".
            print("epoch  g_loss  d_loss | val   " + "   ".join(SHORT[s] for s in SCORES) +
                  " | test  " + "   ".join(SHORT[s] for s in SCORES))
            for e in entries:
                t = e.get("test_auroc_for_analysis", {})
                print("%5d %7.2f %7.3f | %s | %s" % (
                    e["epoch"], e["generator_loss"], e["discriminator_loss"],
                    " ".join("%.3f" % e["val_auroc"][s] if s in e["val_auroc"] else "  -  " for s in SCORES),
                    " ".join("%.3f" % t[s] if s in t else "  -  " for s in SCORES)))
        chosen, score = select(entries, a.patience, a.epochs, a.score, a.tolerance)
        test = chosen.get("test_auroc_for_analysis", {}).get(score, float("nan"))
        oracle = max(e.get("test_auroc_for_analysis", {}).get(score, float("nan")) for e in entries[:a.epochs])
        results.append(test)
        print("%s: epoch %d of %d, %s, validation %.3f, test %.3f (best epoch of %s on test: %.3f)" % (
            run_dir, chosen["epoch"], min(a.epochs, len(entries)), score, chosen["val_auroc"][score], test, score,
            oracle))
        if a.track and score in SCORES:
            tracked = [e for e in entries[:a.epochs] if score in e.get("test_auroc_for_analysis", {})]
            rho = rank_correlation([e["val_auroc"][score] for e in tracked],
                                   [e["test_auroc_for_analysis"][score] for e in tracked])
            print("  validation vs test AUROC of %s over %d epochs: rank correlation %.2f; the chosen epoch is "
                  "%.3f below the best" % (score, len(tracked), rho, oracle - test))
    results = [r for r in results if r == r]  # runs without test AUROCs give NaN
    if len(results) > 1:
        print("mean %.3f, sd %.3f, range %.3f over %d runs" % (
            statistics.mean(results), statistics.stdev(results), max(results) - min(results), len(results)))


if __name__ == "__main__":
    main()
