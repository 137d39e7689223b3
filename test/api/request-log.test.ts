import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { freePort } from '../../scripts/local-redis.js';
import { isolatedConfig, removeIsolatedState } from '../helpers/service.js';

const SERVER_ENTRY = fileURLToPath(new URL('../../src/server.js', import.meta.url));
const START_TIMEOUT_MS = 15_000;

test('at LOG_LEVEL=info the API logs one line per request, when it is answered, with the method, URL and status', async () => {
  const config = await isolatedConfig();
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'info', ENABLE_DASHBOARDS: 'false',
    REDIS_PREFIX: config.REDIS_PREFIX, QUEUE_NAME: config.QUEUE_NAME, DATA_DIR: config.DATA_DIR,
    ...(config.REDIS_URL && { REDIS_URL: config.REDIS_URL }),
  };
  const server = spawn(process.execPath, [SERVER_ENTRY], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!output.includes('Server listening')) {
      assert.ok(Date.now() < deadline && server.exitCode === null, `the server did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = output.length;
    assert.equal((await fetch(`http://127.0.0.1:${port}/health?probe=1`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/no-such-route`)).status, 404);
    server.kill('SIGTERM');
    await once(server, 'exit');

    const lines = output.slice(before).split('\n').filter(Boolean).map((line) => JSON.parse(line));
    const requests = lines.filter((line) => line.req !== undefined);
    assert.deepEqual(requests.map((line) => [line.msg, line.req.method, line.req.url, line.res.statusCode]), [
      ['request completed', 'GET', '/health?probe=1', 200],
      ['request completed', 'GET', '/no-such-route', 404],
    ]);
    assert.ok(requests.every((line) => typeof line.reqId === 'string' && typeof line.responseTime === 'number'));
    assert.equal(lines.filter((line) => line.msg === 'incoming request').length, 0);
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
    await removeIsolatedState(config);
  }
});
