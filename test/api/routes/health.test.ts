import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestApp } from '../../helpers/service.js';

describe('operations routes', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    service = await startTestApp();
  });
  after(() => service.close());

  test('GET /health answers ok', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  test('GET /ready is 200 with Redis up and a writable data directory', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ready', checks: { redis: 'ok', storage: 'ok' } });
  });

  test('GET /metrics exposes request latency by route pattern', async () => {
    await service.app.inject({ method: 'GET', url: '/health' });
    const response = await service.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+/);
  });

  test('an unknown route answers the error shape with 404', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/nope' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'ROUTE_NOT_FOUND');
    assert.match(response.json().error.message, /GET \/nope/);
  });

  test('a malformed percent-encoding in the URL answers the error shape with 400', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/jobs/%E0%A4%A' });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'INVALID_URL');
    assert.match(response.json().error.message, /malformed percent-encoding: '\/jobs\/%E0%A4%A'/);
  });

  test('an id longer than the router accepts answers the error shape with 414', async () => {
    const response = await service.app.inject({ method: 'GET', url: `/datasets/${'a'.repeat(500)}` });
    assert.equal(response.statusCode, 414);
    assert.equal(response.json().error.code, 'URL_TOO_LONG');
    assert.match(response.json().error.message, /URL is too long.*max param length/);
  });
});

test('GET /ready is 503 naming Redis when Redis is unreachable', async () => {
  const service = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
  try {
    const response = await service.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 503);
    const { error } = response.json();
    assert.equal(error.code, 'SERVICE_UNAVAILABLE');
    assert.notEqual(error.details.checks.redis, 'ok');
    assert.equal(error.details.checks.storage, 'ok');
  } finally {
    await service.app.close();
  }
});

test('GET /ready is 503 naming storage when the data directory cannot be written', async () => {
  const notADirectory = join(await mkdtemp(join(tmpdir(), 'ready-')), 'a-file');
  await writeFile(notADirectory, 'DATA_DIR points at a file');
  const service = await startTestApp({ DATA_DIR: notADirectory });
  try {
    const response = await service.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(response.statusCode, 503);
    const { checks } = response.json().error.details;
    assert.equal(checks.redis, 'ok');
    assert.match(checks.storage, /EEXIST|ENOTDIR/);
  } finally {
    await service.close();
    await rm(dirname(notADirectory), { recursive: true, force: true });
  }
});

test('with API_KEY set, routes need the key but probes stay public', async () => {
  const key = 'k'.repeat(32);
  const service = await startTestApp({ API_KEY: key });
  try {
    const denied = await service.app.inject({ method: 'GET', url: '/nope' });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.json().error.code, 'UNAUTHORIZED');
    const allowed = await service.app.inject({ method: 'GET', url: '/nope', headers: { authorization: `Bearer ${key}` } });
    assert.equal(allowed.statusCode, 404);
    const health = await service.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200);
  } finally {
    await service.close();
  }
});
