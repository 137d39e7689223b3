import { BatchLoader } from './batch.js';
import type { Network } from './network.js';
import type { Dataset, Evaluation, FloatArray } from './types.js';

/** The class a row of outputs predicts: the argmax, or output > 0.5 for a single output. */
export function predictedClass(out: FloatArray, row: number, k: number): number {
  if (k === 1) return out[row] > 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < k; j++) if (out[row + j] > out[row + best]) best = j;
  return best;
}

/** Number of classes a network's outputs distinguish (two for a single 0/1 output). */
export const classCount = (outputSize: number): number => (outputSize === 1 ? 2 : outputSize);

/** Checks that a dataset fits a network's input and output layers; returns a message or null. */
export function datasetMismatch(data: Dataset, inputSize: number, outputSize: number): string | null {
  if (data.inputSize !== inputSize) {
    return `the dataset has ${data.inputSize} inputs per sample but the network's first layer has ${inputSize}`;
  }
  if (data.labels) {
    const classes = classCount(outputSize);
    let max = 0;
    for (let i = 0; i < data.count; i++) if (data.labels[i] > max) max = data.labels[i];
    if (max >= classes) {
      return outputSize === 1
        ? `a one-output network needs 0/1 labels, but the dataset has label ${max}`
        : `the dataset has label ${max} but the network's last layer has only ${outputSize} outputs (labels 0..${outputSize - 1})`;
    }
  } else if (!data.targets || data.targets.length !== data.count * outputSize) {
    return `the dataset's targets do not have ${outputSize} values per sample, as the network's last layer needs`;
  }
  return null;
}

/** Mean loss, accuracy and confusion matrix (rows: actual class, columns: predicted) of a network on a dataset. */
export function evaluate(network: Network, data: Dataset): Evaluation {
  const k = network.outputSize;
  const classes = classCount(k);
  const batchSize = network.maxBatch;
  const loader = new BatchLoader(data, network.input, k, batchSize);
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
      if (actual === predicted) correct++;
    }
  }
  const count = data.count;
  return { loss: count > 0 ? lossSum / count : 0, accuracy: count > 0 ? correct / count : 0, count, confusionMatrix };
}
