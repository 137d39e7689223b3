import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BlobNotFoundError, InvalidBlobKeyError, readBlob, type BlobStore } from '../../src/storage/blob-store.js';

/** A source that sends a few bytes, then fails as a client that went away. */
export function failingStream(): Readable {
  return new Readable({
    read() {
      this.push(Buffer.from('partial'));
      this.destroy(new Error('client went away'));
    },
  });
}

/** What every BlobStore promises, run against each implementation on a store of its own. */
export function blobStoreContract(store: () => BlobStore): void {
  test('bytes and streams go in and come back whole or by range', async () => {
    assert.deepEqual(await store().put('models/a.bin', Buffer.from('hello world')), { bytes: 11 });
    assert.equal((await readBlob(store(), 'models/a.bin')).toString(), 'hello world');
    assert.equal((await readBlob(store(), 'models/a.bin', { start: 6, end: 11 })).toString(), 'world');
    assert.deepEqual(await store().put('models/b.bin', Readable.from([Buffer.from('str'), Buffer.from('eam')])), { bytes: 6 });
    assert.equal((await readBlob(store(), 'models/b.bin')).toString(), 'stream');
  });

  test('a failed stream leaves no blob and fails with its own error', async () => {
    await assert.rejects(store().put('uploads/broken', failingStream()), /client went away/);
    await assert.rejects(store().get('uploads/broken'), BlobNotFoundError);
    assert.deepEqual(await store().list('uploads/'), []);
  });

  test('a rewrite replaces the blob in one step', async () => {
    await store().put('datasets/x.mlpd', Buffer.from('old'));
    await store().put('datasets/x.mlpd', Buffer.from('new content'));
    assert.equal((await readBlob(store(), 'datasets/x.mlpd')).toString(), 'new content');
  });

  test('list answers keys under a prefix, sorted; delete is idempotent', async () => {
    await store().put('checkpoints/job_1/epoch-0002.ckpt', Buffer.from('2'));
    await store().put('checkpoints/job_1/epoch-0001.ckpt', Buffer.from('1'));
    await store().put('checkpoints/job_2/epoch-0001.ckpt', Buffer.from('1'));
    assert.deepEqual(await store().list('checkpoints/job_1/'), ['checkpoints/job_1/epoch-0001.ckpt', 'checkpoints/job_1/epoch-0002.ckpt']);
    assert.deepEqual(await store().list('nothing-here/'), []);
    await store().delete('checkpoints/job_1/epoch-0001.ckpt');
    await store().delete('checkpoints/job_1/epoch-0001.ckpt');
    assert.deepEqual(await store().list('checkpoints/job_1/'), ['checkpoints/job_1/epoch-0002.ckpt']);
  });

  test('a missing key is BlobNotFoundError', async () => {
    await assert.rejects(store().get('models/never-written'), (error: unknown) => error instanceof BlobNotFoundError && error.key === 'models/never-written');
  });

  test('keys that could leave the root or hide as temp files are refused', async () => {
    for (const key of ['../etc/passwd', '/etc/passwd', 'a/../../b', 'a//b', '.hidden', 'a/b.tmp', '', 'a\\b']) {
      await assert.rejects(store().put(key, Buffer.from('x')), InvalidBlobKeyError, key);
      await assert.rejects(store().get(key), InvalidBlobKeyError, key);
    }
    await assert.rejects(store().list('../'), InvalidBlobKeyError);
  });
}
