import { DelayedError, UnrecoverableError, WaitingError, type Job as BullJob } from 'bullmq';
import type { Logger } from 'pino';
import { formatNumber, formatPercent, readSnapshotHeader, SnapshotFormatError, type TrainingOutcome } from '../core/index.js';
import { datasetBlobKey } from '../data/dataset-service.js';
import type { DatasetStore } from '../data/dataset-store.js';
import type { ModelStore } from '../models/model-store.js';
import { BlobNotFoundError, readBlob, StorageUnavailableError, type BlobStore } from '../storage/blob-store.js';
import { newId } from '../storage/ids.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { jobFailure, type JobFailure } from './job-errors.js';
import { finishJob } from './finish-job.js';
import type { CheckpointRecord, JobSpec, ModelStopReason } from './job-schema.js';
import type { JobStore } from './job-store.js';
import { ProgressRecorder } from './progress-recorder.js';
import { decideOutcome } from './run-outcome.js';
import { newStopFlag, requestStop } from './stop-cause.js';
import { hostTrainingThread, type RunEnd } from './thread-host.js';
import type { CheckpointBytes, ProgressMessage, TrainingThreadInput } from './thread-messages.js';
import type { TrainingJobData } from './training-queue.js';

export interface TrainingJobDeps {
  blobs: BlobStore;
  jobs: JobStore;
  datasets: DatasetStore;
  models: ModelStore;
  checkpoints: CheckpointStore;
  log: Logger;
  /** Kernel threads for a job that asks for none, and the most one may have, on this worker. */
  threads: { default: number; max: number };
  stepReportEvery: number;
  progressIntervalMs: number;
  checkpointIntervalMs: number;
  /** Gives the running job's stop flag to whoever delivers stop requests (JobControl), and takes it back. */
  onStart(jobId: string, stopFlag: Int32Array): void;
  onEnd(jobId: string): void;
}

/** How long a job waits in BullMQ's delayed set, without using up an attempt, each time storage does not answer. */
export const STORAGE_OUTAGE_RETRY_MS = 5_000;

/** A failure found before the thread starts: recorded on the job, and final for BullMQ. */
class FailedBeforeStart extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message);
  }
}

/**
 * Runs one BullMQ job, start to end, in this order: read the spec; resume from the newest
 * checkpoint if there is one; train in a thread while its progress is recorded here; then let
 * decideOutcome say what the end means, and carry it out (save the model, cancel, requeue,
 * retry or fail). Stop requests reach the thread through the stop flag handed to onStart.
 */
export async function processTrainingJob(deps: TrainingJobDeps, job: BullJob<TrainingJobData>, token: string | undefined): Promise<void> {
  try {
    await trainingRun(deps, job, token);
  } catch (error) {
    if (!(error instanceof StorageUnavailableError)) throw error;
    await waitForStorage(deps, job, token, error);
  }
}

/**
 * Storage (S3) did not answer while the job loaded its data or saved its model: back to the queue
 * for a while, as often as it takes, and the run then resumes from its newest checkpoint.
 */
async function waitForStorage(deps: TrainingJobDeps, job: BullJob<TrainingJobData>, token: string | undefined, error: StorageUnavailableError): Promise<never> {
  const reason = `storage is unavailable (${error.message}); the job tries again every ${STORAGE_OUTAGE_RETRY_MS / 1000} s and resumes from its newest checkpoint`;
  deps.log.warn({ jobId: job.data.jobId, err: error }, 'storage unavailable; job delayed');
  await deps.jobs.transition(job.data.jobId, { from: ['running'], to: 'queued', reason });
  await job.moveToDelayed(Date.now() + STORAGE_OUTAGE_RETRY_MS, token);
  throw new DelayedError();
}

