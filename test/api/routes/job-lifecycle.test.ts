import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../../src/queue/job-schema.js';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';
import { isFinished, startTestWorker, waitForJob } from '../../helpers/jobs.js';
import { loadMnistDigits } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits, uploadParts, uploadXor, XOR_INPUTS, XOR_LABELS } from '../../helpers/uploads.js';

/** Every epoch from 1 to `last` exactly once: a stop and a resume leave no hole and no repeat. */
function assertEpochsContinuous(job: Job, last: number): void {
  assert.deepEqual(job.history.epochs.map(({ epoch }) => epoch), Array.from({ length: last }, (_, i) => i + 1));
  const steps = job.history.steps.map(({ step }) => step);
  assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), 'no step is recorded twice');
}

describe('job lifecycle: stop, cancel, resume and warm start', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker | null = null;
  let digitsId = '';
  let xorId = '';

  const send = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) => service.app.inject({ method, url, payload });
  const getJob = async (id: string) => (await send('GET', `/jobs/${id}`)).json() as Job;
  /** Long enough to catch while it runs, short enough per epoch to finish quickly once resumed. */
  const digitsJob = (epochs: number) => ({ datasetId: digitsId, shape: [784, 64, 10], epochs, validationSplit: 0.1 });
  const startJob = async (body: Record<string, unknown>): Promise<string> => {
    const response = await send('POST', '/jobs', body);
    assert.equal(response.statusCode, 202, response.body);
    return response.json().id;
  };
  const runningWithEpochs = (id: string, epochs: number) => waitForJob(service.app, id, (job) => job.state === 'running' && job.history.epochs.length >= epochs);

  before(async () => {
    service = await startTestApp();
    digitsId = (await uploadDigits(service.app, loadMnistDigits(2000, 3), 0, 2000)).id;
    xorId = (await uploadXor(service.app)).id;
  });
  after(async () => {
    await worker?.close();
    await service.close();
  });

  describe('without a worker', () => {
    test('a queued job cannot be stopped, since it has trained nothing: 409 says to cancel it', async () => {
      const id = await startJob(digitsJob(3));
      const response = await send('POST', `/jobs/${id}/stop`);
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, 'JOB_NOT_RUNNING');
      assert.match(response.json().error.message, /is queued and has trained nothing to keep yet; cancel it with DELETE/);
      assert.equal((await send('DELETE', `/jobs/${id}`)).statusCode, 200);
    });

    test('a job cancelled before its first checkpoint has nothing to resume: 409 NO_CHECKPOINT', async () => {
      const id = await startJob(digitsJob(3));
      await send('DELETE', `/jobs/${id}`);
      const response = await send('POST', `/jobs/${id}/resume`);
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, 'NO_CHECKPOINT');
      assert.match(response.json().error.message, /ended before its first checkpoint/);
    });

    test('unknown jobs answer 404 on every lifecycle route', async () => {
      for (const url of ['/jobs/job_00000000000000000000/stop', '/jobs/job_00000000000000000000/resume']) {
        const response = await send('POST', url);
        assert.equal(response.statusCode, 404, url);
        assert.equal(response.json().error.code, 'JOB_NOT_FOUND');
      }
    });

    describe('bad resume bodies give 400 naming the field', () => {
      const cases: BadRequestCase[] = [
        { name: 'an unknown field', body: () => ({ learningRate: 0.1 }), code: 'VALIDATION_FAILED', message: /learningRate/ },
        { name: 'epochs that are not a whole number', body: () => ({ epochs: 2.5 }), code: 'VALIDATION_FAILED', message: /body\.epochs/ },
        { name: 'a runtime of zero', body: () => ({ maxRuntimeSeconds: 0 }), code: 'VALIDATION_FAILED', message: /body\.maxRuntimeSeconds/ },
      ];
      testBadRequests(cases, (body) => send('POST', '/jobs/job_00000000000000000000/resume', body));
    });

    describe('bad warm starts give 400 naming the field', () => {
      const cases: BadRequestCase[] = [
        { name: 'an unknown model', body: () => ({ datasetId: digitsId, fromModelId: 'mdl_00000000000000000000' }), code: 'UNKNOWN_MODEL', message: /body\.fromModelId: no model has the id mdl_0+/ },
        { name: 'neither a shape nor a model', body: () => ({ datasetId: digitsId }), code: 'VALIDATION_FAILED', message: /body\.shape: give the layer widths/ },
      ];
      testBadRequests(cases, (body) => send('POST', '/jobs', body));
    });
  });

  describe('with a worker', () => {
    before(async () => {
      worker = await startTestWorker(service.config);
    });

    test('stop keeps the model trained so far, and resume trains the same job on with its history intact', async () => {
      const id = await startJob(digitsJob(60));
      await runningWithEpochs(id, 2);
      const stopping = await send('POST', `/jobs/${id}/stop`);
      assert.equal(stopping.statusCode, 202, stopping.body);
      assert.equal(stopping.json().stopRequested, 'stop');

      const stopped = await waitForJob(service.app, id, isFinished);
      assert.equal(stopped.state, 'completed', JSON.stringify(stopped.error));
      assert.equal(stopped.stopReason, 'stopped');
      assert.ok(stopped.modelId, 'a stopped job has a model');
      assert.match(stopped.statusTransitions.at(-1)?.reason ?? '', /stopped on request at epoch \d+ of 60.*POST \/jobs\/job_\w+\/resume trains on/);
      const model = (await send('GET', `/models/${stopped.modelId}`)).json();
      assert.equal(model.stopReason, 'stopped');
      assert.equal(model.metrics.valAccuracy, stopped.bestAccuracy, 'the model holds the epoch its metrics describe');
      const prediction = await send('POST', '/predict', { modelId: stopped.modelId, pixels: Array.from(loadMnistDigits(1, 3).pixels) });
      assert.equal(prediction.statusCode, 200);

      const doneEpochs = stopped.checkpoints.at(-1)!.epoch;
      const resumed = await send('POST', `/jobs/${id}/resume`, { epochs: doneEpochs + 2 });
      assert.equal(resumed.statusCode, 202, resumed.body);
      assert.equal(resumed.json().state, 'queued');
      assert.equal(resumed.json().stopReason, null);
      const job = await waitForJob(service.app, id, isFinished);
      assert.equal(job.state, 'completed', JSON.stringify(job.error));
      assert.equal(job.stopReason, 'completed');
      assert.equal(job.config.epochs, doneEpochs + 2);
      assertEpochsContinuous(job, doneEpochs + 2);
      assert.ok(job.statusTransitions.some(({ reason }) => reason === `resumed by request from the checkpoint after epoch ${doneEpochs}`));
      assert.ok(job.statusTransitions.some(({ resumedFromEpoch }) => resumedFromEpoch === doneEpochs));
      assert.notEqual(job.modelId, stopped.modelId, 'the resumed run makes a model of its own');
      assert.equal((await send('GET', `/models/${stopped.modelId}`)).statusCode, 200, 'and the stopped run\'s model stays');
    });

    test('a run stopped in the middle of an epoch keeps the weights its model\'s metrics describe', async () => {
      // Without early stopping's best weights, the model is the last finished epoch's.
      const id = await startJob({ ...digitsJob(60), earlyStopping: null, batchSize: 16 });
      await runningWithEpochs(id, 2);
      assert.equal((await send('POST', `/jobs/${id}/stop`)).statusCode, 202);
      const stopped = await waitForJob(service.app, id, isFinished);
      const model = (await send('GET', `/models/${stopped.modelId}`)).json();
      const evaluated = (await send('POST', `/models/${stopped.modelId}/evaluate`, { split: 'validation' })).json();
      assert.equal(evaluated.accuracy, model.metrics.valAccuracy);
      assert.ok(Math.abs(evaluated.loss - model.metrics.valLoss) < 1e-6, `evaluated loss ${evaluated.loss}, recorded ${model.metrics.valLoss}`);
    });

    test('a resumed run that is cancelled leaves the job with the stopped run\'s model and that model\'s accuracy', async () => {
      const id = await startJob(digitsJob(60));
      await runningWithEpochs(id, 1);
      assert.equal((await send('POST', `/jobs/${id}/stop`)).statusCode, 202);
      const stopped = await waitForJob(service.app, id, isFinished);
      const model = (await send('GET', `/models/${stopped.modelId}`)).json();
      assert.equal((await send('POST', `/jobs/${id}/resume`, { epochs: 400 })).statusCode, 202);
      // Cancelled once the resumed run has beaten the stopped model on validation.
      await waitForJob(service.app, id, (job) => job.state === 'running' && (job.bestAccuracy ?? 0) > model.metrics.valAccuracy, 60_000);
      assert.equal((await send('DELETE', `/jobs/${id}`)).statusCode, 202);
      const cancelled = await waitForJob(service.app, id, isFinished);
      assert.equal(cancelled.state, 'cancelled');
      assert.equal(cancelled.modelId, stopped.modelId);
      assert.equal(cancelled.bestAccuracy, model.metrics.valAccuracy, 'the job\'s accuracy is its model\'s');
    });

    test('a cancelled job makes no model, and resumes from its checkpoint as the same job', async () => {
      const id = await startJob(digitsJob(60));
      await runningWithEpochs(id, 1);
      assert.equal((await send('DELETE', `/jobs/${id}`)).statusCode, 202);
      const cancelled = await waitForJob(service.app, id, isFinished);
      assert.equal(cancelled.state, 'cancelled');
      assert.equal(cancelled.modelId, null);
      assert.match(cancelled.statusTransitions.at(-1)?.reason ?? '', /its checkpoint is kept/);

      const doneEpochs = cancelled.checkpoints.at(-1)!.epoch;
      const tooFew = await send('POST', `/jobs/${id}/resume`, { epochs: doneEpochs });
      assert.equal(tooFew.statusCode, 400);
      assert.match(tooFew.json().error.message, new RegExp(`body\\.epochs: the run resumes after epoch ${doneEpochs}; ask for more than ${doneEpochs} epochs`));

      assert.equal((await send('POST', `/jobs/${id}/resume`, { epochs: doneEpochs + 1 })).statusCode, 202);
      const job = await waitForJob(service.app, id, isFinished);
      assert.equal(job.state, 'completed', JSON.stringify(job.error));
      assertEpochsContinuous(job, doneEpochs + 1);
      assert.ok(job.modelId);
    });

    test('a job out of runtime resumes with a new maxRuntimeSeconds and finishes', async () => {
      const id = await startJob({ datasetId: digitsId, shape: [784, 256, 10], epochs: 40, validationSplit: 0.1, maxRuntimeSeconds: 1 });
      const timedOut = await waitForJob(service.app, id, isFinished);
      assert.equal(timedOut.stopReason, 'max_runtime');
      assert.ok(timedOut.modelId);
      const response = await send('POST', `/jobs/${id}/resume`, { maxRuntimeSeconds: 600 });
      assert.equal(response.statusCode, 202, response.body);
      assert.equal(response.json().maxRuntimeSeconds, 600);
      assert.ok(response.json().resumedAt);
      const job = await waitForJob(service.app, id, isFinished, 60_000);
      assert.equal(job.stopReason, 'completed');
      assertEpochsContinuous(job, 40);
    });

    test('a running job, or one that finished on its own, is not resumable: 409 says what to do instead', async () => {
      const finished = await startJob(digitsJob(1));
      const job = await waitForJob(service.app, finished, isFinished);
      const response = await send('POST', `/jobs/${finished}/resume`);
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, 'JOB_NOT_RESUMABLE');
      assert.match(response.json().error.message, new RegExp(`finished on its own \\(completed\\); to train on, POST /jobs with fromModelId ${job.modelId}`));
      const stopAgain = await send('POST', `/jobs/${finished}/stop`);
      assert.equal(stopAgain.statusCode, 409);
      assert.equal(stopAgain.json().error.code, 'JOB_FINISHED');

      const running = await startJob(digitsJob(60));
      await runningWithEpochs(running, 1);
      const early = await send('POST', `/jobs/${running}/resume`);
      assert.equal(early.statusCode, 409);
      assert.match(early.json().error.message, /is running; only stopped, cancelled, failed or timed-out jobs resume/);
      await send('DELETE', `/jobs/${running}`);
      await waitForJob(service.app, running, isFinished);
    });

    test('a warm start begins from the model\'s weights, on another dataset of the same width', async () => {
      const xorJob = { shape: [2, 8, 2], activation: 'tanh', optimizer: 'adam', learningRate: 0.05, batchSize: 8, validationSplit: 0 };
      const first = await waitForJob(service.app, await startJob({ datasetId: xorId, ...xorJob, epochs: 30 }), isFinished);
      assert.equal(first.state, 'completed', JSON.stringify(first.error));
      const lastLoss = first.history.epochs.at(-1)!.trainLoss;

      const otherXor = (await uploadXor(service.app, 16)).id;
      const warm = await waitForJob(service.app, await startJob({ datasetId: otherXor, fromModelId: first.modelId, optimizer: 'adam', learningRate: 0.01, epochs: 2, batchSize: 8, validationSplit: 0 }), isFinished);
      assert.equal(warm.state, 'completed', JSON.stringify(warm.error));
      assert.equal(warm.fromModelId, first.modelId);
      assert.deepEqual([warm.config.shape, warm.config.activation, warm.config.maxRestarts], [[2, 8, 2], 'tanh', 0], 'the model\'s architecture, and no fresh starts');
      assert.ok(warm.history.epochs[0].trainLoss < 2 * lastLoss + 0.05, `starts where the model left off (${warm.history.epochs[0].trainLoss} vs ${lastLoss}), not from a fresh init's ~0.69`);
      const predictions = await send('POST', '/predict', { modelId: warm.modelId, inputs: XOR_INPUTS });
      assert.deepEqual(predictions.json().predictions.map((p: { label: number }) => p.label), XOR_LABELS);

      const wide = await uploadParts(service.app, [{ field: 'file', file: JSON.stringify({ inputs: [[0, 0, 1], [1, 0, 1]], labels: [0, 1] }), filename: 'three.json' }]);
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [{ datasetId: otherXor, fromModelId: first.modelId, shape: [2, 4, 2] }, 'SHAPE_MISMATCH', /body\.shape: model mdl_\w+ has shape \[2, 8, 2\]; leave shape out to use it/],
        [{ datasetId: otherXor, fromModelId: first.modelId, activation: 'relu' }, 'INVALID_CONFIG', /body\.activation: model mdl_\w+ was trained with activation "tanh"/],
        [{ datasetId: wide.id, fromModelId: first.modelId }, 'SHAPE_MISMATCH', /shape\[0\] is 2 but dataset ds_\w+ has 3 values per sample/],
      ];
      for (const [body, code, message] of cases) {
        const response = await send('POST', '/jobs', body);
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json().error.code, code);
        assert.match(response.json().error.message, message);
      }
    });

    test('a diverged run keeps the steps up to its blow-up, so the loss curve shows it', async () => {
      const id = await startJob({ datasetId: digitsId, shape: [784, 64, 10], optimizer: 'sgd', learningRate: 100, epochs: 2, schedule: { kind: 'constant' } });
      const job = await waitForJob(service.app, id, isFinished);
      assert.equal(job.error?.code, 'TRAINING_DIVERGED');
      const losses = job.history.steps.map(({ loss }) => loss);
      assert.ok(losses.length >= 2, `steps recorded: ${losses.length}`);
      assert.ok(losses.at(-1)! > 5 * losses[0], `the last step shows the blow-up: ${losses[0]} -> ${losses.at(-1)}`);
    });
  });
});
