#!/usr/bin/env python3
"""Runs an ONNX graph written by ganomaly_export, independently of ganomaly.cpp.

    /usr/bin/python3 tools/onnx_run.py MODEL.onnx INPUTS OUTPUTS [--float64]

Debian has no onnxruntime, and python3-onnx 1.12 has no reference evaluator. So this
script loads the model with onnx, runs onnx.checker.check_model with full_check (the
structure, every node against its operator schema, and strict shape inference), then
executes the graph node by node with PyTorch's functional ops: a second, independent
implementation of exactly the operators the exporter emits. Any other operator, or an
attribute value it does not implement (auto_pad, groups, dilations...), is refused.

INPUTS and OUTPUTS are tensor files (little-endian):
    b"GTENSORS" u32 count, then per tensor: u32 name length, name (UTF-8), u32 ndim,
    ndim x i64 dims, float32 values
INPUTS must hold every graph input by name; OUTPUTS receives every graph output (a bool as 0 or 1).
--float64 runs in double precision (a reference for the float32 rounding of both sides).
Needs: python3-onnx, torch, numpy (Debian: apt-get install python3-onnx python3-torch).
"""
import argparse
import struct
import sys

import numpy as np
import onnx
import onnx.checker
import onnx.helper
import onnx.numpy_helper
import torch
import torch.nn.functional as F

MAGIC = b"GTENSORS"


def read_tensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        sys.exit(f"{path}: not a tensor file (wrong magic)")
    (count,), at = struct.unpack_from("<I", data, 8), 12
    out = {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, at)
        name = data[at + 4:at + 4 + n].decode()
        at += 4 + n
        (ndim,) = struct.unpack_from("<I", data, at)
        dims = struct.unpack_from(f"<{ndim}q", data, at + 4)
        at += 4 + 8 * ndim
        numel = int(np.prod(dims)) if ndim else 1
        out[name] = np.frombuffer(data, dtype="<f4", count=numel, offset=at).reshape(dims).copy()
        at += 4 * numel
    if at != len(data):
        sys.exit(f"{path}: {len(data) - at} bytes after the last tensor")
    return out


def write_tensors(path, tensors):
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(tensors)))
        for name, t in tensors.items():
            t = np.ascontiguousarray(t, dtype="<f4")
            raw = name.encode()
            f.write(struct.pack("<I", len(raw)) + raw + struct.pack("<I", t.ndim))
            f.write(struct.pack(f"<{t.ndim}q", *t.shape))
            f.write(t.tobytes())


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def refuse(node, why):
    sys.exit(f"onnx_run: node {node.name or node.op_type} ({node.op_type}): {why}")


def conv_padding(node, a, k):
    """The symmetric padding of a 2-D Conv/ConvTranspose; anything else is refused."""
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        refuse(node, f"auto_pad {a['auto_pad']!r} is not implemented")
    if a.get("group", 1) != 1:
        refuse(node, "groups are not implemented")
    if list(a.get("dilations", [1, 1])) != [1, 1]:
        refuse(node, "dilations are not implemented")
    if "kernel_shape" in a and list(a["kernel_shape"]) != list(k):
        refuse(node, f"kernel_shape {a['kernel_shape']} does not match the weight's {list(k)}")
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
        refuse(node, f"asymmetric pads {pads} are not implemented")
    return (pads[0], pads[1])


