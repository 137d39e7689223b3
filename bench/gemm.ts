/**
 * `npm run bench:gemm`: GFLOP/s of each product of a dense layer for every kernel
 * family and thread count, against a naive JS triple loop and, where numpy is installed,
 * the machine's own sgemm. Prints figures; it is not a test. Run it on an idle machine.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import type { GemmKernels } from '../src/core/kernels.js';
import { referenceKernels } from '../src/core/reference-kernels.js';
import type { FloatArray } from '../src/core/types.js';
import { relaxedSimdSupported } from '../src/kernels/wasm-module.js';
import { createWasmKernels } from '../src/kernels/wasm-kernels.js';

/** (batch, inDim, outDim): the 784 → 800 layer of 784-800-10 at batch 64, and its tall, shallow transpose. */
const SHAPES: readonly [number, number, number][] = [[64, 784, 800], [784, 64, 800]];
const TRIALS = 7;
/** Each trial repeats a product for at least this long. */
const TRIAL_SECONDS = 0.08;
/** A 1-minute load average above this means another process shares the cores. */
const BUSY_LOAD = 0.5;

/** The textbook loops, one output element at a time, as a first attempt would write them. */
const naiveKernels: GemmKernels = {
  name: 'naive JS',
  allocate: (length) => new Float32Array(length),
  matmulForward(out, inp, weight, bias, batch, inDim, outDim) {
    for (let b = 0; b < batch; b++) {
      for (let o = 0; o < outDim; o++) {
        let sum = bias[o];
        for (let i = 0; i < inDim; i++) sum += inp[b * inDim + i] * weight[o * inDim + i];
        out[b * outDim + o] = sum;
      }
    }
  },
  matmulBackwardInput(dInp, dOut, weight, batch, inDim, outDim) {
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < inDim; i++) {
        let sum = 0;
        for (let o = 0; o < outDim; o++) sum += dOut[b * outDim + o] * weight[o * inDim + i];
        dInp[b * inDim + i] = sum;
      }
    }
  },
  matmulBackwardWeight(dWeight, dBias, dOut, inp, batch, inDim, outDim) {
    for (let o = 0; o < outDim; o++) {
      let biasSum = 0;
      for (let b = 0; b < batch; b++) biasSum += dOut[b * outDim + o];
      dBias[o] = biasSum;
      for (let i = 0; i < inDim; i++) {
        let sum = 0;
        for (let b = 0; b < batch; b++) sum += dOut[b * outDim + o] * inp[b * inDim + i];
        dWeight[o * inDim + i] = sum;
      }
    }
  },
};

interface Contender {
  kernels: GemmKernels;
  threads: number;
  dispose(): void;
}

/** One layer's buffers, from the kernels' own allocate(), filled with small values. */
function layerBuffers(kernels: GemmKernels, batch: number, inDim: number, outDim: number): Record<string, FloatArray> {
  const sizes = { inp: batch * inDim, weight: outDim * inDim, bias: outDim, out: batch * outDim, dOut: batch * outDim, dInp: batch * inDim, dWeight: outDim * inDim, dBias: outDim };
  const total = Object.values(sizes).reduce((sum, size) => sum + size, 0);
  const memory = kernels.allocate(total);
  for (let i = 0; i < total; i++) memory[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const buffers: Record<string, FloatArray> = {};
  let offset = 0;
  for (const [name, size] of Object.entries(sizes)) {
    buffers[name] = memory.subarray(offset, offset + size);
    offset += size;
  }
  return buffers;
}

/** GFLOP/s of one product over the trials: the median, and the best as the speed on idle cores. */
function gflops(run: () => void, flop: number): { median: number; best: number } {
  const warmStart = performance.now();
  run();
  run();
  const secondsPerRun = Math.max((performance.now() - warmStart) / 2000, 1e-6);
  const repeats = Math.max(1, Math.ceil(TRIAL_SECONDS / secondsPerRun));
  const rates: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const start = performance.now();
    for (let r = 0; r < repeats; r++) run();
    rates.push((flop * repeats) / ((performance.now() - start) / 1000) / 1e9);
  }
  rates.sort((a, b) => a - b);
  return { median: rates[Math.floor(TRIALS / 2)], best: rates[TRIALS - 1] };
}

