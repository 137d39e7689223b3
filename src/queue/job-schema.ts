import { z } from 'zod';
import {
  DEFAULT_EARLY_STOPPING, DEFAULT_IMAGE_AUGMENT, DEFAULT_LEARNING_RATES, MIN_AUGMENTED_IMAGE_SIDE, DEFAULT_STEP_BUDGET, DEFAULT_TRAINING, DEFAULT_VALIDATION_SPLIT, HIDDEN_ACTIVATIONS,
  INITS, LOSSES, MAX_STALL_RESTARTS, MIN_DEFAULT_EPOCHS, MIN_SAMPLES_FOR_DEFAULT_VALIDATION, NARROW_HIDDEN_WIDTH, OPTIMIZERS,
  OUTPUT_ACTIVATIONS, RESTART_MAX_SAMPLES, WARNING_CODES, WARNING_SEVERITIES,
  type Diagnostics, type LearningRateSearch, type TrainingConfig, type TrainingNote,
} from '../core/index.js';
import { idSchema, integerTextSchema } from '../storage/ids.js';

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

export interface JobLimits {
  maxRuntimeSeconds: number;
  maxThreads: number;
}

/** A whole number of epochs no run reaches: the real cap is MAX_TRAINING_SAMPLES, checked against the dataset's size. */
const EPOCHS_CEILING = 10_000_000;

