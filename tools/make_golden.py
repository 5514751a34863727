#!/usr/bin/env python3
"""Writes the op-level golden files in tests/golden/ from PyTorch (float32, CPU).

Run from anywhere with the Debian interpreter (python3-torch):

    /usr/bin/python3 tools/make_golden.py            # writes tests/golden/*.bin
    /usr/bin/python3 tools/make_golden.py --check    # regenerates in memory, compares

tests/test_golden.cpp loads every file and runs ganomaly.cpp's ops on the same inputs.
Each case is seeded from its own name, so adding a case leaves the others' bytes alone.

File format (all little-endian), read by tests/support/golden_io.h:

    char[8]  magic "GNGOLDEN"
    u32      version (1)
    u32      count of tensors
    count x  u32 name length, name bytes (UTF-8, no terminator),
             u32 ndim, ndim x i64 dims, prod(dims) x f32 data (row-major)

A 0-dim tensor holds one value; hyper-parameters (stride, padding, slope, momentum...)
are stored that way. Names inside a file follow one convention:
    inputs and parameters  x, weight, bias, target, running_mean, running_var
    forward results        out (and running_mean_out, running_var_out for batch norm)
    upstream gradient      dout;  every gradient is of sum(out * dout)
    gradients              d<name>, e.g. dx, dweight, dbias, dtarget
"""
import argparse
import math
import os
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

MAGIC = b"GNGOLDEN"
VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")


def encode(tensors):
    """tensors: list of (name, torch.Tensor or python float). Returns the file bytes."""
    parts = [MAGIC, struct.pack("<II", VERSION, len(tensors))]
    names = set()
    for name, t in tensors:
        assert name not in names, f"duplicate tensor name {name}"
        names.add(name)
        if not isinstance(t, torch.Tensor):
            t = torch.tensor(float(t))
        t = t.detach().to(torch.float32).contiguous().cpu()
        raw = name.encode("utf-8")
        parts.append(struct.pack("<I", len(raw)) + raw)
        parts.append(struct.pack("<I", t.dim()))
        parts.append(struct.pack(f"<{t.dim()}q", *t.shape))
        parts.append(t.numpy().astype("<f4").tobytes())
    return b"".join(parts)


CASES = {}


def case(name):
    def register(fn):
        assert name not in CASES
        CASES[name] = fn
        return fn
    return register


def seeded(name):
    torch.manual_seed(zlib.crc32(name.encode()))


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def grads_of(out, dout, named_leaves):
    """Backward of sum(out * dout); returns [(d<name>, grad)] for leaves that got one."""
    (out * dout).sum().backward()
    return [("d" + n, t.grad) for n, t in named_leaves]


# ---------------------------------------------------------------- convolutions
CONV2D = [
    # name, batch, in_c, out_c, h, w, kernel, stride, padding, bias
    ("conv2d_k4s2p1_bias_b1", 1, 3, 5, 9, 9, 4, 2, 1, True),
    ("conv2d_k4s2p1_nobias_b3", 3, 2, 4, 8, 8, 4, 2, 1, False),
    ("conv2d_k4s2p4_nobias_b3", 3, 3, 4, 11, 11, 4, 2, 4, False),  # anomalib's first layer
    ("conv2d_k4s2p4_bias_b1", 1, 2, 3, 7, 7, 4, 2, 4, True),
    ("conv2d_k4s1p0_nobias_b3", 3, 6, 5, 4, 4, 4, 1, 0, False),  # final encoder conv -> 1x1
    ("conv2d_k4s1p0_bias_b1", 1, 3, 2, 7, 7, 4, 1, 0, True),
    ("conv2d_k3s1p1_bias_b3", 3, 3, 4, 7, 5, 3, 1, 1, True),  # non-square input
    ("conv2d_k3s1p1_nobias_b1", 1, 4, 3, 5, 5, 3, 1, 1, False),
]


