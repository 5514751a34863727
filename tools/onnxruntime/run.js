#!/usr/bin/env node
// Runs a graph written by ganomaly_export in ONNX Runtime (npm's onnxruntime-node), as an
// inspection line would: the test tests/test_onnx_runtime.cpp compares what it computes
// with ganomaly_infer.
//
//   NODE_PATH=BUILD/onnxruntime/node_modules node tools/onnxruntime/run.js MODEL.onnx INPUTS OUTPUTS [--sensitivity S]
//
// INPUTS and OUTPUTS are tensor files as tools/onnx_run.py reads and writes them
// (little-endian): b"GTENSORS", u32 count, then per tensor: u32 name length, name, u32
// ndim, ndim x i64 dims, float32 values. INPUTS holds the graph's "images"; OUTPUTS gets
// every graph output, as float32 (a bool as 0 or 1).
// --sensitivity S: moves the threshold as a caller would, from the file alone: reads the
// decision_* metadata (by a small protobuf walk: onnxruntime-node does not show
// metadata_props), computes the threshold by its decision_sensitivity_formula and adds
// to OUTPUTS "anomalous_at_sensitivity": raw_score >= that threshold, in float32.
// Prints one JSON line: the runtime's version, the outputs, the metadata and the moved threshold.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function fail(message) {
  process.stderr.write(`run.js: ${message}\n`);
  process.exit(1);
}

function readTensors(path) {
  const data = fs.readFileSync(path);
  if (data.toString('latin1', 0, 8) !== 'GTENSORS') fail(`${path}: not a tensor file (wrong magic)`);
  const count = data.readUInt32LE(8);
  let at = 12;
  const out = {};
  for (let i = 0; i < count; ++i) {
    const n = data.readUInt32LE(at);
    const name = data.toString('utf8', at + 4, at + 4 + n);
    at += 4 + n;
    const ndim = data.readUInt32LE(at);
    at += 4;
    const dims = [];
    for (let d = 0; d < ndim; ++d, at += 8) dims.push(Number(data.readBigInt64LE(at)));
    const numel = dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(numel);
    for (let j = 0; j < numel; ++j, at += 4) values[j] = data.readFloatLE(at);
    out[name] = new ort.Tensor('float32', values, dims);
  }
  if (at !== data.length) fail(`${path}: ${data.length - at} bytes after the last tensor`);
  return out;
}

function writeTensors(path, tensors) {
  const parts = [Buffer.from('GTENSORS'), u32(Object.keys(tensors).length)];
  for (const [name, t] of Object.entries(tensors)) {
    const raw = Buffer.from(name, 'utf8');
    parts.push(u32(raw.length), raw, u32(t.dims.length));
    for (const d of t.dims) {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(d));
      parts.push(b);
    }
    const values = Buffer.alloc(4 * t.data.length);
    for (let i = 0; i < t.data.length; ++i) values.writeFloatLE(Number(t.data[i]), 4 * i);
    parts.push(values);
  }
  fs.writeFileSync(path, Buffer.concat(parts));
}

function u32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

// ModelProto.metadata_props (field 14: StringStringEntryProto, key = 1, value = 2).
function metadataProps(bytes) {
  function fields(buf) {
    const out = [];
    let at = 0;
    const varint = () => {
      let v = 0n, shift = 0n, byte;
      do {
        byte = buf[at++];
        v |= BigInt(byte & 0x7f) << shift;
        shift += 7n;
      } while (byte & 0x80);
      return v;
    };
    while (at < buf.length) {
      const key = varint(), field = Number(key >> 3n), wire = Number(key & 7n);
      if (wire === 0) out.push([field, varint()]);
      else if (wire === 1) (out.push([field, buf.subarray(at, at + 8)]), (at += 8));
      else if (wire === 5) (out.push([field, buf.subarray(at, at + 4)]), (at += 4));
      else if (wire === 2) {
        const n = Number(varint());
        out.push([field, buf.subarray(at, at + n)]);
        at += n;
      } else fail(`model file: protobuf wire type ${wire} is not expected here`);
    }
    return out;
  }
  const props = {};
  for (const [field, value] of fields(bytes))
    if (field === 14) {
      const entry = Object.fromEntries(fields(value).map(([f, v]) => [f, v.toString('utf8')]));
      props[entry[1]] = entry[2];
    }
  return props;
}

async function main() {
  const args = process.argv.slice(2);
  let sensitivity = null;
  const at = args.indexOf('--sensitivity');
  if (at >= 0) {
    sensitivity = Number(args[at + 1]);
    if (!(sensitivity >= 0 && sensitivity <= 1)) fail(`--sensitivity: expected a number in [0, 1], got '${args[at + 1]}'`);
    args.splice(at, 2);
  }
  if (args.length !== 3) fail('usage: run.js MODEL.onnx INPUTS OUTPUTS [--sensitivity S]');
  const [modelPath, inputsPath, outputsPath] = args;
  const bytes = fs.readFileSync(modelPath);
  const metadata = metadataProps(bytes);
  // One thread: the test runs beside others on few cores, and the graphs are small.
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const results = await session.run(readTensors(inputsPath));
  let threshold = null;
  if (sensitivity !== null) {
    // The caller's side of decision_sensitivity_formula.
    const number = (key) => {
      if (!(key in metadata)) fail(`${modelPath}: no metadata '${key}' (exported without a decision?)`);
      return Number(metadata[key]);
    };
    threshold = Math.fround(number('decision_normalizer_threshold') +
                            (0.5 - sensitivity) * (number('decision_normalizer_max') - number('decision_normalizer_min')));
    const raw = results.raw_score.data;
    results.anomalous_at_sensitivity = new ort.Tensor('bool', Uint8Array.from(raw, (v) => (v >= threshold ? 1 : 0)), results.raw_score.dims);
  }
  writeTensors(outputsPath, results);
  const version = require('onnxruntime-node/package.json').version;
  process.stdout.write(JSON.stringify({ onnxruntime: version, outputs: session.outputNames, metadata,
                                        threshold }) + '\n');
}

main().catch((e) => fail(e.message || String(e)));
