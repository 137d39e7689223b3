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

/** BullMQ loses queued and running jobs when Redis evicts its keys; any policy but this one may. */
const REQUIRED_EVICTION_POLICY = 'noeviction';

/** What Redis would do at its memory limit, from INFO (CONFIG is often disabled on managed Redis). */
async function evictionWarnings(redis: Redis): Promise<string[]> {
  const policy = /^maxmemory_policy:(\S+)/m.exec(await redis.info('memory'))?.[1];
  if (!policy || policy === REQUIRED_EVICTION_POLICY) return [];
  return [`Redis has maxmemory-policy ${policy}: at its memory limit it may evict BullMQ's keys and lose jobs; set maxmemory-policy ${REQUIRED_EVICTION_POLICY}`];
}

/** Ready means Redis answers a PING and storage takes a write; warnings name settings that will lose data later. */
export async function checkReadiness(redis: Redis, blobs: BlobStore): Promise<{ ready: boolean; checks: ReadinessChecks; warnings: string[] }> {
  const probeKey = `health/probe-${randomUUID()}`;
  const [redisCheck, storageCheck] = await Promise.all([
    check(() => redis.ping(), 'Redis'),
    check(async () => {
      await blobs.put(probeKey, Buffer.from('ok'));
      await blobs.delete(probeKey);
    }, 'Storage'),
  ]);
  const warnings = redisCheck === OK ? await withTimeout(evictionWarnings(redis), 'Redis').catch(() => []) : [];
  return { ready: redisCheck === OK && storageCheck === OK, checks: { redis: redisCheck, storage: storageCheck }, warnings };
}
