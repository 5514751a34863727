#!/usr/bin/env python3
"""The study behind image_nn: the fused score's image part, image_z (the image standardised
by all training normals) against the image standardised by its k nearest training images,
over k. The fusion is ganomaly_train's (each part standardised on the validation normals,
weighted 1 - gap / 0.1); the residual part is residual_nn as the model computes it.

    build/dump_residuals MODEL DATA SEED OUT.bin --features   # one dump per trained model
    /usr/bin/python3 tools/image_neighbour_study.py tr_42.bin tr_43.bin tr_44.bin

Choose on the "val" figures only; the test figures are there to report, never to pick.
Needs numpy.
"""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from neighbour_study import nearest, read_dump  # noqa: E402
from residual_study import auroc, fused, window_max  # noqa: E402


def standardised_by(stored, values, idx, floor):
    """Each sample of `values` in units of the spread of its neighbours `idx` in `stored`."""
    return np.array([(values[i] - stored[ix].mean(0)) / (stored[ix].std(0) + floor) for i, ix in enumerate(idx)])


def residual_nn(train, block):
    z = standardised_by(train["maps"], block["maps"], nearest(train, block, 20, 4), 0.1 * train["maps"].std(0).mean())
    return window_max(z, 2)


def image_z(train, block):
    x = train["x"]
    spread = x.std(0)
    return window_max(np.abs((block["x"] - x.mean(0)) / (spread + 0.1 * spread.mean())).mean(1), 2)


def image_nn(train, block, k):
    z = standardised_by(train["x"], block["x"], nearest(train, block, k, 4), 0.1 * train["x"].std(0).mean())
    return window_max(np.abs(z).mean(1), 2)


def main():
    images = {"image_z": image_z, **{f"image_nn k{k}": (lambda k: lambda t, b: image_nn(t, b, k))(k) for k in (5, 10, 20)}}
    rows = {name: [] for name in images}
    for path in sys.argv[1:]:
        train, val, test = read_dump(path)
        common = {"latent": (val["latent"], test["latent"]), "feature": (val["feature"], test["feature"]),
                  "residual_nn": (residual_nn(train, val), residual_nn(train, test))}
        for name, part in images.items():
            v, t = part(train, val), part(train, test)
            fv, ft = fused({**common, name: (v, t)}, val, test)
            rows[name].append((auroc(v, val["labels"]), auroc(t, test["labels"]), fv, ft))
        print(path, "done", flush=True)
    print("image part | alone: val, test | fused: val, test (mean over %d models)" % (len(sys.argv) - 1))
    for name, r in rows.items():
        m = np.mean(r, 0)
        print(f"{name:12s} | {m[0]:.4f} {m[1]:.4f} | {m[2]:.4f} {m[3]:.4f} | fused test per model: " +
              " ".join(f"{x[3]:.3f}" for x in r))


if __name__ == "__main__":
    main()
