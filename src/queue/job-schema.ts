import { z } from 'zod';
import {
  HIDDEN_ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, OUTPUT_ACTIVATIONS,
  type Diagnostics, type TrainingConfig,
} from '../core/index.js';
import { idSchema } from '../storage/ids.js';

/** Layers beyond the input; deeper MLPs do not train well without tricks the core does not have. */
const MAX_LAYERS = 16;
const MAX_BATCH_SIZE = 4096;
const MAX_SEED = 2 ** 32 - 1;

const initSchema = z.strictObject({
  kind: z.enum(INITS),
  low: z.number().optional(),
  high: z.number().optional(),
  bias: z.number().optional().describe('Constant every bias starts at (default 0)'),
});

const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({ kind: z.literal('step'), everyEpochs: z.int().min(1), gamma: z.number().gt(0).max(1) }),
  z.strictObject({ kind: z.literal('cosine'), minLearningRate: z.number().min(0) }),
]);

const earlyStoppingSchema = z.strictObject({
  patience: z.int().min(1),
  minDelta: z.number().min(0),
  restoreBest: z.boolean(),
});

const augmentSchema = z.strictObject({
  maxShift: z.int().min(0).max(8),
  maxRotationDegrees: z.number().min(0).max(45),
});

/** The core's TrainingConfig as the API shows it; `satisfies` keeps the two in step. */
export const trainingConfigSchema = z
  .object({
    shape: z.array(z.int()),
    activation: z.enum(HIDDEN_ACTIVATIONS),
    outputActivation: z.enum(OUTPUT_ACTIVATIONS),
    loss: z.enum(LOSSES),
    init: initSchema,
    optimizer: z.enum(OPTIMIZERS),
    learningRate: z.number(),
    momentum: z.number(),
    batchSize: z.int(),
    epochs: z.int(),
    l2: z.number(),
    dropout: z.number(),
    schedule: scheduleSchema,
    earlyStopping: earlyStoppingSchema.nullable(),
    augment: augmentSchema.nullable(),
    seed: z.int(),
  })
  .meta({ id: 'TrainingConfig' }) satisfies z.ZodType<TrainingConfig>;

export interface JobLimits {
  maxEpochs: number;
  maxRuntimeSeconds: number;
  maxThreads: number;
}

/** POST /jobs: a dataset, a shape, and any training option; unknown fields are refused. */
export function jobRequestSchema(limits: JobLimits) {
  return z
    .strictObject({
      datasetId: idSchema('dataset'),
      validationDatasetId: idSchema('dataset').optional(),
      validationSplit: z.number().min(0).max(0.5).optional().describe('Fraction of the dataset held out for validation'),
      shape: z.array(z.int().min(1)).min(2).max(MAX_LAYERS + 1).describe('Layer widths from input to output, e.g. [784, 800, 10]'),
      learningRate: z.number().positive().optional().describe('Default depends on the optimizer (0.05 for momentum)'),
      activation: z.enum(HIDDEN_ACTIVATIONS).optional(),
      outputActivation: z.enum(OUTPUT_ACTIVATIONS).optional(),
      loss: z.enum(LOSSES).optional(),
      init: z.union([z.enum(INITS).transform((kind) => ({ kind })), initSchema]).optional(),
      optimizer: z.enum(OPTIMIZERS).optional(),
      momentum: z.number().min(0).lt(1).optional(),
      batchSize: z.int().min(1).max(MAX_BATCH_SIZE).optional(),
      epochs: z.int().min(1).max(limits.maxEpochs).optional(),
      l2: z.number().min(0).max(1).optional(),
      dropout: z.number().min(0).max(0.9).optional(),
      schedule: scheduleSchema.optional(),
      earlyStopping: earlyStoppingSchema.nullable().optional(),
      augment: augmentSchema.nullable().optional(),
      seed: z.int().min(0).max(MAX_SEED).optional(),
      threads: z.int().min(1).max(limits.maxThreads).optional().describe('Threads for the matrix kernels of this job'),
      maxRuntimeSeconds: z.int().min(1).max(limits.maxRuntimeSeconds).optional()
        .describe('Stop after this long, keeping the model trained so far'),
    })
    .refine((body) => body.validationDatasetId === undefined || body.validationSplit === undefined, {
      path: ['validationSplit'],
      message: 'give validationDatasetId or validationSplit, not both',
    });
}

