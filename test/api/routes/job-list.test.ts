import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EpochRecord, JobSummary } from '../../../src/queue/job-schema.js';
import { Redis } from 'ioredis';
import { redisUrl } from '../../../src/config.js';
import { redisKeys } from '../../../src/storage/redis.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadParts, uploadXor, XOR_INPUTS, XOR_LABELS } from '../../helpers/uploads.js';

/** An epoch's record with the given metrics; the rest does not matter to a runs table. */
const epoch = (n: number, metrics: Partial<EpochRecord>): EpochRecord => ({
  epoch: n, trainLoss: 1, trainAccuracy: 0.5, seconds: 1, samplesPerSecond: 100, learningRate: 0.1, ...metrics,
});

interface ListAnswer {
  jobs: JobSummary[];
  nextCursor: string | null;
  total: number;
}

describe('GET /jobs sorts and filters every run on the server', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let datasetName = '';
  /** The runs made for these tests, by a label of the test's own. */
  const ids = new Map<string, string>();

  const list = async (query: string): Promise<ListAnswer> => {
    const response = await service.app.inject({ method: 'GET', url: `/jobs?${query}` });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as ListAnswer;
  };
  /** Every page of a listing, read with its cursor. */
  const allPages = async (query: string, limit: number, from: string | null = null): Promise<{ jobs: JobSummary[]; totals: number[]; cursors: string[] }> => {
    const jobs: JobSummary[] = [];
    const totals: number[] = [];
    const cursors: string[] = [];
    let cursor = from;
    do {
      const page: ListAnswer = await list(`${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      jobs.push(...page.jobs);
      totals.push(page.total);
      cursor = page.nextCursor;
      if (cursor !== null) cursors.push(cursor);
    } while (cursor !== null);
    return { jobs, totals, cursors };
  };
  const labelOf = (job: JobSummary) => [...ids].find(([, id]) => id === job.id)?.[0];

  before(async () => {
    service = await startTestApp();
    const dataset = await uploadXor(service.app);
    datasetName = dataset.name;
    // A second dataset, whose name has spaces, for one run: a quoted phrase finds it.
    const xorPairs = { inputs: XOR_INPUTS, labels: XOR_LABELS };
    const named = await uploadParts(service.app, [
      { field: 'file', file: JSON.stringify(xorPairs), filename: 'pairs.json' }, { field: 'name', value: 'XOR table of truth' },
    ]);
    const runs: [string, Record<string, unknown>, EpochRecord[]][] = [
      ['sgd-slow', { optimizer: 'sgd', learningRate: 0.01, batchSize: 4 }, [epoch(1, { valAccuracy: 0.5, valLoss: 0.7 }), epoch(2, { valAccuracy: 0.75, valLoss: 0.6 })]],
      ['adam-best', { optimizer: 'adam', learningRate: 0.001, batchSize: 8 }, [epoch(1, { valAccuracy: 0.9, valLoss: 0.3 }), epoch(2, { valAccuracy: 1, valLoss: 0.1 })]],
      // Peaks at epoch 2, then diverges: its best stays what it reached, its last is worse.
      ['adam-diverged', { optimizer: 'adam', learningRate: 0.5, batchSize: 8 }, [
        epoch(1, { valAccuracy: 0.6, valLoss: 0.5, trainLoss: 0.6 }), epoch(2, { valAccuracy: 0.95, valLoss: 0.2, trainLoss: 0.2 }),
        epoch(3, { valAccuracy: 0.25, valLoss: 243, trainLoss: 250, trainAccuracy: 0.25 }),
      ]],
      ['momentum-mid', { optimizer: 'momentum', learningRate: 0.1, batchSize: 16, activation: 'sigmoid' }, [epoch(1, { valAccuracy: 0.8, valLoss: 0.4 })]],
      ['queued-none', { optimizer: 'momentum', learningRate: 0.05, batchSize: 4 }, []],
    ];
    for (const [label, options, epochs] of runs) {
      const datasetId = label === 'queued-none' ? named.id : dataset.id;
      const response = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId, shape: [2, 4, 2], ...options } });
      assert.equal(response.statusCode, 202, response.body);
      const id = response.json().id as string;
      ids.set(label, id);
      if (epochs.length > 0) {
        await service.services.jobStore.appendHistory(id, { steps: [], epochs, progress: null, diagnostics: null, events: [], checkpoint: null });
      }
    }
    await service.app.inject({ method: 'PATCH', url: `/jobs/${ids.get('adam-best')}`, payload: { name: 'champion', tags: ['baseline', 'xor'] } });
    await service.app.inject({ method: 'PATCH', url: `/jobs/${ids.get('sgd-slow')}`, payload: { tags: ['xor'] } });
  });
  after(async () => service.close());

  test('a metric sorts every run both ways, runs without it last either way', async () => {
    const down = await list('sort=valAccuracy&order=desc');
    assert.deepEqual(down.jobs.map(labelOf), ['adam-best', 'momentum-mid', 'sgd-slow', 'adam-diverged', 'queued-none']);
    const up = await list('sort=valAccuracy&order=asc');
    assert.deepEqual(up.jobs.map(labelOf), ['adam-diverged', 'sgd-slow', 'momentum-mid', 'adam-best', 'queued-none']);
    assert.equal(up.total, 5);
  });

  test('best metrics are each metric\'s best epoch, not the last', async () => {
    const diverged = (await list('limit=100')).jobs.find((job) => job.id === ids.get('adam-diverged'));
    assert.ok(diverged);
    assert.deepEqual(diverged.bestMetrics, { trainLoss: 0.2, trainAccuracy: 0.5, valLoss: 0.2, valAccuracy: 0.95 });
    assert.equal(diverged.lastEpoch?.valAccuracy, 0.25);
    const byBest = await list('sort=bestValAccuracy&order=desc');
    assert.deepEqual(byBest.jobs.map(labelOf), ['adam-best', 'adam-diverged', 'momentum-mid', 'sgd-slow', 'queued-none']);
    const byBestLoss = await list('sort=bestValLoss&order=asc');
    assert.deepEqual(byBestLoss.jobs.map(labelOf).slice(0, 2), ['adam-best', 'adam-diverged']);
  });

  test('a numeric hyperparameter sorts by size, and ties go newest first', async () => {
    const byRate = await list('sort=learningRate&order=asc');
    assert.deepEqual(byRate.jobs.map(labelOf), ['adam-best', 'sgd-slow', 'queued-none', 'momentum-mid', 'adam-diverged']);
    const byBatch = await list('sort=batchSize&order=desc');
    assert.deepEqual(byBatch.jobs.map(labelOf), ['momentum-mid', 'adam-diverged', 'adam-best', 'queued-none', 'sgd-slow']);
  });

  test('a filter keeps runs whose fields hold every word: field:word, any field, tags, names and the dataset\'s name', async () => {
    const labels = async (q: string) => (await allPages(`q=${encodeURIComponent(q)}&sort=run&order=asc`, 2)).jobs.map(labelOf).sort();
    assert.deepEqual(await labels('optimizer:adam'), ['adam-best', 'adam-diverged']);
    assert.deepEqual(await labels('adam batch:8 champion'), ['adam-best']);
    assert.deepEqual(await labels('tags:xor'), ['adam-best', 'sgd-slow']);
    assert.deepEqual(await labels('SIGMOID'), ['momentum-mid']);
    assert.deepEqual(await labels(`dataset:"${datasetName}"`), [...ids.keys()].filter((label) => label !== 'queued-none').sort());
    assert.deepEqual(await labels('learningrate:0.05'), ['queued-none']);
    // Quotes keep the words of a phrase together, in a field or in any; a quote left open runs to the end.
    assert.deepEqual(await labels('dataset:"table of truth"'), ['queued-none']);
    assert.deepEqual(await labels('"xor table"'), ['queued-none']);
    assert.deepEqual(await labels('dataset:"truth table"'), []);
    assert.deepEqual(await labels('dataset:truth table'), ['queued-none']);
    assert.deepEqual(await labels('momentum dataset:"of tru'), ['queued-none']);
    // A quoted colon is part of the word, not a field's name: a run's creation time, to the millisecond.
    const created = (await list('sort=run&order=asc&limit=100')).jobs.find((job) => labelOf(job) === 'adam-best')!.createdAt;
    assert.deepEqual(await labels(`"${created}"`), ['adam-best']);
    assert.deepEqual(await labels(created), []);
    const none = await list('q=optimizer:rmsprop');
    assert.deepEqual([none.jobs.length, none.total, none.nextCursor], [0, 0, null]);
  });

  test('the newest-first list counts every run too', async () => {
    const newest = await list('limit=2');
    assert.equal(newest.total, 5);
    assert.equal((await list('limit=2&state=queued')).total, 5);
  });

  test('jobs recorded before best metrics were kept get them from their epochs', async () => {
    const id = ids.get('sgd-slow')!;
    const redis = new Redis(redisUrl(service.config));
    try {
      await redis.hdel(redisKeys(service.config.REDIS_PREFIX).job(id), 'bestMetrics');
    } finally {
      redis.disconnect();
    }
    const job = (await list('sort=bestValAccuracy')).jobs.find((candidate) => candidate.id === id);
    assert.deepEqual(job?.bestMetrics, { trainLoss: 1, trainAccuracy: 0.5, valLoss: 0.6, valAccuracy: 0.75 });
  });

  test('a resume\'s rewind keeps the bests of the epochs it keeps', async () => {
    const id = ids.get('adam-diverged')!;
    await service.services.jobStore.rewindHistory(id, { epoch: 1, step: 0, bytes: 0, key: 'unused', createdAt: new Date().toISOString() });
    const job = (await list('sort=run')).jobs.find((candidate) => candidate.id === id);
    assert.deepEqual(job?.bestMetrics, { trainLoss: 0.6, trainAccuracy: 0.5, valLoss: 0.5, valAccuracy: 0.6 });
  });

  test('pages of a sorted list join into the whole list, and a run added between pages does not shift them', async () => {
    const whole = (await list('sort=valLoss&order=asc&limit=100')).jobs.map((job) => job.id);
    const first = await list('sort=valLoss&order=asc&limit=2');
    assert.ok(first.nextCursor);
    const extra = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: first.jobs[0].datasetId, shape: [2, 3, 2] } });
    assert.equal(extra.statusCode, 202);
    const rest = await allPages('sort=valLoss&order=asc', 2, first.nextCursor);
    const joined = [...first.jobs, ...rest.jobs].map((job) => job.id).filter((id) => id !== extra.json().id);
    assert.deepEqual(joined, whole);
    assert.deepEqual(new Set(rest.totals), new Set([6]));

    // Read together, as the dashboard refreshes its loaded pages, the pages share one scan and still join up.
    const cursors = [null, ...(await allPages('sort=valLoss&order=asc', 2)).cursors];
    const together = await Promise.all(cursors.map((cursor) => list(`sort=valLoss&order=asc&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)));
    const withExtra = (await list('sort=valLoss&order=asc&limit=100')).jobs.map((job) => job.id);
    assert.deepEqual(together.flatMap((page) => page.jobs.map((job) => job.id)), withExtra);
  });

  describe('bad queries get 400 naming what to change', () => {
    const cases: [string, string, RegExp][] = [
      ['an unknown sort field', 'sort=accuracy', /querystring\.sort: .*"valAccuracy"/],
      ['an unknown order', 'order=up', /querystring\.order/],
      ['a filter over the length limit', `q=${'a'.repeat(501)}`, /querystring\.q/],
      ['a newest-first cursor on a sorted list', 'sort=valLoss&cursor=12', /querystring\.cursor: not the nextCursor of a page with this sort and filter/],
      ['a sorted list\'s cursor on the newest-first list', `cursor=${Buffer.from('[0.5,3]').toString('base64url')}`, /querystring\.cursor: not the nextCursor/],
      ['a cursor that is not ours', 'sort=valLoss&cursor=bm90LWpzb24', /querystring\.cursor: not the nextCursor/],
    ];
    for (const [name, query, message] of cases) {
      test(name, async () => {
        const response = await service.app.inject({ method: 'GET', url: `/jobs?${query}` });
        assert.equal(response.statusCode, 400, response.body);
        assert.equal(response.json().error.code, 'VALIDATION_FAILED');
        assert.match(response.json().error.message, message);
      });
    }
  });
});
