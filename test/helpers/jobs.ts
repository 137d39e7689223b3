import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { AppConfig } from '../../src/config.js';
import type { Job } from '../../src/queue/job-schema.js';
import { TrainingWorker } from '../../src/queue/training-worker.js';

const POLL_INTERVAL_MS = 50;

/** A worker in this process (training still runs in its own thread), on the test's isolated queue. */
export async function startTestWorker(config: AppConfig): Promise<TrainingWorker> {
  const worker = new TrainingWorker(config, pino({ level: 'silent' }));
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