def make_conv2d(name, n, ic, oc, h, w, k, s, p, with_bias):
    def build():
        seeded(name)
        x = leaf(torch.randn(n, ic, h, w))
        weight = leaf(torch.randn(oc, ic, k, k) * 0.3)
        bias = leaf(torch.randn(oc)) if with_bias else None
        out = F.conv2d(x, weight, bias, stride=s, padding=p)
        dout = torch.randn_like(out)
        named = [("x", x), ("weight", weight)] + ([("bias", bias)] if with_bias else [])
        g = grads_of(out, dout, named)
        return [("stride", s), ("padding", p)] + named + [("out", out), ("dout", dout)] + g
    return build


for spec in CONV2D:
    case(spec[0])(make_conv2d(*spec))

CONV_T = [
    # name, batch, in_c, out_c, h, w, kernel, stride, padding, bias
    ("conv_transpose2d_k4s1p0_nobias_b3", 3, 6, 4, 1, 1, 4, 1, 0, False),  # decoder's first layer
    ("conv_transpose2d_k4s1p0_bias_b1", 1, 5, 3, 1, 1, 4, 1, 0, True),
    ("conv_transpose2d_k4s2p1_bias_b3", 3, 4, 3, 5, 5, 4, 2, 1, True),
    ("conv_transpose2d_k4s2p1_nobias_b1", 1, 3, 2, 4, 4, 4, 2, 1, False),
    ("conv_transpose2d_k4s2p1_nobias_b3_nonsquare", 3, 2, 3, 3, 5, 4, 2, 1, False),
]


def make_conv_t(name, n, ic, oc, h, w, k, s, p, with_bias):
    def build():
        seeded(name)
        x = leaf(torch.randn(n, ic, h, w))
        weight = leaf(torch.randn(ic, oc, k, k) * 0.3)
        bias = leaf(torch.randn(oc)) if with_bias else None
        out = F.conv_transpose2d(x, weight, bias, stride=s, padding=p)
        dout = torch.randn_like(out)
        named = [("x", x), ("weight", weight)] + ([("bias", bias)] if with_bias else [])
        g = grads_of(out, dout, named)
        return [("stride", s), ("padding", p)] + named + [("out", out), ("dout", dout)] + g
    return build


for spec in CONV_T:
    case(spec[0])(make_conv_t(*spec))


# ---------------------------------------------------------------- batch norm
def make_batch_norm(name, n, c, h, w, training):
    def build():
        seeded(name)
        momentum, eps = 0.1, 1e-5
        # Shifted and scaled so that mean and variance are far from 0 and 1.
        x = leaf(torch.randn(n, c, h, w) * 2.5 + 1.5)
        weight = leaf(1.0 + 0.3 * torch.randn(c))
        bias = leaf(0.5 * torch.randn(c))
        running_mean = 0.3 * torch.randn(c)
        running_var = 0.5 + torch.rand(c)
        rm, rv = running_mean.clone(), running_var.clone()
        out = F.batch_norm(x, rm, rv, weight, bias, training=training, momentum=momentum, eps=eps)
        dout = torch.randn_like(out)
        named = [("x", x), ("weight", weight), ("bias", bias)]
        g = grads_of(out, dout, named)
        return ([("training", 1.0 if training else 0.0), ("momentum", momentum), ("eps", eps)] + named +
                [("running_mean", running_mean), ("running_var", running_var), ("out", out),
                 ("running_mean_out", rm), ("running_var_out", rv), ("dout", dout)] + g)
    return build


case("batch_norm2d_train_b4")(make_batch_norm("batch_norm2d_train_b4", 4, 3, 5, 5, True))
case("batch_norm2d_train_b1")(make_batch_norm("batch_norm2d_train_b1", 1, 4, 3, 2, True))
case("batch_norm2d_train_1x1")(make_batch_norm("batch_norm2d_train_1x1", 5, 3, 1, 1, True))
case("batch_norm2d_eval_b3")(make_batch_norm("batch_norm2d_eval_b3", 3, 3, 4, 4, False))


# ---------------------------------------------------------------- activations
def activation_input(shape):
    x = torch.randn(*shape) * 2.0
    flat = x.view(-1)
    # Saturation and overflow corners for tanh and sigmoid.
    flat[:6] = torch.tensor([-100.0, -30.0, -10.0, 10.0, 30.0, 100.0])
    return leaf(x)


