import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelBlobKey } from '../../src/models/model-store.js';
import type { QueueWorker } from '../../src/queue/queue-worker.js';
import { startTestWorker, trainModel } from '../helpers/jobs.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { startTestApp } from '../helpers/service.js';
import { uploadDigits } from '../helpers/uploads.js';

const DIGITS = 3000;

describe('the evaluation pool', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let datasetId = '';
  let modelId = '';
  const evaluate = (id: string) => service.app.inject({ method: 'POST', url: `/models/${id}/evaluate`, payload: { datasetId } });

  before(async () => {
    // One thread and no waiting room: a second evaluation while one runs is refused.
    service = await startTestApp({ EVALUATION_THREADS: '1', EVALUATION_QUEUE_LIMIT: '0' });
    worker = await startTestWorker(service.config);
    datasetId = (await uploadDigits(service.app, loadMnistDigits(DIGITS, 8), 0, DIGITS)).id;
    modelId = (await trainModel(service.app, { datasetId, shape: [784, 512, 10], epochs: 1 })).modelId!;
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('evaluations beyond its threads and queue get 503 with Retry-After; the one that ran answers', async () => {
    const answers = await Promise.all([evaluate(modelId), evaluate(modelId), evaluate(modelId)]);
    const statuses = answers.map((answer) => answer.statusCode).sort();
    assert.equal(statuses[0], 200, answers.map((answer) => answer.body).join('\n'));
    const busy = answers.filter((answer) => answer.statusCode === 503);
    assert.ok(busy.length >= 1, `statuses ${statuses.join(', ')}`);
    for (const answer of busy) {
      assert.equal(answer.json().error.code, 'EVALUATION_BUSY');
      assert.match(answer.json().error.message, /evaluation thread\(s\) are busy .*try again in 5 s/);
      assert.equal(answer.headers['retry-after'], '5');
    }
    const later = await evaluate(modelId);
    assert.equal(later.statusCode, 200, 'the pool takes work again once a thread is free');
    assert.equal(later.json().count, DIGITS);
  });

  test('a model whose snapshot cannot be read gets 422 with the reason, and the pool keeps working', async () => {
    const broken = (await trainModel(service.app, { datasetId, shape: [784, 16, 10], epochs: 1 })).modelId!;
    await writeFile(join(service.config.DATA_DIR, modelBlobKey(broken)), 'not a snapshot');
    const answer = await evaluate(broken);
    assert.equal(answer.statusCode, 422, answer.body);
    assert.equal(answer.json().error.code, 'EVALUATION_FAILED');
    assert.match(answer.json().error.message, /could not read its model or dataset: /);
    assert.equal((await evaluate(modelId)).statusCode, 200);
  });
});
