import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { BlobNotFoundError, InvalidBlobKeyError, readBlob } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/fs-blob-store.js';

let root = '';
let store: FsBlobStore;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'blob-store-'));
  store = new FsBlobStore(root);
});
after(() => rm(root, { recursive: true, force: true }));

test('bytes and streams go in and come back whole or by range', async () => {
  assert.deepEqual(await store.put('models/a.bin', Buffer.from('hello world')), { bytes: 11 });
  assert.equal((await readBlob(store, 'models/a.bin')).toString(), 'hello world');
  assert.equal((await readBlob(store, 'models/a.bin', { start: 6, end: 11 })).toString(), 'world');
  await store.put('models/b.bin', Readable.from([Buffer.from('str'), Buffer.from('eam')]));
  assert.equal((await readBlob(store, 'models/b.bin')).toString(), 'stream');
});

test('a failed stream leaves neither the blob nor a temp file', async () => {
  const failing = new Readable({
    read() {
      this.push(Buffer.from('partial'));
      this.destroy(new Error('client went away'));
    },
  });
  await assert.rejects(store.put('uploads/broken', failing), /client went away/);
  assert.deepEqual(await readdir(join(root, 'uploads')), []);
  await assert.rejects(store.get('uploads/broken'), BlobNotFoundError);
});

test('a rewrite replaces the blob in one step', async () => {
  await store.put('datasets/x.mlpd', Buffer.from('old'));
  await store.put('datasets/x.mlpd', Buffer.from('new content'));
  assert.equal((await readBlob(store, 'datasets/x.mlpd')).toString(), 'new content');
});

test('list answers keys under a prefix, sorted; delete is idempotent', async () => {
  await store.put('checkpoints/job_1/epoch-0002.ckpt', Buffer.from('2'));
  await store.put('checkpoints/job_1/epoch-0001.ckpt', Buffer.from('1'));
  await store.put('checkpoints/job_2/epoch-0001.ckpt', Buffer.from('1'));
  assert.deepEqual(await store.list('checkpoints/job_1/'), ['checkpoints/job_1/epoch-0001.ckpt', 'checkpoints/job_1/epoch-0002.ckpt']);
  assert.deepEqual(await store.list('nothing-here/'), []);
  await store.delete('checkpoints/job_1/epoch-0001.ckpt');
  await store.delete('checkpoints/job_1/epoch-0001.ckpt');
  assert.deepEqual(await store.list('checkpoints/job_1/'), ['checkpoints/job_1/epoch-0002.ckpt']);
});

test('keys that could leave the root or hide as temp files are refused', async () => {
  for (const key of ['../etc/passwd', '/etc/passwd', 'a/../../b', 'a//b', '.hidden', 'a/b.tmp', '', 'a\\b']) {
    await assert.rejects(store.put(key, Buffer.from('x')), InvalidBlobKeyError, key);
    await assert.rejects(store.get(key), InvalidBlobKeyError, key);
  }
  await assert.rejects(store.list('../'), InvalidBlobKeyError);
});

test('a sweep removes old half-written blobs and old blobs under the given prefixes, and nothing younger or elsewhere', async () => {
  const sweepRoot = await mkdtemp(join(tmpdir(), 'blob-sweep-'));
  try {
    const swept = new FsBlobStore(sweepRoot);
    const hourAgo = new Date(Date.now() - 60 * 60_000);
    const files = {
      'uploads/old': hourAgo, 'uploads/new': null,
      'datasets/ds_1.mlpd': hourAgo, 'datasets/ds_2.mlpd.5f0c.tmp': hourAgo, 'checkpoints/job_1/3.ckpt.aa.tmp': null,
    };
    for (const [file, written] of Object.entries(files)) {
      await mkdir(dirname(join(sweepRoot, file)), { recursive: true });
      await writeFile(join(sweepRoot, file), 'x');
      if (written) await utimes(join(sweepRoot, file), written, written);
    }
    assert.equal(await swept.sweep(['uploads/'], new Date(Date.now() - 60_000)), 2);
    const left = (await readdir(sweepRoot, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort();
    assert.deepEqual(left, ['3.ckpt.aa.tmp', 'ds_1.mlpd', 'new']);
  } finally {
    await rm(sweepRoot, { recursive: true, force: true });
  }
});
