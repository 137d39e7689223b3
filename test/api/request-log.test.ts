import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loggableUrl } from '../../src/api/request-log.js';
import { startServerProcess } from '../helpers/server-process.js';
import { isolatedConfig, removeIsolatedState } from '../helpers/service.js';

test('at LOG_LEVEL=info the API logs one line per request, when it is answered, with the method, URL and status', async () => {
  const config = await isolatedConfig();
  const server = await startServerProcess(config);
  try {
    const before = server.output().length;
    assert.equal((await fetch(`${server.url}/health?probe=1`)).status, 200);
    assert.equal((await fetch(`${server.url}/no-such-route`)).status, 404);
    await server.stop();

    const lines = server.output().slice(before).split('\n').filter(Boolean).map((line) => JSON.parse(line));
    const requests = lines.filter((line) => line.req !== undefined);
    assert.deepEqual(requests.map((line) => [line.msg, line.req.method, line.req.url, line.res.statusCode]), [
      ['request completed', 'GET', '/health?probe=1', 200],
      ['request completed', 'GET', '/no-such-route', 404],
    ]);
    assert.ok(requests.every((line) => typeof line.reqId === 'string' && typeof line.responseTime === 'number'));
    assert.equal(lines.filter((line) => line.msg === 'incoming request').length, 0);
  } finally {
    await server.stop();
    await removeIsolatedState(config);
  }
});

test('a secret-looking query parameter is logged as [redacted]; the rest of the URL as sent', () => {
  assert.equal(loggableUrl('/jobs?apiKey=abc&limit=5&token=t&access_token=x'), '/jobs?apiKey=[redacted]&limit=5&token=[redacted]&access_token=[redacted]');
  assert.equal(loggableUrl('/jobs?limit=5'), '/jobs?limit=5');
  assert.equal(loggableUrl('/health'), '/health');
});
