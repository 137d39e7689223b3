import { evaluate, loadNetwork } from '../core/index.js';
import { decodeDataset } from '../data/dataset-file.js';
import { splitDataset } from '../data/split.js';
import type { EvaluationThreadInput, EvaluationThreadMessage } from './evaluation-messages.js';

/** Loss, accuracy and confusion matrix of a snapshot on a dataset, or on its held-out share; any failure becomes a message. */
export function evaluateSnapshot(input: EvaluationThreadInput): EvaluationThreadMessage {
  try {
    const dataset = decodeDataset(input.dataset);
    const samples = input.heldOut ? splitDataset(dataset, input.heldOut.fraction, input.heldOut.trainingSeed).validation : dataset;
    return { type: 'evaluated', evaluation: evaluate(loadNetwork(input.model), samples) };
  } catch (error) {
    return { type: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
}
