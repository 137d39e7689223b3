import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { BlobNotFoundError, readBlob, StorageUnavailableError } from '../../src/storage/blob-store.js';
import { createBlobStore } from '../../src/storage/create-blob-store.js';
import { S3_PART_BYTES, S3BlobStore } from '../../src/storage/s3-blob-store.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { blobStoreContract } from './blob-store-contract.js';

let server: TestS3Server;
let store: S3BlobStore;

/** A store as the service builds it from its environment, under a prefix of its own. */
function storeFor(env: Record<string, string>): S3BlobStore {
  const blobs = createBlobStore(loadConfig({ ...server.env(`contract-${randomUUID().slice(0, 8)}`), ...env }));
  assert.ok(blobs instanceof S3BlobStore);
  return blobs;
}

before(async () => {
  server = await startS3Server();
  store = storeFor({});
});
after(() => server.close());

blobStoreContract(() => store);

test('a stream over several parts goes up as one multipart upload and no reader sees it before it completes', async () => {
  const bytes = randomBytes(2 * S3_PART_BYTES + 12_345);
  let sent = 0;
  let seenMidway: unknown = null;
  const slowSource = new Readable({
    async read() {
      if (sent === bytes.length) return this.push(null);
      const chunk = bytes.subarray(sent, sent + 1024 * 1024);
      sent += chunk.length;
      if (sent > S3_PART_BYTES && !seenMidway) seenMidway = await store.get('datasets/big.mlpd').catch((error: unknown) => error);
      this.push(chunk);
    },
  });
  assert.deepEqual(await store.put('datasets/big.mlpd', slowSource), { bytes: bytes.length });
  assert.ok(seenMidway instanceof BlobNotFoundError, 'half an upload is not readable');
  assert.ok((await readBlob(store, 'datasets/big.mlpd')).equals(bytes));
  const tail = await readBlob(store, 'datasets/big.mlpd', { start: bytes.length - 10, end: bytes.length });
  assert.ok(tail.equals(bytes.subarray(bytes.length - 10)));
});

test('prefixes keep two deployments in one bucket apart', async () => {
  const other = storeFor({});
  await other.put('models/theirs.bin', Buffer.from('theirs'));
  await assert.rejects(store.get('models/theirs.bin'), BlobNotFoundError);
  assert.deepEqual(await other.list('models/'), ['models/theirs.bin']);
  assert.ok(!(await store.list('models/')).includes('models/theirs.bin'));
});

test('an outage is StorageUnavailableError after the retries, and the store works again once S3 is back', async () => {
  const impatient = storeFor({ STORAGE_TIMEOUT_MS: '500', STORAGE_MAX_ATTEMPTS: '2' });
  await impatient.put('models/before.bin', Buffer.from('kept'));
  await server.stop();
  try {
    const started = performance.now();
    await assert.rejects(impatient.get('models/before.bin'), (error: unknown) => {
      assert.ok(error instanceof StorageUnavailableError);
      assert.match(error.message, /S3 get of "models\/before.bin" in bucket mlp-test failed/);
      return true;
    });
    await assert.rejects(impatient.put('models/during.bin', Buffer.from('x')), StorageUnavailableError);
    assert.ok(performance.now() - started < 10_000, 'gives up within its attempts');
  } finally {
    await server.start();
  }
  assert.equal((await readBlob(impatient, 'models/before.bin')).toString(), 'kept');
});