async function trainingRun(deps: TrainingJobDeps, job: BullJob<TrainingJobData>, token: string | undefined): Promise<void> {
  const { jobs, datasets } = deps;
  const spec = await jobs.spec(job.data.jobId);
  if (!spec) throw new UnrecoverableError(`job ${job.data.jobId} has no record`);
  const log = deps.log.child({ jobId: spec.id, attempt: job.attemptsMade + 1 });

  if ((await jobs.stopRequested(spec.id)) === 'cancel') {
    await finishJob(jobs, datasets, spec, { from: ['queued', 'running'], to: 'cancelled', reason: 'cancelled before it started', fields: { stopReason: 'cancelled' } });
    return;
  }
  const resumeFrom = await deps.checkpoints.latest(spec.id);
  if (resumeFrom) await jobs.rewindHistory(spec.id, resumeFrom.record);
  const startedAt = await jobs.markStarted(spec.id);
  const running = await jobs.transition(spec.id, {
    from: ['queued', 'running'],
    to: 'running',
    ...(resumeFrom && { reason: `resumed from the checkpoint after epoch ${resumeFrom.record.epoch}, step ${resumeFrom.record.step}`, resumedFromEpoch: resumeFrom.record.epoch }),
  });
  if (!running) return;

  let input: TrainingThreadInput;
  try {
    input = await threadInput(deps, spec, resumeFrom?.bytes ?? null, (await jobs.resumedAt(spec.id)) ?? startedAt);
  } catch (error) {
    if (!(error instanceof FailedBeforeStart)) throw error;
    await failForGood(deps, spec, error.failure);
    throw new UnrecoverableError(error.message);
  }
  const stopFlag = new Int32Array(input.stopFlag);
  // A stop asked for while the job waited in the queue (or whose message this worker missed).
  const requested = await jobs.stopRequested(spec.id);
  if (requested) requestStop(stopFlag, requested);

  log.info({ resumedFromEpoch: resumeFrom?.record.epoch ?? null, warmStart: spec.fromModelId }, 'training started');
  deps.onStart(spec.id, stopFlag);
  const recorder = new ProgressRecorder(jobs, spec.id, spec.config, deps.progressIntervalMs);
  let end: RunEnd;
  try {
    end = await hostTrainingThread(input, progressHandler(deps, spec, recorder, log));
  } finally {
    deps.onEnd(spec.id);
  }
  await recorder.flush(null);
  await carryOut(deps, spec, end, job, token, log);
}

async function threadInput(deps: TrainingJobDeps, spec: JobSpec, checkpoint: Buffer | null, runtimeFrom: string): Promise<TrainingThreadInput> {
  const load = async (datasetId: string): Promise<Uint8Array> => {
    try {
      return Uint8Array.from(await readBlob(deps.blobs, datasetBlobKey(datasetId)));
    } catch (error) {
      if (!(error instanceof BlobNotFoundError)) throw error;
      throw new FailedBeforeStart(jobFailure('BAD_DATASET', `dataset ${datasetId} is gone from storage`));
    }
  };
  return {
    config: spec.config,
    train: await load(spec.datasetId),
    validation: spec.validationDatasetId ? await load(spec.validationDatasetId) : null,
    validationSplit: spec.validationSplit ?? 0,
    checkpoint: checkpoint && Uint8Array.from(checkpoint),
    warmStart: spec.fromModelId && !checkpoint ? await warmStartWeights(deps, spec, spec.fromModelId) : null,
    stopFlag: newStopFlag().buffer as SharedArrayBuffer,
    deadlineMs: Date.parse(runtimeFrom) + spec.maxRuntimeSeconds * 1000,
    stepReportEvery: deps.stepReportEvery,
    progressIntervalMs: deps.progressIntervalMs,
    checkpointIntervalMs: deps.checkpointIntervalMs,
    threads: Math.min(spec.threads ?? deps.threads.default, deps.threads.max),
  };
}

