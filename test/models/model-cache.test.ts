import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruCache } from '../../src/models/model-cache.js';

test('the least recently used entry leaves first and is released', async () => {
  const released: string[] = [];
  const cache = new LruCache<string>(2, (value) => released.push(value));
  await cache.get('a', async () => 'A');
  await cache.get('b', async () => 'B');
  await cache.get('a', async () => 'A again');
  await cache.get('c', async () => 'C');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(released, ['B']);
  assert.equal(await cache.get('a', async () => 'reloaded'), 'A');
  assert.equal(await cache.get('b', async () => 'B reloaded'), 'B reloaded');
});

test('concurrent requests share one load; a failed load is tried again next time', async () => {
  const cache = new LruCache<number>(4);
  let loads = 0;
  const load = async () => {
    loads++;
    return loads;
  };
  assert.deepEqual(await Promise.all([cache.get('x', load), cache.get('x', load)]), [1, 1]);
  await assert.rejects(cache.get('y', async () => Promise.reject(new Error('disk gone'))), /disk gone/);
  assert.equal(await cache.get('y', async () => 7), 7);
  assert.equal(cache.size, 2);
});
