import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createServices, type Services } from '../../src/api/services.js';
import { buildApp } from '../../src/app.js';
import { loadConfig, redisUrl, type AppConfig } from '../../src/config.js';

/** A config of its own for one test file: a fresh key prefix, queue name and data directory, and progress recorded every epoch. */
export async function isolatedConfig(overrides: Record<string, string> = {}): Promise<AppConfig> {
  const unique = `t${randomUUID().slice(0, 8)}`;
  return loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: `test-${unique}`,
    QUEUE_NAME: `training-${unique}`,
    DATA_DIR: await mkdtemp(join(tmpdir(), 'mlp-test-')),
    LOG_LEVEL: 'silent',
    ENABLE_DASHBOARDS: 'false',
    // Every epoch recorded and checkpointed, so tests can reason about each one.
    PROGRESS_INTERVAL_MS: '0',
    CHECKPOINT_INTERVAL_MS: '0',
    ...overrides,
  });
}

/** Deletes every Redis key under the config's prefix and its data directory. */
export async function removeIsolatedState(config: AppConfig): Promise<void> {
  const redis = new Redis(redisUrl(config));
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_PREFIX}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  await rm(config.DATA_DIR, { recursive: true, force: true });
}

/** An app on its own isolated state; `close()` shuts it and removes the state. */
export async function startTestApp(overrides: Record<string, string> = {}): Promise<{ app: FastifyInstance; config: AppConfig; services: Services; close(): Promise<void> }> {
  const config = await isolatedConfig(overrides);
  const services = createServices(config);
  const app = await buildApp(config, services);
  await app.ready();
  return {
    app,
    config,
    services,
    async close() {
      await app.close();
      await removeIsolatedState(config);
    },
  };
}
