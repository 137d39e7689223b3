import { evaluate, loadNetwork, type Evaluation } from '../core/index.js';
import { decodeDataset } from '../data/dataset-file.js';
import { pick, splitIndexes } from '../data/split.js';
import { chooseKernels } from '../kernels/choose-kernels.js';
import type { EvaluationThreadInput } from './evaluation-messages.js';

// A long-lived thread of the evaluation pool: it picks its kernels once, and every evaluation it runs uses them.
const kernels = await chooseKernels({ threads: 1 });

/**
 * The evaluation of a snapshot on a dataset, or on the share of it a job held out; misclassified
 * samples are named by their index in the whole dataset either way, so GET /datasets/:id/samples shows them.
 */
export default function evaluateSnapshot(input: EvaluationThreadInput): Evaluation {
  const dataset = decodeDataset(input.dataset);
  const network = loadNetwork(input.model, { kernels: kernels.kernels });
  if (!input.heldOut) return evaluate(network, dataset);
  const { validation } = splitIndexes(dataset, input.heldOut.fraction, input.heldOut.trainingSeed);
  return evaluate(network, pick(dataset, validation), { sampleIndexes: validation });
}
