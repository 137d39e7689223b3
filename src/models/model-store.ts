import type { Redis } from 'ioredis';
import type { Readable } from 'node:stream';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import { pageOfIndex } from '../storage/paging.js';
import type { RedisKeys } from '../storage/redis.js';
import { modelSchema, type ModelRecord, type ModelVersion, type Registration } from './model-schema.js';

export const modelBlobKey = (id: string): string => `models/${id}.mlps`;

/**
 * Stores the record, indexes it by creation and by dataset, and when a name is given makes it that
 * name's next version, in one step. KEYS: record, creation index, dataset's models, name's version
 * counter, name's versions, registrations, names, creation counter. ARGV: id, record JSON, time,
 * name or ''. Answers the version, or 0 when unnamed.
 */
const CREATE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[8]), ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[4] == '' then return 0 end
local version = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[5], version, ARGV[1])
redis.call('HSET', KEYS[6], ARGV[1], cjson.encode({ name = ARGV[4], version = version }))
redis.call('ZADD', KEYS[7], 'NX', ARGV[3], ARGV[4])
return version`;

/**
 * Removes a model unless an alias points at it; nothing is left pointing at it: its version, its
 * place in the dataset's models, and its job's modelId go too. KEYS: record, by-date index,
 * dataset's models, job hash, name's versions (or a dummy), name's aliases (or a dummy),
 * registrations. ARGV: id, version or ''. Answers 'deleted', 'missing', or the alias that holds it.
 */
const DELETE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if ARGV[2] ~= '' then
  local aliases = redis.call('HGETALL', KEYS[6])
  for i = 1, #aliases, 2 do
    if aliases[i + 1] == ARGV[2] then return 'alias:' .. aliases[i] end
  end
  redis.call('HDEL', KEYS[5], ARGV[2])
  redis.call('HDEL', KEYS[7], ARGV[1])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[4], 'modelId') == ARGV[1] then redis.call('HDEL', KEYS[4], 'modelId') end
return 'deleted'`;

/**
 * Makes an existing model the next version of a name, unless it already is a version of one (then
 * answers that registration). KEYS: record, name's counter, name's versions, registrations, names.
 * ARGV: id, name, time. Answers the registration as JSON, or '' when the model is gone.
 */
const REGISTER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local existing = redis.call('HGET', KEYS[4], ARGV[1])
if existing then return existing end
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], version, ARGV[1])
local registration = cjson.encode({ name = ARGV[2], version = version })
redis.call('HSET', KEYS[4], ARGV[1], registration)
redis.call('ZADD', KEYS[5], 'NX', ARGV[3], ARGV[2])
return registration`;

/** Points an alias at a version that exists; answers 1, or 0 when there is no such version. */
const SET_ALIAS_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`;

export type ModelDeleteOutcome = { kind: 'deleted' } | { kind: 'missing' } | { kind: 'aliased'; alias: string };

/**
 * Model snapshots in blob storage, their metadata in Redis, and the registry in MLflow's terms:
 * a name has numbered versions (each a model) and aliases that point at one version.
 */