/** The snapshot a warm start begins from, checked against the job's network before the thread starts. */
async function warmStartWeights(deps: TrainingJobDeps, spec: JobSpec, modelId: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(await deps.models.snapshot(modelId));
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
    throw new FailedBeforeStart(jobFailure('SOURCE_MODEL_GONE', `model ${modelId}, which the job was to start from, has been deleted`));
  }
  try {
    const header = readSnapshotHeader(bytes);
    if (header.config.shape.join(',') !== spec.config.shape.join(',')) throw new SnapshotFormatError(`it has shape [${header.config.shape.join(', ')}], the job [${spec.config.shape.join(', ')}]`);
  } catch (error) {
    if (!(error instanceof SnapshotFormatError)) throw error;
    throw new FailedBeforeStart(jobFailure('SOURCE_MODEL_GONE', `model ${modelId} cannot be warm-started from: ${error.message}`));
  }
  return bytes;
}

/** Records each progress message: notes, history in batches, and checkpoints once the history up to them is written. */
function progressHandler(deps: TrainingJobDeps, spec: JobSpec, recorder: ProgressRecorder, log: Logger): (message: ProgressMessage) => Promise<void> {
  const { jobs, checkpoints } = deps;
  let stepsPerEpoch = 1;
  return async (message) => {
    switch (message.type) {
      case 'started':
        stepsPerEpoch = message.stepsPerEpoch;
        log.info({ kernels: message.kernels, trainCount: message.trainCount, validationCount: message.validationCount }, 'training thread ready');
        if (message.learningRateSearch) {
          const search = message.learningRateSearch;
          await jobs.setLearningRateSearch(spec.id, search);
          await jobs.addRunNote(spec.id, {
            code: 'LEARNING_RATE_FOUND',
            message: `learningRate ${formatNumber(search.chosen)}, from a range test over ${search.curve.length} steps: the loss fell fastest up to about ${formatNumber(search.lowestLossAt)}, and a tenth of that is used`,
          });
        }
        return;
      case 'restarted': {
        const { restart } = message;
        await jobs.addRunNote(spec.id, {
          code: 'RESTARTED',
          message: `fresh start ${restart.restarts} from new initial weights after epoch ${restart.epoch}: the run had stalled at ${formatPercent(restart.trainAccuracy)} training accuracy (loss ${formatNumber(restart.trainLoss)}), short of fitting its training data`,
        });
        return;
      }
      case 'step':
        await recorder.step(message.report);
        return;
      case 'epoch': {
        const record = message.checkpoint && (await checkpointUnlessStorageIsDown(checkpoints, spec, message.checkpoint, log));
        const last = message.reports.length - 1;
        for (const [index, report] of message.reports.entries()) await recorder.epoch(report, stepsPerEpoch, index === last ? record : null);
        if (record) await checkpoints.prune(spec.id);
        return;
      }
    }
  };
}

/** A checkpoint that storage does not take is skipped: the run goes on, and the next one tries again. */
async function checkpointUnlessStorageIsDown(checkpoints: CheckpointStore, spec: JobSpec, checkpoint: CheckpointBytes, log: Logger): Promise<CheckpointRecord | null> {
  try {
    return await checkpoints.write(spec.id, checkpoint);
  } catch (error) {
    if (!(error instanceof StorageUnavailableError)) throw error;
    log.warn({ err: error, epoch: checkpoint.epoch }, 'checkpoint skipped: storage unavailable');
    return null;
  }
}

