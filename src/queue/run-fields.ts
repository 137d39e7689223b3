import type { JobSummary } from './job-schema.js';

/** A run's value in one field, for sorting and filtering; null when it has none (yet). */
export type RunValue = number | string | null;

/** What a field's value may depend on beyond the run itself. */
export interface RunFieldContext {
  /** The clock a running job's duration counts to. */
  now: number;
  /** Dataset names by id; a dataset field matches its id and its name. */
  datasetNames: ReadonlyMap<string, string>;
}

interface RunField {
  title: string;
  value: (job: JobSummary, context: RunFieldContext) => RunValue;
}

/** How long the run has trained: to its end, or to now while it runs; null before it starts. */
export function runSeconds(job: JobSummary, now = Date.now()): number | null {
  if (!job.startedAt) return null;
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  return Math.max(0, (end - Date.parse(job.startedAt)) / 1000);
}

const learningRate = (job: JobSummary): number | null =>
  (job.config.learningRate === 'auto' ? job.learningRateSearch?.chosen ?? null : job.config.learningRate);

const finite = (value: number | undefined | null): number | null => (value === undefined || value === null || !Number.isFinite(value) ? null : value);

/**
 * The fields a runs table shows, sorts and filters by, in the order it shows them: identity,
 * every hyperparameter, the last and best metrics, duration and state. GET /jobs sorts and
 * filters by these on the server; the dashboard takes its columns' titles and values from here.
 */
export const RUN_FIELDS = {
  run: { title: 'Run', value: (job) => job.name ?? job.id },
  state: { title: 'State', value: (job) => job.state },
  tags: { title: 'Tags', value: (job) => job.tags.join(' ') },
  dataset: { title: 'Dataset', value: (job, { datasetNames }) => `${datasetNames.get(job.datasetId) ?? ''} ${job.datasetId}`.trim() },
  shape: { title: 'Shape', value: (job) => job.config.shape.join('–') },
  activation: { title: 'Activation', value: (job) => job.config.activation },
  optimizer: { title: 'Optimizer', value: (job) => job.config.optimizer },
  learningRate: { title: 'Learning rate', value: learningRate },
  batchSize: { title: 'Batch', value: (job) => job.config.batchSize },
  epochs: { title: 'Epochs', value: (job) => job.config.epochs },
  momentum: { title: 'Momentum', value: (job) => job.config.momentum },
  l2: { title: 'L2', value: (job) => job.config.l2 },
  dropout: { title: 'Dropout', value: (job) => job.config.dropout },
  schedule: { title: 'Schedule', value: (job) => job.config.schedule.kind },
  init: { title: 'Init', value: (job) => job.config.init.kind },
  loss: { title: 'Loss function', value: (job) => job.config.loss },
  outputActivation: { title: 'Output', value: (job) => job.config.outputActivation },
  seed: { title: 'Seed', value: (job) => job.config.seed },
  progress: { title: 'Progress', value: (job) => job.progress?.step ?? 0 },
  trainLoss: { title: 'Train loss', value: (job) => finite(job.lastEpoch?.trainLoss) },
  valLoss: { title: 'Validation loss', value: (job) => finite(job.lastEpoch?.valLoss) },
  trainAccuracy: { title: 'Train accuracy', value: (job) => finite(job.lastEpoch?.trainAccuracy) },
  valAccuracy: { title: 'Validation accuracy', value: (job) => finite(job.lastEpoch?.valAccuracy) },
  bestTrainLoss: { title: 'Best train loss', value: (job) => finite(job.bestMetrics?.trainLoss) },
  bestValLoss: { title: 'Best validation loss', value: (job) => finite(job.bestMetrics?.valLoss) },
  bestTrainAccuracy: { title: 'Best train accuracy', value: (job) => finite(job.bestMetrics?.trainAccuracy) },
  bestValAccuracy: { title: 'Best validation accuracy', value: (job) => finite(job.bestMetrics?.valAccuracy) },
  bestAccuracy: { title: 'Model accuracy', value: (job) => job.bestAccuracy },
  duration: { title: 'Duration', value: (job, { now }) => runSeconds(job, now) },
  createdAt: { title: 'Created', value: (job) => job.createdAt },
} satisfies Record<string, RunField>;

export type RunFieldId = keyof typeof RUN_FIELDS;
export const RUN_FIELD_IDS = Object.keys(RUN_FIELDS) as [RunFieldId, ...RunFieldId[]];

const text = (value: RunValue): string => (value === null ? '' : String(value).toLowerCase());

/** One word of a runs filter: the field it must appear in (its id or title without spaces), or null for any field. */
export interface FilterWord {
  field: string | null;
  text: string;
}

/**
 * The words of a runs filter, lower-cased: `optimizer:adam` is one field's word, `adam` any
 * field's. Double quotes keep spaces and colons in one word, as in `dataset:"digits 2024"` or
 * `"12:30"`; a quote left open runs to the end of the filter.
 */
export function filterWords(filter: string): FilterWord[] {
  const words = filter.toLowerCase().matchAll(/(?:([^\s":]+):)?(?:"([^"]*)"?|([^\s"]+))/g);
  return [...words]
    .map(([, field, phrase, word]) => ({ field: field ?? null, text: phrase ?? word }))
    .filter(({ text }) => text !== '');
}

/** Whether a run matches every word: a field's word must appear in that field, any other word in some field. */
export function runMatches(job: JobSummary, words: readonly FilterWord[], context: RunFieldContext): boolean {
  const fields = Object.entries(RUN_FIELDS) as [RunFieldId, RunField][];
  return words.every(({ field: name, text: wanted }) => {
    const candidates = name === null
      ? fields
      : fields.filter(([id, field]) => id.toLowerCase() === name || field.title.toLowerCase().replaceAll(' ', '') === name);
    return candidates.some(([, field]) => text(field.value(job, context)).includes(wanted));
  });
}

/** Orders two values: nulls last in either direction, numbers by size, texts by code point. */
export function compareRunValues(a: RunValue, b: RunValue, descending: boolean): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const order = a < b ? -1 : a > b ? 1 : 0;
  return descending ? -order : order;
}
