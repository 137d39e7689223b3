import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { pageOfIndex } from '../storage/paging.js';
import { execOrThrow, type RedisKeys } from '../storage/redis.js';
import {
  checkpointRecordSchema, FINISHED_STATES, JOB_STATES, jobSpecSchema,
  type BestMetrics, type CheckpointRecord, type EpochRecord, type HistoryDetail, type Job, type JobError, type JobLabelsRequest, type JobListQuery, type JobProgress,
  type JobSpec, type JobState, type JobSummary, type JobTransition, type StepRecord, type StoredDiagnostics,
} from './job-schema.js';
import type { Diagnostics, LearningRateSearch, TrainingNote } from '../core/index.js';
import type { RequestedStop } from './stop-cause.js';
import { compareRunValues, filterWords, RUN_FIELDS, runMatches, type RunFieldContext, type RunValue } from './run-fields.js';

/**
 * Moves a job between states atomically: only from an allowed state, with the transition
 * appended, the per-state indexes updated and an event published. Answers 1, or the
 * current state when the move is not allowed.
 */
const TRANSITION_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return 'missing' end
local allowed = false
for state in string.gmatch(ARGV[1], '[^,]+') do
  if state == current then allowed = true end
end
if not allowed then return current end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
for field, value in pairs(cjson.decode(ARGV[4])) do redis.call('HSET', KEYS[1], field, value) end
for _, field in ipairs(cjson.decode(ARGV[7])) do redis.call('HDEL', KEYS[1], field) end
redis.call('RPUSH', KEYS[2], ARGV[3])
local seq = redis.call('HGET', KEYS[1], 'seq')
redis.call('ZREM', ARGV[5] .. current, ARGV[6])
redis.call('ZADD', ARGV[5] .. ARGV[2], seq, ARGV[6])
redis.call('PUBLISH', KEYS[3], '{"type":"state","transition":' .. ARGV[3] .. '}')
return 1`;

/** Keeps the job's best accuracy: sets the hash field when the epoch's is higher, or the field is unset. */
const BEST_ACCURACY_SCRIPT = `
local best = tonumber(redis.call('HGET', KEYS[1], 'bestAccuracy'))
if not best or tonumber(ARGV[1]) > best then redis.call('HSET', KEYS[1], 'bestAccuracy', ARGV[1]) end
return 1`;

/**
 * Appends a batch's steps, epochs and checkpoint to their lists (KEYS[1..3]) and publishes its
 * events (on KEYS[4]), unless the batch already ends the lists. ARGV holds how many records go to
 * each, then the records in that order. A write whose reply was lost when Redis went down may have
 * landed, and is sent again, by ioredis or by the recorder: step and epoch numbers only grow, also
 * after a rewind, so a batch whose last records already end the lists landed, and changes nothing.
 */
const APPEND_HISTORY_SCRIPT = `
local parts = {}
local at = 5
for i = 1, 4 do
  local count = tonumber(ARGV[i])
  parts[i] = { first = at, last = at + count - 1 }
  at = at + count
end
local landed = true
for i = 1, 3 do
  local part = parts[i]
  if part.last >= part.first and redis.call('LINDEX', KEYS[i], -1) ~= ARGV[part.last] then landed = false end
end
if landed then return 0 end
for i = 1, 3 do
  for j = parts[i].first, parts[i].last do redis.call('RPUSH', KEYS[i], ARGV[j]) end