/** Does what decideOutcome says the run's end means, for our record and for BullMQ. */
async function carryOut(deps: TrainingJobDeps, spec: JobSpec, end: RunEnd, job: BullJob<TrainingJobData>, token: string | undefined, log: Logger): Promise<void> {
  const { jobs, datasets } = deps;
  if (end.kind === 'finished' && end.checkpoint) await deps.checkpoints.add(spec.id, end.checkpoint);
  const outcome = decideOutcome(spec, end, (job.opts.attempts ?? 1) - job.attemptsMade - 1);
  switch (outcome.action) {
    case 'complete': {
      if (end.kind !== 'finished') return;
      const modelId = await saveModel(deps, spec, end.model, end.outcome, outcome.stopReason);
      await finishJob(jobs, datasets, spec, { from: ['running'], to: 'completed', reason: outcome.reason, fields: { modelId, stopReason: outcome.stopReason }, clear: ['stopRequested'] });
      log.info({ modelId, stopReason: outcome.stopReason }, 'training completed');
      return;
    }
    case 'cancel':
      await keepModelAccuracy(deps, spec.id);
      await finishJob(jobs, datasets, spec, { from: ['running'], to: 'cancelled', reason: outcome.reason, fields: { stopReason: 'cancelled' }, clear: ['stopRequested'] });
      log.info('training cancelled');
      return;
    case 'requeue':
      log.info('checkpointed for shutdown; back to the queue');
      await jobs.transition(spec.id, { from: ['running'], to: 'queued', reason: outcome.reason });
      await job.moveToWait(token);
      throw new WaitingError();
    case 'retry':
      log.warn({ failure: outcome.failure }, 'training failed; retrying');
      await jobs.transition(spec.id, { from: ['running'], to: 'queued', reason: outcome.reason });
      throw new Error(outcome.failure.message);
    case 'fail':
      log.warn({ failure: outcome.failure }, 'training failed');
      await failForGood(deps, spec, outcome.failure);
      throw new UnrecoverableError(outcome.failure.message);
  }
}

/**
 * A cancelled run saves no model, but the job may hold one from a stop before it was resumed: its
 * accuracy is the job's again, not that of the cancelled run's best epoch.
 */
async function keepModelAccuracy(deps: TrainingJobDeps, jobId: string): Promise<void> {
  const modelId = (await deps.jobs.get(jobId, 'none'))?.modelId;
  const metrics = modelId ? (await deps.models.get(modelId))?.metrics : null;
  if (metrics) await deps.jobs.setBestAccuracy(jobId, metrics.valAccuracy ?? metrics.trainAccuracy);
}

/** The model's metrics are those of the epoch whose weights it holds: the best one when early stopping keeps it. */
async function saveModel(deps: TrainingJobDeps, spec: JobSpec, snapshot: Uint8Array, outcome: TrainingOutcome, stopReason: ModelStopReason): Promise<string> {
  const kept = spec.config.earlyStopping?.restoreBest && outcome.best ? outcome.best : await deps.jobs.lastEpoch(spec.id);
  if (kept) await deps.jobs.setBestAccuracy(spec.id, kept.valAccuracy ?? kept.trainAccuracy);
  const dataset = await deps.datasets.get(spec.datasetId);
  const id = newId('model');
  await deps.models.create({
    id,
    jobId: spec.id,
    datasetId: spec.datasetId,
    validation: spec.validationDatasetId
      ? { datasetId: spec.validationDatasetId, heldOut: null }
      : spec.validationSplit ? { datasetId: spec.datasetId, heldOut: { fraction: spec.validationSplit, trainingSeed: spec.config.seed } } : null,
    shape: spec.config.shape,
    config: spec.config,
    inputKind: dataset?.inputKind ?? 'bytes',
    parameterCount: readSnapshotHeader(snapshot).parameterCount,
    epochsCompleted: outcome.epochsCompleted,
    stopReason,
    metrics: kept ? {
      trainLoss: kept.trainLoss,
      trainAccuracy: kept.trainAccuracy,
      ...(kept.valLoss !== undefined && { valLoss: kept.valLoss, valAccuracy: kept.valAccuracy }),
    } : null,
    bytes: snapshot.length,
    createdAt: new Date().toISOString(),
    registered: null,
  }, snapshot, spec.registerAs);
  return id;
}

async function failForGood(deps: TrainingJobDeps, spec: JobSpec, failure: JobFailure): Promise<void> {
  const { code, message, advice } = failure;
  if (failure.diagnostics) await deps.jobs.setDiagnostics(spec.id, failure.diagnostics);
  await finishJob(deps.jobs, deps.datasets, spec, { from: ['queued', 'running'], to: 'failed', reason: message, fields: { error: JSON.stringify({ code, message, advice }) }, clear: ['stopRequested'] });
}
