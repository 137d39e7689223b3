import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { installErrorHandler, keepOurErrorShape } from '../../src/api/error-handler.js';
import { MAX_JSON_DEPTH } from '../../src/data/limits.js';
import { multipartBody } from '../helpers/multipart.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startTestApp } from '../helpers/service.js';

/** A 400 in our shape with this code, and a message that says what was wrong. */
function assertOurError(response: { status?: number; statusCode?: number; body: string }, status: number, code: string, message: RegExp): void {
  assert.equal(response.status ?? response.statusCode, status, response.body);
  const body = JSON.parse(response.body);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
}

describe('malformed HTTP, rejected by the parser, answers in our shape', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let port = 0;
  before(async () => {
    service = await startTestApp({ MAX_URL_BYTES: '4096' });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    port = (service.app.server.address() as AddressInfo).port;
  });
  after(() => service.close());

  const send = (request: string, halfClose = false): Promise<RawResponse> => rawRequest(port, [request], { halfClose });
  const cases: { name: string; request: string; halfClose?: boolean; status: number; code: string; message: RegExp }[] = [
    { name: 'a NUL in the request line', request: 'GET /jobs\0x HTTP/1.1\r\nHost: a\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /character a URL may not hold/ },
    { name: 'an unknown method', request: 'FETCH /jobs HTTP/1.1\r\nHost: a\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /not an HTTP method/ },
    { name: 'a 20 KB query string', request: `GET /jobs?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, status: 414, code: 'URL_TOO_LONG', message: /request line is over the URL limit of 4096 bytes/ },
    { name: '1,000 headers', request: `GET /jobs HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 1000 }, (_, i) => `x-header-${i}: some-value\r\n`).join('')}\r\n`, status: 431, code: 'HEADERS_TOO_LARGE', message: /headers together are over the size limit/ },
    { name: 'a 20 KB cookie', request: `GET /jobs HTTP/1.1\r\nHost: a\r\nCookie: c=${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE', message: /over the size limit/ },
    { name: 'a body cut short of its Content-Length', request: 'POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":', halfClose: true, status: 400, code: 'MALFORMED_REQUEST', message: /ended before the body its Content-Length declares/ },
    { name: 'a garbage chunk size', request: 'POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /chunk size/ },
    { name: 'an overflowing chunk size', request: 'POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /chunk size .*overflows/ },
    { name: 'Content-Length with Transfer-Encoding', request: 'POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /Transfer-Encoding/ },
    { name: 'two Content-Lengths', request: 'POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', status: 400, code: 'MALFORMED_REQUEST', message: /one Content-Length/ },
    { name: 'Content-Length abc', request: 'POST /jobs HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /Content-Length must be one decimal number/ },
    { name: 'HTTP/7.1', request: 'GET /jobs HTTP/7.1\r\nHost: a\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /HTTP\/1.0 or HTTP\/1.1/ },
    { name: 'a space in a header name', request: 'GET /jobs HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /header name/ },
    { name: 'an HTTP/1.1 request without Host', request: 'GET /jobs HTTP/1.1\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST', message: /needs a Host header/ },
  ];
  for (const { name, request, halfClose, status, code, message } of cases) {
    test(name, async () => {
      const response = await send(request, halfClose);
      assertOurError(response, status, code, message);
      assert.match(response.headers['content-type'], /^application\/json/);
    });
  }

  test('the service still answers after every malformed request', async () => {
    const response = await send('GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(response.status, 200);
  });
});

describe("the framework's own refusals answer in our shape", () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    service = await startTestApp({ MAX_URL_BYTES: '4096', MAX_JSON_BODY_BYTES: '65536' });
  });
  after(() => service.close());
  const json = { 'content-type': 'application/json' };

  test('an unknown path is 404', async () => {
    assertOurError(await service.app.inject({ method: 'GET', url: '/nowhere' }), 404, 'ROUTE_NOT_FOUND', /GET \/nowhere/);
  });

  test('a known path with another method is 405 with Allow', async () => {
    const response = await service.app.inject({ method: 'PUT', url: '/jobs' });
    assertOurError(response, 405, 'METHOD_NOT_ALLOWED', /accepts GET, HEAD, POST/);
    assert.equal(response.headers.allow, 'GET, HEAD, POST');
  });

  test('a body over the limit is 413', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: json, payload: JSON.stringify({ pad: 'x'.repeat(70_000) }) });
    assertOurError(response, 413, 'BODY_TOO_LARGE', /over the size limit of \d+ bytes for POST \/jobs$/);
  });

  test('a body of a type the route does not take is 415', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/xml' }, payload: '<job/>' });
    assertOurError(response, 415, 'UNSUPPORTED_MEDIA_TYPE', /content type/);
  });

  test('plain text is a type no route takes: 415, not a string that fails the schema', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'text/plain' }, payload: '{"pixels": [0]}' });
    assertOurError(response, 415, 'UNSUPPORTED_MEDIA_TYPE', /content type/);
  });

  test('JSON that sets __proto__ or constructor.prototype is 400 saying so, not "not valid JSON"', async () => {
    for (const payload of ['{"__proto__": {"isAdmin": true}, "shape": [2, 2]}', '{"constructor": {"prototype": {"isAdmin": true}}}']) {
      const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: json, payload });
      assertOurError(response, 400, 'INVALID_JSON', /^The body sets "__proto__" or "constructor\.prototype", keys the service refuses in any JSON body$/);
    }
    const broken = await service.app.inject({ method: 'POST', url: '/jobs', headers: json, payload: '{"shape": [2, ' });
    assertOurError(broken, 400, 'INVALID_JSON', /not valid JSON/);
  });

  test('a URL over MAX_URL_BYTES is 414', async () => {
    assertOurError(await service.app.inject({ method: 'GET', url: `/jobs?cursor=${'a'.repeat(5000)}` }), 414, 'URL_TOO_LONG', /over the limit of 4096/);
  });

  test(`JSON nested more than ${MAX_JSON_DEPTH} deep is refused before it is parsed`, async () => {
    const deep = `{"datasetId":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    assertOurError(await service.app.inject({ method: 'POST', url: '/jobs', headers: json, payload: deep }), 400, 'JSON_TOO_DEEP', /more than 16 deep/);
    const inString = JSON.stringify({ datasetId: '['.repeat(100), shape: [2, 2] });
    assertOurError(await service.app.inject({ method: 'POST', url: '/jobs', headers: json, payload: inString }), 400, 'VALIDATION_FAILED', /datasetId/);
  });

  describe('Content-Encoding', () => {
    const body = Buffer.from(JSON.stringify({ datasetId: 'nope', shape: [2, 2] }));
    for (const [encoding, encode] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      test(`a ${encoding} JSON body is decoded, then validated`, async () => {
        const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: { ...json, 'content-encoding': encoding }, payload: encode(body) });
        assertOurError(response, 400, 'VALIDATION_FAILED', /body\.datasetId: must be a dataset id/);
      });
    }

    test('an unknown encoding is 415 naming the ones accepted', async () => {
      const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: { ...json, 'content-encoding': 'compress' }, payload: body });
      assertOurError(response, 415, 'UNSUPPORTED_CONTENT_ENCODING', /"compress" is not accepted; send gzip, x-gzip, deflate, br or identity/);
    });

    test('two encodings at once are 415', async () => {
      const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: { ...json, 'content-encoding': 'gzip, br' }, payload: body });
      assertOurError(response, 415, 'UNSUPPORTED_CONTENT_ENCODING', /one at a time/);
    });

    test('a body that is not what its encoding says is 400', async () => {
      const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: { ...json, 'content-encoding': 'gzip' }, payload: body });
      assertOurError(response, 400, 'CORRUPT_BODY_ENCODING', /gzip: incorrect header check/);
    });

    test('a gzip bomb stops at the body limit, counted after decoding', async () => {
      const bomb = gzipSync(Buffer.from(`{"pad":"${'x'.repeat(10_000_000)}"}`));
      assert.ok(bomb.length < 65536);
      const response = await service.app.inject({ method: 'POST', url: '/jobs', headers: { ...json, 'content-encoding': 'gzip' }, payload: bomb });
      assertOurError(response, 413, 'BODY_TOO_LARGE', /size limit/);
    });

    test('an upload takes none: its files may be gzip themselves', async () => {
      const { payload, headers } = await multipartBody([{ field: 'file', file: '0,1\n1,0\n' }]);
      const response = await service.app.inject({ method: 'POST', url: '/datasets', headers: { ...headers, 'content-encoding': 'gzip' }, payload: gzipSync(payload) });
      assertOurError(response, 415, 'UNSUPPORTED_CONTENT_ENCODING', /gzip the files inside it/);
    });
  });
});

test("a plugin's own error bodies become ours: its 4xx under the catalogue code of that status, its 5xx as our 500 without its stack", async () => {
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  await app.register(async (plugin) => {
    keepOurErrorShape(plugin);
    plugin.get('/foreign/missing', async (_request, reply) => reply.code(404).send({ error: 'Queue not found' }));
    plugin.get('/foreign/broken', async (_request, reply) => reply.code(500).send({ error: 'Internal server error', details: 'Error: boom\n    at handler (board.js:1:1)' }));
  });
  try {
    const missing = await app.inject({ method: 'GET', url: '/foreign/missing' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: { code: 'ROUTE_NOT_FOUND', message: 'No route matches this method and path' } });
    const broken = await app.inject({ method: 'GET', url: '/foreign/broken' });
    assert.equal(broken.statusCode, 500);
    assert.equal(broken.json().error.code, 'INTERNAL');
    assert.doesNotMatch(broken.body, /boom|board\.js/);
  } finally {
    await app.close();
  }
});
