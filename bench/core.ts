/**
 * `npm run bench:core`: accuracy on real digits, training throughput of the reference and the
 * wasm kernels against TensorFlow.js and PyTorch measured in the same run, and predict latency.
 * Prints figures; it is not a test. Sections can be chosen: `node dist/bench/core.js accuracy throughput predict`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  Predictor, Trainer, evaluate, referenceKernels, resolveTrainingConfig,
  type Dataset, type Kernels, type TrainingConfigInput,
} from '../src/core/index.js';
import { chooseKernels } from '../src/kernels/choose-kernels.js';
import { loadMnistDigits, MNIST_HEIGHT, MNIST_PIXELS, MNIST_WIDTH } from '../test/helpers/mnist.js';

const benchDir = fileURLToPath(new URL('../../bench/', import.meta.url));
const sections = process.argv.slice(2);
const wanted = (name: string): boolean => sections.length === 0 || sections.includes(name);

/** 784-800-10 settings for the accuracy target: cosine schedule, L2, dropout and shift/rotate augmentation. */
export const BENCH_800_CONFIG: Omit<TrainingConfigInput, 'shape'> = {
  optimizer: 'momentum', learningRate: 0.05, momentum: 0.9, batchSize: 64, epochs: 10, l2: 1e-4, dropout: 0.2,
  schedule: { kind: 'cosine', minLearningRate: 0 }, augment: { maxShift: 2, maxRotationDegrees: 10 }, seed: 1,
};
const THROUGHPUT_SAMPLES = 60_000;
const PEER_BATCHES = { wasm: 200, cpu: 20 } as const;
const PREDICT_CALLS = 10_000;
const PYTHON = '/usr/bin/python3';
/** PyTorch's best setup on this 2-core machine: 2 OpenMP threads on top of 2 OpenBLAS threads oversubscribe it. */
const TORCH_SETUPS = [
  { name: '1 OpenMP thread, OpenBLAS 2 threads', env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '2' } },
  { name: 'defaults', env: {} },
] as const;
const MEGABYTE = 2 ** 20;

function machine(): void {
  const cpu = cpus();
  console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
}

function digits(): { train: Dataset; test: Dataset } {
  const { pixels, labels } = loadMnistDigits(10_000, 1);
  const split = 8000;
  const image = { inputSize: MNIST_PIXELS, targets: null, width: MNIST_WIDTH, height: MNIST_HEIGHT };
  return {
    train: { ...image, count: split, inputs: pixels.subarray(0, split * MNIST_PIXELS), labels: labels.subarray(0, split) },
    test: { ...image, count: 10_000 - split, inputs: pixels.subarray(split * MNIST_PIXELS), labels: labels.subarray(split) },
  };
}

function accuracy(kernels: Kernels): void {
  const { train, test } = digits();
  const runs: [string, TrainingConfigInput][] = [
    ['784-800-10 relu/softmax', { ...BENCH_800_CONFIG, shape: [784, 800, 10] }],
    ['784-30-10 sigmoid (defaults)', { shape: [784, 30, 10], activation: 'sigmoid', epochs: 10 }],
  ];
  for (const [name, input] of runs) {
    // Fixed epochs and nothing held out: the test digits are only ever scored, never used to stop or pick weights.
    const { config } = resolveTrainingConfig({ ...input, earlyStopping: null }, { trainCount: train.count });
    const trainer = new Trainer(config, train, null, { kernels });
    const perEpoch: string[] = [];
    const started = performance.now();
    trainer.run({ onEpoch: () => perEpoch.push((evaluate(trainer.network, test).accuracy * 100).toFixed(2)) });
    const final = evaluate(trainer.network, test);
    console.log(`accuracy ${name} on 2,000 held-out digits by epoch (%): ${perEpoch.join(' ')}`);
    console.log(`  final ${(final.accuracy * 100).toFixed(2)}% in ${((performance.now() - started) / 1000).toFixed(1)} s; config ${JSON.stringify(input)}`);
  }
}

/** MNIST-sized data made up in place: random pixels and labels (throughput does not depend on content). */
function generated(count: number): Dataset {
  const inputs = new Uint8Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let seed = 1;
  for (let i = 0; i < inputs.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    inputs[i] = seed >>> 24;
  }
  for (let i = 0; i < count; i++) labels[i] = i % 10;
  return { count, inputSize: MNIST_PIXELS, inputs, labels, targets: null, width: MNIST_WIDTH, height: MNIST_HEIGHT };
}

/** Forward, weight gradient and input gradient of both layers, plus the bias and softmax work, per sample. */
const FLOPS_PER_SAMPLE = 2 * 3 * (784 * 800 + 800 * 10) - 2 * 784 * 800;

/** The JSON line a peer prints, or null after saying why it failed. */
function peerResult(name: string, result: SpawnSyncReturns<string>): { samplesPerSecond: number } | null {
  const line = result.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (!line) {
    console.log(`  ${name}: failed (${(result.stderr ?? String(result.error)).trim().split('\n').pop()})`);
    return null;
  }
  return JSON.parse(line) as { samplesPerSecond: number };
}

function runTfjs(backend: keyof typeof PEER_BATCHES): { samplesPerSecond: number } | null {
  if (!existsSync(`${benchDir}node_modules/@tensorflow/tfjs`)) {
    console.log('installing the TensorFlow.js peers into bench/node_modules');
    spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: 'inherit' });
  }
  const args = [`${benchDir}tfjs-peer.mjs`, backend, String(PEER_BATCHES[backend]), '64'];
  return peerResult(`tfjs-${backend}`, spawnSync(process.execPath, args, { encoding: 'utf8' }));
}

