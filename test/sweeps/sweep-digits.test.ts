import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { QueueWorker } from '../../src/queue/queue-worker.js';
import type { Sweep } from '../../src/sweeps/sweep-schema.js';
import { startTestWorker } from '../helpers/jobs.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { startTestApp } from '../helpers/service.js';
import { uploadDigits } from '../helpers/uploads.js';

const EPOCHS = 9;
const TRIALS = 8;
const SWEEP_TIMEOUT_MS = 120_000;

let service: Awaited<ReturnType<typeof startTestApp>>;
let worker: QueueWorker;
let datasetId = '';

before(async () => {
  service = await startTestApp({ WORKER_CONCURRENCY: '2', TRAINING_THREADS: '1' });
  worker = await startTestWorker(service.config);
  datasetId = (await uploadDigits(service.app, loadMnistDigits(6000, 4), 0, 6000)).id;
});
after(async () => {
  await worker.close();
  await service.close();
});

/** Starts a sweep on the digits and polls GET /sweeps/:id until it has finished. */
async function runSweep(payload: Record<string, unknown>): Promise<Sweep> {
  const created = await service.app.inject({ method: 'POST', url: '/sweeps', payload: { datasetId, ...payload } });
  assert.equal(created.statusCode, 201, created.body);
  const { id } = created.json() as Sweep;
  const deadline = Date.now() + SWEEP_TIMEOUT_MS;
  for (;;) {
    const sweep = (await service.app.inject({ method: 'GET', url: `/sweeps/${id}` })).json() as Sweep;
    if (sweep.state !== 'running') return sweep;
    assert.ok(Date.now() < deadline, `the sweep is still running: ${JSON.stringify(sweep.counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('an ASHA sweep on real digits stops low-ranked trials early and ranks the rest', async () => {
  const sweep = await runSweep({
    validation: { split: 0.2 },
    base: { shape: [784, 128, 10], epochs: EPOCHS, optimizer: 'sgd', earlyStopping: null, augment: null },
    space: { learningRate: { min: 0.0005, max: 0.5, log: true } },
    trials: TRIALS,
    seed: 3,
    scheduler: 'asha',
    asha: { minEpochs: 1, reductionFactor: 3 },
    maxConcurrent: 2,
    registerAs: 'sweep-best',
  });
  assert.equal(sweep.state, 'completed');
  const { leaderboard } = sweep;
  const pruned = leaderboard.filter((trial) => trial.state === 'pruned');
  const completed = leaderboard.filter((trial) => trial.state === 'completed');
  assert.equal(pruned.length + completed.length, TRIALS, JSON.stringify(sweep.counts));
  assert.ok(pruned.length >= TRIALS / 2, `ASHA stopped ${pruned.length} of ${TRIALS}`);
  assert.ok(completed.length >= 1);
  for (const trial of completed) assert.equal(trial.epochs, EPOCHS);
  for (const trial of pruned) {
    assert.ok(trial.epochs < EPOCHS, `pruned trial ${trial.index} ran ${trial.epochs} epochs`);
    assert.ok(trial.stopped && trial.stopped.epoch >= 1, JSON.stringify(trial.stopped));
    assert.ok(trial.modelId, 'a stopped trial keeps its model');
  }
  const scores = leaderboard.map((trial) => trial.score);
  assert.ok(scores.every((score) => score !== null));
  assert.deepEqual(scores, [...scores].sort((a, b) => b! - a!), 'best validation accuracy first');
  assert.equal(leaderboard[0].state, 'completed', 'the leader ran to the end');
  assert.ok(leaderboard[0].score! > 0.85, `the leader reached ${leaderboard[0].score}`);
  const job = (await service.app.inject({ method: 'GET', url: `/jobs/${leaderboard[0].jobId}` })).json();
  assert.equal(job.modelId, leaderboard[0].modelId);
  assert.deepEqual(sweep.registered, { modelId: leaderboard[0].modelId, name: 'sweep-best', version: 1 }, 'registerAs makes the leader a registry version');
  const versions = (await service.app.inject({ method: 'GET', url: '/models/sweep-best/versions' })).json();
  assert.deepEqual(versions.versions.map(({ modelId }: { modelId: string }) => modelId), [leaderboard[0].modelId]);
});

test('a trial whose diagnosis finds its relu units dead is stopped at once, without a scheduler', async () => {
  const sweep = await runSweep({
    base: { shape: [784, 64, 10], epochs: EPOCHS, earlyStopping: null },
    space: { init: { choices: [{ kind: 'he', bias: -3 }, { kind: 'he' }] } },
    strategy: 'grid',
    scheduler: 'none',
  });
  const [healthy, dead] = [...sweep.leaderboard].sort((a, b) => b.index - a.index);
  assert.equal(healthy.state, 'completed');
  assert.equal(healthy.epochs, EPOCHS);
  assert.equal(dead.state, 'pruned', JSON.stringify(dead));
  assert.match(dead.stopped!.reason, /^the diagnosis leads with DEAD_RELU: /);
  assert.ok(dead.epochs < EPOCHS, `the dead trial ran ${dead.epochs} epochs`);
});
