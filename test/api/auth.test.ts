import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_KEY_COOKIE } from '../../src/api/api-key-cookie.js';
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
