import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { isFinished, startTestWorker, waitForJob } from '../../helpers/jobs.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadXor, XOR_INPUTS, XOR_LABELS } from '../../helpers/uploads.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';

/** A job given only a dataset and a shape, through the API, with progress recorded as in production. */
describe('jobs with only a shape', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let xorId = '';
  let xorRepeatedId = '';

  const postJob = (payload: Record<string, unknown>) => service.app.inject({ method: 'POST', url: '/jobs', payload });
  const finished = async (payload: Record<string, unknown>) => {
    const created = await postJob(payload);
    assert.equal(created.statusCode, 202, created.body);
    return waitForJob(service.app, created.json().id, isFinished, 60_000);
  };

  before(async () => {
    // Production's intervals: a run of thousands of XOR epochs must not write a record for each.
    service = await startTestApp({ PROGRESS_INTERVAL_MS: '250', CHECKPOINT_INTERVAL_MS: '5000', MAX_TRAINING_SAMPLES: '1000000' });
    worker = await startTestWorker(service.config);
    xorId = (await uploadXor(service.app, 1)).id;
    xorRepeatedId = (await uploadXor(service.app, 32)).id;
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('a run of fast epochs records every one of them, not one per progress interval', async () => {
    const job = await finished({ datasetId: xorId, shape: [2, 4, 1], epochs: 300, earlyStopping: null });
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    assert.deepEqual(job.history.epochs.map((epoch) => epoch.epoch), Array.from({ length: 300 }, (_, i) => i + 1));
  });

  test('XOR [2, 2, 1] learns, says what it chose, and past its first 1,000 epochs records far fewer than it ran', async () => {
    const job = await finished({ datasetId: xorId, shape: [2, 2, 1] });
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    assert.ok(['converged', 'completed'].includes(job.stopReason ?? ''), `stop reason ${job.stopReason}`);
    assert.equal(job.config.activation, 'tanh');
    assert.equal(job.accuracyKind, 'training');
    assert.equal(job.validationSplit, null);
    const codes: string[] = job.notes.map((note) => note.code);
    for (const code of ['NO_VALIDATION', 'TANH_FOR_NARROW_LAYERS', 'EPOCHS_FROM_BUDGET']) assert.ok(codes.includes(code), `notes ${codes}`);
    assert.match(job.statusTransitions.at(-1)?.reason ?? '', /^(converged|ran all) .*epoch/);
    const ran = job.progress?.epoch ?? 0;
    assert.ok(ran > 2000, `XOR's defaults ran ${ran} epochs`);
    const recorded = job.history.epochs.map((epoch) => epoch.epoch);
    assert.deepEqual(recorded.slice(0, 1000), Array.from({ length: 1000 }, (_, i) => i + 1), 'every epoch of the first 1,000');
    const later = recorded.length - 1000;
    assert.ok(later < (ran - 1000) / 10, `${later} records of the ${ran - 1000} epochs after the first 1,000`);
    assert.equal(job.history.epochs.at(-1)?.epoch, ran, 'the last epoch is always recorded');
    assert.equal(job.progress?.etaSeconds, 0, 'a run that ended early has nothing left to run');
    assert.deepEqual(job.diagnostics?.warnings, []);

    const answer = await service.app.inject({ method: 'POST', url: '/predict', payload: { modelId: job.modelId, inputs: XOR_INPUTS } });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json().predictions.map((prediction: { label: number }) => prediction.label), XOR_LABELS);
  });

  test('learningRate "auto" records its range test and the rate it chose, and still learns XOR', async () => {
    const job = await finished({ datasetId: xorId, shape: [2, 2, 1], learningRate: 'auto' });
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    assert.equal(job.config.learningRate, 'auto');
    const search = job.learningRateSearch;
    assert.ok(search && search.curve.length >= 10, JSON.stringify(search));
    assert.ok(search.chosen > 0 && Math.abs(search.chosen - search.lowestLossAt / 10) / search.chosen < 0.05);
    assert.ok(job.notes.some((note) => note.code === 'LEARNING_RATE_FOUND'));
    const answer = await service.app.inject({ method: 'POST', url: '/predict', payload: { modelId: job.modelId, inputs: XOR_INPUTS } });
    assert.deepEqual(answer.json().predictions.map((prediction: { label: number }) => prediction.label), XOR_LABELS);
  });

  test('a dataset of 100+ samples holds out a stratified 10%, and the headline accuracy is validation accuracy', async () => {
    const created = await postJob({ datasetId: xorRepeatedId, shape: [2, 4, 1], epochs: 3 });
    assert.equal(created.statusCode, 202, created.body);
    const spec = created.json();
    assert.equal(spec.validationSplit, 0.1);
    assert.equal(spec.accuracyKind, 'validation');
    assert.match(spec.notes.find((note: { code: string }) => note.code === 'VALIDATION_HELD_OUT')?.message ?? '', /13 of 128 samples \(10%, stratified by class\)/);
    assert.equal(spec.maxRuntimeSeconds, service.config.DEFAULT_RUNTIME_SECONDS, 'a default runtime cap applies');
    const job = await waitForJob(service.app, spec.id, isFinished);
    assert.ok(job.history.epochs.every((epoch) => epoch.valAccuracy !== undefined));
  });

  describe('bad options give 400 naming the field', () => {
    const cases: BadRequestCase[] = [
      { name: 'a learning rate that is neither a number nor "auto"', body: () => ({ datasetId: xorId, shape: [2, 2, 1], learningRate: 'fast' }), code: 'VALIDATION_FAILED', message: /body\.learningRate/ },
      { name: 'more work than MAX_TRAINING_SAMPLES', body: () => ({ datasetId: xorRepeatedId, shape: [2, 2, 1], epochs: 100_000 }), code: 'INVALID_CONFIG', message: /body\.epochs: 100000 epochs of 115 training samples is 11500000 samples of work; the limit is 1000000, so at most 8695 epochs/ },
      { name: 'more fresh starts than allowed', body: () => ({ datasetId: xorId, shape: [2, 2, 1], maxRestarts: 10 }), code: 'VALIDATION_FAILED', message: /body\.maxRestarts/ },
      { name: 'a negative validation split', body: () => ({ datasetId: xorId, shape: [2, 2, 1], validationSplit: -0.1 }), code: 'VALIDATION_FAILED', message: /body\.validationSplit/ },
    ];
    testBadRequests(cases, postJob);
  });
});
