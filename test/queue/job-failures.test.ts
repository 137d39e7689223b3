import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { after, describe, test } from 'node:test';
import { redisUrl } from '../../src/config.js';
import { datasetBlobKey } from '../../src/data/dataset-service.js';
import { modelBlobKey } from '../../src/models/model-store.js';
import { JOB_ERRORS, type JobErrorCode } from '../../src/queue/job-errors.js';
import type { Job } from '../../src/queue/job-schema.js';
import { redisKeys } from '../../src/storage/redis.js';
import { exitOf, isFinished, spawnWorkerProcess, startTestWorker, waitForJob } from '../helpers/jobs.js';
import { loadMnistDigits } from '../helpers/mnist.js';
import { startTestApp } from '../helpers/service.js';
import { uploadDigits, uploadParts, uploadXor } from '../helpers/uploads.js';

type Service = Awaited<ReturnType<typeof startTestApp>>;

const digits = loadMnistDigits(600, 11);
const XOR_JOB = { shape: [2, 8, 2], activation: 'tanh', optimizer: 'adam', learningRate: 0.05, batchSize: 8, epochs: 5, validationSplit: 0 };

/** Each failure gets a service of its own, since some of them break its storage on purpose. */
const services: Service[] = [];
async function service(overrides: Record<string, string> = {}): Promise<Service> {
  const started = await startTestApp(overrides);
  services.push(started);
  return started;
}
const filePath = (service: Service, key: string) => join(service.config.DATA_DIR, key);

async function submit(service: Service, body: Record<string, unknown>): Promise<string> {
  const response = await service.app.inject({ method: 'POST', url: '/jobs', payload: body });
  assert.equal(response.statusCode, 202, response.body);
  return response.json().id;
}

/** The job failed with this code, and a person reads what happened and what to do. */
function assertFailed(job: Job, code: JobErrorCode, message: RegExp, advice: string | RegExp = JOB_ERRORS[code].advice): void {
  assert.equal(job.state, 'failed', JSON.stringify(job.statusTransitions));
  assert.equal(job.error?.code, code);
  assert.match(job.error?.message ?? '', message);
  if (typeof advice === 'string') assert.equal(job.error?.advice, advice);
  else assert.match(job.error?.advice ?? '', advice);
  assert.equal(job.statusTransitions.at(-1)?.reason, job.error?.message, 'the last transition says why');
}