export class ModelStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys, private readonly blobs: BlobStore) {}

  /** The snapshot is written first, so a record never points at a missing file. Answers the registration, if named. */
  async create(record: ModelRecord, snapshot: Uint8Array, registerAs: string | null): Promise<Registration | null> {
    await this.blobs.put(modelBlobKey(record.id), snapshot);
    const name = registerAs ?? '';
    const version = await this.redis.eval(
      CREATE_SCRIPT, 8,
      this.keys.model(record.id), this.keys.models, this.keys.datasetModels(record.datasetId),
      this.keys.registryCounter(name), this.keys.registryVersions(name), this.keys.registrations, this.keys.registry, this.keys.modelSequence,
      record.id, JSON.stringify({ ...record, registered: null }), Date.parse(record.createdAt), name,
    );
    return registerAs ? { name: registerAs, version: Number(version) } : null;
  }

  /** Registers a model after the fact (a sweep's best trial); a model already registered keeps its name and version. Null when it is gone. */
  async register(id: string, name: string): Promise<Registration | null> {
    const registration = String(await this.redis.eval(
      REGISTER_SCRIPT, 5,
      this.keys.model(id), this.keys.registryCounter(name), this.keys.registryVersions(name), this.keys.registrations, this.keys.registry,
      id, name, Date.now(),
    ));
    return registration === '' ? null : (JSON.parse(registration) as Registration);
  }

  async get(id: string): Promise<ModelRecord | null> {
    const [text, registration] = await Promise.all([this.redis.get(this.keys.model(id)), this.redis.hget(this.keys.registrations, id)]);
    return text === null ? null : this.parse(text, registration);
  }

  /** Newest first, a page at a time; the cursor is the creation number of the last model of the previous page. */
  async list(limit: number, cursor: string | undefined): Promise<{ models: ModelRecord[]; nextCursor: string | null }> {
    const { ids: page, nextCursor } = await pageOfIndex(this.redis, this.keys.models, limit, cursor);
    if (page.length === 0) return { models: [], nextCursor };
    const [texts, registrations] = await Promise.all([
      this.redis.mget(page.map((id) => this.keys.model(id))),
      this.redis.hmget(this.keys.registrations, ...page),
    ]);
    return {
      models: texts.flatMap((text, i) => (text === null ? [] : [this.parse(text, registrations[i])])),
      nextCursor,
    };
  }

  snapshotStream(id: string): Promise<Readable> {
    return this.blobs.get(modelBlobKey(id));
  }

  snapshot(id: string): Promise<Buffer> {
    return readBlob(this.blobs, modelBlobKey(id));
  }

  async delete(record: ModelRecord): Promise<ModelDeleteOutcome> {
    const name = record.registered?.name ?? '';
    const outcome = String(await this.redis.eval(
      DELETE_SCRIPT, 7,
      this.keys.model(record.id), this.keys.models, this.keys.datasetModels(record.datasetId), this.keys.job(record.jobId),
      this.keys.registryVersions(name), this.keys.registryAliases(name), this.keys.registrations,
      record.id, record.registered ? String(record.registered.version) : '',
    ));
    if (outcome.startsWith('alias:')) return { kind: 'aliased', alias: outcome.slice('alias:'.length) };
    if (outcome === 'missing') return { kind: 'missing' };
    await this.blobs.delete(modelBlobKey(record.id));
    return { kind: 'deleted' };
  }

  /** A name's versions, oldest first, with the aliases on each; null for a name never registered. */
  async versions(name: string): Promise<ModelVersion[] | null> {
    const [versions, aliases] = await Promise.all([
      this.redis.hgetall(this.keys.registryVersions(name)),
      this.redis.hgetall(this.keys.registryAliases(name)),
    ]);
    if (Object.keys(versions).length === 0 && (await this.redis.zscore(this.keys.registry, name)) === null) return null;
    return Object.entries(versions)
      .map(([version, modelId]) => ({
        version: Number(version),
        modelId,
        aliases: Object.entries(aliases).filter(([, target]) => target === version).map(([alias]) => alias).sort(),
      }))
      .sort((a, b) => a.version - b.version);
  }

  async modelIdOf(name: string, version: number): Promise<string | null> {
    return this.redis.hget(this.keys.registryVersions(name), String(version));
  }

  async aliasVersion(name: string, alias: string): Promise<number | null> {
    const version = await this.redis.hget(this.keys.registryAliases(name), alias);
    return version === null ? null : Number(version);
  }

  /** False when the name has no such version. */
  async setAlias(name: string, alias: string, version: number): Promise<boolean> {
    return (await this.redis.eval(SET_ALIAS_SCRIPT, 2, this.keys.registryVersions(name), this.keys.registryAliases(name), alias, String(version))) === 1;
  }

  /** False when there was no such alias. */
  async deleteAlias(name: string, alias: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.registryAliases(name), alias)) === 1;
  }

  /** The models trained on a dataset, for its record and to keep it from being deleted under them. */
  async idsForDataset(datasetId: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.datasetModels(datasetId))).sort();
  }

  private parse(text: string, registration: string | null): ModelRecord {
    return modelSchema.parse({ ...JSON.parse(text), registered: registration === null ? null : JSON.parse(registration) });
  }
}
