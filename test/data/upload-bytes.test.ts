import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { uploadBytes } from '../../src/data/upload-bytes.js';
import { AppError } from '../../src/errors.js';

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const options = { field: 'file', maxDecompressedBytes: 1_000_000 };

test('raw and gzip content come out the same, told apart by content', async () => {
  const content = Buffer.from('label,a\n1,2\n');
  assert.deepEqual(await collect(uploadBytes(once(content), options)), content);
  assert.deepEqual(await collect(uploadBytes(once(gzipSync(content)), options)), content);
});

test('a gzip bomb stops at the decompressed limit with 413', async () => {
  const bomb = gzipSync(Buffer.alloc(20_000_000));
  assert.ok(bomb.length < 100_000);
  await assert.rejects(collect(uploadBytes(once(bomb), options)), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'DECOMPRESSED_TOO_LARGE');
    assert.equal(error.status, 413);
    assert.match(error.message, /decompressed content is over the limit of 1000000 bytes/);
    return true;
  });
});

test('empty and corrupt files are named', async () => {
  await assert.rejects(collect(uploadBytes(once(Buffer.alloc(0)), options)), { code: 'EMPTY_FILE' });
  await assert.rejects(collect(uploadBytes(once(gzipSync(Buffer.alloc(0))), options)), { code: 'EMPTY_FILE' });
  const cut = gzipSync(Buffer.alloc(100_000, 7)).subarray(0, 50);
  await assert.rejects(collect(uploadBytes(once(cut), options)), { code: 'CORRUPT_GZIP' });
});
