import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { redisUrl, type AppConfig } from '../config.js';

const RECONNECT_DELAY_STEP_MS = 100;
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * A Redis connection for metadata. Commands fail after a couple of reconnect attempts
 * instead of waiting forever, so an API request answers 503 while Redis is down.
 * BullMQ workers need `blocking: true` (no per-command retry limit).
 */
export function createRedis(config: AppConfig, options: { name: string; blocking?: boolean }): Redis {
  const redisOptions: RedisOptions = {
    connectionName: `${config.REDIS_PREFIX}:${options.name}`,
    maxRetriesPerRequest: options.blocking ? null : 2,
    retryStrategy: (attempt) => Math.min(attempt * RECONNECT_DELAY_STEP_MS, MAX_RECONNECT_DELAY_MS),
  };
  return new Redis(redisUrl(config), redisOptions);
}

/**
 * Runs a transaction and throws the first command's error: a transaction answers each command's
 * error in its results rather than rejecting.
 */
export async function execOrThrow(multi: ChainableCommander): Promise<void> {
  const failed = (await multi.exec())?.find(([error]) => error);
  if (failed) throw failed[0];
}

/** Every Redis key the service writes, in one place, under the deployment's prefix. */
export function redisKeys(prefix: string) {
  return {
    datasets: `${prefix}:datasets`,
    datasetSequence: `${prefix}:datasets-seq`,
    dataset: (id: string) => `${prefix}:dataset:${id}`,
    datasetBySha: (sha256: string) => `${prefix}:dataset-sha:${sha256}`,
    datasetJobs: (id: string) => `${prefix}:dataset:${id}:jobs`,
    jobs: `${prefix}:jobs`,
    jobSequence: `${prefix}:jobs-seq`,
    jobsByState: (state: string) => `${prefix}:jobs:${state}`,
    job: (id: string) => `${prefix}:job:${id}`,
    jobSteps: (id: string) => `${prefix}:job:${id}:steps`,
    jobEpochs: (id: string) => `${prefix}:job:${id}:epochs`,
    jobTransitions: (id: string) => `${prefix}:job:${id}:transitions`,
    jobCheckpoints: (id: string) => `${prefix}:job:${id}:checkpoints`,
    jobEvents: (id: string) => `${prefix}:job:${id}:events`,
    stopChannel: `${prefix}:stop`,
    idempotency: (key: string) => `${prefix}:idempotency:${key}`,
    models: `${prefix}:models`,
    modelSequence: `${prefix}:models-seq`,
    model: (id: string) => `${prefix}:model:${id}`,
    datasetModels: (id: string) => `${prefix}:dataset:${id}:models`,
    /** The registry: names by first registration, each name's version counter, versions and aliases, and each model's name and version. */
    registry: `${prefix}:registry`,
    registryCounter: (name: string) => `${prefix}:registry:${name}:seq`,
    registryVersions: (name: string) => `${prefix}:registry:${name}:versions`,
    registryAliases: (name: string) => `${prefix}:registry:${name}:aliases`,
    registrations: `${prefix}:registrations`,
    sweeps: `${prefix}:sweeps`,
    sweepSequence: `${prefix}:sweeps-seq`,
    sweepsRunning: `${prefix}:sweeps:running`,
    sweep: (id: string) => `${prefix}:sweep:${id}`,
    sweepLock: (id: string) => `${prefix}:sweep:${id}:lock`,
    bullPrefix: `${prefix}:bull`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

