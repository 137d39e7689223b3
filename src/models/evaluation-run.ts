import { evaluate, loadNetwork } from '../core/index.js';
import { decodeDataset } from '../data/dataset-file.js';
import type { EvaluationThreadInput, EvaluationThreadMessage } from './evaluation-messages.js';

/** Loss, accuracy and confusion matrix of a snapshot on a dataset; any failure becomes a message. */
export function evaluateSnapshot(input: EvaluationThreadInput): EvaluationThreadMessage {
  try {
    return { type: 'evaluated', evaluation: evaluate(loadNetwork(input.model), decodeDataset(input.dataset)) };
  } catch (error) {
    return { type: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
}