/** PyTorch's version, or null where Debian's python3-torch is not installed. */
function torchVersion(): string | null {
  const result = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

interface EpochRun {
  kernels: string;
  samplesPerSecond: number;
  seconds: number;
}

/** One epoch of 784-800-10 relu, batch 64, SGD momentum over `data`: the issue's throughput configuration. */
function trainEpoch(kernels: Kernels, data: Dataset): EpochRun {
  const { config } = resolveTrainingConfig({
    shape: [784, 800, 10], optimizer: 'momentum', learningRate: 0.01, batchSize: 64, epochs: 1, l2: 0, schedule: { kind: 'constant' },
  }, { trainCount: data.count });
  const trainer = new Trainer(config, data, null, { kernels, stepReportEvery: 1_000_000 });
  let seconds = 0;
  trainer.run({ onEpoch: (report) => (seconds = report.seconds) });
  const run = { kernels: kernels.name, samplesPerSecond: data.count / seconds, seconds };
  console.log(
    `throughput 784-800-10 relu, batch 64, sgd momentum, ${data.count.toLocaleString('en')} generated samples, ${run.kernels}: ` +
      `${run.samplesPerSecond.toFixed(0)} samples/s, ${((run.samplesPerSecond * FLOPS_PER_SAMPLE) / 1e9).toFixed(2)} GFLOP/s, epoch ${seconds.toFixed(2)} s`,
  );
  return run;
}

/** `ours` against a peer's samples/s, for each of our runs. */
function ratios(peer: string, samplesPerSecond: number, ours: readonly EpochRun[]): string {
  return ours.map((run) => `${run.kernels} / ${peer} = ${(run.samplesPerSecond / samplesPerSecond).toFixed(2)}x`).join(', ');
}

async function throughput(): Promise<void> {
  const data = generated(THROUGHPUT_SAMPLES);
  const reference = trainEpoch(referenceKernels, data);
  const fast: EpochRun[] = [];
  let rss = 0;
  for (const threads of [1, 2]) {
    const chosen = await chooseKernels({ threads });
    fast.push(trainEpoch(chosen.kernels, data));
    rss = process.memoryUsage().rss;
    chosen.dispose();
  }
  const [one, two] = fast;
  console.log(`  scaling: ${two.kernels} / ${one.kernels} = ${(two.samplesPerSecond / one.samplesPerSecond).toFixed(2)}x (target ≥ 1.7x)`);
  console.log(
    `  RSS after the ${data.count.toLocaleString('en')}-sample run: ${(rss / MEGABYTE).toFixed(0)} MB, ` +
      `peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (target ≤ 300 MB)`,
  );
  const ours = [reference, ...fast];
  for (const backend of ['wasm', 'cpu'] as const) {
    const peer = runTfjs(backend);
    if (peer) console.log(`  tfjs-${backend}: ${peer.samplesPerSecond.toFixed(0)} samples/s; ${ratios(`tfjs-${backend}`, peer.samplesPerSecond, ours)}`);
  }
  const version = torchVersion();
  if (!version) {
    console.log(`  pytorch: not measured (${PYTHON} cannot import torch; Debian's python3-torch provides it)`);
    return;
  }
  for (const setup of TORCH_SETUPS) {
    const args = [`${benchDir}torch-peer.py`, String(THROUGHPUT_SAMPLES), '64'];
    const peer = peerResult(`pytorch ${setup.name}`, spawnSync(PYTHON, args, { encoding: 'utf8', env: { ...process.env, ...setup.env } }));
    if (peer) console.log(`  pytorch ${version}, ${setup.name}: ${peer.samplesPerSecond.toFixed(0)} samples/s; ${ratios('pytorch', peer.samplesPerSecond, fast)}`);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function predictLatency(kernels: Kernels): void {
  const { config } = resolveTrainingConfig({ shape: [784, 800, 10], epochs: 1 }, { trainCount: 256 });
  const trainer = new Trainer(config, generated(256), null, { kernels });
  const predictor = new Predictor(trainer.network);
  const sample = new Float32Array(MNIST_PIXELS).map((_, i) => (i % 7) / 7);
  for (let i = 0; i < 1000; i++) predictor.predict(sample);
  const times: number[] = [];
  for (let i = 0; i < PREDICT_CALLS; i++) {
    const started = process.hrtime.bigint();
    predictor.predict(sample);
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  times.sort((a, b) => a - b);
  const batch = new Float32Array(256 * MNIST_PIXELS).map((_, i) => (i % 11) / 11);
  predictor.predictBatch(batch, 256);
  const rounds = 50;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) predictor.predictBatch(batch, 256);
  const batchSeconds = (performance.now() - started) / 1000;
  console.log(
    `predict 784-800-10, ${kernels.name}: single sample median ${percentile(times, 0.5).toFixed(1)} µs, p99 ${percentile(times, 0.99).toFixed(1)} µs ` +
      `over ${PREDICT_CALLS} calls; batch-256 ${((rounds * 256) / batchSeconds).toFixed(0)} samples/s`,
  );
}

machine();
if (wanted('accuracy')) {
  // The kernels the service trains with; the reference kernels reach the same figures within noise, 10x slower.
  const chosen = await chooseKernels({});
  console.log(`accuracy on ${chosen.description}`);
  accuracy(chosen.kernels);
  chosen.dispose();
}
if (wanted('throughput')) await throughput();
if (wanted('predict')) {
  predictLatency(referenceKernels);
  // One thread per model is how the service predicts; a batch of 256 is large enough to split across two.
  for (const threads of [1, 2]) {
    const chosen = await chooseKernels({ threads });
    predictLatency(chosen.kernels);
    chosen.dispose();
  }
}
