import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FsBlobStore } from '../../src/storage/fs-blob-store.js';
import { blobStoreContract, failingStream } from './blob-store-contract.js';

let root = '';
let store: FsBlobStore;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'blob-store-'));
  store = new FsBlobStore(root);
});
after(() => rm(root, { recursive: true, force: true }));

blobStoreContract(() => store);

test('a failed stream leaves no temp file behind', async () => {
  await assert.rejects(store.put('failed/broken', failingStream()), /client went away/);
  assert.deepEqual(await readdir(join(root, 'failed')), []);
});
