import { z } from 'zod';
import { MAX_TRAINING_THREADS, type AppConfig } from '../config.js';
import {
  DEFAULT_EARLY_STOPPING, DEFAULT_IMAGE_AUGMENT, DEFAULT_LEARNING_RATES, MIN_AUGMENTED_IMAGE_SIDE, DEFAULT_STEP_BUDGET, DEFAULT_TRAINING, DEFAULT_VALIDATION_SPLIT,
  MAX_STALL_RESTARTS, MIN_DEFAULT_EPOCHS, MIN_SAMPLES_FOR_DEFAULT_VALIDATION, OPTIMIZERS,
  formatNumber, RESTART_MAX_SAMPLES, TRAINING_LIMITS, TRAINING_NOTE_CODES, WARNING_CODES, WARNING_SEVERITIES,
  type LearningRateSearch, type TrainingConfig, type TrainingNote,
} from '../core/index.js';
import { displayNameSchema, idSchema, integerTextSchema } from '../storage/ids.js';
import { nextCursorSchema, pageQuerySchema } from '../storage/paging.js';
import { registeredNameSchema } from '../models/model-schema.js';
import { augmentSchema, earlyStoppingSchema, MODEL_STOP_REASONS, networkRequestFields, scheduleSchema, trainingConfigSchema } from '../models/training-config-schema.js';
import { JOB_ERROR_CODES } from './job-errors.js';
import { REQUESTED_STOPS } from './stop-cause.js';
import { RUN_FIELD_IDS } from './run-fields.js';

export interface JobLimits {
  maxRuntimeSeconds: number;
  maxThreads: number;
}

/** The caps in POST /jobs (and in a sweep's trials) that come from the deployment's config. */
export function jobLimits(config: AppConfig): JobLimits {
  return { maxRuntimeSeconds: config.MAX_RUNTIME_SECONDS, maxThreads: config.TRAINING_THREADS ?? MAX_TRAINING_THREADS };
}

/** A whole number of epochs no run reaches: the real cap is MAX_TRAINING_SAMPLES, checked against the dataset's size. */
const EPOCHS_CEILING = 10_000_000;

const maxRuntimeSchema = (limits: JobLimits) => z.int().min(1).max(limits.maxRuntimeSeconds);

/** POST /jobs: a dataset, a shape (or a model to warm-start from), and any training option; unknown fields are refused. */
export function jobRequestSchema(limits: JobLimits) {
  return z
    .strictObject({
      datasetId: idSchema('dataset'),
      fromModelId: idSchema('model').optional()
        .describe('Warm start: begin from this model\'s weights instead of a fresh init. Its shape, activation, output and loss are used unless given (and must then match); fresh starts are off unless maxRestarts is given'),
      registerAs: registeredNameSchema.optional()
        .describe('Register the model this job makes as the next version of this name (MLflow\'s registered models)'),
      validationDatasetId: idSchema('dataset').optional(),
      validationSplit: z.number().min(0).max(TRAINING_LIMITS.maxValidationSplit).optional()
        .describe(`Fraction of the dataset held out, stratified by class, for validation. Default ${DEFAULT_VALIDATION_SPLIT} for datasets of ${MIN_SAMPLES_FOR_DEFAULT_VALIDATION} samples or more; 0 turns it off`),
      shape: networkRequestFields.shape.optional().describe('Layer widths from input to output, e.g. [784, 800, 10]. Required unless fromModelId gives it'),
      learningRate: z.union([
        z.number().positive().max(TRAINING_LIMITS.maxLearningRate, `must be at most ${formatNumber(TRAINING_LIMITS.maxLearningRate)}, the largest float32 (the kernels compute in float32)`),
        z.literal('auto'),
      ], { error: 'must be a positive number such as 0.05, or "auto"' }).optional()
        .describe(`A rate, or "auto" for a learning-rate range test before training. Default per optimizer: ${Object.entries(DEFAULT_LEARNING_RATES).map(([name, rate]) => `${name} ${rate}`).join(', ')}`),
      activation: networkRequestFields.activation,
      outputActivation: networkRequestFields.outputActivation,
      loss: networkRequestFields.loss,
      init: networkRequestFields.init,
      optimizer: z.enum(OPTIMIZERS).optional().meta({ default: DEFAULT_TRAINING.optimizer }),
      momentum: z.number().min(0).lt(TRAINING_LIMITS.momentumBelow).optional().meta({ default: DEFAULT_TRAINING.momentum }),
      batchSize: z.int().min(1).max(TRAINING_LIMITS.maxBatchSize).optional().meta({ default: DEFAULT_TRAINING.batchSize }),
      epochs: z.int().min(1).max(EPOCHS_CEILING).optional()
        .describe(`Most epochs to run. Default: a budget of about ${DEFAULT_STEP_BUDGET} steps (at least ${MIN_DEFAULT_EPOCHS} epochs), ended early once the loss stops improving; epochs x training samples may not exceed MAX_TRAINING_SAMPLES`),
      maxRestarts: z.int().min(0).max(MAX_STALL_RESTARTS).optional()
        .describe(`Fresh starts from new weights when a run stalls before fitting its training data. Default ${MAX_STALL_RESTARTS} for up to ${RESTART_MAX_SAMPLES} training samples, else 0`),
      l2: z.number().min(0).max(TRAINING_LIMITS.maxL2).optional().meta({ default: DEFAULT_TRAINING.l2 }),
      dropout: z.number().min(0).max(TRAINING_LIMITS.maxDropout).optional().meta({ default: DEFAULT_TRAINING.dropout }),
      schedule: scheduleSchema.optional().meta({ default: DEFAULT_TRAINING.schedule }),
      earlyStopping: earlyStoppingSchema.nullable().optional()
        .describe(`On validation loss, or training loss when nothing is held out. Default ${JSON.stringify(DEFAULT_EARLY_STOPPING)}; null turns it off`),
      augment: augmentSchema.nullable().optional()
        .describe(`Random shifts and rotations per batch, for byte images. Default ${JSON.stringify(DEFAULT_IMAGE_AUGMENT)} for images at least ${MIN_AUGMENTED_IMAGE_SIDE} pixels on a side; null turns it off`),
      seed: networkRequestFields.seed,
      threads: z.int().min(1).max(limits.maxThreads).optional().describe('Threads for the matrix kernels of this job. Default: the worker\'s cores shared between its concurrent jobs'),
      maxRuntimeSeconds: maxRuntimeSchema(limits).optional()
        .describe('Stop after this long, keeping the model trained so far. Default DEFAULT_RUNTIME_SECONDS'),
    })
    .refine((body) => body.validationDatasetId === undefined || body.validationSplit === undefined, {
      path: ['validationSplit'],
      message: 'give validationDatasetId or validationSplit, not both',
    })
    .refine((body) => body.shape !== undefined || body.fromModelId !== undefined, {
      path: ['shape'],
      message: 'give the layer widths, e.g. [784, 800, 10], or a fromModelId to take them from',
    });
}

