import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { installErrorHandler } from '../../../src/api/error-handler.js';
import { webRoutes } from '../../../src/api/routes/web.js';
import { startTestApp } from '../../helpers/service.js';

describe('the web dashboard in the app', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    // With the other dashboards on: Swagger UI serves static files of its own under /docs.
    service = await startTestApp({ ENABLE_DASHBOARDS: 'true' });
  });
  after(() => service.close());

  test('GET / answers the dashboard page, which loads its script and styles', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 200, 'run npm run build:web before the tests');
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /<script type="module" src="main\.js">/);
    assert.match(response.body, /<link rel="stylesheet" href="styles\.css">/);
    for (const [asset, type] of [['/main.js', /javascript/], ['/styles.css', /^text\/css/]] as const) {
      const file = await service.app.inject({ method: 'GET', url: asset });
      assert.equal(file.statusCode, 200, asset);
      assert.match(String(file.headers['content-type']), type, asset);
    }
  });

  test('API routes and the other dashboards keep answering, and an unknown path is still the 404 error answer', async () => {
    assert.equal((await service.app.inject({ method: 'GET', url: '/health' })).json().status, 'ok');
    for (const url of ['/docs', '/queues']) {
      const page = await service.app.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200, url);
      assert.match(String(page.headers['content-type']), /^text\/html/, url);
    }
    const missing = await service.app.inject({ method: 'GET', url: '/no-such-page.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'ROUTE_NOT_FOUND');
  });
});

test('without a built dashboard, / says how to build it', async () => {
  const emptyDir = await mkdtemp(join(tmpdir(), 'mlp-web-'));
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  await app.register(webRoutes, { root: emptyDir });
  try {
    const response = await app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error.code, 'SERVICE_UNAVAILABLE');
    assert.match(response.json().error.message, /npm run build:web/);
  } finally {
    await app.close();
    await rm(emptyDir, { recursive: true, force: true });
  }
});
