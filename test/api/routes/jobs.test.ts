import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../../src/queue/job-schema.js';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { isFinished, startTestWorker, waitForJob } from '../../helpers/jobs.js';
import { loadMnistDigits } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits, uploadParts, uploadXor, XOR_INPUTS, XOR_LABELS } from '../../helpers/uploads.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';

describe('jobs routes', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker | null = null;
  let xorId = '';
  let digitsId = '';
  const digits = loadMnistDigits(1000, 5);

  const postJob = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    service.app.inject({ method: 'POST', url: '/jobs', payload, headers });
  /** A job long enough to catch while it runs: a wide layer and many epochs. */
  const longJob = () => ({ datasetId: digitsId, shape: [784, 256, 10], epochs: 200 });

  before(async () => {
    service = await startTestApp();
    xorId = (await uploadXor(service.app)).id;
    digitsId = (await uploadDigits(service.app, digits, 0, 1000)).id;
  });
  after(async () => {
    await worker?.close();
    await service.close();
  });

  describe('invalid bodies give 400 naming the field (no worker needed)', () => {
    const cases: BadRequestCase[] = [
      { name: 'a shape that does not fit the dataset', body: () => ({ datasetId: digitsId, shape: [100, 10] }), code: 'SHAPE_MISMATCH', message: /body\.shape: shape\[0\] is 100 but dataset ds_\w+ has 784 values per sample/ },
      { name: 'too few outputs for the classes', body: () => ({ datasetId: digitsId, shape: [784, 32, 5] }), code: 'SHAPE_MISMATCH', message: /ends with 5 outputs but dataset ds_\w+ has 10 classes/ },
      { name: 'a negative learning rate', body: () => ({ datasetId: digitsId, shape: [784, 10], learningRate: -0.1 }), code: 'VALIDATION_FAILED', message: /body\.learningRate: .*>0/ },
      {
        name: 'a learning rate sent as a string', body: () => ({ datasetId: digitsId, shape: [784, 10], learningRate: '0.1' }),
        code: 'VALIDATION_FAILED', message: /body\.learningRate: must be a positive number such as 0\.05, or "auto"/,
      },
      {
        name: 'a learning rate float32 cannot hold', body: () => ({ datasetId: digitsId, shape: [784, 10], learningRate: 1e39 }),
        code: 'VALIDATION_FAILED', message: /body\.learningRate: must be at most 3\.4e\+38, the largest float32/,
      },
      { name: 'an unknown optimizer', body: () => ({ datasetId: digitsId, shape: [784, 10], optimizer: 'adagrad' }), code: 'VALIDATION_FAILED', message: /body\.optimizer: .*"sgd"/ },
      { name: 'a parameter count over the cap', body: () => ({ datasetId: digitsId, shape: [784, 1_000_000_000, 10] }), code: 'TOO_MANY_PARAMETERS', message: /body\.shape: \[784, 1000000000, 10\] has 795000000010 parameters; the limit is 20000000/ },
      { name: 'an unknown dataset', body: () => ({ datasetId: `ds_${'0'.repeat(20)}`, shape: [784, 10] }), code: 'UNKNOWN_DATASET', message: /body\.datasetId: no dataset has the id/ },
      { name: 'an unknown field', body: () => ({ datasetId: digitsId, shape: [784, 10], learningrate: 0.1 }), code: 'VALIDATION_FAILED', message: /learningrate/ },
      { name: 'a combination the core refuses', body: () => ({ datasetId: digitsId, shape: [784, 10], outputActivation: 'linear' }), code: 'INVALID_CONFIG', message: /body\.loss: cross_entropy needs probabilities/ },
      { name: 'a validation split above one half', body: () => ({ datasetId: digitsId, shape: [784, 10], validationSplit: 0.8 }), code: 'VALIDATION_FAILED', message: /body\.validationSplit/ },
    ];
    testBadRequests(cases, postJob);
  });

  describe('while no worker runs', () => {
    test('a job is queued with its defaults filled in and a Location', async () => {
      const response = await postJob({ datasetId: digitsId, shape: [784, 32, 10], learningRate: 0.05 });
      assert.equal(response.statusCode, 202);
      const job = response.json() as Job;
      assert.equal(response.headers.location, `/jobs/${job.id}`);
      assert.equal(job.state, 'queued');
      assert.deepEqual(
        [job.config.optimizer, job.config.batchSize, job.config.outputActivation, job.config.loss, job.config.init.kind],
        ['momentum', 64, 'softmax', 'cross_entropy', 'he'],
      );
    });

    test('a dataset used by a queued job cannot be deleted', async () => {
      const response = await service.app.inject({ method: 'DELETE', url: `/datasets/${digitsId}` });
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, 'DATASET_IN_USE');
    });

    test('a retry with the same Idempotency-Key answers the same job; another body with it is 422', async () => {
      const headers = { 'idempotency-key': 'retry-me-1' };
      const first = await postJob({ datasetId: xorId, shape: [2, 4, 2] }, headers);
      const second = await postJob({ datasetId: xorId, shape: [2, 4, 2] }, headers);
      assert.equal(first.statusCode, 202);
      assert.equal(second.statusCode, 202);
      assert.equal(second.json().id, first.json().id);
      const other = await postJob({ datasetId: xorId, shape: [2, 8, 2] }, headers);
      assert.equal(other.statusCode, 422);
      assert.equal(other.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    });

    test('cancelling queued jobs is immediate; then the dataset can go', async () => {
      const queued = (await service.app.inject({ method: 'GET', url: '/jobs?state=queued' })).json().jobs as Job[];
      assert.equal(queued.length, 2);
      for (const { id } of queued) {
        const response = await service.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
        assert.equal(response.statusCode, 200);
        assert.equal(response.json().state, 'cancelled');
        assert.equal(response.json().statusTransitions.at(-1).reason, 'cancelled before it started');
      }
      const again = await service.app.inject({ method: 'DELETE', url: `/jobs/${queued[0].id}` });
      assert.equal(again.statusCode, 409);
      assert.match(again.json().error.message, /already cancelled/);
    });

    test('GET /jobs pages through with a cursor, newest first', async () => {
      const first = (await service.app.inject({ method: 'GET', url: '/jobs?limit=1' })).json();
      assert.equal(first.jobs.length, 1);
      assert.ok(first.nextCursor);
      const second = (await service.app.inject({ method: 'GET', url: `/jobs?limit=1&cursor=${first.nextCursor}` })).json();
      assert.equal(second.jobs.length, 1);
      assert.notEqual(second.jobs[0].id, first.jobs[0].id);
      assert.ok(second.jobs[0].createdAt <= first.jobs[0].createdAt);
      assert.equal(second.nextCursor, null);
      const bad = await service.app.inject({ method: 'GET', url: '/jobs?state=sleeping' });
      assert.equal(bad.statusCode, 400);
    });
  });

  describe('with a worker', () => {
    before(async () => {
      worker = await startTestWorker(service.config);
    });

    test('an XOR job trains to a model that predicts XOR, with its history', async () => {
      const created = await postJob({ datasetId: xorId, shape: [2, 8, 2], optimizer: 'adam', learningRate: 0.05, epochs: 40, batchSize: 8, activation: 'tanh', validationSplit: 0 });
      const job = await waitForJob(service.app, created.json().id, isFinished);
      assert.equal(job.state, 'completed', JSON.stringify(job.error));
      assert.equal(job.stopReason, 'completed');
      assert.equal(job.history.epochs.length, 40);
      assert.ok(job.history.epochs[39].trainLoss < job.history.epochs[0].trainLoss / 4, 'the loss falls');
      assert.ok(job.history.steps.length >= 40);
      assert.deepEqual(job.statusTransitions.map(({ state }) => state), ['queued', 'running', 'completed']);
      assert.equal(job.checkpoints.at(-1)?.epoch, 40);
      assert.equal(job.accuracyKind, 'training', 'no validation data: the headline accuracy is training accuracy');
      assert.ok(job.history.epochs.some((epoch) => epoch.trainAccuracy === job.bestAccuracy), 'the kept epoch\'s training accuracy');

      const prediction = await service.app.inject({ method: 'POST', url: '/predict', payload: { modelId: job.modelId, inputs: XOR_INPUTS } });
      assert.equal(prediction.statusCode, 200, prediction.body);
      assert.deepEqual(prediction.json().predictions.map((p: { label: number }) => p.label), XOR_LABELS);
    });

    test('GET /jobs gives each job the validation accuracy of the epoch its model keeps, so a list needs no job\'s history', async () => {
      const created = await postJob({ datasetId: xorId, shape: [2, 8, 2], optimizer: 'adam', learningRate: 0.05, epochs: 10, batchSize: 8, activation: 'tanh', validationSplit: 0.25 });
      const job = await waitForJob(service.app, created.json().id, isFinished);
      const validation = job.history.epochs.map((epoch) => epoch.valAccuracy ?? Number.NaN);
      assert.ok(validation.every(Number.isFinite), 'every epoch was validated');
      const listed = (await service.app.inject({ method: 'GET', url: '/jobs?limit=1' })).json().jobs[0];
      assert.equal(listed.id, job.id);
      const model = (await service.app.inject({ method: 'GET', url: `/models/${job.modelId}` })).json();
      assert.equal(listed.bestAccuracy, model.metrics.valAccuracy, 'the headline accuracy is the model\'s, not an earlier peak');
      assert.ok(validation.includes(listed.bestAccuracy));
      assert.equal(listed.accuracyKind, 'validation');
      assert.equal(listed.history, undefined);
    });

    test('a run whose weights overflow float32 still reads back, its overflowed measures as null', async () => {
      // Inputs in the thousands give gradients above 1, which the largest float32 rate turns into infinite weights.
      const inputs = Array.from({ length: 64 }, (_, i) => [1000 * ((i % 3) - 1), 1000 * ((i % 5) - 2)]);
      const large = await uploadParts(service.app, [{ field: 'file', file: JSON.stringify({ inputs, labels: inputs.map((_, i) => i % 2) }), filename: 'large.json' }]);
      const created = await postJob({ datasetId: large.id, shape: [2, 8, 2], optimizer: 'sgd', learningRate: 3.4e38, epochs: 1 });
      assert.equal(created.statusCode, 202, created.body);
      const job = await waitForJob(service.app, created.json().id, isFinished);
      assert.equal(job.state, 'failed');
      assert.equal(job.error?.code, 'TRAINING_DIVERGED');
      const overflowed = job.diagnostics?.layers.flatMap((layer) => [layer.gradientNorm, layer.updateRatio, layer.zRms]) ?? [];
      assert.ok(overflowed.includes(null), `some measure overflowed: ${JSON.stringify(job.diagnostics?.layers)}`);
      const listed = await service.app.inject({ method: 'GET', url: `/jobs/${job.id}?history=none` });
      assert.equal(listed.statusCode, 200, listed.body);
    });

    test('a learning rate far too high fails with the core\'s diagnosis and advice', async () => {
      const created = await postJob({ datasetId: digitsId, shape: [784, 64, 10], optimizer: 'sgd', learningRate: 100, epochs: 2, schedule: { kind: 'constant' } });
      const job = await waitForJob(service.app, created.json().id, isFinished);
      assert.equal(job.state, 'failed');
      assert.equal(job.error?.code, 'TRAINING_DIVERGED');
      assert.match(job.error?.message ?? '', /learningRate 100 \(sgd\)/);
      // A tenth of 100 would still diverge: the advice goes no higher than sgd's default.
      assert.match(job.error?.advice ?? '', /lower learningRate to 0\.1 \(sgd's default\)/);
      assert.equal(job.diagnostics?.warnings[0].code, 'LEARNING_RATE_TOO_HIGH');
      assert.equal(job.diagnostics?.warnings[0].suggestion, 0.1);
      assert.ok(job.history.steps.length >= 1, 'the loss curve shows the steps up to the blow-up');
      assert.equal(job.modelId, null);
    });

    test('a running job cancelled stops within a batch, keeps a checkpoint and ends cancelled', async () => {
      const created = await postJob(longJob());
      const running = await waitForJob(service.app, created.json().id, (job) => job.history.steps.length > 0);
      assert.equal(running.state, 'running');
      const response = await service.app.inject({ method: 'DELETE', url: `/jobs/${running.id}` });
      assert.equal(response.statusCode, 202);
      assert.equal(response.json().stopRequested, 'cancel');
      const job = await waitForJob(service.app, running.id, isFinished, 10_000);
      assert.equal(job.state, 'cancelled');
      assert.equal(job.stopReason, 'cancelled');
      assert.ok(job.checkpoints.length >= 1, 'the stop point is checkpointed');
      assert.ok(job.history.epochs.length < 200);
    });

    test('maxRuntimeSeconds stops a job and keeps the model trained so far', async () => {
      const created = await postJob({ ...longJob(), maxRuntimeSeconds: 1 });
      const job = await waitForJob(service.app, created.json().id, isFinished, 15_000);
      assert.equal(job.state, 'completed');
      assert.equal(job.stopReason, 'max_runtime');
      assert.ok(job.modelId);
      assert.match(job.statusTransitions.at(-1)?.reason ?? '', /maxRuntimeSeconds \(1 s\)/);
      const model = await service.app.inject({ method: 'GET', url: `/models/${job.modelId}` });
      assert.equal(model.json().stopReason, 'max_runtime');
    });

    test('GET /jobs/:id/events streams the job, then its steps, epochs and states until it ends', async () => {
      await service.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = service.app.server.address() as AddressInfo;
      const created = await postJob({ datasetId: xorId, shape: [2, 8, 2], epochs: 5, batchSize: 8 });
      const response = await fetch(`http://127.0.0.1:${port}/jobs/${created.json().id}/events`);
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      const text = await response.text();
      assert.match(text, /^retry: \d+\n\n/, 'it tells the browser how soon to reconnect');
      const blocks = text.split('\n\n').filter((block) => block.includes('event: '));
      const events = blocks.map((block) => block.match(/^event: (\w+)$/m)?.[1]);
      assert.equal(events[0], 'job');
      assert.ok(events.includes('step'));
      const epochs = blocks.filter((block) => block.includes('\nevent: epoch\n')).map((block) => JSON.parse(block.split('\ndata: ')[1]));
      assert.equal(epochs.length, 5);
      for (const event of epochs) assert.equal(event.diagnostics.layers.length, 2, 'each epoch carries its diagnostics, so the page need not fetch the job');
      assert.match(text.split('\n\n').filter(Boolean).at(-1) ?? '', /"state":"completed"/);
    });

    test('every event carries an id, and a client that reconnects with Last-Event-ID gets only what it missed', async () => {
      const { port } = service.app.server.address() as AddressInfo;
      const created = await postJob({ datasetId: xorId, shape: [2, 8, 2], epochs: 4, batchSize: 8, validationSplit: 0 });
      const job = await waitForJob(service.app, created.json().id, isFinished);
      const url = `http://127.0.0.1:${port}/jobs/${job.id}/events`;
      const events = (text: string) => text.split('\n\n').filter((block) => block.includes('event: ')).map((block) => ({
        id: block.match(/^id: (.*)$/m)?.[1],
        type: block.match(/^event: (\w+)$/m)?.[1],
        data: JSON.parse(block.split('data: ')[1]),
      }));

      const whole = events(await (await fetch(url)).text());
      assert.deepEqual(whole.map(({ type }) => type), ['job'], 'a finished job is one snapshot');
      assert.equal(whole[0].id, `${job.statusTransitions.length}.${job.history.epochs.length}.${job.history.steps.length}`);

      const missed = events(await (await fetch(url, { headers: { 'last-event-id': `2.1.${job.history.steps.length - 1}` } })).text());
      assert.deepEqual(missed.map(({ type }) => type), ['step', 'epoch', 'epoch', 'epoch', 'state']);
      assert.equal(missed[0].data.step.step, job.history.steps.at(-1)!.step);
      assert.deepEqual(missed.filter(({ type }) => type === 'epoch').map(({ data }) => data.epoch.epoch), [2, 3, 4]);
      assert.equal(missed.at(-1)!.data.transition.state, 'completed');
      assert.equal(missed.at(-1)!.id, whole[0].id, 'the last id is where the whole stream stands');
    });

    test('GET /jobs/:id reads as much history as asked for, and /history thins a long run\'s steps', async () => {
      const created = await postJob({ datasetId: xorId, shape: [2, 8, 2], epochs: 6, batchSize: 8, validationSplit: 0 });
      const job = await waitForJob(service.app, created.json().id, isFinished);
      const read = async (query: string) => (await service.app.inject({ method: 'GET', url: `/jobs/${job.id}${query}` })).json();
      assert.deepEqual((await read('?history=none')).history, { steps: [], epochs: [] });
      const epochsOnly = (await read('?history=epochs')).history;
      assert.deepEqual([epochsOnly.steps.length, epochsOnly.epochs.length], [0, 6]);

      const steps = job.history.steps.map(({ step }) => step);
      const from = steps[2];
      const thinned = await read(`/history?from=${from}&every=2&limit=3`);
      const after = steps.filter((step) => step >= from);
      assert.equal(thinned.total, after.length);
      assert.deepEqual(thinned.steps.map(({ step }: { step: number }) => step), after.filter((_, i) => i % 2 === 0).slice(0, 3));

      for (const query of ['?history=all', '/history?every=0', '/history?from=0x10', '/history?limit=1e3']) {
        const response = await service.app.inject({ method: 'GET', url: `/jobs/${job.id}${query}` });
        assert.equal(response.statusCode, 400, query);
        assert.equal(response.json().error.code, 'VALIDATION_FAILED');
      }
      assert.equal((await service.app.inject({ method: 'GET', url: '/jobs/job_00000000000000000000/history' })).statusCode, 404);
    });
  });
});
