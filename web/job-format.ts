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
 */
export function stepLossPoints(job: Job): [number, number][] {
  const stepsPerEpoch = job.progress?.stepsPerEpoch;
  if (!stepsPerEpoch) return [];
  return job.history.steps.map((step) => [step.step / stepsPerEpoch, step.loss]);
}