def make_activation(name, fn, extra):
    def build():
        seeded(name)
        x = activation_input((2, 3, 4, 5))
        out = fn(x)
        dout = torch.randn_like(out)
        g = grads_of(out, dout, [("x", x)])
        return extra + [("x", x), ("out", out), ("dout", dout)] + g
    return build


case("leaky_relu")(make_activation("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [("negative_slope", 0.2)]))
case("relu")(make_activation("relu", F.relu, []))
case("tanh")(make_activation("tanh", torch.tanh, []))
case("sigmoid")(make_activation("sigmoid", torch.sigmoid, []))


# ---------------------------------------------------------------- pad_center
def pad_nextpow2(batch):
    """anomalib's pad_nextpow2 (anomalib/data/utils/image.py), verbatim in behaviour:
    square side = next power of two of the longer side; ceil(diff/2) before, floor after,
    for both height and width (its variable names padding_w/padding_h are swapped, the
    effect is the same split on both axes)."""
    l_dim = 2 ** math.ceil(math.log(max(*batch.shape[-2:]), 2))
    padding_w = [math.ceil((l_dim - batch.shape[-2]) / 2), math.floor((l_dim - batch.shape[-2]) / 2)]
    padding_h = [math.ceil((l_dim - batch.shape[-1]) / 2), math.floor((l_dim - batch.shape[-1]) / 2)]
    return F.pad(batch, pad=[*padding_h, *padding_w])


def make_pad(name, shape):
    def build():
        seeded(name)
        x = leaf(torch.randn(*shape))
        out = pad_nextpow2(x)
        dout = torch.randn_like(out)
        g = grads_of(out, dout, [("x", x)])
        return [("height", out.shape[-2]), ("width", out.shape[-1]), ("x", x), ("out", out),
                ("dout", dout)] + g
    return build


case("pad_center_5x7")(make_pad("pad_center_5x7", (2, 3, 5, 7)))      # -> 8x8, odd diffs both axes
case("pad_center_6x3")(make_pad("pad_center_6x3", (1, 1, 6, 3)))      # -> 8x8, W diff 5 -> 3 + 2
case("pad_center_9x16")(make_pad("pad_center_9x16", (1, 2, 9, 16)))   # -> 16x16, only H padded
case("pad_center_4x4")(make_pad("pad_center_4x4", (2, 1, 4, 4)))      # already a power of two


# ---------------------------------------------------------------- losses
def make_loss(name, fn, gen, target_grad, extra):
    def build():
        seeded(name)
        x, t = gen()
        x, t = leaf(x), (leaf(t) if target_grad else t.detach().clone())
        out = fn(x, t)
        dout = torch.tensor(0.5 + torch.rand(()).item())  # scalar upstream gradient
        named = [("x", x)] + ([("target", t)] if target_grad else [])
        g = grads_of(out, dout, named)
        return extra + [("x", x), ("target", t), ("out", out), ("dout", dout)] + g
    return build


def regression_pair():
    x = torch.randn(3, 4, 2, 2) * 1.5
    t = torch.randn(3, 4, 2, 2) * 1.5  # |x - t| spans both sides of beta = 1
    return x, t


def bce_pair():
    p = torch.rand(2, 3, 4) * 0.98 + 0.01
    t = (torch.rand(2, 3, 4) > 0.5).float()
    t.view(-1)[:4] = torch.tensor([0.3, 0.7, 0.5, 0.9])  # soft targets too
    # Near 0 and 1 without reaching the clamp: log(1e-6) = -13.8.
    p.view(-1)[4:10] = torch.tensor([1e-6, 1e-6, 1.0 - 1e-6, 1.0 - 1e-6, 1e-3, 0.999])
    t.view(-1)[4:10] = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    return p, t


def bce_clamp_pair():
    # Probabilities whose log falls below -100 (1e-44 is a float32 denormal, log = -101.3)
    # or is -inf (0 and 1 exactly): the loss clamps the log at -100.
    p = torch.tensor([0.0, 0.0, 1.0, 1.0, 1e-44, 1e-44, 0.25, 0.75])
    t = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    return p, t


case("l1_loss")(make_loss("l1_loss", F.l1_loss, regression_pair, True, []))
case("mse_loss")(make_loss("mse_loss", F.mse_loss, regression_pair, True, []))
case("smooth_l1_loss")(make_loss("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=1.0),
                                 regression_pair, True, [("beta", 1.0)]))
case("bce_loss")(make_loss("bce_loss", F.binary_cross_entropy, bce_pair, False, []))
case("bce_loss_clamp")(make_loss("bce_loss_clamp", F.binary_cross_entropy, bce_clamp_pair, False, []))


# ---------------------------------------------------------------- spectral norm
def make_spectral_norm(name, out_c, in_c, k, training):
    """torch.nn.utils.spectral_norm on a Conv2d, u and v set to known unit vectors: out is
    the normalised weight after one forward (one power-iteration step when training)."""
    def build():
        seeded(name)
        conv = torch.nn.Conv2d(in_c, out_c, k, bias=False)
        weight = torch.randn(out_c, in_c, k, k) * 0.3
        u = F.normalize(torch.randn(out_c), dim=0)
        v = F.normalize(torch.randn(in_c * k * k), dim=0)
        conv = torch.nn.utils.spectral_norm(conv)
        with torch.no_grad():
            conv.weight_orig.copy_(weight)
            conv.weight_u.copy_(u)
            conv.weight_v.copy_(v)
        conv.train(training)
        conv(torch.zeros(1, in_c, k, k))  # the forward pre-hook computes conv.weight
        out = conv.weight
        dout = torch.randn_like(out)
        (out * dout).sum().backward()
        return [("training", 1.0 if training else 0.0), ("weight", weight), ("u", u), ("v", v), ("out", out),
                ("u_out", conv.weight_u), ("v_out", conv.weight_v), ("dout", dout),
                ("dweight", conv.weight_orig.grad)]
    return build


case("spectral_norm_train")(make_spectral_norm("spectral_norm_train", 5, 3, 3, True))
case("spectral_norm_eval")(make_spectral_norm("spectral_norm_eval", 4, 6, 2, False))


# ---------------------------------------------------------------- Adam
@case("adam_3steps")
def adam_3steps():
    name = "adam_3steps"
    seeded(name)
    lr, b1, b2, eps, steps = 2e-4, 0.5, 0.999, 1e-8, 3
    shapes = [(3, 4), (5,), (2, 2, 3, 3)]
    params = [torch.randn(*s) for s in shapes]
    # A fourth parameter never gets a gradient: Adam must leave it alone.
    params.append(torch.randn(4))
    records = [("lr", lr), ("beta1", b1), ("beta2", b2), ("eps", eps), ("steps", steps)]
    records += [(f"param{i}", p.clone()) for i, p in enumerate(params)]
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.Adam(ps, lr=lr, betas=(b1, b2), eps=eps)
    for step in range(1, steps + 1):
        for i, p in enumerate(ps[:3]):
            g = torch.randn_like(p) * (10.0 ** (i - 1))  # 0.1, 1, 10
            if i == 0:
                g.view(-1)[:2] = torch.tensor([1e-7, -1e-9])  # below eps after sqrt(v)
            p.grad = g
            records.append((f"grad{i}_step{step}", g.clone()))
        opt.step()
        records += [(f"param{i}_step{step}", p.detach().clone()) for i, p in enumerate(ps)]
    return records


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT_DIR, help="output folder (default tests/golden)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and report files that would change")
    args = ap.parse_args()
    torch.set_num_threads(1)  # reductions in a fixed order: the bytes are reproducible
    torch.set_default_dtype(torch.float32)
    os.makedirs(args.out, exist_ok=True)
    changed, total = [], 0
    for name, build in CASES.items():
        data = encode(build())
        total += len(data)
        path = os.path.join(args.out, name + ".bin")
        if args.check:
            old = open(path, "rb").read() if os.path.exists(path) else None
            if old != data:
                changed.append(name)
        else:
            with open(path, "wb") as f:
                f.write(data)
    print(f"{len(CASES)} cases, {total} bytes, torch {torch.__version__}")
    if args.check and changed:
        print("would change: " + ", ".join(changed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