export type JobRequest = z.infer<ReturnType<typeof jobRequestSchema>>;

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

export const STOP_REASONS = ['completed', 'early_stopped', 'max_runtime', 'cancelled'] as const;

const transitionSchema = z.object({
  state: z.enum(JOB_STATES),
  at: z.iso.datetime(),
  reason: z.string().optional(),
  resumedFromEpoch: z.int().optional().describe('Set when a run continues from a checkpoint'),
});

const progressSchema = z.object({
  epoch: z.int().describe('Epoch in progress, from 1'),
  epochs: z.int(),
  step: z.int().describe('Steps taken in the whole run'),
  stepsPerEpoch: z.int(),
  loss: z.number().nullable(),
  samplesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
});

const stepRecordSchema = z.object({ step: z.int(), epoch: z.int(), loss: z.number(), learningRate: z.number() });

const epochRecordSchema = z.object({
  epoch: z.int(),
  trainLoss: z.number(),
  trainAccuracy: z.number(),
  valLoss: z.number().optional(),
  valAccuracy: z.number().optional(),
  seconds: z.number(),
  samplesPerSecond: z.number(),
  learningRate: z.number(),
});

export const checkpointRecordSchema = z.object({
  epoch: z.int().describe('Epochs completed when the checkpoint was taken'),
  step: z.int(),
  bytes: z.int(),
  createdAt: z.iso.datetime(),
  key: z.string(),
});

const diagnosticsSchema = z.object({
  layers: z.array(z.object({
    layer: z.int(),
    gradientNorm: z.number(),
    updateRatio: z.number(),
    saturatedFraction: z.number().nullable(),
    deadFraction: z.number().nullable(),
  })),
  warnings: z.array(z.string()),
}) satisfies z.ZodType<Diagnostics>;

export const jobErrorSchema = z.object({ code: z.string(), message: z.string(), advice: z.string() });

/** What is fixed when a job is created. */
export const jobSpecSchema = z.object({
  id: idSchema('job'),
  datasetId: idSchema('dataset'),
  validationDatasetId: idSchema('dataset').nullable(),
  validationSplit: z.number().nullable(),
  config: trainingConfigSchema,
  threads: z.int(),
  maxRuntimeSeconds: z.int().nullable(),
  createdAt: z.iso.datetime(),
});

export const jobSchema = jobSpecSchema
  .extend({
    state: z.enum(JOB_STATES),
    statusTransitions: z.array(transitionSchema),
    cancelRequested: z.boolean(),
    progress: progressSchema.nullable(),
    history: z.object({ steps: z.array(stepRecordSchema), epochs: z.array(epochRecordSchema) }),
    diagnostics: diagnosticsSchema.nullable(),
    bestAccuracy: z.number().nullable()
      .describe('Best validation accuracy over the epochs so far, or training accuracy when the job has no validation data; null before the first epoch'),
    modelId: idSchema('model').nullable(),
    stopReason: z.enum(STOP_REASONS).nullable(),
    checkpoints: z.array(checkpointRecordSchema.omit({ key: true })),
    error: jobErrorSchema.nullable(),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Job' });

export const jobSummarySchema = jobSchema.omit({ history: true, diagnostics: true, checkpoints: true, statusTransitions: true });

export const jobListQuerySchema = z.object({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d+$/, 'must be the nextCursor of a previous page').optional(),
});

export const jobListSchema = z.object({
  jobs: z.array(jobSummarySchema),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
});

export const jobParamsSchema = z.object({ id: idSchema('job') });

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type Job = z.infer<typeof jobSchema>;
export type JobSummary = z.infer<typeof jobSummarySchema>;
export type JobTransition = z.infer<typeof transitionSchema>;
export type JobProgress = z.infer<typeof progressSchema>;
export type StepRecord = z.infer<typeof stepRecordSchema>;
export type EpochRecord = z.infer<typeof epochRecordSchema>;
export type CheckpointRecord = z.infer<typeof checkpointRecordSchema>;
export type JobError = z.infer<typeof jobErrorSchema>;
export type JobListQuery = z.infer<typeof jobListQuerySchema>;