function measure({ kernels, threads }: Contender): void {
  for (const [batch, inDim, outDim] of SHAPES) {
    const x = layerBuffers(kernels, batch, inDim, outDim);
    const flop = 2 * batch * inDim * outDim;
    const rates = [
      gflops(() => kernels.matmulForward(x.out, x.inp, x.weight, x.bias, batch, inDim, outDim), flop),
      gflops(() => kernels.matmulBackwardInput(x.dInp, x.dOut, x.weight, batch, inDim, outDim), flop),
      gflops(() => kernels.matmulBackwardWeight(x.dWeight, x.dBias, x.dOut, x.inp, batch, inDim, outDim), flop),
    ];
    row(kernels.name.replace(/ x\d+$/, ''), String(threads), `${batch}×${inDim}×${outDim}`, ...rates.map(({ median, best }) => `${median.toFixed(1)} (${best.toFixed(1)})`));
  }
}

function row(...cells: string[]): void {
  const widths = [20, 8, 13, 15, 16, 16];
  console.log(cells.map((cell, i) => cell.padEnd(widths[i])).join('').trimEnd());
}

/** numpy's sgemm on the same shapes, forward product only, or why it was not measured. */
function sgemm(threads: number): string {
  const script = [
    'import numpy as np, time, sys',
    'for b, i, o in [(64, 784, 800), (784, 64, 800)]:',
    '    x = np.random.rand(b, i).astype(np.float32); w = np.random.rand(o, i).astype(np.float32)',
    '    x @ w.T',
    '    n = 200; t = time.perf_counter()',
    '    for _ in range(n): x @ w.T',
    '    sys.stdout.write("%d×%d×%d: %.1f  " % (b, i, o, 2 * b * i * o * n / (time.perf_counter() - t) / 1e9))',
  ].join('\n');
  const threadEnv = { OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const result = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...threadEnv } });
  if (result.status !== 0) return 'not measured: numpy is not installed (apt-get install python3-numpy)';
  return result.stdout.trim();
}

async function main(): Promise<void> {
  const cpu = cpus();
  const load = loadavg()[0];
  console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}, relaxed SIMD ${relaxedSimdSupported() ? 'yes' : 'no'}`);
  if (load > BUSY_LOAD) console.log(`warning: load average ${load.toFixed(2)}: another process is using the cores, figures will be low`);
  console.log(`GFLOP/s, median (best) of ${TRIALS} trials; shape is batch × inDim × outDim, each product costs 2·batch·inDim·outDim flop`);
  row('kernel', 'threads', 'shape', 'forward', 'input gradient', 'weight gradient');

  const threadCounts = [...new Set([1, availableParallelism()])];
  const contenders: (() => Promise<Contender>)[] = [
    async () => ({ kernels: naiveKernels, threads: 1, dispose: () => undefined }),
    async () => ({ kernels: referenceKernels, threads: 1, dispose: () => undefined }),
  ];
  for (const relaxedSimd of relaxedSimdSupported() ? [false, true] : [false]) {
    for (const threads of threadCounts) {
      contenders.push(async () => {
        const kernels = await createWasmKernels({ threads, relaxedSimd });
        return { kernels, threads, dispose: () => kernels.dispose() };
      });
    }
  }
  for (const start of contenders) {
    const contender = await start();
    try {
      measure(contender);
    } finally {
      contender.dispose();
    }
  }
  for (const threads of threadCounts) console.log(`numpy sgemm forward, ${threads} thread(s): ${sgemm(threads)}`);
}

await main();
