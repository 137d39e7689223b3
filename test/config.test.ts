import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

test('defaults give a working local configuration', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.DATA_DIR, './data');
  assert.equal(config.REDIS_URL, undefined);
  assert.equal(config.ENABLE_DASHBOARDS, true);
});

test('numbers and booleans are read from their text', () => {
  const config = loadConfig({ PORT: '8080', WORKER_CONCURRENCY: '3', ENABLE_DASHBOARDS: 'false' });
  assert.equal(config.PORT, 8080);
  assert.equal(config.WORKER_CONCURRENCY, 3);
  assert.equal(config.ENABLE_DASHBOARDS, false);
});

test('kernel threads per job default to the cores split between concurrent jobs, at least 1', () => {
  const cores = availableParallelism();
  assert.equal(loadConfig({}).TRAINING_THREADS, cores);
  assert.equal(loadConfig({ WORKER_CONCURRENCY: '2' }).TRAINING_THREADS, Math.max(1, Math.floor(cores / 2)));
  assert.equal(loadConfig({ WORKER_CONCURRENCY: String(cores + 1) }).TRAINING_THREADS, 1);
  assert.equal(loadConfig({ WORKER_CONCURRENCY: '2', TRAINING_THREADS: '3' }).TRAINING_THREADS, 3);
});

test('a bad value stops start-up naming every offending variable', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://example.com', API_KEY: 'short' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (const name of ['PORT', 'REDIS_URL', 'API_KEY']) assert.match(error.message, new RegExp(name));
      return true;
    },
  );
});
