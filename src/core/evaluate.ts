import { BatchLoader } from './batch.js';
import type { Network } from './network.js';
import type { ClassMetrics, Dataset, Evaluation, FloatArray, Misclassified } from './types.js';

/** The class a row of outputs predicts: the argmax, or output > 0.5 for a single output. */
export function predictedClass(out: FloatArray, row: number, k: number): number {
  if (k === 1) return out[row] > 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < k; j++) if (out[row + j] > out[row + best]) best = j;
  return best;
}

/** Number of classes a network's outputs distinguish (two for a single 0/1 output). */
export const classCount = (outputSize: number): number => (outputSize === 1 ? 2 : outputSize);

/** What fitting a network needs to know of a dataset: its width, and its classes (null for regression targets) or target width. */
export interface DataShape {
  /** Named in messages, when the data has an id. */
  id?: string;
  inputSize: number;
  numClasses: number | null;
  targetSize: number | null;
}

/**
 * Why a network of this shape cannot train on (or be evaluated against) the data, in words that
 * say what to change; null when it fits. The one rule for datasets in memory and records alike.
 */
export function shapeMismatch(shape: readonly number[], data: DataShape): string | null {
  const inputs = shape[0];
  const outputs = shape[shape.length - 1];
  const name = data.id ? `dataset ${data.id}` : 'the dataset';
  if (inputs !== data.inputSize) {
    return `shape[0] is ${inputs} but ${name} has ${data.inputSize} values per sample; start the shape with ${data.inputSize}`;
  }
  if (data.numClasses === null) {
    return outputs === data.targetSize ? null
      : `the shape ends with ${outputs} outputs but ${name} has ${data.targetSize} target values per sample; end the shape with ${data.targetSize}`;
  }
  if (outputs === 1) {
    return data.numClasses <= 2 ? null
      : `a single output separates two classes, but ${name} has ${data.numClasses}; end the shape with ${data.numClasses}`;
  }
  // At least as many outputs as classes: a held-out share may lack the highest label.
  return outputs >= data.numClasses ? null
    : `the shape ends with ${outputs} outputs but ${name} has ${data.numClasses} classes (labels 0..${data.numClasses - 1}); end the shape with ${data.numClasses}`;
}

/** The shape of a dataset in memory: its classes are its highest label + 1. */
export function dataShape(data: Dataset): DataShape {
  if (!data.labels) return { inputSize: data.inputSize, numClasses: null, targetSize: data.count > 0 ? (data.targets?.length ?? 0) / data.count : 0 };
  let max = 0;
  for (let i = 0; i < data.count; i++) if (data.labels[i] > max) max = data.labels[i];
  return { inputSize: data.inputSize, numClasses: max + 1, targetSize: null };
}

/** Misclassified samples an evaluation lists by default; the count covers them all. */
export const DEFAULT_MISCLASSIFIED_LISTED = 100;

const ratio = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);

/**
 * Precision, recall and F1 per class from a confusion matrix (rows actual, columns predicted), and
 * their macro averages. A class never predicted has precision 0, and one never present recall 0,
 * as scikit-learn's zero_division=0 gives them.
 */
export function classMetrics(confusionMatrix: readonly (readonly number[])[]): Pick<Evaluation, 'perClass' | 'macro'> {
  const classes = confusionMatrix.length;
  const perClass = confusionMatrix.map((row, k) => {
    const truePositives = row[k];
    const support = row.reduce((sum, value) => sum + value, 0);
    let predicted = 0;
    for (let actual = 0; actual < classes; actual++) predicted += confusionMatrix[actual][k];
    const precision = ratio(truePositives, predicted);
    const recall = ratio(truePositives, support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const mean = (pick: (metrics: ClassMetrics) => number) => ratio(perClass.reduce((sum, metrics) => sum + pick(metrics), 0), classes);
  return { perClass, macro: { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) } };
}

/**
 * Mean loss, accuracy, confusion matrix (rows: actual class, columns: predicted), per-class
 * metrics and the first misclassified samples of a network on a dataset. `sampleIndexes` names
 * the samples as the caller knows them (e.g. their place in the whole dataset a split came from).
 */
export function evaluate(network: Network, data: Dataset, options: { sampleIndexes?: Uint32Array; misclassifiedListed?: number } = {}): Evaluation {
  const { sampleIndexes, misclassifiedListed = DEFAULT_MISCLASSIFIED_LISTED } = options;
  const misclassified: Misclassified[] = [];
  let misclassifiedCount = 0;
  const k = network.outputSize;
  const classes = classCount(k);
  const batchSize = network.maxBatch;
  const loader = new BatchLoader(data, network.input, k, batchSize, network.kernels);
  const gradientScratch = new Float32Array(batchSize * k);
  const confusionMatrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const order = new Uint32Array(data.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  let lossSum = 0;
  let correct = 0;
  const output = network.outputLayer;
  for (let start = 0; start < data.count; start += batchSize) {
    const batch = Math.min(batchSize, data.count - start);
    loader.fill(order, start, batch);
    const out = network.forward(batch);
    lossSum += network.head.lossAndGradient(gradientScratch, output.z, out, loader.target, batch, k);
    for (let b = 0; b < batch; b++) {
      const actual = predictedClass(loader.target, b * k, k);
      const predicted = predictedClass(out, b * k, k);
      confusionMatrix[actual][predicted]++;
      if (actual === predicted) {
        correct++;
      } else {
        misclassifiedCount++;
        if (misclassified.length < misclassifiedListed) misclassified.push({ index: sampleIndexes ? sampleIndexes[start + b] : start + b, actual, predicted });
      }
    }
  }
  const count = data.count;
  return {
    loss: count > 0 ? lossSum / count : 0, accuracy: count > 0 ? correct / count : 0, count, confusionMatrix,
    ...classMetrics(confusionMatrix), misclassified, misclassifiedCount,
  };
}
