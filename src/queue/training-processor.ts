import { UnrecoverableError, WaitingError, type Job as BullJob } from 'bullmq';
import { Worker as Thread } from 'node:worker_threads';
import type { Logger } from 'pino';
import { formatNumber, formatPercent, readSnapshotHeader, type EpochReport, type LearningRateSearch, type StepReport, type TrainingConfig, type TrainingOutcome } from '../core/index.js';
import type { AppConfig } from '../config.js';
import { datasetBlobKey } from '../data/dataset-service.js';
import type { DatasetStore } from '../data/dataset-store.js';
import type { ModelStore } from '../models/model-store.js';
import { BlobNotFoundError, readBlob, type BlobStore } from '../storage/blob-store.js';
import { newId } from '../storage/ids.js';
import type { CheckpointRecord, JobError, JobProgress, JobSpec, STOP_REASONS } from './job-schema.js';
import { finishJob } from './job-lifecycle.js';
import type { JobStore } from './job-store.js';
import { STOP_FLAG, type ThreadFailure, type TrainingThreadInput, type TrainingThreadMessage } from './thread-messages.js';
import type { TrainingJobData } from './training-queue.js';

/** The abort reason the worker gives every running job when it shuts down; any other reason is a cancel. */
export const SHUTDOWN_REASON = 'worker shutting down';

const TRAINING_THREAD_URL = new URL('./training-thread.js', import.meta.url);
const EPOCH_DIGITS = 5;
const STEP_DIGITS = 10;

export interface TrainingProcessorDeps {
  config: AppConfig;
  blobs: BlobStore;
  jobs: JobStore;
  datasets: DatasetStore;
  models: ModelStore;
  log: Logger;
}

/** How a run in the training thread ended, once every message before it is handled. */
type RunEnd =
  | { kind: 'finished'; message: Extract<TrainingThreadMessage, { type: 'finished' }> }
  | { kind: 'failed'; failure: ThreadFailure };

const checkpointKey = (jobId: string, epoch: number, step: number): string =>
  `checkpoints/${jobId}/${String(epoch).padStart(EPOCH_DIGITS, '0')}-${String(step).padStart(STEP_DIGITS, '0')}.ckpt`;

type ModelStopReason = Exclude<(typeof STOP_REASONS)[number], 'cancelled'>;


/** Why a completed run ended, in words for the job's last transition. */
function stopExplanation(spec: JobSpec, outcome: TrainingOutcome, stopReason: ModelStopReason): string {
  const kept = spec.config.earlyStopping?.restoreBest && outcome.bestEpoch !== null ? `; the model keeps the weights of epoch ${outcome.bestEpoch}, its best` : '';
  const restarts = outcome.restarts > 0 ? ` after ${outcome.restarts} fresh start${outcome.restarts === 1 ? '' : 's'}` : '';
  switch (stopReason) {
    case 'max_runtime':
      return `stopped after maxRuntimeSeconds (${spec.maxRuntimeSeconds} s) at epoch ${outcome.epochsCompleted}${restarts}${kept}`;
    case 'early_stopped':
      return `stopped at epoch ${outcome.epochsCompleted} of ${spec.config.epochs}${restarts}: the validation loss had stopped improving${kept}`;
    case 'converged':
      return `converged at epoch ${outcome.epochsCompleted} of ${spec.config.epochs}${restarts}: the training loss had stopped improving${kept}`;
    case 'completed':
      return `ran all ${spec.config.epochs} epochs${restarts}${kept}`;
  }
}

function progressOf(config: TrainingConfig, epoch: number, step: number, stepsPerEpoch: number, loss: number | null, samplesPerSecond: number): JobProgress {
  const remainingSamples = Math.max(0, config.epochs * stepsPerEpoch - step) * config.batchSize;
  return {
    epoch, epochs: config.epochs, step, stepsPerEpoch, loss, samplesPerSecond,
    etaSeconds: samplesPerSecond > 0 ? remainingSamples / samplesPerSecond : null,
  };
}

/**
 * Runs one BullMQ job: reads its spec, resumes from its last checkpoint if it has one, and
 * trains in a thread of its own while this event loop keeps renewing the BullMQ lock and
 * writes progress, history, checkpoints and the final model.
 */
export class TrainingProcessor {
  constructor(private readonly deps: TrainingProcessorDeps) {}

