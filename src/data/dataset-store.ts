import type { Redis } from 'ioredis';
import type { RedisKeys } from '../storage/redis.js';
import { datasetSchema, type DatasetRecord } from './dataset-schema.js';

/** Claims the content hash and stores the record in one step; answers the id that owns the hash. */
const CREATE_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  return ARGV[1]
end
return redis.call('GET', KEYS[1])`;

/** Removes the record unless a job holds the dataset; answers 1 when removed, 0 when in use, -1 when missing. */
const DELETE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SCARD', KEYS[2]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return 1`;

/** Adds a job to the dataset's holders only while the dataset exists; answers 1 or 0. */
const HOLD_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1`;

export type DeleteOutcome = 'deleted' | 'in_use' | 'missing';

/** Dataset metadata in Redis: one JSON record per id, a by-date index, and a by-hash index for dedup. */
export class DatasetStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  /** Stores the record unless a dataset with the same sha256 exists; answers the id that owns the content. */
  async create(record: DatasetRecord): Promise<string> {
    const owner = await this.redis.eval(
      CREATE_SCRIPT, 3,
      this.keys.datasetBySha(record.sha256), this.keys.dataset(record.id), this.keys.datasets,
      record.id, JSON.stringify(record), Date.parse(record.createdAt),
    );
    return String(owner);
  }

  async get(id: string): Promise<DatasetRecord | null> {
    const text = await this.redis.get(this.keys.dataset(id));
    return text === null ? null : datasetSchema.parse(JSON.parse(text));
  }

  async findIdBySha(sha256: string): Promise<string | null> {
    return this.redis.get(this.keys.datasetBySha(sha256));
  }

  /** Newest first. */
  async list(): Promise<DatasetRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.datasets, 0, -1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.keys.dataset(id)));
    return texts.flatMap((text) => (text === null ? [] : [datasetSchema.parse(JSON.parse(text))]));
  }

  async delete(record: DatasetRecord): Promise<DeleteOutcome> {
    const result = await this.redis.eval(
      DELETE_SCRIPT, 4,
      this.keys.dataset(record.id), this.keys.datasetJobs(record.id), this.keys.datasets, this.keys.datasetBySha(record.sha256),
      record.id,
    );
    return result === 1 ? 'deleted' : result === 0 ? 'in_use' : 'missing';
  }

  /** A queued or running job holds the dataset so it cannot be deleted; false when the dataset is gone. */
  async hold(datasetId: string, jobId: string): Promise<boolean> {
    const held = await this.redis.eval(HOLD_SCRIPT, 2, this.keys.dataset(datasetId), this.keys.datasetJobs(datasetId), jobId);
    return held === 1;
  }

  async release(datasetId: string, jobId: string): Promise<void> {
    await this.redis.srem(this.keys.datasetJobs(datasetId), jobId);
  }
}
