import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, storageLocation } from '../src/config.js';

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

test('STORAGE_URL picks the store: DATA_DIR by default, a folder, or a bucket and prefix', () => {
  assert.deepEqual(storageLocation(loadConfig({ DATA_DIR: '/srv/data' })), { kind: 'file', root: '/srv/data' });
  assert.deepEqual(storageLocation(loadConfig({ STORAGE_URL: 'file:///mnt/blobs' })), { kind: 'file', root: '/mnt/blobs' });
  assert.deepEqual(storageLocation(loadConfig({ STORAGE_URL: 's3://mlp-data' })), { kind: 's3', bucket: 'mlp-data', prefix: '' });
  assert.deepEqual(storageLocation(loadConfig({ STORAGE_URL: 's3://mlp-data/team/a/' })), { kind: 's3', bucket: 'mlp-data', prefix: 'team/a/' });
});

test('a STORAGE_URL that is neither a folder nor a bucket is refused at start-up', () => {
  for (const url of ['s3://', 's3://Bad_Bucket', 'gs://bucket', 'file://relative', '/data']) {
    assert.throws(() => loadConfig({ STORAGE_URL: url }), /STORAGE_URL: must be file:\/\/\/a\/folder or s3:\/\/bucket/, url);
  }
});
