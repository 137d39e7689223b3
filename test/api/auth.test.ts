import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { API_KEY_COOKIE } from '../../src/api/api-key-cookie.js';
import { ConfigError, loadConfig, type ApiKeyScope } from '../../src/config.js';
import { startTestApp } from '../helpers/service.js';
import { uploadXor } from '../helpers/uploads.js';

const KEY = 'k'.repeat(24) + '/+=;x';

describe('with API_KEY set', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let jobId = '';
  const bearer = { authorization: `Bearer ${KEY}` };
  const keyCookie = { cookie: `theme=dark; ${API_KEY_COOKIE}=${encodeURIComponent(KEY)}` };

  before(async () => {
    service = await startTestApp({ API_KEY: KEY });
    const xor = await uploadXor(service.app, 1, bearer);
    const created = await service.app.inject({ method: 'POST', url: '/jobs', headers: bearer, payload: { datasetId: xor.id, shape: [2, 4, 2] } });
    jobId = created.json().id;
    // Cancelled while queued, so its event stream sends the job and ends.
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/jobs/${jobId}`, headers: bearer })).statusCode, 200);
  });
  after(() => service.close());

  test('an API route is 401 without the key and answers with it', async () => {
    const denied = await service.app.inject({ method: 'GET', url: '/jobs' });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.json().error.code, 'UNAUTHORIZED');
    assert.match(denied.json().error.message, /Authorization: Bearer/);
    const allowed = await service.app.inject({ method: 'GET', url: '/jobs', headers: bearer });
    assert.equal(allowed.statusCode, 200);
    assert.deepEqual(allowed.json().jobs.map((job: { id: string }) => job.id), [jobId]);
  });

  test('the dashboard\'s own files load without the key, so the page can ask for it', async () => {
    for (const url of ['/', '/main.js', '/styles.css']) {
      const response = await service.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
    }
    const unknown = await service.app.inject({ method: 'GET', url: '/secrets.js' });
    assert.equal(unknown.statusCode, 401, 'a path that is no dashboard file still needs the key');
  });

  test('the job event stream takes the key from the cookie, as EventSource cannot send headers', async () => {
    const denied = await service.app.inject({ method: 'GET', url: `/jobs/${jobId}/events` });
    assert.equal(denied.statusCode, 401);
    const streamed = await service.app.inject({ method: 'GET', url: `/jobs/${jobId}/events`, headers: keyCookie });
    assert.equal(streamed.statusCode, 200);
    assert.equal(streamed.headers['content-type'], 'text/event-stream');
    assert.match(streamed.body, new RegExp(`\\nevent: job\\ndata: \\{"id":"${jobId}"`));
    assert.match(streamed.body, /"state":"cancelled"/);
  });

  test('the cookie opens only the event stream, and a key in the query string is not taken', async () => {
    assert.equal((await service.app.inject({ method: 'GET', url: `/jobs/${jobId}`, headers: keyCookie })).statusCode, 401);
    const query = await service.app.inject({ method: 'GET', url: `/jobs/${jobId}/events?apiKey=${encodeURIComponent(KEY)}` });
    assert.equal(query.statusCode, 401);
    const wrong = await service.app.inject({ method: 'GET', url: `/jobs/${jobId}/events`, headers: { cookie: `${API_KEY_COOKIE}=${'x'.repeat(KEY.length)}` } });
    assert.equal(wrong.statusCode, 401);
    const malformed = await service.app.inject({ method: 'GET', url: `/jobs/${jobId}/events`, headers: { cookie: `${API_KEY_COOKIE}=%E0%A4%A` } });
    assert.equal(malformed.statusCode, 401, 'a cookie that does not URL-decode is no key');
  });
});

const KEYS = {
  reader: { key: 'r'.repeat(32), scopes: ['read'] },
  trainer: { key: 't'.repeat(32), scopes: ['train'] },
  predictor: { key: 'p'.repeat(32), scopes: ['predict'] },
  ops: { key: 'a'.repeat(32), scopes: ['admin'] },
} as const;
const API_KEYS = Object.entries(KEYS).map(([name, { key, scopes }]) => `${name}:${key}:${scopes.join('+')}`).join(', ');
const DATASET = `ds_${'0'.repeat(20)}`;
const JOB = `job_${'0'.repeat(20)}`;
const MODEL = `mdl_${'0'.repeat(20)}`;

/** Every route and the scope it needs; the test below checks that the OpenAPI document has no route this table misses. */
/** A registry name and alias for the registry and /v2 routes; nothing is registered, so a permitted call is a 404. */
const REGISTERED = 'scoped-net';
const SWEEP = 'swp_00000000000000000000';
const ALIAS = 'production';

const ROUTE_SCOPES: { request: InjectOptions & { method: string; url: string }; scope: ApiKeyScope | 'public' }[] = [
  { request: { method: 'GET', url: '/health' }, scope: 'public' },
  { request: { method: 'GET', url: '/ready' }, scope: 'public' },
  { request: { method: 'GET', url: '/metrics' }, scope: 'public' },
  { request: { method: 'GET', url: '/docs/json' }, scope: 'public' },
  { request: { method: 'GET', url: '/' }, scope: 'public' },
  { request: { method: 'POST', url: '/datasets' }, scope: 'train' },
  { request: { method: 'GET', url: '/datasets' }, scope: 'read' },
  { request: { method: 'GET', url: `/datasets/${DATASET}` }, scope: 'read' },
  { request: { method: 'GET', url: `/datasets/${DATASET}/samples/0` }, scope: 'read' },
  { request: { method: 'DELETE', url: `/datasets/${DATASET}` }, scope: 'train' },
  { request: { method: 'POST', url: '/jobs', payload: {} }, scope: 'train' },
  { request: { method: 'GET', url: '/jobs' }, scope: 'read' },
  { request: { method: 'GET', url: `/jobs/${JOB}` }, scope: 'read' },
  { request: { method: 'DELETE', url: `/jobs/${JOB}` }, scope: 'train' },
  { request: { method: 'PATCH', url: `/jobs/${JOB}`, payload: { name: 'a run' } }, scope: 'train' },
  { request: { method: 'GET', url: `/jobs/${JOB}/events` }, scope: 'read' },
  { request: { method: 'GET', url: `/jobs/${JOB}/history` }, scope: 'read' },
  { request: { method: 'POST', url: `/jobs/${JOB}/stop` }, scope: 'train' },
  { request: { method: 'POST', url: `/jobs/${JOB}/resume` }, scope: 'train' },
  { request: { method: 'GET', url: '/models' }, scope: 'read' },
  { request: { method: 'GET', url: `/models/${MODEL}` }, scope: 'read' },
  { request: { method: 'GET', url: `/models/${MODEL}/snapshot` }, scope: 'read' },
  { request: { method: 'GET', url: `/models/${MODEL}/export?format=json` }, scope: 'read' },
  { request: { method: 'GET', url: `/models/${REGISTERED}/versions` }, scope: 'read' },
  { request: { method: 'PUT', url: `/models/${REGISTERED}/aliases/${ALIAS}`, payload: { version: 1 } }, scope: 'train' },
  { request: { method: 'DELETE', url: `/models/${REGISTERED}/aliases/${ALIAS}` }, scope: 'train' },
  { request: { method: 'GET', url: '/v2/' }, scope: 'public' },
  { request: { method: 'GET', url: '/v2/health/live' }, scope: 'public' },
  { request: { method: 'GET', url: '/v2/health/ready' }, scope: 'public' },
  { request: { method: 'GET', url: `/v2/models/${REGISTERED}` }, scope: 'read' },
  { request: { method: 'GET', url: `/v2/models/${REGISTERED}/ready` }, scope: 'read' },
  { request: { method: 'POST', url: `/v2/models/${REGISTERED}/infer`, payload: {} }, scope: 'predict' },
  { request: { method: 'GET', url: `/v2/models/${REGISTERED}/versions/1` }, scope: 'read' },
  { request: { method: 'GET', url: `/v2/models/${REGISTERED}/versions/1/ready` }, scope: 'read' },
  { request: { method: 'POST', url: `/v2/models/${REGISTERED}/versions/1/infer`, payload: {} }, scope: 'predict' },
  { request: { method: 'DELETE', url: `/models/${MODEL}` }, scope: 'train' },
  { request: { method: 'POST', url: `/models/${MODEL}/evaluate`, payload: {} }, scope: 'predict' },
  { request: { method: 'POST', url: '/predict', payload: {} }, scope: 'predict' },
  { request: { method: 'POST', url: '/gradcheck', payload: {} }, scope: 'train' },
  { request: { method: 'POST', url: '/sweeps', payload: {} }, scope: 'train' },
  { request: { method: 'GET', url: '/sweeps' }, scope: 'read' },
  { request: { method: 'GET', url: `/sweeps/${SWEEP}` }, scope: 'read' },
  { request: { method: 'DELETE', url: `/sweeps/${SWEEP}` }, scope: 'train' },
  { request: { method: 'GET', url: `/sweeps/${SWEEP}/events` }, scope: 'read' },
  { request: { method: 'GET', url: '/queues' }, scope: 'admin' },
  { request: { method: 'GET', url: '/queues/api/queues' }, scope: 'admin' },
];

describe('with API_KEYS set, each route needs its scope', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    service = await startTestApp({ API_KEYS, ENABLE_DASHBOARDS: 'true' });
  });
  after(() => service.close());

  test('the table names every documented route', async () => {
    const document = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const documentedPath = (url: string) => url.split('?')[0]
      .replace(/(ds|job|mdl|swp)_0+/, '{id}').replace(/samples\/0$/, 'samples\/{index}')
      .replace(REGISTERED, '{name}').replace(`aliases/${ALIAS}`, 'aliases/{alias}').replace(/versions\/1/, 'versions/{version}');
    const tabled = new Set(ROUTE_SCOPES.map(({ request }) => `${request.method} ${documentedPath(request.url)}`));
    for (const [path, methods] of Object.entries(document.paths as Record<string, object>)) {
      for (const method of Object.keys(methods)) assert.ok(tabled.has(`${method.toUpperCase()} ${path}`), `${method} ${path} is not in the table`);
    }
  });

  for (const { request, scope } of ROUTE_SCOPES) {
    test(`${request.method} ${request.url} needs ${scope === 'public' ? 'no key' : `the ${scope} scope`}`, async () => {
      const anonymous = await service.app.inject(request);
      if (scope === 'public') {
        assert.ok(anonymous.statusCode < 400, `${anonymous.statusCode} ${anonymous.body.slice(0, 200)}`);
        return;
      }
      assert.equal(anonymous.statusCode, 401, anonymous.body);
      assert.equal(anonymous.json().error.code, 'UNAUTHORIZED');
      for (const [name, { key, scopes }] of Object.entries(KEYS)) {
        const response = await service.app.inject({ ...request, headers: { 'x-api-key': key } });
        const allowed = (scopes as readonly string[]).includes(scope) || (scopes as readonly string[]).includes('admin');
        if (allowed) {
          assert.ok(response.statusCode !== 401 && response.statusCode !== 403, `${name}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        } else {
          assert.equal(response.statusCode, 403, `${name}: ${response.body.slice(0, 200)}`);
          assert.deepEqual(response.json().error, {
            code: 'FORBIDDEN',
            message: `The API key "${name}" does not have the "${scope}" scope this route needs`,
            details: { scope },
          });
        }
      }
    });
  }

  test('a path no route serves is 404 for any valid key, and 401 without one', async () => {
    assert.equal((await service.app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-api-key': KEYS.reader.key } })).statusCode, 404);
    assert.equal((await service.app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 401);
  });

  test('a browser opens /queues with HTTP Basic, the admin key as the password, and is asked for it in our error shape', async () => {
    const asked = await service.app.inject({ method: 'GET', url: '/queues' });
    assert.equal(asked.statusCode, 401);
    assert.match(String(asked.headers['www-authenticate']), /^Basic realm="[^"]+", charset="UTF-8"$/);
    assert.equal(asked.json().error.code, 'UNAUTHORIZED');
    const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${key}`).toString('base64')}` });
    const page = await service.app.inject({ method: 'GET', url: '/queues', headers: basic(KEYS.ops.key) });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const api = await service.app.inject({ method: 'GET', url: '/queues/api/queues', headers: basic(KEYS.ops.key) });
    assert.equal(api.statusCode, 200);
    assert.ok(Array.isArray(api.json().queues));
    const reader = await service.app.inject({ method: 'GET', url: '/queues', headers: basic(KEYS.reader.key) });
    assert.equal(reader.statusCode, 403);
    assert.equal(reader.json().error.code, 'FORBIDDEN');
    const basicElsewhere = await service.app.inject({ method: 'GET', url: '/jobs', headers: basic(KEYS.ops.key) });
    assert.equal(basicElsewhere.statusCode, 401, 'HTTP Basic is for the read-only dashboard only: a browser sends it cross-site');
  });

  test("an error inside Bull Board's routes answers in our shape, not Bull Board's", async () => {
    const response = await service.app.inject({ method: 'GET', url: '/queues/api/queues/nope/nope', headers: { 'x-api-key': KEYS.ops.key } });
    assert.ok(response.statusCode >= 400);
    assert.deepEqual(Object.keys(response.json()), ['error']);
    assert.equal(typeof response.json().error.code, 'string');
    assert.doesNotMatch(response.body, /at .*\.js:\d+/, 'no stack trace');
  });
});

