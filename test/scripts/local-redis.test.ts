import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { findOnPath, freePort, redisAnswers, startPrivateRedis } from '../../scripts/local-redis.js';

test('nothing answers PING on a closed port', async () => {
  assert.equal(await redisAnswers('127.0.0.1', await freePort()), false);
});

test('a private redis-server starts with its data under the given folder, keeps an AOF, answers, and stops', async () => {
  const executable = findOnPath('redis-server');
  assert.ok(executable, 'redis-server is not on PATH: install it with apt-get install -y redis-server (.ci/run does)');
  const dir = await mkdtemp(join(tmpdir(), 'private-redis-'));
  const port = await freePort();
  const server = await startPrivateRedis(executable, dir, port);
  try {
    assert.equal(await redisAnswers('127.0.0.1', port), true);
    assert.match(await readFile(join(dir, 'redis.log'), 'utf8'), /Ready to accept connections/);
    const redis = new Redis({ port, lazyConnect: true });
    try {
      await redis.connect();
      const settings = await redis.config('GET', 'appendonly', 'appendfsync', 'maxmemory-policy') as string[];
      assert.deepEqual(Object.fromEntries(Array.from({ length: settings.length / 2 }, (_, i) => [settings[2 * i], settings[2 * i + 1]])), {
        appendonly: 'yes', appendfsync: 'everysec', 'maxmemory-policy': 'noeviction',
      });
    } finally {
      redis.disconnect();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(await redisAnswers('127.0.0.1', port), false);
});

test('findOnPath finds node and not a made-up command', () => {
  assert.ok(findOnPath('node'));
  assert.equal(findOnPath('no-such-command-here'), null);
});
