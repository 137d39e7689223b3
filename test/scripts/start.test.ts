import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import type { Job } from '../../src/queue/job-schema.js';
import { JobStore } from '../../src/queue/job-store.js';
import { createRedis, redisKeys } from '../../src/storage/redis.js';
import { freePort } from '../../scripts/local-redis.js';
import { exitOf } from '../helpers/jobs.js';
import { loadMnistDigits, toIdx } from '../helpers/mnist.js';
import { multipartBody } from '../helpers/multipart.js';
import { removeIsolatedState } from '../helpers/service.js';

const START_SCRIPT = fileURLToPath(new URL('../../scripts/start.js', import.meta.url));
const POLL_MS = 100;
const READY_TIMEOUT_MS = 20_000;

/** `npm start` (without the build) in a process group of its own, as a terminal or `docker stop` sees it, with its own Redis keys and data. */
async function startService(): Promise<{ child: ChildProcess; url: string; output: () => string; env: Record<string, string> }> {
  const unique = `t${randomUUID().slice(0, 8)}`;
  const env = {
    PATH: process.env.PATH ?? '',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : { REDIS_URL: 'redis://127.0.0.1:6379' }),
    REDIS_PREFIX: `test-${unique}`,
    QUEUE_NAME: `training-${unique}`,
    DATA_DIR: await mkdtemp(join(tmpdir(), 'mlp-start-')),
    PORT: String(await freePort()),
    LOG_LEVEL: 'info',
    ENABLE_DASHBOARDS: 'false',
    PROGRESS_INTERVAL_MS: '0',
    // Long enough that the only checkpoint a test sees is the one shutting down writes.
    CHECKPOINT_INTERVAL_MS: '600000',
  };
  const child = spawn(process.execPath, [START_SCRIPT], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${url}/health`).then((response) => response.ok, () => false);
    if (ready && text.includes('worker ready')) break;
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${text}`);
    await sleep(POLL_MS);
  }
  return { child, url, output: () => text, env };
}

async function runningJob(url: string): Promise<string> {
  const digits = loadMnistDigits(2000, 5);
  const idx = toIdx(digits.pixels, digits.labels, 2000);
  const { payload, headers } = await multipartBody([
    { field: 'images', file: idx.images, filename: 'images' },
    { field: 'labels', file: idx.labels, filename: 'labels' },
  ]);
  const dataset = await (await fetch(`${url}/datasets`, { method: 'POST', body: payload, headers })).json() as { id: string };
  const created = await fetch(`${url}/jobs`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetId: dataset.id, shape: [784, 128, 10], epochs: 500 }),
  });
  const { id } = await created.json() as { id: string };
  for (;;) {
    const job = await (await fetch(`${url}/jobs/${id}`)).json() as Job;
    if (job.state === 'running' && job.history.epochs.length >= 1) return id;
    await sleep(POLL_MS);
  }
}

describe('npm start shuts down with one checkpoint, however the signal comes', () => {
  const ways: Array<[string, (child: ChildProcess) => void]> = [
    ['SIGTERM to its process group (kill -TERM -pgid)', (child) => process.kill(-child.pid!, 'SIGTERM')],
    ['Ctrl-C: SIGINT to its process group', (child) => process.kill(-child.pid!, 'SIGINT')],
    ['SIGTERM to the start process alone (docker stop)', (child) => child.kill('SIGTERM')],
  ];
  for (const [way, send] of ways) {
    test(way, async () => {
      const service = await startService();
      const config = loadConfig(service.env);
      try {
        const id = await runningJob(service.url);
        send(service.child);
        const exit = await exitOf(service.child);
        assert.equal(exit.code, 0, service.output());
        assert.doesNotMatch(service.output(), /second SIG|did not close in time|could not close/);

        const redis = createRedis(config, { name: 'test' });
        try {
          const job = (await new JobStore(redis, redisKeys(config.REDIS_PREFIX)).get(id))!;
          assert.equal(job.state, 'queued', 'back in the queue for the next worker');
          assert.equal(job.statusTransitions.filter(({ reason }) => reason?.includes('the worker shut down')).length, 1);
          assert.equal(job.checkpoints.length, 1, 'checkpointed exactly once');
          assert.ok(job.checkpoints[0].epoch >= 1);
        } finally {
          redis.disconnect();
        }
      } finally {
        if (service.child.exitCode === null) process.kill(-service.child.pid!, 'SIGKILL');
        await removeIsolatedState(config);
      }
    });
  }
});
