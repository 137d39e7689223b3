import type { GradientCheckResult, InitConfig, ModelConfig } from '../core/index.js';

/** What the gradient-check thread is started with; the dataset's bytes are transferred. */
export interface GradientCheckThreadInput {
  /** A dataset in the compact on-disk format. */
  dataset: Uint8Array;
  model: ModelConfig;
  init: InitConfig;
  seed: number;
  batch: number;
  sampleParameters: number;
}

export type GradientCheckThreadMessage =
  | { type: 'checked'; result: GradientCheckResult }
  | { type: 'failed'; message: string };
