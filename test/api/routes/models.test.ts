import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNetwork } from '../../../src/core/index.js';
import { datasetBlobKey } from '../../../src/data/dataset-service.js';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { startTestWorker, trainModel } from '../../helpers/jobs.js';
import { loadMnistDigits } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits, uploadXor } from '../../helpers/uploads.js';

const TRAIN_COUNT = 1000;
const HELD_OUT_COUNT = 300;
const VALIDATION_SPLIT = 0.1;

describe('models routes', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let modelId = '';
  let jobId = '';
  let heldOutId = '';
  const digits = loadMnistDigits(TRAIN_COUNT + HELD_OUT_COUNT, 21);

  before(async () => {
    service = await startTestApp();
    worker = await startTestWorker(service.config);
    const train = await uploadDigits(service.app, digits, 0, TRAIN_COUNT);
    heldOutId = (await uploadDigits(service.app, digits, TRAIN_COUNT, HELD_OUT_COUNT)).id;
    const job = await trainModel(service.app, { datasetId: train.id, shape: [784, 64, 10], epochs: 4, validationSplit: VALIDATION_SPLIT });
    modelId = job.modelId ?? '';
    jobId = job.id;
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('GET /models and /models/:id describe the model and where it came from', async () => {
    const list = (await service.app.inject({ method: 'GET', url: '/models' })).json();
    assert.deepEqual(list.models.map((model: { id: string }) => model.id), [modelId]);
    const model = (await service.app.inject({ method: 'GET', url: `/models/${modelId}` })).json();
    assert.equal(model.jobId, jobId);
    assert.deepEqual(model.shape, [784, 64, 10]);
    assert.equal(model.parameterCount, 784 * 64 + 64 + 64 * 10 + 10);
    assert.equal(model.epochsCompleted, 4);
    assert.equal(model.inputKind, 'bytes');
    assert.ok(model.metrics.valAccuracy > 0.7, `validation accuracy ${model.metrics.valAccuracy}`);
  });

  test('the snapshot downloads as bytes the core loads', async () => {
    const response = await service.app.inject({ method: 'GET', url: `/models/${modelId}/snapshot` });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/octet-stream');
    assert.match(String(response.headers['content-disposition']), new RegExp(`${modelId}\\.mlps`));
    const network = loadNetwork(response.rawPayload);
    assert.equal(network.inputSize, 784);
    assert.equal(network.outputSize, 10);
  });

  test('evaluate on held-out digits gives accuracy, loss and a confusion matrix', async () => {
    const response = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { datasetId: heldOutId } });
    assert.equal(response.statusCode, 200, response.body);
    const { accuracy, loss, count, confusionMatrix } = response.json();
    assert.equal(count, HELD_OUT_COUNT);
    assert.ok(accuracy > 0.75, `held-out accuracy ${accuracy}`);
    assert.ok(loss > 0 && loss < 1.5, `loss ${loss}`);
    assert.equal(confusionMatrix.length, 10);
    assert.equal(confusionMatrix.flat().reduce((sum: number, n: number) => sum + n, 0), HELD_OUT_COUNT);
    const correct = confusionMatrix.reduce((sum: number, row: number[], i: number) => sum + row[i], 0);
    assert.equal(correct / HELD_OUT_COUNT, accuracy);
  });

  test('evaluate gives per-class precision, recall and F1, and names the misclassified samples; a repeat is served from the cache', async () => {
    const first = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { datasetId: heldOutId } });
    const { perClass, macro, misclassified, misclassifiedCount, confusionMatrix, count, accuracy } = first.json();
    assert.equal(perClass.length, 10);
    assert.deepEqual(perClass.map(({ support }: { support: number }) => support), confusionMatrix.map((row: number[]) => row.reduce((a, b) => a + b, 0)));
    for (const [k, { precision, recall, f1 }] of perClass.entries()) {
      const column = confusionMatrix.reduce((sum: number, row: number[]) => sum + row[k], 0);
      assert.ok(Math.abs(precision - confusionMatrix[k][k] / column) < 1e-12, `class ${k} precision`);
      assert.ok(Math.abs(f1 - (2 * precision * recall) / (precision + recall)) < 1e-12, `class ${k} f1`);
    }
    assert.ok(Math.abs(macro.f1 - perClass.reduce((sum: number, { f1 }: { f1: number }) => sum + f1, 0) / 10) < 1e-12);
    assert.equal(misclassifiedCount, Math.round(count * (1 - accuracy)));
    const wrong = misclassified[0];
    const sample = (await service.app.inject({ method: 'GET', url: `/datasets/${heldOutId}/samples/${wrong.index}` })).json();
    assert.equal(sample.label, wrong.actual, 'the index names the sample in the dataset');
    assert.notEqual(wrong.predicted, wrong.actual);

    await rm(join(service.config.DATA_DIR, datasetBlobKey(heldOutId)));
    const again = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { datasetId: heldOutId } });
    assert.equal(again.statusCode, 200, 'the same model on the same dataset is not evaluated twice');
    assert.deepEqual(again.json(), first.json());
  });

  test('evaluate on a dataset of another shape is 400 naming datasetId', async () => {
    const xor = await uploadXor(service.app);
    const response = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { datasetId: xor.id } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'SHAPE_MISMATCH');
    assert.match(
      response.json().error.message,
      /body\.datasetId: model mdl_\w+ has shape \[784, \d+, 10\], but dataset ds_\w+ has 2 values per sample and 2 classes; evaluate the model on data shaped like the data it was trained on \(dataset ds_\w+\)/,
    );
  });

  test('evaluate on the validation split scores the samples the job held out, as its last epoch did', async () => {
    const response = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { split: 'validation' } });
    assert.equal(response.statusCode, 200, response.body);
    const { accuracy, loss, count, confusionMatrix } = response.json();
    assert.equal(count, TRAIN_COUNT * VALIDATION_SPLIT);
    assert.equal(confusionMatrix.flat().reduce((sum: number, n: number) => sum + n, 0), count);
    const { metrics } = (await service.app.inject({ method: 'GET', url: `/models/${modelId}` })).json();
    // The trainer scored these samples with other kernels: a near tie may tip one sample either way.
    assert.ok(Math.abs(accuracy - metrics.valAccuracy) <= 1 / count, `accuracy ${accuracy}, last epoch's ${metrics.valAccuracy}`);
    assert.ok(Math.abs(loss - metrics.valLoss) < 1e-3, `loss ${loss}, last epoch's ${metrics.valLoss}`);
  });

  test('evaluate on the validation split of a model whose job held out nothing is 400 naming split', async () => {
    const xor = await uploadXor(service.app);
    const job = await trainModel(service.app, { datasetId: xor.id, shape: [2, 4, 2], epochs: 1, validationSplit: 0 });
    const response = await service.app.inject({ method: 'POST', url: `/models/${job.modelId}/evaluate`, payload: { split: 'validation' } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'NO_VALIDATION_DATA');
    assert.match(response.json().error.message, /^body\.split: job job_\w+, which trained model mdl_\w+, held out no validation data; evaluate on a datasetId instead$/);
  });

  test('evaluate needs exactly one of datasetId and split', async () => {
    for (const payload of [{}, { datasetId: heldOutId, split: 'validation' }, { split: 'training' }]) {
      const response = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload });
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.equal(response.json().error.code, 'VALIDATION_FAILED');
      assert.match(response.json().error.message, /body\.(datasetId|split)/);
    }
  });

  test('DELETE removes the model; then it is 404 everywhere', async () => {
    const deleted = await service.app.inject({ method: 'DELETE', url: `/models/${modelId}` });
    assert.equal(deleted.statusCode, 204);
    for (const url of [`/models/${modelId}`, `/models/${modelId}/snapshot`]) {
      const response = await service.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error.code, 'MODEL_NOT_FOUND');
    }
    const again = await service.app.inject({ method: 'DELETE', url: `/models/${modelId}` });
    assert.equal(again.statusCode, 404);
  });
});
