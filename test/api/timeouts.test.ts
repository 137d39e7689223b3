import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { multipartBody } from '../helpers/multipart.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startTestApp } from '../helpers/service.js';
import { uploadXor } from '../helpers/uploads.js';

const TIMEOUTS = { BODY_IDLE_TIMEOUT_MS: 300, HEADERS_TIMEOUT_MS: 600, REQUEST_TIMEOUT_MS: 1500, KEEP_ALIVE_TIMEOUT_MS: 300 };
/** Node checks header and request timeouts every HEADERS_TIMEOUT_MS / 4; a busy machine adds some. */
const SLACK_MS = 400;
/** Node keeps an idle keep-alive socket a second past the timeout it advertises, for responses still in flight to the client. */
const NODE_KEEP_ALIVE_BUFFER_MS = 1000;

function assertTimedOut(response: RawResponse, message: RegExp, withinMs: number): void {
  assert.equal(response.status, 408, response.body);
  const body = JSON.parse(response.body);
  assert.equal(body.error.code, 'REQUEST_TIMEOUT');
  assert.match(body.error.message, message);
  assert.ok(response.elapsedMs < withinMs, `closed after ${response.elapsedMs} ms`);
}

describe('timeouts', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let port = 0;
  before(async () => {
    service = await startTestApp({ ...Object.fromEntries(Object.entries(TIMEOUTS).map(([name, ms]) => [name, String(ms)])), SSE_HEARTBEAT_MS: '100' });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    port = (service.app.server.address() as AddressInfo).port;
  });
  after(() => service.close());

  const health = async (): Promise<number> => {
    const started = Date.now();
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    return Date.now() - started;
  };

  test('a body that stalls after 10 of 1,000 bytes is answered 408 once idle, while other clients are served at once', async () => {
    const stalled = rawRequest(port, ['POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"datasetI', 5000]);
    const others = await Promise.all(Array.from({ length: 5 }, health));
    assert.ok(Math.max(...others) < 200, `other clients waited ${others.join(', ')} ms`);
    const response = await stalled;
    assertTimedOut(response, /the body sent nothing for 300 ms/, TIMEOUTS.BODY_IDLE_TIMEOUT_MS + SLACK_MS);
    assert.ok(response.elapsedMs >= TIMEOUTS.BODY_IDLE_TIMEOUT_MS);
  });

  test('an upload that stalls mid-file is cut off the same way', async () => {
    const { payload, headers } = await multipartBody([{ field: 'file', file: '0,0,0\n'.repeat(1000) }]);
    const response = await rawRequest(port, [
      `POST /datasets HTTP/1.1\r\nHost: a\r\nContent-Type: ${headers['content-type']}\r\nContent-Length: ${payload.length}\r\n\r\n`,
      payload.subarray(0, 500),
      5000,
    ]);
    assertTimedOut(response, /the body sent nothing/, TIMEOUTS.BODY_IDLE_TIMEOUT_MS + SLACK_MS);
  });

  test('headers that never end are answered 408 after the headers timeout', async () => {
    const response = await rawRequest(port, ['GET /health HTTP/1.1\r\nHost: a\r\n', 5000]);
    assertTimedOut(response, /the headers or the whole request did not arrive within their time limit/, TIMEOUTS.HEADERS_TIMEOUT_MS + SLACK_MS);
  });

  test('a body that drips a byte at a time, never idle, is cut at the request timeout', async () => {
    const drip = Array.from({ length: 40 }, () => ['x', 100]).flat();
    const response = await rawRequest(port, ['POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', ...drip]);
    assertTimedOut(response, /the headers or the whole request did not arrive within their time limit/, TIMEOUTS.REQUEST_TIMEOUT_MS + SLACK_MS);
    assert.ok(response.elapsedMs >= TIMEOUTS.REQUEST_TIMEOUT_MS);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout it advertises, and the second Node adds', async () => {
    const response = await rawRequest(port, ['GET /health HTTP/1.1\r\nHost: a\r\n\r\n', 5000]);
    assert.equal(response.status, 200);
    assert.equal(response.headers['keep-alive'], 'timeout=0');
    const closeBy = TIMEOUTS.KEEP_ALIVE_TIMEOUT_MS + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS;
    assert.ok(response.elapsedMs >= TIMEOUTS.KEEP_ALIVE_TIMEOUT_MS && response.elapsedMs < closeBy, `closed after ${response.elapsedMs} ms`);
  });

  test('a response that streams for longer than every timeout is not cut', async () => {
    const dataset = await uploadXor(service.app, 1);
    const job = (await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, shape: [2, 2, 2] } })).json();
    const events = await new Promise<string>((resolve, reject) => {
      const streamed = httpRequest({ port, path: `/jobs/${job.id}/events` }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        setTimeout(() => {
          streamed.destroy();
          resolve(text);
        }, TIMEOUTS.REQUEST_TIMEOUT_MS + 500);
      });
      streamed.on('error', reject);
      streamed.end();
    });
    assert.match(events, /^retry: \d+\n\nid: [\d.]+\nevent: job\n/);
    assert.ok((events.match(/: heartbeat/g) ?? []).length >= 10, 'heartbeats kept coming');
  });
});
