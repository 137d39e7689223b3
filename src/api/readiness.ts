import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BlobStore } from '../storage/blob-store.js';
import type { ReadinessChecks } from './schemas/health.js';

const READINESS_TIMEOUT_MS = 1000;
const OK = 'ok';

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not answer within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(probe: () => Promise<unknown>, what: string): Promise<string> {
  try {
    await withTimeout(probe(), what);
    return OK;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Ready means Redis answers a PING and the data directory takes a write. */
export async function checkReadiness(redis: Redis, blobs: BlobStore): Promise<{ ready: boolean; checks: ReadinessChecks }> {
  const probeKey = `health/probe-${randomUUID()}`;
  const [redisCheck, storageCheck] = await Promise.all([
    check(() => redis.ping(), 'Redis'),
    check(async () => {
      await blobs.put(probeKey, Buffer.from('ok'));
      await blobs.delete(probeKey);
    }, 'Storage'),
  ]);
  return { ready: redisCheck === OK && storageCheck === OK, checks: { redis: redisCheck, storage: storageCheck } };
}
