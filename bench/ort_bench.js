#!/usr/bin/env node
// ONNX Runtime side of ganomaly_bench: scores a batch with the graph ganomaly_export
// --features never writes (the generator pass and the latent score in the graph), then
// computes the reconstruction and residual_max scores from its `fake` output here, as
// ganomaly.cpp's Ganomaly::score(..., FeatureScore::skip) and tools/torch_bench.py do:
// the same arithmetic (the mean absolute residual per image, and the largest mean of the
// channel-mean residual over a square window of max(2, size / 8) pixels through an
// integral image). One repetition, one process; the last line is "ort_bench {json}".
//
//   NODE_PATH=build/onnxruntime/node_modules node bench/ort_bench.js --model m.onnx \
//       --size 64 --batch 32 --steps 20 --warmup 2 --threads 2
//
// Threads: intra_op_num_threads = --threads, inter_op_num_threads = 1, sequential
// execution, every graph optimisation. CPU time over wall time comes from
// process.cpuUsage() (all threads of the process), the peak RSS from VmHWM.
'use strict';
const fs = require('fs');

function parseArgs(argv) {
  const a = { model: '', size: 64, batch: 32, steps: 20, warmup: 2, threads: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in a) || i + 1 >= argv.length) throw new Error(`unexpected argument '${argv[i]}'`);
    a[key] = key === 'model' ? argv[i + 1] : Number(argv[i + 1]);
  }
  for (const k of ['size', 'batch', 'steps', 'threads'])
    if (!Number.isInteger(a[k]) || a[k] < 1) throw new Error(`--${k}: expected a positive integer, got ${a[k]}`);
  if (!Number.isInteger(a.warmup) || a.warmup < 0) throw new Error(`--warmup: expected an integer >= 0`);
  if (!a.model) throw new Error('--model: expected the .onnx file');
  return a;
}

function procStatus(field) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : -1;
}

// The scores computed outside the graph: reconstruction = mean |x - fake| per image,
// residual_max = the largest window mean of the channel-mean residual (integral image).
function residualScores(x, fake, batch, channels, size, window) {
  const plane = size * size, side = size + 1;
  const integral = new Float64Array(side * side);
  const reconstruction = new Array(batch), residualMax = new Array(batch);
  for (let n = 0; n < batch; ++n) {
    let total = 0;
    integral.fill(0);
    for (let y = 0; y < size; ++y) {
      let row = 0;
      for (let xx = 0; xx < size; ++xx) {
        let r = 0;
        for (let c = 0; c < channels; ++c) {
          const i = (n * channels + c) * plane + y * size + xx;
          r += Math.abs(x[i] - fake[i]);
        }
        total += r;
        row += r / channels;
        integral[(y + 1) * side + xx + 1] = integral[y * side + xx + 1] + row;
      }
    }
    let best = -Infinity;
    for (let y = window; y <= size; ++y)
      for (let xx = window; xx <= size; ++xx) {
        const s = integral[y * side + xx] - integral[(y - window) * side + xx] - integral[y * side + xx - window] +
                  integral[(y - window) * side + xx - window];
        if (s > best) best = s;
      }
    reconstruction[n] = total / (channels * plane);
    residualMax[n] = best / (window * window);
  }
  return { reconstruction, residualMax };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const rssStart = procStatus('VmRSS');
  const ort = require('onnxruntime-node');
  const rssBeforeModel = procStatus('VmRSS');  // node with ONNX Runtime loaded, before the session
  const session = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const channels = 3, window = Math.max(2, Math.floor(a.size / 8));
  const x = new Float32Array(a.batch * channels * a.size * a.size);
  let seed = 1;
  for (let i = 0; i < x.length; ++i) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    x[i] = seed / 2147483648;
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [a.batch, channels, a.size, a.size]) };
  let last = null;
  const step = async () => {
    const out = await session.run(feeds);
    const s = residualScores(x, out.fake.data, a.batch, channels, a.size, window);
    last = { latent: Array.from(out.latent.data), reconstruction: s.reconstruction, residual_max: s.residualMax };
  };
  for (let s = 0; s < a.warmup; ++s) await step();
  const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  for (let s = 0; s < a.steps; ++s) await step();
  const wall = Number(process.hrtime.bigint() - t0) * 1e-9;
  const cpu = process.cpuUsage(cpu0);
  let version = '';
  try {
    version = require('onnxruntime-node/package.json').version;
  } catch (e) {
    version = (ort.env && ort.env.versions && ort.env.versions.node) || '?';
  }
  const result = {
    onnxruntime_version: version,
    node_version: process.versions.node,
    size: a.size,
    batch: a.batch,
    steps: a.steps,
    warmup: a.warmup,
    threads: a.threads,
    score_img_s: (a.batch * a.steps) / wall,
    score_cpu_per_wall: (cpu.user + cpu.system) * 1e-6 / wall,
    os_threads: procStatus('Threads'),
    rss_start_mib: rssStart / 1024,
    rss_before_model_mib: rssBeforeModel / 1024,
    peak_rss_mib: procStatus('VmHWM') / 1024,
    outputs: session.outputNames,
    first_scores: { latent: last.latent[0], reconstruction: last.reconstruction[0], residual_max: last.residual_max[0] },
  };
  console.log('ort_bench ' + JSON.stringify(result));
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
