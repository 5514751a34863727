#!/usr/bin/env python3
"""The study behind residual_nn: residual_z against the same map standardised by the k
nearest training images' maps, over k, window and thumbnail pooling.

    build/dump_residuals MODEL DATA SEED OUT.bin --features   # one dump per trained model
    /usr/bin/python3 tools/neighbour_study.py tr42.bin tr43.bin ...

Each dump holds the training, validation (held-out normals + pseudo-anomalies) and test
blocks of one model (tools/dump_residuals.cpp). Choose on the "val" column only; the test
column is there to report, never to pick. Needs numpy.
"""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from residual_study import auroc, fused, window_max  # noqa: E402


def read_dump(path):
    """Three blocks (train, val, test): labels, scores, maps, then images and features."""
    with open(path, "rb") as f:
        blocks = []
        for _ in range(3):
            n, h, w = np.frombuffer(f.read(12), np.int32)
            b = {"labels": np.frombuffer(f.read(4 * n), np.int32)}
            for name in ("latent", "feature", "residual_max"):
                b[name] = np.frombuffer(f.read(4 * n), np.float32).astype(np.float64)
            b["maps"] = np.frombuffer(f.read(4 * n * h * w), np.float32).reshape(n, h, w).astype(np.float64)
            blocks.append(b)
        for b in blocks:
            n, c, h, w = np.frombuffer(f.read(16), np.int32)
            b["x"] = np.frombuffer(f.read(4 * n * c * h * w), np.float32).reshape(n, c, h, w)
            f.read(4 * n * c * h * w)  # the reconstructions: not needed here
            for _ in range(4):  # encoder and discriminator features: not needed here
                ch, s = np.frombuffer(f.read(8), np.int32)
                f.read(4 * n * ch * s * s)
    return blocks


def residual_z(train, block, window=2, floor=0.1):
    spread = train["maps"].std(0)
    return window_max((block["maps"] - train["maps"].mean(0)) / (spread + floor * spread.mean()), window)


def nearest(train, block, k, pool):
    def thumbs(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // pool, pool, w // pool, pool).mean((3, 5)).reshape(n, -1).astype(np.float64)
    a, q = thumbs(train["x"]), thumbs(block["x"])
    d = (q ** 2).sum(1)[:, None] + (a ** 2).sum(1)[None] - 2 * q @ a.T
    return np.argsort(d, 1, kind="stable")[:, :k]


def residual_nn(train, block, k, window, pool, floor=0.1):
    global_floor = floor * train["maps"].std(0).mean()
    out = []
    for i, idx in enumerate(nearest(train, block, k, pool)):
        m = train["maps"][idx]
        z = (block["maps"][i] - m.mean(0)) / (m.std(0) + global_floor)
        out.append(window_max(z[None], window)[0])
    return np.array(out)


def main():
    totals = {}
    for path in sys.argv[1:]:
        train, val, test = read_dump(path)
        parts = {"residual_z w2": tuple(residual_z(train, b) for b in (val, test))}
        for k in (5, 10, 20, 40):
            for window in (2, 4):
                for pool in (1, 4):
                    parts[f"residual_nn k{k} w{window} pool{pool}"] = tuple(
                        residual_nn(train, b, k, window, pool) for b in (val, test))
        for name, (v, t) in parts.items():
            fv, ft = fused({"latent": (val["latent"], test["latent"]),
                            "feature": (val["feature"], test["feature"]), name: (v, t)}, val, test)
            totals.setdefault(name, []).append((auroc(v, val["labels"]), auroc(t, test["labels"]), fv, ft))
        print(path, "done", flush=True)
    print("mean over %d models: alone val / test | fused with latent and feature val / test" % (len(sys.argv) - 1))
    for name, rows in totals.items():
        r = np.array(rows).mean(0)
        print(f"  {name:30s} {r[0]:.4f} / {r[1]:.4f} | {r[2]:.4f} / {r[3]:.4f}")


if __name__ == "__main__":
    main()
