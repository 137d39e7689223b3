import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultValidationSplit, resolveTrainingConfig, shapeMismatch, trainingCount, type TrainingConfig, type TrainingNote } from '../core/index.js';
import type { AppConfig } from '../config.js';
import type { DatasetRecord } from '../data/dataset-schema.js';
import type { DatasetStore } from '../data/dataset-store.js';
import { stratifiedQuotas } from '../data/split.js';
import { AppError } from '../errors.js';
import type { ModelRecord } from '../models/model-schema.js';
import type { ModelStore } from '../models/model-store.js';
import { asRequestError, checkParameterLimit } from '../models/network-request.js';
import { newId } from '../storage/ids.js';
import type { RedisKeys } from '../storage/redis.js';
import { sendStop } from './job-control.js';
import { jobFailure } from './job-errors.js';
import { FINISHED_STATES, RESUMABLE_STOP_REASONS, type HistoryDetail, type Job, type JobLabelsRequest, type JobListQuery, type JobRequest, type JobSpec, type ResumeRequest, type StepHistoryQuery } from './job-schema.js';
import { finishJob, heldDatasets } from './finish-job.js';
import type { JobStore } from './job-store.js';
import { TRAINING_JOB_NAME, type TrainingJobData } from './training-queue.js';

/** Activations are (batch x widest layer) floats in a few buffers; this many floats is about 256 MB per buffer. */
const MAX_ACTIVATION_VALUES = 64 * 1024 * 1024;
/** A job that has just ended may still hold its BullMQ entry for a moment while its worker finishes the attempt. */
const REQUEUE_ATTEMPTS = 20;
const REQUEUE_WAIT_MS = 100;
/** What a warm start takes from its model unless the request gives it, and then must match. */
const ARCHITECTURE_FIELDS = ['activation', 'outputActivation', 'loss'] as const;

export interface JobServiceDeps {
  config: AppConfig;
  redis: Redis;
  keys: RedisKeys;
  jobs: JobStore;
  datasets: DatasetStore;
  models: ModelStore;
  queue: Queue<TrainingJobData>;
}

interface IdempotencyRecord {
  jobId: string;
  bodySha256: string;
}

/** The fields of POST /jobs that configure training itself. */
type TrainingRequest = Omit<JobRequest, 'datasetId' | 'validationDatasetId' | 'validationSplit' | 'threads' | 'maxRuntimeSeconds' | 'fromModelId' | 'registerAs'>;

