import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatNumber, type WarningCode } from '../core/index.js';
import { AppError } from '../errors.js';
import { FINISHED_STATES, jobRequestSchema, type EpochRecord, type Job, type JobLimits, type JobRequest } from '../queue/job-schema.js';
import type { ModelStore } from '../models/model-store.js';
import type { JobService } from '../queue/job-service.js';
import { newId } from '../storage/ids.js';
import type { PageQuery } from '../storage/paging.js';
import { continuesAtRung, rungEpochs, type MetricDirection } from './asha.js';
import { gridSize, gridTrials, randomTrials, type TrialParams } from './search-space.js';
import {
  INTEGER_FIELDS, SWEEP_LIMITS, TRIAL_STATES,
  type Sweep, type SweepList, type SweepMetric, type SweepRecord, type SweepRequest, type Trial, type TrialState,
} from './sweep-schema.js';
import type { SweepStore } from './sweep-store.js';

/** A trial whose diagnosis leads with one of these is stopped at once: it diverges or has stopped learning. */
export const HOPELESS_WARNINGS: ReadonlySet<WarningCode> = new Set(['TRAINING_DIVERGED', 'EXPLODING_GRADIENTS', 'DEAD_RELU', 'NOT_LEARNING']);
/** A controller holds a sweep this long per step; a crashed one's lock runs out. */
const LOCK_MS = 30_000;
const LOCK_RETRY_MS = 50;
const LOCK_ATTEMPTS = 100;

const DIRECTIONS: Record<SweepMetric, MetricDirection> = { valAccuracy: 'max', valLoss: 'min' };
const metricOf = (epoch: EpochRecord, metric: SweepMetric): number | undefined => epoch[metric];
const isBetter = (a: number, b: number, direction: MetricDirection): boolean => (direction === 'max' ? a > b : a < b);

/** Every trial, best score first; trials without one after them in their own order. */
export function leaderboard(trials: readonly Trial[], metric: SweepMetric): Trial[] {
  const direction = DIRECTIONS[metric];
  return [...trials].sort((a, b) => {
    if (a.score === null || b.score === null) return (a.score === null ? 1 : 0) - (b.score === null ? 1 : 0) || a.index - b.index;
    return (direction === 'max' ? b.score - a.score : a.score - b.score) || a.index - b.index;
  });
}

export function sweepView(record: SweepRecord): Sweep {
  const { trials, ...rest } = record;
  const counts = Object.fromEntries(TRIAL_STATES.map((state) => [state, trials.filter((trial) => trial.state === state).length])) as Record<TrialState, number>;
  return { ...rest, leaderboard: leaderboard(trials, record.request.metric), counts };
}

/** The POST /jobs request of one trial. */
function trialRequest(request: SweepRequest, params: TrialParams): Record<string, unknown> {
  const validation = request.validation && ('datasetId' in request.validation ? { validationDatasetId: request.validation.datasetId } : { validationSplit: request.validation.split });
  return { datasetId: request.datasetId, ...validation, ...request.base, ...params };
}

/**
 * Sweeps on the API side: creating one checks every trial as POST /jobs would; the controller
 * calls `advance` to follow trials' epochs, stop the ones ASHA or the diagnosis rules out, queue
 * the next ones up to maxConcurrent, and finish the sweep. Trials are ordinary jobs, so they
 * spread over every worker, and stop (keeping the model) and cancel are the jobs' own.
 */
export class SweepService {
  private readonly owner = randomUUID();

  constructor(private readonly deps: { sweeps: SweepStore; jobs: JobService; models: ModelStore; limits: JobLimits }) {}

  async create(request: SweepRequest): Promise<Sweep> {
    const drawn = this.draw(request);
    for (const [index, params] of drawn.entries()) await this.checkTrial(request, index, params);
    const now = new Date().toISOString();
    const sweep: SweepRecord = {
      id: newId('sweep'),
      request,
      state: 'running',
      rungs: request.scheduler === 'asha' ? rungEpochs({ ...request.asha, maxEpochs: request.base.epochs as number }) : [],
      trials: drawn.map((params, index) => ({ index, params, state: 'pending', jobId: null, epochs: 0, score: null, rungs: [], stopped: null, modelId: null, error: null })),
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      registered: null,
    };
    await this.deps.sweeps.save(sweep);
    await this.advance(sweep.id);
    return this.get(sweep.id);
  }

  async get(id: string): Promise<Sweep> {
    return sweepView(await this.record(id));
  }

  /** One page, newest first, each sweep with its leader instead of the whole leaderboard. */
  async list(query: PageQuery): Promise<SweepList> {
    const { sweeps, nextCursor, total } = await this.deps.sweeps.page(query);
    return {
      sweeps: sweeps.map((record) => {
        const { leaderboard: [leader], ...sweep } = sweepView(record);
        return { ...sweep, best: leader?.score === null ? null : leader ?? null };
      }),
      nextCursor,
      total,
    };
  }

