import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp } from '../helpers/service.js';

let service: Awaited<ReturnType<typeof startTestApp>>;
before(async () => {
  service = await startTestApp({ ENABLE_DASHBOARDS: 'true' });
});
after(() => service.close());

/** Routes that are not the API: the dashboard's files, the docs and the queue dashboard themselves, and /metrics (Prometheus' format, hidden). */
const NOT_API = /^\/($|docs|queues|metrics|[\w-]+\.(js|css|html|map|ico|svg|png)|.*\.map$)/;

/** Every method and path the router knows, from its printed tree; a parameter named two ways shows as ":a|:b". */
function registeredRoutes(tree: string): Array<{ method: string; path: string }> {
  const stack: string[] = [];
  const routes: Array<{ method: string; path: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.*) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + match[2];
    stack[depth] = path;
    for (const method of match[3].split(', ')) if (method !== 'HEAD') routes.push({ method, path });
  }
  return routes;
}

/** The OpenAPI spellings of a router path: ":id" is "{id}", and ":a|:b" may be either. */
function openApiPaths(path: string): string[] {
  return path.split('/').reduce<string[]>((prefixes, segment, index) => {
    const spellings = segment.startsWith(':') ? segment.split('|').map((name) => `{${name.slice(1)}}`) : [segment];
    return prefixes.flatMap((prefix) => spellings.map((spelling) => (index === 0 ? spelling : `${prefix}/${spelling}`)));
  }, ['']);
}

test('every API route is in the OpenAPI document, with a summary, tags and its error answers', async () => {
  const document = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json();
  const routes = registeredRoutes(service.app.printRoutes({ commonPrefix: false })).filter(({ path }) => !NOT_API.test(path));
  assert.ok(routes.length >= 30, `${routes.length} routes found; the router's printout may have changed shape`);
  for (const { method, path } of routes) {
    // A plugin's "/" route under a prefix answers with and without the slash; the document lists one.
    const candidates = openApiPaths(path).flatMap((candidate) => [candidate, `${candidate}/`]);
    const documented = candidates.map((candidate) => document.paths[candidate]?.[method.toLowerCase()]).find(Boolean);
    assert.ok(documented, `${method} ${path} is not in the OpenAPI document`);
    assert.ok(documented.summary, `${method} ${path} has no summary`);
    assert.ok(documented.tags?.length, `${method} ${path} has no tags`);
    assert.ok(Object.keys(documented.responses ?? {}).some((status) => status.startsWith('2')), `${method} ${path} documents no success answer`);
  }
});

test('the upload documents its multipart parts, so Swagger UI can send one', async () => {
  const document = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json();
  const form = document.paths['/datasets'].post.requestBody.content['multipart/form-data'].schema;
  assert.deepEqual(Object.keys(form.properties), ['images', 'labels', 'file', 'name', 'numClasses', 'labelColumn', 'targetColumns', 'delimiter', 'inputs']);
  assert.equal(form.properties.images.format, 'binary');
});

test('POST /jobs documents its defaults, and the event stream its 200', async () => {
  const document = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json();
  const job = document.paths['/jobs'].post.requestBody.content['application/json'].schema.properties;
  assert.deepEqual([job.optimizer.default, job.momentum.default, job.batchSize.default, job.seed.default], ['momentum', 0.9, 64, 1]);
  assert.deepEqual(job.schedule.default, { kind: 'cosine', minLearningRate: 0 });
  assert.ok(document.paths['/jobs/{id}/events'].get.responses['200'].content['text/event-stream']);
});