/** Creating, reading and listing training jobs, and stopping, cancelling and resuming them, on the API side. */
export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  /** Validates the request against the datasets and limits, records the job and queues it. */
  async create(body: JobRequest, idempotencyKey?: string): Promise<Job> {
    const bodySha256 = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (idempotencyKey) {
      const earlier = await this.idempotentJob(idempotencyKey, bodySha256);
      if (earlier) return earlier;
    }
    const spec = await this.specFor(body);
    if (idempotencyKey) {
      const claim: IdempotencyRecord = { jobId: spec.id, bodySha256 };
      const claimed = await this.deps.redis.set(
        this.deps.keys.idempotency(idempotencyKey), JSON.stringify(claim), 'EX', this.deps.config.IDEMPOTENCY_TTL_SECONDS, 'NX',
      );
      if (claimed === null) return (await this.idempotentJob(idempotencyKey, bodySha256)) ?? this.create(body, idempotencyKey);
    }
    await this.enqueue(spec);
    return this.get(spec.id);
  }

  /** The spec a request would make, checked against the datasets and limits, without queueing it: a sweep checks its trials up front. */
  plan(body: JobRequest): Promise<JobSpec> {
    return this.specFor(body);
  }

  private async idempotentJob(key: string, bodySha256: string): Promise<Job | null> {
    const text = await this.deps.redis.get(this.deps.keys.idempotency(key));
    if (text === null) return null;
    const earlier = JSON.parse(text) as IdempotencyRecord;
    if (earlier.bodySha256 !== bodySha256) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key "${key}" was used for job ${earlier.jobId} with a different body; use a new key for a new job`);
    }
    return this.deps.jobs.get(earlier.jobId);
  }

  private async specFor(body: JobRequest): Promise<JobSpec> {
    const { datasetId, validationDatasetId, validationSplit, threads, maxRuntimeSeconds, fromModelId, registerAs, ...request } = body;
    const { config } = this.deps;
    const dataset = await this.dataset(datasetId, 'datasetId');
    const validation = validationDatasetId ? await this.dataset(validationDatasetId, 'validationDatasetId') : null;
    const training = fromModelId ? await this.warmStart(fromModelId, request) : { ...request, shape: request.shape! };

    checkParameterLimit(training.shape, config.MAX_PARAMETERS);
    const split = validation ? 0 : validationSplit ?? defaultValidationSplit(dataset.count);
    const trainCount = trainingCount(dataset.count, split);
    const validationNote = this.validationNote(dataset, validation, split, validationSplit);
    const missingClasses = split > 0 ? classesMissingFromValidation(dataset, split) : null;
    const { config: trainingConfig, notes } = this.resolve(training, trainCount, dataset, validation);
    this.checkWork(trainingConfig.epochs, trainCount, training.epochs !== undefined);
    const activations = trainingConfig.batchSize * Math.max(...trainingConfig.shape);
    if (activations > MAX_ACTIVATION_VALUES) {
      throw new AppError(
        'INVALID_CONFIG',
        `body.batchSize: a batch of ${trainingConfig.batchSize} through a layer of ${Math.max(...trainingConfig.shape)} units needs ${activations} activations; the limit is ${MAX_ACTIVATION_VALUES}`,
        { field: 'batchSize' },
      );
    }
    for (const [field, record] of [['shape', dataset], ['validationDatasetId', validation]] as const) {
      const problem = record && shapeMismatch(trainingConfig.shape, record);
      if (problem) throw new AppError('SHAPE_MISMATCH', `body.${field}: ${problem}`, { field });
    }
    return {
      id: newId('job'),
      datasetId,
      validationDatasetId: validationDatasetId ?? null,
      validationSplit: split > 0 ? split : null,
      fromModelId: fromModelId ?? null,
      registerAs: registerAs ?? null,
      config: trainingConfig,
      threads: threads ?? null,
      maxRuntimeSeconds: maxRuntimeSeconds ?? config.DEFAULT_RUNTIME_SECONDS,
      notes: [validationNote, missingClasses, ...notes].filter((note): note is TrainingNote => note !== null),
      createdAt: new Date().toISOString(),
    };
  }

  /**
   * The training request a warm start amounts to: the model's architecture (its shape, activation,
   * output and loss) unless the request gives the same, and no fresh starts, which would throw the
   * model's weights away, unless asked for.
   */
  private async warmStart(modelId: string, request: TrainingRequest) {
    const model = await this.deps.models.get(modelId);
    if (!model) throw new AppError('UNKNOWN_MODEL', `body.fromModelId: no model has the id ${modelId}; GET /models lists them`, { field: 'fromModelId' });
    if (request.shape && request.shape.join(',') !== model.shape.join(',')) {
      throw new AppError('SHAPE_MISMATCH', `body.shape: model ${modelId} has shape [${model.shape.join(', ')}]; leave shape out to use it, or give the same`, { field: 'shape' });
    }
    for (const field of ARCHITECTURE_FIELDS) {
      if (request[field] !== undefined && request[field] !== model.config[field]) {
        throw new AppError('INVALID_CONFIG', `body.${field}: model ${modelId} was trained with ${field} "${model.config[field]}"; its weights would mean something else with "${request[field]}"`, { field });
      }
    }
    return { ...request, ...architectureOf(model), maxRestarts: request.maxRestarts ?? 0 };
  }

  /** Says what was held out when the request did not choose. */
  private validationNote(dataset: DatasetRecord, validation: DatasetRecord | null, split: number, requested: number | undefined): TrainingNote | null {
    if (validation || requested !== undefined) return null;
    if (split === 0) {
      return { code: 'NO_VALIDATION', message: `nothing is held out for validation: ${dataset.count} samples are too few to spare any, so accuracy is measured on the training data` };
    }
    const held = dataset.count - trainingCount(dataset.count, split);
    const stratified = dataset.numClasses === null ? '' : ', stratified by class';
    return { code: 'VALIDATION_HELD_OUT', message: `${held} of ${dataset.count} samples (${split * 100}%${stratified}) are held out for validation; send validationSplit: 0 to train on all of them` };
  }

  /** Caps work, not epochs: epochs x training samples, whether the epochs were asked for or came from the step budget. */
  private checkWork(epochs: number, trainCount: number, requested: boolean): void {
    const limit = this.deps.config.MAX_TRAINING_SAMPLES;
    if (epochs * trainCount <= limit) return;
    const most = Math.max(1, Math.floor(limit / trainCount));
    const reason = requested ? '' : ' (the default budget)';
    throw new AppError(
      'INVALID_CONFIG',
      `body.epochs: ${epochs} epochs${reason} of ${trainCount} training samples is ${epochs * trainCount} samples of work; the limit is ${limit}, so at most ${most} epochs`,
      { field: 'epochs', limit, most },
    );
  }

  private resolve(
    training: TrainingRequest & { shape: number[] }, trainCount: number,
    dataset: DatasetRecord, validation: DatasetRecord | null,
  ): { config: TrainingConfig; notes: TrainingNote[] } {
    const image = dataset.inputKind === 'bytes' ? { width: dataset.width, height: dataset.height } : {};
    try {
      return resolveTrainingConfig(training, { trainCount, targetRange: targetRangeOf([dataset, validation]), ...image });
    } catch (error) {
      throw asRequestError(error);
    }
  }

  private async dataset(id: string, field: string): Promise<DatasetRecord> {
    const record = await this.deps.datasets.get(id);
    if (!record) throw new AppError('UNKNOWN_DATASET', `body.${field}: no dataset has the id ${id}; upload one with POST /datasets`, { field });
    return record;
  }

  /** Holds the datasets, records the job, then queues it; a dataset deleted meanwhile gives 400. */
  private async enqueue(spec: JobSpec): Promise<void> {
    await this.holdDatasets(spec);
    await this.deps.jobs.create(spec);
    await this.addToQueue(spec);
  }

  /** Hands the job to BullMQ; a job the queue refuses is recorded as failed, and the request answers 503. */
  private async addToQueue(spec: JobSpec): Promise<void> {
    const { jobs, datasets, queue } = this.deps;
    try {
      await queue.add(TRAINING_JOB_NAME, { jobId: spec.id }, { jobId: spec.id });
    } catch (error) {
      const { code, message, advice } = jobFailure('QUEUE_UNAVAILABLE', `The job could not be queued: ${error instanceof Error ? error.message : String(error)}`);
      await finishJob(jobs, datasets, spec, { from: ['queued'], to: 'failed', reason: message, fields: { error: JSON.stringify({ code, message, advice }) } });
      throw new AppError('QUEUE_UNAVAILABLE', `${message}. ${advice}`, { jobId: spec.id });
    }
  }

  private async holdDatasets(spec: JobSpec): Promise<void> {
    const { datasets } = this.deps;
    const held: string[] = [];
    for (const datasetId of heldDatasets(spec)) {
      if (!(await datasets.hold(datasetId, spec.id))) {
        await Promise.all(held.map((id) => datasets.release(id, spec.id)));
        throw new AppError('UNKNOWN_DATASET', `body.datasetId: dataset ${datasetId} has been deleted`, { field: 'datasetId' });
      }
      held.push(datasetId);
    }
  }

  async get(id: string, history: HistoryDetail = 'steps'): Promise<Job> {
    const job = await this.deps.jobs.get(id, history);
    if (!job) throw new AppError('JOB_NOT_FOUND', `No job has the id ${id}`, { id });
    return job;
  }

  async stepHistory(id: string, query: StepHistoryQuery) {
    const history = await this.deps.jobs.steps(id, query.from, query.every, query.limit);
    if (!history) throw new AppError('JOB_NOT_FOUND', `No job has the id ${id}`, { id });
    return history;
  }

  /** Names and tags describe a run, so they change in any state. */
  async label(id: string, labels: JobLabelsRequest): Promise<Job> {
    await this.current(id);
    await this.deps.jobs.setLabels(id, labels);
    return this.get(id, 'none');
  }

  /** A page of runs; a filter also matches a run's dataset by name, so the names are read for it. */
  async list(query: JobListQuery) {
    return this.deps.jobs.list(query, query.q?.trim() ? await this.datasetNames() : new Map());
  }

  private async datasetNames(): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const page = await this.deps.datasets.list(100, cursor);
      for (const dataset of page.datasets) names.set(dataset.id, dataset.name);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return names;
  }

  /**
   * Cancel discards the run. A queued job is taken off the queue and cancelled at once; a running
   * one is asked to stop (job-control.ts), and its worker ends it within one batch, keeping a
   * checkpoint that POST /jobs/:id/resume can go on from.
   */
  async cancel(id: string): Promise<Job> {
    const { jobs, datasets, queue } = this.deps;
    const { spec, state } = await this.current(id);
    if (FINISHED_STATES.includes(state)) throw new AppError('JOB_FINISHED', `job ${id} is already ${state}`, { state });
    if (state === 'queued' && (await queue.remove(id)) === 1) {
      await finishJob(jobs, datasets, spec, {
        from: ['queued'], to: 'cancelled', reason: 'cancelled before it started', fields: { stopReason: 'cancelled' },
      });
    } else {
      await sendStop(this.deps.redis, this.deps.keys, jobs, id, 'cancel');
    }
    return this.get(id);
  }

  /** Stop keeps the model trained so far: the running job ends completed, with stopReason "stopped", within one batch. */
  async stop(id: string): Promise<Job> {
    const { state } = await this.current(id);
    if (FINISHED_STATES.includes(state)) throw new AppError('JOB_FINISHED', `job ${id} is already ${state}`, { state });
    if (state !== 'running') {
      throw new AppError('JOB_NOT_RUNNING', `job ${id} is ${state} and has trained nothing to keep yet; cancel it with DELETE /jobs/${id}, or stop it once it runs`, { state });
    }
    await sendStop(this.deps.redis, this.deps.keys, this.deps.jobs, id, 'stop');
    return this.get(id);
  }

  /**
   * Sends a stopped, cancelled, failed or timed-out job back to the queue as the same job; its
   * worker resumes from the newest checkpoint with the history up to it intact.
   */
  async resume(id: string, request: ResumeRequest): Promise<Job> {
    const { jobs, datasets } = this.deps;
    const job = await this.get(id);
    const resumable = job.state === 'failed' || (job.stopReason !== null && RESUMABLE_STOP_REASONS.includes(job.stopReason));
    if (!resumable) {
      throw new AppError('JOB_NOT_RESUMABLE', job.state === 'completed'
        ? `job ${id} finished on its own (${job.stopReason}); to train on, POST /jobs with fromModelId ${job.modelId}`
        : `job ${id} is ${job.state}; only stopped, cancelled, failed or timed-out jobs resume`, { state: job.state });
    }
    if (job.checkpoints.length === 0) {
      throw new AppError('NO_CHECKPOINT', `job ${id} ended before its first checkpoint, so there is nothing to resume; submit it again with POST /jobs`);
    }
    const lastEpoch = job.checkpoints.at(-1)!.epoch;
    if (request.epochs !== undefined && request.epochs <= lastEpoch) {
      throw new AppError('INVALID_CONFIG', `body.epochs: the run resumes after epoch ${lastEpoch}; ask for more than ${lastEpoch} epochs`, { field: 'epochs' });
    }
    const { spec: stored } = await this.current(id);
    const spec: JobSpec = {
      ...stored,
      config: { ...stored.config, epochs: request.epochs ?? stored.config.epochs },
      maxRuntimeSeconds: request.maxRuntimeSeconds ?? stored.maxRuntimeSeconds,
    };
    this.checkWork(spec.config.epochs, trainingCount((await this.dataset(spec.datasetId, 'datasetId')).count, spec.validationSplit ?? 0), true);
    await this.holdDatasets(spec);
    await this.removeFinishedEntry(id);
    await jobs.updateSpec(spec);
    const reopened = await jobs.transition(id, {
      from: ['completed', 'failed', 'cancelled'], to: 'queued',
      reason: `resumed by request from the checkpoint after epoch ${lastEpoch}`,
      fields: { resumedAt: new Date().toISOString() },
      clear: ['finishedAt', 'error', 'stopReason', 'stopRequested'],
    });
    if (!reopened) {
      await Promise.all(heldDatasets(spec).map((datasetId) => datasets.release(datasetId, id)));
      throw new AppError('JOB_NOT_RESUMABLE', `job ${id} changed state while being resumed; fetch it and try again`);
    }
    await this.addToQueue(spec);
    return this.get(id);
  }

  /** BullMQ keeps a finished job's entry under its id, and would ignore a new one with the same id. */
  private async removeFinishedEntry(id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.queue.remove(id);
        return;
      } catch (error) {
        // Still locked by the worker finishing its attempt.
        if (attempt >= REQUEUE_ATTEMPTS) throw error;
        await sleep(REQUEUE_WAIT_MS);
      }
    }
  }

  private async current(id: string) {
    const spec = await this.deps.jobs.spec(id);
    const state = await this.deps.jobs.state(id);
    if (!spec || !state) throw new AppError('JOB_NOT_FOUND', `No job has the id ${id}`, { id });
    return { spec, state };
  }
}

/** Classes too rare to give any sample to a stratified hold-out: their validation accuracy is never measured. */
function classesMissingFromValidation(dataset: DatasetRecord, split: number): TrainingNote | null {
  if (!dataset.classCounts) return null;
  const quotas = stratifiedQuotas(dataset.classCounts, split);
  const missing = dataset.classCounts.flatMap((count, label) => (count > 0 && quotas[label] === 0 ? [label] : []));
  if (missing.length === 0) return null;
  return {
    code: 'CLASSES_MISSING_FROM_VALIDATION',
    message: `class${missing.length === 1 ? '' : 'es'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} too rare to hold any sample out at validationSplit ${split}, so validation says nothing about ${missing.length === 1 ? 'it' : 'them'}; upload more of ${missing.length === 1 ? 'it' : 'them'}, or a validation dataset`,
  };
}

function architectureOf(model: ModelRecord) {
  return { shape: model.shape, activation: model.config.activation, outputActivation: model.config.outputActivation, loss: model.config.loss };
}

/** The targets' range over the training and validation data: the head must reach both, as validation's loss steers early stopping. */
function targetRangeOf(records: readonly (DatasetRecord | null)[]): { min: number; max: number } | null {
  const ranges = records.flatMap((record) => (record?.targetRange ? [record.targetRange] : []));
  if (ranges.length === 0) return null;
  return { min: Math.min(...ranges.map((range) => range.min)), max: Math.max(...ranges.map((range) => range.max)) };
}
