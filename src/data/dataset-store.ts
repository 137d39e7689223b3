import type { Redis } from 'ioredis';
import { pageOfIndex } from '../storage/paging.js';
import type { RedisKeys } from '../storage/redis.js';
import { datasetSchema, type DatasetRecord } from './dataset-schema.js';

/** Claims the content hash and stores the record in one step; answers the id that owns the hash. */
const CREATE_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
  return ARGV[1]
end
return redis.call('GET', KEYS[1])`;

/** Removes the record unless a job holds the dataset or a model was trained on it; answers 1 when removed, 0 when in use, -1 when missing. */
const DELETE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SCARD', KEYS[2]) > 0 or redis.call('SCARD', KEYS[5]) > 0 then return 0 end
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

export interface DatasetUse {
  jobs: string[];
  models: string[];
}

/** Dataset metadata in Redis: one JSON record per id, a by-date index, and a by-hash index for dedup. */
export class DatasetStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  /** Stores the record unless a dataset with the same sha256 exists; answers the id that owns the content. */
  async create(record: DatasetRecord): Promise<string> {
    const owner = await this.redis.eval(
      CREATE_SCRIPT, 4,
      this.keys.datasetBySha(record.sha256), this.keys.dataset(record.id), this.keys.datasets, this.keys.datasetSequence,
      record.id, JSON.stringify(record),
    );
    return String(owner);
  }

  async get(id: string): Promise<DatasetRecord | null> {
    const text = await this.redis.get(this.keys.dataset(id));
    return text === null ? null : datasetSchema.parse(JSON.parse(text));
  }

  /** The queued or running jobs that hold the dataset, and the models trained on it. */
  async usedBy(ids: readonly string[]): Promise<DatasetUse[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.smembers(this.keys.datasetJobs(id)).smembers(this.keys.datasetModels(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((_, i) => ({
      jobs: ((replies[2 * i]?.[1] as string[]) ?? []).sort(),
      models: ((replies[2 * i + 1]?.[1] as string[]) ?? []).sort(),
    }));
  }

  async findIdBySha(sha256: string): Promise<string | null> {
    return this.redis.get(this.keys.datasetBySha(sha256));
  }

  /** Newest first, a page at a time; the cursor is the upload number of the last dataset of the previous page. */
  async list(limit: number, cursor: string | undefined): Promise<{ datasets: DatasetRecord[]; nextCursor: string | null }> {
    const { ids: page, nextCursor } = await pageOfIndex(this.redis, this.keys.datasets, limit, cursor);
    const texts = page.length === 0 ? [] : await this.redis.mget(page.map((id) => this.keys.dataset(id)));
    return {
      datasets: texts.flatMap((text) => (text === null ? [] : [datasetSchema.parse(JSON.parse(text))])),
      nextCursor,
    };
  }

  async delete(record: DatasetRecord): Promise<DeleteOutcome> {
    const result = await this.redis.eval(
      DELETE_SCRIPT, 5,
      this.keys.dataset(record.id), this.keys.datasetJobs(record.id), this.keys.datasets, this.keys.datasetBySha(record.sha256), this.keys.datasetModels(record.id),
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