  async process(job: BullJob<TrainingJobData>, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const { jobs, datasets } = this.deps;
    const spec = await jobs.spec(job.data.jobId);
    if (!spec) throw new UnrecoverableError(`job ${job.data.jobId} has no record`);
    const log = this.deps.log.child({ jobId: spec.id, attempt: job.attemptsMade + 1 });

    if (await jobs.isCancelRequested(spec.id)) {
      await finishJob(jobs, datasets, spec, { from: ['queued', 'running'], to: 'cancelled', reason: 'cancelled before it started', fields: { stopReason: 'cancelled' } });
      return;
    }
    const resumeFrom = await this.latestCheckpoint(spec.id);
    if (resumeFrom) await jobs.rewindHistory(spec.id, resumeFrom.record);
    const startedAt = await jobs.markStarted(spec.id);
    const running = await jobs.transition(spec.id, {
      from: ['queued', 'running'],
      to: 'running',
      ...(resumeFrom && { reason: `resumed from the checkpoint after epoch ${resumeFrom.record.epoch}, step ${resumeFrom.record.step}`, resumedFromEpoch: resumeFrom.record.epoch }),
    });
    if (!running) return;

    const input = await this.threadInput(spec, resumeFrom?.bytes ?? null, startedAt);
    const stopFlag = new Int32Array(input.stopFlag);
    const stop = () => Atomics.store(stopFlag, 0, signal?.reason === SHUTDOWN_REASON ? STOP_FLAG.shutdown : STOP_FLAG.cancel);
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });

    log.info({ resumedFromEpoch: resumeFrom?.record.epoch ?? null }, 'training started');
    const end = await this.runThread(spec, input, job, stopFlag, log);
    await this.conclude(spec, end, job, token, log);
  }

  private async latestCheckpoint(jobId: string): Promise<{ record: CheckpointRecord; bytes: Buffer } | null> {
    const records = await this.deps.jobs.checkpoints(jobId);
    for (const record of records.reverse()) {
      try {
        return { record, bytes: await readBlob(this.deps.blobs, record.key) };
      } catch (error) {
        if (!(error instanceof BlobNotFoundError)) throw error;
      }
    }
    return null;
  }

  private async threadInput(spec: JobSpec, checkpoint: Buffer | null, startedAt: string): Promise<TrainingThreadInput> {
    const load = async (datasetId: string): Promise<Uint8Array> => {
      try {
        return Uint8Array.from(await readBlob(this.deps.blobs, datasetBlobKey(datasetId)));
      } catch (error) {
        if (!(error instanceof BlobNotFoundError)) throw error;
        const message = `dataset ${datasetId} is gone from storage`;
        await this.failForGood(spec, { code: 'BAD_DATASET', message, advice: 'Upload it again and submit a new job.' });
        throw new UnrecoverableError(message);
      }
    };
    return {
      config: spec.config,
      train: await load(spec.datasetId),
      validation: spec.validationDatasetId ? await load(spec.validationDatasetId) : null,
      validationSplit: spec.validationSplit ?? 0,
      checkpoint: checkpoint && Uint8Array.from(checkpoint),
      stopFlag: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      deadlineMs: spec.maxRuntimeSeconds === null ? null : Date.parse(startedAt) + spec.maxRuntimeSeconds * 1000,
      stepReportEvery: this.deps.config.STEP_REPORT_EVERY,
      progressIntervalMs: this.deps.config.PROGRESS_INTERVAL_MS,
      checkpointIntervalMs: this.deps.config.CHECKPOINT_INTERVAL_MS,
      threads: spec.threads,
    };
  }

  /** Starts the thread and handles its messages in order; resolves when it has exited. */
  private runThread(spec: JobSpec, input: TrainingThreadInput, job: BullJob<TrainingJobData>, stopFlag: Int32Array, log: Logger): Promise<RunEnd> {
    const transfer = [input.train, input.validation, input.checkpoint].flatMap((bytes) => (bytes ? [bytes.buffer as ArrayBuffer] : []));
    const thread = new Thread(TRAINING_THREAD_URL, { workerData: input, transferList: transfer });
    let stepsPerEpoch = 1;
    let handled: Promise<unknown> = Promise.resolve();
    let end: RunEnd | null = null;

    const handle = async (message: TrainingThreadMessage): Promise<void> => {
      switch (message.type) {
        case 'started':
          stepsPerEpoch = message.stepsPerEpoch;
          log.info({ kernels: message.kernels, trainCount: message.trainCount, validationCount: message.validationCount }, 'training thread ready');
          if (message.learningRateSearch) await this.recordLearningRateSearch(spec, message.learningRateSearch);
          return;
        case 'restarted':
          await this.deps.jobs.addRunNote(spec.id, {
            code: 'RESTARTED',
            message: `fresh start ${message.restart.restarts} from new initial weights after epoch ${message.restart.epoch}: the run had stalled at ${formatPercent(message.restart.trainAccuracy)} training accuracy (loss ${formatNumber(message.restart.trainLoss)}), short of fitting its training data`,
          });
          return;
        case 'step':
          await this.recordStep(spec, message.report, stopFlag);
          return;
        case 'epoch':
          await this.recordEpoch(spec, message.report, message.checkpoint, stepsPerEpoch, job);
          return;
        case 'finished':
          end = { kind: 'finished', message };
          return;
        case 'failed':
          end = { kind: 'failed', failure: message.failure };
          return;
      }
    };

    return new Promise((resolve) => {
      thread.on('message', (message: TrainingThreadMessage) => {
        handled = handled.then(() => handle(message)).catch((error: unknown) => {
          log.error({ err: error }, 'could not record training progress');
          Atomics.store(stopFlag, 0, STOP_FLAG.shutdown);
          end ??= { kind: 'failed', failure: { code: 'TRAINING_CRASHED', message: `Progress could not be saved: ${(error as Error).message}`, advice: 'The job is retried from its last checkpoint.', retryable: true } };
        });
      });
      thread.on('error', (error) => {
        end ??= { kind: 'failed', failure: { code: 'TRAINING_CRASHED', message: `The training thread crashed: ${error.message}`, advice: 'The job is retried from its last checkpoint.', retryable: true } };
      });
      thread.on('exit', (code) => {
        void handled.then(() => {
          resolve(end ?? { kind: 'failed', failure: { code: 'TRAINING_CRASHED', message: `The training thread exited with code ${code} before finishing`, advice: 'The job is retried from its last checkpoint.', retryable: true } });
        });
      });
    });
  }

  /** A step record; also notices a cancel whose Redis message this worker missed. */
  private async recordStep(spec: JobSpec, report: StepReport, stopFlag: Int32Array): Promise<void> {
    const progress = progressOf(spec.config, report.epoch, report.step, report.stepsPerEpoch, report.loss, report.samplesPerSecond);
    await this.deps.jobs.recordStep(spec.id, { step: report.step, epoch: report.epoch, loss: report.loss, learningRate: report.learningRate }, progress, report.diagnostics);
    if (Atomics.load(stopFlag, 0) === STOP_FLAG.run && (await this.deps.jobs.isCancelRequested(spec.id))) {
      Atomics.store(stopFlag, 0, STOP_FLAG.cancel);
    }
  }

  private async recordLearningRateSearch(spec: JobSpec, search: LearningRateSearch): Promise<void> {
    await this.deps.jobs.setLearningRateSearch(spec.id, search);
    await this.deps.jobs.addRunNote(spec.id, {
      code: 'LEARNING_RATE_FOUND',
      message: `learningRate ${formatNumber(search.chosen)}, from a range test over ${search.curve.length} steps: the loss fell fastest up to about ${formatNumber(search.lowestLossAt)}, and a tenth of that is used`,
    });
  }

  private async recordEpoch(spec: JobSpec, report: EpochReport, checkpoint: Uint8Array | null, stepsPerEpoch: number, job: BullJob<TrainingJobData>): Promise<void> {
    const record = checkpoint && (await this.saveCheckpoint(spec.id, checkpoint));
    const { epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, seconds, samplesPerSecond, learningRate } = report;
    const progress = progressOf(spec.config, epoch, epoch * stepsPerEpoch, stepsPerEpoch, trainLoss, samplesPerSecond);
    await this.deps.jobs.recordEpoch(
      spec.id,
      { epoch, trainLoss, trainAccuracy, ...(valLoss !== undefined && { valLoss, valAccuracy }), seconds, samplesPerSecond, learningRate },
      progress,
      report.diagnostics,
      record,
    );
    if (record) await this.pruneCheckpoints(spec.id);
    await job.updateProgress({ epoch, epochs: report.epochs, trainLoss });
  }

  private async saveCheckpoint(jobId: string, bytes: Uint8Array): Promise<CheckpointRecord> {
    const { training } = readSnapshotHeader(bytes);
    const epoch = training?.epochsCompleted ?? 0;
    const step = training?.step ?? 0;
    const key = checkpointKey(jobId, epoch, step);
    await this.deps.blobs.put(key, bytes);
    return { epoch, step, bytes: bytes.length, createdAt: new Date().toISOString(), key };
  }

  private async pruneCheckpoints(jobId: string): Promise<void> {
    const dropped = await this.deps.jobs.pruneCheckpoints(jobId, this.deps.config.CHECKPOINTS_KEPT);
    await Promise.all(dropped.map(({ key }) => this.deps.blobs.delete(key)));
  }

  private async conclude(spec: JobSpec, end: RunEnd, job: BullJob<TrainingJobData>, token: string | undefined, log: Logger): Promise<void> {
    const { jobs, datasets } = this.deps;
    if (end.kind === 'failed') {
      const { failure } = end;
      const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
      log.warn({ failure, attemptsLeft }, 'training failed');
      if (failure.retryable && attemptsLeft > 0) {
        await jobs.transition(spec.id, { from: ['running'], to: 'queued', reason: `${failure.message}; retrying from the last checkpoint` });
        throw new Error(failure.message);
      }
      await this.failForGood(spec, failure);
      throw new UnrecoverableError(failure.message);
    }

    const { outcome, stopCause, model, checkpoint } = end.message;
    if (checkpoint) {
      await jobs.addCheckpoint(spec.id, await this.saveCheckpoint(spec.id, checkpoint));
      await this.pruneCheckpoints(spec.id);
    }
    if (stopCause === 'shutdown') {
      log.info({ epochsCompleted: outcome.epochsCompleted }, 'checkpointed for shutdown; back to the queue');
      await jobs.transition(spec.id, { from: ['running'], to: 'queued', reason: 'the worker shut down; the job resumes from its checkpoint' });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (stopCause === 'cancel') {
      await finishJob(jobs, datasets, spec, { from: ['running'], to: 'cancelled', reason: `cancelled during epoch ${outcome.epochsCompleted + 1}`, fields: { stopReason: 'cancelled' } });
      log.info('training cancelled');
      return;
    }
    const stopReason = stopCause === 'max_runtime' ? 'max_runtime' : outcome.reason === 'stopped' ? 'completed' : outcome.reason;
    const modelId = await this.saveModel(spec, model, outcome, stopReason);
    await finishJob(jobs, datasets, spec, {
      from: ['running'], to: 'completed',
      reason: stopExplanation(spec, outcome, stopReason),
      fields: { modelId, stopReason },
    });
    log.info({ modelId, stopReason }, 'training completed');
  }

  /** The model's metrics are those of the epoch whose weights it holds: the best one when early stopping put them back. */
  private async saveModel(spec: JobSpec, snapshot: Uint8Array, outcome: TrainingOutcome, stopReason: ModelStopReason): Promise<string> {
    const job = await this.deps.jobs.get(spec.id);
    const last = spec.config.earlyStopping?.restoreBest && outcome.best ? outcome.best : job?.history.epochs.at(-1);
    if (last) await this.deps.jobs.setBestAccuracy(spec.id, last.valAccuracy ?? last.trainAccuracy);
    const dataset = await this.deps.datasets.get(spec.datasetId);
    const header = readSnapshotHeader(snapshot);
    const id = newId('model');
    await this.deps.models.create({
      id,
      jobId: spec.id,
      datasetId: spec.datasetId,
      shape: spec.config.shape,
      config: spec.config,
      inputKind: dataset?.inputKind ?? 'bytes',
      parameterCount: header.parameterCount,
      epochsCompleted: outcome.epochsCompleted,
      stopReason,
      metrics: last ? {
        trainLoss: last.trainLoss,
        trainAccuracy: last.trainAccuracy,
        ...(last.valLoss !== undefined && { valLoss: last.valLoss, valAccuracy: last.valAccuracy }),
      } : null,
      bytes: snapshot.length,
      createdAt: new Date().toISOString(),
    }, snapshot);
    return id;
  }

  private async failForGood(spec: JobSpec, failure: Pick<ThreadFailure, 'code' | 'message' | 'advice' | 'diagnostics'>): Promise<void> {
    const error: JobError = { code: failure.code, message: failure.message, advice: failure.advice };
    if (failure.diagnostics) await this.deps.jobs.setDiagnostics(spec.id, failure.diagnostics);
    await finishJob(this.deps.jobs, this.deps.datasets, spec, { from: ['queued', 'running'], to: 'failed', reason: failure.message, fields: { error: JSON.stringify(error) } });
  }
}