def run_node(node, v):
    a = attributes(node)
    x = [v[name] if name else None for name in node.input]
    op = node.op_type
    if op == "Conv":
        if "output_padding" in a:
            refuse(node, "output_padding")
        pad = conv_padding(node, a, x[1].shape[2:])
        return F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=tuple(a.get("strides", [1, 1])), padding=pad)
    if op == "ConvTranspose":
        if "output_shape" in a or any(a.get("output_padding", [0, 0])):
            refuse(node, "output_shape and output_padding are not implemented")
        pad = conv_padding(node, a, x[1].shape[2:])
        return F.conv_transpose2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=tuple(a.get("strides", [1, 1])),
                                  padding=pad)
    if op == "BatchNormalization":
        if a.get("training_mode", 0):
            refuse(node, "training_mode")
        return F.batch_norm(x[0], x[3], x[4], weight=x[1], bias=x[2], training=False, eps=a.get("epsilon", 1e-5))
    if op == "LeakyRelu":
        return F.leaky_relu(x[0], a.get("alpha", 0.01))
    if op == "Relu":
        return F.relu(x[0])
    if op == "Tanh":
        return torch.tanh(x[0])
    if op == "Sigmoid":
        return torch.sigmoid(x[0])
    if op in ("Add", "Sub", "Mul", "Div"):
        return {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op](x[0], x[1])
    if op == "Pow":
        return torch.pow(x[0], x[1])
    if op == "Pad":
        if a.get("mode", b"constant") not in (b"constant", "constant"):
            refuse(node, f"mode {a['mode']!r} is not implemented")
        pads = [int(p) for p in x[1].tolist()]
        value = float(x[2].item()) if len(x) > 2 and x[2] is not None else 0.0
        rank = x[0].dim()
        torch_pads = []  # F.pad: (last begin, last end, second last begin, ...)
        for axis in reversed(range(rank)):
            torch_pads += [pads[axis], pads[axis + rank]]
        return F.pad(x[0], torch_pads, mode="constant", value=value)
    if op == "Slice":
        starts, ends = x[1].tolist(), x[2].tolist()
        axes = x[3].tolist() if len(x) > 3 and x[3] is not None else list(range(len(starts)))
        steps = x[4].tolist() if len(x) > 4 and x[4] is not None else [1] * len(starts)
        out = x[0]
        for s, e, ax, st in zip(starts, ends, axes, steps):
            if st != 1:
                refuse(node, "steps other than 1 are not implemented")
            n = out.shape[ax]
            s = max(0, min(n, s + n if s < 0 else s))
            e = max(0, min(n, e + n if e < 0 else e))
            out = out.narrow(ax, s, max(0, e - s))
        return out
    if op in ("ReduceMean", "ReduceSum"):
        if op == "ReduceSum" and len(x) > 1 and x[1] is not None:  # opset 13: axes is an input
            axes = [int(i) for i in x[1].tolist()]
        else:
            axes = list(a.get("axes", range(x[0].dim())))
        keep = bool(a.get("keepdims", 1))
        f = torch.mean if op == "ReduceMean" else torch.sum
        return f(x[0], dim=[ax % x[0].dim() for ax in axes], keepdim=keep)
    if op == "Flatten":
        axis = a.get("axis", 1) % x[0].dim() if x[0].dim() else 0
        return x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
    if op == "Reshape":
        shape = [int(d) for d in x[1].tolist()]
        shape = [x[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
        return x[0].reshape(shape)
    if op == "Identity":
        return x[0]
    if op in ("Abs", "Sqrt", "Sign"):
        return {"Abs": torch.abs, "Sqrt": torch.sqrt, "Sign": torch.sign}[op](x[0])
    if op == "Clip":
        lo = float(x[1].item()) if len(x) > 1 and x[1] is not None else None
        hi = float(x[2].item()) if len(x) > 2 and x[2] is not None else None
        return torch.clamp(x[0], min=lo, max=hi)
    if op == "GreaterOrEqual":
        return torch.ge(x[0], x[1])
    if op == "AveragePool":
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or any(a.get("pads", [0])) or a.get("ceil_mode", 0):
            refuse(node, "padding and ceil_mode are not implemented")
        if list(a.get("dilations", [1, 1])) != [1, 1]:
            refuse(node, "dilations are not implemented")
        return F.avg_pool2d(x[0], kernel_size=tuple(a["kernel_shape"]), stride=tuple(a.get("strides", [1, 1])))
    if op == "ReduceMax":
        axes = list(a.get("axes", range(x[0].dim())))
        return torch.amax(x[0], dim=[ax % x[0].dim() for ax in axes], keepdim=bool(a.get("keepdims", 1)))
    if op == "Unsqueeze":  # opset 13: axes is an input
        out = x[0]
        rank = x[0].dim() + x[1].numel()
        for ax in sorted(int(i) % rank for i in x[1].tolist()):
            out = out.unsqueeze(ax)
        return out
    if op == "Gather":
        data, index = x[0], x[1]
        axis = a.get("axis", 0) % data.dim()
        index = torch.where(index < 0, index + data.shape[axis], index)
        picked = data.index_select(axis, index.reshape(-1))
        return picked.reshape(tuple(data.shape[:axis]) + tuple(index.shape) + tuple(data.shape[axis + 1:]))
    if op == "TopK":
        if not a.get("sorted", 1):
            refuse(node, "unsorted TopK is not implemented")
        k, axis = int(x[1].item()), a.get("axis", -1)
        # A stable sort: equal values keep the lower index first, as ONNX's TopK requires.
        values, indices = torch.sort(x[0], dim=axis, descending=bool(a.get("largest", 1)), stable=True)
        return values.narrow(axis, 0, k), indices.narrow(axis, 0, k)
    refuse(node, "operator not implemented by this interpreter")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("inputs")
    p.add_argument("outputs")
    p.add_argument("--float64", action="store_true", help="compute in double precision")
    args = p.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    for opset in model.opset_import:
        if opset.domain not in ("", "ai.onnx"):
            sys.exit(f"onnx_run: operator set domain '{opset.domain}' is not implemented")
    dtype = torch.float64 if args.float64 else torch.float32
    values = {}
    for t in model.graph.initializer:
        a = onnx.numpy_helper.to_array(t)
        values[t.name] = torch.from_numpy(a.copy()).to(dtype if a.dtype.kind == "f" else torch.int64)
    feeds = read_tensors(args.inputs)
    for i in model.graph.input:
        if i.name in values:
            continue
        if i.name not in feeds:
            sys.exit(f"onnx_run: {args.inputs}: no tensor named '{i.name}' for the graph's input")
        shape = [d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim]
        got = list(feeds[i.name].shape)
        if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
            sys.exit(f"onnx_run: input '{i.name}': expected shape {shape}, got {got}")
        values[i.name] = torch.from_numpy(feeds[i.name]).to(dtype)
    with torch.no_grad():
        for node in model.graph.node:
            if node.domain not in ("", "ai.onnx"):
                refuse(node, f"domain '{node.domain}'")
            result = run_node(node, values)
            results = result if isinstance(result, tuple) else (result,)
            if len(results) != len(node.output):
                refuse(node, f"{len(node.output)} outputs, {len(results)} computed")
            for name, value in zip(node.output, results):
                values[name] = value
    out = {}
    for o in model.graph.output:
        t = values[o.name]
        declared = [d.dim_value if d.HasField("dim_value") else None for d in o.type.tensor_type.shape.dim]
        if len(declared) != t.dim() or any(d is not None and d != s for d, s in zip(declared, t.shape)):
            sys.exit(f"onnx_run: output '{o.name}': declared shape {declared}, computed {list(t.shape)}")
        out[o.name] = t.to(torch.float32).numpy()
    write_tensors(args.outputs, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
