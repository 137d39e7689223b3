import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { startTestWorker, trainModel } from '../../helpers/jobs.js';
import { loadMnistDigits, MNIST_PIXELS } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits } from '../../helpers/uploads.js';

const TRAIN_COUNT = 1000;
const HELD_OUT_COUNT = 200;

describe('POST /predict', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let modelId = '';
  const digits = loadMnistDigits(TRAIN_COUNT + HELD_OUT_COUNT, 33);
  const pixelsOf = (index: number): number[] => Array.from(digits.pixels.subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS));
  const predict = (payload: unknown) => service.app.inject({ method: 'POST', url: '/predict', payload: payload as Record<string, unknown> });

  before(async () => {
    service = await startTestApp();
    worker = await startTestWorker(service.config);
    const train = await uploadDigits(service.app, digits, 0, TRAIN_COUNT);
    modelId = (await trainModel(service.app, { datasetId: train.id, shape: [784, 64, 10], epochs: 4, augment: null })).modelId ?? '';
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('held-out digits are classified well, one by one', async () => {
    let correct = 0;
    for (let i = TRAIN_COUNT; i < TRAIN_COUNT + HELD_OUT_COUNT; i++) {
      const response = await predict({ modelId, pixels: pixelsOf(i) });
      assert.equal(response.statusCode, 200);
      const { label, probabilities } = response.json();
      assert.equal(probabilities.length, 10);
      assert.ok(Math.abs(probabilities.reduce((sum: number, p: number) => sum + p, 0) - 1) < 1e-4);
      if (label === digits.labels[i]) correct++;
    }
    assert.ok(correct / HELD_OUT_COUNT > 0.8, `held-out accuracy ${correct / HELD_OUT_COUNT}`);
  });

  test('0..1 floats, detected or declared, give the same answer as 0..255 integers', async () => {
    const bytes = pixelsOf(TRAIN_COUNT);
    const unit = bytes.map((value) => value / 255);
    const asBytes = (await predict({ modelId, pixels: bytes })).json();
    const detected = (await predict({ modelId, pixels: unit })).json();
    const declared = (await predict({ modelId, pixels: unit, scale: '0-1' })).json();
    assert.equal(detected.label, asBytes.label);
    assert.equal(declared.label, asBytes.label);
    for (let j = 0; j < 10; j++) assert.ok(Math.abs(detected.probabilities[j] - asBytes.probabilities[j]) < 1e-6);
  });

  test('a batch of inputs gives the same predictions as one at a time', async () => {
    const indexes = [TRAIN_COUNT, TRAIN_COUNT + 1, TRAIN_COUNT + 2];
    const batch = (await predict({ modelId, inputs: indexes.map(pixelsOf) })).json();
    assert.equal(batch.predictions.length, 3);
    for (const [k, index] of indexes.entries()) {
      const single = (await predict({ modelId, pixels: pixelsOf(index) })).json();
      assert.equal(batch.predictions[k].label, single.label);
    }
  });

  test('after the first load, predict never reads the disk', async () => {
    await rm(join(service.config.DATA_DIR, 'models'), { recursive: true, force: true });
    const response = await predict({ modelId, pixels: pixelsOf(TRAIN_COUNT) });
    assert.equal(response.statusCode, 200);
  });

  describe('bad bodies', () => {
    const cases: { name: string; body: () => string; status: number; code: string; message: RegExp }[] = [
      { name: '783 pixels', body: () => JSON.stringify({ modelId, pixels: pixelsOf(0).slice(1) }), status: 400, code: 'INPUT_SIZE_MISMATCH', message: /body\.pixels has 783 values; the model takes 784/ },
      { name: 'NaN', body: () => `{"modelId":"${modelId}","pixels":[NaN${',0'.repeat(783)}]}`, status: 400, code: 'INVALID_JSON', message: /not valid JSON/ },
      { name: 'strings', body: () => JSON.stringify({ modelId, pixels: pixelsOf(0).map(String) }), status: 400, code: 'VALIDATION_FAILED', message: /body\.pixels\[0\]: .*expected number.*; and 781 more$/ },
      { name: 'a pixel of 300', body: () => JSON.stringify({ modelId, pixels: [300, ...pixelsOf(0).slice(1)] }), status: 400, code: 'INPUT_OUT_OF_RANGE', message: /body\.pixels: values must be within 0..255; got 300/ },
      { name: 'a negative pixel', body: () => JSON.stringify({ modelId, pixels: [-1, ...pixelsOf(0).slice(1)] }), status: 400, code: 'INPUT_OUT_OF_RANGE', message: /got -1/ },
      { name: '0..255 values declared as 0-1', body: () => JSON.stringify({ modelId, pixels: pixelsOf(0), scale: '0-1' }), status: 400, code: 'INPUT_OUT_OF_RANGE', message: /within 0..1 for scale 0-1/ },
      {
        name: 'pixels and inputs together', body: () => JSON.stringify({ modelId, pixels: pixelsOf(0), inputs: [pixelsOf(0)] }),
        status: 400, code: 'VALIDATION_FAILED', message: /body\.pixels: send exactly one of "pixels" \(one sample\) or "inputs" \(several samples\)/,
      },
      { name: 'neither pixels nor inputs', body: () => JSON.stringify({ modelId }), status: 400, code: 'VALIDATION_FAILED', message: /body\.pixels: send exactly one of "pixels"/ },
      {
        name: 'a model reference with version 0', body: () => JSON.stringify({ model: 'digits/0', pixels: pixelsOf(0) }),
        status: 400, code: 'VALIDATION_FAILED', message: /body\.model: must be a model id \(mdl_ and 20 hex digits\), a registered name, "name@alias" or "name\/version" with a version from 1/,
      },
      { name: 'no model id', body: () => JSON.stringify({ pixels: pixelsOf(0) }), status: 400, code: 'VALIDATION_FAILED', message: /modelId/ },
      { name: 'an unknown model', body: () => JSON.stringify({ modelId: `mdl_${'0'.repeat(20)}`, pixels: pixelsOf(0) }), status: 404, code: 'MODEL_NOT_FOUND', message: /No model has the id mdl_0+/ },
    ];
    for (const { name, body, status, code, message } of cases) {
      test(name, async () => {
        const response = await service.app.inject({ method: 'POST', url: '/predict', payload: body(), headers: { 'content-type': 'application/json' } });
        assert.equal(response.statusCode, status, response.body);
        assert.equal(response.json().error.code, code);
        assert.match(response.json().error.message, message);
      });
    }
  });
});
