import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { findOnPath, freePort, redisAnswers } from '../../scripts/local-redis.js';
import type { Job } from '../../src/queue/job-schema.js';
import { exitOf, isFinished, spawnWorkerProcess, waitForJob } from '../helpers/jobs.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { startTestApp } from '../helpers/service.js';
import { uploadDigits } from '../helpers/uploads.js';

const EPOCHS = 10;
const OUTAGE_MS = 5000;
const DIGITS = 3000;

let redisDir = '';
let port = 0;
let redis: ChildProcess | null = null;

/** A redis-server of this test's own that fsyncs every write, so a SIGKILL loses nothing it acknowledged. */
async function startRedis(): Promise<void> {
  const executable = findOnPath('redis-server');
  assert.ok(executable, 'redis-server is not on PATH: .ci/run installs it');
  redis = spawn(executable, ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
  for (let tries = 0; !(await redisAnswers('127.0.0.1', port)); tries++) {
    assert.ok(tries < 100, 'the test redis-server did not start');
    await sleep(50);
  }
}

before(async () => {
  redisDir = await mkdtemp(join(tmpdir(), 'redis-outage-'));
  port = await freePort();
  await startRedis();
});
after(async () => {
  redis?.kill('SIGKILL');
  await rm(redisDir, { recursive: true, force: true });
});

test(`Redis killed with SIGKILL mid-job and back ${OUTAGE_MS / 1000} s later: the job completes with every epoch in its history`, async () => {
  const service = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}`, ENABLE_DASHBOARDS: 'true' });
  const worker = spawnWorkerProcess(service.config);
  try {
    const dataset = await uploadDigits(service.app, loadMnistDigits(DIGITS, 4), 0, DIGITS);
    const created = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, shape: [784, 512, 10], epochs: EPOCHS, earlyStopping: null } });
    const id = created.json().id as string;
    const before = await waitForJob(service.app, id, (job) => job.history.epochs.length >= 2, 60_000);
    assert.ok(before.history.epochs.length < EPOCHS, 'the outage falls inside the run');

    redis!.kill('SIGKILL');
    await exitOf(redis!);
    const during = await service.app.inject({ method: 'GET', url: `/jobs/${id}` });
    assert.equal(during.statusCode, 503, 'the API answers in our shape while Redis is gone');
    assert.equal(during.json().error.code, 'SERVICE_UNAVAILABLE');
    const board = await service.app.inject({ method: 'GET', url: '/queues/api/queues' });
    assert.deepEqual([board.statusCode, board.json().error.code], [503, 'SERVICE_UNAVAILABLE'], 'Bull Board answers at once too');
    await sleep(OUTAGE_MS);
    await startRedis();

    const job: Job = await waitForJob(service.app, id, isFinished, 120_000);
    assert.equal(job.state, 'completed', JSON.stringify(job.error ?? job.statusTransitions));
    assert.deepEqual(job.history.epochs.map(({ epoch }) => epoch), Array.from({ length: EPOCHS }, (_, i) => i + 1), 'no epoch is missing or repeated');
    const steps = job.history.steps.map(({ step }) => step);
    assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), 'no step is recorded twice');
    assert.equal((await service.app.inject({ method: 'GET', url: '/queues/api/queues' })).statusCode, 200, 'Bull Board works again once Redis is back');
  } finally {
    worker.kill('SIGKILL');
    await exitOf(worker);
    await service.close();
  }
});