/** POST /jobs/:id/resume: optionally, a new length or runtime for the rest of the run. */
export function resumeRequestSchema(limits: JobLimits) {
  return z.strictObject({
    epochs: z.int().min(1).max(EPOCHS_CEILING).optional()
      .describe('Most epochs for the whole run, counting those already done; the schedule stretches to fit'),
    maxRuntimeSeconds: maxRuntimeSchema(limits).optional()
      .describe('Runtime allowed from the resume on. Default: the job\'s own maxRuntimeSeconds'),
  }).nullable().transform((body) => body ?? {}).describe('May be left out: the run goes on as it was set up');
}

/** Most tags a run carries, and the longest name and tag, so a runs table stays readable. */
export const MAX_JOB_TAGS = 20;
const MAX_JOB_NAME_LENGTH = 100;
const MAX_JOB_TAG_LENGTH = 40;

const jobNameSchema = displayNameSchema(MAX_JOB_NAME_LENGTH);
/** A comma would be ambiguous in the dashboard's comma-separated tag field. */
const jobTagSchema = displayNameSchema(MAX_JOB_TAG_LENGTH).regex(/^[^,]+$/, 'a tag may not contain a comma');

/** PATCH /jobs/:id: a run's name and tags, which describe it and may change at any time, unlike its spec. */
export const jobLabelsRequestSchema = z
  .strictObject({
    name: jobNameSchema.nullable().optional().describe('A name for the run, as in MLflow\'s run names; null removes it'),
    tags: z.array(jobTagSchema).max(MAX_JOB_TAGS).optional()
      .describe(`Replaces the run's tags; duplicates are kept once, at most ${MAX_JOB_TAGS}`),
  })
  .refine((body) => body.name !== undefined || body.tags !== undefined, { message: 'give a name, tags or both' })
  .transform((body) => ({ ...body, ...(body.tags && { tags: [...new Set(body.tags)] }) }));

export type JobLabelsRequest = z.infer<typeof jobLabelsRequestSchema>;

export type JobRequest = z.infer<ReturnType<typeof jobRequestSchema>>;
export type ResumeRequest = z.infer<ReturnType<typeof resumeRequestSchema>>;

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/**
 * completed: ran every epoch; early_stopped: validation loss stopped improving; converged: training
 * loss stopped improving, with nothing held out; stopped: POST /jobs/:id/stop; max_runtime: its
 * runtime ran out. All of these keep a model; cancelled does not.
 */
export const STOP_REASONS = [...MODEL_STOP_REASONS, 'cancelled'] as const;
export type StopReason = (typeof STOP_REASONS)[number];
export type { ModelStopReason } from '../models/training-config-schema.js';
/** A job that ended for one of these has a checkpoint to go on from: POST /jobs/:id/resume. */
export const RESUMABLE_STOP_REASONS: readonly StopReason[] = ['stopped', 'max_runtime', 'cancelled'];

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

const bestMetricsSchema = z.object({
  trainLoss: z.number().optional(),
  trainAccuracy: z.number().optional(),
  valLoss: z.number().optional(),
  valAccuracy: z.number().optional(),
}).describe('The best of each metric over the epochs so far: the lowest finite losses and the highest accuracies, each from whichever epoch reached it');

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