end
for j = parts[4].first, parts[4].last do redis.call('PUBLISH', KEYS[4], ARGV[j]) end
return 1`;

/** What the job's best accuracy is made of: validation accuracy when the job has validation data, else training accuracy. */
const epochAccuracy = (epoch: EpochRecord): number => epoch.valAccuracy ?? epoch.trainAccuracy;

const LOWER_IS_BETTER = { trainLoss: true, valLoss: true, trainAccuracy: false, valAccuracy: false } as const;

/** Folds epochs into the best of each metric so far; a loss that is not finite (a divergence) is never the best. */
export function bestMetricsOf(previous: BestMetrics | null, epochs: readonly EpochRecord[]): BestMetrics | null {
  if (epochs.length === 0) return previous;
  const best: BestMetrics = { ...previous };
  for (const epoch of epochs) {
    for (const [name, lower] of Object.entries(LOWER_IS_BETTER) as [keyof BestMetrics, boolean][]) {
      const value = epoch[name];
      if (value === undefined || !Number.isFinite(value)) continue;
      const earlier = best[name];
      if (earlier === undefined || (lower ? value < earlier : value > earlier)) best[name] = value;
    }
  }
  return best;
}

/** Where a sorted or filtered list's previous page ended: the last run's sort value and creation number. */
const scanCursorSchema = z.tuple([z.union([z.number(), z.string(), z.null()]), z.int()]);

function encodeScanCursor(value: RunValue, seq: number): string {
  return Buffer.from(JSON.stringify([value, seq])).toString('base64url');
}

const cursorError = () =>
  new AppError('VALIDATION_FAILED', 'querystring.cursor: not the nextCursor of a page with this sort and filter; start again without cursor', { field: 'cursor' });

function decodeScanCursor(cursor: string): [RunValue, number] {
  try {
    return scanCursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString()));
  } catch {
    throw cursorError();
  }
}

/** Job hashes read per pipeline while scanning for a sorted or filtered list. */
const SCAN_BATCH = 500;

export type JobEvent =
  | { type: 'state'; transition: JobTransition }
  | { type: 'step'; step: StepRecord; progress: JobProgress }
  | { type: 'epoch'; epoch: EpochRecord; progress: JobProgress; diagnostics: StoredDiagnostics };

export interface TransitionOptions {
  from: readonly JobState[];
  to: JobState;
  reason?: string;
  resumedFromEpoch?: number;
  /** Hash fields set in the same step, e.g. finishedAt or modelId. */
  fields?: Record<string, string>;
  /** Hash fields removed in the same step, e.g. a finished job's error when it is resumed. */
  clear?: readonly string[];
}

/** What a worker writes to a job's history in one round trip: records, the latest progress, events for SSE, and maybe the checkpoint they lead up to. */
export interface HistoryBatch {
  steps: StepRecord[];
  epochs: EpochRecord[];
  progress: JobProgress | null;
  diagnostics: Diagnostics | null;
  events: JobEvent[];
  checkpoint: CheckpointRecord | null;
}

const parseJson = <T>(text: string | null | undefined): T | null => (text ? (JSON.parse(text) as T) : null);

/**
 * Job state and history in our own Redis keys (BullMQ's events are best-effort and trimmed):
 * a hash per job, lists for transitions, steps, epochs and checkpoints, and one sorted set
 * per state ordered by creation.
 */
export class JobStore {
  private readonly scans = new Map<string, Promise<{ job: JobSummary; seq: number }[]>>();

  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async create(spec: JobSpec): Promise<void> {
    const seq = await this.redis.incr(this.keys.jobSequence);
    const transition: JobTransition = { state: 'queued', at: spec.createdAt };
    await this.redis
      .multi()
      .hset(this.keys.job(spec.id), { spec: JSON.stringify(spec), state: 'queued', seq })
      .rpush(this.keys.jobTransitions(spec.id), JSON.stringify(transition))
      .zadd(this.keys.jobs, seq, spec.id)
      .zadd(this.keys.jobsByState('queued'), seq, spec.id)
      .exec();
  }

  async spec(id: string): Promise<JobSpec | null> {
    const text = await this.redis.hget(this.keys.job(id), 'spec');
    return text === null ? null : jobSpecSchema.parse(JSON.parse(text));
  }

  async state(id: string): Promise<JobState | null> {
    return (await this.redis.hget(this.keys.job(id), 'state')) as JobState | null;
  }

  /** True when the move happened; false when the job was not in an allowed state. */
  async transition(id: string, options: TransitionOptions): Promise<boolean> {
    const transition: JobTransition = {
      state: options.to,
      at: new Date().toISOString(),
      ...(options.reason !== undefined && { reason: options.reason }),
      ...(options.resumedFromEpoch !== undefined && { resumedFromEpoch: options.resumedFromEpoch }),
    };
    const result = await this.redis.eval(
      TRANSITION_SCRIPT, 3,
      this.keys.job(id), this.keys.jobTransitions(id), this.keys.jobEvents(id),
      options.from.join(','), options.to, JSON.stringify(transition), JSON.stringify(options.fields ?? {}),
      this.keys.jobsByState(''), id, JSON.stringify(options.clear ?? []),
    );
    return result === 1;
  }

  /** Stamps startedAt on the first start only; answers it. */
  async markStarted(id: string): Promise<string> {
    const [, [, startedAt]] = (await this.redis
      .multi()
      .hsetnx(this.keys.job(id), 'startedAt', new Date().toISOString())
      .hget(this.keys.job(id), 'startedAt')
      .exec()) as [[Error | null, number], [Error | null, string]];
    return startedAt;
  }

  /** Records a cancel or stop for the worker to carry out; the first one asked for stands. */
  async requestStop(id: string, cause: RequestedStop): Promise<void> {
    await this.redis.hsetnx(this.keys.job(id), 'stopRequested', cause);
  }

  async stopRequested(id: string): Promise<RequestedStop | null> {
    return (await this.redis.hget(this.keys.job(id), 'stopRequested')) as RequestedStop | null;
  }

  /**
   * Appends a batch of history in one transaction. A checkpoint's record lands with the epochs
   * before it, so the history never lags behind a resumable point: a resume drops only the
   * records after the checkpoint it starts from. Sent again after a lost reply, a batch that
   * landed adds no record and no event (see APPEND_HISTORY_SCRIPT); the other writes set the same
   * values again.
   */
  async appendHistory(id: string, batch: HistoryBatch): Promise<void> {
    const multi = this.redis.multi();
    if (batch.epochs.length > 0) {
      // One worker writes a job's history at a time, so reading the bests first cannot race.
      const previous = parseJson<BestMetrics>(await this.redis.hget(this.keys.job(id), 'bestMetrics'));
      multi.hset(this.keys.job(id), 'bestMetrics', JSON.stringify(bestMetricsOf(previous, batch.epochs)));
    }
    const records = [batch.steps, batch.epochs, batch.checkpoint ? [batch.checkpoint] : [], batch.events];
    multi.eval(
      APPEND_HISTORY_SCRIPT, 4, this.keys.jobSteps(id), this.keys.jobEpochs(id), this.keys.jobCheckpoints(id), this.keys.jobEvents(id),
      ...records.map((list) => String(list.length)), ...records.flat().map((record) => JSON.stringify(record)),
    );
    for (const epoch of batch.epochs) multi.eval(BEST_ACCURACY_SCRIPT, 1, this.keys.job(id), String(epochAccuracy(epoch)));
    if (batch.progress) multi.hset(this.keys.job(id), 'progress', JSON.stringify(batch.progress));
    if (batch.diagnostics) multi.hset(this.keys.job(id), 'diagnostics', JSON.stringify(batch.diagnostics));
    await execOrThrow(multi);
  }

  /** The accuracy of the epoch whose weights the model keeps, which may be below an earlier peak. */
  async setBestAccuracy(id: string, accuracy: number): Promise<void> {
    await this.redis.hset(this.keys.job(id), 'bestAccuracy', String(accuracy));
  }

  async setDiagnostics(id: string, diagnostics: Diagnostics): Promise<void> {
    await this.redis.hset(this.keys.job(id), 'diagnostics', JSON.stringify(diagnostics));
  }

  /** What the run did on its own, such as a fresh start, in words; a note replayed after a resume is kept once. */
  async addRunNote(id: string, note: TrainingNote): Promise<void> {
    const notes = parseJson<TrainingNote[]>(await this.redis.hget(this.keys.job(id), 'runNotes')) ?? [];
    if (notes.some((earlier) => earlier.message === note.message)) return;
    await this.redis.hset(this.keys.job(id), 'runNotes', JSON.stringify([...notes, note]));
  }

  async setLearningRateSearch(id: string, search: LearningRateSearch): Promise<void> {
    await this.redis.hset(this.keys.job(id), 'learningRateSearch', JSON.stringify(search));
  }

  async addCheckpoint(id: string, checkpoint: CheckpointRecord): Promise<void> {
    await this.redis.rpush(this.keys.jobCheckpoints(id), JSON.stringify(checkpoint));
  }

  async checkpoints(id: string): Promise<CheckpointRecord[]> {
    const texts = await this.redis.lrange(this.keys.jobCheckpoints(id), 0, -1);
    return texts.map((text) => checkpointRecordSchema.parse(JSON.parse(text)));
  }

  /** Keeps the newest `keep` checkpoints; answers the ones dropped so their blobs can go. */
  async pruneCheckpoints(id: string, keep: number): Promise<CheckpointRecord[]> {
    const all = await this.checkpoints(id);
    const dropped = all.slice(0, Math.max(0, all.length - keep));
    if (dropped.length > 0) await this.redis.ltrim(this.keys.jobCheckpoints(id), dropped.length, -1);
    return dropped;
  }

  /** On resume, history written after the checkpoint is dropped: those steps run again, and the best accuracy is the kept epochs' best. */
  async rewindHistory(id: string, checkpoint: CheckpointRecord): Promise<void> {
    const [steps, epochs] = await Promise.all([
      this.redis.lrange(this.keys.jobSteps(id), 0, -1),
      this.redis.lrange(this.keys.jobEpochs(id), 0, -1),
    ]);
    const keptSteps = steps.filter((text) => (JSON.parse(text) as StepRecord).step <= checkpoint.step);
    const keptEpochs = epochs.filter((text) => (JSON.parse(text) as EpochRecord).epoch <= checkpoint.epoch);
    const multi = this.redis.multi().del(this.keys.jobSteps(id), this.keys.jobEpochs(id)).hdel(this.keys.job(id), 'bestAccuracy', 'bestMetrics');
    if (keptSteps.length > 0) multi.rpush(this.keys.jobSteps(id), ...keptSteps);
    if (keptEpochs.length > 0) {
      const kept = keptEpochs.map((text) => JSON.parse(text) as EpochRecord);
      multi.rpush(this.keys.jobEpochs(id), ...keptEpochs);
      multi.hset(this.keys.job(id), 'bestAccuracy', String(Math.max(...kept.map(epochAccuracy))), 'bestMetrics', JSON.stringify(bestMetricsOf(null, kept)));
    }
    await multi.exec();
  }

  /** When POST /jobs/:id/resume last queued the job, or null; its runtime counts from then. */
  async resumedAt(id: string): Promise<string | null> {
    return this.redis.hget(this.keys.job(id), 'resumedAt');
  }

  async lastEpoch(id: string): Promise<EpochRecord | null> {
    return parseJson<EpochRecord>(await this.redis.lindex(this.keys.jobEpochs(id), -1));
  }

  /** Sets the run's name and tags as asked; a null name removes it. */
  async setLabels(id: string, labels: JobLabelsRequest): Promise<void> {
    const multi = this.redis.multi();
    if (labels.name === null) multi.hdel(this.keys.job(id), 'name');
    else if (labels.name !== undefined) multi.hset(this.keys.job(id), 'name', labels.name);
    if (labels.tags !== undefined) multi.hset(this.keys.job(id), 'tags', JSON.stringify(labels.tags));
    await multi.exec();
  }

  /** Rewrites what a resume changes of the spec (its epochs or runtime). */
  async updateSpec(spec: JobSpec): Promise<void> {
    await this.redis.hset(this.keys.job(spec.id), 'spec', JSON.stringify(spec));
  }

  /** The job with as much of its history as asked for: none, its epochs, or its epochs and steps. */
  async get(id: string, history: HistoryDetail = 'steps'): Promise<Job | null> {
    const [hash, transitions, steps, epochs, checkpoints] = await Promise.all([
      this.redis.hgetall(this.keys.job(id)),
      this.redis.lrange(this.keys.jobTransitions(id), 0, -1),
      history === 'steps' ? this.redis.lrange(this.keys.jobSteps(id), 0, -1) : [],
      history === 'none' ? [] : this.redis.lrange(this.keys.jobEpochs(id), 0, -1),
      this.checkpoints(id),
    ]);
    if (!hash.spec) return null;
    const lastEpoch = history === 'none' ? await this.lastEpoch(id) : parseJson<EpochRecord>(epochs.at(-1));
    return {
      ...(await this.withBestMetrics(id, this.summaryFrom(hash, lastEpoch))),
      statusTransitions: transitions.map((text) => JSON.parse(text) as JobTransition),
      history: {
        steps: steps.map((text) => JSON.parse(text) as StepRecord),
        epochs: epochs.map((text) => JSON.parse(text) as EpochRecord),
      },
      diagnostics: parseJson<StoredDiagnostics>(hash.diagnostics),
      checkpoints: checkpoints.map(({ key: _key, ...visible }) => visible),
    };
  }

  /**
   * The step records from step `from` on, every `every`-th of them, at most `limit`: a long run's
   * loss curve at the resolution a chart needs. Answers null for an unknown job.
   */
  async steps(id: string, from: number, every: number, limit: number): Promise<{ steps: StepRecord[]; total: number } | null> {
    const [exists, texts] = await Promise.all([this.redis.exists(this.keys.job(id)), this.redis.lrange(this.keys.jobSteps(id), 0, -1)]);
    if (!exists) return null;
    const after = texts.map((text) => JSON.parse(text) as StepRecord).filter((step) => step.step >= from);
    return { steps: after.filter((_, i) => i % every === 0).slice(0, limit), total: after.length };
  }

  /**
   * One page of runs. Newest first over the creation index, whose cursor is a creation number;
   * any other order or a filter reads every run in the state's index and sorts and filters them
   * here (50-90 ms per 1,000 runs on a 2-core VM), with the last run's sort value and
   * creation number as the cursor, so a page stays right while runs are added or removed.
   */
  async list(query: JobListQuery, datasetNames: ReadonlyMap<string, string> = new Map()): Promise<{ jobs: JobSummary[]; nextCursor: string | null; total: number }> {
    const index = query.state ? this.keys.jobsByState(query.state) : this.keys.jobs;
    const words = filterWords(query.q ?? '');
    if (query.sort === 'createdAt' && query.order === 'desc' && words.length === 0) {
      if (query.cursor !== undefined && !/^\d+$/.test(query.cursor)) throw cursorError();
      const [{ ids, nextCursor }, total] = await Promise.all([
        pageOfIndex(this.redis, index, query.limit, query.cursor),
        this.redis.zcard(index),
      ]);
      return { jobs: (await this.summaries(ids)).map(({ job }) => job), nextCursor, total };
    }
    const context: RunFieldContext = { now: Date.now(), datasetNames };
    const field = RUN_FIELDS[query.sort];
    const descending = query.order === 'desc';
    const rows = (await this.everySummary(index))
      .filter(({ job }) => runMatches(job, words, context))
      .map((row) => ({ ...row, value: field.value(row.job, context) }));
    // Ties go newest first, so the order is total and a cursor names one place in it.
    const order = (a: { value: RunValue; seq: number }, b: { value: RunValue; seq: number }) =>
      compareRunValues(a.value, b.value, descending) || b.seq - a.seq;
    rows.sort(order);
    let start = 0;
    if (query.cursor !== undefined) {
      const [value, seq] = decodeScanCursor(query.cursor);
      const after = rows.findIndex((row) => order(row, { value, seq }) > 0);
      start = after === -1 ? rows.length : after;
    }
    const page = rows.slice(start, start + query.limit);
    const last = page.at(-1);
    const nextCursor = last && start + query.limit < rows.length ? encodeScanCursor(last.value, last.seq) : null;
    return { jobs: page.map(({ job }) => job), nextCursor, total: rows.length };
  }

  /**
   * Every summary in an index. The dashboard reads each page it has loaded at once, so pages
   * asked for together share one scan: a read joins the scan still under way for its index.
   */
  private everySummary(index: string): Promise<{ job: JobSummary; seq: number }[]> {
    let scan = this.scans.get(index);
    if (!scan) {
      scan = this.redis.zrange(index, 0, -1).then((ids) => this.summaries(ids)).finally(() => this.scans.delete(index));
      this.scans.set(index, scan);
    }
    return scan;
  }

  /** The summaries of the jobs that still exist, with their creation numbers, read in pipelines. */
  private async summaries(ids: readonly string[]): Promise<{ job: JobSummary; seq: number }[]> {
    const rows: { job: JobSummary; seq: number }[] = [];
    for (let start = 0; start < ids.length; start += SCAN_BATCH) {
      const batch = ids.slice(start, start + SCAN_BATCH);
      const pipeline = this.redis.pipeline();
      for (const id of batch) pipeline.hgetall(this.keys.job(id)).lindex(this.keys.jobEpochs(id), -1);
      const replies = (await pipeline.exec()) ?? [];
      for (let i = 0; i < batch.length; i += 1) {
        const [hashError, hash] = replies[2 * i] as [Error | null, Record<string, string>];
        const [epochError, lastEpoch] = replies[2 * i + 1] as [Error | null, string | null];
        if (hashError || epochError) throw hashError ?? epochError;
        if (!hash.spec) continue;
        const job = this.summaryFrom(hash, parseJson<EpochRecord>(lastEpoch));
        rows.push({ job: await this.withBestMetrics(batch[i], job), seq: Number(hash.seq) });
      }
    }
    return rows;
  }

  /** Jobs recorded before best metrics were kept get them from their epochs once, and keep them. */
  private async withBestMetrics(id: string, job: JobSummary): Promise<JobSummary> {
    if (job.bestMetrics !== null || job.lastEpoch === null) return job;
    const epochs = (await this.redis.lrange(this.keys.jobEpochs(id), 0, -1)).map((text) => JSON.parse(text) as EpochRecord);
    const bestMetrics = bestMetricsOf(null, epochs);
    await this.redis.hset(this.keys.job(id), 'bestMetrics', JSON.stringify(bestMetrics));
    return { ...job, bestMetrics };
  }

  async countsByState(): Promise<Record<JobState, number>> {
    const counts = await Promise.all(JOB_STATES.map((state) => this.redis.zcard(this.keys.jobsByState(state))));
    return Object.fromEntries(JOB_STATES.map((state, i) => [state, counts[i]])) as Record<JobState, number>;
  }

  async runningSamplesPerSecond(): Promise<number> {
    const ids = await this.redis.zrange(this.keys.jobsByState('running'), 0, -1);
    const progresses = await Promise.all(ids.map((id) => this.redis.hget(this.keys.job(id), 'progress')));
    return progresses.reduce((sum, text) => sum + (parseJson<JobProgress>(text)?.samplesPerSecond ?? 0), 0);
  }

  private summaryFrom(hash: Record<string, string>, lastEpoch: EpochRecord | null): JobSummary {
    const spec = jobSpecSchema.parse(JSON.parse(hash.spec));
    const state = hash.state as JobState;
    const progress = parseJson<JobProgress>(hash.progress);
    return {
      ...spec,
      notes: [...spec.notes, ...(parseJson<TrainingNote[]>(hash.runNotes) ?? [])],
      accuracyKind: spec.validationDatasetId || spec.validationSplit ? 'validation' : 'training',
      learningRateSearch: parseJson<LearningRateSearch>(hash.learningRateSearch),
      state,
      stopRequested: (hash.stopRequested as RequestedStop | undefined) ?? null,
      // The estimate counts the epochs a run was set to, which one that ended early never ran.
      progress: progress && FINISHED_STATES.includes(state) ? { ...progress, etaSeconds: 0 } : progress,
      bestAccuracy: hash.bestAccuracy === undefined ? null : Number(hash.bestAccuracy),
      modelId: hash.modelId ?? null,
      stopReason: (hash.stopReason as JobSummary['stopReason'] | undefined) ?? null,
      error: parseJson<JobError>(hash.error),
      startedAt: hash.startedAt ?? null,
      resumedAt: hash.resumedAt ?? null,
      finishedAt: hash.finishedAt ?? null,
      name: hash.name ?? null,
      tags: parseJson<string[]>(hash.tags) ?? [],
      lastEpoch,
      bestMetrics: parseJson<BestMetrics>(hash.bestMetrics),
    };
  }
}
