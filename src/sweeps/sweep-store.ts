import type { Redis } from 'ioredis';
import { pageOfIndex, type PageQuery } from '../storage/paging.js';
import { execOrThrow, type RedisKeys } from '../storage/redis.js';
import { sweepRecordSchema, type SweepRecord } from './sweep-schema.js';

/**
 * Indexes a sweep the first time it is saved, under a creation number that pages can start after:
 * one more than the last one given, and never below the sweep's creation time in ms, which is what
 * the index held before it had numbers, so sweeps indexed then keep their place among the new.
 * KEYS: index, last number. ARGV: id, creation time in ms.
 */
const INDEX_ONCE_SCRIPT = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local number = math.max(tonumber(ARGV[2]), tonumber(redis.call('GET', KEYS[2]) or '0') + 1)
redis.call('SET', KEYS[2], number)
redis.call('ZADD', KEYS[1], number, ARGV[1])
return 1`;

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
      .eval(INDEX_ONCE_SCRIPT, 2, this.keys.sweeps, this.keys.sweepSequence, sweep.id, Date.parse(sweep.createdAt));
    if (sweep.state === 'running') multi.sadd(this.keys.sweepsRunning, sweep.id);
    else multi.srem(this.keys.sweepsRunning, sweep.id);
    await execOrThrow(multi);
  }

  async get(id: string): Promise<SweepRecord | null> {
    const text = await this.redis.get(this.keys.sweep(id));
    return text === null ? null : sweepRecordSchema.parse(JSON.parse(text));
  }

  /** One page, newest first, with the sweeps on every page. */
  async page({ limit, cursor }: PageQuery): Promise<{ sweeps: SweepRecord[]; nextCursor: string | null; total: number }> {
    const [{ ids, nextCursor }, total] = await Promise.all([
      pageOfIndex(this.redis, this.keys.sweeps, limit, cursor),
      this.redis.zcard(this.keys.sweeps),
    ]);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return { sweeps: records.filter((record) => record !== null), nextCursor, total };
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
