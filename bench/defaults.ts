/**
 * `npm run bench:defaults`: what a job given only a shape (or a shape and a learning rate) reaches,
 * run the way the worker runs it: 10% of the training digits held out, stratified, for early
 * stopping, the wasm kernels, and accuracy measured on digits the job never saw. The peer in the
 * same run is learningRate "auto" against the hand-picked per-optimizer default. Prints figures;
 * it is not a test. `node dist/bench/defaults.js xor digits deep` picks sections (deep takes minutes).
 */
import { cpus, totalmem } from 'node:os';
import {
  Trainer, defaultValidationSplit, evaluate, resolveTrainingConfig, type Dataset, type Kernels, type TrainingConfigInput,
} from '../src/core/index.js';
import { splitDataset } from '../src/data/split.js';
import { chooseKernels } from '../src/kernels/choose-kernels.js';
import { loadMnistDigits, MNIST_HEIGHT, MNIST_PIXELS, MNIST_WIDTH } from '../test/helpers/mnist.js';

const sections = process.argv.slice(2);
const wanted = (name: string): boolean => sections.length === 0 || sections.includes(name);
const XOR_SEEDS = 20;
const XOR_RATES: (number | 'auto' | undefined)[] = [undefined, 0.1, 0.5, 1, 'auto'];
const TRAIN_DIGITS = 8_000;
const DEEP_SHAPE = [784, 2500, 2000, 1500, 1000, 500, 10];

const xor: Dataset = {
  count: 4, inputSize: 2, inputs: Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]), labels: Uint8Array.from([0, 1, 1, 0]), targets: null,
};

interface RunResult {
  accuracy: number;
  seconds: number;
  epochs: number;
  reason: string;
  restarts: number;
  learningRate: number;
  warnings: string[];
}

/** One job as the worker runs it: the default hold-out, the defaults for the rest, then the untouched test digits. */
function runJob(input: TrainingConfigInput, data: Dataset, test: Dataset | null, kernels: Kernels): RunResult {
  const split = defaultValidationSplit(data.count);
  const { train, validation } = split > 0 ? splitDataset(data, split, input.seed ?? 1) : { train: data, validation: null };
  const { config } = resolveTrainingConfig(input, { trainCount: train.count, width: data.width, height: data.height });
  const started = performance.now();
  const trainer = new Trainer(config, train, validation, { kernels });
  const outcome = trainer.run();
  const seconds = (performance.now() - started) / 1000;
  return {
    accuracy: evaluate(trainer.network, test ?? data).accuracy,
    seconds,
    epochs: outcome.epochsCompleted,
    reason: outcome.reason,
    restarts: outcome.restarts,
    learningRate: trainer.config.learningRate,
    warnings: trainer.diagnostics.warnings.map((warning) => warning.code),
  };
}

function xorSection(kernels: Kernels): void {
  console.log(`\nXOR [2, 2, 1], ${XOR_SEEDS} seeds each; learned = all four outputs on the right side of 0.5`);
  console.log('learningRate | learned | fresh starts | epochs (median) | time per job (median)');
  for (const learningRate of XOR_RATES) {
    const results = Array.from({ length: XOR_SEEDS }, (_, i) => runJob({ shape: [2, 2, 1], learningRate, seed: i + 1 }, xor, null, kernels));
    const learned = results.filter((result) => result.accuracy === 1).length;
    const restarts = results.reduce((sum, result) => sum + result.restarts, 0);
    console.log(
      `${String(learningRate ?? 'not given').padEnd(12)} | ${learned}/${XOR_SEEDS}   | ${String(restarts).padEnd(12)} | ` +
        `${median(results.map((r) => r.epochs))} | ${(median(results.map((r) => r.seconds)) * 1000).toFixed(1)} ms`,
    );
  }
}

function digitData(): { train: Dataset; test: Dataset } {
  const { pixels, labels, count } = loadMnistDigits(10_000, 1);
  const image = { inputSize: MNIST_PIXELS, targets: null, width: MNIST_WIDTH, height: MNIST_HEIGHT };
  return {
    train: { ...image, count: TRAIN_DIGITS, inputs: pixels.subarray(0, TRAIN_DIGITS * MNIST_PIXELS), labels: labels.subarray(0, TRAIN_DIGITS) },
    test: { ...image, count: count - TRAIN_DIGITS, inputs: pixels.subarray(TRAIN_DIGITS * MNIST_PIXELS), labels: labels.subarray(TRAIN_DIGITS) },
  };
}

function digitsSection(shapes: number[][], kernels: Kernels): void {
  const { train, test } = digitData();
  console.log(`\nnpm digits, stratified ${TRAIN_DIGITS} / ${test.count}; each job holds out 10% of its ${TRAIN_DIGITS} for early stopping`);
  console.log('shape | learningRate | test accuracy | epochs | stop | time | warnings');
  for (const shape of shapes) {
    const hand = runJob({ shape }, train, test, kernels);
    const auto = runJob({ shape, learningRate: 'auto' }, train, test, kernels);
    for (const [name, result] of [['default', hand], ['auto', auto]] as const) {
      console.log(
        `[${shape.join(', ')}] | ${name} (${result.learningRate}) | ${(result.accuracy * 100).toFixed(2)}% | ${result.epochs} | ` +
          `${result.reason} | ${result.seconds.toFixed(1)} s | ${result.warnings.join(', ') || 'none'}`,
      );
    }
    console.log(
      `  auto against default: accuracy ${((auto.accuracy - hand.accuracy) * 100).toFixed(2)} points, time ${(auto.seconds / hand.seconds).toFixed(2)}x`,
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
const chosen = await chooseKernels({ threads: cpu.length });
console.log(`kernels: ${chosen.description}`);
try {
  if (wanted('xor')) xorSection(chosen.kernels);
  if (wanted('digits')) digitsSection([[784, 16, 16, 10], [784, 30, 10], [784, 800, 10]], chosen.kernels);
  if (wanted('deep')) digitsSection([DEEP_SHAPE], chosen.kernels);
} finally {
  chosen.dispose();
}
