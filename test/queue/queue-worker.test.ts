import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { workerThreadsPerJob } from '../../src/queue/queue-worker.js';

test('kernel threads per job default to the worker\'s own cores split between its concurrent jobs, at least 1', () => {
  const cores = availableParallelism();
  assert.equal(loadConfig({}).TRAINING_THREADS, undefined, 'the API host\'s cores decide nothing');
  assert.equal(workerThreadsPerJob(loadConfig({})), cores);
  assert.equal(workerThreadsPerJob(loadConfig({ WORKER_CONCURRENCY: '2' })), Math.max(1, Math.floor(cores / 2)));
  assert.equal(workerThreadsPerJob(loadConfig({ WORKER_CONCURRENCY: String(cores + 1) })), 1);
  assert.equal(workerThreadsPerJob(loadConfig({ WORKER_CONCURRENCY: '2', TRAINING_THREADS: '3' })), 3);
});