describe('every way a job can fail reaches the job record in words', () => {
  after(async () => {
    for (const started of services) await started.close();
  });

  test('BAD_DATASET: the dataset file is gone from storage', async () => {
    const svc = await service();
    const worker = await startTestWorker(svc.config);
    try {
      const dataset = await uploadXor(svc.app);
      await rm(filePath(svc, datasetBlobKey(dataset.id)));
      const job = await waitForJob(svc.app, await submit(svc, { datasetId: dataset.id, ...XOR_JOB }), isFinished);
      assertFailed(job, 'BAD_DATASET', new RegExp(`dataset ${dataset.id} is gone from storage`));
    } finally {
      await worker.close();
    }
  });

  test('INVALID_CONFIG: the stored dataset no longer fits the network (its file was replaced)', async () => {
    const svc = await service();
    const worker = await startTestWorker(svc.config);
    try {
      const xor = await uploadXor(svc.app);
      const wide = await uploadParts(svc.app, [{ field: 'file', file: JSON.stringify({ inputs: [[0, 0, 1], [1, 1, 0]], labels: [0, 1] }), filename: 'wide.json' }]);
      await copyFile(filePath(svc, datasetBlobKey(wide.id)), filePath(svc, datasetBlobKey(xor.id)));
      const job = await waitForJob(svc.app, await submit(svc, { datasetId: xor.id, ...XOR_JOB }), isFinished);
      assertFailed(job, 'INVALID_CONFIG', /the training data does not fit the network: shape\[0\] is 2 but the dataset has 3 values per sample/, 'Change "shape" and submit a new job.');
    } finally {
      await worker.close();
    }
  });

  test('BAD_CHECKPOINT: the checkpoint a resume starts from is corrupt', async () => {
    const svc = await service();
    const worker = await startTestWorker(svc.config);
    try {
      const dataset = await uploadDigits(svc.app, digits, 0, 600);
      const id = await submit(svc, { datasetId: dataset.id, shape: [784, 256, 10], epochs: 300 });
      await waitForJob(svc.app, id, (job) => job.history.epochs.length >= 1);
      await svc.app.inject({ method: 'DELETE', url: `/jobs/${id}` });
      await waitForJob(svc.app, id, isFinished);
      const redis = new Redis(redisUrl(svc.config));
      const [newest] = await redis.lrange(redisKeys(svc.config.REDIS_PREFIX).jobCheckpoints(id), -1, -1);
      redis.disconnect();
      await writeFile(filePath(svc, JSON.parse(newest).key), 'not a checkpoint');
      assert.equal((await svc.app.inject({ method: 'POST', url: `/jobs/${id}/resume` })).statusCode, 202);
      const job = await waitForJob(svc.app, id, (current) => current.state === 'failed');
      assertFailed(job, 'BAD_CHECKPOINT', /The checkpoint cannot be resumed: /);
    } finally {
      await worker.close();
    }
  });

  test('SOURCE_MODEL_GONE: the model a warm start begins from was deleted while the job waited', async () => {
    const svc = await service();
    const dataset = await uploadXor(svc.app);
    let worker = await startTestWorker(svc.config);
    const trained = await waitForJob(svc.app, await submit(svc, { datasetId: dataset.id, ...XOR_JOB }), isFinished);
    await worker.close();
    const id = await submit(svc, { datasetId: dataset.id, fromModelId: trained.modelId, epochs: 2 });
    await rm(filePath(svc, modelBlobKey(trained.modelId!)));
    worker = await startTestWorker(svc.config);
    try {
      const job = await waitForJob(svc.app, id, isFinished);
      assertFailed(job, 'SOURCE_MODEL_GONE', new RegExp(`model ${trained.modelId}, which the job was to start from, has been deleted`));
    } finally {
      await worker.close();
    }
  });

  test('TRAINING_CRASHED: progress cannot be saved; the job is retried from its checkpoint, then fails for good', async () => {
    const svc = await service();
    // A file where the checkpoints folder should be: every checkpoint write fails.
    await writeFile(filePath(svc, 'checkpoints'), 'in the way');
    const worker = await startTestWorker(svc.config);
    try {
      const dataset = await uploadXor(svc.app);
      const job = await waitForJob(svc.app, await submit(svc, { datasetId: dataset.id, ...XOR_JOB }), isFinished, 30_000);
      assertFailed(job, 'TRAINING_CRASHED', /^Progress could not be saved: /);
      const retries = job.statusTransitions.filter(({ reason }) => reason?.endsWith('retrying from the last checkpoint'));
      assert.equal(retries.length, 2, 'three attempts in all');
    } finally {
      await worker.close();
    }
  });

  test('QUEUE_UNAVAILABLE: the queue refuses the job; the request answers 503 and the record says so', async () => {
    const svc = await service();
    const dataset = await uploadXor(svc.app);
    const redis = new Redis(redisUrl(svc.config));
    // BullMQ appends to this stream when it adds a job; a key of another type makes it refuse.
    await redis.set(`${redisKeys(svc.config.REDIS_PREFIX).bullPrefix}:${svc.config.QUEUE_NAME}:events`, 'not a stream');
    redis.disconnect();
    const response = await svc.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, ...XOR_JOB } });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error.code, 'QUEUE_UNAVAILABLE');
    assert.match(response.json().error.message, /The job could not be queued: .*Submit it again once Redis answers/);
    const job = (await svc.app.inject({ method: 'GET', url: `/jobs/${response.json().error.details.jobId}` })).json() as Job;
    assertFailed(job, 'QUEUE_UNAVAILABLE', /The job could not be queued: /);
    const deletable = await svc.app.inject({ method: 'DELETE', url: `/datasets/${dataset.id}` });
    assert.equal(deletable.statusCode, 204, 'the failed job let go of its dataset');
  });

  test('WORKER_LOST: the job\'s worker dies more often than JOB_MAX_STALLED_COUNT allows', async () => {
    const svc = await service({ JOB_LOCK_DURATION_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000', JOB_MAX_STALLED_COUNT: '1' });
    const children: ChildProcess[] = [];
    try {
      const dataset = await uploadDigits(svc.app, digits, 0, 600);
      const id = await submit(svc, { datasetId: dataset.id, shape: [784, 256, 10], epochs: 300 });
      for (let death = 0; death < 2; death++) {
        const child = spawnWorkerProcess(svc.config);
        children.push(child);
        await waitForJob(svc.app, id, (job) => job.state === 'running' && job.statusTransitions.filter(({ state }) => state === 'running').length > death, 20_000);
        child.kill('SIGKILL');
        await exitOf(child);
      }
      children.push(spawnWorkerProcess(svc.config));
      const job = await waitForJob(svc.app, id, isFinished, 30_000);
      assertFailed(job, 'WORKER_LOST', /The job's worker stopped answering 2 times \(job stalled more than allowable limit\)/);
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(exitOf));
    }
  });
});
