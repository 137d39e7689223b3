import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import { redisKeys } from '../storage/redis.js';

export const TRAINING_JOB_NAME = 'train';

/** BullMQ job data carries ids only; the worker reads everything else from Redis and storage. */
export interface TrainingJobData {
  jobId: string;
}

/** Failures that are not the job's fault (Redis or storage hiccups) are retried, resuming from the last checkpoint. */
const TRAINING_ATTEMPTS = 3;
const RETRY_BACKOFF_MS = 2000;
/** Finished BullMQ entries kept for the dashboard; our own job records are kept regardless. */
const FINISHED_ENTRIES_KEPT = 1000;

export function createTrainingQueue(config: AppConfig, connection: Redis): Queue<TrainingJobData> {
  return new Queue<TrainingJobData>(config.QUEUE_NAME, {
    connection,
    prefix: redisKeys(config.REDIS_PREFIX).bullPrefix,
    defaultJobOptions: {
      attempts: TRAINING_ATTEMPTS,
      backoff: { type: 'exponential', delay: RETRY_BACKOFF_MS },
      removeOnComplete: FINISHED_ENTRIES_KEPT,
      removeOnFail: FINISHED_ENTRIES_KEPT,
    },
  });
}
