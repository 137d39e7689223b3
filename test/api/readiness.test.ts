import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { findOnPath, freePort, startPrivateRedis } from '../../scripts/local-redis.js';
import { startTestApp } from '../helpers/service.js';

test('GET /ready stays ready but warns when Redis may evict BullMQ keys', async () => {
  const executable = findOnPath('redis-server');
  assert.ok(executable, 'redis-server is not on PATH: install it with apt-get install -y redis-server (.ci/run does)');
  const dir = await mkdtemp(join(tmpdir(), 'evicting-redis-'));
  const port = await freePort();
  const server = await startPrivateRedis(executable, dir, port);
  const service = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
  try {
    const quiet = await service.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(quiet.statusCode, 200);
    assert.equal(quiet.json().warnings, undefined);

    const admin = new Redis({ port });
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    admin.disconnect();
    const response = await service.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json().warnings, [
      "Redis has maxmemory-policy allkeys-lru: at its memory limit it may evict BullMQ's keys and lose jobs; set maxmemory-policy noeviction",
    ]);
  } finally {
    await service.close();
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
