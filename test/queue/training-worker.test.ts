import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../src/queue/job-schema.js';
import { exitOf, isFinished, spawnWorkerProcess, waitForJob } from '../helpers/jobs.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { startTestApp } from '../helpers/service.js';
import { uploadDigits } from '../helpers/uploads.js';

/** Short BullMQ lock and stalled-check periods, so a killed worker's job is picked up again within seconds. */
const QUICK_RECOVERY = { JOB_LOCK_DURATION_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' };
const EPOCHS = 8;

function assertHistoryContinuous(job: Job): void {
  assert.deepEqual(job.history.epochs.map(({ epoch }) => epoch), Array.from({ length: EPOCHS }, (_, i) => i + 1));
  const steps = job.history.steps.map(({ step }) => step);
  assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), 'no step is recorded twice');
}

describe('worker processes', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let datasetId = '';
  const children: ChildProcess[] = [];
  const startWorker = (): ChildProcess => {
    const child = spawnWorkerProcess(service.config);
    children.push(child);
    return child;
  };
  /** Slow enough per epoch to be caught between checkpoints. */
  const slowJob = async (): Promise<string> => {
    const response = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId, shape: [784, 256, 10], epochs: EPOCHS } });
    return response.json().id;
  };

  before(async () => {
    service = await startTestApp(QUICK_RECOVERY);
    datasetId = (await uploadDigits(service.app, loadMnistDigits(3000, 9), 0, 3000)).id;
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exitOf));
    await service.close();
  });

  test('a worker killed mid-job: another resumes from the last checkpoint and completes with the history intact', async () => {
    const first = startWorker();
    const id = await slowJob();
    const before = await waitForJob(service.app, id, (job) => job.history.epochs.length >= 2);
    first.kill('SIGKILL');
    assert.equal((await exitOf(first)).signal, 'SIGKILL');

    const second = startWorker();
    const job = await waitForJob(service.app, id, isFinished, 45_000);
    second.kill('SIGTERM');
    await exitOf(second);
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    const resumed = job.statusTransitions.find((transition) => transition.resumedFromEpoch !== undefined);
    assert.ok(resumed, `a resume is recorded: ${JSON.stringify(job.statusTransitions)}`);
    assert.ok((resumed.resumedFromEpoch ?? 0) >= before.history.epochs.length, `resumed from epoch ${resumed.resumedFromEpoch}, not from 0`);
    assertHistoryContinuous(job);
    assert.ok(job.history.epochs.some((epoch) => (epoch.valAccuracy ?? epoch.trainAccuracy) === job.bestAccuracy), 'the headline accuracy is a kept epoch\'s, not one dropped on resume');
    assert.ok(job.modelId);
  });

  test('SIGTERM checkpoints the running job and puts it back in the queue; the next worker finishes it', async () => {
    const worker = startWorker();
    const id = await slowJob();
    await waitForJob(service.app, id, (job) => job.history.epochs.length >= 1 && job.state === 'running');
    worker.kill('SIGTERM');
    assert.deepEqual(await exitOf(worker), { code: 0, signal: null });

    const requeued = (await service.app.inject({ method: 'GET', url: `/jobs/${id}` })).json() as Job;
    assert.equal(requeued.state, 'queued');
    assert.match(requeued.statusTransitions.at(-1)?.reason ?? '', /the worker shut down/);

    startWorker();
    const job = await waitForJob(service.app, id, isFinished, 45_000);
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    assert.ok(job.statusTransitions.some((transition) => (transition.resumedFromEpoch ?? 0) >= 1));
    assertHistoryContinuous(job);
  });
});
