import type { Redis } from 'ioredis';
import type { RedisKeys } from '../storage/redis.js';
import { sweepRecordSchema, type SweepRecord } from './sweep-schema.js';

/** Newest sweeps a list shows. */
const LISTED_SWEEPS = 100;

/**
 * Sweeps as one JSON record each, an index by creation time, and the set of running ones the
 * controller advances. One controller at a time holds a sweep's lock, so a read-modify-write of
 * its record is safe even with several API processes.
 */
export class SweepStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async save(sweep: SweepRecord): Promise<void> {
    const multi = this.redis.multi()
      .set(this.keys.sweep(sweep.id), JSON.stringify(sweep))
      .zadd(this.keys.sweeps, Date.parse(sweep.createdAt), sweep.id);
    if (sweep.state === 'running') multi.sadd(this.keys.sweepsRunning, sweep.id);
    else multi.srem(this.keys.sweepsRunning, sweep.id);
    await multi.exec();
  }

  async get(id: string): Promise<SweepRecord | null> {
    const text = await this.redis.get(this.keys.sweep(id));
    return text === null ? null : sweepRecordSchema.parse(JSON.parse(text));
  }

  /** Newest first. */
  async list(): Promise<SweepRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.sweeps, 0, LISTED_SWEEPS - 1);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((record) => record !== null);
  }

  running(): Promise<string[]> {
    return this.redis.smembers(this.keys.sweepsRunning);
  }

  /** True when this owner now holds the sweep's lock for `ms`. */
  async lock(id: string, owner: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.keys.sweepLock(id), owner, 'PX', ms, 'NX')) === 'OK';
  }

  async unlock(id: string, owner: string): Promise<void> {
    await this.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.keys.sweepLock(id), owner);
  }
}
