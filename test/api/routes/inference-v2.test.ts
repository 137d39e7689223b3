import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { startTestWorker, trainModel } from '../../helpers/jobs.js';
import { loadMnistDigits, MNIST_PIXELS } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits } from '../../helpers/uploads.js';

const TRAIN_COUNT = 1000;

describe('the Open Inference Protocol (KServe v2) routes', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let modelId = '';
  const digits = loadMnistDigits(TRAIN_COUNT + 2, 17);
  const pixelsOf = (index: number): number[] => Array.from(digits.pixels.subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS));
  const send = (method: 'GET' | 'POST', url: string, payload?: unknown) => service.app.inject({ method, url, payload: payload as Record<string, unknown> });
  /** A protocol error: the status, and a body that is `{ "error": "message" }` and nothing else. */
  const assertProtocolError = (response: Awaited<ReturnType<typeof send>>, status: number, message: RegExp) => {
    assert.equal(response.statusCode, status, response.body);
    const body = response.json();
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(typeof body.error, 'string');
    assert.match(body.error, message);
  };

  before(async () => {
    service = await startTestApp();
    worker = await startTestWorker(service.config);
    const train = await uploadDigits(service.app, digits, 0, TRAIN_COUNT);
    modelId = (await trainModel(service.app, { datasetId: train.id, shape: [784, 32, 10], epochs: 2, registerAs: 'digits' })).modelId!;
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('server metadata, liveness and readiness answer as the specification shapes them', async () => {
    const metadata = (await send('GET', '/v2')).json();
    assert.equal(metadata.name, 'mlp-service');
    assert.match(metadata.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(metadata.extensions, []);
    assert.deepEqual((await send('GET', '/v2/health/live')).json(), { live: true });
    assert.deepEqual((await send('GET', '/v2/health/ready')).json(), { ready: true });
  });

  test('model metadata names the input and output tensors, by registered name, version or id', async () => {
    const expected = {
      platform: 'mlp-service',
      inputs: [{ name: 'input', datatype: 'UINT8', shape: [-1, 784] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }, { name: 'label', datatype: 'INT64', shape: [-1] }],
    };
    assert.deepEqual((await send('GET', '/v2/models/digits')).json(), { name: 'digits', versions: ['1'], ...expected });
    assert.deepEqual((await send('GET', '/v2/models/digits/versions/1')).json(), { name: 'digits', versions: ['1'], ...expected });
    assert.deepEqual((await send('GET', `/v2/models/${modelId}`)).json(), { name: modelId, versions: ['1'], ...expected });
    assert.deepEqual((await send('GET', '/v2/models/digits/versions/1/ready')).json(), { name: 'digits', ready: true });
  });

  test('inference on UINT8 pixels, flat, gives what POST /predict gives', async () => {
    const inputs = [pixelsOf(TRAIN_COUNT), pixelsOf(TRAIN_COUNT + 1)];
    const response = await send('POST', '/v2/models/digits/infer', { inputs: [{ name: 'input', shape: [2, 784], datatype: 'UINT8', data: inputs.flat() }] });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.model_name, 'digits');
    assert.equal(body.model_version, '1');
    const [probabilities, label] = body.outputs;
    assert.deepEqual([probabilities.name, probabilities.datatype, probabilities.shape], ['probabilities', 'FP32', [2, 10]]);
    assert.deepEqual([label.name, label.datatype, label.shape], ['label', 'INT64', [2]]);
    const predicted = (await send('POST', '/predict', { modelId, inputs })).json().predictions;
    assert.deepEqual(label.data, predicted.map((p: { label: number }) => p.label));
    const expected = predicted.flatMap((p: { probabilities: number[] }) => p.probabilities);
    probabilities.data.forEach((value: number, i: number) => assert.ok(Math.abs(value - expected[i]) < 1e-6, `probability ${i}`));
  });

  test('FP32 values nested as the shape are taken as the model\'s own 0..1 inputs', async () => {
    const pixels = pixelsOf(TRAIN_COUNT);
    const nested = [pixels.map((value) => value / 255)];
    const response = await send('POST', '/v2/models/digits/versions/1/infer', { inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: nested }] });
    assert.equal(response.statusCode, 200, response.body);
    const single = (await send('POST', '/predict', { model: 'digits/1', pixels })).json();
    assert.deepEqual(response.json().outputs[1].data, [single.label]);
  });

  test('the specification\'s own inference example: "id" comes back, and only the outputs asked for', async () => {
    // The specification's example request, with our model's one input in place of its two.
    const response = await send('POST', '/v2/models/digits/infer', {
      id: '42',
      inputs: [{ name: 'input', shape: [784], datatype: 'UINT8', data: pixelsOf(TRAIN_COUNT) }],
      outputs: [{ name: 'label' }],
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.id, '42');
    assert.deepEqual(body.outputs.map(({ name, shape, datatype }: { name: string; shape: number[]; datatype: string }) => [name, shape, datatype]), [['label', [1], 'INT64']]);
  });

  test('the specification\'s example request as written (two inputs, one BOOL) gets a protocol error', async () => {
    const response = await send('POST', '/v2/models/digits/infer', {
      id: '42',
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
        { name: 'input1', shape: [3], datatype: 'BOOL', data: [true] },
      ],
      outputs: [{ name: 'output0' }],
    });
    assertProtocolError(response, 400, /the model takes one input tensor, "input"; the request has 2/);
  });

  test('every bad request gets a 4xx with { "error": "message" }', async () => {
    const one = (input: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ inputs: [{ name: 'input', shape: [784], datatype: 'UINT8', data: pixelsOf(0), ...input }], ...extra });
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['/v2/models/nothing/infer', one({}), 404, /No model is registered as "nothing"/],
      ['/v2/models/digits/versions/9/infer', one({}), 404, /No model is registered as "digits\/9"/],
      [`/v2/models/mdl_${'0'.repeat(20)}/versions/7/infer`, one({}), 404, /model mdl_0+ is an id, which has no versions; registered names have them/],
      ['/v2/models/digits/infer', one({ name: 'pixels' }), 400, /the model's input tensor is "input", not "pixels"/],
      ['/v2/models/digits/infer', one({ shape: [2, 784] }), 400, /data has 784 values; shape \[2, 784\] needs 1568/],
      ['/v2/models/digits/infer', one({ shape: [100], data: pixelsOf(0).slice(0, 100) }), 400, /the model takes 784 values per sample; the shape says 100/],
      ['/v2/models/digits/infer', one({ data: [300, ...pixelsOf(0).slice(1)] }), 400, /data\[0\] is 300, not a whole number from 0 to 255 as UINT8 needs/],
      ['/v2/models/digits/infer', one({ datatype: 'BYTES' }), 400, /BYTES is not taken; send FP32, FP64 or a whole-number type/],
      ['/v2/models/digits/infer', one({}, { outputs: [{ name: 'logits' }] }), 400, /the model has no output "logits"; it has probabilities and label/],
      ['/v2/models/digits/infer', { inputs: [] }, 400, /inputs/],
      ['/v2/models/digits/infer', { id: 42, inputs: 'none' }, 400, /id|inputs/],
    ];
    for (const [url, body, status, message] of cases) assertProtocolError(await send('POST', url, body), status, message);
    assertProtocolError(await send('GET', '/v2/models/nothing'), 404, /No model is registered as "nothing"/);
    assertProtocolError(await send('GET', '/v2/models/digits/versions/x1'), 400, /must be a version number/);
    assertProtocolError(await send('GET', '/v2/no-such-route'), 404, /No Open Inference Protocol route matches GET \/v2\/no-such-route/);
  });

});
