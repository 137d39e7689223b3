import { setTimeout as sleep } from 'node:timers/promises';
import type { Diagnostics, EpochReport, StepReport, TrainingConfig } from '../core/index.js';
import type { CheckpointRecord, EpochRecord, JobProgress, StepRecord } from './job-schema.js';
import type { HistoryBatch, JobEvent, JobStore } from './job-store.js';

/** How long a write waits for Redis to come back before the run gives up on this attempt. */
const REDIS_OUTAGE_GRACE_MS = 60_000;
const REDIS_RETRY_DELAY_MS = 1_000;

function progressOf(config: TrainingConfig, epoch: number, step: number, stepsPerEpoch: number, loss: number | null, samplesPerSecond: number): JobProgress {
  const remainingSamples = Math.max(0, config.epochs * stepsPerEpoch - step) * config.batchSize;
  return {
    epoch, epochs: config.epochs, step, stepsPerEpoch, loss, samplesPerSecond,
    etaSeconds: samplesPerSecond > 0 ? remainingSamples / samplesPerSecond : null,
  };
}

/**
 * Gathers a run's step and epoch records and writes them in batches: at most one Redis round
 * trip every `flushIntervalMs`, and always before a checkpoint is listed and at the end. A batch
 * that cannot be written stays in memory and is tried again until Redis answers, so an outage
 * leaves no hole in the history.
 */
export class ProgressRecorder {
  private steps: StepRecord[] = [];
  private epochs: EpochRecord[] = [];
  private events: JobEvent[] = [];
  private progress: JobProgress | null = null;
  private diagnostics: Diagnostics | null = null;
  private lastFlush = -Infinity;

  constructor(
    private readonly jobs: JobStore,
    private readonly jobId: string,
    private readonly config: TrainingConfig,
    private readonly flushIntervalMs: number,
  ) {}

  async step(report: StepReport): Promise<void> {
    const step: StepRecord = { step: report.step, epoch: report.epoch, loss: report.loss, learningRate: report.learningRate };
    this.progress = progressOf(this.config, report.epoch, report.step, report.stepsPerEpoch, report.loss, report.samplesPerSecond);
    if (report.diagnostics) this.diagnostics = report.diagnostics;
    this.steps.push(step);
    this.events.push({ type: 'step', step, progress: this.progress });
    await this.flushIfDue();
  }

  async epoch(report: EpochReport, stepsPerEpoch: number, checkpoint: CheckpointRecord | null): Promise<void> {
    const { epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, seconds, samplesPerSecond, learningRate, diagnostics } = report;
    const record: EpochRecord = { epoch, trainLoss, trainAccuracy, ...(valLoss !== undefined && { valLoss, valAccuracy }), seconds, samplesPerSecond, learningRate };
    this.progress = progressOf(this.config, epoch, epoch * stepsPerEpoch, stepsPerEpoch, trainLoss, samplesPerSecond);
    this.diagnostics = diagnostics;
    this.epochs.push(record);
    this.events.push({ type: 'epoch', epoch: record, progress: this.progress, diagnostics });
    if (checkpoint) await this.flush(checkpoint);
    else await this.flushIfDue();
  }

  private async flushIfDue(): Promise<void> {
    if (performance.now() - this.lastFlush >= this.flushIntervalMs) await this.flush(null);
  }

  /** Writes everything gathered so far, with the checkpoint it leads up to; retries through a Redis outage. */
  async flush(checkpoint: CheckpointRecord | null): Promise<void> {
    const batch: HistoryBatch = {
      steps: this.steps, epochs: this.epochs, events: this.events, progress: this.progress, diagnostics: this.diagnostics, checkpoint,
    };
    if (batch.steps.length + batch.epochs.length === 0 && !checkpoint) return;
    const giveUpAt = performance.now() + REDIS_OUTAGE_GRACE_MS;
    for (;;) {
      try {
        // A write that failed may have landed all the same, its reply lost with the connection:
        // appendHistory() then changes nothing.
        await this.jobs.appendHistory(this.jobId, batch);
        break;
      } catch (error) {
        if (performance.now() >= giveUpAt) throw error;
        await sleep(REDIS_RETRY_DELAY_MS);
      }
    }
    this.steps = [];
    this.epochs = [];
    this.events = [];
    this.lastFlush = performance.now();
  }
}
