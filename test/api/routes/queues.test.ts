import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp } from '../../helpers/service.js';

let service: Awaited<ReturnType<typeof startTestApp>>;
before(async () => {
  service = await startTestApp({ ENABLE_DASHBOARDS: 'true' });
});
after(() => service.close());

test('the queue dashboard is served at /queues', async () => {
  const response = await service.app.inject({ method: 'GET', url: '/queues' });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /text\/html/);
});

test('the OpenAPI document at /docs/json comes from the zod schemas', async () => {
  const response = await service.app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(response.statusCode, 200);
  const document = response.json();
  for (const path of ['/datasets', '/jobs', '/jobs/{id}/events', '/jobs/{id}/stop', '/jobs/{id}/resume', '/models/{id}/evaluate', '/predict']) assert.ok(document.paths[path], path);
  const jobBody = document.paths['/jobs'].post.requestBody.content['application/json'].schema;
  assert.deepEqual(jobBody.required, ['datasetId'], 'shape may come from fromModelId');
  assert.ok(jobBody.properties.fromModelId);
  assert.equal(jobBody.additionalProperties, false);
  assert.ok(document.components.schemas.Job);
});
