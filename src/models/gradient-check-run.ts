import { gradientCheck } from '../core/index.js';
import { decodeDataset } from '../data/dataset-file.js';
import type { GradientCheckThreadInput, GradientCheckThreadMessage } from './gradient-check-messages.js';

/** Backprop against finite differences on a seeded batch of the dataset's samples; any failure becomes a message. */
export function checkGradients(input: GradientCheckThreadInput): GradientCheckThreadMessage {
  try {
    const { model, init, seed, batch, sampleParameters } = input;
    return { type: 'checked', result: gradientCheck(model, { init, seed, batch, sampleParameters, samples: decodeDataset(input.dataset) }) };
  } catch (error) {
    return { type: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
}
