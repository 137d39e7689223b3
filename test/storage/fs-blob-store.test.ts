import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
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
