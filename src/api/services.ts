import { once } from 'node:events';
import type { Queue } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { AppConfig } from '../config.js';
import { DatasetService, UPLOAD_TEMP_PREFIX } from '../data/dataset-service.js';
import { DatasetStore } from '../data/dataset-store.js';
import { EvaluationPool } from '../models/evaluation-pool.js';
import { UploadCapacity } from '../data/upload-capacity.js';
import { GradientCheckService } from '../models/gradient-check-service.js';
import { ModelService } from '../models/model-service.js';
import { ModelStore } from '../models/model-store.js';
import { JobEventHub } from '../queue/job-events.js';
import { jobLimits } from '../queue/job-schema.js';
import { JobService } from '../queue/job-service.js';
import { JobStore } from '../queue/job-store.js';
import { createTrainingQueue } from '../queue/training-queue.js';
import type { BlobStore } from '../storage/blob-store.js';
import { createBlobStore } from '../storage/create-blob-store.js';
import { createRedis, redisKeys } from '../storage/redis.js';
import { SweepController } from '../sweeps/sweep-controller.js';
import { SweepService } from '../sweeps/sweep-service.js';
import { SweepStore } from '../sweeps/sweep-store.js';
import { createMetrics } from './metrics.js';
import { checkReadiness } from './readiness.js';

/**
 * BullMQ's Queue.close() on a shared connection neither waits for nor silences the INFO handshake
 * the queue sends once the connection is ready, so ending the connection mid-handshake rejects it
 * after the queue has dropped its error listeners: an unhandled rejection. This waits for the
 * handshake while the connection is up or coming up, but not while Redis is unreachable.
 */
async function settleQueueHandshake(queue: Queue, redis: Redis): Promise<void> {
  if (redis.status === 'reconnecting' || redis.status === 'end') return;
  const stopWaiting = new AbortController();
  try {
    await Promise.race([queue.waitUntilReady(), once(redis, 'reconnecting', { signal: stopWaiting.signal })]);
  } finally {
    stopWaiting.abort();
  }
}

/** Everything the routes call, built once per app from the config. */
export function createServices(config: AppConfig) {
  const redis: Redis = createRedis(config, { name: 'api' });
  const quiet = () => {
    // Connection errors surface as failed commands (503) and in /ready; ioredis keeps reconnecting.
  };
  redis.on('error', quiet);
  const blobs: BlobStore = createBlobStore(config);
  const keys = redisKeys(config.REDIS_PREFIX);

  const datasetStore = new DatasetStore(redis, keys);
  const jobStore = new JobStore(redis, keys);
  const queue = createTrainingQueue(config, redis);
  queue.on('error', quiet);
  const metrics = createMetrics({
    jobCountsByState: () => jobStore.countsByState(),
    queueDepth: () => queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'),
    trainingSamplesPerSecond: () => jobStore.runningSamplesPerSecond(),
  });

  const modelStore = new ModelStore(redis, keys, blobs);
  const models = new ModelService({
    models: modelStore,
    datasets: datasetStore,
    blobs,
    evaluations: new EvaluationPool({ threads: config.EVALUATION_THREADS, queueLimit: config.EVALUATION_QUEUE_LIMIT }),
    observePredict: (kind, seconds) => metrics.predictDuration.observe({ kind }, seconds),
    cacheSize: config.MODEL_CACHE_SIZE,
  });

  const jobs = new JobService({ config, redis, keys, jobs: jobStore, datasets: datasetStore, models: modelStore, queue });
  const sweepStore = new SweepStore(redis, keys);
  const sweeps = new SweepService({ sweeps: sweepStore, jobs, models: modelStore, limits: jobLimits(config) });
  const sweepEvents = createRedis(config, { name: 'api-sweeps', blocking: true });
  sweepEvents.on('error', quiet);
  const sweepController = new SweepController(sweeps, sweepStore, sweepEvents, keys.jobEvents('*'), pino({ level: config.LOG_LEVEL, name: 'sweeps' }));
  sweepController.start();

  let subscriber: Redis | null = null;
  let hub: JobEventHub | null = null;
  const events = (): JobEventHub => {
    subscriber ??= createRedis(config, { name: 'api-events', blocking: true });
    subscriber.on('error', quiet);
    hub ??= new JobEventHub(subscriber, keys);
    return hub;
  };

  return {
    config,
    redis,
    blobs,
    metrics,
    queue,
    datasetStore,
    jobStore,
    datasets: new DatasetService(datasetStore, blobs, {
      maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES,
      capacity: new UploadCapacity({
        maxConcurrent: config.MAX_CONCURRENT_UPLOADS,
        maxUploadBytes: config.MAX_UPLOAD_MEMORY_BYTES,
        maxTotalBytes: config.MAX_UPLOADS_MEMORY_BYTES,
      }),
    }),
    jobs,
    sweeps,
    models,
    gradientCheck: new GradientCheckService({ datasets: datasetStore, blobs, maxParameters: config.MAX_PARAMETERS }),
    events,
    readiness: () => checkReadiness(redis, blobs),
    /**
     * Removes the upload temp files and half-written blobs of processes that died mid-write. Storage
     * that cannot be read does not stop start-up: /ready names it.
     */
    async sweepOrphans(log: FastifyBaseLogger): Promise<void> {
      try {
        const removed = await blobs.sweep([UPLOAD_TEMP_PREFIX], new Date(Date.now() - config.ORPHAN_AGE_MS));
        if (removed > 0) log.info({ removed }, 'removed orphaned upload temp files and half-written blobs');
      } catch (error) {
        log.warn({ err: error }, 'could not sweep the data directory for orphaned files');
      }
    },
    async close(): Promise<void> {
      await sweepController.close();
      await models.close();
      await settleQueueHandshake(queue, redis);
      await queue.close();
      subscriber?.disconnect();
      redis.disconnect();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
