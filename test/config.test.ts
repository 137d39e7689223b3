import assert from 'node:assert/strict';
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
