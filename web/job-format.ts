import type { EpochRecord, Job, JobState, JobSummary } from './api-types.js';
import { formatDuration, formatNumber, formatPercent, h } from './dom.js';

/** Each state has its own symbol and word, so the badge reads the same without colour. */
const STATE_SYMBOLS: Record<JobState, string> = {
  queued: '⏳',
  running: '▶',
  completed: '✓',
  failed: '✗',
  cancelled: '⊘',
};

const FINISHED: readonly JobState[] = ['completed', 'failed', 'cancelled'];

export const isFinished = (state: JobState): boolean => FINISHED.includes(state);

export function stateBadge(state: JobState): HTMLElement {
  return h('span', { class: `state state-${state}` }, h('span', { 'aria-hidden': 'true' }, STATE_SYMBOLS[state]), state);
}

export const shapeText = (shape: number[]): string => shape.join('–');

/** A job in a few words, for legends and lists: `lr 0.05 · momentum · 784–128–10`. */
export function jobLabel(job: JobSummary): string {
  return `lr ${learningRateText(job)} · ${job.config.optimizer} · ${shapeText(job.config.shape)}`;
}

/** The rate as submitted, and the one a range test picked for "auto". */
export function learningRateText(job: JobSummary): string {
  const { learningRate } = job.config;
  if (learningRate !== 'auto') return formatNumber(learningRate);
  return job.learningRateSearch ? `auto → ${formatNumber(job.learningRateSearch.chosen)}` : 'auto';
}

export const shortId = (id: string): string => id.slice(0, 10);

/** Progress bar plus "epoch 3 of 10 · 1,200 samples/s · 40 s left" for a running job. */
export function progressView(job: JobSummary): HTMLElement {
  const progress = job.progress;
  if (job.state === 'completed') return h('span', {}, `${job.progress?.epoch ?? job.config.epochs} of up to ${job.config.epochs} epochs`);
  if (!progress) return h('span', { class: 'progress-text' }, job.state === 'queued' ? 'waiting for a worker' : '–');
  const total = progress.epochs * progress.stepsPerEpoch;
  const words = [
    `epoch ${progress.epoch} of ${progress.epochs}`,
    job.state === 'running' && `${Math.round(progress.samplesPerSecond).toLocaleString()} samples/s`,
    job.state === 'running' && progress.etaSeconds !== null && `${formatDuration(progress.etaSeconds)} left`,
  ].filter(Boolean).join(' · ');
  return h('span', {},
    h('progress', { max: total, value: Math.min(progress.step, total), 'aria-label': `Training progress: ${words}` }),
    h('span', { class: 'progress-text' }, words));
}

export interface BestAccuracy {
  value: number;
  kind: 'validation' | 'training';
}

/** The service's headline accuracy: validation accuracy of the epoch the model keeps, or training accuracy when nothing was held out. */
export function listedBestAccuracy(job: JobSummary): BestAccuracy | null {
  return job.bestAccuracy === null ? null : { value: job.bestAccuracy, kind: job.accuracyKind };
}

export function bestAccuracyText(best: BestAccuracy | null): string {
  if (!best) return '–';
  return `${formatPercent(best.value)} (${best.kind})`;
}

/**
 * The step losses against the epoch, so runs with different batch sizes line up: step 150
 * of 100-step epochs sits at x = 1.5, between the ends of epochs 1 and 2 (x = 1 and x = 2).
 * A run that failed before it reported its progress (a divergence in its first epoch) has no
 * steps per epoch: its steps are spread evenly over the epoch they belong to, up to the blow-up.
 */
export function stepLossPoints(job: Job): [number, number][] {
  const steps = job.history.steps;
  const stepsPerEpoch = job.progress?.stepsPerEpoch;
  if (stepsPerEpoch) return steps.map((step) => [step.step / stepsPerEpoch, step.loss]);
  const perEpoch = new Map<number, number>();
  for (const step of steps) perEpoch.set(step.epoch, (perEpoch.get(step.epoch) ?? 0) + 1);
  const seen = new Map<number, number>();
  return steps.map((step) => {
    const nth = (seen.get(step.epoch) ?? 0) + 1;
    seen.set(step.epoch, nth);
    return [step.epoch - 1 + nth / perEpoch.get(step.epoch)!, step.loss];
  });
}

/** A run's name when it has one, else its short id. */
export const runName = (job: JobSummary): string => job.name ?? shortId(job.id);

/** A config value in words: objects as their fields (`kind cosine, minLearningRate 0`), null as "off". */
function settingText(value: unknown): string {
  if (value === null || value === undefined) return 'off';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return Object.entries(value).map(([key, inner]) => `${key} ${settingText(inner)}`).join(', ');
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

/** Every setting of a job as [name, words], in the config's own order: the job page lists them, and compare keeps those that differ. */
export function jobSettings(job: JobSummary): [string, string][] {
  const { learningRate: _rate, ...rest } = job.config;
  return [
    ['learningRate', learningRateText(job)],
    ...Object.entries(rest).map(([name, value]): [string, string] => [name, settingText(value)]),
    ['validation', job.validationDatasetId ? `dataset ${job.validationDatasetId}` : job.validationSplit ? `${formatPercent(job.validationSplit)} held out` : 'none'],
    ['fromModelId', job.fromModelId ?? 'none (fresh init)'],
    ['registerAs', job.registerAs ?? 'not registered'],
    ['threads', job.threads === null ? 'chosen by the worker' : String(job.threads)],
    ['maxRuntimeSeconds', formatDuration(job.maxRuntimeSeconds)],
  ];
}
