import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { AppConfig } from '../../src/config.js';
import type { Job } from '../../src/queue/job-schema.js';
import { QueueWorker } from '../../src/queue/queue-worker.js';

const POLL_INTERVAL_MS = 50;

/** A worker in this process (training still runs in its own thread), on the test's isolated queue. */
export async function startTestWorker(config: AppConfig): Promise<QueueWorker> {
  const worker = new QueueWorker(config, pino({ level: 'silent' }));
  await worker.ready();
  return worker;
}

/** Polls GET /jobs/:id until `done` holds, failing after `timeoutMs` with the job's last state. */
export async function waitForJob(app: FastifyInstance, id: string, done: (job: Job) => boolean, timeoutMs = 30_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await app.inject({ method: 'GET', url: `/jobs/${id}` })).json() as Job;
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there within ${timeoutMs} ms; it is ${job.state}: ${JSON.stringify(job.error ?? job.progress)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

export const isFinished = (job: Job): boolean => ['completed', 'failed', 'cancelled'].includes(job.state);

/** Trains a small digits model through the API and answers the finished job. */
export async function trainModel(app: FastifyInstance, body: Record<string, unknown>): Promise<Job> {
  const created = await app.inject({ method: 'POST', url: '/jobs', payload: body });
  if (created.statusCode !== 202) throw new Error(`job not accepted: ${created.body}`);
  const job = await waitForJob(app, created.json().id, isFinished);
  if (job.state !== 'completed') throw new Error(`job ${job.id} ended ${job.state}: ${JSON.stringify(job.error)}`);
  return job;
}

const WORKER_ENTRY = fileURLToPath(new URL('../../workers/training-worker.js', import.meta.url));

/** The storage settings a process needs to share the test's store; nothing for the file store. */
export function storageEnv(config: AppConfig): Record<string, string> {
  const names = ['STORAGE_URL', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'STORAGE_TIMEOUT_MS', 'STORAGE_MAX_ATTEMPTS'] as const;
  if (!config.STORAGE_URL) return {};
  return Object.fromEntries(names.flatMap((name) => (config[name] === undefined ? [] : [[name, String(config[name])]])));
}

/** The worker entry as its own process, configured like the test's app. */
export function spawnWorkerProcess(config: AppConfig): ChildProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    REDIS_PREFIX: config.REDIS_PREFIX,
    QUEUE_NAME: config.QUEUE_NAME,
    DATA_DIR: config.DATA_DIR,
    LOG_LEVEL: 'silent',
    JOB_LOCK_DURATION_MS: String(config.JOB_LOCK_DURATION_MS),
    JOB_STALLED_INTERVAL_MS: String(config.JOB_STALLED_INTERVAL_MS),
    JOB_MAX_STALLED_COUNT: String(config.JOB_MAX_STALLED_COUNT),
    PROGRESS_INTERVAL_MS: String(config.PROGRESS_INTERVAL_MS),
    CHECKPOINT_INTERVAL_MS: String(config.CHECKPOINT_INTERVAL_MS),
    ...(config.REDIS_URL && { REDIS_URL: config.REDIS_URL }),
    ...(config.TRAINING_THREADS && { TRAINING_THREADS: String(config.TRAINING_THREADS) }),
    ...storageEnv(config),
  };
  return spawn(process.execPath, [WORKER_ENTRY], { env, stdio: ['ignore', 'inherit', 'inherit'] });
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