  /** Cancels every trial queued or running, and the ones not started yet. */
  async cancel(id: string): Promise<Sweep> {
    await this.locked(id, true, async () => {
      const sweep = await this.record(id);
      if (sweep.state !== 'running') throw new AppError('SWEEP_FINISHED', `sweep ${id} is already ${sweep.state}`, { state: sweep.state });
      for (const trial of sweep.trials) {
        if (trial.state === 'running' && trial.jobId) await this.endJob(trial.jobId, 'cancel');
        if (trial.state === 'running' || trial.state === 'pending') trial.state = 'cancelled';
      }
      await this.finish(sweep, 'cancelled');
    });
    return this.get(id);
  }

  /** One step of the controller for one sweep; another process holding it means it is being advanced already. */
  async advance(id: string): Promise<void> {
    await this.locked(id, false, async () => {
      const sweep = await this.record(id);
      if (sweep.state !== 'running') return;
      const before = JSON.stringify(sweep.trials);
      for (const trial of sweep.trials) {
        if (trial.state === 'running') await this.follow(sweep, trial);
      }
      await this.fill(sweep);
      if (sweep.trials.every((trial) => trial.state !== 'pending' && trial.state !== 'running')) await this.finish(sweep, 'completed');
      else if (JSON.stringify(sweep.trials) !== before) await this.deps.sweeps.save({ ...sweep, updatedAt: new Date().toISOString() });
    });
  }

  private async record(id: string): Promise<SweepRecord> {
    const sweep = await this.deps.sweeps.get(id);
    if (!sweep) throw new AppError('SWEEP_NOT_FOUND', `No sweep has the id ${id}; GET /sweeps lists them`, { id });
    return sweep;
  }

  private draw(request: SweepRequest): TrialParams[] {
    if (request.strategy === 'random') return randomTrials(request.space, request.trials ?? SWEEP_LIMITS.defaultRandomTrials, request.seed, INTEGER_FIELDS);
    const ranges = Object.entries(request.space).filter(([, dimension]) => !('choices' in dimension)).map(([field]) => field);
    if (ranges.length > 0) throw new AppError('VALIDATION_FAILED', `body.space.${ranges[0]}: a grid takes { "choices": [...] } only; use strategy "random" for ranges`, { field: `space.${ranges[0]}` });
    const size = gridSize(request.space);
    if (size > SWEEP_LIMITS.maxTrials) throw new AppError('VALIDATION_FAILED', `body.space: the grid has ${size} combinations; at most ${SWEEP_LIMITS.maxTrials} are allowed`, { field: 'space' });
    if (request.trials !== undefined && request.trials > size) {
      throw new AppError('VALIDATION_FAILED', `body.trials: the grid has ${size} combinations, fewer than ${request.trials}; leave trials out to run them all`, { field: 'trials' });
    }
    return gridTrials(request.space, request.trials ?? size);
  }

