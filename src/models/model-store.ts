import type { Redis } from 'ioredis';
import type { Readable } from 'node:stream';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import type { RedisKeys } from '../storage/redis.js';
import { modelSchema, type ModelRecord } from './model-schema.js';

export const modelBlobKey = (id: string): string => `models/${id}.mlps`;

/** Model snapshots in blob storage, their metadata in Redis (a JSON record per id and a by-date index). */
export class ModelStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys, private readonly blobs: BlobStore) {}

  /** The snapshot is written first, so a record never points at a missing file. */
  async create(record: ModelRecord, snapshot: Uint8Array): Promise<void> {
    await this.blobs.put(modelBlobKey(record.id), snapshot);
    await this.redis
      .multi()
      .set(this.keys.model(record.id), JSON.stringify(record))
      .zadd(this.keys.models, Date.parse(record.createdAt), record.id)
      .exec();
  }

  async get(id: string): Promise<ModelRecord | null> {
    const text = await this.redis.get(this.keys.model(id));
    return text === null ? null : modelSchema.parse(JSON.parse(text));
  }

  /** Newest first. */
  async list(): Promise<ModelRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.models, 0, -1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.keys.model(id)));
    return texts.flatMap((text) => (text === null ? [] : [modelSchema.parse(JSON.parse(text))]));
  }

  snapshotStream(id: string): Promise<Readable> {
    return this.blobs.get(modelBlobKey(id));
  }

  snapshot(id: string): Promise<Buffer> {
    return readBlob(this.blobs, modelBlobKey(id));
  }

  /** Answers false when there was no such model. */
  async delete(id: string): Promise<boolean> {
    const [[, removed]] = (await this.redis.multi().del(this.keys.model(id)).zrem(this.keys.models, id).exec()) as [[Error | null, number]];
    await this.blobs.delete(modelBlobKey(id));
    return removed === 1;
  }
}
