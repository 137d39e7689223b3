import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Job, JobSummary } from '../../../src/queue/job-schema.js';
import { testBadRequests, type BadRequestCase } from '../../helpers/errors.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadXor } from '../../helpers/uploads.js';

describe('PATCH /jobs/:id names and tags a run (no worker needed)', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let jobId = '';

  const patch = (payload: Record<string, unknown>, id = jobId) => service.app.inject({ method: 'PATCH', url: `/jobs/${id}`, payload });
  const listed = async (): Promise<JobSummary> => (await service.app.inject({ method: 'GET', url: '/jobs' })).json().jobs[0];

  before(async () => {
    service = await startTestApp();
    const { id: datasetId } = await uploadXor(service.app);
    jobId = (await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId, shape: [2, 4, 2] } })).json().id;
  });
  after(() => service.close());

  test('a new job has no name, no tags and no epoch yet', async () => {
    const job = (await service.app.inject({ method: 'GET', url: `/jobs/${jobId}` })).json() as Job;
    assert.deepEqual([job.name, job.tags, job.lastEpoch], [null, [], null]);
  });

  test('a name and tags are trimmed, kept once, and shown by GET /jobs/:id and GET /jobs', async () => {
    const response = await patch({ name: '  wide relu  ', tags: ['baseline', 'xor', 'baseline'] });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual([response.json().name, response.json().tags], ['wide relu', ['baseline', 'xor']]);
    const job = (await service.app.inject({ method: 'GET', url: `/jobs/${jobId}?history=none` })).json() as Job;
    assert.deepEqual([job.name, job.tags], ['wide relu', ['baseline', 'xor']]);
    const summary = await listed();
    assert.deepEqual([summary.name, summary.tags], ['wide relu', ['baseline', 'xor']]);
  });

  test('tags alone leave the name; a null name removes it and leaves the tags', async () => {
    await patch({ tags: ['kept'] });
    assert.deepEqual([(await listed()).name, (await listed()).tags], ['wide relu', ['kept']]);
    await patch({ name: null });
    assert.deepEqual([(await listed()).name, (await listed()).tags], [null, ['kept']]);
  });

  test('an unknown job is 404 in our error shape', async () => {
    const response = await patch({ name: 'x' }, `job_${'0'.repeat(20)}`);
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'JOB_NOT_FOUND');
  });

  describe('bad bodies give 400 naming what to change', () => {
    const cases: BadRequestCase[] = [
      { name: 'an empty body', body: () => ({}), code: 'VALIDATION_FAILED', message: /give a name, tags or both/ },
      { name: 'a blank name', body: () => ({ name: '   ' }), code: 'VALIDATION_FAILED', message: /body\.name/ },
      { name: 'a name too long', body: () => ({ name: 'n'.repeat(101) }), code: 'VALIDATION_FAILED', message: /body\.name/ },
      { name: 'tags that are not a list', body: () => ({ tags: 'a,b' }), code: 'VALIDATION_FAILED', message: /body\.tags/ },
      { name: 'a tag with a comma', body: () => ({ tags: ['a,b'] }), code: 'VALIDATION_FAILED', message: /body\.tags\[0\]: a tag may not contain a comma/ },
      {
        name: 'a name with a bidirectional override', body: () => ({ name: 'x\u202eevil' }),
        code: 'VALIDATION_FAILED', message: /body\.name: must not hold control characters \(NUL, line breaks, ANSI escapes\) or bidirectional overrides/,
      },
      { name: 'a name with an ANSI escape', body: () => ({ name: 'a\u001b[31m' }), code: 'VALIDATION_FAILED', message: /body\.name: must not hold control characters/ },
      { name: 'a tag with a line break', body: () => ({ tags: ['ok', 'two\nlines'] }), code: 'VALIDATION_FAILED', message: /body\.tags\[1\]: must not hold control characters/ },
      { name: 'a name with a Unicode line separator', body: () => ({ name: 'a\u2028b' }), code: 'VALIDATION_FAILED', message: /body\.name: must not hold control characters/ },
      { name: 'a tag with a zero-width space', body: () => ({ tags: ['a\u200bb'] }), code: 'VALIDATION_FAILED', message: /body\.tags\[0\]: must not hold control characters/ },
      { name: 'too many tags', body: () => ({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), code: 'VALIDATION_FAILED', message: /body\.tags/ },
      { name: 'an unknown field', body: () => ({ name: 'x', colour: 'red' }), code: 'VALIDATION_FAILED', message: /colour/ },
    ];
    testBadRequests(cases, (body) => patch(body));
  });
});
