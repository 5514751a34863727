#!/usr/bin/env python3
"""Naive reference for AUPRO, written for clarity, not speed: the golden cases of
tests/test_aupro.cpp (tests/golden/aupro_cases.json).

AUPRO as the MVTec AD paper defines it (Bergmann et al., IJCV 2021) and anomalib reports
it with fpr_limit 0.3: the defect regions are the 8-connected components of each mask; at
every threshold t (a pixel is predicted anomalous when its score >= t) the per-region
overlap is the mean over regions of the fraction of the region's pixels predicted
anomalous, and the FPR is the fraction of all defect-free pixels predicted anomalous. The
PRO curve (FPR, overlap), from (0, 0), is integrated with the trapezoid rule up to
FPR = limit (the last segment cut at the limit by linear interpolation) and divided by
the limit.

anomalib's compute_pro gets the same curve from one ROC per region (each region with
every defect-free pixel, so the FPR is the global one), then resamples the regions'
curves by their index before averaging them: an approximation of the curve this script
computes directly, one threshold at a time.

Usage: /usr/bin/python3 tools/aupro_reference.py tests/golden/aupro_cases.json
Needs only Python's standard library.
"""
import json
import random
import sys


def components(mask, height, width):
    """8-connected components of mask > 0: a list of lists of flat indices."""
    seen = [False] * (height * width)
    regions = []
    for start in range(height * width):
        if not mask[start] or seen[start]:
            continue
        stack, region = [start], []
        seen[start] = True
        while stack:
            p = stack.pop()
            region.append(p)
            y, x = divmod(p, width)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < height and 0 <= nx < width:
                        q = ny * width + nx
                        if mask[q] and not seen[q]:
                            seen[q] = True
                            stack.append(q)
        regions.append(region)
    return regions


def aupro(maps, masks, height, width, limit=0.3):
    regions, normal_scores = [], []
    for scores, mask in zip(maps, masks):
        for region in components(mask, height, width):
            regions.append([scores[p] for p in region])
        normal_scores += [s for s, m in zip(scores, mask) if not m]
    if not regions or not normal_scores:
        return None
    curve = [(0.0, 0.0)]
    for t in sorted({s for scores in maps for s in scores}, reverse=True):
        fpr = sum(s >= t for s in normal_scores) / len(normal_scores)
        pro = sum(sum(s >= t for s in r) / len(r) for r in regions) / len(regions)
        curve.append((fpr, pro))
    area = 0.0
    for (f0, p0), (f1, p1) in zip(curve, curve[1:]):
        if f0 >= limit:
            break
        if f1 > limit:
            p1 = p0 + (p1 - p0) * (limit - f0) / (f1 - f0)
            f1 = limit
        area += (f1 - f0) * (p0 + p1) / 2
    return area / limit


def make_case(rng, images, height, width, levels, regions_per_image):
    maps, masks = [], []
    for _ in range(images):
        mask = [0] * (height * width)
        for _ in range(rng.randint(0, regions_per_image)):
            h, w = rng.randint(1, max(1, height // 3)), rng.randint(1, max(1, width // 3))
            y0, x0 = rng.randint(0, height - h), rng.randint(0, width - w)
            for y in range(y0, y0 + h):
                for x in range(x0, x0 + w):
                    mask[y * width + x] = 1
        # Scores on a coarse grid (many ties) and higher inside defects on average.
        scores = [round(rng.random() * levels) / levels + (0.4 * rng.random() if m else 0.0) for m in mask]
        maps.append([round(s, 4) for s in scores])
        masks.append(mask)
    return maps, masks


def main():
    rng = random.Random(20261205)
    cases = []
    shapes = [(3, 8, 8, 4, 2), (2, 12, 10, 10, 3), (4, 16, 16, 1000, 3), (1, 6, 9, 3, 1), (5, 10, 10, 20, 2)]
    for images, height, width, levels, per_image in shapes:
        maps, masks = make_case(rng, images, height, width, levels, per_image)
        if not any(any(m) for m in masks):
            masks[0][0] = 1
        for limit in (0.3, 1.0):
            cases.append({"height": height, "width": width, "limit": limit, "maps": maps, "masks": masks,
                          "aupro": aupro(maps, masks, height, width, limit)})
    with open(sys.argv[1], "w") as f:
        json.dump({"made_by": "tools/aupro_reference.py", "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
