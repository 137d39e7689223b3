import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { QueueWorker } from '../../src/queue/queue-worker.js';
import { isFinished, startTestWorker, waitForJob } from '../helpers/jobs.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { startTestApp } from '../helpers/service.js';
import { uploadXor } from '../helpers/uploads.js';

/** Give up on S3 quickly, so an outage shows within a second. */
const IMPATIENT_S3 = { STORAGE_TIMEOUT_MS: '400', STORAGE_MAX_ATTEMPTS: '2' };

describe('an S3 outage', () => {
  let s3: TestS3Server;
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  let datasetId = '';

  before(async () => {
    s3 = await startS3Server();
    service = await startTestApp({ ...s3.env('outage'), ...IMPATIENT_S3 });
    worker = await startTestWorker(service.config);
    datasetId = (await uploadXor(service.app)).id;
  });
  after(async () => {
    await s3.start();
    await worker.close();
    await service.close();
    await s3.close();
  });

  test('answers 503 SERVICE_UNAVAILABLE for what needs storage, and /ready names storage', async () => {
    await s3.stop();
    try {
      const sample = await service.app.inject({ method: 'GET', url: `/datasets/${datasetId}/samples/0` });
      assert.equal(sample.statusCode, 503);
      assert.equal(sample.json().error.code, 'SERVICE_UNAVAILABLE');
      const ready = await service.app.inject({ method: 'GET', url: '/ready' });
      assert.equal(ready.statusCode, 503);
      assert.match(ready.json().error.details.checks.storage, /S3 put of "health\/probe-.*" in bucket mlp-test failed/);
      assert.equal(ready.json().error.details.checks.redis, 'ok');
    } finally {
      await s3.start();
    }
    assert.equal((await service.app.inject({ method: 'GET', url: `/datasets/${datasetId}/samples/0` })).statusCode, 200);
  });

  test('a job that cannot load its data waits in the queue and runs once S3 is back', async () => {
    await s3.stop();
    let waited;
    try {
      const created = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId, shape: [2, 4, 2], epochs: 20 } });
      assert.equal(created.statusCode, 202);
      waited = await waitForJob(service.app, created.json().id, (job) => job.statusTransitions.some((transition) => /storage is unavailable/.test(transition.reason ?? '')));
      assert.equal(waited.state, 'queued');
    } finally {
      await s3.start();
    }
    const job = await waitForJob(service.app, waited.id, isFinished);
    assert.equal(job.state, 'completed', JSON.stringify(job.error));
    assert.ok(job.modelId);
  });
});
