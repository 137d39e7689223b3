import type { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import { DatasetService } from '../data/dataset-service.js';
import { DatasetStore } from '../data/dataset-store.js';
import type { BlobStore } from '../storage/blob-store.js';
import { FsBlobStore } from '../storage/fs-blob-store.js';
import { createRedis, redisKeys } from '../storage/redis.js';
import { createMetrics } from './metrics.js';
import { checkReadiness } from './readiness.js';

/** Everything the routes call, built once per app from the config. */
export function createServices(config: AppConfig) {
  const redis: Redis = createRedis(config, { name: 'api' });
  redis.on('error', () => {
    // Connection errors surface as failed commands (503) and in /ready; ioredis keeps reconnecting.
  });
  const blobs: BlobStore = new FsBlobStore(config.DATA_DIR);
  const keys = redisKeys(config.REDIS_PREFIX);
  const metrics = createMetrics();
  const datasetStore = new DatasetStore(redis, keys);
  const datasets = new DatasetService(datasetStore, blobs, { maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES });

  return {
    config,
    redis,
    keys,
    blobs,
    metrics,
    datasetStore,
    datasets,
    readiness: () => checkReadiness(redis, blobs),
    async close(): Promise<void> {
      redis.disconnect();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