/** POST /jobs: a dataset, a shape, and any training option; unknown fields are refused. */
export function jobRequestSchema(limits: JobLimits) {
  return z
    .strictObject({
      datasetId: idSchema('dataset'),
      validationDatasetId: idSchema('dataset').optional(),
      validationSplit: z.number().min(0).max(0.5).optional()
        .describe(`Fraction of the dataset held out, stratified by class, for validation. Default ${DEFAULT_VALIDATION_SPLIT} for datasets of ${MIN_SAMPLES_FOR_DEFAULT_VALIDATION} samples or more; 0 turns it off`),
      shape: z.array(z.int().min(1)).min(2).max(MAX_LAYERS + 1).describe('Layer widths from input to output, e.g. [784, 800, 10]'),
      learningRate: z.union([z.number().positive(), z.literal('auto')]).optional()
        .describe(`A rate, or "auto" for a learning-rate range test before training. Default per optimizer: ${Object.entries(DEFAULT_LEARNING_RATES).map(([name, rate]) => `${name} ${rate}`).join(', ')}`),
      activation: z.enum(HIDDEN_ACTIVATIONS).optional()
        .describe(`Hidden-layer activation. Default ${DEFAULT_TRAINING.activation}, or tanh when a hidden layer is narrower than ${NARROW_HIDDEN_WIDTH} units`),
      outputActivation: z.enum(OUTPUT_ACTIVATIONS).optional(),
      loss: z.enum(LOSSES).optional(),
      init: z.union([z.enum(INITS).transform((kind) => ({ kind })), initSchema]).optional(),
      optimizer: z.enum(OPTIMIZERS).optional(),
      momentum: z.number().min(0).lt(1).optional(),
      batchSize: z.int().min(1).max(MAX_BATCH_SIZE).optional().describe(`Default ${DEFAULT_TRAINING.batchSize}`),
      epochs: z.int().min(1).max(EPOCHS_CEILING).optional()
        .describe(`Most epochs to run. Default: a budget of about ${DEFAULT_STEP_BUDGET} steps (at least ${MIN_DEFAULT_EPOCHS} epochs), ended early once the loss stops improving; epochs x training samples may not exceed MAX_TRAINING_SAMPLES`),
      maxRestarts: z.int().min(0).max(MAX_STALL_RESTARTS).optional()
        .describe(`Fresh starts from new weights when a run stalls before fitting its training data. Default ${MAX_STALL_RESTARTS} for up to ${RESTART_MAX_SAMPLES} training samples, else 0`),
      l2: z.number().min(0).max(1).optional(),
      dropout: z.number().min(0).max(0.9).optional(),
      schedule: scheduleSchema.optional(),
      earlyStopping: earlyStoppingSchema.nullable().optional()
        .describe(`On validation loss, or training loss when nothing is held out. Default ${JSON.stringify(DEFAULT_EARLY_STOPPING)}; null turns it off`),
      augment: augmentSchema.nullable().optional()
        .describe(`Random shifts and rotations per batch, for byte images. Default ${JSON.stringify(DEFAULT_IMAGE_AUGMENT)} for images at least ${MIN_AUGMENTED_IMAGE_SIDE} pixels on a side; null turns it off`),
      seed: z.int().min(0).max(MAX_SEED).optional(),
      threads: z.int().min(1).max(limits.maxThreads).optional().describe('Threads for the matrix kernels of this job'),
      maxRuntimeSeconds: z.int().min(1).max(limits.maxRuntimeSeconds).optional()
        .describe('Stop after this long, keeping the model trained so far. Default DEFAULT_RUNTIME_SECONDS'),
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

/** completed: ran every epoch; early_stopped: validation loss stopped improving; converged: training loss stopped improving, with nothing held out. */
export const STOP_REASONS = ['completed', 'early_stopped', 'converged', 'max_runtime', 'cancelled'] as const;

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

const suggestionSchema = z.union([
  z.number(), z.string(), z.boolean(), z.null(), z.array(z.number()), z.record(z.string(), z.union([z.number(), z.string()])),
]);

export const trainingWarningSchema = z.object({
  code: z.enum(WARNING_CODES),
  severity: z.enum(WARNING_SEVERITIES),
  message: z.string().describe('What was measured, in plain words'),
  advice: z.string().describe('What to change, starting from what the job submitted'),
  field: z.string().optional().describe('The request field the advice changes'),
  suggestion: suggestionSchema.optional().describe('The value the advice suggests for that field'),
}).meta({ id: 'TrainingWarning' });

const diagnosticsSchema = z.object({
  layers: z.array(z.object({
    layer: z.int(),
    gradientNorm: z.number(),
    updateRatio: z.number(),
    saturatedFraction: z.number().nullable(),
    deadFraction: z.number().nullable(),
    zRms: z.number(),
  })),
  warnings: z.array(trainingWarningSchema).describe('Ranked: the first is the primary cause'),
}) satisfies z.ZodType<Diagnostics>;

export const jobErrorSchema = z.object({ code: z.string(), message: z.string(), advice: z.string() });

export const trainingNoteSchema = z.object({
  code: z.enum(['EPOCHS_FROM_BUDGET', 'TANH_FOR_NARROW_LAYERS', 'AUGMENT_FOR_IMAGES', 'VALIDATION_HELD_OUT', 'NO_VALIDATION', 'LEARNING_RATE_FOUND', 'RESTARTED']),
  message: z.string(),
}) satisfies z.ZodType<TrainingNote>;

export const learningRateSearchSchema = z.object({
  chosen: z.number(),
  lowestLossAt: z.number(),
  curve: z.array(z.object({ learningRate: z.number(), loss: z.number() })),
}).meta({ id: 'LearningRateSearch' }) satisfies z.ZodType<LearningRateSearch>;

/** What is fixed when a job is created. */
export const jobSpecSchema = z.object({
  id: idSchema('job'),
  datasetId: idSchema('dataset'),
  validationDatasetId: idSchema('dataset').nullable(),
  validationSplit: z.number().nullable(),
  config: trainingConfigSchema,
  threads: z.int(),
  maxRuntimeSeconds: z.int(),
  notes: z.array(trainingNoteSchema).describe('Defaults chosen for this job, in words'),
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
      .describe('Validation accuracy of the best epoch (the one the model keeps), or training accuracy when the job holds out nothing (see accuracyKind); null before the first epoch'),
    accuracyKind: z.enum(['validation', 'training']).describe('What bestAccuracy measures'),
    notes: z.array(trainingNoteSchema).describe('Defaults chosen for this job and what the run did on its own (a range test, fresh starts), in words'),
    learningRateSearch: learningRateSearchSchema.nullable().describe('The range test, when learningRate was "auto"'),
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
  limit: integerTextSchema(1, 100).default(20),
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
