import { z } from 'zod';
import { TRAINING_LIMITS } from '../core/index.js';
import type { JobRequest } from '../queue/job-schema.js';
import { registeredNameSchema } from '../models/model-schema.js';
import { idSchema } from '../storage/ids.js';
import { nextCursorSchema } from '../storage/paging.js';

/** Limits and defaults of a sweep, in one place. */
export const SWEEP_LIMITS = {
  maxTrials: 256,
  defaultRandomTrials: 16,
  maxConcurrent: 64,
  defaultConcurrent: 4,
  maxChoices: 64,
  maxReductionFactor: 8,
} as const;
export const ASHA_DEFAULTS = { minEpochs: 1, reductionFactor: 3 } as const;

/** Job fields a sweep may vary; every other field of POST /jobs is fixed by the sweep itself or its base. */
export const TUNABLE_FIELDS = [
  'shape', 'learningRate', 'activation', 'outputActivation', 'loss', 'init', 'optimizer', 'momentum', 'batchSize',
  'maxRestarts', 'l2', 'dropout', 'schedule', 'earlyStopping', 'augment', 'seed',
] as const satisfies readonly (keyof JobRequest)[];
/** What `base` may set: the tunable fields, plus the length and resources of every trial. */
export const BASE_FIELDS = [...TUNABLE_FIELDS, 'epochs', 'threads', 'maxRuntimeSeconds'] as const satisfies readonly (keyof JobRequest)[];
/** Fields that take a `{ min, max, log? }` range; the rest take choices. */
export const RANGE_FIELDS: ReadonlySet<string> = new Set(['learningRate', 'momentum', 'l2', 'dropout', 'batchSize']);
export const INTEGER_FIELDS: ReadonlySet<string> = new Set(['batchSize']);

const choicesSchema = z.strictObject({
  choices: z.array(z.json()).min(1).max(SWEEP_LIMITS.maxChoices).describe('Values to try, each a valid value of the job field'),
});
const rangeSchema = z.strictObject({
  min: z.number(),
  max: z.number(),
  log: z.boolean().optional().describe('Sample log-uniformly, as suits a learning rate or L2'),
}).refine((range) => range.min < range.max, { message: 'min must be below max' })
  .refine((range) => !range.log || range.min > 0, { message: 'a log range needs min above 0' });

export const searchSpaceSchema = z.partialRecord(z.enum(TUNABLE_FIELDS), z.union([choicesSchema, rangeSchema]))
  .superRefine((space, context) => {
    if (Object.keys(space).length === 0) context.addIssue({ code: 'custom', message: `name at least one field to vary, e.g. { "learningRate": { "min": 0.001, "max": 0.3, "log": true } }` });
    for (const [field, dimension] of Object.entries(space)) {
      if (!('choices' in dimension) && !RANGE_FIELDS.has(field)) {
        context.addIssue({ code: 'custom', path: [field], message: `${field} takes { "choices": [...] }; ranges are for ${[...RANGE_FIELDS].join(', ')}` });
      }
    }
  });

export type SearchSpace = z.infer<typeof searchSpaceSchema>;
export type SpaceValue = z.infer<ReturnType<typeof z.json>>;

export const SWEEP_METRICS = ['valAccuracy', 'valLoss'] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];

