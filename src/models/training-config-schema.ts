import { z } from 'zod';
import { DEFAULT_TRAINING, HIDDEN_ACTIVATIONS, INITS, LOSSES, NARROW_HIDDEN_WIDTH, OPTIMIZERS, OUTPUT_ACTIVATIONS, TRAINING_LIMITS, type TrainingConfig } from '../core/index.js';

// The core's TrainingConfig as the API shows it, shared by job and model records.

/** Why a run that keeps a model ended; a job may also end cancelled, with no model. */
export const MODEL_STOP_REASONS = ['completed', 'early_stopped', 'converged', 'stopped', 'max_runtime'] as const;
export type ModelStopReason = (typeof MODEL_STOP_REASONS)[number];

export const initSchema = z.strictObject({
  kind: z.enum(INITS),
  low: z.number().optional(),
  high: z.number().optional(),
  bias: z.number().optional().describe('Constant every bias starts at (default 0)'),
});

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({ kind: z.literal('step'), everyEpochs: z.int().min(1), gamma: z.number().gt(0).max(1) }),
  z.strictObject({ kind: z.literal('cosine'), minLearningRate: z.number().min(0) }),
]);

export const earlyStoppingSchema = z.strictObject({
  patience: z.int().min(1),
  minDelta: z.number().min(0),
  restoreBest: z.boolean(),
});

export const augmentSchema = z.strictObject({
  maxShift: z.int().min(0).max(TRAINING_LIMITS.maxShift),
  maxRotationDegrees: z.number().min(0).max(TRAINING_LIMITS.maxRotationDegrees),
});

/** `satisfies` keeps the schema and the core's type in step. */
export const trainingConfigSchema = z
  .object({
    shape: z.array(z.int()),
    activation: z.enum(HIDDEN_ACTIVATIONS),
    outputActivation: z.enum(OUTPUT_ACTIVATIONS),
    loss: z.enum(LOSSES),
    init: initSchema,
    optimizer: z.enum(OPTIMIZERS),
    learningRate: z.union([z.number(), z.literal('auto')]),
    momentum: z.number(),
    batchSize: z.int(),
    epochs: z.int(),
    maxRestarts: z.int(),
    l2: z.number(),
    dropout: z.number(),
    schedule: scheduleSchema,
    earlyStopping: earlyStoppingSchema.nullable(),
    augment: augmentSchema.nullable(),
    seed: z.int(),
  })
  .meta({ id: 'TrainingConfig' }) satisfies z.ZodType<TrainingConfig>;


/**
 * The request fields that fix a network and its initial weights, in the forms POST /jobs and
 * POST /gradcheck both take; what is left out takes the core's defaults.
 */
export const networkRequestFields = {
  shape: z.array(z.int().min(1)).min(2).max(TRAINING_LIMITS.maxLayers + 1).describe('Layer widths from input to output, e.g. [784, 800, 10]'),
  activation: z.enum(HIDDEN_ACTIVATIONS).optional()
    .describe(`Hidden-layer activation. Default ${DEFAULT_TRAINING.activation}, or tanh when a hidden layer is narrower than ${NARROW_HIDDEN_WIDTH} units`),
  outputActivation: z.enum(OUTPUT_ACTIVATIONS).optional(),
  loss: z.enum(LOSSES).optional(),
  init: z.union([z.enum(INITS).transform((kind) => ({ kind })), initSchema]).optional(),
  seed: z.int().min(0).max(TRAINING_LIMITS.maxSeed).optional().meta({ default: DEFAULT_TRAINING.seed }),
};
