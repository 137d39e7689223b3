import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { defaultValidationSplit, resolveTrainingConfig, trainingCount, type TrainingConfig, type TrainingNote } from '../core/index.js';
import type { AppConfig } from '../config.js';
import { shapeMismatch } from '../data/dataset-fit.js';
import type { DatasetRecord } from '../data/dataset-schema.js';
import type { DatasetStore } from '../data/dataset-store.js';
import { AppError } from '../errors.js';
import { newId } from '../storage/ids.js';
import type { RedisKeys } from '../storage/redis.js';
import { FINISHED_STATES, type Job, type JobListQuery, type JobRequest, type JobSpec } from './job-schema.js';
import { finishJob, heldDatasets } from './job-lifecycle.js';
import type { JobStore } from './job-store.js';
import { asRequestError, checkParameterLimit } from './network-request.js';
import { TRAINING_JOB_NAME, type TrainingJobData } from './training-queue.js';

/** Activations are (batch x widest layer) floats in a few buffers; this many floats is about 256 MB per buffer. */
const MAX_ACTIVATION_VALUES = 64 * 1024 * 1024;

export interface JobServiceDeps {
  config: AppConfig;
  redis: Redis;
  keys: RedisKeys;
  jobs: JobStore;
  datasets: DatasetStore;
  queue: Queue<TrainingJobData>;
}

interface IdempotencyRecord {
  jobId: string;
  bodySha256: string;
}

/** Creating, reading, listing and cancelling training jobs, on the API side. */
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
    const { datasetId, validationDatasetId, validationSplit, threads, maxRuntimeSeconds, ...training } = body;
    const { config } = this.deps;
    const dataset = await this.dataset(datasetId, 'datasetId');
    const validation = validationDatasetId ? await this.dataset(validationDatasetId, 'validationDatasetId') : null;

    checkParameterLimit(training.shape, config.MAX_PARAMETERS);
    const split = validation ? 0 : validationSplit ?? defaultValidationSplit(dataset.count);
    const trainCount = trainingCount(dataset.count, split);
    const validationNote = this.validationNote(dataset, validation, split, validationSplit);
    const { config: trainingConfig, notes } = this.resolve(training, trainCount, dataset);
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
      config: trainingConfig,
      threads: threads ?? config.TRAINING_THREADS,
      maxRuntimeSeconds: maxRuntimeSeconds ?? config.DEFAULT_RUNTIME_SECONDS,
      notes: validationNote ? [validationNote, ...notes] : notes,
      createdAt: new Date().toISOString(),
    };
  }

  /** Says what was held out when the request did not choose. */
  private validationNote(dataset: DatasetRecord, validation: DatasetRecord | null, split: number, requested: number | undefined): TrainingNote | null {
    if (validation || requested !== undefined) return null;
    if (split === 0) {
      return { code: 'NO_VALIDATION', message: `nothing is held out for validation: ${dataset.count} samples are too few to spare any, so accuracy is measured on the training data` };
    }
    const held = dataset.count - trainingCount(dataset.count, split);
    return { code: 'VALIDATION_HELD_OUT', message: `${held} of ${dataset.count} samples (${split * 100}%, stratified by class) are held out for validation; send validationSplit: 0 to train on all of them` };
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
    training: Omit<JobRequest, 'datasetId' | 'validationDatasetId' | 'validationSplit' | 'threads' | 'maxRuntimeSeconds'>, trainCount: number,
    dataset: DatasetRecord,
  ): { config: TrainingConfig; notes: TrainingNote[] } {
    const image = dataset.inputKind === 'bytes' ? { width: dataset.width, height: dataset.height } : {};
    try {
      return resolveTrainingConfig(training, { trainCount, ...image });
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
    const { datasets, jobs, queue } = this.deps;
    const held: string[] = [];
    for (const datasetId of heldDatasets(spec)) {
      if (!(await datasets.hold(datasetId, spec.id))) {
        await Promise.all(held.map((id) => datasets.release(id, spec.id)));
        throw new AppError('UNKNOWN_DATASET', `body.datasetId: dataset ${datasetId} was deleted while the job was being created`, { field: 'datasetId' });
      }
      held.push(datasetId);
    }
    await jobs.create(spec);
    try {
      await queue.add(TRAINING_JOB_NAME, { jobId: spec.id }, { jobId: spec.id });
    } catch (error) {
      await finishJob(jobs, datasets, spec, {
        from: ['queued'], to: 'failed', reason: 'could not be queued',
        fields: { error: JSON.stringify({ code: 'QUEUE_UNAVAILABLE', message: 'The job could not be queued', advice: 'Submit it again.' }) },
      });
      throw error;
    }
  }

  async get(id: string): Promise<Job> {
    const job = await this.deps.jobs.get(id);
    if (!job) throw new AppError('JOB_NOT_FOUND', `No job has the id ${id}`, { id });
    return job;
  }

  list(query: JobListQuery) {
    return this.deps.jobs.list(query);
  }

  /**
   * A queued job is taken off the queue and cancelled at once. A running one is asked to
   * stop through a Redis channel; its worker stops within one batch, checkpoints and ends it.
   */
  async cancel(id: string): Promise<Job> {
    const { jobs, datasets, queue, redis, keys } = this.deps;
    const spec = await jobs.spec(id);
    const state = await jobs.state(id);
    if (!spec || !state) throw new AppError('JOB_NOT_FOUND', `No job has the id ${id}`, { id });
    if (FINISHED_STATES.includes(state)) throw new AppError('JOB_FINISHED', `job ${id} is already ${state}`, { state });

    await jobs.requestCancel(id);
    if (state === 'queued' && (await queue.remove(id)) === 1) {
      await finishJob(jobs, datasets, spec, {
        from: ['queued'], to: 'cancelled', reason: 'cancelled before it started', fields: { stopReason: 'cancelled' },
      });
    } else {
      await redis.publish(keys.cancelChannel, id);
    }
    return this.get(id);
  }
}