  /** A trial must be a job POST /jobs would take, with validation data to be ranked on. */
  private async checkTrial(request: SweepRequest, index: number, params: TrialParams): Promise<void> {
    const where = (field: string): string => (field in params ? `body.space.${field}` : field in request.base ? `body.base.${field}` : `body.${field}`);
    const trial = `trial ${index} ${JSON.stringify(params)}`;
    const parsed = jobRequestSchema(this.deps.limits).safeParse(trialRequest(request, params));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue.path[0] ?? '');
      throw new AppError('VALIDATION_FAILED', `${where(field)}: ${issue.message} (${trial})`, { field, trial: index });
    }
    let spec;
    try {
      spec = await this.deps.jobs.plan(parsed.data as JobRequest);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const field = typeof error.details?.field === 'string' ? error.details.field : '';
      throw new AppError(error.code, `${error.message.replace(/^body\.\w+/, where(field))} (${trial})`, { ...error.details, trial: index });
    }
    if (!spec.validationDatasetId && !spec.validationSplit) {
      throw new AppError('INVALID_CONFIG', 'body.validation: trials are ranked on validation data, and this dataset is too small for the default hold-out; give validation { "split": 0.2 } or { "datasetId": … }', { field: 'validation' });
    }
  }

  /** Reads the trial's job: its epochs and score, its end, and whether ASHA or the diagnosis stops it now. */
  private async follow(sweep: SweepRecord, trial: Trial): Promise<void> {
    const { metric } = sweep.request;
    const direction = DIRECTIONS[metric];
    let job: Job;
    try {
      job = await this.deps.jobs.get(trial.jobId!, 'epochs');
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      Object.assign(trial, { state: 'failed', error: `its job ${trial.jobId} is gone` });
      return;
    }
    const values = new Map(job.history.epochs.flatMap((epoch) => {
      const value = metricOf(epoch, metric);
      return value === undefined ? [] : [[epoch.epoch, value] as const];
    }));
    trial.epochs = job.history.epochs.at(-1)?.epoch ?? 0;
    trial.score = [...values.values()].reduce<number | null>((best, value) => (best === null || isBetter(value, best, direction) ? value : best), null);
    // Rungs are recorded even for a trial that got past them before it was seen: later trials are judged against them.
    const ruledOut = this.recordRungs(sweep, trial, values);
    if (FINISHED_STATES.includes(job.state)) {
      trial.state = trial.stopped && job.state !== 'failed' ? 'pruned' : job.state as TrialState;
      trial.modelId = job.modelId;
      trial.error = job.error?.message ?? null;
      return;
    }
    if (trial.stopped) return;
    const primary = job.diagnostics?.warnings[0];
    if (primary && HOPELESS_WARNINGS.has(primary.code)) {
      await this.stopTrial(trial, { epoch: trial.epochs, reason: `the diagnosis leads with ${primary.code}: ${primary.message}` });
    } else if (ruledOut) {
      await this.stopTrial(trial, ruledOut);
    }
  }

  /** Records the trial's metric at each rung it has newly reached; answers the first rung that rules it out, if any. */
  private recordRungs(sweep: SweepRecord, trial: Trial, values: ReadonlyMap<number, number>): NonNullable<Trial['stopped']> | null {
    const { metric, asha: { reductionFactor } } = sweep.request;
    let ruledOut: NonNullable<Trial['stopped']> | null = null;
    for (const rung of sweep.rungs) {
      const value = values.get(rung);
      if (value === undefined || trial.rungs.some((reached) => reached.epoch === rung)) continue;
      const earlier = sweep.trials.flatMap((other) => other.rungs.filter((reached) => reached.epoch === rung).map((reached) => reached.value));
      trial.rungs.push({ epoch: rung, value });
      if (!ruledOut && !continuesAtRung(earlier, value, reductionFactor, DIRECTIONS[metric])) {
        ruledOut = { epoch: rung, reason: `${metric} ${formatNumber(value)} at epoch ${rung} is not in the top 1/${reductionFactor} of the ${earlier.length + 1} trials that reached it` };
      }
    }
    return ruledOut;
  }

  /** Queues pending trials, in order, while fewer than maxConcurrent are queued or running. */
  private async fill(sweep: SweepRecord): Promise<void> {
    let active = sweep.trials.filter((trial) => trial.state === 'running').length;
    for (const trial of sweep.trials) {
      if (active >= sweep.request.maxConcurrent) return;
      if (trial.state !== 'pending') continue;
      try {
        const job = await this.deps.jobs.create(trialRequest(sweep.request, trial.params) as JobRequest);
        Object.assign(trial, { state: 'running', jobId: job.id });
        active++;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        Object.assign(trial, { state: 'failed', error: error.message });
      }
    }
  }

  private async stopTrial(trial: Trial, stopped: NonNullable<Trial['stopped']>): Promise<void> {
    trial.stopped = stopped;
    await this.endJob(trial.jobId!, 'stop');
  }

  /** Stop keeps the model; a job still queued has none to keep and is cancelled. A job that has just finished needs neither. */
  private async endJob(jobId: string, how: 'stop' | 'cancel'): Promise<void> {
    try {
      if (how === 'stop') await this.deps.jobs.stop(jobId);
      else await this.deps.jobs.cancel(jobId);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'JOB_NOT_RUNNING') await this.endJob(jobId, 'cancel');
      else if (error.code !== 'JOB_FINISHED') throw error;
    }
  }

  private async finish(sweep: SweepRecord, state: 'completed' | 'cancelled'): Promise<void> {
    const now = new Date().toISOString();
    const registered = state === 'completed' ? await this.registerLeader(sweep) : null;
    await this.deps.sweeps.save({ ...sweep, state, updatedAt: now, finishedAt: now, registered });
  }

  /** With registerAs, the best trial with a model becomes the next version of that name. */
  private async registerLeader(sweep: SweepRecord): Promise<SweepRecord['registered']> {
    const name = sweep.request.registerAs;
    const leader = leaderboard(sweep.trials, sweep.request.metric).find((trial) => trial.modelId !== null);
    if (!name || !leader?.modelId) return null;
    const registration = await this.deps.models.register(leader.modelId, name);
    return registration && { modelId: leader.modelId, ...registration };
  }

  /** Runs `step` holding the sweep's lock; `wait` waits for another holder, else the step is skipped. */
  private async locked(id: string, wait: boolean, step: () => Promise<void>): Promise<void> {
    const { sweeps } = this.deps;
    for (let attempt = 0; !(await sweeps.lock(id, this.owner, LOCK_MS)); attempt++) {
      if (!wait) return;
      if (attempt >= LOCK_ATTEMPTS) throw new AppError('SERVICE_UNAVAILABLE', `sweep ${id} is held by another controller; try again`);
      await sleep(LOCK_RETRY_MS);
    }
    try {
      await step();
    } finally {
      await sweeps.unlock(id, this.owner);
    }
  }
}
