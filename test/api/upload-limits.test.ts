import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { multipartBody, rawMultipartBody } from '../helpers/multipart.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startTestApp } from '../helpers/service.js';

const XOR_CSV = '0,0,0\n1,0,1\n1,1,0\n0,1,1\n';

describe('upload limits', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    service = await startTestApp({ MAX_UPLOAD_BYTES: '20000000', MAX_DECOMPRESSED_BYTES: '100000000' });
  });
  after(() => service.close());
  const upload = (body: { payload: Buffer; headers: Record<string, string> }) => service.app.inject({ method: 'POST', url: '/datasets', ...body });

  test('a 10 MB CSV of one line of 5M values is 413 at the line limit (it was a 500: Invalid typed array length)', async () => {
    const response = await upload(rawMultipartBody([{ name: 'file', filename: 'wide.csv', content: `1${',0'.repeat(5_000_000)}` }]));
    assert.equal(response.statusCode, 413, response.body);
    assert.equal(response.json().error.code, 'LINE_TOO_LONG');
    assert.match(response.json().error.message, /file: line 1 is over 1048576 bytes/);
  });

  test('a gzipped CSV that inflates to one 64 MB line is 413 at the line limit (it was a 500: Invalid string length)', async () => {
    const response = await upload(rawMultipartBody([{ name: 'file', filename: 'line.csv.gz', content: gzipSync(Buffer.alloc(64 * 1024 * 1024, '1')) }]));
    assert.equal(response.statusCode, 413, response.body);
    assert.equal(response.json().error.code, 'LINE_TOO_LONG');
  });

  const nameCases: { name: string; value: string }[] = [
    { name: 'a NUL', value: 'digits\0' },
    { name: 'an ANSI escape', value: '\u001b[31mred\u001b[0m' },
    { name: 'a line break', value: 'two\nlines' },
    { name: 'a right-to-left override', value: 'gpj.\u202eexe' },
  ];
  for (const { name, value } of nameCases) {
    test(`a name with ${name} is 400 naming the field`, async () => {
      const response = await upload(rawMultipartBody([{ name: 'file', filename: 'xor.csv', content: XOR_CSV }, { name: 'name', content: value }]));
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error.code, 'VALIDATION_FAILED');
      assert.match(response.json().error.message, /^name: must not hold control characters/);
    });
  }

  test('a name over 200 characters is 400', async () => {
    const response = await upload(rawMultipartBody([{ name: 'file', filename: 'xor.csv', content: XOR_CSV }, { name: 'name', content: 'n'.repeat(201) }]));
    assert.equal(response.statusCode, 400);
    assert.match(response.json().error.message, /^name: Too big: expected string to have <=200 characters/);
  });

  test('a file name becomes the name without control characters or ANSI sequences, cut to 200 characters', async () => {
    const cases = [
      { filename: `\u001b[31mred\u001b[0m\u0007.csv`, expected: 'red.csv' },
      { filename: `${'é'.repeat(150)}${'😀'.repeat(100)}.csv`, expected: `${'é'.repeat(150)}${'😀'.repeat(25)}` },
      { filename: '\u001b[2J\u0001', expected: 'unnamed csv dataset' },
    ];
    for (const [index, { filename, expected }] of cases.entries()) {
      const response = await upload(rawMultipartBody([{ name: 'file', filename, content: `${XOR_CSV}${index},1,1\n` }]));
      assert.equal(response.statusCode, 201, response.body);
      assert.equal(response.json().name, expected);
    }
    const long = await upload(rawMultipartBody([{ name: 'file', filename: 'f'.repeat(10_000), content: `${XOR_CSV}9,9,9\n` }]));
    assert.equal(long.json().name, 'f'.repeat(200));
  });

  test('a sample index is plain decimal digits: no empty index, no hex, no exponent', async () => {
    const { payload, headers } = await multipartBody([{ field: 'file', file: `${XOR_CSV}`.repeat(5) }]);
    const dataset = (await service.app.inject({ method: 'POST', url: '/datasets', payload, headers })).json();
    for (const index of ['', '0x10', '1e1', '-1', '01', '1.0', '%201', '99999999999999999999']) {
      const response = await service.app.inject({ method: 'GET', url: `/datasets/${dataset.id}/samples/${index}` });
      assert.equal(response.statusCode, 400, `"${index}": ${response.body}`);
      assert.equal(response.json().error.code, 'VALIDATION_FAILED');
      assert.match(response.json().error.message, /params\.index: /);
    }
    assert.equal((await service.app.inject({ method: 'GET', url: `/datasets/${dataset.id}/samples/16` })).json().index, 16);
  });

  test('a page size is plain decimal digits too', async () => {
    for (const limit of ['0x10', '1e1', '', ' 5']) {
      const response = await service.app.inject({ method: 'GET', url: `/jobs?limit=${encodeURIComponent(limit)}` });
      assert.equal(response.statusCode, 400, `"${limit}": ${response.body}`);
      assert.match(response.json().error.message, /querystring\.limit: /);
    }
  });
});

test('uploads beyond MAX_CONCURRENT_UPLOADS are 503 with Retry-After, and the place comes back when one ends', async () => {
  const service = await startTestApp({ MAX_CONCURRENT_UPLOADS: '1' });
  try {
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = service.app.server.address() as AddressInfo;
    const { payload, headers } = rawMultipartBody([{ name: 'file', filename: 'xor.csv', content: XOR_CSV }]);
    // An upload that sends its first bytes and then waits, holding the only place.
    const stalled = rawRequest(port, [
      `POST /datasets HTTP/1.1\r\nHost: a\r\nContent-Type: ${headers['content-type']}\r\nContent-Length: ${payload.length + 1000}\r\n\r\n`,
      payload.subarray(0, 100),
      500,
    ], { timeoutMs: 500 });
    await new Promise((wait) => setTimeout(wait, 200));
    const refused = await fetch(`http://127.0.0.1:${port}/datasets`, { method: 'POST', headers, body: payload });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'SERVER_BUSY');
    assert.match(body.error.message, /1 uploads are already being received or parsed; retry in 5 s/);
    await stalled;
    await new Promise((wait) => setTimeout(wait, 100));
    const accepted = await fetch(`http://127.0.0.1:${port}/datasets`, { method: 'POST', headers, body: payload });
    assert.equal(accepted.status, 201);
    assert.deepEqual(await readdir(`${service.config.DATA_DIR}/uploads`), [], 'the dropped upload left no temporary file');
  } finally {
    await service.close();
  }
});
