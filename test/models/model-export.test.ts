import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import type { QueueWorker } from '../../src/queue/queue-worker.js';
import { startTestWorker, trainModel } from '../helpers/jobs.js';
import { loadMnistDigits, MNIST_PIXELS } from '../helpers/mnist.js';
import { startTestApp } from '../helpers/service.js';
import { uploadDigits, uploadXor, XOR_INPUTS } from '../helpers/uploads.js';

const TRAIN_COUNT = 1000;
const CHECKED = 100;
/** float32 kernels that sum in another order agree to about this; the bar. */
const TOLERANCE = 1e-5;

describe('model export: ONNX that onnxruntime runs as /predict does, and plain JSON', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let digitsId = '';
  let xorId = '';
  const digits = loadMnistDigits(TRAIN_COUNT + CHECKED, 29);
  const heldOut = Array.from({ length: CHECKED }, (_, i) => Array.from(digits.pixels.subarray((TRAIN_COUNT + i) * MNIST_PIXELS, (TRAIN_COUNT + i + 1) * MNIST_PIXELS)));
  const send = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) => service.app.inject({ method, url, payload });

  /** The largest difference between onnxruntime's probabilities and /predict's on the same rows. */
  async function onnxAgainstPredict(modelId: string, rows: number[][], scale: number): Promise<number> {
    const exported = await send('GET', `/models/${modelId}/export?format=onnx`);
    assert.equal(exported.statusCode, 200, exported.body);
    assert.equal(exported.headers['content-type'], 'application/octet-stream');
    assert.match(String(exported.headers['content-disposition']), new RegExp(`${modelId}\\.onnx`));
    const session = await ort.InferenceSession.create(new Uint8Array(exported.rawPayload));
    assert.deepEqual([session.inputNames, session.outputNames], [['input'], ['probabilities']]);
    const width = rows[0].length;
    const input = new ort.Tensor('float32', Float32Array.from(rows.flat(), (value) => value * scale), [rows.length, width]);
    const { probabilities } = await session.run({ input });
    const predictions = (await send('POST', '/predict', { modelId, inputs: rows })).json().predictions as Array<{ probabilities: number[] }>;
    const classes = predictions[0].probabilities.length;
    assert.deepEqual(probabilities.dims, [rows.length, classes]);
    let largest = 0;
    predictions.forEach(({ probabilities: expected }, row) => expected.forEach((value, k) => {
      largest = Math.max(largest, Math.abs((probabilities.data as Float32Array)[row * classes + k] - value));
    }));
    return largest;
  }

  before(async () => {
    ort.env.wasm.numThreads = 1;
    service = await startTestApp();
    worker = await startTestWorker(service.config);
    digitsId = (await uploadDigits(service.app, digits, 0, TRAIN_COUNT)).id;
    xorId = (await uploadXor(service.app)).id;
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test(`a relu/softmax digits model: onnxruntime matches /predict on ${CHECKED} real held-out digits within ${TOLERANCE}`, async (t) => {
    const { modelId } = await trainModel(service.app, { datasetId: digitsId, shape: [784, 64, 32, 10], epochs: 2 });
    const difference = await onnxAgainstPredict(modelId!, heldOut, 1 / 255);
    t.diagnostic(`largest difference between onnxruntime and /predict: ${difference.toExponential(2)}`);
    assert.ok(difference < TOLERANCE, `largest difference ${difference}`);
  });

  test('sigmoid and leaky_relu hidden layers, and a single sigmoid output, export as well', async () => {
    for (const activation of ['sigmoid', 'leaky_relu', 'tanh']) {
      const { modelId } = await trainModel(service.app, { datasetId: xorId, shape: [2, 6, 1], activation, epochs: 3, validationSplit: 0 });
      const difference = await onnxAgainstPredict(modelId!, XOR_INPUTS, 1);
      assert.ok(difference < TOLERANCE, `${activation}: largest difference ${difference}`);
    }
  });

  test('the JSON export holds the shapes and weights: a forward pass over it gives /predict\'s answer', async () => {
    const { modelId } = await trainModel(service.app, { datasetId: xorId, shape: [2, 5, 2], activation: 'tanh', epochs: 3, validationSplit: 0 });
    const exported = (await send('GET', `/models/${modelId}/export?format=json`)).json();
    assert.deepEqual(exported.shape, [2, 5, 2]);
    assert.deepEqual(exported.layers.map(({ inputs, outputs, activation }: { inputs: number; outputs: number; activation: string }) => [inputs, outputs, activation]), [[2, 5, 'tanh'], [5, 2, 'softmax']]);
    const forward = (x: number[]) => exported.layers.reduce((a: number[], layer: { weights: number[][]; biases: number[]; activation: string }) => {
      const z = layer.weights.map((row, o) => row.reduce((sum, w, i) => sum + w * a[i], layer.biases[o]));
      if (layer.activation === 'tanh') return z.map(Math.tanh);
      const top = Math.max(...z);
      const exps = z.map((v) => Math.exp(v - top));
      return exps.map((e) => e / exps.reduce((s, v) => s + v, 0));
    }, x);
    const predictions = (await send('POST', '/predict', { modelId, inputs: XOR_INPUTS })).json().predictions;
    XOR_INPUTS.forEach((x, row) => forward(x).forEach((p: number, k: number) => assert.ok(Math.abs(p - predictions[row].probabilities[k]) < TOLERANCE)));
  });

  test('an unknown format is 400 naming the choices; an unknown model 404', async () => {
    const { modelId } = await trainModel(service.app, { datasetId: xorId, shape: [2, 4, 2], epochs: 1, validationSplit: 0 });
    const bad = await send('GET', `/models/${modelId}/export?format=pmml`);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /querystring\.format: .*"onnx".*"json"/);
    const missing = await send('GET', '/models/mdl_00000000000000000000/export?format=onnx');
    assert.equal(missing.statusCode, 404);
  });
});