/** POST /sweeps. Each trial is the POST /jobs request `{ datasetId, validation, ...base, ...its values from space }`. */
export const sweepRequestSchema = z.strictObject({
  datasetId: idSchema('dataset'),
  validation: z.union([
    z.strictObject({ datasetId: idSchema('dataset') }),
    z.strictObject({ split: z.number().gt(0).max(TRAINING_LIMITS.maxValidationSplit) }),
  ]).optional().describe('What trials are ranked on: a validation dataset, or a fraction held out. Default: the jobs\' own default hold-out'),
  base: z.partialRecord(z.enum(BASE_FIELDS), z.unknown()).default({})
    .describe('Job fields every trial shares, as in POST /jobs; epochs is the most a trial runs'),
  space: searchSpaceSchema.describe('Per field, { "choices": [...] } or { "min", "max", "log"? }'),
  trials: z.int().min(1).max(SWEEP_LIMITS.maxTrials).optional()
    .describe(`How many trials. Default: every combination for a grid, ${SWEEP_LIMITS.defaultRandomTrials} for random`),
  strategy: z.enum(['grid', 'random']).default('random').describe('grid: every combination of choices, in order; random: seeded independent draws'),
  seed: z.int().min(0).max(TRAINING_LIMITS.maxSeed).default(1).describe('Seed of the random strategy: the same seed draws the same trials'),
  metric: z.enum(SWEEP_METRICS).default('valAccuracy').describe('What ranks the trials: validation accuracy (higher is better) or loss (lower)'),
  scheduler: z.enum(['asha', 'none']).default('asha').describe('asha stops trials that rank low at each rung; none runs every trial to its end'),
  asha: z.strictObject({
    minEpochs: z.int().min(1).default(ASHA_DEFAULTS.minEpochs).describe('Epochs before a trial is first judged'),
    reductionFactor: z.int().min(2).max(SWEEP_LIMITS.maxReductionFactor).default(ASHA_DEFAULTS.reductionFactor)
      .describe('η: each rung keeps the top 1/η, and rungs are η times apart'),
  }).default(ASHA_DEFAULTS),
  maxConcurrent: z.int().min(1).max(SWEEP_LIMITS.maxConcurrent).default(SWEEP_LIMITS.defaultConcurrent)
    .describe('Trials queued or running at once'),
  registerAs: registeredNameSchema.optional()
    .describe('When the sweep completes, the best trial\'s model becomes the next version of this registry name'),
}).superRefine((request, context) => {
  if (request.scheduler === 'asha') {
    const epochs = request.base.epochs;
    if (typeof epochs !== 'number') {
      context.addIssue({ code: 'custom', path: ['base', 'epochs'], message: 'ASHA needs the most epochs a trial may run: give base.epochs, e.g. 27' });
    } else if (epochs <= request.asha.minEpochs) {
      context.addIssue({ code: 'custom', path: ['asha', 'minEpochs'], message: `must be below base.epochs (${epochs}), or no trial is ever judged` });
    }
  }
});

export type SweepRequest = z.infer<typeof sweepRequestSchema>;

export const TRIAL_STATES = ['pending', 'running', 'pruned', 'completed', 'failed', 'cancelled'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];
export const SWEEP_STATES = ['running', 'completed', 'cancelled'] as const;

export const trialSchema = z.object({
  index: z.int().describe('Order of creation, from 0'),
  params: z.record(z.string(), z.json()).describe('The values this trial took from the space'),
  state: z.enum(TRIAL_STATES).describe('pruned: stopped early by the scheduler or for a hopeless diagnosis, keeping its model'),
  jobId: idSchema('job').nullable().describe('Its training job, once queued'),
  epochs: z.int().describe('Epochs it ran'),
  score: z.number().nullable().describe('Its best value of the sweep\'s metric'),
  rungs: z.array(z.object({ epoch: z.int(), value: z.number() })).describe('Its metric at each rung it reached'),
  stopped: z.object({ epoch: z.int(), reason: z.string() }).nullable().describe('Why the sweep stopped it early'),
  modelId: idSchema('model').nullable(),
  error: z.string().nullable(),
}).meta({ id: 'SweepTrial' });

export type Trial = z.infer<typeof trialSchema>;

/** What is stored: the request as parsed, and the trials in the order they were drawn. */
export const sweepRecordSchema = z.object({
  id: idSchema('sweep'),
  request: sweepRequestSchema,
  state: z.enum(SWEEP_STATES),
  rungs: z.array(z.int()).describe('Epochs at which ASHA judges a trial; empty without a scheduler'),
  trials: z.array(trialSchema),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  registered: z.object({ modelId: idSchema('model'), name: z.string(), version: z.int() }).nullable().default(null)
    .describe('The best trial\'s model as registered when the sweep completed, with registerAs'),
});

export type SweepRecord = z.infer<typeof sweepRecordSchema>;

export const sweepSchema = sweepRecordSchema.omit({ trials: true }).extend({
  leaderboard: z.array(trialSchema).describe('Every trial, best score first; trials without a score last, in order'),
  counts: z.record(z.enum(TRIAL_STATES), z.int()),
}).meta({ id: 'Sweep' });

export type Sweep = z.infer<typeof sweepSchema>;

export const sweepSummarySchema = sweepSchema.omit({ leaderboard: true }).extend({
  best: trialSchema.nullable().describe('The leader, when any trial has a score'),
});

export const sweepListSchema = z.object({
  sweeps: z.array(sweepSummarySchema),
  nextCursor: nextCursorSchema,
  total: z.int().describe('Sweeps on every page'),
});

export type SweepList = z.infer<typeof sweepListSchema>;
export const sweepParamsSchema = z.object({ id: idSchema('sweep') });