test('PUBLIC_METRICS=false puts /metrics behind the read scope', async () => {
  const service = await startTestApp({ API_KEYS, PUBLIC_METRICS: 'false' });
  try {
    assert.equal((await service.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await service.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${KEYS.predictor.key}` } })).statusCode, 403);
    const scraped = await service.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${KEYS.reader.key}` } });
    assert.equal(scraped.statusCode, 200);
    assert.match(scraped.body, /http_request_duration_seconds/);
  } finally {
    await service.close();
  }
});

describe('API key configuration', () => {
  const problem = (env: Record<string, string>, pattern: RegExp) => () => assert.throws(() => loadConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, pattern);
    for (const value of Object.values(env)) for (const secret of value.match(/[A-Za-z0-9]{16,}/g) ?? []) assert.ok(!error.message.includes(secret), 'a key is never quoted');
    return true;
  });

  test('API_KEY is one key with every scope', () => {
    assert.deepEqual(loadConfig({ API_KEY: 'x'.repeat(16) }).API_KEYS, [{ name: 'API_KEY', key: 'x'.repeat(16), scopes: ['admin'] }]);
  });
  test('API_KEYS entries are name:key:scope+scope', () => {
    assert.deepEqual(loadConfig({ API_KEYS: `ci:${'c'.repeat(20)}:read+train,  grafana:${'g'.repeat(20)}:read` }).API_KEYS, [
      { name: 'ci', key: 'c'.repeat(20), scopes: ['read', 'train'] },
      { name: 'grafana', key: 'g'.repeat(20), scopes: ['read'] },
    ]);
  });
  test('a short key is named without being shown', problem({ API_KEYS: `ci:${'s'.repeat(10)}:read` }, /API_KEYS: entry 1: the key of "ci" must be at least 16 characters/));
  test('an unknown scope is named with the ones there are', problem({ API_KEYS: `ci:${'c'.repeat(20)}:read+wirte` }, /"ci" has the unknown scope "wirte"; scopes are read, train, predict, admin/));
  test('an entry without scopes shows the format', problem({ API_KEYS: `ci:${'c'.repeat(20)}` }, /entry 1: write name:key:scope\+scope/));
  test('a name used twice is refused', problem({ API_KEYS: `ci:${'c'.repeat(20)}:read,ci:${'d'.repeat(20)}:read` }, /entry 2: the name "ci" is used twice/));
  test('a key with a separator in it is refused', problem({ API_KEYS: `ci:${'c'.repeat(20)};x:read` }, /may hold only letters, digits/));

  test('a bad key stops start-up with one plain line, not a stack', async () => {
    const server = spawn(process.execPath, [fileURLToPath(new URL('../../src/server.js', import.meta.url))], {
      env: { PATH: process.env.PATH ?? '', API_KEY: 'short' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(server, 'exit');
    assert.equal(code, 1);
    assert.equal(stderr, 'Invalid environment:\n  API_KEY: must be at least 16 characters (try: openssl rand -hex 32)\n');
  });
});
