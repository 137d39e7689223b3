import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../../src/queue/job-schema.js';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';
import { startTestWorker, trainModel } from '../../helpers/jobs.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadXor, XOR_INPUTS } from '../../helpers/uploads.js';

const XOR_JOB = { shape: [2, 8, 2], activation: 'tanh', optimizer: 'adam', learningRate: 0.05, batchSize: 8, epochs: 3, validationSplit: 0 };

describe('the model registry: names, versions and aliases', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let datasetId = '';
  const jobs: Job[] = [];
  const send = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>) => service.app.inject({ method, url, payload });
  const predictWith = async (model: string) => send('POST', '/predict', { model, inputs: XOR_INPUTS });

  before(async () => {
    service = await startTestApp();
    worker = await startTestWorker(service.config);
    datasetId = (await uploadXor(service.app)).id;
    for (let i = 0; i < 2; i++) jobs.push(await trainModel(service.app, { datasetId, ...XOR_JOB, registerAs: 'xor-net', seed: i + 1 }));
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('each completed job with registerAs becomes the next version of its name', async () => {
    const response = await send('GET', '/models/xor-net/versions');
    assert.equal(response.statusCode, 200, response.body);
    const registered = response.json();
    assert.equal(registered.name, 'xor-net');
    assert.deepEqual(registered.versions.map(({ version, modelId }: { version: number; modelId: string }) => [version, modelId]), [[1, jobs[0].modelId], [2, jobs[1].modelId]]);
    assert.deepEqual(registered.versions[0].model.registered, { name: 'xor-net', version: 1 });
    const model = (await send('GET', `/models/${jobs[1].modelId}`)).json();
    assert.deepEqual(model.registered, { name: 'xor-net', version: 2 });
  });

  test('an alias points at a version, and /predict takes a name, "name@alias", "name/version" or an id', async () => {
    const aliased = await send('PUT', '/models/xor-net/aliases/production', { version: 1 });
    assert.equal(aliased.statusCode, 200, aliased.body);
    assert.deepEqual(aliased.json(), { name: 'xor-net', alias: 'production', version: 1, modelId: jobs[0].modelId });
    const versions = (await send('GET', '/models/xor-net/versions')).json().versions;
    assert.deepEqual(versions.map(({ aliases }: { aliases: string[] }) => aliases), [['production'], []]);

    for (const [model, expected] of [['xor-net@production', jobs[0].modelId], ['xor-net/2', jobs[1].modelId], ['xor-net', jobs[1].modelId], [jobs[0].modelId!, jobs[0].modelId]]) {
      const response = await predictWith(model!);
      assert.equal(response.statusCode, 200, `${model}: ${response.body}`);
      assert.equal(response.json().modelId, expected, String(model));
    }
    const moved = await send('PUT', '/models/xor-net/aliases/production', { version: 2 });
    assert.equal(moved.json().modelId, jobs[1].modelId);
    assert.equal((await predictWith('xor-net@production')).json().modelId, jobs[1].modelId, 'moving the alias moves its clients');
  });

  test('names that resolve to nothing answer 404 saying what exists', async () => {
    for (const [method, url, body, message] of [
      ['GET', '/models/nothing-here/versions', undefined, /No model is registered as "nothing-here"; a job with registerAs: "nothing-here" registers one/],
      ['PUT', '/models/xor-net/aliases/staging', { version: 9 }, /"xor-net" has no version 9; GET \/models\/xor-net\/versions lists them/],
      ['DELETE', '/models/xor-net/aliases/staging', undefined, /"xor-net" has no alias "staging"/],
    ] as const) {
      const response = await send(method, url, body);
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error.code, 'MODEL_NOT_FOUND');
      assert.match(response.json().error.message, message);
    }
    for (const model of ['xor-net@staging', 'xor-net/7', 'unknown-net']) {
      const response = await predictWith(model);
      assert.equal(response.statusCode, 404, model);
      assert.match(response.json().error.message, new RegExp(`No model is registered as "${model}"`));
    }
  });

  describe('bad names and references give 400', () => {
    const cases: BadRequestCase[] = [
      { name: 'a registerAs that looks like a model id', body: () => ({ datasetId, ...XOR_JOB, registerAs: 'mdl_0123' }), code: 'VALIDATION_FAILED', message: /body\.registerAs: must not start with "mdl_"/ },
      { name: 'a registerAs that starts with a digit', body: () => ({ datasetId, ...XOR_JOB, registerAs: '1net' }), code: 'VALIDATION_FAILED', message: /body\.registerAs: must start with a letter/ },
    ];
    testBadRequests(cases, (body) => send('POST', '/jobs', body));
    const predictCases: BadRequestCase[] = [
      { name: 'both model and modelId', body: () => ({ model: 'xor-net', modelId: jobs[0].modelId, inputs: XOR_INPUTS }), code: 'VALIDATION_FAILED', message: /body\.model: name the model once/ },
      { name: 'a reference with two aliases', body: () => ({ model: 'xor-net@a@b', inputs: XOR_INPUTS }), code: 'VALIDATION_FAILED', message: /body\.model: /},
    ];
    testBadRequests(predictCases, (body) => send('POST', '/predict', body));
    test('an alias body without a version', async () => {
      const response = await send('PUT', '/models/xor-net/aliases/production', {});
      assert.equal(response.statusCode, 400);
      assert.match(response.json().error.message, /body\.version/);
    });
  });

  test('nothing dangles: an aliased model cannot be deleted, and a deleted one leaves its version, its job and its dataset', async () => {
    await send('PUT', '/models/xor-net/aliases/production', { version: 1 });
    const refused = await send('DELETE', `/models/${jobs[0].modelId}`);
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'MODEL_IN_USE');
    assert.match(refused.json().error.message, /is xor-net version 1, and the alias "production" points at it; move or delete the alias first/);

    const dataset = (await send('GET', `/datasets/${datasetId}`)).json();
    assert.deepEqual(dataset.usedBy, { jobs: [], models: [jobs[0].modelId, jobs[1].modelId].sort() });
    const kept = await send('DELETE', `/datasets/${datasetId}`);
    assert.equal(kept.statusCode, 409);
    assert.match(kept.json().error.message, /models mdl_\w+, mdl_\w+ were trained on it \(delete them first\)/);

    assert.equal((await send('DELETE', '/models/xor-net/aliases/production')).statusCode, 204);
    assert.equal((await send('DELETE', `/models/${jobs[0].modelId}`)).statusCode, 204);
    assert.deepEqual((await send('GET', '/models/xor-net/versions')).json().versions.map(({ version }: { version: number }) => version), [2]);
    assert.equal((await send('GET', `/jobs/${jobs[0].id}`)).json().modelId, null, 'the job no longer points at the deleted model');
    assert.equal((await predictWith('xor-net/1')).statusCode, 404);
    assert.deepEqual((await send('GET', `/datasets/${datasetId}`)).json().usedBy.models, [jobs[1].modelId]);

    const next = await trainModel(service.app, { datasetId, ...XOR_JOB, registerAs: 'xor-net' });
    assert.equal((await send('GET', `/models/${next.modelId}`)).json().registered.version, 3, 'version numbers are never reused');
  });

  test('models and datasets are listed a page at a time, newest first', async () => {
    const first = (await send('GET', '/models?limit=1')).json();
    assert.equal(first.models.length, 1);
    assert.ok(first.nextCursor);
    const rest = (await send('GET', `/models?limit=100&cursor=${first.nextCursor}`)).json();
    assert.ok(rest.models.length >= 1);
    assert.ok(!rest.models.some((model: { id: string }) => model.id === first.models[0].id));
    assert.equal(rest.nextCursor, null);
    await uploadXor(service.app, 7);
    const datasets = (await send('GET', '/datasets?limit=1')).json();
    assert.equal(datasets.datasets.length, 1);
    assert.ok(datasets.nextCursor);
    const older = (await send('GET', `/datasets?limit=1&cursor=${datasets.nextCursor}`)).json();
    assert.equal(older.datasets[0].id, datasetId);
    const bad = await send('GET', '/models?cursor=abc');
    assert.equal(bad.statusCode, 400);
  });
});
