import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisUrl } from '../../../src/config.js';
import { redisKeys } from '../../../src/storage/redis.js';
import type { Sweep, SweepList } from '../../../src/sweeps/sweep-schema.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';
import { loadMnistDigits } from '../../helpers/mnist.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadDigits, uploadXor } from '../../helpers/uploads.js';

describe('sweeps routes (no worker: trials stay queued)', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let digitsId = '';
  let xorId = '';

  const postSweep = (payload: Record<string, unknown>) => service.app.inject({ method: 'POST', url: '/sweeps', payload });
  const sweepOf = (overrides: Record<string, unknown> = {}) => ({
    datasetId: digitsId,
    base: { shape: [784, 16, 10], epochs: 9 },
    space: { learningRate: { min: 0.001, max: 0.3, log: true } },
    trials: 5,
    maxConcurrent: 2,
    ...overrides,
  });

  before(async () => {
    service = await startTestApp();
    digitsId = (await uploadDigits(service.app, loadMnistDigits(300, 3), 0, 300)).id;
    xorId = (await uploadXor(service.app, 2)).id;
  });
  after(() => service.close());

  describe('bad sweeps give 400 naming the field and what to change', () => {
    const cases: BadRequestCase[] = [
      { name: 'an empty space', body: () => sweepOf({ space: {} }), code: 'VALIDATION_FAILED', message: /body\.space: name at least one field to vary/ },
      { name: 'a field that is not tunable', body: () => sweepOf({ space: { datasetId: { choices: ['x'] } } }), code: 'VALIDATION_FAILED', message: /body\.space/ },
      { name: 'a range for a field that takes choices', body: () => sweepOf({ space: { shape: { min: 1, max: 3 } } }), code: 'VALIDATION_FAILED', message: /body\.space\.shape: shape takes \{ "choices": \[\.\.\.\] \}/ },
      { name: 'a range with min above max', body: () => sweepOf({ space: { learningRate: { min: 0.3, max: 0.001 } } }), code: 'VALIDATION_FAILED', message: /body\.space\.learningRate: min must be below max/ },
      { name: 'a log range from 0', body: () => sweepOf({ space: { l2: { min: 0, max: 0.1, log: true } } }), code: 'VALIDATION_FAILED', message: /body\.space\.l2: a log range needs min above 0/ },
      { name: 'a grid over a range', body: () => sweepOf({ strategy: 'grid', trials: undefined }), code: 'VALIDATION_FAILED', message: /body\.space\.learningRate: a grid takes \{ "choices": \[\.\.\.\] \} only/ },
      { name: 'more grid trials than combinations', body: () => sweepOf({ strategy: 'grid', space: { optimizer: { choices: ['sgd', 'adam'] } } }), code: 'VALIDATION_FAILED', message: /body\.trials: the grid has 2 combinations, fewer than 5/ },
      { name: 'ASHA without base.epochs', body: () => sweepOf({ base: { shape: [784, 16, 10] } }), code: 'VALIDATION_FAILED', message: /body\.base\.epochs: ASHA needs the most epochs a trial may run/ },
      { name: 'a first rung at the last epoch', body: () => sweepOf({ asha: { minEpochs: 9 } }), code: 'VALIDATION_FAILED', message: /body\.asha\.minEpochs: must be below base\.epochs \(9\)/ },
      { name: 'the dataset in base', body: () => sweepOf({ base: { datasetId: digitsId, epochs: 9 } }), code: 'VALIDATION_FAILED', message: /body\.base/ },
      { name: 'a choice the job would refuse', body: () => sweepOf({ space: { optimizer: { choices: ['sgd', 'adagrad'] } } }), code: 'VALIDATION_FAILED', message: /body\.space\.optimizer: .*"sgd".* \(trial \d+ \{"optimizer":"adagrad"\}\)/ },
      { name: 'a shape that does not fit the dataset', body: () => sweepOf({ space: { shape: { choices: [[784, 16, 10], [100, 10]] } }, base: { epochs: 9 } }), code: 'SHAPE_MISMATCH', message: /body\.space\.shape: shape\[0\] is 100 but dataset ds_\w+ has 784 values .*\(trial \d+/ },
      { name: 'an unknown dataset', body: () => sweepOf({ datasetId: `ds_${'0'.repeat(20)}` }), code: 'UNKNOWN_DATASET', message: /body\.datasetId: no dataset has the id/ },
      { name: 'a dataset too small to hold out validation data', body: () => sweepOf({ datasetId: xorId, base: { shape: [2, 4, 2], epochs: 9 } }), code: 'INVALID_CONFIG', message: /body\.validation: trials are ranked on validation data/ },
      { name: 'too many trials', body: () => sweepOf({ trials: 1000 }), code: 'VALIDATION_FAILED', message: /body\.trials/ },
    ];
    testBadRequests(cases, postSweep);
  });

  test('a sweep queues maxConcurrent trials as jobs, lists, streams and cancels', async () => {
    const response = await postSweep(sweepOf());
    assert.equal(response.statusCode, 201, response.body);
    const sweep = response.json() as Sweep;
    assert.equal(response.headers.location, `/sweeps/${sweep.id}`);
    assert.deepEqual(sweep.rungs, [1, 3]);
    assert.deepEqual(sweep.counts, { pending: 3, running: 2, pruned: 0, completed: 0, failed: 0, cancelled: 0 });
    const queued = sweep.leaderboard.filter((trial) => trial.jobId);
    assert.equal(queued.length, 2);
    for (const trial of queued) {
      const job = (await service.app.inject({ method: 'GET', url: `/jobs/${trial.jobId}` })).json();
      assert.equal(job.state, 'queued');
      assert.equal(job.config.learningRate, trial.params.learningRate);
      assert.equal(job.config.epochs, 9);
    }

    const list = (await service.app.inject({ method: 'GET', url: '/sweeps' })).json();
    assert.ok(list.sweeps.some((listed: { id: string; best: unknown }) => listed.id === sweep.id && listed.best === null));

    const events = await service.app.inject({ method: 'GET', url: `/sweeps/${sweep.id}/events`, payloadAsStream: true });
    assert.equal(events.headers['content-type'], 'text/event-stream');
    const first = await new Promise<string>((resolve) => events.stream().once('data', (chunk: Buffer) => resolve(chunk.toString())));
    assert.match(first, /^event: sweep\ndata: \{"id":"swp_/);
    events.stream().destroy();

    const cancelled = await service.app.inject({ method: 'DELETE', url: `/sweeps/${sweep.id}` });
    assert.equal(cancelled.statusCode, 200);
    assert.equal(cancelled.json().state, 'cancelled');
    assert.deepEqual(cancelled.json().counts, { pending: 0, running: 0, pruned: 0, completed: 0, failed: 0, cancelled: 5 });
    for (const trial of queued) assert.equal((await service.app.inject({ method: 'GET', url: `/jobs/${trial.jobId}` })).json().state, 'cancelled');

    const again = await service.app.inject({ method: 'DELETE', url: `/sweeps/${sweep.id}` });
    assert.equal(again.statusCode, 409);
    assert.match(again.json().error.message, /sweep swp_\w+ is already cancelled/);
  });

  test('an unknown sweep is 404 and a malformed id 400', async () => {
    const missing = await service.app.inject({ method: 'GET', url: `/sweeps/swp_${'0'.repeat(20)}` });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'SWEEP_NOT_FOUND');
    const malformed = await service.app.inject({ method: 'GET', url: '/sweeps/nope' });
    assert.equal(malformed.statusCode, 400);
    assert.match(malformed.json().error.message, /params\.id: must be a sweep id like swp_0+/);
  });
});

describe('the sweep list, a page at a time', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let datasetId = '';
  const created: string[] = [];
  const listPage = async (query: string): Promise<SweepList> => {
    const response = await service.app.inject({ method: 'GET', url: `/sweeps?${query}` });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as SweepList;
  };
  /** Every sweep, page after page of `limit`. */
  const everyPage = async (limit: number): Promise<SweepList[]> => {
    const pages = [await listPage(`limit=${limit}`)];
    while (pages.at(-1)!.nextCursor !== null) pages.push(await listPage(`limit=${limit}&cursor=${pages.at(-1)!.nextCursor}`));
    return pages;
  };
  const createSweep = async (): Promise<string> => {
    const response = await service.app.inject({
      method: 'POST', url: '/sweeps',
      payload: { datasetId, base: { shape: [784, 8, 10], epochs: 3 }, space: { learningRate: { min: 0.01, max: 0.1 } }, trials: 2, maxConcurrent: 1 },
    });
    assert.equal(response.statusCode, 201, response.body);
    return (response.json() as Sweep).id;
  };

  before(async () => {
    service = await startTestApp();
    datasetId = (await uploadDigits(service.app, loadMnistDigits(300, 3), 0, 300)).id;
    for (let i = 0; i < 5; i++) created.push(await createSweep());
  });
  after(() => service.close());

  test('pages hold every sweep once, newest first, and a sweep saved again keeps its place', async () => {
    // A cancelled sweep is saved again, as the controller saves a running one at every change.
    assert.equal((await service.app.inject({ method: 'DELETE', url: `/sweeps/${created[1]}` })).statusCode, 200);
    const pages = await everyPage(2);
    assert.deepEqual(pages.map((page) => page.sweeps.length), [2, 2, 1]);
    assert.deepEqual(pages.flatMap((page) => page.sweeps.map((sweep) => sweep.id)), [...created].reverse());
    for (const page of pages) assert.equal(page.total, created.length);
  });

  test('a sweep indexed by its creation time, as before the index had numbers, keeps its place among newer ones', async () => {
    const redis = new Redis(redisUrl(service.config));
    try {
      const keys = redisKeys(service.config.REDIS_PREFIX);
      const oldest = created[0];
      const record = JSON.parse((await redis.get(keys.sweep(oldest)))!) as { createdAt: string };
      await redis.zadd(keys.sweeps, Date.parse(record.createdAt), oldest);
      const newest = await createSweep();
      const ids = (await everyPage(3)).flatMap((page) => page.sweeps.map((sweep) => sweep.id));
      assert.equal(ids[0], newest);
      assert.equal(ids.at(-1), oldest);
      assert.equal(new Set(ids).size, created.length + 1);
    } finally {
      redis.disconnect();
    }
  });

  test('a bad page size or cursor is 400 with what to send instead', async () => {
    for (const [query, message] of [
      ['limit=0', /querystring\.limit/],
      ['limit=101', /querystring\.limit/],
      ['cursor=abc', /querystring\.cursor: must be the nextCursor of a previous page/],
    ] as const) {
      const response = await service.app.inject({ method: 'GET', url: `/sweeps?${query}` });
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      assert.equal(response.json().error.code, 'VALIDATION_FAILED');
      assert.match(response.json().error.message, message);
    }
  });
});

test('the OpenAPI document describes the sweep routes from their zod schemas', async () => {
  const service = await startTestApp();
  try {
    const document: { paths: Record<string, Record<string, { tags?: string[]; responses: object }>>; components: { schemas: Record<string, unknown> } } = JSON.parse(JSON.stringify(service.app.swagger()));
    assert.deepEqual(Object.keys(document.paths).filter((path) => path.startsWith('/sweeps')), ['/sweeps', '/sweeps/{id}', '/sweeps/{id}/events']);
    assert.deepEqual(Object.keys(document.paths['/sweeps']), ['post', 'get']);
    assert.deepEqual(document.paths['/sweeps'].post.tags, ['sweeps']);
    for (const [path, method] of [['/sweeps', 'post'], ['/sweeps', 'get'], ['/sweeps/{id}', 'get'], ['/sweeps/{id}', 'delete'], ['/sweeps/{id}/events', 'get']]) {
      assert.ok(Object.keys(document.paths[path][method].responses).some((status) => status.startsWith('2')), `${method} ${path} documents its success`);
    }
    assert.ok(document.components.schemas.Sweep && document.components.schemas.SweepTrial);
  } finally {
    await service.close();
  }
});
