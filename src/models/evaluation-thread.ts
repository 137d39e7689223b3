import { evaluate, loadNetwork, type Evaluation } from '../core/index.js';
import { decodeDataset } from '../data/dataset-file.js';
import { splitDataset } from '../data/split.js';
import { chooseKernels } from '../kernels/choose-kernels.js';
import type { EvaluationThreadInput } from './evaluation-messages.js';

// A long-lived thread of the evaluation pool: it picks its kernels once, and every evaluation it runs uses them.
const kernels = await chooseKernels({ threads: 1 });

/** Loss, accuracy and confusion matrix of a snapshot on a dataset, or on the share of it a job held out. */
export default function evaluateSnapshot(input: EvaluationThreadInput): Evaluation {
  const dataset = decodeDataset(input.dataset);
  const samples = input.heldOut ? splitDataset(dataset, input.heldOut.fraction, input.heldOut.trainingSeed).validation : dataset;
  return evaluate(loadNetwork(input.model, { kernels: kernels.kernels }), samples);
}
