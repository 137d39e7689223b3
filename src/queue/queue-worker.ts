import { Worker } from 'bullmq';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { AppConfig } from '../config.js';
import { DatasetStore } from '../data/dataset-store.js';
import { ModelStore } from '../models/model-store.js';
import { createBlobStore } from '../storage/create-blob-store.js';
import { createRedis, redisKeys } from '../storage/redis.js';
import { CheckpointStore } from './checkpoint-store.js';
import { JobControl } from './job-control.js';
import { jobFailure } from './job-errors.js';
import { finishJob } from './finish-job.js';
import { JobStore } from './job-store.js';
import { processTrainingJob } from './training-job.js';
import type { TrainingJobData } from './training-queue.js';

/** Kernel threads a job gets on this worker when it asks for none: its cores, shared by its concurrent jobs. */
export function workerThreadsPerJob(config: AppConfig): number {
  return config.TRAINING_THREADS ?? Math.max(1, Math.floor(availableParallelism() / config.WORKER_CONCURRENCY));
}

/**
 * The worker process's side of the queue: a BullMQ Worker on this event loop (which keeps
 * renewing job locks), a training thread per job (training-job.ts), and the JobControl that
 * carries stop requests to those threads.
 */
export class QueueWorker {
  private readonly connection;
  private readonly redis;
  private readonly subscriber;
  private readonly control: JobControl;
  private readonly worker: Worker<TrainingJobData>;

  constructor(config: AppConfig, log: Logger) {
    const keys = redisKeys(config.REDIS_PREFIX);
    this.connection = createRedis(config, { name: 'worker-queue', blocking: true });
    this.redis = createRedis(config, { name: 'worker' });
    this.subscriber = createRedis(config, { name: 'worker-stop', blocking: true });
    for (const connection of [this.redis, this.subscriber]) {
      connection.on('error', (error) => log.warn({ err: error }, 'Redis connection problem; reconnecting'));
    }

    const blobs = createBlobStore(config);
    const jobs = new JobStore(this.redis, keys);
    const datasets = new DatasetStore(this.redis, keys);
    this.control = new JobControl(this.subscriber, keys, log);
    const threads = workerThreadsPerJob(config);
    const deps = {
      blobs, jobs, datasets, log,
      models: new ModelStore(this.redis, keys, blobs),
      checkpoints: new CheckpointStore(blobs, jobs, config.CHECKPOINTS_KEPT),
      threads: { default: threads, max: config.TRAINING_THREADS ?? availableParallelism() },
      stepReportEvery: config.STEP_REPORT_EVERY,
      progressIntervalMs: config.PROGRESS_INTERVAL_MS,
      checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
      onStart: (jobId: string, flag: Int32Array) => this.control.running(jobId, flag),
      onEnd: (jobId: string) => this.control.ended(jobId),
    };

    this.worker = new Worker<TrainingJobData>(config.QUEUE_NAME, (job, token) => processTrainingJob(deps, job, token), {
      connection: this.connection,
      prefix: keys.bullPrefix,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.JOB_LOCK_DURATION_MS,
      stalledInterval: config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: config.JOB_MAX_STALLED_COUNT,
      autorun: false,
    });
    this.worker.on('error', (error) => log.error({ err: error }, 'queue worker error'));
    // BullMQ fails a job whose worker died too often (its deferred failure) without running our processor.
    this.worker.on('failed', (job, error) => {
      if (!job?.deferredFailure) return;
      const { code, message, advice } = jobFailure('WORKER_LOST', `The job's worker stopped answering ${config.JOB_MAX_STALLED_COUNT + 1} times (${error.message})`);
      void jobs.spec(job.data.jobId).then((spec) => spec && finishJob(jobs, datasets, spec, {
        from: ['queued', 'running'], to: 'failed', reason: message, fields: { error: JSON.stringify({ code, message, advice }) },
      })).catch((failure: unknown) => log.error({ err: failure }, 'could not record a failed job'));
    });
  }

  /** Resolves once the worker listens for stop requests and takes jobs. */
  async ready(): Promise<void> {
    await this.control.listen();
    void this.worker.run();
    await this.worker.waitUntilReady();
  }

  /** Stops running jobs at their next batch (each checkpoints and goes back to the queue), then disconnects. */
  async close(): Promise<void> {
    this.control.shutdownAll();
    await this.worker.close();
    this.subscriber.disconnect();
    await this.redis.quit();
    await this.connection.quit();
  }
}