/** A measure of weights or gradients that overflowed in a diverging run is not a number: JSON holds it as null. */
const measureSchema = z.number().nullable().describe('null where it was not finite: the weights or gradients overflowed');

const diagnosticsSchema = z.object({
  layers: z.array(z.object({
    layer: z.int(),
    gradientNorm: measureSchema,
    updateRatio: measureSchema,
    saturatedFraction: z.number().nullable(),
    deadFraction: z.number().nullable(),
    zRms: measureSchema,
  })),
  warnings: z.array(trainingWarningSchema).describe('Ranked: the first is the primary cause'),
});

/** Diagnostics as stored and answered: the core's, with what was not finite as null. */
export type StoredDiagnostics = z.infer<typeof diagnosticsSchema>;

export const jobErrorSchema = z.object({ code: z.enum(JOB_ERROR_CODES), message: z.string(), advice: z.string() });

export const trainingNoteSchema = z.object({
  code: z.enum(TRAINING_NOTE_CODES),
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
  fromModelId: idSchema('model').nullable().default(null).describe('The model whose weights the job started from, or null for a fresh init'),
  registerAs: z.string().nullable().default(null).describe('The registry name its model becomes the next version of'),
  config: trainingConfigSchema,
  threads: z.int().nullable().describe('Kernel threads asked for; null lets the worker choose'),
  maxRuntimeSeconds: z.int(),
  notes: z.array(trainingNoteSchema).describe('Defaults chosen for this job, in words'),
  createdAt: z.iso.datetime(),
});

export const jobSchema = jobSpecSchema
  .extend({
    state: z.enum(JOB_STATES),
    statusTransitions: z.array(transitionSchema),
    stopRequested: z.enum(REQUESTED_STOPS).nullable().describe('A cancel or stop asked for and not yet carried out'),
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
    resumedAt: z.iso.datetime().nullable().describe('When POST /jobs/:id/resume last sent it back to the queue; maxRuntimeSeconds counts from here'),
    finishedAt: z.iso.datetime().nullable(),
    name: z.string().nullable().describe('The run\'s name, set with PATCH /jobs/:id'),
    tags: z.array(z.string()).describe('The run\'s tags, set with PATCH /jobs/:id'),
    lastEpoch: epochRecordSchema.nullable().describe('The latest finished epoch\'s metrics, so a runs table needs no job\'s history'),
    bestMetrics: bestMetricsSchema.nullable(),
  })
  .meta({ id: 'Job' });

export const jobSummarySchema = jobSchema.omit({ history: true, diagnostics: true, checkpoints: true, statusTransitions: true });

/** Longest filter GET /jobs takes: a few dozen words. */
const MAX_JOB_FILTER_LENGTH = 500;
const fieldList = RUN_FIELD_IDS.join(', ');
export const jobListQuerySchema = pageQuerySchema.extend({
  cursor: z.string().max(1000).optional().describe('The nextCursor of the previous page, asked with the same sort, order, state and q'),
  state: z.enum(JOB_STATES).optional(),
  sort: z.enum(RUN_FIELD_IDS).default('createdAt').describe(`The field to order by (default createdAt): ${fieldList}. Runs without a value come last either way`),
  order: z.enum(['asc', 'desc']).default('desc'),
  q: z.string().max(MAX_JOB_FILTER_LENGTH).optional()
    .describe('Words every listed run must match, case-insensitive: `field:word` in that field (its id, or its title without spaces), any other word in some field; double quotes keep spaces and colons in one word; e.g. `relu optimizer:adam dataset:"digits 2024"`'),
});

export const jobListSchema = z.object({
  jobs: z.array(jobSummarySchema),
  nextCursor: nextCursorSchema,
  total: z.int().describe('Runs that match state and q, on every page'),
});

export const jobParamsSchema = z.object({ id: idSchema('job') });

export const HISTORY_DETAILS = ['none', 'epochs', 'steps'] as const;
export type HistoryDetail = (typeof HISTORY_DETAILS)[number];
export const jobGetQuerySchema = z.object({
  history: z.enum(HISTORY_DETAILS).default('steps')
    .describe('How much history to include: none, the epochs, or the epochs and every recorded step (default). A long run\'s steps are better read from GET /jobs/:id/history'),
});

/** Most step records one history read answers. */
const MAX_HISTORY_RECORDS = 10_000;
export const stepHistoryQuerySchema = z.object({
  from: integerTextSchema(0, Number.MAX_SAFE_INTEGER).default(0).describe('First step number to include (default 0)'),
  every: integerTextSchema(1, 1_000_000).default(1).describe('Keep every n-th recorded step (default 1: all)'),
  limit: integerTextSchema(1, MAX_HISTORY_RECORDS).default(1000).describe(`Most records to answer, up to ${MAX_HISTORY_RECORDS} (default 1000)`),
});
export const stepHistorySchema = z.object({
  steps: z.array(stepRecordSchema),
  total: z.int().describe('Recorded steps from `from` on, before thinning and the limit'),
});

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
export type BestMetrics = z.infer<typeof bestMetricsSchema>;
export type StepHistoryQuery = z.infer<typeof stepHistoryQuerySchema>;
