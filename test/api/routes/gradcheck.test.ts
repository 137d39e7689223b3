import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { datasetBlobKey } from '../../../src/data/dataset-service.js';
import type { GradientCheckResponse } from '../../../src/models/gradient-check-schema.js';
import { loadMnistDigits } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits, uploadXor } from '../../helpers/uploads.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';

describe('POST /gradcheck', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let digitsId = '';
  let xorId = '';
  const digits = loadMnistDigits(300, 8);
  const postCheck = (payload: Record<string, unknown>) => service.app.inject({ method: 'POST', url: '/gradcheck', payload });
  const answer = (response: { json(): unknown }) => response.json() as GradientCheckResponse;

  before(async () => {
    service = await startTestApp();
    digitsId = (await uploadDigits(service.app, digits, 0, 300)).id;
    xorId = (await uploadXor(service.app)).id;
  });
  after(() => service.close());

  test('on real digits, backprop agrees in every layer of the default relu network, and the message says so', async () => {
    const response = await postCheck({ datasetId: digitsId, shape: [784, 64, 32, 10] });
    assert.equal(response.statusCode, 200, response.body);
    const body = answer(response);
    assert.equal(body.ok, true, body.message);
    assert.equal(body.tolerance, 1e-5);
    assert.ok(body.maxRelativeError < body.tolerance, `max relative error ${body.maxRelativeError}`);
    assert.equal(body.batch, 8);
    assert.deepEqual(body.layers.map((layer) => layer.layer), [1, 2, 3]);
    for (const layer of body.layers) assert.ok(layer.checked > 0 && layer.maxRelativeError < body.tolerance, JSON.stringify(layer));
    assert.equal(body.checked, body.layers.reduce((sum, layer) => sum + layer.checked, 0));
    assert.match(body.message, /^Backprop agrees with finite differences to \S+ in every layer \(tolerance 1e-5\): if your own implementation disagrees, compare its gradients with these layer by layer/);
    assert.match(body.message, /Parameters were drawn at random: \d+ of 50,240 in layer 1/);
  });

  test('on the XOR JSON dataset with one sigmoid output, every parameter is checked', async () => {
    const response = await postCheck({ datasetId: xorId, shape: [2, 4, 1], activation: 'tanh', init: 'xavier', seed: 3 });
    assert.equal(response.statusCode, 200, response.body);
    const body = answer(response);
    assert.equal(body.ok, true, body.message);
    assert.deepEqual(body.layers.map((layer) => [layer.checked, layer.parameters]), [[12, 12], [5, 5]]);
    assert.doesNotMatch(body.message, /drawn at random/);
  });

  test('with relu, the XOR point (0, 0) puts every first-layer bias at a kink: they are left out and the message says why', async () => {
    const response = await postCheck({ datasetId: xorId, shape: [2, 4, 1], activation: 'relu' });
    assert.equal(response.statusCode, 200, response.body);
    const body = answer(response);
    assert.equal(body.ok, true, body.message);
    assert.deepEqual(body.layers.map((layer) => [layer.checked, layer.kinkCrossings]), [[8, 4], [5, 0]]);
    assert.match(body.message, /4 parameters were left out of the comparison, and replaced where the layer had more: a step of ±2h moved some relu input across 0/);
  });

  test('the same request gives the same answer: the seed fixes weights, batch and parameters', async () => {
    const request = { datasetId: digitsId, shape: [784, 16, 10], seed: 11, sampleParameters: 50 };
    const [first, second] = await Promise.all([postCheck(request), postCheck(request)]);
    assert.deepEqual(first.json(), second.json());
  });

  test('a saturated init passes, but the message says the gradients vanish and the check says little there', async () => {
    // Even the lightest digit (about 22 of 784 pixels' worth of ink) puts every sigmoid input near 24, where σ' is about 4e-11.
    const response = await postCheck({ datasetId: digitsId, shape: [784, 30, 10], activation: 'sigmoid', init: { kind: 'uniform', low: 0, high: 2, bias: 2 } });
    assert.equal(response.statusCode, 200, response.body);
    const body = answer(response);
    assert.match(body.message, /The gradients of layer 1 are vanishing: at most \S+, below the \S+ floor of the relative error, as a saturated init makes them/);
    assert.ok(body.layers[1].largestGradient > 1e-3, `layer 2 gradient ${body.layers[1].largestGradient}`);
  });

  test('a network too big for the asked batch is checked on fewer samples, and the message says why', async () => {
    const response = await postCheck({ datasetId: digitsId, shape: [784, 2000, 10], batchSize: 64, sampleParameters: 20 });
    assert.equal(response.statusCode, 200, response.body);
    const body = answer(response);
    assert.equal(body.batch, 62);
    assert.match(body.message, /The batch was cut from 64 to 62 samples: a network of 1,590,010 parameters is checked on at most 62\./);
  });

  test('a stored dataset the check thread cannot read is a 500 that hides the details, and the next check still answers', async () => {
    const broken = await uploadXor(service.app, 5);
    await service.services.blobs.put(datasetBlobKey(broken.id), Uint8Array.from([1, 2, 3]));
    const failed = await postCheck({ datasetId: broken.id, shape: [2, 4, 1] });
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(failed.json().error.code, 'INTERNAL');
    assert.match(failed.json().error.message, /^Internal error \(request id [\w-]+\)$/);
    assert.equal((await postCheck({ datasetId: xorId, shape: [2, 4, 1] })).statusCode, 200);
  });

  describe('bad input is a 400 naming the field', () => {
    const cases: BadRequestCase[] = [
      { name: 'an unknown dataset', body: () => ({ datasetId: `ds_${'0'.repeat(20)}`, shape: [784, 10] }), code: 'UNKNOWN_DATASET', message: /^body\.datasetId: no dataset has the id ds_0+; upload one with POST \/datasets$/ },
      { name: 'a shape that does not fit the dataset', body: () => ({ datasetId: xorId, shape: [784, 32, 10] }), code: 'SHAPE_MISMATCH', message: /^body\.shape: shape\[0\] is 784 but dataset ds_\w+ has 2 values per sample; start the shape with 2$/ },
      { name: 'an unknown activation', body: () => ({ datasetId: digitsId, shape: [784, 10], activation: 'swish' }), code: 'VALIDATION_FAILED', message: /body\.activation: .*"relu"/ },
      { name: 'a batch over the cap', body: () => ({ datasetId: digitsId, shape: [784, 10], batchSize: 65 }), code: 'VALIDATION_FAILED', message: /body\.batchSize: .*64/ },
      { name: 'a training field the check does not use', body: () => ({ datasetId: digitsId, shape: [784, 10], learningRate: 0.1 }), code: 'VALIDATION_FAILED', message: /learningRate/ },
      { name: 'a combination the core refuses', body: () => ({ datasetId: digitsId, shape: [784, 10], outputActivation: 'linear' }), code: 'INVALID_CONFIG', message: /^body\.loss: cross_entropy needs probabilities/ },
      { name: 'too many parameters', body: () => ({ datasetId: digitsId, shape: [784, 30_000, 10] }), code: 'TOO_MANY_PARAMETERS', message: /^body\.shape: \[784, 30000, 10\] has 23850010 parameters; the limit is 20000000$/ },
    ];
    testBadRequests(cases, postCheck);
  });

  test('the route is documented in the OpenAPI document from its zod schemas', () => {
    const document = service.app.swagger() as { paths: Record<string, { post?: { tags?: string[]; summary?: string } }>; components: { schemas: Record<string, unknown> } };
    const route = document.paths['/gradcheck']?.post;
    assert.deepEqual(route?.tags, ['gradcheck']);
    assert.match(route?.summary ?? '', /finite differences/);
    assert.ok(document.components.schemas.GradientCheck);
    assert.ok(document.components.schemas.GradientCheckRequest);
  });
});
