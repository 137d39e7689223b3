import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { AppConfig } from '../config.js';
import { DatasetStore } from '../data/dataset-store.js';
import { ModelStore } from '../models/model-store.js';
import { FsBlobStore } from '../storage/fs-blob-store.js';
import { createRedis, redisKeys } from '../storage/redis.js';
import { finishJob } from './job-lifecycle.js';
import { JobStore } from './job-store.js';
import type { TrainingJobData } from './training-queue.js';
import { SHUTDOWN_REASON, TrainingProcessor } from './training-processor.js';

/**
 * The worker process's side of the queue: a BullMQ Worker on this event loop (which keeps
 * renewing job locks), a training thread per job, and a Redis subscription that turns
 * cancel requests from the API into BullMQ's own job cancellation.
 */
export class TrainingWorker {
  private readonly connection;
  private readonly redis;
  private readonly subscriber;
  private readonly worker: Worker<TrainingJobData>;

  constructor(config: AppConfig, log: Logger) {
    const keys = redisKeys(config.REDIS_PREFIX);
    this.connection = createRedis(config, { name: 'worker-queue', blocking: true });
    this.redis = createRedis(config, { name: 'worker' });
    this.subscriber = createRedis(config, { name: 'worker-cancel', blocking: true });
    for (const connection of [this.redis, this.subscriber]) {
      connection.on('error', (error) => log.warn({ err: error }, 'Redis connection problem; reconnecting'));
    }

    const blobs = new FsBlobStore(config.DATA_DIR);
    const jobs = new JobStore(this.redis, keys);
    const datasets = new DatasetStore(this.redis, keys);
    const processor = new TrainingProcessor({ config, blobs, jobs, datasets, models: new ModelStore(this.redis, keys, blobs), log });

    this.worker = new Worker<TrainingJobData>(config.QUEUE_NAME, (job, token, signal) => processor.process(job, token, signal), {
      connection: this.connection,
      prefix: keys.bullPrefix,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.JOB_LOCK_DURATION_MS,
      stalledInterval: config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: config.JOB_MAX_STALLED_COUNT,
    });
    this.worker.on('error', (error) => log.error({ err: error }, 'queue worker error'));
    // A job BullMQ fails on its own (stalled too often) never reached our processor's own bookkeeping.
    this.worker.on('failed', (job, error) => {
      if (!job) return;
      void jobs.spec(job.data.jobId).then((spec) => spec && finishJob(jobs, datasets, spec, {
        from: ['queued', 'running'], to: 'failed', reason: error.message,
        fields: { error: JSON.stringify({ code: 'WORKER_LOST', message: error.message, advice: 'Submit the job again; check the workers\' memory and logs.' }) },
      })).catch((failure: unknown) => log.error({ err: failure }, 'could not record a failed job'));
    });

    void this.subscriber.subscribe(keys.cancelChannel);
    this.subscriber.on('message', (_channel, jobId: string) => {
      if (this.worker.cancelJob(jobId, 'cancelled')) log.info({ jobId }, 'cancel requested');
    });
  }

  /** Resolves once the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stops running jobs at their next batch (each checkpoints and goes back to the queue), then disconnects. */
  async close(): Promise<void> {
    this.worker.cancelAllJobs(SHUTDOWN_REASON);
    await this.worker.close();
    this.subscriber.disconnect();
    await this.redis.quit();
    await this.connection.quit();
  }
}
